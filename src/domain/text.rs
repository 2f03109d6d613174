//! Text folding for search: case- and accent-insensitive, the same on every database.

/// Folds `s` for comparison: accents transliterated to ASCII, lower case, every run of
/// characters other than letters and digits turned into one space, trimmed.
/// `"Société Générale, S.A."` becomes `"societe generale s a"`.
pub fn normalize(s: &str) -> String {
    let ascii = deunicode::deunicode(s);
    let mut out = String::with_capacity(ascii.len());
    let mut pending_space = false;
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

/// The distinct words of a normalized text, in order of first appearance.
pub fn words(normalized: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for w in normalized.split(' ').filter(|w| !w.is_empty()) {
        if !seen.iter().any(|s| s == w) {
            seen.push(w.to_owned());
        }
    }
    seen
}

/// The smallest string greater than every string that starts with `prefix`, for a
/// normalized prefix (letters, digits, spaces): `prefix <= s < prefix_upper(prefix)` holds
/// exactly for the strings `s` that start with `prefix`, in byte order.
pub fn prefix_upper(prefix: &str) -> String {
    // '{' sorts after every character a normalized text can hold.
    format!("{prefix}{{")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_case_accents_and_punctuation() {
        assert_eq!(normalize("Société Générale, S.A."), "societe generale s a");
        assert_eq!(normalize("  MÜLLER   GmbH "), "muller gmbh");
        assert_eq!(normalize("Ærø-Fisk"), "aero fisk");
        assert_eq!(normalize("***"), "");
    }

    #[test]
    fn words_are_distinct_in_order() {
        assert_eq!(words("a b a c"), vec!["a", "b", "c"]);
        assert!(words("").is_empty());
    }

    #[test]
    fn prefix_upper_bounds_exactly_the_prefixed_strings() {
        let up = prefix_upper("con");
        for s in ["con", "cona", "conz", "con9", "con z"] {
            assert!(s >= "con" && s < up.as_str(), "{s}");
        }
        for s in ["coo", "cop", "cn", "co", "d"] {
            assert!(!(s >= "con" && s < up.as_str()), "{s}");
        }
    }
}

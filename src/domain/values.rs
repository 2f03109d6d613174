//! Validated value types. Each `parse` returns a type that can only hold a valid value,
//! or an [`InvalidValue`] saying in words what is wrong; the caller names the field.
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// Why an input was refused, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue(pub String);

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, InvalidValue> {
    Err(InvalidValue(msg.into()))
}

/// The longest name (of a deal, customer, person...) after trimming.
pub const NAME_MAX: usize = 200;
/// The longest notes text.
pub const NOTES_MAX: usize = 10_000;

/// A name: 1 to 200 characters once trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let t = s.trim();
        let n = t.chars().count();
        if n == 0 {
            return invalid("must not be empty");
        }
        if n > NAME_MAX {
            return invalid(format!("must be at most {NAME_MAX} characters (got {n})"));
        }
        if t.chars().any(|c| c.is_control()) {
            return invalid("must not contain control characters");
        }
        Ok(Name(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An optional short text (an address line, a CRM ID): empty means absent.
pub fn optional_name(s: Option<&str>) -> Result<Option<Name>, InvalidValue> {
    match s.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => Name::parse(t).map(Some),
    }
}

/// Free-text notes, at most 10,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notes(String);

impl Notes {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let n = s.chars().count();
        if n > NOTES_MAX {
            return invalid(format!("must be at most {NOTES_MAX} characters (got {n})"));
        }
        Ok(Notes(s.trim().to_owned()))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A D-U-N-S number: exactly nine digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duns(String);

impl Duns {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let t = s.trim();
        if t.len() == 9 && t.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Duns(t.to_owned()))
        } else {
            invalid("a D-U-N-S number is exactly 9 digits")
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountryCode(isocountry::CountryCode);

impl CountryCode {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let t = s.trim();
        if t.len() != 2 {
            return invalid("must be an ISO 3166-1 alpha-2 country code such as DE or US");
        }
        isocountry::CountryCode::for_alpha2_caseless(t)
            .map(CountryCode)
            .or_else(|_| invalid(format!("{t} is not an ISO 3166-1 alpha-2 country code")))
    }
    pub fn as_str(&self) -> &'static str {
        self.0.alpha2()
    }
}

/// An email address, kept as given but trimmed; compared in lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let t = s.trim();
        if t.len() > 254 || !email_address::EmailAddress::is_valid(t) || !t.contains('.') {
            return invalid(format!("{t:?} is not a valid email address"));
        }
        Ok(Email(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The form used for comparisons and look-ups.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A phone number in international form (E.164: `+`, country code, up to 15 digits);
/// spaces, dots, dashes and brackets are accepted and dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let compact: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = compact.strip_prefix('+').unwrap_or("");
        let ok = digits.len() >= 7
            && digits.len() <= 15
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if ok {
            Ok(Phone(compact))
        } else {
            invalid("must be in international form, such as +49 30 1234567")
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A website: an absolute `http` or `https` URL with a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Website(String);

impl Website {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let t = s.trim();
        let parsed = match url::Url::parse(t) {
            Ok(u) => u,
            Err(_) => return invalid("must be an absolute http or https URL"),
        };
        let host_ok = parsed
            .host_str()
            .is_some_and(|h| h.contains('.') || h == "localhost");
        if !matches!(parsed.scheme(), "http" | "https") || !host_ok || t.len() > 2000 {
            return invalid("must be an absolute http or https URL with a host");
        }
        Ok(Website(parsed.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 4217 currency with its number of minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let t = s.trim().to_ascii_uppercase();
        match iso_currency::Currency::from_code(&t) {
            Some(c) if c.exponent().is_some() => Ok(Currency(c)),
            Some(_) => invalid(format!("{t} is not a currency money can be counted in")),
            None => invalid(format!("{t} is not an ISO 4217 currency code")),
        }
    }
    pub fn code(&self) -> &'static str {
        self.0.code()
    }
    /// Digits after the decimal point this currency allows.
    pub fn minor_units(&self) -> u32 {
        u32::from(self.0.exponent().unwrap_or(0))
    }
}

/// A non-negative amount of money: a decimal with at most the currency's minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

/// Ten-thousandths: the fixed scale amounts are stored in.
const STORE_SCALE: u32 = 4;

impl Money {
    /// Parses a decimal string such as `"1250.50"` in `currency`. Floats never enter.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, InvalidValue> {
        let t = amount.trim();
        let d = match Decimal::from_str(t) {
            Ok(d) if !t.contains(['e', 'E']) => d,
            _ => return invalid(format!("{t:?} is not a decimal number")),
        };
        if d.is_sign_negative() && !d.is_zero() {
            return invalid("must not be negative");
        }
        let d = d.normalize();
        if d.scale() > currency.minor_units() {
            return invalid(format!(
                "{} allows at most {} digits after the decimal point",
                currency.code(),
                currency.minor_units()
            ));
        }
        if d > Decimal::from(10_i64.pow(14)) {
            return invalid("is too large");
        }
        Ok(Money {
            amount: d,
            currency,
        })
    }
    pub fn amount(&self) -> Decimal {
        self.amount
    }
    pub fn currency(&self) -> Currency {
        self.currency
    }
    /// The stored form: an integer count of ten-thousandths of the unit.
    pub fn to_e4(&self) -> i64 {
        let scaled = self.amount * Decimal::from(10_i64.pow(STORE_SCALE));
        i64::try_from(scaled.trunc()).unwrap_or(i64::MAX)
    }
    /// The amount of a stored count of ten-thousandths, shown with the currency's digits.
    pub fn format_e4(value_e4: i64, currency: Option<&str>) -> String {
        let mut d = Decimal::new(value_e4, STORE_SCALE);
        let digits = currency
            .and_then(|c| Currency::parse(c).ok())
            .map(|c| c.minor_units())
            .unwrap_or(STORE_SCALE);
        d.rescale(digits);
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  Contoso  ").unwrap().as_str(), "Contoso");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"x".repeat(200)).is_ok());
        assert!(Name::parse(&"x".repeat(201)).is_err());
        assert!(Name::parse("a\u{0}b").is_err());
    }

    #[test]
    fn duns_is_exactly_nine_digits() {
        assert!(Duns::parse("123456789").is_ok());
        for bad in ["12345678", "1234567890", "12345678a", "", "12 345 678"] {
            assert!(Duns::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn countries_are_iso_alpha2() {
        assert_eq!(CountryCode::parse("de").unwrap().as_str(), "DE");
        for bad in ["XX", "DEU", "", "D"] {
            assert!(CountryCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_and_phones_are_checked() {
        assert!(Email::parse("ana@contoso.com").is_ok());
        assert!(Email::parse("ana@").is_err());
        assert!(Email::parse("not an email").is_err());
        assert_eq!(
            Phone::parse("+49 (30) 123-4567").unwrap().as_str(),
            "+49301234567"
        );
        assert!(Phone::parse("030 1234567").is_err());
        assert!(Phone::parse("+0301234567").is_err());
    }

    #[test]
    fn websites_are_http_urls_with_a_host() {
        assert!(Website::parse("https://contoso.com").is_ok());
        for bad in [
            "contoso.com",
            "ftp://contoso.com",
            "javascript:alert(1)",
            "https://",
        ] {
            assert!(Website::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn money_has_at_most_the_currencys_minor_units() {
        let eur = Currency::parse("eur").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(Money::parse("10.50", eur).unwrap().to_e4(), 105_000);
        assert!(Money::parse("10.505", eur).is_err());
        assert!(Money::parse("10.5", jpy).is_err());
        assert!(Money::parse("10", jpy).is_ok());
        assert!(Money::parse("-1", eur).is_err());
        assert!(Money::parse("1e3", eur).is_err());
        assert!(Currency::parse("XYZ").is_err());
        assert_eq!(Money::format_e4(105_000, Some("EUR")), "10.50");
        assert_eq!(Money::format_e4(100_000, Some("JPY")), "10");
    }
}

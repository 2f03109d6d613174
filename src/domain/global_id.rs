//! The opaque global ids clients see (`base64url("Type:uuid")`), in one place: the
//! GraphQL layer encodes and decodes them, and email links use the same form.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// The global id of the object of type `type_name` with `id`. A page of opportunities
/// writes a few hundred of these, so `Type:uuid` is put together on the stack and only
/// the answer is allocated (`format!` allocated and grew a string for each one first).
pub fn encode(type_name: &str, id: Uuid) -> String {
    const UUID: usize = uuid::fmt::Hyphenated::LENGTH;
    let mut raw = [0u8; 64 + 1 + UUID];
    let name = type_name.as_bytes();
    if name.len() > 64 {
        return URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}"));
    }
    raw[..name.len()].copy_from_slice(name);
    raw[name.len()] = b':';
    let end = name.len() + 1 + UUID;
    id.hyphenated().encode_lower(&mut raw[name.len() + 1..end]);
    URL_SAFE_NO_PAD.encode(&raw[..end])
}

/// The type name and uuid behind a global id, if it is one.
pub fn decode(global: &str) -> Option<(String, Uuid)> {
    let raw = URL_SAFE_NO_PAD.decode(global.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (name, uuid) = text.split_once(':')?;
    Some((name.to_owned(), Uuid::parse_str(uuid).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_global_id_is_base64url_of_type_colon_uuid() {
        let id = Uuid::now_v7();
        for name in [
            "Opportunity",
            "DealRegistration",
            "User",
            "",
            &"x".repeat(64),
            &"y".repeat(65),
        ] {
            let global = encode(name, id);
            assert_eq!(
                global,
                URL_SAFE_NO_PAD.encode(format!("{name}:{id}")),
                "{name}"
            );
            assert_eq!(decode(&global), Some((name.to_owned(), id)), "{name}");
        }
    }
}

//! The opaque global ids clients see (`base64url("Type:uuid")`), in one place: the
//! GraphQL layer encodes and decodes them, and email links use the same form.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// The global id of the object of type `type_name` with `id`.
pub fn encode(type_name: &str, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}"))
}

/// The type name and uuid behind a global id, if it is one.
pub fn decode(global: &str) -> Option<(String, Uuid)> {
    let raw = URL_SAFE_NO_PAD.decode(global.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (name, uuid) = text.split_once(':')?;
    Some((name.to_owned(), Uuid::parse_str(uuid).ok()?))
}

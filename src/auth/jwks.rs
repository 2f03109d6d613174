//! A JSON Web Key Set file (RFC 7517) of RS256 public keys, as identity providers publish
//! them: read once at start-up, and the key a token's `kid` names chosen for each token.
//!
//! The rules: every key must be an RSA signing key for RS256 (2048 to 4096 bits); in a
//! set of several keys every key needs a distinct `kid`. A token naming a `kid` is
//! checked with that key only (an unknown `kid` is refused); a token without one is
//! accepted only when the set holds exactly one key. Anything else in the file is an
//! error at start-up, never a surprise at the first request.
use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, Jwk, JwkSet, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};

/// The keys of a JWKS file, by `kid`.
pub struct KeySet {
    by_kid: HashMap<String, DecodingKey>,
    /// The set's key when it holds exactly one: a token without `kid` is checked with it.
    only: Option<DecodingKey>,
}

/// The smallest and largest RSA modulus accepted, in bits (the verifier refuses larger).
const MIN_BITS: usize = 2048;
const MAX_BITS: usize = 4096;

impl KeySet {
    /// Reads and checks the file; the error names the file and the key at fault.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading JWKS file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("JWKS file {}", path.display()))
    }

    fn parse(text: &str) -> anyhow::Result<Self> {
        let set: JwkSet = serde_json::from_str(text)
            .context("not a JSON Web Key Set (an object with a \"keys\" array of keys)")?;
        let count = set.keys.len();
        if count == 0 {
            bail!("the key set is empty");
        }
        let mut by_kid = HashMap::new();
        let mut only = None;
        for (i, jwk) in set.keys.iter().enumerate() {
            let name = match &jwk.common.key_id {
                Some(kid) => format!("key {kid:?}"),
                None => format!("key #{} (no kid)", i + 1),
            };
            let key = rs256_key(jwk).with_context(|| name.clone())?;
            if let Some(kid) = &jwk.common.key_id {
                if by_kid.insert(kid.clone(), key.clone()).is_some() {
                    bail!("two keys have the kid {kid:?}");
                }
            } else if count > 1 {
                bail!(
                    "{name}: in a set of several keys every key needs a kid, since a token \
                     chooses its key by it"
                );
            }
            if count == 1 {
                only = Some(key);
            }
        }
        Ok(KeySet { by_kid, only })
    }

    /// How many keys the set holds.
    pub fn key_count(&self) -> usize {
        self.by_kid.len().max(usize::from(self.only.is_some()))
    }

    /// The key to check `token` with: the one its `kid` names, or the set's only key when
    /// it names none. A token whose header says another algorithm than the keys' (RS256)
    /// is refused here already, whatever its `kid`.
    pub fn key_for(&self, token: &str) -> Result<&DecodingKey, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
        if header.alg != Algorithm::RS256 {
            return Err(format!(
                "the token is signed with {:?}; the configured keys are RS256",
                header.alg
            ));
        }
        match header.kid.as_deref() {
            Some(kid) => self
                .by_kid
                .get(kid)
                .ok_or_else(|| format!("no configured key has the token's kid {kid:?}")),
            None => self
                .only
                .as_ref()
                .ok_or_else(|| "the token names no kid, and several keys are configured".into()),
        }
    }
}

/// The RS256 verifying key of a JWK, or why it is not one.
fn rs256_key(jwk: &Jwk) -> anyhow::Result<DecodingKey> {
    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        bail!("not an RSA key (only RS256 keys are supported)");
    };
    if let Some(alg) = jwk.common.key_algorithm
        && alg != KeyAlgorithm::RS256
    {
        bail!("its algorithm is {alg:?}; only RS256 is supported");
    }
    if let Some(usage) = &jwk.common.public_key_use
        && *usage != PublicKeyUse::Signature
    {
        bail!("its use is not \"sig\": it is not a signing key");
    }
    if let Some(ops) = &jwk.common.key_operations
        && !ops.contains(&KeyOperations::Verify)
    {
        bail!("its key_ops do not include \"verify\"");
    }
    let n = decode_component(&rsa.n).context("its modulus n is not base64url")?;
    let e = decode_component(&rsa.e).context("its exponent e is not base64url")?;
    let bits = bit_length(&n);
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        bail!("its modulus has {bits} bits; {MIN_BITS} to {MAX_BITS} are accepted");
    }
    let odd = e.last().is_some_and(|b| b & 1 == 1);
    if !odd || bit_length(&e) < 2 {
        bail!("its exponent e is not an odd number above 1");
    }
    Ok(DecodingKey::from_rsa_raw_components(&n, &e))
}

/// A big-endian number in base64url (padding tolerated, as some providers write it).
fn decode_component(text: &str) -> anyhow::Result<Vec<u8>> {
    Ok(URL_SAFE_NO_PAD.decode(text.trim_end_matches('='))?)
}

fn bit_length(be: &[u8]) -> usize {
    match be.iter().position(|b| *b != 0) {
        Some(i) => (be.len() - i) * 8 - be[i].leading_zeros() as usize,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read_to_string(path).expect("fixture")
    }

    /// The first key of the two-key fixture, as a JSON object to vary.
    fn key_a() -> serde_json::Value {
        let set: serde_json::Value = serde_json::from_str(&fixture("jwks.json")).expect("json");
        set["keys"][0].clone()
    }

    fn parse_keys(keys: Vec<serde_json::Value>) -> anyhow::Result<KeySet> {
        KeySet::parse(&serde_json::json!({ "keys": keys }).to_string())
    }

    fn refusal(keys: Vec<serde_json::Value>) -> String {
        match parse_keys(keys) {
            Ok(_) => panic!("accepted"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn the_fixture_sets_load() {
        assert_eq!(
            KeySet::parse(&fixture("jwks.json"))
                .expect("two")
                .key_count(),
            2
        );
        let single = KeySet::parse(&fixture("jwks-single.json")).expect("one");
        assert_eq!(single.key_count(), 1);
        assert!(single.only.is_some());
    }

    #[test]
    fn a_file_that_is_not_a_key_set_is_refused_with_the_reason() {
        for text in ["", "not json", "{}", "[]", r#"{"keys": 1}"#] {
            assert!(KeySet::parse(text).is_err(), "{text}");
        }
        assert!(refusal(vec![]).contains("empty"));
        let missing = std::path::Path::new("/nonexistent/jwks.json");
        let e = format!("{:#}", KeySet::load(missing).err().expect("missing file"));
        assert!(e.contains("/nonexistent/jwks.json"), "{e}");
    }

    #[test]
    fn only_rs256_signing_keys_of_sound_size_are_accepted() {
        let with = |field: &str, value: serde_json::Value| {
            let mut k = key_a();
            k[field] = value;
            k
        };
        assert!(refusal(vec![with("alg", "RS512".into())]).contains("RS512"));
        assert!(refusal(vec![with("use", "enc".into())]).contains("sig"));
        assert!(refusal(vec![with("key_ops", serde_json::json!(["sign"]))]).contains("verify"));
        assert!(refusal(vec![with("n", "AQAB".into())]).contains("bits"));
        assert!(refusal(vec![with("n", "not base64!".into())]).contains("base64"));
        assert!(refusal(vec![with("e", "Ag".into())]).contains("exponent"));
        let ec = serde_json::json!({ "kty": "EC", "kid": "ec", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" });
        assert!(refusal(vec![ec]).contains("not an RSA key"));
        let secret = serde_json::json!({ "kty": "oct", "kid": "s", "k": "c2VjcmV0" });
        assert!(refusal(vec![secret]).contains("not an RSA key"));
    }

    #[test]
    fn several_keys_need_distinct_kids() {
        let a = key_a();
        assert!(refusal(vec![a.clone(), a.clone()]).contains("two keys"));
        let mut anonymous = a.clone();
        anonymous.as_object_mut().expect("object").remove("kid");
        assert!(refusal(vec![a, anonymous.clone()]).contains("needs a kid"));
        assert!(parse_keys(vec![anonymous]).is_ok(), "a lone key needs none");
    }
}

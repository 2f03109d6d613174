//! Tokens: the keys that verify them (HS256 secret, RS256 public key or a JWKS file of
//! RS256 keys), minting for local use, and the claims they carry. Looking the user up is
//! the session service's job.
mod jwks;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Config;

/// What a token says: the user (`sub`) and the directory tenant it signed in through
/// (`tid`, as identity providers name it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub tid: Uuid,
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// The keys in force: always one or more to verify with, and one to mint with when the
/// server holds the secret (HS256).
#[derive(Clone)]
pub struct TokenKeys {
    verifier: Verifier,
    encoding: Option<EncodingKey>,
    validation: Validation,
    issuer: Option<String>,
    audience: Option<String>,
}

/// How a token's signature is checked. Whatever the source, the claims are then checked
/// by the same [`Validation`] (one algorithm, expiry, issuer and audience).
#[derive(Clone)]
enum Verifier {
    /// One key for every token: the HS256 secret or an RS256 PEM key (a `kid` is ignored).
    One(DecodingKey),
    /// A JWKS file's RS256 keys: a token is checked with the key its `kid` names.
    Set(Arc<jwks::KeySet>),
}

const SECRET_FILE: &str = "jwt-secret";

impl TokenKeys {
    /// Builds the keys from configuration: an RS256 public key file or a JWKS file (not
    /// both), else the configured HS256 secret, else a secret generated once and kept in
    /// the data folder so that tokens survive a restart. A key file that cannot be read
    /// or holds no usable RS256 key fails here, at start-up.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let (verifier, encoding, alg) = if let Some(path) = &config.jwt_public_key_file {
            if config.jwt_jwks_file.is_some() {
                anyhow::bail!(
                    "set COSELL_JWT_PUBLIC_KEY_FILE or COSELL_JWT_JWKS_FILE, not both: \
                     tokens are verified with one key source"
                );
            }
            let pem = std::fs::read(path)
                .with_context(|| format!("reading JWT public key {}", path.display()))?;
            let key = DecodingKey::from_rsa_pem(&pem)
                .with_context(|| format!("parsing RS256 public key {}", path.display()))?;
            (Verifier::One(key), None, Algorithm::RS256)
        } else if let Some(path) = &config.jwt_jwks_file {
            let set = jwks::KeySet::load(path)?;
            tracing::info!(
                file = %path.display(),
                keys = set.key_count(),
                "tokens are verified with a JWKS file's RS256 keys"
            );
            (Verifier::Set(Arc::new(set)), None, Algorithm::RS256)
        } else {
            let secret = match &config.jwt_secret {
                Some(s) if s.len() >= 16 => s.clone().into_bytes(),
                Some(_) => anyhow::bail!("COSELL_JWT_SECRET must be at least 16 characters"),
                None => load_or_create_secret(&config.data_dir)?,
            };
            (
                Verifier::One(DecodingKey::from_secret(&secret)),
                Some(EncodingKey::from_secret(&secret)),
                Algorithm::HS256,
            )
        };
        // One algorithm only: with an RSA key configured, an HS256 token (signed with the
        // public key as its "secret": algorithm confusion) is refused before any check.
        let mut validation = Validation::new(alg);
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match &config.jwt_issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match &config.jwt_audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        Ok(TokenKeys {
            verifier,
            encoding,
            validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
        })
    }

    /// Checks the signature, algorithm, expiry (and issuer and audience when configured).
    /// With a JWKS, the token's `kid` picks the key first (see [`jwks::KeySet::key_for`]).
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let key = match &self.verifier {
            Verifier::One(key) => key,
            Verifier::Set(set) => set.key_for(token)?,
        };
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| e.to_string())
    }

    /// Signs a token for `user` signing in through `tenant`, valid for `hours`.
    pub fn mint(&self, user: Uuid, tenant: Uuid, hours: i64) -> anyhow::Result<String> {
        let key = self
            .encoding
            .as_ref()
            .context("tokens are verified with an external public key; mint them there")?;
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user,
            tid: tenant,
            iat: now,
            exp: now + hours * 3600,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            key,
        )?)
    }
}

fn load_or_create_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join(SECRET_FILE);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let s = existing.trim();
        if s.len() >= 32 {
            return Ok(s.as_bytes().to_vec());
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data folder {}", data_dir.display()))?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, &hex).with_context(|| format!("writing {}", path.display()))?;
    Ok(hex.into_bytes())
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    fn refusal(tweak: impl FnOnce(&mut Config)) -> String {
        let mut config = Config::defaults();
        config.jwt_secret = Some("a-secret-long-enough".into());
        tweak(&mut config);
        match TokenKeys::from_config(&config) {
            Ok(_) => panic!("accepted"),
            Err(e) => format!("{e:#}"),
        }
    }

    /// A key file that is missing or wrong stops the start, naming the file.
    #[test]
    fn a_bad_key_file_fails_at_start_up() {
        let e = refusal(|c| c.jwt_public_key_file = Some("/nonexistent/key.pem".into()));
        assert!(e.contains("/nonexistent/key.pem"), "{e}");
        let e = refusal(|c| c.jwt_jwks_file = Some("/nonexistent/jwks.json".into()));
        assert!(e.contains("/nonexistent/jwks.json"), "{e}");
        // A PEM file is not a key set, and a key set is not a PEM key.
        let e = refusal(|c| c.jwt_jwks_file = Some(fixture("jwt-a-public.pem")));
        assert!(e.contains("JSON Web Key Set"), "{e}");
        let e = refusal(|c| c.jwt_public_key_file = Some(fixture("jwks.json")));
        assert!(e.contains("jwks.json"), "{e}");
    }

    /// One key source at a time: a PEM key and a JWKS together are refused.
    #[test]
    fn a_public_key_and_a_jwks_together_are_refused() {
        let e = refusal(|c| {
            c.jwt_public_key_file = Some(fixture("jwt-a-public.pem"));
            c.jwt_jwks_file = Some(fixture("jwks.json"));
        });
        assert!(e.contains("not both"), "{e}");
    }

    /// With RSA keys configured, nothing is minted and an HS256 token is refused (signed
    /// with the configured secret, which is then ignored).
    #[test]
    fn rsa_keys_mint_nothing_and_refuse_hs256() {
        for tweak in [
            (|c: &mut Config| c.jwt_public_key_file = Some(fixture("jwt-a-public.pem")))
                as fn(&mut Config),
            |c: &mut Config| c.jwt_jwks_file = Some(fixture("jwks.json")),
        ] {
            let mut config = Config::defaults();
            config.jwt_secret = Some("a-secret-long-enough".into());
            let hs256 = TokenKeys::from_config(&config)
                .expect("secret")
                .mint(Uuid::new_v4(), Uuid::new_v4(), 1)
                .expect("minted");
            tweak(&mut config);
            let keys = TokenKeys::from_config(&config).expect("RSA keys");
            assert!(keys.mint(Uuid::new_v4(), Uuid::new_v4(), 1).is_err());
            assert!(keys.verify(&hs256).is_err());
        }
    }
}

//! Tokens: the keys that verify them (HS256 secret or RS256 public key), minting for local
//! use, and the claims they carry. Looking the user up is the session service's job.
use std::path::Path;

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

/// The keys in force: always one to verify with, and one to mint with when the server
/// holds the secret (HS256).
#[derive(Clone)]
pub struct TokenKeys {
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    validation: Validation,
    issuer: Option<String>,
    audience: Option<String>,
}

const SECRET_FILE: &str = "jwt-secret";

impl TokenKeys {
    /// Builds the keys from configuration: an RS256 public key file, else the configured
    /// HS256 secret, else a secret generated once and kept in the data folder so that
    /// tokens survive a restart.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let (decoding, encoding, alg) = if let Some(path) = &config.jwt_public_key_file {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading JWT public key {}", path.display()))?;
            let key = DecodingKey::from_rsa_pem(&pem).context("parsing RS256 public key")?;
            (key, None, Algorithm::RS256)
        } else {
            let secret = match &config.jwt_secret {
                Some(s) if s.len() >= 16 => s.clone().into_bytes(),
                Some(_) => anyhow::bail!("COSELL_JWT_SECRET must be at least 16 characters"),
                None => load_or_create_secret(&config.data_dir)?,
            };
            (
                DecodingKey::from_secret(&secret),
                Some(EncodingKey::from_secret(&secret)),
                Algorithm::HS256,
            )
        };
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
            decoding,
            encoding,
            validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
        })
    }

    /// Checks the signature, algorithm, expiry (and issuer and audience when configured).
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
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

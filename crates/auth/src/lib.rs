//! Outlay's local identity: argon2id password hashes and short-lived EdDSA (Ed25519) access
//! tokens, for the single-machine deployment.
//!
//! Verification pins the algorithm to EdDSA and checks `iss`, `aud` and `exp`; the token
//! carries only the user id, so roles and the active flag are always read fresh from the store.

#[cfg(feature = "cognito")]
mod cognito;
#[cfg(feature = "cognito")]
mod hosted;

#[cfg(feature = "cognito")]
pub use cognito::{CognitoAdmin, CognitoVerifier};
#[cfg(feature = "cognito")]
pub use hosted::{CognitoHostedUi, code_challenge};

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use async_trait::async_trait;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use outlay_app::{AccessToken, IdentityVerifier, PasswordLogin, SessionInfo, Verified};
use outlay_domain::User;
use password_hash::SaltString;
use password_hash::rand_core::OsRng;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};

/// The claims of an Outlay access token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
    /// The session (sign-in) id, kept when the token is renewed.
    #[serde(default)]
    sid: String,
    /// When the session started, in milliseconds since the epoch.
    #[serde(default)]
    auth_time_ms: i64,
}

/// Token settings.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// The `iss` claim.
    pub issuer: String,
    /// The `aud` claim.
    pub audience: String,
    /// How long a token lives.
    pub ttl: Duration,
}

/// Local login and token verification with one Ed25519 key.
pub struct LocalIdentity {
    encoding: EncodingKey,
    decoding: DecodingKey,
    settings: TokenSettings,
    /// A hash of a random password, checked when the user is unknown so that the answer takes
    /// as long as for a wrong password.
    dummy_hash: String,
}

impl std::fmt::Debug for LocalIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalIdentity")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl LocalIdentity {
    /// Uses the PKCS#8 Ed25519 key at `key_path`, generating it (readable by the owner only) on
    /// first start.
    pub fn load_or_create(key_path: &Path, settings: TokenSettings) -> anyhow::Result<Self> {
        let pkcs8 = if key_path.exists() {
            std::fs::read(key_path)
                .with_context(|| format!("Failed to read the token key {}", key_path.display()))?
        } else {
            let pkcs8 = Self::generate_pkcs8()?;
            write_private(key_path, &pkcs8)?;
            tracing::info!(path = %key_path.display(), "generated a new token signing key");
            pkcs8
        };
        Self::from_pkcs8(&pkcs8, settings)
    }

    /// A new PKCS#8 Ed25519 key.
    pub fn generate_pkcs8() -> anyhow::Result<Vec<u8>> {
        Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .map(|k| k.as_ref().to_vec())
            .map_err(|_| anyhow::anyhow!("Failed to generate a token key"))
    }

    /// Uses a PKCS#8 Ed25519 key.
    pub fn from_pkcs8(pkcs8: &[u8], settings: TokenSettings) -> anyhow::Result<Self> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|e| anyhow::anyhow!("The token key is not a PKCS#8 Ed25519 key: {e}"))?;
        let dummy_hash = hash(SaltString::generate(&mut OsRng).as_str())?;
        Ok(Self {
            encoding: EncodingKey::from_ed_der(pkcs8),
            decoding: DecodingKey::from_ed_der(pair.public_key().as_ref()),
            settings,
            dummy_hash,
        })
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("Failed to create the token key {}", path.display()))?;
    file.write_all(bytes)
        .context("Failed to write the token key")?;
    file.sync_all().context("Failed to sync the token key")
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("Failed to write {}", path.display()))
}

/// Argon2id with 7 MiB and 5 passes, one of OWASP's equivalent settings (19 MiB and 2 passes
/// is another): the same work for a guesser, under half the memory per concurrent sign-in, so
/// that the server's peak stays small. Hashes made with other settings still verify: a hash
/// carries its own.
fn hasher() -> Argon2<'static> {
    let params = argon2::Params::new(7 * 1024, 5, 1, None).expect("valid Argon2 parameters");
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(hasher()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("Failed to hash a password: {e}"))?
        .to_string())
}

fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| hasher().verify_password(password.as_bytes(), &h).is_ok())
}

#[async_trait]
impl PasswordLogin for LocalIdentity {
    async fn hash_password(&self, password: &str) -> anyhow::Result<String> {
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash(&password))
            .await
            .context("Failed to join the hashing task")?
    }

    async fn verify_password(&self, password: &str, hash: Option<&str>) -> bool {
        let password = password.to_owned();
        let (hash, real) = match hash {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash.clone(), false),
        };
        let ok = tokio::task::spawn_blocking(move || verify(&password, &hash))
            .await
            .unwrap_or(false);
        ok && real
    }

    fn issue_token(
        &self,
        user: &User,
        session: Option<&SessionInfo>,
    ) -> anyhow::Result<AccessToken> {
        let now = chrono::Utc::now();
        let ttl = self.settings.ttl.as_secs();
        let (sid, started) = match session {
            Some(s) => (s.id.clone(), s.started_at),
            None => {
                let mut id = [0_u8; 16];
                ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id)
                    .map_err(|_| anyhow::anyhow!("Failed to make a session id"))?;
                (hex::encode(id), now)
            }
        };
        let claims = Claims {
            sub: user.id.to_string(),
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            iat: now.timestamp(),
            exp: now.timestamp() + i64::try_from(ttl).context("token lifetime too long")?,
            sid,
            auth_time_ms: started.timestamp_millis(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.encoding)
            .context("Failed to sign a token")?;
        Ok(AccessToken {
            token,
            expires_in: ttl,
        })
    }
}

#[async_trait]
impl IdentityVerifier for LocalIdentity {
    async fn verify(&self, token: &str) -> Result<Verified, &'static str> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) => Ok(Verified {
                session: (!data.claims.sid.is_empty())
                    .then(|| {
                        chrono::DateTime::from_timestamp_millis(data.claims.auth_time_ms).map(
                            |started_at| SessionInfo {
                                id: data.claims.sid.clone(),
                                started_at,
                            },
                        )
                    })
                    .flatten(),
                subject: data.claims.sub,
                roles: None,
            }),
            Err(e) => {
                tracing::debug!(error = %e, "token refused");
                Err("invalid or expired token")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(ttl: u64) -> TokenSettings {
        TokenSettings {
            issuer: "outlay".into(),
            audience: "outlay-api".into(),
            ttl: Duration::from_secs(ttl),
        }
    }

    fn user() -> User {
        User {
            id: outlay_domain::UserId::from_uuid(uuid::Uuid::from_u128(7)),
            email: outlay_domain::Email::parse("a@example.com").expect("valid"),
            name: "A".into(),
            roles: Default::default(),
            manager_id: None,
            active: true,
            version: 1,
            controllers: Default::default(),
            signed_out_at: None,
            time_zone: None,
            delegation: None,
            home_cost_centre: None,
        }
    }

    #[tokio::test]
    async fn a_key_is_generated_once_and_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("key.pk8");
        let first = LocalIdentity::load_or_create(&path, settings(60)).expect("created");
        let token = first.issue_token(&user(), None).expect("issued").token;
        let second = LocalIdentity::load_or_create(&path, settings(60)).expect("loaded");
        assert_eq!(
            second.verify(&token).await.map(|v| v.subject),
            Ok(user().id.to_string())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("key exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_own_hash() {
        let dir = tempfile::tempdir().expect("temp dir");
        let id =
            LocalIdentity::load_or_create(&dir.path().join("k"), settings(60)).expect("created");
        let h = id
            .hash_password("correct horse battery")
            .await
            .expect("hashed");
        assert!(h.starts_with("$argon2id$"));
        assert!(id.verify_password("correct horse battery", Some(&h)).await);
        assert!(!id.verify_password("wrong horse battery", Some(&h)).await);
        assert!(!id.verify_password("correct horse battery", None).await);
        // New hashes take 7 MiB and 5 passes; one made with the earlier 19 MiB and 2 still verifies
        assert!(h.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{h}");
        let salt = SaltString::generate(&mut OsRng);
        let old = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .expect("hashed")
            .to_string();
        assert!(old.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{old}");
        assert!(
            id.verify_password("correct horse battery", Some(&old))
                .await
        );
        assert!(!id.verify_password("wrong horse battery", Some(&old)).await);
    }

    #[tokio::test]
    async fn tokens_for_another_audience_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("k");
        let issuer = LocalIdentity::load_or_create(&path, settings(60)).expect("created");
        let mut other = settings(60);
        other.audience = "someone-else".into();
        let verifier = LocalIdentity::load_or_create(&path, other).expect("loaded");
        let token = issuer.issue_token(&user(), None).expect("issued").token;
        assert!(verifier.verify(&token).await.is_err());
    }
}

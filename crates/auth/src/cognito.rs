//! Verifying Amazon Cognito access tokens: the user pool's JWKS fetched and cached by `kid`,
//! RS256 only, and `iss`, `exp`, `token_use == "access"` and `client_id` checked. Roles are the
//! token's `cognito:groups`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use outlay_app::{IdentityVerifier, Verified};
use outlay_domain::Role;
use serde::Deserialize;
use tokio::sync::RwLock;

/// How often an unknown `kid` may trigger a JWKS refetch.
const REFETCH: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    token_use: String,
    client_id: String,
    #[serde(rename = "cognito:groups", default)]
    groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Debug, Deserialize)]
struct Jwk {
    kid: String,
    kty: String,
    n: Option<String>,
    e: Option<String>,
}

/// Checks Cognito access tokens of one user pool and app client.
pub struct CognitoVerifier {
    issuer: String,
    client_id: String,
    jwks_url: String,
    http: reqwest::Client,
    keys: RwLock<(HashMap<String, DecodingKey>, Option<Instant>)>,
}

impl std::fmt::Debug for CognitoVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoVerifier")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl CognitoVerifier {
    /// The verifier of `user_pool_id` in `region` for `client_id`. `endpoint` replaces the
    /// Cognito endpoint for the JWKS (a moto server in tests); the issuer stays the real one.
    pub fn new(
        region: &str,
        user_pool_id: &str,
        client_id: &str,
        endpoint: Option<&str>,
    ) -> anyhow::Result<Self> {
        let issuer = format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}");
        let jwks_url = match endpoint {
            Some(e) => format!(
                "{}/{user_pool_id}/.well-known/jwks.json",
                e.trim_end_matches('/')
            ),
            None => format!("{issuer}/.well-known/jwks.json"),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .context("Failed to build an HTTP client")?;
        Ok(Self {
            issuer,
            client_id: client_id.to_owned(),
            jwks_url,
            http,
            keys: RwLock::new((HashMap::new(), None)),
        })
    }

    /// The issuer tokens must carry.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    async fn key(&self, kid: &str) -> Option<DecodingKey> {
        {
            let keys = self.keys.read().await;
            if let Some(k) = keys.0.get(kid) {
                return Some(k.clone());
            }
            if keys.1.is_some_and(|at| at.elapsed() < REFETCH) {
                return None;
            }
        }
        let mut keys = self.keys.write().await;
        match self.fetch().await {
            Ok(fresh) => keys.0 = fresh,
            Err(e) => tracing::warn!(error = %e, "could not fetch the Cognito JWKS"),
        }
        keys.1 = Some(Instant::now());
        keys.0.get(kid).cloned()
    }

    async fn fetch(&self) -> anyhow::Result<HashMap<String, DecodingKey>> {
        let jwks: Jwks = self
            .http
            .get(&self.jwks_url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
            .context("Failed to read the JWKS")?;
        let mut out = HashMap::new();
        for k in jwks.keys.into_iter().filter(|k| k.kty == "RSA") {
            if let (Some(n), Some(e)) = (&k.n, &k.e) {
                out.insert(k.kid.clone(), DecodingKey::from_rsa_components(n, e)?);
            }
        }
        Ok(out)
    }
}

fn role(group: &str) -> Option<Role> {
    Role::parse(&group.to_ascii_lowercase()).ok()
}

#[async_trait]
impl IdentityVerifier for CognitoVerifier {
    async fn verify(&self, token: &str) -> Result<Verified, &'static str> {
        const INVALID: &str = "invalid or expired token";
        let header = jsonwebtoken::decode_header(token).map_err(|_| INVALID)?;
        if header.alg != Algorithm::RS256 {
            return Err(INVALID);
        }
        let kid = header.kid.ok_or(INVALID)?;
        let key = self.key(&kid).await.ok_or(INVALID)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.validate_aud = false; // access tokens carry client_id, checked below
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
            tracing::debug!(error = %e, "Cognito token refused");
            INVALID
        })?;
        let c = claims.claims;
        if c.token_use != "access" || c.client_id != self.client_id {
            return Err(INVALID);
        }
        Ok(Verified {
            subject: c.sub,
            roles: Some(c.groups.iter().filter_map(|g| role(g)).collect()),
        })
    }
}

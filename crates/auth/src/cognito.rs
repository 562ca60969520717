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
    /// The sign-in's token id, the same in every token refreshed from it.
    #[serde(default)]
    origin_jti: Option<String>,
    #[serde(default)]
    jti: Option<String>,
    /// When the user signed in, in seconds.
    #[serde(default)]
    auth_time: Option<i64>,
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
        let session = c
            .origin_jti
            .clone()
            .or_else(|| c.jti.clone())
            .zip(
                c.auth_time
                    .and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
            )
            .map(|(id, started_at)| outlay_app::SessionInfo { id, started_at });
        Ok(Verified {
            session,
            subject: c.sub,
            roles: Some(c.groups.iter().filter_map(|g| role(g)).collect()),
        })
    }
}

/// The user pool as Outlay's identity provider: users and their groups.
#[derive(Debug, Clone)]
pub struct CognitoAdmin {
    client: aws_sdk_cognitoidentityprovider::Client,
    user_pool_id: String,
}

fn group(role: Role) -> &'static str {
    match role {
        Role::Employee => "Employee",
        Role::Manager => "Manager",
        Role::Finance => "Finance",
        Role::Admin => "Admin",
    }
}

fn sdk<E: std::error::Error + Send + Sync + 'static>(
    e: aws_sdk_cognitoidentityprovider::error::SdkError<E>,
    what: &str,
) -> anyhow::Error {
    anyhow::anyhow!(
        "Cognito could not {what}: {}",
        aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(e)
    )
}

impl CognitoAdmin {
    /// Administers `user_pool_id`.
    pub fn new(
        client: aws_sdk_cognitoidentityprovider::Client,
        user_pool_id: impl Into<String>,
    ) -> Self {
        Self {
            client,
            user_pool_id: user_pool_id.into(),
        }
    }
}

#[async_trait]
impl outlay_app::IdentityAdmin for CognitoAdmin {
    async fn create(
        &self,
        email: &outlay_domain::Email,
        name: &str,
        password: Option<&str>,
        roles: &[Role],
    ) -> anyhow::Result<outlay_domain::UserId> {
        use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
        let attribute = |n: &str, v: &str| {
            AttributeType::builder()
                .name(n)
                .value(v)
                .build()
                .context("Failed to build an attribute")
        };
        let mut request = self
            .client
            .admin_create_user()
            .user_pool_id(&self.user_pool_id)
            .username(email.as_str())
            .user_attributes(attribute("email", email.as_str())?)
            .user_attributes(attribute("email_verified", "true")?)
            .user_attributes(attribute("name", name)?);
        if password.is_some() {
            request = request.message_action(MessageActionType::Suppress);
        }
        let created = request
            .send()
            .await
            .map_err(|e| sdk(e, "create the user"))?;
        let sub = created
            .user()
            .map(|u| u.attributes())
            .unwrap_or_default()
            .iter()
            .find(|a| a.name() == "sub")
            .and_then(|a| a.value())
            .context("Cognito answered no sub")?
            .to_owned();
        if let Some(p) = password {
            self.client
                .admin_set_user_password()
                .user_pool_id(&self.user_pool_id)
                .username(email.as_str())
                .password(p)
                .permanent(true)
                .send()
                .await
                .map_err(|e| sdk(e, "set the password"))?;
        }
        self.set_roles(email, roles).await?;
        outlay_domain::UserId::parse(&sub).context("Cognito's sub is not a UUID")
    }

    async fn set_roles(&self, email: &outlay_domain::Email, roles: &[Role]) -> anyhow::Result<()> {
        let current = self
            .client
            .admin_list_groups_for_user()
            .user_pool_id(&self.user_pool_id)
            .username(email.as_str())
            .send()
            .await
            .map_err(|e| sdk(e, "list the user's groups"))?;
        let have: Vec<String> = current
            .groups()
            .iter()
            .filter_map(|g| g.group_name().map(str::to_owned))
            .collect();
        let want: Vec<&str> = roles.iter().map(|r| group(*r)).collect();
        for g in want.iter().filter(|g| !have.iter().any(|h| h == *g)) {
            self.client
                .admin_add_user_to_group()
                .user_pool_id(&self.user_pool_id)
                .username(email.as_str())
                .group_name(*g)
                .send()
                .await
                .map_err(|e| sdk(e, "add the user to a group"))?;
        }
        for g in have.iter().filter(|h| !want.contains(&h.as_str())) {
            self.client
                .admin_remove_user_from_group()
                .user_pool_id(&self.user_pool_id)
                .username(email.as_str())
                .group_name(g)
                .send()
                .await
                .map_err(|e| sdk(e, "remove the user from a group"))?;
        }
        Ok(())
    }

    async fn set_active(&self, email: &outlay_domain::Email, active: bool) -> anyhow::Result<()> {
        if active {
            self.client
                .admin_enable_user()
                .user_pool_id(&self.user_pool_id)
                .username(email.as_str())
                .send()
                .await
                .map_err(|e| sdk(e, "enable the user"))?;
        } else {
            self.client
                .admin_disable_user()
                .user_pool_id(&self.user_pool_id)
                .username(email.as_str())
                .send()
                .await
                .map_err(|e| sdk(e, "disable the user"))?;
        }
        Ok(())
    }
}

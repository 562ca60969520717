//! Signing in on Cognito's hosted UI: the OAuth 2.0 authorization code flow with PKCE (S256)
//! for a public app client. The browser goes to `/oauth2/authorize`; the code it brings back is
//! exchanged at `/oauth2/token` for the access token that [`crate::CognitoVerifier`] then
//! checks like any other.

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use outlay_app::{AccessToken, HostedLogin, SignInStart};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The hosted UI of one user pool domain, for one app client.
#[derive(Debug, Clone)]
pub struct CognitoHostedUi {
    domain: String,
    client_id: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

/// 32 random bytes, URL-safe base64: 43 characters, as PKCE wants for a verifier.
fn random_string() -> anyhow::Result<String> {
    let mut bytes = [0_u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("Failed to generate a random value"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The S256 code challenge of a verifier (RFC 7636).
pub fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl CognitoHostedUi {
    /// The hosted UI at `domain` (`https://<prefix>.auth.<region>.amazoncognito.com`, or a custom
    /// domain) for the public app client `client_id`.
    pub fn new(domain: &str, client_id: &str) -> anyhow::Result<Self> {
        let domain = domain.trim_end_matches('/').to_owned();
        reqwest::Url::parse(&domain).with_context(|| format!("{domain} is not a URL"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("Failed to build an HTTP client")?;
        Ok(Self {
            domain,
            client_id: client_id.to_owned(),
            http,
        })
    }
}

#[async_trait]
impl HostedLogin for CognitoHostedUi {
    fn start(&self, redirect_uri: &str) -> anyhow::Result<SignInStart> {
        let state = random_string()?;
        let verifier = random_string()?;
        let url = reqwest::Url::parse_with_params(
            &format!("{}/oauth2/authorize", self.domain),
            [
                ("response_type", "code"),
                ("client_id", &self.client_id),
                ("redirect_uri", redirect_uri),
                ("scope", "openid email profile"),
                ("state", &state),
                ("code_challenge_method", "S256"),
                ("code_challenge", &code_challenge(&verifier)),
            ],
        )?;
        Ok(SignInStart {
            url: url.into(),
            state,
            verifier,
        })
    }

    async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> anyhow::Result<AccessToken> {
        let response = self
            .http
            .post(format!("{}/oauth2/token", self.domain))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", &self.client_id),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .context("Failed to reach the token endpoint")?;
        let status = response.status();
        if !status.is_success() {
            // The body names the OAuth error (invalid_grant, ...); it holds no secret.
            let body = response.text().await.unwrap_or_default();
            anyhow::bail!("the token endpoint answered {status}: {body:.200}");
        }
        let tokens: TokenResponse = response
            .json()
            .await
            .context("The token endpoint's answer is not a token response")?;
        Ok(AccessToken {
            token: tokens.access_token,
            expires_in: tokens.expires_in,
        })
    }

    fn logout_url(&self, logout_uri: &str) -> String {
        reqwest::Url::parse_with_params(
            &format!("{}/logout", self.domain),
            [
                ("client_id", self.client_id.as_str()),
                ("logout_uri", logout_uri),
            ],
        )
        .map_or_else(|_| logout_uri.to_owned(), Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636_s256() {
        // The example of RFC 7636, appendix B.
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn the_authorize_url_carries_the_client_state_and_challenge() {
        let ui = CognitoHostedUi::new("https://x.auth.eu-west-1.amazoncognito.com/", "client1")
            .expect("a hosted UI");
        let start = ui
            .start("https://app.example/prod/auth/callback")
            .expect("a start");
        let url = reqwest::Url::parse(&start.url).expect("a URL");
        assert_eq!(url.path(), "/oauth2/authorize");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "client1");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["redirect_uri"], "https://app.example/prod/auth/callback");
        assert_eq!(q["state"], start.state);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], code_challenge(&start.verifier));
        assert_eq!(start.verifier.len(), 43);
        let again = ui.start("https://app.example/cb").expect("a start");
        assert_ne!(again.state, start.state);
        assert_ne!(again.verifier, start.verifier);
    }

    #[test]
    fn logout_returns_to_the_login_page() {
        let ui = CognitoHostedUi::new("https://x.auth.eu-west-1.amazoncognito.com", "c")
            .expect("a hosted UI");
        assert_eq!(
            ui.logout_url("https://app.example/login"),
            "https://x.auth.eu-west-1.amazoncognito.com/logout?client_id=c&logout_uri=https%3A%2F%2Fapp.example%2Flogin"
        );
    }
}

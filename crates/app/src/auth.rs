//! Signing in with a local password, and turning a bearer token into a [`Caller`].
//!
//! Password guessing is throttled per account name: a burst of [`LOGIN_BURST`] attempts, then
//! one every [`LOGIN_PERIOD`], counted alike for known and unknown names so that the answer
//! tells nothing about which exist. The count is this process's (one machine signs in here; on
//! AWS, Cognito does and throttles itself).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use outlay_domain::{Email, UserId};

use crate::{AccessToken, App, AppError, Caller, Result, SignInStart};

const BAD_LOGIN: &str = "invalid email or password";

/// Sign-in attempts one account name may make at once.
pub const LOGIN_BURST: u32 = 10;
/// After the burst, one more attempt per this period.
pub const LOGIN_PERIOD: Duration = Duration::from_secs(30);
/// Above this many tracked names, the ones back to a full burst are forgotten...
const TRACKED_NAMES: usize = 10_000;
/// ...at most this often, so that a flood of names cannot make every attempt sweep the map.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Sign-in attempts by account name.
pub(crate) struct LoginAttempts {
    limiter: DefaultKeyedRateLimiter<String>,
    last_sweep: std::sync::Mutex<std::time::Instant>,
}

impl Default for LoginAttempts {
    fn default() -> Self {
        let burst = NonZeroU32::new(LOGIN_BURST).expect("the burst is not zero");
        let quota = Quota::with_period(LOGIN_PERIOD)
            .expect("the period is not zero")
            .allow_burst(burst);
        Self {
            limiter: RateLimiter::keyed(quota),
            last_sweep: std::sync::Mutex::new(std::time::Instant::now()),
        }
    }
}

impl LoginAttempts {
    /// Counts an attempt for `name`; refuses it when the name is over its quota.
    fn admit(&self, name: &str) -> Result<()> {
        if self.limiter.len() > TRACKED_NAMES
            && let Ok(mut last) = self.last_sweep.try_lock()
            && last.elapsed() >= SWEEP_EVERY
        {
            self.limiter.retain_recent();
            *last = std::time::Instant::now();
        }
        // No email is longer than 254 characters; longer names share one count rather than
        // each holding memory.
        let name = name.trim();
        let key = if name.len() <= 254 {
            name.to_lowercase()
        } else {
            "(too long)".to_owned()
        };
        self.limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            tracing::warn!("sign-in attempts throttled");
            metrics::counter!("outlay_login_throttled_total").increment(1);
            AppError::TooManyRequests {
                // Rounded up, so that a client that waits as told is let through.
                retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }
}

impl App {
    /// Local login. An unknown email, an inactive user and a wrong password all answer the same
    /// error after the same password-hashing work.
    pub async fn login(&self, email: &str, password: &str) -> Result<AccessToken> {
        let login = self.login.as_ref().ok_or_else(|| {
            AppError::NotFound(
                "local login (this deployment signs in through its identity provider)",
            )
        })?;
        self.login_attempts.admit(email)?;
        let user = match Email::parse(email) {
            Ok(e) => self.store.user_by_email(&e).await?,
            Err(_) => None,
        };
        let hash = match &user {
            Some(u) if u.active => self.store.password_hash(u.id).await?,
            _ => None,
        };
        let password_ok = login.verify_password(password, hash.as_deref()).await;
        match user {
            Some(u) if password_ok && hash.is_some() => {
                tracing::info!(user_id = %u.id, "login succeeded");
                Ok(login.issue_token(&u)?)
            }
            _ => {
                tracing::info!("login failed");
                Err(AppError::Unauthenticated(BAD_LOGIN))
            }
        }
    }

    /// A fresh token for a signed-in caller (the web UI's sliding session).
    pub fn reissue_token(&self, caller: &Caller) -> Result<AccessToken> {
        let login = self
            .login
            .as_ref()
            .ok_or(AppError::NotFound("local login"))?;
        Ok(login.issue_token(&caller.user)?)
    }

    /// Whether people sign in on the identity provider's hosted pages (rather than with a
    /// local password).
    pub fn signs_in_elsewhere(&self) -> bool {
        self.hosted.is_some()
    }

    /// Whether people sign in with a local password.
    pub fn signs_in_with_password(&self) -> bool {
        self.login.is_some()
    }

    /// Starts a hosted sign-in that comes back to `redirect_uri`.
    pub fn start_hosted_login(&self, redirect_uri: &str) -> Result<SignInStart> {
        let hosted = self
            .hosted
            .as_ref()
            .ok_or(AppError::NotFound("hosted sign-in"))?;
        Ok(hosted.start(redirect_uri)?)
    }

    /// Finishes a hosted sign-in: exchanges the code and checks that the token's user is one of
    /// Outlay's active users. Answers the access token for the session.
    pub async fn finish_hosted_login(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<(AccessToken, Caller)> {
        let hosted = self
            .hosted
            .as_ref()
            .ok_or(AppError::NotFound("hosted sign-in"))?;
        let token = hosted
            .exchange(code, verifier, redirect_uri)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "the identity provider refused a sign-in code");
                AppError::Unauthenticated("the sign-in could not be completed")
            })?;
        let caller = self.authenticate(&token.token, None).await?;
        Ok((token, caller))
    }

    /// Where the browser goes to end the identity provider's session as well, if there is one.
    pub fn hosted_logout_url(&self, logout_uri: &str) -> Option<String> {
        self.hosted.as_ref().map(|h| h.logout_url(logout_uri))
    }

    /// Verifies a bearer token and loads its user, who must still be active.
    pub async fn authenticate(&self, token: &str, source: Option<String>) -> Result<Caller> {
        let verified = self
            .verifier
            .verify(token)
            .await
            .map_err(AppError::Unauthenticated)?;
        let id = UserId::parse(&verified.subject)
            .map_err(|_| AppError::Unauthenticated("invalid token"))?;
        match self.store.user(id).await? {
            Some(mut user) if user.active => {
                if let Some(roles) = verified.roles {
                    // The identity provider's groups are the roles (the directory mirrors them).
                    user.roles = outlay_domain::user::normalise_roles(roles);
                }
                Ok(Caller { user, source })
            }
            _ => Err(AppError::Unauthenticated("invalid token")),
        }
    }
}

//! Signing in with a local password, and turning a bearer token into a [`Caller`].
//!
//! Password guessing is throttled per account name *and client address*: a burst of
//! [`LOGIN_BURST`] attempts, then one every [`LOGIN_PERIOD`], counted alike for known and
//! unknown names so that the answer tells nothing about which exist. Keying on the pair means
//! a guesser elsewhere cannot lock the real user out; a second limit per client address
//! ([`ADDRESS_BURST`], then one every [`ADDRESS_PERIOD`]) stops one address from spraying
//! many accounts. The counts are this process's (one machine signs in here; on AWS, Cognito
//! does and throttles itself).
//!
//! Password hashing (Argon2id, 7 MiB and tens of milliseconds each) runs at most
//! [`HashingSlots`]' number of cores at once, with a short queue behind; past that the answer
//! is 503 with `Retry-After`, so that a flood of sign-ins can neither exhaust memory nor the
//! CPU that everything else needs.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use outlay_domain::{Email, UserId};

use crate::{AccessToken, App, AppError, Caller, Result, SignInStart};

const BAD_LOGIN: &str = "invalid email or password";

/// Sign-in attempts one account name may make from one address at once.
pub const LOGIN_BURST: u32 = 10;
/// After the burst, one more attempt per this period.
pub const LOGIN_PERIOD: Duration = Duration::from_secs(30);
/// Sign-in attempts one client address may make at once, whatever the names.
pub const ADDRESS_BURST: u32 = 30;
/// After that burst, one more attempt per this period.
pub const ADDRESS_PERIOD: Duration = Duration::from_secs(6);
/// Above this many tracked keys, the ones back to a full burst are forgotten...
const TRACKED_NAMES: usize = 10_000;
/// ...at most this often, so that a flood of names cannot make every attempt sweep the map.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Sign-in attempts by account name and client address, and by client address.
pub(crate) struct LoginAttempts {
    by_name: DefaultKeyedRateLimiter<(String, String)>,
    by_address: DefaultKeyedRateLimiter<String>,
    last_sweep: std::sync::Mutex<std::time::Instant>,
}

fn quota(period: Duration, burst: u32) -> Quota {
    Quota::with_period(period)
        .expect("the period is not zero")
        .allow_burst(NonZeroU32::new(burst).expect("the burst is not zero"))
}

impl Default for LoginAttempts {
    fn default() -> Self {
        Self {
            by_name: RateLimiter::keyed(quota(LOGIN_PERIOD, LOGIN_BURST)),
            by_address: RateLimiter::keyed(quota(ADDRESS_PERIOD, ADDRESS_BURST)),
            last_sweep: std::sync::Mutex::new(std::time::Instant::now()),
        }
    }
}

fn throttled(not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>) -> AppError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    tracing::warn!("sign-in attempts throttled");
    metrics::counter!("outlay_login_throttled_total").increment(1);
    AppError::TooManyRequests {
        // Rounded up, so that a client that waits as told is let through.
        retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
}

impl LoginAttempts {
    /// Counts an attempt for `name` from `address`; refuses it when the pair or the address is
    /// over its quota.
    fn admit(&self, name: &str, address: Option<&str>) -> Result<()> {
        if (self.by_name.len() > TRACKED_NAMES || self.by_address.len() > TRACKED_NAMES)
            && let Ok(mut last) = self.last_sweep.try_lock()
            && last.elapsed() >= SWEEP_EVERY
        {
            self.by_name.retain_recent();
            self.by_address.retain_recent();
            *last = std::time::Instant::now();
        }
        // No email is longer than 254 characters; longer names share one count rather than
        // each holding memory. Nor is an address longer than an IPv6 one.
        let name = name.trim();
        let name = if name.len() <= 254 {
            name.to_lowercase()
        } else {
            "(too long)".to_owned()
        };
        // Without an address (the command line, a test calling the router directly) only the
        // per-name count applies.
        let address: String = address.unwrap_or_default().chars().take(64).collect();
        if !address.is_empty() {
            self.by_address.check_key(&address).map_err(throttled)?;
        }
        self.by_name.check_key(&(name, address)).map_err(throttled)
    }
}

/// Bounded password hashing: at most `permits` hashes at once, at most `queue` waiting.
pub(crate) struct HashingSlots {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
}

impl HashingSlots {
    /// As many hashes at once as the machine has cores, and a queue of four per core.
    pub(crate) fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self::new(cores, 4 * cores)
    }

    pub(crate) fn new(permits: usize, queue: usize) -> Self {
        Self {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(permits)),
            waiting: AtomicUsize::new(0),
            queue,
        }
    }

    /// Runs `hashing` in a slot, or answers 503 when the queue is full. The hashing runs as
    /// its own task holding the slot, so a client that disconnects mid-hash (dropping the
    /// request) does not free the slot while the work still runs.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        hashing: impl std::future::Future<Output = T> + Send + 'static,
    ) -> Result<T> {
        let waiting = self.waiting.fetch_add(1, Ordering::SeqCst);
        if waiting >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            metrics::counter!("outlay_password_hashing_refused_total").increment(1);
            return Err(AppError::Busy { retry_after: 1 });
        }
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let permit = permit.map_err(|e| AppError::Internal(e.into()))?;
        tokio::spawn(async move {
            let _slot = permit;
            hashing.await
        })
        .await
        .map_err(|e| AppError::Internal(e.into()))
    }
}

impl App {
    /// Local login from the client `address`. An unknown email, an inactive user and a wrong
    /// password all answer the same error after the same password-hashing work.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        address: Option<&str>,
    ) -> Result<AccessToken> {
        let login = self.login.as_ref().ok_or_else(|| {
            AppError::NotFound(
                "local login (this deployment signs in through its identity provider)",
            )
        })?;
        self.login_attempts.admit(email, address)?;
        let user = match Email::parse(email) {
            Ok(e) => self.store.user_by_email(&e).await?,
            Err(_) => None,
        };
        let hash = match &user {
            Some(u) if u.active => self.store.password_hash(u.id).await?,
            _ => None,
        };
        let has_hash = hash.is_some();
        let (checker, password) = (login.clone(), password.to_owned());
        let password_ok = self
            .hashing
            .run(async move { checker.verify_password(&password, hash.as_deref()).await })
            .await?;
        match user {
            Some(u) if password_ok && has_hash => {
                tracing::info!(user_id = %u.id, "login succeeded");
                Ok(login.issue_token(&u, None)?)
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
        Ok(login.issue_token(&caller.user, caller.session.as_ref())?)
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
                // A sign-out ends every session that started before it, wherever the token is.
                let ended = match (&user.signed_out_at, &verified.session) {
                    (Some(out), Some(session)) => session.started_at <= *out,
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                if ended {
                    return Err(AppError::Unauthenticated("the session has ended"));
                }
                if let Some(roles) = verified.roles {
                    // The identity provider's groups are the roles (the directory mirrors them).
                    user.roles = outlay_domain::user::normalise_roles(roles);
                }
                Ok(Caller {
                    user,
                    source,
                    session: verified.session,
                })
            }
            _ => Err(AppError::Unauthenticated("invalid token")),
        }
    }

    /// Sets the zone the caller reads times in (`None`: the company's); audited. Committed only
    /// on the account as read.
    pub async fn set_time_zone(
        &self,
        caller: &Caller,
        zone: Option<outlay_domain::TimeZone>,
        expected_version: Option<i64>,
    ) -> Result<outlay_domain::User> {
        let before = self
            .store
            .user(caller.user.id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        crate::check_version(expected_version, before.version)?;
        let mut user = before.clone();
        user.time_zone = zone;
        user.version += 1;
        let audit = self.audit_record(
            Some(caller),
            "user.update",
            "user",
            user.id,
            Some(&before),
            Some(&user),
        )?;
        let write = crate::Write::PutUser {
            user: user.clone(),
            password_hash: None,
            expected_version: Some(before.version),
        };
        self.store.commit(crate::Change::one(write, audit)).await?;
        Ok(user)
    }

    /// The zone `caller` reads times in: their own, or the company's.
    pub async fn time_zone(&self, caller: &Caller) -> Result<outlay_domain::TimeZone> {
        match caller.user.time_zone {
            Some(z) => Ok(z),
            None => Ok(self.policy_or_default().await?.time_zone),
        }
    }

    /// Signs the caller out everywhere: every token of a session that started before now stops
    /// working, on every instance (the cut-off is stored with the user).
    pub async fn sign_out(&self, caller: &Caller) -> Result<()> {
        for _ in 0..5 {
            let Some(before) = self.store.user(caller.user.id).await? else {
                return Ok(());
            };
            let mut user = before.clone();
            user.signed_out_at = Some(self.clock.now());
            user.version += 1;
            let audit = self.audit_record(
                Some(caller),
                "user.sign_out",
                "user",
                user.id,
                None::<&()>,
                None::<&()>,
            )?;
            let write = crate::Write::PutUser {
                user,
                password_hash: None,
                expected_version: Some(before.version),
            };
            match self.store.commit(crate::Change::one(write, audit)).await {
                // A concurrent change of the account moved its version: read it again.
                Err(crate::StoreError::Conflict(_)) => continue,
                other => return Ok(other?),
            }
        }
        Err(AppError::Busy { retry_after: 1 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashing_runs_in_bounded_slots_and_refuses_beyond_the_queue() {
        // GIVEN one slot and room for one more to wait
        let slots = std::sync::Arc::new(HashingSlots::new(1, 1));
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let busy = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.run(async { wait.await.ok() }).await })
        };
        tokio::task::yield_now().await;
        let queued = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.run(async { 2 }).await })
        };
        tokio::task::yield_now().await;
        // WHEN a third asks while one runs and one waits THEN it is refused with Retry-After
        assert!(matches!(
            slots.run(async { 3 }).await,
            Err(AppError::Busy { retry_after: 1 })
        ));
        // AND the queued one runs once the slot is free
        release.send(()).expect("the first is waiting");
        assert!(busy.await.expect("joins").is_ok());
        assert_eq!(queued.await.expect("joins").ok(), Some(2));
        assert_eq!(slots.run(async { 4 }).await.ok(), Some(4));
    }
}

//! Wiring: reads the [`Settings`], chooses the adapters and builds the application and its
//! router. Also the outbox dispatcher, the demo company and the log set-up, shared by the
//! binary and the tests.

#[cfg(feature = "aws")]
mod aws;
mod demo;
/// The Lambda entry point.
#[cfg(feature = "aws")]
pub mod lambda;
#[cfg(all(feature = "aws", feature = "postgres"))]
mod rds;
mod settings;

#[cfg(not(any(feature = "local", feature = "aws")))]
compile_error!("outlay-bootstrap needs a backend: the `local` feature, `aws`, or both");

#[cfg(feature = "local")]
mod local;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use outlay_app::{App, Dispatched, NotifySettings, Outbox, Store};
use outlay_notify::Notifiers;
#[cfg(feature = "local")]
use outlay_store_sqlite::SqliteStore;

#[cfg(feature = "aws")]
pub use aws::build_with_config;
/// The AWS SDK configuration type, for [`build_with_config`].
#[cfg(feature = "aws")]
pub use aws_config::SdkConfig;
pub use demo::{DEMO_PASSWORD, DEMO_USERS, Volume, demo_password, seed_demo, seed_volume};
pub use settings::{Overrides, Secret, Settings};

/// A store with its outbox: what a deployment's persistence provides.
pub trait Backend: Store + Outbox {}
impl<T: Store + Outbox> Backend for T {}

/// A built Outlay: the use cases, their store, the notifiers and the HTTP router.
pub struct Built {
    /// The use cases.
    pub app: App,
    /// The store and its outbox.
    pub store: Arc<dyn Backend>,
    /// The SQLite store, when that is the backend (for closing and checks).
    #[cfg(feature = "local")]
    pub sqlite: Option<Arc<SqliteStore>>,
    /// Email and webhook delivery.
    pub notifiers: Notifiers,
    /// The one router.
    pub router: axum::Router,
    /// How often the audit head is checkpointed.
    checkpoint_every: Duration,
    /// When it last was, by this process.
    last_checkpoint: std::sync::Mutex<Option<std::time::Instant>>,
    /// When this process last swept the approvals (delegations starting and ending).
    last_sweep: std::sync::Mutex<Option<std::time::Instant>>,
    /// The maildir receipts arrive in by email, if one is set (`OUTLAY_MAIL_DIR`).
    mail_dir: Option<std::path::PathBuf>,
    /// The bucket SES writes received email to, and a client for it (`OUTLAY_MAIL_BUCKET`).
    #[cfg(feature = "aws")]
    pub(crate) inbound: Option<(aws_sdk_s3::Client, String)>,
}

/// How often a process sweeps the approvals: the calendar moves in days, so a minute is soon
/// enough, and the sweep reads every user.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// How long a claimed message may wait for its process before another takes it.
const CLAIM_LEASE: Duration = Duration::from_secs(600);

/// When a file was last moved (its inode's change time).
#[cfg(unix)]
fn claimed_at(meta: &std::fs::Metadata) -> Option<std::time::SystemTime> {
    use std::os::unix::fs::MetadataExt;
    let secs = u64::try_from(meta.ctime()).ok()?;
    Some(std::time::UNIX_EPOCH + Duration::from_secs(secs))
}

/// Elsewhere, its modification time.
#[cfg(not(unix))]
fn claimed_at(meta: &std::fs::Metadata) -> Option<std::time::SystemTime> {
    meta.modified().ok()
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Receipts read per dispatcher pass, at most (OCR takes about half a second each).
const READS_PER_PASS: u32 = 10;

/// Whether `every` has passed since `last`, which it then sets to now.
fn due(last: &std::sync::Mutex<Option<std::time::Instant>>, every: Duration) -> bool {
    let mut last = last.lock().expect("not poisoned");
    if last.is_some_and(|t| t.elapsed() < every) {
        return false;
    }
    *last = Some(std::time::Instant::now());
    true
}

/// Builds the application on the backend the settings choose.
pub async fn build(settings: &Settings) -> anyhow::Result<Built> {
    match settings.store.as_str() {
        // PostgreSQL with Cognito configured is the AWS mode on Aurora (the template's
        // Database = aurora-postgresql); without, the one-machine mode on a shared database.
        #[cfg(all(feature = "aws", feature = "postgres"))]
        "postgres" if settings.cognito_user_pool_id.is_some() => aws::build(settings).await,
        #[cfg(feature = "local")]
        "sqlite" | "postgres" => local::build(settings).await,
        #[cfg(not(feature = "local"))]
        "sqlite" | "postgres" => anyhow::bail!(
            "this binary is the AWS build, without SQLite or PostgreSQL: set OUTLAY_STORE=dynamodb and its settings"
        ),
        #[cfg(feature = "aws")]
        "dynamodb" => aws::build(settings).await,
        #[cfg(not(feature = "aws"))]
        "dynamodb" => {
            anyhow::bail!("OUTLAY_STORE=dynamodb needs the binary built with `--features aws`")
        }
        other => anyhow::bail!("OUTLAY_STORE must be sqlite, postgres or dynamodb, not {other}"),
    }
}

/// Creates or upgrades the store the settings choose, and nothing else: the SQLite file's or
/// the PostgreSQL database's migrations, or the DynamoDB table if it is missing.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    match settings.store.as_str() {
        #[cfg(feature = "local")]
        "sqlite" | "postgres" => local::migrate(settings).await,
        #[cfg(feature = "aws")]
        "dynamodb" => aws::migrate(settings).await,
        other => anyhow::bail!("this binary cannot migrate OUTLAY_STORE={other}"),
    }
}

/// The last step of every backend: the router over the app. The default policy is stored by
/// the server when it starts ([`Built::ensure_defaults`]), not here: an import needs the store
/// as empty as it was.
pub(crate) async fn router(
    settings: &Settings,
    app: &App,
    session_key: Vec<u8>,
) -> anyhow::Result<axum::Router> {
    // Links are absolute only from what the operator configured: a request's Host is the
    // client's to choose, and reflecting it would let a forged one into upload URLs.
    let public_url = settings
        .public_url
        .clone()
        .or_else(|| (!settings.trust_proxy).then(|| format!("http://{}", settings.addr)));
    let web = outlay_http::WebConfig {
        public_url,
        trust_proxy: settings.trust_proxy,
        metrics_token: settings.metrics_token.as_ref().map(|t| t.0.clone()),
        base_path: settings.base_path.clone(),
        session_key,
    };
    Ok(outlay_http::router(app.clone(), web))
}

pub(crate) fn notify_settings(settings: &Settings, events: bool) -> NotifySettings {
    NotifySettings {
        webhook: events,
        approver_digest_hour: settings.approver_digest_hour,
        retry_base: Duration::from_millis(settings.retry_base_ms),
        ..NotifySettings::default()
    }
}

/// 32 random bytes.
pub(crate) fn random_key() -> anyhow::Result<Vec<u8>> {
    let mut secret = vec![0_u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
        .map_err(|_| anyhow::anyhow!("Failed to generate a secret"))?;
    Ok(secret)
}

impl Built {
    pub(crate) fn new(
        app: App,
        store: Arc<dyn Backend>,
        #[cfg(feature = "local")] sqlite: Option<Arc<SqliteStore>>,
        notifiers: Notifiers,
        router: axum::Router,
        settings: &Settings,
    ) -> Self {
        Self {
            app,
            store,
            #[cfg(feature = "local")]
            sqlite,
            notifiers,
            router,
            checkpoint_every: Duration::from_secs(settings.audit_checkpoint_secs.max(1)),
            last_checkpoint: std::sync::Mutex::new(None),
            last_sweep: std::sync::Mutex::new(None),
            mail_dir: settings.mail_dir.clone(),
            #[cfg(feature = "aws")]
            inbound: None,
        }
    }

    /// Takes a message SES wrote to the inbound bucket (receipts by email), then deletes it.
    /// A message already taken (a repeated S3 event) is gone, and is nothing; a store failure
    /// is an error, so that Lambda tries the event again.
    #[cfg(feature = "aws")]
    pub async fn receive_s3_mail(
        &self,
        bucket: &str,
        key: &str,
    ) -> anyhow::Result<Option<outlay_app::mail::MailOutcome>> {
        let (s3, expected) = self
            .inbound
            .as_ref()
            .context("no inbound mail bucket is set (OUTLAY_MAIL_BUCKET)")?;
        anyhow::ensure!(bucket == expected, "an event of another bucket: {bucket}");
        anyhow::ensure!(key.starts_with("mail/"), "an object outside mail/: {key}");
        let object = match s3.get_object().bucket(bucket).key(key).send().await {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(anyhow::Error::new(e).context("Failed to read a received email")),
        };
        let outcome =
            if object.content_length().unwrap_or(0) > outlay_app::mail::MAX_MAIL_BYTES as i64 {
                tracing::warn!("an email was dropped: too large");
                outlay_app::mail::MailOutcome {
                    dropped: Some("the message is larger than 25 MB".into()),
                    ..Default::default()
                }
            } else {
                let raw = object.body.collect().await?.into_bytes();
                self.app.receive_email(&raw).await?
            };
        s3.delete_object().bucket(bucket).key(key).send().await?;
        Ok(Some(outcome))
    }

    /// One pass over the mail folder, if one is set: each message in its `new/` is taken
    /// (receipts become draft expenses) and moved to `cur/` marked seen, or seen and trashed
    /// when it was dropped, as maildir readers do. A message the store could not take stays
    /// in `new/` for the next pass.
    pub async fn read_mail_dir_once(&self) -> anyhow::Result<usize> {
        let Some(dir) = &self.mail_dir else {
            return Ok(0);
        };
        let (new, cur) = (dir.join("new"), dir.join("cur"));
        for d in [&new, &cur, &dir.join("tmp")] {
            tokio::fs::create_dir_all(d).await?;
        }
        // A message claimed by a process that stopped before marking it goes back to `new/`
        // (taking it again makes nothing twice: each receipt of a message is made once).
        let mut claimed = tokio::fs::read_dir(&cur).await?;
        while let Some(entry) = claimed.next_entry().await? {
            let name = entry.file_name().to_string_lossy().into_owned();
            // Claimed when it was moved: a move changes the inode's ctime, not its mtime.
            let stale = entry.metadata().await.ok().is_some_and(|m| {
                claimed_at(&m).is_some_and(|t| t.elapsed().is_ok_and(|age| age > CLAIM_LEASE))
            });
            if !name.contains(":2,") && stale {
                tokio::fs::rename(entry.path(), new.join(&name)).await.ok();
            }
        }
        let mut entries = tokio::fs::read_dir(&new).await?;
        let mut taken = 0;
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = entry.metadata().await?;
            if !meta.is_file() || name.starts_with('.') {
                continue;
            }
            // Claimed by moving it: of several instances on one folder, one takes it.
            let claimed = cur.join(&name);
            if tokio::fs::rename(entry.path(), &claimed).await.is_err() {
                continue;
            }
            // Too large to read is dropped unread.
            let dropped = if meta.len() > outlay_app::mail::MAX_MAIL_BYTES as u64 {
                tracing::warn!(bytes = meta.len(), "an email was dropped: too large");
                true
            } else {
                let raw = tokio::fs::read(&claimed).await?;
                match self.app.receive_email(&raw).await {
                    Ok(outcome) => outcome.dropped.is_some(),
                    Err(e) => {
                        tokio::fs::rename(&claimed, entry.path()).await.ok();
                        return Err(e.into());
                    }
                }
            };
            let flags = if dropped { "ST" } else { "S" };
            tokio::fs::rename(&claimed, cur.join(format!("{name}:2,{flags}"))).await?;
            taken += 1;
        }
        Ok(taken)
    }

    /// Checkpoints the audit head if this process has not in the configured interval. A chain
    /// that does not verify is logged (and the `outlay_audit_broken` gauge set), not signed.
    pub async fn checkpoint_if_due(&self) -> anyhow::Result<()> {
        if due(&self.last_checkpoint, self.checkpoint_every) {
            self.app.checkpoint_audit().await?;
        }
        Ok(())
    }

    /// What a serving deployment needs stored before its first request: the default policy,
    /// if none is.
    pub async fn ensure_defaults(&self) -> anyhow::Result<()> {
        self.app
            .ensure_policy()
            .await
            .context("Failed to store the default policy")
    }

    /// Closes the database cleanly (SQLite checkpoints its log).
    pub async fn close(&self) {
        #[cfg(feature = "local")]
        if let Some(db) = &self.sqlite {
            db.close().await;
        }
    }

    /// One pass of everything done in the background: the outbox, then the mail folder and the
    /// reading queue (the scheduled function on AWS runs this).
    pub async fn dispatch_once(&self) -> anyhow::Result<Dispatched> {
        let done = self.deliver_once().await?;
        self.read_once().await;
        Ok(done)
    }

    /// One pass over the mail folder and the reading queue.
    pub async fn read_once(&self) {
        if let Err(e) = self.read_mail_dir_once().await {
            tracing::error!(error = ?e, "reading the mail folder failed");
        }
        match self.app.read_receipts(READS_PER_PASS).await {
            Ok(pass) if pass != outlay_app::ReadPass::default() => {
                tracing::info!(?pass, "receipts read");
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = ?e, "reading receipts failed"),
        }
    }

    /// One pass of the outbox dispatcher, with its metrics, the audit checkpoint and the
    /// approvals sweep when due.
    pub async fn deliver_once(&self) -> anyhow::Result<Dispatched> {
        let done = self
            .app
            .dispatch_outbox(self.store.as_ref(), &self.notifiers)
            .await?;
        metrics::counter!("outlay_outbox_delivered_total").increment(done.delivered as u64);
        metrics::counter!("outlay_outbox_delivery_failures_total").increment(done.failed as u64);
        let stats = self.store.stats().await?;
        metrics::gauge!("outlay_outbox_backlog").set(stats.pending as f64);
        metrics::gauge!("outlay_outbox_dead").set(stats.dead as f64);
        let age = stats.oldest.map_or(0.0, |t| {
            (chrono::Utc::now() - t).num_milliseconds() as f64 / 1000.0
        });
        metrics::gauge!("outlay_outbox_oldest_age_seconds").set(age.max(0.0));
        if let Err(e) = self.checkpoint_if_due().await {
            tracing::error!(error = ?e, "the audit checkpoint failed");
        }
        if due(&self.last_sweep, SWEEP_EVERY) {
            match self.app.sweep_approvals().await {
                Ok(sweep) if sweep != outlay_app::Sweep::default() => {
                    tracing::info!(?sweep, "the approvals sweep moved steps");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "the approvals sweep failed"),
            }
        }
        Ok(done)
    }

    /// Runs the dispatcher every `interval` until the process ends, with receipts read in a
    /// task of their own, so that slow OCR never holds up a notification.
    pub fn spawn_dispatcher(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let (built, reader) = (self.clone(), self.clone());
        let reading = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                reader.read_once().await;
            }
        });
        tokio::spawn(async move {
            // Ending the dispatcher ends the reading too.
            let _reading = AbortOnDrop(reading);
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = built.deliver_once().await {
                    tracing::error!(error = ?e, "the outbox dispatcher failed");
                }
            }
        })
    }
}

/// Sets up JSON (or pretty) logs on standard error. The current span's fields (request id,
/// user id, report id) appear on every line of a request. Calling it twice is harmless.
pub fn init_logs(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if settings.log_format == "pretty" {
        builder.try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    };
}

//! Wiring: reads the [`Settings`], chooses the adapters and builds the application and its
//! router. Also the outbox dispatcher, the demo company and the log set-up, shared by the
//! binary and the tests.

#[cfg(feature = "aws")]
mod aws;
mod demo;
/// The Lambda entry point.
#[cfg(feature = "aws")]
pub mod lambda;
mod settings;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use outlay_app::{App, Dispatched, NotifySettings, Outbox, Ports, Store, SystemClock, UuidV7};
use outlay_auth::{LocalIdentity, TokenSettings};
use outlay_blobs::LocalBlobs;
use outlay_notify::{Email, Events, Mailer, Notifiers, Webhook};
use outlay_store_sqlite::SqliteStore;

#[cfg(feature = "aws")]
pub use aws::build_with_config;
/// The AWS SDK configuration type, for [`build_with_config`].
#[cfg(feature = "aws")]
pub use aws_config::SdkConfig;
pub use demo::{DEMO_PASSWORD, DEMO_USERS, demo_password, seed_demo};
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
    pub sqlite: Option<Arc<SqliteStore>>,
    /// Email and webhook delivery.
    pub notifiers: Notifiers,
    /// The one router.
    pub router: axum::Router,
}

/// Builds the application on the backend the settings choose.
pub async fn build(settings: &Settings) -> anyhow::Result<Built> {
    match settings.store.as_str() {
        "sqlite" => build_local(settings).await,
        #[cfg(feature = "aws")]
        "dynamodb" => aws::build(settings).await,
        #[cfg(not(feature = "aws"))]
        "dynamodb" => {
            anyhow::bail!("OUTLAY_STORE=dynamodb needs the binary built with `--features aws`")
        }
        other => anyhow::bail!("OUTLAY_STORE must be sqlite or dynamodb, not {other}"),
    }
}

/// Opens the data directory's database (migrating it) and builds the application.
async fn build_local(settings: &Settings) -> anyhow::Result<Built> {
    let dir = &settings.data_dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("Failed to create the data directory {}", dir.display()))?;
    let store = Arc::new(SqliteStore::open(&dir.join("outlay.db")).await?);
    let identity = Arc::new(LocalIdentity::load_or_create(
        &settings
            .token_key_file
            .clone()
            .unwrap_or_else(|| dir.join("token-key.pk8")),
        TokenSettings {
            issuer: settings.token_issuer.clone(),
            audience: settings.token_audience.clone(),
            ttl: Duration::from_secs(settings.token_ttl_secs),
        },
    )?);
    let notifiers = notifiers(settings)?;
    let notify = notify_settings(settings, notifiers.events.is_some());
    let ports = Ports {
        store: store.clone(),
        blobs: Arc::new(LocalBlobs::open(&dir.join("receipts"))?),
        clock: Arc::new(SystemClock),
        ids: Arc::new(UuidV7),
        login: Some(identity.clone()),
        verifier: identity,
        identities: None,
    };
    let app = App::new(ports, notify, secret_file(&dir.join("upload-key"))?);
    app.ensure_policy()
        .await
        .context("Failed to store the default policy")?;
    let web = outlay_http::WebConfig {
        public_url: settings.public_url.clone(),
        base_path: settings.base_path.clone(),
        session_key: secret_file(&dir.join("session-key"))?,
    };
    let router = outlay_http::router(app.clone(), web);
    Ok(Built {
        app,
        store: store.clone(),
        sqlite: Some(store),
        notifiers,
        router,
    })
}

pub(crate) fn notify_settings(settings: &Settings, events: bool) -> NotifySettings {
    NotifySettings {
        webhook: events,
        approver_digest_hour: settings.approver_digest_hour,
        retry_base: Duration::from_millis(settings.retry_base_ms),
        ..NotifySettings::default()
    }
}

fn notifiers(settings: &Settings) -> anyhow::Result<Notifiers> {
    let email = Mailer::Smtp(match &settings.smtp_url {
        Some(url) => Email::smtp(&url.0, &settings.mail_from)?,
        None => Email::folder(settings.data_dir.join("mail"), &settings.mail_from)?,
    });
    let events = match (&settings.webhook_url, &settings.webhook_secret) {
        (Some(url), Some(secret)) => Some(Events::Webhook(Webhook::new(url, secret.0.as_bytes())?)),
        (Some(_), None) => {
            anyhow::bail!("OUTLAY_WEBHOOK_URL needs OUTLAY_WEBHOOK_SECRET to sign its calls")
        }
        (None, _) => None,
    };
    Ok(Notifiers { email, events })
}

/// 32 random bytes.
pub(crate) fn random_key() -> anyhow::Result<Vec<u8>> {
    let mut secret = vec![0_u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
        .map_err(|_| anyhow::anyhow!("Failed to generate a secret"))?;
    Ok(secret)
}

/// A 32-byte random secret kept in a file readable by its owner only, made on first start.
fn secret_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(bytes) = std::fs::read(path) {
        return Ok(bytes);
    }
    let secret = random_key()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("Failed to create {}", path.display()))?;
    std::io::Write::write_all(&mut file, &secret).context("Failed to write a secret")?;
    file.sync_all().context("Failed to sync a secret")?;
    Ok(secret)
}

impl Built {
    /// Closes the database cleanly (SQLite checkpoints its log).
    pub async fn close(&self) {
        if let Some(db) = &self.sqlite {
            db.close().await;
        }
    }

    /// One pass of the outbox dispatcher, with its metrics.
    pub async fn dispatch_once(&self) -> anyhow::Result<Dispatched> {
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
        Ok(done)
    }

    /// Runs the dispatcher every `interval` until the process ends.
    pub fn spawn_dispatcher(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let built = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = built.dispatch_once().await {
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

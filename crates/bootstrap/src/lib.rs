//! Wiring: reads the [`Settings`], chooses the adapters and builds the application and its
//! router. Also the demo company and the log set-up, shared by the binary and the tests.

mod demo;
mod settings;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use outlay_app::{App, SystemClock, UuidV7};
use outlay_auth::{LocalIdentity, TokenSettings};
use outlay_store_sqlite::SqliteStore;

pub use demo::{DEMO_PASSWORD, DEMO_USERS, seed_demo};
pub use settings::{Overrides, Settings};

/// A built Outlay: the use cases, their store and the HTTP router.
pub struct Built {
    /// The use cases.
    pub app: App,
    /// The SQLite store, for operational commands.
    pub store: Arc<SqliteStore>,
    /// The one router.
    pub router: axum::Router,
}

/// Opens the data directory's database (migrating it) and builds the application.
pub async fn build(settings: &Settings) -> anyhow::Result<Built> {
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
    let app = App::new(
        store.clone(),
        Arc::new(SystemClock),
        Arc::new(UuidV7),
        Some(identity.clone()),
        identity,
    );
    app.ensure_policy()
        .await
        .context("Failed to store the default policy")?;
    let router = outlay_http::router(app.clone());
    Ok(Built { app, store, router })
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

//! The one-machine mode: SQLite and receipts under the data directory, the local identity,
//! email by SMTP or to the data directory's mail folder, and a signed webhook.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use outlay_anchor::{FileLog, KeyFile};
use outlay_app::{Anchor, App, Ports, SystemClock, UuidV7};
use outlay_auth::{LocalIdentity, TokenSettings};
use outlay_blobs::LocalBlobs;
use outlay_notify::{Email, Events, Mailer, Notifiers, Webhook};
use outlay_store_sqlite::SqliteStore;

use crate::{Built, Settings, notify_settings, random_key};

/// Opens the data directory's database (migrating it) and builds the application.
pub(crate) async fn build(settings: &Settings) -> anyhow::Result<Built> {
    let dir = &settings.data_dir;
    private_directory(dir)?;
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
    let audit_key = settings
        .audit_key_file
        .clone()
        .unwrap_or_else(|| dir.join("audit-key.pem"));
    let ports = Ports {
        store: store.clone(),
        blobs: Arc::new(LocalBlobs::open(&dir.join("receipts"))?),
        clock: Arc::new(SystemClock),
        ids: Arc::new(UuidV7),
        login: Some(identity.clone()),
        verifier: identity,
        identities: None,
        hosted: None,
        anchor: Anchor {
            signer: Arc::new(
                KeyFile::from_pem(&private_file(&audit_key, KeyFile::generate_pem)?)
                    .with_context(|| format!("{} is not the audit key", audit_key.display()))?,
            ),
            log: Arc::new(FileLog::new(
                settings
                    .audit_checkpoints_file
                    .clone()
                    .unwrap_or_else(|| dir.join("audit-checkpoints.jsonl")),
            )),
        },
    };
    let app = App::new(ports, notify, secret_file(&dir.join("upload-key"))?);
    let router = crate::router(settings, &app, secret_file(&dir.join("session-key"))?).await?;
    Ok(Built::new(
        app,
        store.clone(),
        Some(store),
        notifiers,
        router,
        settings,
    ))
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

/// Makes the data directory its owner's alone: the directory 0700, and (by the process umask)
/// every file and folder created from now on 0600 and 0700: the database, its log, receipts,
/// mail and keys hold everyone's personal and financial data.
fn private_directory(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("Failed to create the data directory {}", dir.display()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("Failed to make {} private", dir.display()))?;
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
        .with_context(|| format!("Failed to create the data directory {}", dir.display()))?;
    Ok(())
}

/// A 32-byte random secret kept in a file readable by its owner only, made on first start.
fn secret_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    private_file(path, random_key)
}

/// The bytes of a file readable by its owner only, which `make` fills on first start.
fn private_file(path: &Path, make: fn() -> anyhow::Result<Vec<u8>>) -> anyhow::Result<Vec<u8>> {
    if let Ok(bytes) = std::fs::read(path) {
        return Ok(bytes);
    }
    let secret = make()?;
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

//! The one-machine mode: SQLite and receipts under the data directory, the local identity,
//! email by SMTP or to the data directory's mail folder, and a signed webhook.
//!
//! With `OUTLAY_STORE=postgres` the data lives in PostgreSQL instead, and several instances
//! may share it: the keys that every instance must sign with (tokens, sessions, upload links)
//! are kept in the database, the first instance's winning, unless `OUTLAY_TOKEN_KEY_FILE`
//! names a token key file. Receipts, mail and the audit checkpoint log stay under the data
//! directory, which the instances then share (docs/stores.md).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use outlay_anchor::{FileLog, KeyFile};
use outlay_app::{Anchor, App, Ports, SystemClock, UuidV7};
use outlay_auth::{LocalIdentity, TokenSettings};
use outlay_blobs::LocalBlobs;
use outlay_notify::{Email, Events, Mailer, Notifiers, Webhook};
use outlay_store_postgres::PgStore;
use outlay_store_sqlite::SqliteStore;

use crate::{Backend, Built, Settings, notify_settings, random_key};

/// The database the settings name, opened and migrated: SQLite's file under the data
/// directory, or PostgreSQL's.
enum Database {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

impl Database {
    /// Opens the database; SQLite's file is migrated as it opens (its owner is the process),
    /// PostgreSQL's only by `outlay migrate` (`migrate`), run as the tables' owner: the
    /// application's own login may not change the schema, so it only checks it.
    async fn open(settings: &Settings, migrate: bool) -> anyhow::Result<Self> {
        Ok(match settings.store.as_str() {
            "postgres" => {
                let url = settings
                    .database_url
                    .as_ref()
                    .context("OUTLAY_DATABASE_URL is required when OUTLAY_STORE=postgres")?;
                let store = if migrate {
                    PgStore::open(&url.0).await?
                } else {
                    let store = PgStore::connect(&url.0).await?;
                    store.check_schema().await?;
                    store
                };
                Self::Postgres(Arc::new(store))
            }
            _ => Self::Sqlite(Arc::new(
                SqliteStore::open(&settings.data_dir.join("outlay.db")).await?,
            )),
        })
    }

    fn store(&self) -> Arc<dyn Backend> {
        match self {
            Self::Sqlite(s) => s.clone(),
            Self::Postgres(p) => p.clone(),
        }
    }

    /// A key every instance signs with: a file of the data directory on one machine, a row
    /// of the shared database otherwise.
    async fn secret(
        &self,
        dir: &Path,
        name: &str,
        make: fn() -> anyhow::Result<Vec<u8>>,
    ) -> anyhow::Result<Vec<u8>> {
        match self {
            Self::Sqlite(_) => private_file(&dir.join(name), make),
            Self::Postgres(p) => {
                Ok(outlay_app::Store::shared_secret(p.as_ref(), name, &make()?).await?)
            }
        }
    }
}

/// Creates or upgrades the database.
pub(crate) async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    if settings.store == "sqlite" {
        private_directory(&settings.data_dir)?;
    }
    match Database::open(settings, true).await? {
        Database::Sqlite(s) => s.close().await,
        Database::Postgres(p) => p.pool().close().await,
    }
    Ok(())
}

/// Opens the database (migrating it) and builds the application.
pub(crate) async fn build(settings: &Settings) -> anyhow::Result<Built> {
    let dir = &settings.data_dir;
    private_directory(dir)?;
    let db = Database::open(settings, false).await?;
    let store = db.store();
    let tokens = TokenSettings {
        issuer: settings.token_issuer.clone(),
        audience: settings.token_audience.clone(),
        ttl: Duration::from_secs(settings.token_ttl_secs),
    };
    let identity = Arc::new(match (&db, &settings.token_key_file) {
        (Database::Postgres(_), None) => LocalIdentity::from_pkcs8(
            &db.secret(dir, "token-key", LocalIdentity::generate_pkcs8)
                .await?,
            tokens,
        )?,
        (_, file) => LocalIdentity::load_or_create(
            &file.clone().unwrap_or_else(|| dir.join("token-key.pk8")),
            tokens,
        )?,
    });
    let notifiers = notifiers(settings)?;
    let notify = notify_settings(settings, notifiers.events.is_some());
    let audit_key = settings
        .audit_key_file
        .clone()
        .unwrap_or_else(|| dir.join("audit-key.pem"));
    let ports = Ports {
        reader: local_readers(settings),
        mail: Arc::new(outlay_receipts::mail::Mail {
            authserv_id: settings.mail_authserv_id.clone(),
        }),
        files: Arc::new(outlay_payments::BankFiles),
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
    let app = App::new(
        ports,
        notify,
        db.secret(dir, "upload-key", random_key).await?,
    );
    let session_key = db.secret(dir, "session-key", random_key).await?;
    let router = crate::router(settings, &app, session_key).await?;
    let sqlite = match db {
        Database::Sqlite(s) => Some(s),
        Database::Postgres(_) => None,
    };
    Ok(Built::new(app, store, sqlite, notifiers, router, settings))
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

/// The receipt readers of one machine: e-invoices, then Tesseract where it is installed.
fn local_readers(settings: &Settings) -> Arc<dyn outlay_app::ports::ReceiptReader> {
    let mut readers: Vec<Arc<dyn outlay_app::ports::ReceiptReader>> =
        vec![Arc::new(outlay_receipts::EinvoiceReader)];
    match settings.ocr.as_str() {
        "off" => tracing::info!("OCR is off: only e-invoices are read"),
        "textract" => {
            tracing::warn!("Textract reads receipts on AWS only: only e-invoices are read")
        }
        _ => match outlay_receipts::Tesseract::version() {
            Some(version) => {
                tracing::info!(%version, "receipts are read by OCR");
                readers.push(Arc::new(outlay_receipts::TesseractReader::default()));
            }
            None => tracing::warn!(
                "tesseract is not installed (Debian: apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu poppler-utils): only e-invoices are read"
            ),
        },
    }
    Arc::new(outlay_app::ReaderChain(readers))
}

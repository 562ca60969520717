//! The SQLite adapter of Outlay's [`Store`](outlay_app::Store) port.
//!
//! Durability: WAL with `synchronous=FULL`, so a transaction that has been acknowledged
//! survives a power cut. Every change is written by one writer connection, in one savepoint
//! (its writes, its chained audit events and its idempotency record) of a transaction that the
//! changes waiting at the same moment share ([`group`]: group commit, one fsync for all of
//! them); readers use their own pool and never block the writer.

mod commit;
mod group;
mod outbox;
#[cfg(test)]
mod plans;
mod reads;
mod rows;
mod search;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// Outlay's data in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
    committer: group::GroupCommitter,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies the migrations.
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite:")
            .context("Failed to build SQLite options")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("Failed to open the database {}", path.display()))?;
        migrate(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .context("Failed to open the database's readers")?;
        let committer = group::GroupCommitter::start(writer.clone());
        Ok(Self {
            reader,
            writer,
            committer,
        })
    }

    /// Runs `PRAGMA integrity_check` and answers its verdict (`ok` when healthy).
    pub async fn integrity_check(&self) -> anyhow::Result<String> {
        let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&self.reader)
            .await
            .context("Failed to run the integrity check")?;
        Ok(verdict)
    }

    /// Closes both pools, checkpointing the WAL.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// Applies the embedded migrations.
pub async fn migrate(pool: &SqlitePool) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations")
        .run(pool)
        .await
        .context("Failed to migrate the database")
}

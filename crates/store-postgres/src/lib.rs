//! The PostgreSQL adapter of Outlay's [`Store`](outlay_app::Store) port: for running several
//! Outlay instances on one database (Amazon RDS or Aurora PostgreSQL, or any PostgreSQL 13+).
//!
//! # Isolation and locking
//!
//! Every change is one transaction at READ COMMITTED, made safe by locks taken on purpose
//! rather than by SERIALIZABLE's aborts:
//! - **Guards** (the change's read set) read their row `FOR SHARE`: from the check until the
//!   commit nobody can change what the change was decided on. The policy has a row even when
//!   none is stored, so "no policy" can be locked too.
//! - **Writes** are `UPDATE ... WHERE id = $1 AND version = $2`. A write that waits for another
//!   transaction's lock re-reads the row when that one commits, finds the version moved on and
//!   changes nothing: a conflict.
//! - Two changes that each guard what the other writes wait for each other; PostgreSQL breaks
//!   the deadlock by failing one, which is reported as a conflict, and the other commits.
//! - **The audit chain** appends under the one row of `audit_head`, locked `FOR UPDATE` after
//!   every other lock of the change, so the chain has one order and never forks; it is the last
//!   lock taken, so it never closes a cycle.
//! - Idempotency keys, emails and message ids are unique: the second of two concurrent inserts
//!   waits for the first and fails if it commits.
//!
//! SERIALIZABLE would give the same guarantees, but every change appends to the chain, so
//! nearly every pair of concurrent changes would conflict on the head and be retried; with the
//! locks they queue for it instead.
//!
//! # The audit trail
//!
//! Append-only in the database itself: triggers refuse UPDATE, DELETE and TRUNCATE of
//! `audit_events` for every role, and the role `outlay_app` that the migrations create has only
//! SELECT and INSERT on it.

mod commit;
mod outbox;
#[cfg(test)]
mod plans;
mod reads;
mod rows;
mod search;

use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
pub use sqlx::postgres::PgConnectOptions;
use sqlx::postgres::PgPoolOptions;

/// Outlay's data in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:5432/db`). It does not
    /// migrate: see [`migrate`].
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options: PgConnectOptions = url
            .parse()
            .context("OUTLAY_DATABASE_URL is not a PostgreSQL URL")?;
        Self::connect_with(options).await
    }

    /// Connects with `options`; [`PgStore::pool`]'s `set_connect_options` changes them for
    /// the connections opened later (a renewed IAM token).
    pub async fn connect_with(options: PgConnectOptions) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.application_name("outlay"))
            .await
            .context("Failed to connect to PostgreSQL")?;
        Ok(Self { pool })
    }

    /// Connects and applies the migrations: `outlay migrate`, run as the tables' owner.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let store = Self::connect(url).await?;
        migrate(&store.pool).await?;
        Ok(store)
    }

    /// Fails unless every migration this build carries has been applied. The application runs
    /// as a login that may not change the schema, so it checks instead of migrating.
    pub async fn check_schema(&self) -> anyhow::Result<()> {
        let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await
                .context(
                    "The database has no Outlay schema that this login can read: run `outlay migrate` as the tables' owner first",
                )?;
        anyhow::ensure!(
            applied.unwrap_or(0) >= latest,
            "The database is at migration {}, this Outlay needs {latest}: run `outlay migrate` as the tables' owner",
            applied.unwrap_or(0)
        );
        Ok(())
    }

    /// The pool, for the migrations and for tests.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The migrations, embedded once: `migrate` applies them, `check_schema` compares with them.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies the embedded migrations (each in a transaction; several instances starting at once
/// wait for each other on sqlx's advisory lock).
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("Failed to migrate the database")
}

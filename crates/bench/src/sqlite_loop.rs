//! The write baseline: a plain loop of single-row `INSERT` transactions on one SQLite
//! connection, with the server's own pragmas (WAL, `synchronous=FULL`), on the same disk as the
//! server's data. It is what one durable transaction at a time costs on this machine, so the
//! server's write rate divided by it says how much group commit gains.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

/// Transactions per second of the loop, run for `duration` in a fresh database under `dir`.
pub async fn insert_loop(dir: &Path, duration: Duration) -> anyhow::Result<f64> {
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(dir.join("baseline.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .context("Failed to open the baseline database")?;
    sqlx::query("CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .execute(&mut conn)
        .await?;
    // About the size of an expense's row.
    let body = "x".repeat(400);
    let started = Instant::now();
    let mut done = 0u64;
    while started.elapsed() < duration {
        let mut tx = conn.begin().await?;
        sqlx::query("INSERT INTO rows (body) VALUES (?)")
            .bind(&body)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        done += 1;
    }
    Ok(done as f64 / started.elapsed().as_secs_f64())
}

//! The outbox as the dispatcher sees it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outlay_app::{Outbox, OutboxMessage, OutboxStats, StoreResult};
use sqlx::Row;

use crate::SqliteStore;
use crate::rows::{self, db_error, read_error};

#[async_trait]
impl Outbox for SqliteStore {
    async fn due(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxMessage>> {
        let rows = sqlx::query(
            "SELECT body, attempts FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL
             AND deliver_after <= ? ORDER BY deliver_after, id LIMIT ?",
        )
        .bind(rows::time(now))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(read_error)?;
        rows.iter()
            .map(|row| {
                let mut m: OutboxMessage = rows::body(row)?;
                let attempts: i64 = row.try_get("attempts")?;
                m.attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
                Ok(m)
            })
            .collect::<anyhow::Result<_>>()
            .map_err(Into::into)
    }

    async fn delivered(&self, ids: &[uuid::Uuid], at: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(|e| db_error(e, "busy"))?;
        for id in ids {
            sqlx::query("UPDATE outbox SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL")
                .bind(rows::time(at))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(e, "busy"))?;
        }
        tx.commit().await.map_err(|e| db_error(e, "busy"))
    }

    async fn failed(
        &self,
        id: uuid::Uuid,
        attempts: u32,
        retry_at: Option<DateTime<Utc>>,
        error: &str,
    ) -> StoreResult<()> {
        let error: String = error.chars().take(500).collect();
        let query = match retry_at {
            Some(at) => sqlx::query(
                "UPDATE outbox SET attempts = ?, deliver_after = ?, last_error = ? WHERE id = ?",
            )
            .bind(i64::from(attempts))
            .bind(rows::time(at)),
            None => sqlx::query(
                "UPDATE outbox SET attempts = ?, dead_at = ?, last_error = ? WHERE id = ?",
            )
            .bind(i64::from(attempts))
            .bind(rows::time(Utc::now())),
        };
        query
            .bind(error)
            .bind(id.to_string())
            .execute(&self.writer)
            .await
            .map_err(|e| db_error(e, "busy"))?;
        Ok(())
    }

    async fn stats(&self) -> StoreResult<OutboxStats> {
        let (pending, oldest, dead): (i64, Option<String>, i64) = sqlx::query_as(
            "SELECT
                (SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL),
                (SELECT min(created_at) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL),
                (SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL)",
        )
        .fetch_one(&self.reader)
        .await
        .map_err(read_error)?;
        Ok(OutboxStats {
            pending: u64::try_from(pending).unwrap_or(0),
            dead: u64::try_from(dead).unwrap_or(0),
            oldest: oldest.as_deref().map(rows::parse_time).transpose()?,
        })
    }
}

//! The outbox as the dispatchers see it. Several instances dispatch at once, so `due` leases
//! what it hands out: for [`LEASE`] nobody else is handed the same message, and the lease ends
//! early when the message is marked delivered or failed. A dispatcher that dies holding a lease
//! leaves its messages to the next one when it runs out (at least once, never twice at once).
//!
//! A lease must outlast the delivery of everything handed out with it, or a slow dispatcher's
//! messages would be handed to another while it still sends them: `due` hands out at most
//! [`BATCH`] messages, which even at the notifiers' 20-second timeout each take less than the
//! lease.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use outlay_app::{Outbox, OutboxMessage, OutboxStats, StoreResult};
use sqlx::Row;

use crate::PgStore;
use crate::rows::{self, db_error, read_error};

/// How long a handed-out message is the dispatcher's alone.
pub const LEASE: TimeDelta = TimeDelta::minutes(10);

/// The most messages one `due` hands out: [`BATCH`] × 20 s stays inside the [`LEASE`].
pub const BATCH: u32 = 25;

#[async_trait]
impl Outbox for PgStore {
    async fn due(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxMessage>> {
        // SKIP LOCKED: a message another dispatcher is leasing right now is passed over, not
        // waited for.
        let rows = sqlx::query(
            "UPDATE outbox SET leased_until = $2 WHERE id IN (
                 SELECT id FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL
                   AND deliver_after <= $1 AND (leased_until IS NULL OR leased_until <= $1)
                 ORDER BY deliver_after, id LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING body::text AS body, attempts, deliver_after, id",
        )
        .bind(now)
        .bind(now + LEASE)
        .bind(i64::from(limit.min(BATCH)))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, "busy"))?;
        let mut out = rows
            .iter()
            .map(|row| {
                let mut m: OutboxMessage = rows::body(row)?;
                let attempts: i32 = row.try_get("attempts")?;
                m.attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
                let after: DateTime<Utc> = row.try_get("deliver_after")?;
                Ok((after, m))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        out.sort_by_key(|a| (a.0, a.1.id));
        Ok(out.into_iter().map(|(_, m)| m).collect())
    }

    async fn delivered(&self, ids: &[uuid::Uuid], at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET delivered_at = $1, leased_until = NULL
             WHERE id = ANY($2) AND delivered_at IS NULL",
        )
        .bind(at)
        .bind(ids)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, "busy"))?;
        Ok(())
    }

    async fn failed(
        &self,
        id: uuid::Uuid,
        attempts: u32,
        retry_at: Option<DateTime<Utc>>,
        error: &str,
    ) -> StoreResult<()> {
        let error: String = error.chars().take(500).collect();
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        let query = match retry_at {
            Some(at) => sqlx::query(
                "UPDATE outbox SET attempts = $1, deliver_after = $2, last_error = $3,
                 leased_until = NULL WHERE id = $4",
            )
            .bind(attempts)
            .bind(at),
            None => sqlx::query(
                "UPDATE outbox SET attempts = $1, dead_at = $2, last_error = $3,
                 leased_until = NULL WHERE id = $4",
            )
            .bind(attempts)
            .bind(Utc::now()),
        };
        query
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "busy"))?;
        Ok(())
    }

    async fn stats(&self) -> StoreResult<OutboxStats> {
        let (pending, oldest, dead): (i64, Option<DateTime<Utc>>, i64) = sqlx::query_as(
            "SELECT
                (SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL),
                (SELECT min(created_at) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL),
                (SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(read_error)?;
        Ok(OutboxStats {
            pending: u64::try_from(pending).unwrap_or(0),
            dead: u64::try_from(dead).unwrap_or(0),
            oldest,
        })
    }
}

//! Writing a change in one transaction: its guards, its writes, its chained audit events, its
//! outbox rows and its idempotency record. The locks each step takes are in the crate's doc.

use outlay_app::{Change, Guard, STALE, StoreError, StoreResult, Write};
use outlay_domain::access;
use outlay_domain::{AuditRecord, Report, audit};
use sqlx::postgres::PgQueryResult;
use sqlx::{PgConnection, PgPool};

use crate::rows::{self, db_error, json};

/// Commits `change` whole, or nothing of it.
pub(crate) async fn commit(pool: &PgPool, change: Change) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(|e| db_error(e, STALE))?;
    write(&mut tx, change).await?;
    tx.commit().await.map_err(|e| db_error(e, STALE))
}

async fn write(tx: &mut PgConnection, change: Change) -> StoreResult<()> {
    for guard in &change.guards {
        check(tx, guard).await?;
    }
    for write in &change.writes {
        apply(tx, write).await?;
    }
    for m in &change.outbox {
        sqlx::query(
            "INSERT INTO outbox (id, created_at, deliver_after, attempts, body)
             VALUES ($1, $2, $3, 0, $4::jsonb)",
        )
        .bind(m.id)
        .bind(m.created_at)
        .bind(m.deliver_after)
        .bind(json(m)?)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(e, "this message is already in the outbox"))?;
    }
    if let Some(i) = change.idempotency {
        sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, response, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(i.user_id.as_uuid())
        .bind(&i.key)
        .bind(&i.fingerprint)
        .bind(&i.response)
        .bind(i.created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(e, "this Idempotency-Key is being used by another request"))?;
    }
    // Last: the head is the last lock the change takes.
    append_audit(tx, change.audit).await
}

/// Fails with a conflict unless the guarded row is as the use case read it, and keeps it so
/// until the commit (`FOR SHARE`).
async fn check(tx: &mut PgConnection, guard: &Guard) -> StoreResult<()> {
    let (sql, id, v) = match guard {
        Guard::User { id, version } => (
            "SELECT version FROM users WHERE id = $1 FOR SHARE",
            id.as_uuid(),
            *version,
        ),
        Guard::Expense { id, version } => (
            "SELECT version FROM expenses WHERE id = $1 FOR SHARE",
            id.as_uuid(),
            *version,
        ),
        Guard::Report { id, version } => (
            "SELECT version FROM reports WHERE id = $1 FOR SHARE",
            id.as_uuid(),
            *version,
        ),
        Guard::Doc { kind, id, version } => {
            let stored: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM documents WHERE kind = $1 AND id = $2 FOR SHARE",
            )
            .bind(kind.as_str())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| db_error(e, STALE))?;
            return if stored == *version {
                Ok(())
            } else {
                Err(StoreError::stale())
            };
        }
        Guard::Policy(policy) => {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT value FROM settings WHERE key = 'policy' FOR SHARE")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| db_error(e, STALE))?;
            let read = policy.as_deref().map(json).transpose()?;
            return if stored == read {
                Ok(())
            } else {
                Err(StoreError::stale())
            };
        }
    };
    let stored: Option<i64> = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| db_error(e, STALE))?;
    if stored == Some(v) {
        Ok(())
    } else {
        Err(StoreError::stale())
    }
}

/// Fails with a conflict unless exactly one row was affected.
fn one_row(done: PgQueryResult) -> StoreResult<()> {
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::stale())
    }
}

async fn apply(tx: &mut PgConnection, write: &Write) -> StoreResult<()> {
    match write {
        Write::PutUser {
            user,
            password_hash,
            expected_version,
        } => {
            let manager = user.manager_id.map(|m| m.as_uuid());
            let done = match expected_version {
                None => sqlx::query(
                    "INSERT INTO users (id, email, name, roles, manager_id, active, password_hash,
                     version, controllers, signed_out_at, time_zone, delegation, home_cost_centre)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12::jsonb, $13)",
                )
                .bind(user.id.as_uuid())
                .bind(user.email.as_str())
                .bind(&user.name)
                .bind(rows::roles(user))
                .bind(manager)
                .bind(user.active)
                .bind(password_hash)
                .bind(user.version)
                .bind(json(&user.controllers)?)
                .bind(user.signed_out_at)
                .bind(user.time_zone.map(|z| z.name()))
                .bind(user.delegation.as_ref().map(json).transpose()?)
                .bind(&user.home_cost_centre)
                .execute(&mut *tx)
                .await,
                Some(v) => {
                    sqlx::query(
                        "UPDATE users SET email = $1, name = $2, roles = $3, manager_id = $4,
                     active = $5, password_hash = COALESCE($6, password_hash), version = $7,
                     controllers = $8::jsonb, signed_out_at = $9, time_zone = $10,
                     delegation = $11::jsonb, home_cost_centre = $12
                     WHERE id = $13 AND version = $14",
                    )
                    .bind(user.email.as_str())
                    .bind(&user.name)
                    .bind(rows::roles(user))
                    .bind(manager)
                    .bind(user.active)
                    .bind(password_hash)
                    .bind(user.version)
                    .bind(json(&user.controllers)?)
                    .bind(user.signed_out_at)
                    .bind(user.time_zone.map(|z| z.name()))
                    .bind(user.delegation.as_ref().map(json).transpose()?)
                    .bind(&user.home_cost_centre)
                    .bind(user.id.as_uuid())
                    .bind(v)
                    .execute(&mut *tx)
                    .await
                }
            };
            one_row(done.map_err(|e| db_error(e, "a user with this email already exists"))?)
        }
        Write::PutExpense {
            expense,
            expected_version,
        } => {
            let d = &expense.details;
            let report = expense.report_id.map(|r| r.as_uuid());
            let done =
                match expected_version {
                    None => sqlx::query(
                        "INSERT INTO expenses (id, owner_id, report_id, version, body, spent_on,
                     amount, currency, merchant_key)
                     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9)",
                    )
                    .bind(expense.id.as_uuid())
                    .bind(expense.owner_id.as_uuid())
                    .bind(report)
                    .bind(expense.version)
                    .bind(json(expense)?)
                    .bind(d.date())
                    .bind(d.amount().amount_string())
                    .bind(d.amount().currency().code())
                    .bind(d.merchant_key())
                    .execute(&mut *tx)
                    .await,
                    Some(v) => {
                        sqlx::query(
                            "UPDATE expenses SET report_id = $1, version = $2, body = $3::jsonb,
                     spent_on = $4, amount = $5, currency = $6, merchant_key = $7
                     WHERE id = $8 AND version = $9",
                        )
                        .bind(report)
                        .bind(expense.version)
                        .bind(json(expense)?)
                        .bind(d.date())
                        .bind(d.amount().amount_string())
                        .bind(d.amount().currency().code())
                        .bind(d.merchant_key())
                        .bind(expense.id.as_uuid())
                        .bind(v)
                        .execute(&mut *tx)
                        .await
                    }
                };
            one_row(done.map_err(|e| db_error(e, "this expense already exists"))?)
        }
        Write::DeleteExpense {
            id,
            expected_version,
        } => {
            let done = sqlx::query("DELETE FROM expenses WHERE id = $1 AND version = $2")
                .bind(id.as_uuid())
                .bind(expected_version)
                .execute(&mut *tx)
                .await;
            one_row(done.map_err(|e| db_error(e, STALE))?)
        }
        Write::PutReport {
            report,
            expected_version,
        } => put_report(tx, report, *expected_version).await,
        Write::DeleteReport(report) => {
            sqlx::query("DELETE FROM report_deciders WHERE report_id = $1")
                .bind(report.id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(anyhow::Error::from)?;
            let done = sqlx::query("DELETE FROM reports WHERE id = $1 AND version = $2")
                .bind(report.id.as_uuid())
                .bind(report.version)
                .execute(&mut *tx)
                .await;
            one_row(done.map_err(|e| db_error(e, STALE))?)
        }
        Write::PutReceipt { receipt, expected } => {
            let done = if let Some(state) = expected {
                sqlx::query(
                    "UPDATE receipts SET state = $1, body = $2::jsonb WHERE id = $3 AND state = $4",
                )
                .bind(receipt.state.as_str())
                .bind(json(receipt)?)
                .bind(receipt.id.as_uuid())
                .bind(state.as_str())
                .execute(&mut *tx)
                .await
            } else {
                sqlx::query(
                    "INSERT INTO receipts (id, expense_id, owner_id, state, body)
                     VALUES ($1, $2, $3, $4, $5::jsonb)",
                )
                .bind(receipt.id.as_uuid())
                .bind(receipt.expense_id.as_uuid())
                .bind(receipt.owner_id.as_uuid())
                .bind(receipt.state.as_str())
                .bind(json(receipt)?)
                .execute(&mut *tx)
                .await
            };
            one_row(done.map_err(|e| db_error(e, "this receipt already exists"))?)
        }
        Write::DeleteReceipt(id) => {
            sqlx::query("DELETE FROM receipts WHERE id = $1")
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(e, STALE))?;
            Ok(())
        }
        Write::PutRates(rates) => {
            for r in rates {
                sqlx::query(
                    "INSERT INTO exchange_rates (currency, day, rate) VALUES ($1, $2, $3)
                     ON CONFLICT (currency, day) DO UPDATE SET rate = excluded.rate",
                )
                .bind(r.currency.code())
                .bind(r.date)
                .bind(r.rate.to_string())
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(e, STALE))?;
            }
            Ok(())
        }
        Write::DeleteDoc {
            kind,
            id,
            expected_version,
        } => {
            let done =
                sqlx::query("DELETE FROM documents WHERE kind = $1 AND id = $2 AND version = $3")
                    .bind(kind.as_str())
                    .bind(id)
                    .bind(expected_version)
                    .execute(&mut *tx)
                    .await;
            one_row(done.map_err(|e| db_error(e, STALE))?)
        }
        Write::PutDoc {
            doc,
            expected_version,
        } => {
            let done = match expected_version {
                None => sqlx::query(
                    "INSERT INTO documents (kind, id, version, body) VALUES ($1, $2, $3, $4::jsonb)",
                )
                .bind(doc.kind.as_str())
                .bind(&doc.id)
                .bind(doc.version)
                .bind(&doc.body)
                .execute(&mut *tx)
                .await,
                Some(v) => sqlx::query(
                    "UPDATE documents SET version = $1, body = $2::jsonb
                     WHERE kind = $3 AND id = $4 AND version = $5",
                )
                .bind(doc.version)
                .bind(&doc.body)
                .bind(doc.kind.as_str())
                .bind(&doc.id)
                .bind(v)
                .execute(&mut *tx)
                .await,
            };
            one_row(done.map_err(|e| db_error(e, STALE))?)
        }
        Write::AddNotification(n) => {
            sqlx::query(
                "INSERT INTO notifications (id, user_id, read_at, body) VALUES ($1, $2, NULL, $3::jsonb)",
            )
            .bind(n.id)
            .bind(n.user_id.as_uuid())
            .bind(json(n)?)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(e, "this notification already exists"))?;
            Ok(())
        }
        Write::ReadNotifications { user, ids, at } => {
            sqlx::query(
                "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL
                 AND ($3::uuid[] IS NULL OR id = ANY($3))",
            )
            .bind(at)
            .bind(user.as_uuid())
            .bind(ids.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(e, STALE))?;
            Ok(())
        }
        Write::PutPolicy(policy) => {
            sqlx::query("UPDATE settings SET value = $1 WHERE key = 'policy'")
                .bind(json(policy)?)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(e, STALE))?;
            Ok(())
        }
    }
}

async fn put_report(
    tx: &mut PgConnection,
    report: &Report,
    expected_version: Option<i64>,
) -> StoreResult<()> {
    let keys = access::queue_keys(report);
    let queue = keys.queue.map(|q| q.key());
    let barred: Vec<uuid::Uuid> = keys.barred.iter().map(|u| u.as_uuid()).collect();
    let done = match expected_version {
        None => sqlx::query(
            "INSERT INTO reports (id, owner_id, state, version, submitted_at, queue, barred, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)",
        )
        .bind(report.id.as_uuid())
        .bind(report.owner_id.as_uuid())
        .bind(report.state.as_str())
        .bind(report.version)
        .bind(report.submitted_at)
        .bind(&queue)
        .bind(&barred)
        .bind(json(report)?)
        .execute(&mut *tx)
        .await,
        Some(v) => {
            sqlx::query(
                "UPDATE reports SET state = $1, version = $2, submitted_at = $3, queue = $4,
             barred = $5, body = $6::jsonb WHERE id = $7 AND version = $8",
            )
            .bind(report.state.as_str())
            .bind(report.version)
            .bind(report.submitted_at)
            .bind(&queue)
            .bind(&barred)
            .bind(json(report)?)
            .bind(report.id.as_uuid())
            .bind(v)
            .execute(&mut *tx)
            .await
        }
    };
    one_row(done.map_err(|e| db_error(e, "this report already exists"))?)?;
    if !report.deciders.is_empty() {
        let deciders: Vec<uuid::Uuid> = report.deciders.iter().map(|u| u.as_uuid()).collect();
        sqlx::query(
            "INSERT INTO report_deciders (user_id, report_id)
             SELECT d, $1 FROM unnest($2::uuid[]) AS d ON CONFLICT DO NOTHING",
        )
        .bind(report.id.as_uuid())
        .bind(&deciders)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(e, STALE))?;
    }
    Ok(())
}

/// Appends `records` to the chain under the locked head row; the database holds each event to
/// the head and moves it.
async fn append_audit(tx: &mut PgConnection, records: Vec<AuditRecord>) -> StoreResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let (seq, hash): (i64, Option<String>) =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE one FOR UPDATE")
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| db_error(e, STALE))?;
    let mut prev = hash.map(|h| (h, seq));
    for record in records {
        let event = audit::seal(prev.as_ref().map(|(h, s)| (h.as_str(), *s)), record);
        let r = &event.record;
        sqlx::query(
            "INSERT INTO audit_events (seq, at, actor_id, action, entity_kind, entity_id, source,
             before, after, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(event.seq)
        .bind(r.at)
        .bind(&r.actor_id)
        .bind(&r.action)
        .bind(&r.entity_kind)
        .bind(&r.entity_id)
        .bind(&r.source)
        .bind(&r.before)
        .bind(&r.after)
        .bind(&event.prev_hash)
        .bind(&event.hash)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(e, STALE))?;
        prev = Some((event.hash, event.seq));
    }
    // The head moved with each insert (the trigger `audit_events_follow_head`).
    Ok(())
}

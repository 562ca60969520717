//! Writing a change: its guards, its writes, its chained audit events, its outbox rows and its
//! idempotency record, inside the transaction the group committer ([`crate::group`]) holds.

use outlay_app::{Change, Guard, STALE, StoreError, StoreResult, Write};
use outlay_domain::access;
use outlay_domain::{Report, audit};
use sqlx::{Sqlite, Transaction};

use crate::rows::{self, db_error, json};

/// Writes `change` in `tx` (a savepoint of the group's transaction). The one writer connection
/// serialises changes, so what the guards see here cannot change before the writes below.
pub(crate) async fn write(tx: &mut Transaction<'_, Sqlite>, change: Change) -> StoreResult<()> {
    for guard in &change.guards {
        check(tx, guard).await?;
    }
    for write in &change.writes {
        apply(tx, write).await?;
    }
    append_audit(tx, change.audit).await?;
    for m in &change.outbox {
        sqlx::query("INSERT INTO outbox (id, created_at, deliver_after, attempts, body) VALUES (?, ?, ?, 0, ?)")
            .bind(m.id.to_string())
            .bind(rows::time(m.created_at))
            .bind(rows::time(m.deliver_after))
            .bind(json(m)?)
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error(e, "this message is already in the outbox"))?;
    }
    if let Some(i) = change.idempotency {
        sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, response, created_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(i.user_id.to_string())
        .bind(&i.key)
        .bind(&i.fingerprint)
        .bind(&i.response)
        .bind(rows::time(i.created_at))
        .execute(&mut **tx)
        .await
        .map_err(|e| db_error(e, "this Idempotency-Key is being used by another request"))?;
    }
    Ok(())
}

/// Fails with a conflict unless the guarded row is as the use case read it.
async fn check(tx: &mut Transaction<'_, Sqlite>, guard: &Guard) -> StoreResult<()> {
    let (sql, id, v) = match guard {
        Guard::User { id, version } => (
            "SELECT version FROM users WHERE id = ?",
            id.to_string(),
            *version,
        ),
        Guard::Expense { id, version } => (
            "SELECT version FROM expenses WHERE id = ?",
            id.to_string(),
            *version,
        ),
        Guard::Report { id, version } => (
            "SELECT version FROM reports WHERE id = ?",
            id.to_string(),
            *version,
        ),
        Guard::Doc { kind, id, version } => {
            let stored: Option<i64> =
                sqlx::query_scalar("SELECT version FROM documents WHERE kind = ? AND id = ?")
                    .bind(kind.as_str())
                    .bind(id)
                    .fetch_optional(&mut **tx)
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
                sqlx::query_scalar("SELECT value FROM settings WHERE key = 'policy'")
                    .fetch_optional(&mut **tx)
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
        .fetch_optional(&mut **tx)
        .await
        .map_err(|e| db_error(e, STALE))?;
    let holds = stored == Some(v);
    if holds {
        Ok(())
    } else {
        Err(StoreError::stale())
    }
}

/// Fails with a conflict unless exactly one row was affected.
fn one_row(done: sqlx::sqlite::SqliteQueryResult) -> StoreResult<()> {
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::stale())
    }
}

async fn apply(tx: &mut Transaction<'_, Sqlite>, write: &Write) -> StoreResult<()> {
    match write {
        Write::PutUser {
            user,
            password_hash,
            expected_version,
        } => {
            let manager = user.manager_id.map(|m| m.to_string());
            let done = match expected_version {
                None => sqlx::query(
                    "INSERT INTO users (id, email, name, roles, manager_id, active, password_hash, version, controllers, signed_out_at, time_zone, delegation, home_cost_centre)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(user.id.to_string())
                .bind(user.email.as_str())
                .bind(&user.name)
                .bind(rows::roles_text(user))
                .bind(manager)
                .bind(user.active)
                .bind(password_hash)
                .bind(user.version)
                .bind(json(&user.controllers)?)
                .bind(user.signed_out_at.map(rows::time))
                .bind(user.time_zone.map(|z| z.name()))
                .bind(user.delegation.as_ref().map(json).transpose()?)
                .bind(&user.home_cost_centre)
                .execute(&mut **tx)
                .await,
                Some(v) => sqlx::query(
                    "UPDATE users SET email = ?, name = ?, roles = ?, manager_id = ?, active = ?,
                     password_hash = COALESCE(?, password_hash), version = ?, controllers = ?,
                     signed_out_at = ?, time_zone = ?, delegation = ?, home_cost_centre = ?
                     WHERE id = ? AND version = ?",
                )
                .bind(user.email.as_str())
                .bind(&user.name)
                .bind(rows::roles_text(user))
                .bind(manager)
                .bind(user.active)
                .bind(password_hash)
                .bind(user.version)
                .bind(json(&user.controllers)?)
                .bind(user.signed_out_at.map(rows::time))
                .bind(user.time_zone.map(|z| z.name()))
                .bind(user.delegation.as_ref().map(json).transpose()?)
                .bind(&user.home_cost_centre)
                .bind(user.id.to_string())
                .bind(v)
                .execute(&mut **tx)
                .await,
            };
            one_row(done.map_err(|e| db_error(e, "a user with this email already exists"))?)
        }
        Write::PutExpense {
            expense,
            expected_version,
        } => {
            let body = json(expense)?;
            let d = &expense.details;
            let report = expense.report_id.map(|r| r.to_string());
            let done = match expected_version {
                None => sqlx::query(
                    "INSERT INTO expenses (id, owner_id, report_id, version, body, spent_on, amount, currency, merchant_key)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(expense.id.to_string())
                .bind(expense.owner_id.to_string())
                .bind(report)
                .bind(expense.version)
                .bind(body)
                .bind(d.date().to_string())
                .bind(d.amount().amount_string())
                .bind(d.amount().currency().code())
                .bind(d.merchant_key())
                .execute(&mut **tx)
                .await,
                Some(v) => sqlx::query(
                    "UPDATE expenses SET report_id = ?, version = ?, body = ?, spent_on = ?, amount = ?,
                     currency = ?, merchant_key = ? WHERE id = ? AND version = ?",
                )
                .bind(report)
                .bind(expense.version)
                .bind(body)
                .bind(d.date().to_string())
                .bind(d.amount().amount_string())
                .bind(d.amount().currency().code())
                .bind(d.merchant_key())
                .bind(expense.id.to_string())
                .bind(v)
                .execute(&mut **tx)
                .await,
            };
            one_row(done.map_err(|e| db_error(e, "this expense already exists"))?)
        }
        Write::DeleteExpense {
            id,
            expected_version,
        } => {
            let done = sqlx::query("DELETE FROM expenses WHERE id = ? AND version = ?")
                .bind(id.to_string())
                .bind(expected_version)
                .execute(&mut **tx)
                .await;
            one_row(done.map_err(|e| db_error(e, STALE))?)
        }
        Write::PutReport {
            report,
            expected_version,
        } => put_report(tx, report, *expected_version).await,
        Write::DeleteReport(report) => {
            sqlx::query("DELETE FROM report_deciders WHERE report_id = ?")
                .bind(report.id.to_string())
                .execute(&mut **tx)
                .await
                .map_err(anyhow::Error::from)?;
            let done = sqlx::query("DELETE FROM reports WHERE id = ? AND version = ?")
                .bind(report.id.to_string())
                .bind(report.version)
                .execute(&mut **tx)
                .await;
            one_row(done.map_err(|e| db_error(e, STALE))?)
        }
        Write::PutReceipt { receipt, expected } => {
            let done = if let Some(state) = expected {
                sqlx::query("UPDATE receipts SET state = ?, body = ? WHERE id = ? AND state = ?")
                    .bind(receipt.state.as_str())
                    .bind(json(receipt)?)
                    .bind(receipt.id.to_string())
                    .bind(state.as_str())
                    .execute(&mut **tx)
                    .await
            } else {
                sqlx::query("INSERT INTO receipts (id, expense_id, owner_id, state, body) VALUES (?, ?, ?, ?, ?)")
                    .bind(receipt.id.to_string())
                    .bind(receipt.expense_id.to_string())
                    .bind(receipt.owner_id.to_string())
                    .bind(receipt.state.as_str())
                    .bind(json(receipt)?)
                    .execute(&mut **tx)
                    .await
            };
            one_row(done.map_err(|e| db_error(e, "this receipt already exists"))?)
        }
        Write::DeleteReceipt(id) => {
            sqlx::query("DELETE FROM receipts WHERE id = ?")
                .bind(id.to_string())
                .execute(&mut **tx)
                .await
                .map_err(|e| db_error(e, STALE))?;
            Ok(())
        }
        Write::PutRates(rates) => {
            for r in rates {
                sqlx::query(
                    "INSERT INTO exchange_rates (currency, day, rate) VALUES (?, ?, ?)
                     ON CONFLICT (currency, day) DO UPDATE SET rate = excluded.rate",
                )
                .bind(r.currency.code())
                .bind(r.date.to_string())
                .bind(r.rate.to_string())
                .execute(&mut **tx)
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
                sqlx::query("DELETE FROM documents WHERE kind = ? AND id = ? AND version = ?")
                    .bind(kind.as_str())
                    .bind(id)
                    .bind(expected_version)
                    .execute(&mut **tx)
                    .await;
            one_row(done.map_err(|e| db_error(e, STALE))?)
        }
        Write::PutDoc {
            doc,
            expected_version,
        } => {
            let done = match expected_version {
                None => sqlx::query(
                    "INSERT INTO documents (kind, id, version, body) VALUES (?, ?, ?, ?)",
                )
                .bind(doc.kind.as_str())
                .bind(&doc.id)
                .bind(doc.version)
                .bind(&doc.body)
                .execute(&mut **tx)
                .await,
                Some(v) => sqlx::query(
                    "UPDATE documents SET version = ?, body = ? WHERE kind = ? AND id = ? AND version = ?",
                )
                .bind(doc.version)
                .bind(&doc.body)
                .bind(doc.kind.as_str())
                .bind(&doc.id)
                .bind(v)
                .execute(&mut **tx)
                .await,
            };
            one_row(done.map_err(|e| db_error(e, STALE))?)
        }
        Write::AddNotification(n) => {
            sqlx::query(
                "INSERT INTO notifications (id, user_id, read_at, body) VALUES (?, ?, NULL, ?)",
            )
            .bind(n.id.to_string())
            .bind(n.user_id.to_string())
            .bind(json(n)?)
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error(e, "this notification already exists"))?;
            Ok(())
        }
        Write::ReadNotifications { user, ids, at } => {
            let at = rows::time(*at);
            let ids: Vec<Option<String>> = match ids {
                None => vec![None],
                Some(ids) => ids.iter().map(|i| Some(i.to_string())).collect(),
            };
            for id in ids {
                sqlx::query(
                    "UPDATE notifications SET read_at = ?1 WHERE user_id = ?2 AND read_at IS NULL
                     AND (?3 IS NULL OR id = ?3)",
                )
                .bind(&at)
                .bind(user.to_string())
                .bind(id)
                .execute(&mut **tx)
                .await
                .map_err(|e| db_error(e, STALE))?;
            }
            Ok(())
        }
        Write::PutPolicy(policy) => {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ('policy', ?)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(json(policy)?)
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error(e, STALE))?;
            Ok(())
        }
    }
}

async fn put_report(
    tx: &mut Transaction<'_, Sqlite>,
    report: &Report,
    expected_version: Option<i64>,
) -> StoreResult<()> {
    let keys = access::queue_keys(report);
    let queue = keys.queue.map(|q| q.key());
    let submitted = report.submitted_at.map(rows::time);
    let body = json(report)?;
    let done = match expected_version {
        None => sqlx::query(
            "INSERT INTO reports (id, owner_id, state, version, submitted_at, queue, barred, body)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(report.id.to_string())
        .bind(report.owner_id.to_string())
        .bind(report.state.as_str())
        .bind(report.version)
        .bind(submitted)
        .bind(&queue)
        .bind(json(&keys.barred)?)
        .bind(body)
        .execute(&mut **tx)
        .await,
        Some(v) => sqlx::query(
            "UPDATE reports SET state = ?, version = ?, submitted_at = ?, queue = ?, barred = ?,
             body = ? WHERE id = ? AND version = ?",
        )
        .bind(report.state.as_str())
        .bind(report.version)
        .bind(submitted)
        .bind(&queue)
        .bind(json(&keys.barred)?)
        .bind(body)
        .bind(report.id.to_string())
        .bind(v)
        .execute(&mut **tx)
        .await,
    };
    one_row(done.map_err(|e| db_error(e, "this report already exists"))?)?;
    if !report.deciders.is_empty() {
        sqlx::query(
            "INSERT OR IGNORE INTO report_deciders (user_id, report_id)
             SELECT value, ?1 FROM json_each(?2)",
        )
        .bind(report.id.to_string())
        .bind(json(&report.deciders)?)
        .execute(&mut **tx)
        .await
        .map_err(|e| db_error(e, STALE))?;
    }
    Ok(())
}

async fn append_audit(
    tx: &mut Transaction<'_, Sqlite>,
    records: Vec<outlay_domain::AuditRecord>,
) -> StoreResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let last: Option<(String, i64)> =
        sqlx::query_as("SELECT hash, seq FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await
            .map_err(|e| db_error(e, STALE))?;
    let mut prev = last;
    for record in records {
        let event = audit::seal(prev.as_ref().map(|(h, s)| (h.as_str(), *s)), record);
        let r = &event.record;
        sqlx::query(
            "INSERT INTO audit_events (seq, at, actor_id, action, entity_kind, entity_id, source,
             before, after, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(event.seq)
        .bind(rows::time(r.at))
        .bind(&r.actor_id)
        .bind(&r.action)
        .bind(&r.entity_kind)
        .bind(&r.entity_id)
        .bind(&r.source)
        .bind(&r.before)
        .bind(&r.after)
        .bind(&event.prev_hash)
        .bind(&event.hash)
        .execute(&mut **tx)
        .await
        .map_err(|e| db_error(e, STALE))?;
        prev = Some((event.hash, event.seq));
    }
    Ok(())
}

//! Mapping between domain values and rows, and the text forms of ids, times and cursors.

use anyhow::Context;
use chrono::{DateTime, Utc};
use outlay_app::StoreError;
use outlay_domain::{AuditEvent, AuditRecord, Email, Role, User, UserId};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

pub(crate) fn time(t: DateTime<Utc>) -> String {
    outlay_domain::audit::format_time(t)
}

pub(crate) fn parse_time(s: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(s)
        .with_context(|| format!("Failed to parse the stored time {s}"))?
        .with_timezone(&Utc))
}

pub(crate) fn roles_text(user: &User) -> String {
    user.roles
        .iter()
        .map(Role::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn user(row: &SqliteRow) -> anyhow::Result<User> {
    let roles: String = row.try_get("roles")?;
    let manager: Option<String> = row.try_get("manager_id")?;
    Ok(User {
        id: UserId::parse(row.try_get("id")?)?,
        email: Email::parse(row.try_get("email")?)?,
        name: row.try_get("name")?,
        roles: roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(Role::parse)
            .collect::<Result<_, _>>()?,
        manager_id: manager.as_deref().map(UserId::parse).transpose()?,
        active: row.try_get("active")?,
        version: row.try_get("version")?,
        controllers: serde_json::from_str(row.try_get("controllers")?)
            .context("Failed to read a user's controllers")?,
        signed_out_at: row
            .try_get::<Option<String>, _>("signed_out_at")?
            .as_deref()
            .map(parse_time)
            .transpose()?,
        time_zone: row
            .try_get::<Option<String>, _>("time_zone")?
            .as_deref()
            .map(outlay_domain::TimeZone::parse)
            .transpose()?,
        delegation: row
            .try_get::<Option<String>, _>("delegation")?
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .context("Failed to read a user's delegation")?,
        home_cost_centre: row.try_get("home_cost_centre")?,
    })
}

pub(crate) fn body<T: serde::de::DeserializeOwned>(row: &SqliteRow) -> anyhow::Result<T> {
    let body: &str = row.try_get("body")?;
    serde_json::from_str(body).context("Failed to decode a stored body")
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    serde_json::to_string(value).context("Failed to encode a body")
}

pub(crate) fn audit_event(row: &SqliteRow) -> anyhow::Result<AuditEvent> {
    let at: String = row.try_get("at")?;
    Ok(AuditEvent {
        seq: row.try_get("seq")?,
        record: AuditRecord {
            at: parse_time(&at)?,
            actor_id: row.try_get("actor_id")?,
            action: row.try_get("action")?,
            entity_kind: row.try_get("entity_kind")?,
            entity_id: row.try_get("entity_id")?,
            source: row.try_get("source")?,
            before: row.try_get("before")?,
            after: row.try_get("after")?,
        },
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Maps a database error to a store error: constraint violations are conflicts.
pub(crate) fn db_error(e: sqlx::Error, conflict: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(conflict.to_owned())
        }
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
            StoreError::Conflict("a referenced record does not exist".to_owned())
        }
        _ => StoreError::Unavailable(
            anyhow::Error::new(e).context("Failed to write to the database"),
        ),
    }
}

pub(crate) fn read_error(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(anyhow::Error::new(e).context("Failed to read from the database"))
}

pub(crate) fn rate(
    currency: &str,
    day: &str,
    rate: &str,
) -> anyhow::Result<outlay_domain::ExchangeRate> {
    Ok(outlay_domain::ExchangeRate {
        date: day
            .parse()
            .with_context(|| format!("Failed to parse the stored day {day}"))?,
        currency: outlay_domain::Currency::parse(currency)?,
        rate: outlay_domain::Rate::parse(rate)?,
    })
}

/// A notification, with its read time from its column.
pub(crate) fn notification(row: &SqliteRow) -> anyhow::Result<outlay_app::Notification> {
    let mut n: outlay_app::Notification = body(row)?;
    let read: Option<String> = row.try_get("read_at")?;
    n.read_at = read.as_deref().map(parse_time).transpose()?;
    Ok(n)
}

/// A document row (`id`, `version`, `body`) of `kind`.
pub(crate) fn doc(kind: outlay_app::DocKind, row: &SqliteRow) -> anyhow::Result<outlay_app::Doc> {
    Ok(outlay_app::Doc {
        kind,
        id: row.try_get("id")?,
        version: row.try_get("version")?,
        body: row.try_get("body")?,
    })
}

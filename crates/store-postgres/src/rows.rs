//! Mapping between domain values and rows.

use anyhow::Context;
use outlay_app::StoreError;
use outlay_domain::{AuditEvent, AuditRecord, Email, Role, User, UserId};
use sqlx::Row;
use sqlx::postgres::PgRow;

pub(crate) fn roles(user: &User) -> Vec<String> {
    user.roles.iter().map(|r| r.as_str().to_owned()).collect()
}

pub(crate) fn user(row: &PgRow) -> anyhow::Result<User> {
    let roles: Vec<String> = row.try_get("roles")?;
    let manager: Option<uuid::Uuid> = row.try_get("manager_id")?;
    let controllers: String = row.try_get("controllers")?;
    Ok(User {
        id: UserId::from_uuid(row.try_get("id")?),
        email: Email::parse(row.try_get("email")?)?,
        name: row.try_get("name")?,
        roles: roles
            .iter()
            .map(|r| Role::parse(r))
            .collect::<Result<_, _>>()?,
        manager_id: manager.map(UserId::from_uuid),
        active: row.try_get("active")?,
        version: row.try_get("version")?,
        controllers: serde_json::from_str(&controllers)
            .context("Failed to read a user's controllers")?,
        signed_out_at: row.try_get("signed_out_at")?,
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

/// The columns of a user, with `controllers` as text.
pub(crate) const USER_COLUMNS: &str = "id, email, name, roles, manager_id, active, version,
     controllers::text AS controllers, signed_out_at, time_zone, delegation::text AS delegation,
     home_cost_centre";

pub(crate) fn body<T: serde::de::DeserializeOwned>(row: &PgRow) -> anyhow::Result<T> {
    let body: &str = row.try_get("body")?;
    serde_json::from_str(body).context("Failed to decode a stored body")
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    serde_json::to_string(value).context("Failed to encode a body")
}

pub(crate) fn audit_event(row: &PgRow) -> anyhow::Result<AuditEvent> {
    Ok(AuditEvent {
        seq: row.try_get("seq")?,
        record: AuditRecord {
            at: row.try_get("at")?,
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

/// Maps a database error to a store error: constraint violations, lock conflicts and
/// deadlocks are conflicts (nothing was written); the rest is the database failing.
pub(crate) fn db_error(e: sqlx::Error, conflict: &str) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            return StoreError::Conflict(conflict.to_owned());
        }
        if d.is_foreign_key_violation() {
            return StoreError::Conflict("a referenced record does not exist".to_owned());
        }
        // deadlock_detected, serialization_failure, lock_not_available
        if matches!(d.code().as_deref(), Some("40P01" | "40001" | "55P03")) {
            return StoreError::stale();
        }
    }
    StoreError::Unavailable(anyhow::Error::new(e).context("Failed to write to the database"))
}

pub(crate) fn read_error(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(anyhow::Error::new(e).context("Failed to read from the database"))
}

/// A notification, with its read time from its column.
pub(crate) fn notification(row: &PgRow) -> anyhow::Result<outlay_app::Notification> {
    let mut n: outlay_app::Notification = body(row)?;
    n.read_at = row.try_get("read_at")?;
    Ok(n)
}

/// A document row (`id`, `version`, `body` as text) of `kind`.
pub(crate) fn doc(kind: outlay_app::DocKind, row: &PgRow) -> anyhow::Result<outlay_app::Doc> {
    Ok(outlay_app::Doc {
        kind,
        id: row.try_get("id")?,
        version: row.try_get("version")?,
        body: row.try_get("body")?,
    })
}

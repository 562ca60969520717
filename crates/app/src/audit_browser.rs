//! The admin's audit event browser: the chain newest first, narrowed by actor, entity, action
//! and day.

use chrono::NaiveDate;
use outlay_domain::{AuditEvent, Role};

use crate::{App, AppError, Caller, Result, require};

/// What the browser narrows the chain to; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The actor's user id (or `system`, for what no one did).
    pub actor: Option<String>,
    /// The entity kind (`report`, `expense`, `user`, `policy`, ...).
    pub entity_kind: Option<String>,
    /// One entity's id.
    pub entity_id: Option<String>,
    /// The action, or its start (`report.` for every report action).
    pub action: Option<String>,
    /// The first day (UTC).
    pub from: Option<NaiveDate>,
    /// The last day (UTC), inclusive.
    pub to: Option<NaiveDate>,
}

impl AuditFilter {
    /// Whether `e` matches.
    pub fn matches(&self, e: &AuditEvent) -> bool {
        let r = &e.record;
        let day = r.at.date_naive();
        self.actor
            .as_deref()
            .is_none_or(|a| r.actor_id.as_deref().unwrap_or("system") == a)
            && self
                .entity_kind
                .as_deref()
                .is_none_or(|k| r.entity_kind == k)
            && self.entity_id.as_deref().is_none_or(|i| r.entity_id == i)
            && self
                .action
                .as_deref()
                .is_none_or(|a| r.action == a || (a.ends_with('.') && r.action.starts_with(a)))
            && self.from.is_none_or(|d| day >= d)
            && self.to.is_none_or(|d| day <= d)
    }
}

/// A page of the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The events found, newest first.
    pub events: Vec<AuditEvent>,
    /// Where the next page starts (the `before` to ask with), if the chain goes on.
    pub next_before: Option<i64>,
}

/// The most events one request reads, so a narrow search of a long chain answers in bounded
/// time and goes on from where it stopped.
const SCAN: i64 = 5_000;
/// Events read per store call.
const CHUNK: u32 = 200;

impl App {
    /// Up to `limit` events that match `filter`, newest first, before the event `before` (the
    /// newest when `None`) (admin).
    pub async fn audit_events(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<AuditPage> {
        require(caller, Role::Admin)?;
        if !(1..=100).contains(&limit) {
            return Err(AppError::BadInput("limit must be between 1 and 100".into()));
        }
        let last = self.store.audit_last_seq().await?;
        let mut end = before.map_or(last, |b| b.saturating_sub(1).clamp(0, last));
        let stop = end.saturating_sub(SCAN).max(0);
        let mut events = Vec::new();
        while end > stop && events.len() < limit {
            let start = (end - i64::from(CHUNK)).max(stop);
            let chunk = self.store.audit_page(start, (end - start) as u32).await?;
            for e in chunk.iter().rev().filter(|e| e.seq <= end) {
                if events.len() < limit && filter.matches(e) {
                    events.push(e.clone());
                }
                if events.len() == limit {
                    end = e.seq - 1;
                    break;
                }
            }
            if events.len() < limit {
                end = start;
            }
        }
        Ok(AuditPage {
            events,
            next_before: (end > 0).then_some(end + 1),
        })
    }
}

//! Notifications: who hears of each transition, written in the transition's own transaction
//! (in-app rows and an outbox), and the dispatcher that delivers the outbox at least once.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use outlay_domain::access::{self, Queue};
use outlay_domain::{Report, ReportState, Role, User, UserId};
use serde::{Deserialize, Serialize};

use crate::{App, Caller, Change, Page, PageRequest, Result, Write};

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// An email to `recipient`.
    Email,
    /// A signed call to the configured webhook.
    Webhook,
}

/// An in-app notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Its id.
    pub id: uuid::Uuid,
    /// Whom it is for.
    pub user_id: UserId,
    /// The report it is about.
    pub report_id: Option<outlay_domain::ReportId>,
    /// What happened (`report.submitted`, ...).
    pub event: String,
    /// One line.
    pub title: String,
    /// Some detail.
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it was read.
    pub read_at: Option<DateTime<Utc>>,
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Its id; also the delivery's idempotency key.
    pub id: uuid::Uuid,
    /// Email or webhook.
    pub channel: Channel,
    /// The email address (empty for the webhook).
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Text body (for the webhook, the JSON payload).
    pub body: String,
    /// Whether it waits for the recipient's daily digest.
    pub digest: bool,
    /// When it was committed.
    pub created_at: DateTime<Utc>,
    /// Not before this time.
    pub deliver_after: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// What a [`Notifier`](crate::Notifier) delivers: one message, or a digest of several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The idempotency key: the message id (or the first id of a digest).
    pub key: String,
    /// Email or webhook.
    pub channel: Channel,
    /// The email address.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
}

/// How notifications are sent.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// Whether a webhook is configured (one webhook message per event).
    pub webhook: bool,
    /// Approvers get one email a day at this UTC hour instead of one per report.
    pub approver_digest_hour: Option<u32>,
    /// The first retry waits this long; each later one twice as long (capped at an hour).
    pub retry_base: Duration,
    /// Attempts before a message is given up (and counted dead).
    pub max_attempts: u32,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            webhook: false,
            approver_digest_hour: None,
            retry_base: Duration::from_secs(5),
            max_attempts: 10,
        }
    }
}

/// What a dispatcher pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dispatched {
    /// Deliveries that succeeded.
    pub delivered: usize,
    /// Deliveries that failed (and will be retried or were given up).
    pub failed: usize,
}

/// Money formatted for people.
fn total(report: &Report) -> String {
    report
        .total
        .map_or_else(|| "(no total)".to_owned(), |t| t.to_string())
}

/// What a report's payment is, formatted for people: its total less what advances settled.
fn paid(report: &Report) -> String {
    match (
        report.advance_applied,
        report.payable_amount(),
        report.total,
    ) {
        (Some(netted), Some(p), Some(t)) => format!(
            "{p} {} ({} less {} settled by a cash advance)",
            t.currency(),
            t,
            netted
        ),
        _ => total(report),
    }
}

impl App {
    /// The in-app notifications and outbox messages of a transition from `before` to `after`.
    pub(crate) async fn notices(
        &self,
        actor: &Caller,
        owner: &User,
        before: &Report,
        after: &Report,
        change: &mut Change,
    ) -> Result<()> {
        let title = &after.title;
        let (event, recipients, subject, approver): (&str, Vec<User>, String, bool) =
            match (before.state, after.state) {
                (_, ReportState::Rejected) => (
                    "report.rejected",
                    self.users(&[after.owner_id]).await?,
                    format!(
                        "Your report \"{title}\" was rejected: {}",
                        after.rejection_reason.as_deref().unwrap_or("")
                    ),
                    false,
                ),
                (_, ReportState::Paid) => (
                    "report.paid",
                    self.users(&[after.owner_id]).await?,
                    format!(
                        "Your report \"{title}\" was paid: {} (reference {})",
                        paid(after),
                        after.payment.as_ref().map_or("", |p| p.reference.as_str())
                    ),
                    false,
                ),
                (_, ReportState::Approved) => (
                    "report.approved",
                    self.eligible_finance(owner, after).await?,
                    format!(
                        "Report \"{title}\" ({}) is approved and waits for payment",
                        total(after)
                    ),
                    true,
                ),
                (_, s) if s.is_pending() => {
                    let who = match access::queue_keys(after).queue {
                        Some(Queue::Approver(id)) => self.users(&[id]).await?,
                        Some(Queue::Role(role)) => {
                            self.eligible_holders(role, owner, after).await?
                        }
                        _ => self.eligible_finance(owner, after).await?,
                    };
                    let event = if before.state.is_pending() {
                        "report.approved_step"
                    } else {
                        "report.submitted"
                    };
                    (
                        event,
                        who,
                        format!(
                            "Report \"{title}\" ({}) waits for your approval",
                            total(after)
                        ),
                        true,
                    )
                }
                _ => return Ok(()),
            };
        self.send(actor, after, event, &recipients, &subject, approver, change);
        Ok(())
    }

    /// Tells the owner that an approver took `line` out of their report `after`.
    pub(crate) async fn line_notice(
        &self,
        actor: &Caller,
        owner: &User,
        after: &Report,
        line: &outlay_domain::Expense,
        change: &mut Change,
    ) -> Result<()> {
        let subject = format!(
            "A line of your report \"{}\" was rejected: {} {} ({})",
            after.title,
            line.details.merchant(),
            line.details.amount(),
            line.rejection.as_ref().map_or("", |r| r.reason.as_str())
        );
        self.send(
            actor,
            after,
            "report.line_rejected",
            std::slice::from_ref(owner),
            &subject,
            false,
            change,
        );
        Ok(())
    }

    /// Queues `event` about `after` for each active recipient but the actor: an in-app
    /// notification and an email (held for the digest when it is for approvers and the
    /// digest is on), and the webhook once.
    #[expect(clippy::too_many_arguments, reason = "one notice's parts, all needed")]
    fn send(
        &self,
        actor: &Caller,
        after: &Report,
        event: &str,
        recipients: &[User],
        subject: &str,
        approver: bool,
        change: &mut Change,
    ) {
        let now = self.clock.now();
        let digest_at = self
            .notify
            .approver_digest_hour
            .filter(|_| approver)
            .map(|h| next_hour(now, h));
        for user in recipients
            .iter()
            .filter(|u| u.active && u.id != actor.user.id)
        {
            change.writes.push(Write::AddNotification(Notification {
                id: self.ids.new_id(),
                user_id: user.id,
                report_id: Some(after.id),
                event: event.to_owned(),
                title: subject.to_owned(),
                body: format!("Report {} is now {}.", after.id, after.state),
                created_at: now,
                read_at: None,
            }));
            change.outbox.push(OutboxMessage {
                id: self.ids.new_id(),
                channel: Channel::Email,
                recipient: user.email.to_string(),
                subject: subject.to_owned(),
                body: format!(
                    "{subject}\n\nReport: {}\nState: {}\nTotal: {}\n",
                    after.id,
                    after.state,
                    total(after)
                ),
                digest: digest_at.is_some(),
                created_at: now,
                deliver_after: digest_at.unwrap_or(now),
                attempts: 0,
            });
        }
        if self.notify.webhook {
            let payload = serde_json::json!({
                "event": event,
                "report_id": after.id,
                "owner_id": after.owner_id,
                "state": after.state,
                "version": after.version,
                "total": after.total,
                "at": now,
            });
            change.outbox.push(OutboxMessage {
                id: self.ids.new_id(),
                channel: Channel::Webhook,
                recipient: String::new(),
                subject: event.to_owned(),
                body: payload.to_string(),
                digest: false,
                created_at: now,
                deliver_after: now,
                attempts: 0,
            });
        }
    }

    /// Queues a notice to `user` about something other than a report's state: an in-app
    /// notification and an email (held for the digest when `digest` and the digest is on).
    pub(crate) fn tell(
        &self,
        user: &User,
        event: &str,
        subject: String,
        report: Option<outlay_domain::ReportId>,
        digest: bool,
        change: &mut Change,
    ) {
        if !user.active {
            return;
        }
        let now = self.clock.now();
        let digest_at = self
            .notify
            .approver_digest_hour
            .filter(|_| digest)
            .map(|h| next_hour(now, h));
        change.writes.push(Write::AddNotification(Notification {
            id: self.ids.new_id(),
            user_id: user.id,
            report_id: report,
            event: event.to_owned(),
            title: subject.clone(),
            body: subject.clone(),
            created_at: now,
            read_at: None,
        }));
        change.outbox.push(OutboxMessage {
            id: self.ids.new_id(),
            channel: Channel::Email,
            recipient: user.email.to_string(),
            subject: subject.clone(),
            body: format!("{subject}\n"),
            digest: digest_at.is_some(),
            created_at: now,
            deliver_after: digest_at.unwrap_or(now),
            attempts: 0,
        });
    }

    pub(crate) async fn users(&self, ids: &[UserId]) -> Result<Vec<User>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(u) = self.store.user(*id).await? {
                out.push(u);
            }
        }
        Ok(out)
    }

    /// The finance users who may take the report of `owner` next: decide its finance step, or
    /// pay it once approved.
    /// The holders of `role` who may decide the current step of the report of `owner`.
    pub(crate) async fn eligible_holders(
        &self,
        role: Role,
        owner: &User,
        report: &Report,
    ) -> Result<Vec<User>> {
        let holders = self.store.users_with_role(role).await?;
        Ok(holders
            .into_iter()
            .filter(|u| access::may_decide(u, owner, report).is_ok())
            .collect())
    }

    pub(crate) async fn eligible_finance(
        &self,
        owner: &User,
        report: &Report,
    ) -> Result<Vec<User>> {
        let finance = self.store.users_with_role(Role::Finance).await?;
        let paying = report.state == ReportState::Approved;
        Ok(finance
            .into_iter()
            .filter(|u| {
                if paying {
                    access::may_pay(u, owner, report).is_ok()
                } else {
                    access::may_decide(u, owner, report).is_ok()
                }
            })
            .collect())
    }

    /// The caller's in-app notifications, newest first, and how many are unread.
    pub async fn notifications(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<(Page<Notification>, u64)> {
        let items = self.store.notifications(caller.user.id, page).await?;
        let unread = self.store.unread_notifications(caller.user.id).await?;
        Ok((items, unread))
    }

    /// Marks the caller's notifications read: these, or all.
    pub async fn read_notifications(
        &self,
        caller: &Caller,
        ids: Option<Vec<uuid::Uuid>>,
    ) -> Result<()> {
        // Each id once: a transaction names each item once.
        let ids = ids.map(|mut ids| {
            ids.sort_unstable();
            ids.dedup();
            ids
        });
        let write = Write::ReadNotifications {
            user: caller.user.id,
            ids,
            at: self.clock.now(),
        };
        let change = Change {
            writes: vec![write],
            ..Change::default()
        };
        Ok(self.store.commit(change).await?)
    }

    /// One dispatcher pass: delivers what is due, digests grouped per recipient, and schedules
    /// retries with exponential backoff.
    pub async fn dispatch_outbox(
        &self,
        outbox: &dyn crate::Outbox,
        notifier: &dyn crate::Notifier,
    ) -> Result<Dispatched> {
        let now = self.clock.now();
        let due = outbox.due(now, 100).await?;
        let mut batches: Vec<Vec<OutboxMessage>> = Vec::new();
        let mut digests: BTreeMap<String, Vec<OutboxMessage>> = BTreeMap::new();
        for m in due {
            if m.digest {
                digests.entry(m.recipient.clone()).or_default().push(m);
            } else {
                batches.push(vec![m]);
            }
        }
        batches.extend(digests.into_values());
        let mut done = Dispatched::default();
        for batch in batches {
            let delivery = delivery_of(&batch);
            let ids: Vec<uuid::Uuid> = batch.iter().map(|m| m.id).collect();
            match notifier.deliver(&delivery).await {
                Ok(()) => {
                    outbox.delivered(&ids, self.clock.now()).await?;
                    done.delivered += 1;
                }
                Err(e) => {
                    done.failed += 1;
                    tracing::warn!(error = %e, key = %delivery.key, channel = ?delivery.channel, "delivery failed; will retry");
                    for m in &batch {
                        let attempts = m.attempts + 1;
                        let retry_at = (attempts < self.notify.max_attempts).then(|| {
                            let wait = self
                                .notify
                                .retry_base
                                .saturating_mul(2_u32.saturating_pow(attempts - 1))
                                .min(Duration::from_secs(3600));
                            now + chrono::TimeDelta::from_std(wait)
                                .unwrap_or(chrono::TimeDelta::hours(1))
                        });
                        outbox
                            .failed(m.id, attempts, retry_at, &format!("{e:#}"))
                            .await?;
                    }
                }
            }
        }
        Ok(done)
    }
}

/// One delivery for a batch: a message, or a digest of an approver's messages.
fn delivery_of(batch: &[OutboxMessage]) -> Delivery {
    let first = &batch[0];
    if batch.len() == 1 && !first.digest {
        return Delivery {
            key: first.id.to_string(),
            channel: first.channel,
            recipient: first.recipient.clone(),
            subject: first.subject.clone(),
            body: first.body.clone(),
        };
    }
    let mut body = format!("{} reports wait for you in Outlay:\n\n", batch.len());
    for m in batch {
        body.push_str(&format!("- {}\n", m.subject));
    }
    Delivery {
        key: first.id.to_string(),
        channel: Channel::Email,
        recipient: first.recipient.clone(),
        subject: format!("Outlay: {} reports wait for your approval", batch.len()),
        body,
    }
}

/// The next time it is `hour`:00 UTC, after `now`.
fn next_hour(now: DateTime<Utc>, hour: u32) -> DateTime<Utc> {
    let today = now
        .date_naive()
        .and_hms_opt(hour.min(23), 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    if today > now {
        today
    } else {
        today + chrono::TimeDelta::days(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    #[test]
    fn the_digest_goes_out_at_the_next_occurrence_of_its_hour() {
        let at = |h, m| {
            DateTime::parse_from_rfc3339(&format!("2026-05-01T{h:02}:{m:02}:00Z"))
                .expect("valid")
                .with_timezone(&Utc)
        };
        assert_eq!(next_hour(at(7, 30), 8), at(8, 0));
        assert_eq!(
            next_hour(at(8, 0), 8),
            at(8, 0) + chrono::TimeDelta::days(1)
        );
        assert_eq!(next_hour(at(23, 0), 8).hour(), 8);
    }
}

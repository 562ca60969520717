//! Moving a deployment between stores: `outlay export` writes every entity as JSON lines, in an
//! order that does not depend on the store, and `outlay import` loads such a file into an empty
//! store of any kind, after checking its audit chain and checkpoints.
//!
//! What travels: users (with their password hashes), the policy, exchange rates, reports,
//! expenses, receipt records, documents (bank details, payment batches), in-app notifications
//! with their read marks, every audit event and every checkpoint of the log. What does not: receipt files (copy the receipts folder or
//! bucket), idempotency keys (a client retrying across the move is answered afresh), the
//! outbox (take the export from a deployment whose outbox is empty) and the deployment's keys.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use outlay_domain::{
    AuditEvent, ChainVerifier, Checkpoint, ExchangeRate, Expense, ExpenseId, Policy, Receipt,
    Report, User, UserId,
};
use serde::{Deserialize, Serialize};

use crate::change::all_pages;
use crate::notify::Notification;
use crate::{App, AppError, Change, PageRequest, ReportQuery, ReportScope, Result, Write};

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Line {
    /// The first line: the format.
    Header {
        /// [`EXPORT_FORMAT`].
        format: String,
    },
    /// A user, with the local password hash if there is one.
    User {
        /// The user.
        user: User,
        /// Their password hash.
        password_hash: Option<String>,
    },
    /// The stored policy.
    Policy {
        /// The policy.
        policy: Policy,
    },
    /// An exchange rate.
    Rate {
        /// The rate.
        rate: ExchangeRate,
    },
    /// A report.
    Report {
        /// The report.
        report: Report,
    },
    /// An expense.
    Expense {
        /// The expense.
        expense: Expense,
    },
    /// A receipt's record (its file is not in the export).
    Receipt {
        /// The receipt.
        receipt: Receipt,
    },
    /// A document (bank details, a payment batch), as stored.
    Document {
        /// Its kind, as stores name it.
        doc_kind: String,
        /// Its id.
        id: String,
        /// Its version.
        version: i64,
        /// The entity.
        body: serde_json::Value,
    },
    /// An in-app notification, with its read mark.
    Notification {
        /// The notification.
        notification: Notification,
    },
    /// An audit event, in chain order.
    Audit {
        /// The event.
        event: AuditEvent,
    },
    /// A checkpoint of the log, in log order.
    Checkpoint {
        /// The checkpoint.
        checkpoint: Checkpoint,
    },
}

impl Line {
    /// The line's `kind`, as the file names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Line::Header { .. } => "header",
            Line::User { .. } => "user",
            Line::Policy { .. } => "policy",
            Line::Rate { .. } => "rate",
            Line::Report { .. } => "report",
            Line::Expense { .. } => "expense",
            Line::Receipt { .. } => "receipt",
            Line::Document { .. } => "document",
            Line::Notification { .. } => "notification",
            Line::Audit { .. } => "audit",
            Line::Checkpoint { .. } => "checkpoint",
        }
    }
}

/// The format this build writes and reads.
pub const EXPORT_FORMAT: &str = "outlay-export/1";

/// How many writes an import commits at once: well inside DynamoDB's 100 items a transaction.
const CHUNK: usize = 20;

/// What an import loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Imported {
    /// Lines by kind.
    pub counts: BTreeMap<String, u64>,
    /// Checkpoints signed by this deployment's audit key, whose signatures were verified.
    pub checkpoints_verified: u64,
    /// The fingerprints of other keys that signed checkpoints, with how many each: only held
    /// to their events' hashes here. Compare them with the keys you know.
    pub checkpoints_of_other_keys: BTreeMap<String, u64>,
}

impl App {
    /// Writes every entity of the store as JSON lines (the trusted command line).
    pub async fn export_all(&self, out: &mut (dyn std::io::Write + Send)) -> Result<u64> {
        let mut lines = 0_u64;
        let mut line = |l: &Line| -> Result<()> {
            serde_json::to_writer(&mut *out, l).context("Failed to write the export")?;
            out.write_all(b"\n").context("Failed to write the export")?;
            lines += 1;
            Ok(())
        };
        line(&Line::Header {
            format: EXPORT_FORMAT.to_owned(),
        })?;
        let store = &self.store;
        let users = all_pages(|p| async move { store.users(&p).await }).await?;
        let (mut reports, mut expenses, mut notes) = (vec![], vec![], vec![]);
        for user in &users {
            line(&Line::User {
                user: user.clone(),
                password_hash: self.store.password_hash(user.id).await?,
            })?;
            let mine = ReportQuery {
                scope: ReportScope::Mine(user.id),
                state: None,
            };
            let (mine, id) = (&mine, user.id);
            reports.extend(all_pages(|p| async move { store.reports(mine, &p).await }).await?);
            expenses
                .extend(all_pages(|p| async move { store.expenses_of_owner(id, &p).await }).await?);
            notes.extend(all_pages(|p| async move { store.notifications(id, &p).await }).await?);
        }
        if let Some(policy) = self.store.policy().await? {
            line(&Line::Policy { policy })?;
        }
        let mut rates = self.store.rates(1_000_000).await?;
        rates.sort_by(|a, b| (a.currency.code(), a.date).cmp(&(b.currency.code(), b.date)));
        for rate in rates {
            line(&Line::Rate { rate })?;
        }
        reports.sort_by_key(|r| r.id);
        for report in reports {
            line(&Line::Report { report })?;
        }
        expenses.sort_by_key(|e| e.id);
        let ids: Vec<ExpenseId> = expenses.iter().map(|e| e.id).collect();
        for expense in expenses {
            line(&Line::Expense { expense })?;
        }
        let mut receipts: Vec<Receipt> = vec![];
        for chunk in ids.chunks(100) {
            receipts.extend(
                self.store
                    .receipts_of_expenses(chunk)
                    .await?
                    .into_iter()
                    .flatten(),
            );
        }
        receipts.sort_by_key(|r| r.id);
        for receipt in receipts {
            line(&Line::Receipt { receipt })?;
        }
        for kind in crate::DocKind::ALL {
            let docs = all_pages(|p| async move { store.docs(kind, &p).await }).await?;
            // Oldest id first, like every other entity.
            for d in docs.into_iter().rev() {
                line(&Line::Document {
                    doc_kind: kind.as_str().to_owned(),
                    id: d.id,
                    version: d.version,
                    body: serde_json::from_str(&d.body).context("Failed to read a document")?,
                })?;
            }
        }
        notes.sort_by_key(|n| n.id);
        for notification in notes {
            line(&Line::Notification { notification })?;
        }
        self.each_event(0, i64::MAX, |e| line(&Line::Audit { event: e.clone() }))
            .await??;
        for checkpoint in self.anchor.log.checkpoints().await?.checkpoints {
            line(&Line::Checkpoint { checkpoint })?;
        }
        Ok(lines)
    }

    /// Loads an export into this deployment, whose store and checkpoint log must be empty. The
    /// audit chain is verified, every checkpoint held to its event, and the signatures of
    /// those this deployment's key made checked, before anything is written; afterwards the
    /// stored chain must be the exported one, hash for hash. It is not one transaction: if it
    /// fails part way, start again on a fresh store.
    pub async fn import_all(&self, input: impl std::io::BufRead) -> Result<Imported> {
        let mut imported = Imported::default();
        let (mut users, mut policy, mut rates, mut reports, mut expenses) =
            (vec![], None, vec![], vec![], vec![]);
        let (mut receipts, mut notes, mut events, mut checkpoints) =
            (vec![], vec![], vec![], vec![]);
        let mut docs = vec![];
        for (n, text) in input.lines().enumerate() {
            let text = text.context("Failed to read the export")?;
            let parsed: Line = serde_json::from_str(&text)
                .map_err(|e| AppError::BadInput(format!("line {}: {e}", n + 1)))?;
            *imported.counts.entry(parsed.kind().to_owned()).or_default() += 1;
            match parsed {
                Line::Header { format } if n == 0 && format == EXPORT_FORMAT => {}
                Line::Header { format } => {
                    return Err(AppError::BadInput(format!(
                        "line {}: the export is {format}, not {EXPORT_FORMAT} at its start",
                        n + 1
                    )));
                }
                _ if n == 0 => {
                    return Err(AppError::BadInput(
                        "the export does not start with its header".into(),
                    ));
                }
                Line::User {
                    user,
                    password_hash,
                } => users.push((user, password_hash)),
                Line::Policy { policy: p } => policy = Some(p),
                Line::Rate { rate } => rates.push(rate),
                Line::Report { report } => reports.push(report),
                Line::Expense { expense } => expenses.push(expense),
                Line::Receipt { receipt } => receipts.push(receipt),
                Line::Document {
                    doc_kind,
                    id,
                    version,
                    body,
                } => {
                    let kind = crate::DocKind::parse(&doc_kind).ok_or_else(|| {
                        AppError::BadInput(format!("line {}: no document kind `{doc_kind}`", n + 1))
                    })?;
                    docs.push(crate::Doc {
                        kind,
                        id,
                        version,
                        body: body.to_string(),
                    });
                }
                Line::Notification { notification } => notes.push(notification),
                Line::Audit { event } => events.push(event),
                Line::Checkpoint { checkpoint } => checkpoints.push(checkpoint),
            }
        }
        check_chain(&events, &checkpoints)?;
        // Signatures: those of this deployment's own key must verify (the key moved with the
        // data); any other key's are only counted, for the operator to compare.
        let key = self.checkpoint_key().await?;
        for cp in &checkpoints {
            if cp.key == key.fingerprint() {
                if !key.signed(cp) {
                    return Err(AppError::BadInput(format!(
                        "the export's checkpoint at event {} does not verify with this deployment's audit key",
                        cp.seq
                    )));
                }
                imported.checkpoints_verified += 1;
            } else {
                *imported
                    .checkpoints_of_other_keys
                    .entry(cp.key.clone())
                    .or_default() += 1;
            }
        }
        self.check_empty().await?;

        let mut writes = vec![];
        for (user, password_hash) in managers_first(users)? {
            writes.push(Write::PutUser {
                user,
                password_hash,
                expected_version: None,
            });
        }
        writes.extend(policy.map(Write::PutPolicy));
        if !rates.is_empty() {
            writes.extend(rates.chunks(CHUNK).map(|c| Write::PutRates(c.to_vec())));
        }
        for report in reports {
            writes.push(Write::PutReport {
                report,
                expected_version: None,
            });
        }
        for expense in expenses {
            writes.push(Write::PutExpense {
                expense,
                expected_version: None,
            });
        }
        for receipt in receipts {
            writes.push(Write::PutReceipt {
                receipt,
                expected: None,
            });
        }
        for doc in docs {
            writes.push(Write::PutDoc {
                doc,
                expected_version: None,
            });
        }
        // The read marks after every notification is in: a transaction writes an item once.
        let mut marks = vec![];
        for n in notes {
            marks.extend(n.read_at.map(|at| Write::ReadNotifications {
                user: n.user_id,
                ids: Some(vec![n.id]),
                at,
            }));
            writes.push(Write::AddNotification(n));
        }
        for chunk in writes.chunks(CHUNK).chain(marks.chunks(CHUNK)) {
            self.store
                .commit(Change {
                    writes: chunk.to_vec(),
                    ..Change::default()
                })
                .await?;
        }
        // The chain is sealed again by the store, onto an empty chain: the same records in the
        // same order give the same hashes.
        for chunk in events.chunks(CHUNK) {
            self.store
                .commit(Change {
                    audit: chunk.iter().map(|e| e.record.clone()).collect(),
                    ..Change::default()
                })
                .await?;
        }
        let mut stored = Vec::with_capacity(events.len());
        self.each_event(0, i64::MAX, |e| {
            stored.push(e.clone());
            Ok::<(), std::convert::Infallible>(())
        })
        .await?
        .unwrap_or_else(|never| match never {});
        if stored != events {
            return Err(AppError::Internal(anyhow::anyhow!(
                "the imported audit chain differs from the exported one"
            )));
        }
        for cp in &checkpoints {
            self.anchor.log.append(cp).await?;
        }
        Ok(imported)
    }

    /// Refuses an import into a store or checkpoint log that holds anything.
    async fn check_empty(&self) -> Result<()> {
        let one = PageRequest {
            limit: 1,
            cursor: None,
        };
        let users = self.store.users(&one).await?;
        let events = self.store.audit_page(0, 1).await?;
        let policy = self.store.policy().await?;
        let log = self.anchor.log.checkpoints().await?;
        if !users.items.is_empty()
            || !events.is_empty()
            || policy.is_some()
            || !log.checkpoints.is_empty()
        {
            return Err(AppError::Conflict(
                "an import needs an empty store and checkpoint log: this deployment already holds data".into(),
            ));
        }
        Ok(())
    }
}

/// The events form one chain from the start, and every checkpoint names an event's hash.
fn check_chain(events: &[AuditEvent], checkpoints: &[Checkpoint]) -> Result<()> {
    let mut verifier = ChainVerifier::default();
    for e in events {
        verifier.push(e).map_err(|b| {
            AppError::BadInput(format!(
                "the export's audit chain breaks at event {}: {}",
                b.seq, b.reason
            ))
        })?;
    }
    let by_seq: BTreeMap<i64, &str> = events.iter().map(|e| (e.seq, e.hash.as_str())).collect();
    for cp in checkpoints {
        if by_seq.get(&cp.seq) != Some(&cp.hash.as_str()) {
            return Err(AppError::BadInput(format!(
                "the export's checkpoint at event {} does not match its event",
                cp.seq
            )));
        }
    }
    Ok(())
}

/// The users in an order where everyone's manager comes before them.
fn managers_first(users: Vec<(User, Option<String>)>) -> Result<Vec<(User, Option<String>)>> {
    let ids: BTreeSet<UserId> = users.iter().map(|(u, _)| u.id).collect();
    let mut placed: BTreeSet<UserId> = BTreeSet::new();
    let mut left = users;
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let (ready, rest): (Vec<_>, Vec<_>) = left.into_iter().partition(|(u, _)| {
            u.manager_id
                .is_none_or(|m| placed.contains(&m) || !ids.contains(&m))
        });
        if ready.is_empty() {
            return Err(AppError::BadInput(
                "the export's reporting lines form a loop".into(),
            ));
        }
        placed.extend(ready.iter().map(|(u, _)| u.id));
        out.extend(ready);
        left = rest;
    }
    Ok(out)
}

//! Closing the loop: a bank statement (camt.053) or notification (camt.054) marks the reports
//! of exported batches paid with the bank's reference, and flags for finance what does not
//! match: an amount off, an unknown reference, a return, a payment already recorded.
//!
//! Matching is [`outlay_domain::payment::reconcile`]; each batch's settlements commit as one
//! change on the batch's and the reports' versions, through the state machine's `Settle`, so
//! an import run twice, or next to a settlement by hand, pays nothing twice, and the importer
//! must be allowed to pay each report (never one of its approvers).

use outlay_domain::{BatchId, BatchState, Command, PaymentBatch, Reconciled, Role, decide};
use serde::Serialize;

use crate::change::all_pages;
use crate::docs;
use crate::{App, AppError, Caller, Change, Guard, Result, Write, require};

/// The largest statement taken, in bytes.
pub const MAX_STATEMENT_BYTES: usize = 5 * 1024 * 1024;

/// One statement entry and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryOutcome {
    /// The entry.
    pub entry: outlay_domain::StatementEntry,
    /// What it says about the batches.
    pub outcome: Reconciled,
    /// Why a match could not be recorded (the importer decided a step of the report, say).
    pub refused: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct StatementImport {
    /// Entries that marked a report paid.
    pub matched: Vec<EntryOutcome>,
    /// Entries finance must look at: amounts off, unknown references, returns, payments
    /// already recorded, and matches the importer could not record.
    pub mismatches: Vec<EntryOutcome>,
    /// Entries that concern no payment out (money in, pending entries).
    pub ignored: usize,
}

impl App {
    /// Imports a bank statement (finance): see the module's doc.
    pub async fn import_statement(&self, caller: &Caller, xml: &[u8]) -> Result<StatementImport> {
        require(caller, Role::Finance)?;
        if xml.len() > MAX_STATEMENT_BYTES {
            return Err(AppError::TooLarge(format!(
                "a statement is at most {} MB",
                MAX_STATEMENT_BYTES / 1024 / 1024
            )));
        }
        let entries = self
            .files
            .read_statement(xml)
            .map_err(AppError::Unprocessable)?;
        let store = &self.store;
        let batches: Vec<PaymentBatch> =
            all_pages(|p| async move { store.docs(crate::DocKind::PaymentBatch, &p).await })
                .await?
                .iter()
                .map(|d| {
                    serde_json::from_str(&d.body)
                        .map_err(|e| AppError::Internal(anyhow::Error::new(e)))
                })
                .collect::<Result<_>>()?;
        let mut result = StatementImport::default();
        let mut matches: std::collections::BTreeMap<BatchId, Vec<EntryOutcome>> =
            Default::default();
        for entry in entries {
            let outcome = outlay_domain::payment::reconcile(&entry, &batches);
            let seen = EntryOutcome {
                entry,
                outcome,
                refused: None,
            };
            match &seen.outcome {
                Reconciled::Ignored => result.ignored += 1,
                Reconciled::Matched { batch_id, .. } => {
                    matches.entry(*batch_id).or_default().push(seen);
                }
                _ => result.mismatches.push(seen),
            }
        }
        for (batch_id, seen) in matches {
            let batch = batches
                .iter()
                .find(|b| b.id == batch_id)
                .expect("a match names a batch read");
            match self.settle_from_statement(caller, batch, &seen).await {
                Ok(()) => result.matched.extend(seen),
                Err(e) => result.mismatches.extend(seen.into_iter().map(|mut s| {
                    s.refused = Some(e.to_string());
                    s
                })),
            }
        }
        let summary = serde_json::json!({
            "matched": result.matched.len(),
            "mismatches": result.mismatches.iter().map(|m| &m.outcome).collect::<Vec<_>>(),
            "ignored": result.ignored,
        });
        let audit = self.audit_record(
            Some(caller),
            "bank_statement.import",
            "bank_statement",
            self.ids.new_id(),
            None::<&()>,
            Some(&summary),
        )?;
        self.store
            .commit(
                Change {
                    audit: vec![audit],
                    ..Change::default()
                }
                .guarded([Guard::user(&caller.user)]),
            )
            .await?;
        Ok(result)
    }

    /// Marks the items of `batch` that `seen` matched paid, as one change.
    async fn settle_from_statement(
        &self,
        caller: &Caller,
        batch: &PaymentBatch,
        seen: &[EntryOutcome],
    ) -> Result<()> {
        let now = self.clock.now();
        let mut next = batch.clone();
        let mut change = Change::default().guarded([Guard::user(&caller.user)]);
        for s in seen {
            let Reconciled::Matched { report_id, .. } = s.outcome else {
                continue;
            };
            let (report, owner) = self.report_and_owner(report_id).await?;
            let reference = if s.entry.bank_reference.is_empty() {
                s.entry.end_to_end.clone().unwrap_or_default()
            } else {
                s.entry.bank_reference.clone()
            };
            let paid = decide(
                &caller.user,
                &owner,
                &report,
                Command::Settle {
                    batch: batch.id,
                    reference: reference.clone(),
                },
                now,
            )?;
            if let Some(item) = next.items.iter_mut().find(|i| i.report_id == report_id) {
                item.paid = paid.payment.clone();
            }
            change.guards.push(Guard::user(&owner));
            change.audit.push(self.audit_record(
                Some(caller),
                "report.settle",
                "report",
                report.id,
                Some(&report),
                Some(&paid),
            )?);
            self.tell(
                &owner,
                "report.paid",
                format!("Your report \"{}\" was paid: {reference}", report.title),
                Some(report.id),
                false,
                &mut change,
            );
            change.writes.push(Write::PutReport {
                report: paid,
                expected_version: Some(report.version),
            });
        }
        if next.items.iter().all(|i| i.paid.is_some()) {
            next.state = BatchState::Paid;
        }
        next.version += 1;
        next.updated_at = now;
        change
            .writes
            .insert(0, docs::put(&next, Some(batch.version))?);
        change.audit.insert(
            0,
            self.audit_record(
                Some(caller),
                "payment_batch.reconcile",
                "payment_batch",
                batch.id,
                Some(batch),
                Some(&next),
            )?,
        );
        self.store.commit(change).await?;
        Ok(())
    }
}

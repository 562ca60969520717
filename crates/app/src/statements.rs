//! Closing the loop: a bank statement (camt.053) or notification (camt.054) marks the reports
//! of exported batches paid with the bank's reference, and flags for finance what does not
//! match: an amount off, an unknown reference, a return, a payment already recorded.
//!
//! Matching is [`outlay_domain::payment::reconcile`]; each match commits as one change on the
//! batch's and the report's versions, through the state machine's `Settle`, so an import run
//! twice, a payment the statement lists twice, or an import next to a settlement by hand pays
//! nothing twice, and the importer must be allowed to pay each report (never an approver).

use outlay_domain::{PaymentBatch, Reconciled, Role};
use serde::Serialize;

use crate::change::all_pages;
use crate::{App, AppError, Caller, Change, Guard, Result, require};

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
        // The batches as this import leaves them, so that a payment the statement lists
        // twice is paid once.
        let mut current = batches;
        for entry in entries {
            let outcome = outlay_domain::payment::reconcile(&entry, &current);
            let mut seen = EntryOutcome {
                entry,
                outcome,
                refused: None,
            };
            let Reconciled::Matched {
                batch_id,
                report_id,
            } = seen.outcome
            else {
                if seen.outcome == Reconciled::Ignored {
                    result.ignored += 1;
                } else {
                    result.mismatches.push(seen);
                }
                continue;
            };
            let reference = if seen.entry.bank_reference.is_empty() {
                seen.entry.end_to_end.clone().unwrap_or_default()
            } else {
                seen.entry.bank_reference.clone()
            };
            let at = current
                .iter()
                .position(|b| b.id == batch_id)
                .expect("a match names a batch read");
            match self
                .settle_item(caller, &current[at], report_id, &reference)
                .await
            {
                Ok(next) => {
                    current[at] = next;
                    result.matched.push(seen);
                }
                Err(e) => {
                    seen.refused = Some(e.to_string());
                    result.mismatches.push(seen);
                }
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
}

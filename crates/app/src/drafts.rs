//! Changing and deleting a report while it is its owner's to change (a draft, or rejected).

use std::collections::BTreeSet;

use outlay_domain::access;
use outlay_domain::expense::text_field;
use outlay_domain::{Expense, ExpenseId, Report, ReportId};

use crate::change::{Change, Guard, Write};
use crate::reports::{ReportDetails, total};
use crate::{App, AppError, Caller, Result, check_version};

/// What a report change sets; `None` keeps the field.
#[derive(Debug, Clone, Default)]
pub struct ReportPatch {
    /// A new title.
    pub title: Option<String>,
    /// A new business purpose.
    pub purpose: Option<String>,
    /// The report's expenses from now on (1 to 100, the caller's, in no other report):
    /// those left out are freed, the new ones join.
    pub expense_ids: Option<Vec<ExpenseId>>,
}

impl App {
    /// The caller's report, if they may change it now ([`access::may_edit`]).
    async fn editable_report(&self, caller: &Caller, id: ReportId) -> Result<Report> {
        let report = self.visible_report(caller, id).await?;
        match access::may_edit(&caller.user, &report) {
            Ok(()) => Ok(report),
            Err(access::Denied::Forbidden(why)) => Err(AppError::Forbidden(why.into())),
            Err(access::Denied::NotNow) => Err(AppError::Conflict(format!(
                "the report is {}; it can change only while it is a draft or rejected",
                report.state
            ))),
        }
    }

    /// Renames the caller's draft or rejected report, or changes its expenses; audited, and
    /// committed only if the report, every expense it ends with and the caller are as read.
    pub async fn update_report(
        &self,
        caller: &Caller,
        id: ReportId,
        patch: ReportPatch,
        expected_version: Option<i64>,
    ) -> Result<ReportDetails> {
        let before = self.editable_report(caller, id).await?;
        check_version(expected_version, before.version)?;
        let now = self.clock.now();
        let mut report = before.clone();
        if let Some(t) = &patch.title {
            report.title = text_field("title", t, true, 200)?;
        }
        if let Some(p) = &patch.purpose {
            report.purpose = text_field("purpose", p, false, 2000)?;
        }
        let current = self.store.expenses_of_report(id).await?;
        let mut writes = Vec::new();
        let mut guards = vec![Guard::user(&caller.user)];
        let expenses: Vec<Expense> = match &patch.expense_ids {
            None => {
                guards.extend(current.iter().map(Guard::expense));
                current
            }
            Some(ids) => {
                let wanted: BTreeSet<ExpenseId> = ids.iter().copied().collect();
                if wanted.is_empty() || wanted.len() > 100 || wanted.len() != ids.len() {
                    return Err(AppError::BadInput(
                        "expense_ids must list 1 to 100 distinct expenses".into(),
                    ));
                }
                let mut kept = Vec::with_capacity(wanted.len());
                for e in &current {
                    if wanted.contains(&e.id) {
                        guards.push(Guard::expense(e));
                        kept.push(e.clone());
                    } else {
                        writes.push(moved(e, None, now));
                    }
                }
                let had: BTreeSet<ExpenseId> = current.iter().map(|e| e.id).collect();
                for expense_id in ids.iter().filter(|i| !had.contains(i)) {
                    let e = self.expense(caller, *expense_id).await?;
                    if let Some(other) = e.report_id {
                        return Err(AppError::Conflict(format!(
                            "expense {expense_id} is already in report {other}"
                        )));
                    }
                    let write = moved(&e, Some(id), now);
                    if let Write::PutExpense { expense, .. } = &write {
                        kept.push(expense.clone());
                    }
                    writes.push(write);
                }
                kept
            }
        };
        report.total = total(&expenses)?;
        report.version += 1;
        report.updated_at = now;
        writes.push(Write::PutReport {
            report: report.clone(),
            expected_version: Some(before.version),
        });
        let audit = self.audit_record(
            Some(caller),
            "report.update",
            "report",
            id,
            Some(&before),
            Some(&report),
        )?;
        self.store
            .commit(Change {
                guards,
                writes,
                audit: vec![audit],
                ..Change::default()
            })
            .await?;
        let mut expenses = expenses;
        expenses.sort_by_key(|e| e.id);
        let actions = access::actions(&caller.user, &caller.user, &report);
        Ok(ReportDetails {
            report,
            expenses: self.describe_all(expenses).await?,
            actions,
        })
    }

    /// Deletes the caller's draft or rejected report and frees its expenses; audited (the
    /// trail keeps the report as it was).
    pub async fn delete_report(
        &self,
        caller: &Caller,
        id: ReportId,
        expected_version: Option<i64>,
    ) -> Result<()> {
        let report = self.editable_report(caller, id).await?;
        check_version(expected_version, report.version)?;
        let now = self.clock.now();
        let mut writes: Vec<Write> = self
            .store
            .expenses_of_report(id)
            .await?
            .iter()
            .map(|e| moved(e, None, now))
            .collect();
        writes.push(Write::DeleteReport(report.clone()));
        let audit = self.audit_record(
            Some(caller),
            "report.delete",
            "report",
            id,
            Some(&report),
            None::<&Report>,
        )?;
        self.store
            .commit(Change {
                guards: vec![Guard::user(&caller.user)],
                writes,
                audit: vec![audit],
                ..Change::default()
            })
            .await?;
        Ok(())
    }
}

/// The write that moves an expense into `report` (or out of every report), on the version read.
fn moved(e: &Expense, report: Option<ReportId>, now: chrono::DateTime<chrono::Utc>) -> Write {
    let mut next = e.clone();
    next.file_in(report);
    next.version += 1;
    next.updated_at = now;
    Write::PutExpense {
        expense: next,
        expected_version: Some(e.version),
    }
}

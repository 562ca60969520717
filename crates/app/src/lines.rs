//! Rejecting one line of a report: the expense goes back to its owner with the reason, and the
//! rest of the report stays at its step ([`outlay_domain::Command::RejectLine`]).

use outlay_domain::access;
use outlay_domain::expense::text_field;
use outlay_domain::{Command, ExpenseId, LineRejection, ReportId, ReportState, decide};

use crate::reports::total;
use crate::{
    App, AppError, Caller, Change, Guard, Idempotency, ReportDetails, Result, Write, check_version,
};

impl App {
    /// Takes `expense_id` out of report `id` at its current step, for `reason`. Only the
    /// current step's approver may; the report is written under its version (and
    /// `expected_version`, if given), the line under its own, and the other lines and the
    /// policy (whose senior threshold may drop a step) are guarded as read.
    pub async fn reject_line(
        &self,
        caller: &Caller,
        id: ReportId,
        expense_id: ExpenseId,
        reason: String,
        expected_version: Option<i64>,
        idem: Option<&Idempotency>,
    ) -> Result<ReportDetails> {
        self.once(caller.user.id, idem, async || {
            // Checked as the state machine checks it, so the line carries what the report does.
            let reason = text_field("reason", &reason, true, 1000)?;
            let report = self.visible_report(caller, id).await?;
            check_version(expected_version, report.version)?;
            let expenses = self.store.expenses_of_report(id).await?;
            let Some(line) = expenses.iter().find(|e| e.id == expense_id).cloned() else {
                return Err(AppError::NotFound("expense in this report"));
            };
            let owner = self.user_or_gone(report.owner_id).await?;
            let (policy, stored) = self.policy_as_stored().await?;
            let rest: Vec<_> = expenses
                .into_iter()
                .filter(|e| e.id != expense_id)
                .collect();
            let mut change = Change::default();
            change.guards.push(Guard::user(&caller.user));
            change.guards.push(Guard::user(&owner));
            change.guards.push(Guard::policy(stored));
            change.guards.extend(rest.iter().map(Guard::expense));
            let now = self.clock.now();
            let command = Command::RejectLine {
                reason: reason.clone(),
                remaining: total(&rest)?,
                lines_left: rest.len(),
                senior_threshold: policy.senior_threshold,
            };
            let next = decide(&caller.user, &owner, &report, command, now)?;
            let mut freed = line.clone();
            freed.report_id = None;
            freed.rejection = Some(LineRejection {
                report_id: id,
                reason,
                by: caller.user.id,
                at: now,
            });
            freed.version += 1;
            freed.updated_at = now;
            change.audit.push(self.audit_record(
                Some(caller),
                "report.reject_line",
                "report",
                id,
                Some(&report),
                Some(&next),
            )?);
            change.audit.push(self.audit_record(
                Some(caller),
                "expense.rejected_from_report",
                "expense",
                expense_id,
                Some(&line),
                Some(&freed),
            )?);
            change.writes.push(Write::PutReport {
                report: next.clone(),
                expected_version: Some(report.version),
            });
            change.writes.push(Write::PutExpense {
                expense: freed.clone(),
                expected_version: Some(line.version),
            });
            if next.state == ReportState::Rejected {
                self.notices(caller, &owner, &report, &next, &mut change)
                    .await?;
            } else {
                self.line_notice(caller, &owner, &next, &freed, &mut change)
                    .await?;
            }
            let expenses = self.describe_all(rest).await?;
            Ok((
                ReportDetails {
                    actions: access::actions(&caller.user, &owner, &next),
                    report: next,
                    expenses,
                },
                change,
            ))
        })
        .await
    }
}

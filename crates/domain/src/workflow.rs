//! The report state machine: one function decides every transition, for every actor.
//!
//! `decide` is pure. It takes the actor, the report and the command and answers either the
//! report as it is after the transition or a typed refusal; a refusal changes nothing.

use chrono::{DateTime, Utc};

use crate::access::{self, Denied};
use crate::expense::text_field;
use crate::{Decision, Level, Money, Outcome, Payment, Report, ReportState, Route, User, UserId};

/// What an actor asks of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The owner sends it for approval.
    Submit(Route),
    /// The owner takes it back before anyone decided.
    Withdraw,
    /// The current step's approver approves.
    Approve {
        /// An optional comment.
        comment: Option<String>,
    },
    /// The current step's approver sends it back.
    Reject {
        /// Why; required.
        reason: String,
    },
    /// The current step's approver takes one line (expense) out of the report, with a reason.
    /// The rest stays at the same step; a senior step still to come that the smaller total no
    /// longer needs is dropped; a report left with no lines is rejected.
    RejectLine {
        /// Why; required, and shown to the owner.
        reason: String,
        /// The report's total in the base currency without the line.
        remaining: Option<Money>,
        /// How many lines are left without it.
        lines_left: usize,
        /// The senior threshold of the policy in force, for reports submitted before the
        /// threshold was kept with the submission.
        senior_threshold: Money,
    },
    /// Finance marks it paid by hand (not while a payment batch holds it).
    Pay {
        /// The payment reference; required.
        reference: String,
    },
    /// Finance puts the approved report in a payment batch, which pays it from now on.
    Hold(crate::BatchId),
    /// The batch that held it failed: the report is free to be paid again.
    Release(crate::BatchId),
    /// The batch that holds it paid it (by hand for the batch, or as the bank's statement
    /// says).
    Settle {
        /// The batch.
        batch: crate::BatchId,
        /// The bank's reference; required.
        reference: String,
    },
}

impl Command {
    /// The command's name, as used in audit events and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Submit(_) => "submit",
            Command::Withdraw => "withdraw",
            Command::Approve { .. } => "approve",
            Command::Reject { .. } => "reject",
            Command::RejectLine { .. } => "reject_line",
            Command::Pay { .. } => "pay",
            Command::Hold(_) => "hold",
            Command::Release(_) => "release",
            Command::Settle { .. } => "settle",
        }
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The actor may not do this to this report at all (role, ownership, segregation of duties).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The actor might, but not in the report's current state.
    #[error("cannot {command} a report that is {state}")]
    WrongState {
        /// The command refused.
        command: &'static str,
        /// The report's state.
        state: ReportState,
    },
    /// The command's own input is wrong (an empty reason, say).
    #[error("{0}")]
    Invalid(String),
    /// A payment batch holds the report, or another one does.
    #[error("the report is in payment batch {0}, which pays it")]
    InBatch(crate::BatchId),
}

impl Refusal {
    /// The refusal of `command` on `report` that [`access`] denied.
    fn of(denied: Denied, command: &Command, report: &Report) -> Self {
        match denied {
            Denied::Forbidden(why) => Refusal::Forbidden(why),
            Denied::NotNow => Refusal::WrongState {
                command: command.name(),
                state: report.state,
            },
        }
    }
}

/// Decides `command` by `actor` on `report` (whose owner is `owner`) at `now`.
pub fn decide(
    actor: &User,
    owner: &User,
    report: &Report,
    command: Command,
    now: DateTime<Utc>,
) -> Result<Report, Refusal> {
    debug_assert_eq!(owner.id, report.owner_id, "the owner given is the report's");
    let denied = |d| Refusal::of(d, &command, report);
    let mut next = report.clone();
    match &command {
        Command::Submit(route) => {
            access::may_submit(actor, report).map_err(denied)?;
            next.steps = route.plan(report.owner_id);
            next.policy_version = Some(route.policy_version);
            next.senior_threshold = Some(route.senior_threshold);
            next.state = next.steps[0].level.pending_state();
            next.submissions += 1;
            next.submitted_at = Some(now);
            next.rejection_reason = None;
        }
        Command::Withdraw => {
            access::may_withdraw(actor, report).map_err(denied)?;
            next.state = ReportState::Draft;
            next.steps.clear();
        }
        Command::Approve { comment } => {
            let note = comment
                .as_deref()
                .map(|c| text_field("comment", c, false, 1000))
                .transpose()
                .map_err(|e| Refusal::Invalid(e.to_string()))?
                .filter(|c| !c.is_empty());
            let index = access::may_decide(actor, owner, report).map_err(denied)?;
            record(&mut next, index, actor.id, Outcome::Approved, note, now);
        }
        Command::Reject { reason } => {
            let reason = text_field("reason", reason, true, 1000)
                .map_err(|e| Refusal::Invalid(e.to_string()))?;
            let index = access::may_decide(actor, owner, report).map_err(denied)?;
            record(
                &mut next,
                index,
                actor.id,
                Outcome::Rejected,
                Some(reason.clone()),
                now,
            );
            next.rejection_reason = Some(reason);
        }
        Command::RejectLine {
            reason,
            remaining,
            lines_left,
            senior_threshold,
        } => {
            let reason = text_field("reason", reason, true, 1000)
                .map_err(|e| Refusal::Invalid(e.to_string()))?;
            let index = access::may_decide(actor, owner, report).map_err(denied)?;
            // Taking a line out is a decision on the report: whoever did may not pay it.
            next.deciders.insert(actor.id);
            if *lines_left == 0 {
                let why = format!("every line was rejected; the last one: {reason}");
                record(
                    &mut next,
                    index,
                    actor.id,
                    Outcome::Rejected,
                    Some(why.clone()),
                    now,
                );
                next.rejection_reason = Some(why);
            } else {
                next.total = *remaining;
                // The threshold the submission was routed by, not one set since.
                let threshold = report.senior_threshold.unwrap_or(*senior_threshold);
                let needs_senior = remaining.is_none_or(|t| t.minor() > threshold.minor());
                // Only steps still to come: the current one stays with the approver acting on
                // it, and a decided step is never undone.
                let mut position = 0;
                next.steps.retain(|s| {
                    let later = position > index;
                    position += 1;
                    needs_senior || !later || s.level != Level::Senior || s.decision.is_some()
                });
            }
        }
        Command::Pay { reference } => {
            let reference = text_field("reference", reference, true, 200)
                .map_err(|e| Refusal::Invalid(e.to_string()))?;
            access::may_pay(actor, owner, report).map_err(denied)?;
            if let Some(batch) = report.batch_id {
                return Err(Refusal::InBatch(batch));
            }
            next.state = ReportState::Paid;
            next.payment = Some(Payment {
                reference,
                by: actor.id,
                at: now,
            });
        }
        Command::Hold(batch) => {
            access::may_pay(actor, owner, report).map_err(denied)?;
            if let Some(held) = report.batch_id {
                return Err(Refusal::InBatch(held));
            }
            next.batch_id = Some(*batch);
        }
        Command::Release(batch) => {
            access::may_handle_payment(actor, owner, report).map_err(denied)?;
            if report.batch_id != Some(*batch) || report.state != ReportState::Approved {
                return Err(Refusal::WrongState {
                    command: "release",
                    state: report.state,
                });
            }
            next.batch_id = None;
        }
        Command::Settle { batch, reference } => {
            let reference = text_field("reference", reference, true, 200)
                .map_err(|e| Refusal::Invalid(e.to_string()))?;
            access::may_pay(actor, owner, report).map_err(denied)?;
            if report.batch_id != Some(*batch) {
                return Err(Refusal::Invalid(format!(
                    "the report is not in payment batch {batch}"
                )));
            }
            next.state = ReportState::Paid;
            next.payment = Some(Payment {
                reference,
                by: actor.id,
                at: now,
            });
        }
    }
    next.version += 1;
    next.updated_at = now;
    Ok(next)
}

/// Records `outcome` by `by` on step `index`, which [`access::may_decide`] allowed, and moves
/// the report on.
fn record(
    next: &mut Report,
    index: usize,
    by: UserId,
    outcome: Outcome,
    note: Option<String>,
    now: DateTime<Utc>,
) {
    next.steps[index].decision = Some(Decision {
        by,
        outcome,
        at: now,
        note,
    });
    next.deciders.insert(by);
    next.state = match outcome {
        Outcome::Rejected => ReportState::Rejected,
        Outcome::Approved => next
            .steps
            .get(index + 1)
            .map_or(ReportState::Approved, |s| s.level.pending_state()),
    };
}

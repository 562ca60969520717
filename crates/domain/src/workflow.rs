//! The report state machine: one function decides every transition, for every actor.
//!
//! `decide` is pure. It takes the actor, the report and the command and answers either the
//! report as it is after the transition or a typed refusal; a refusal changes nothing.

use chrono::{DateTime, Utc};

use crate::expense::text_field;
use crate::{
    Decision, Level, Money, Outcome, Payment, Report, ReportState, Role, Step, User, UserId,
};

/// Who routes a submission: computed by the application from the reporting line and policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The owner's manager, if there is an active one with the manager role.
    pub manager: Option<UserId>,
    /// The manager's manager, likewise.
    pub senior: Option<UserId>,
    /// The report's total in the base currency.
    pub total: Money,
    /// Totals strictly above this need the senior level.
    pub senior_threshold: Money,
}

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
    /// Finance marks it paid.
    Pay {
        /// The payment reference; required.
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
            Command::Pay { .. } => "pay",
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
}

/// Segregation of duties between accounts: see [`User::independent_of`].
const PUPPET: Refusal = Refusal::Forbidden(
    "segregation of duties: you and the report's owner have had power over each other's accounts (created, roles, manager or password)",
);

/// Decides `command` by `actor` on `report` (whose owner is `owner`) at `now`.
pub fn decide(
    actor: &User,
    owner: &User,
    report: &Report,
    command: Command,
    now: DateTime<Utc>,
) -> Result<Report, Refusal> {
    debug_assert_eq!(owner.id, report.owner_id, "the owner given is the report's");
    let is_owner = actor.id == report.owner_id;

    let wrong_state = || Refusal::WrongState {
        command: command.name(),
        state: report.state,
    };
    let mut next = report.clone();
    match &command {
        Command::Submit(route) => {
            if !is_owner {
                return Err(Refusal::Forbidden("only the owner can submit a report"));
            }
            if !report.state.is_editable() {
                return Err(wrong_state());
            }
            next.steps = plan(report.owner_id, route);
            next.state = next.steps[0].level.pending_state();
            next.submissions += 1;
            next.submitted_at = Some(now);
            next.rejection_reason = None;
        }
        Command::Withdraw => {
            if !is_owner {
                return Err(Refusal::Forbidden("only the owner can withdraw a report"));
            }
            if !report.state.is_pending() || report.steps.iter().any(|s| s.decision.is_some()) {
                return Err(wrong_state());
            }
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
            decide_step(
                actor,
                owner,
                report,
                &mut next,
                Outcome::Approved,
                note,
                now,
            )
            .map_err(|r| r.unwrap_or_else(wrong_state))?;
        }
        Command::Reject { reason } => {
            let reason = text_field("reason", reason, true, 1000)
                .map_err(|e| Refusal::Invalid(e.to_string()))?;
            decide_step(
                actor,
                owner,
                report,
                &mut next,
                Outcome::Rejected,
                Some(reason.clone()),
                now,
            )
            .map_err(|r| r.unwrap_or_else(wrong_state))?;
            next.rejection_reason = Some(reason);
        }
        Command::Pay { reference } => {
            let reference = text_field("reference", reference, true, 200)
                .map_err(|e| Refusal::Invalid(e.to_string()))?;
            if is_owner {
                return Err(Refusal::Forbidden("nobody pays their own report"));
            }
            if !actor.has(Role::Finance) {
                return Err(Refusal::Forbidden("only finance can pay a report"));
            }
            if !actor.independent_of(owner) {
                return Err(PUPPET);
            }
            if report.state != ReportState::Approved {
                return Err(wrong_state());
            }
            // Every decider of every submission, not only the current one's approvers.
            if report.deciders.contains(&actor.id) || report.approvers().any(|a| a == actor.id) {
                return Err(Refusal::Forbidden(
                    "segregation of duties: whoever decided a step of a report cannot also pay it",
                ));
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

/// The steps of a new submission: manager, senior above the threshold, then finance.
/// A level with nobody there (or only the owner) is skipped; finance never is.
fn plan(owner: UserId, route: &Route) -> Vec<Step> {
    let step = |level, approver_id| Step {
        level,
        approver_id,
        decision: None,
    };
    let present = |u: Option<UserId>| u.filter(|id| *id != owner);
    let manager = present(route.manager);
    let senior = present(route.senior).filter(|s| Some(*s) != manager);
    let mut steps = Vec::with_capacity(3);
    if let Some(m) = manager {
        steps.push(step(Level::Manager, Some(m)));
    }
    if let Some(s) = senior.filter(|_| route.total.minor() > route.senior_threshold.minor()) {
        steps.push(step(Level::Senior, Some(s)));
    }
    steps.push(step(Level::Finance, None));
    steps
}

/// Records `outcome` on the current step. `Err(None)` means "wrong state" (the caller names the
/// command); `Err(Some(_))` is any other refusal.
fn decide_step(
    actor: &User,
    owner: &User,
    report: &Report,
    next: &mut Report,
    outcome: Outcome,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), Option<Refusal>> {
    if actor.id == report.owner_id {
        return Err(Some(Refusal::Forbidden(
            "nobody approves or rejects their own report",
        )));
    }
    if !actor.independent_of(owner) {
        return Err(Some(PUPPET));
    }
    let Some(index) = report
        .current_step()
        .and_then(|cur| report.steps.iter().position(|s| std::ptr::eq(s, cur)))
    else {
        return Err(None);
    };
    let step = &report.steps[index];
    let allowed = match step.level {
        Level::Manager | Level::Senior => {
            step.approver_id == Some(actor.id) && actor.has(Role::Manager)
        }
        Level::Finance => {
            if actor.has(Role::Finance) && report.approved_before_finance(actor.id) {
                return Err(Some(Refusal::Forbidden(
                    "segregation of duties: you approved an earlier step of this report",
                )));
            }
            actor.has(Role::Finance)
        }
    };
    if !allowed {
        // Someone with a part in this report, just not now, meets a state conflict;
        // anyone else has no business deciding it.
        let has_part = actor.has(Role::Finance)
            || report.steps.iter().any(|s| s.approver_id == Some(actor.id));
        return Err(if has_part {
            None
        } else {
            Some(Refusal::Forbidden("you are not the approver of this step"))
        });
    }
    next.steps[index].decision = Some(Decision {
        by: actor.id,
        outcome,
        at: now,
        note,
    });
    next.deciders.insert(actor.id);
    next.state = match outcome {
        Outcome::Rejected => ReportState::Rejected,
        Outcome::Approved => next
            .steps
            .get(index + 1)
            .map_or(ReportState::Approved, |s| s.level.pending_state()),
    };
    Ok(())
}

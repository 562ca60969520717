//! Who may act on a report: the one place for seeing, deciding and paying, for the actions a
//! user has now, and for the queue keys the stores index on.
//!
//! Every other part asks here: the state machine ([`crate::workflow::decide`]) before a
//! transition, the application before it shows a report or routes a notification, the web UI
//! for the buttons it draws, and each store for the columns its approvals queue reads. A rule of
//! segregation of duties is changed here and nowhere else.

use serde::{Deserialize, Serialize};

use crate::{Level, Report, ReportState, Role, User, UserId};

/// The owner's reporting line above them, as stored (whatever their roles or status now): who
/// keeps seeing the owner's submitted reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Line {
    /// The owner's manager.
    pub manager: Option<UserId>,
    /// The manager's manager.
    pub senior: Option<UserId>,
}

impl Line {
    /// Whether `user` is in the line.
    pub fn holds(&self, user: UserId) -> bool {
        self.manager == Some(user) || self.senior == Some(user)
    }
}

/// Whether a user sees a report, as far as the report alone tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    /// Yes.
    Visible,
    /// No.
    Hidden,
    /// Only if the user is in the owner's reporting line ([`Sight::given`]).
    IfInLine,
}

impl Sight {
    /// The answer, given the owner's reporting line.
    pub fn given(self, user: UserId, line: &Line) -> bool {
        match self {
            Sight::Visible => true,
            Sight::Hidden => false,
            Sight::IfInLine => line.holds(user),
        }
    }
}

/// Who sees a report: the owner always; once submitted, also finance, everyone who approves or
/// decided a step of it (or holds the role a step is for, or had it escalated to them), and the
/// owner's reporting line.
pub fn sight(user: &User, report: &Report) -> Sight {
    if report.owner_id == user.id {
        Sight::Visible
    } else if report.submissions == 0 {
        Sight::Hidden
    } else if user.has(Role::Finance)
        || report.deciders.contains(&user.id)
        || report.steps.iter().any(|s| {
            s.approver_id == Some(user.id)
                || s.escalated_to == Some(user.id)
                || s.role.is_some_and(|r| user.has(r))
        })
    {
        Sight::Visible
    } else {
        Sight::IfInLine
    }
}

/// Why a user may not act on a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// Not at all (role, ownership, segregation of duties), with the reason.
    Forbidden(&'static str),
    /// Maybe later or earlier, but not in the report's current state.
    NotNow,
}

/// Segregation of duties between accounts: see [`User::independent_of`].
const PUPPET: Denied = Denied::Forbidden(
    "segregation of duties: you and the report's owner have had power over each other's accounts (created, roles, manager or password)",
);

/// Whether `actor` may submit the report.
pub fn may_submit(actor: &User, report: &Report) -> Result<(), Denied> {
    if actor.id != report.owner_id {
        Err(Denied::Forbidden("only the owner can submit a report"))
    } else if !report.state.is_editable() {
        Err(Denied::NotNow)
    } else {
        Ok(())
    }
}

/// Whether `actor` may change the report (title, purpose, expenses) or delete it: its owner,
/// while it is a draft or rejected.
pub fn may_edit(actor: &User, report: &Report) -> Result<(), Denied> {
    if actor.id != report.owner_id {
        Err(Denied::Forbidden("only the owner can change a report"))
    } else if !report.state.is_editable() {
        Err(Denied::NotNow)
    } else {
        Ok(())
    }
}

/// Whether `actor` may withdraw the report: its owner, before anyone decided.
pub fn may_withdraw(actor: &User, report: &Report) -> Result<(), Denied> {
    if actor.id != report.owner_id {
        Err(Denied::Forbidden("only the owner can withdraw a report"))
    } else if !report.state.is_pending() || report.steps.iter().any(|s| s.decision.is_some()) {
        Err(Denied::NotNow)
    } else {
        Ok(())
    }
}

/// Whether `actor` may approve or reject the current step of the report of `owner`, and if so
/// which step it is (its index).
///
/// A manager or senior step is decided by its named approver, who must hold the manager role;
/// a rule's step by its named approver (a stand-in or the one it was escalated to must hold
/// the manager role too) or, for a role's step, by a holder of the role. The finance step by
/// anyone with the finance role. A shared step (a role's, finance's) never by anyone barred
/// from it: who approved an earlier step, or approves another step of the submission. Never
/// by the owner, nor by anyone not independent of the owner, nor by anyone who decided
/// another step of the submission.
pub fn may_decide(actor: &User, owner: &User, report: &Report) -> Result<usize, Denied> {
    if actor.id == report.owner_id {
        return Err(Denied::Forbidden(
            "nobody approves or rejects their own report",
        ));
    }
    if !actor.independent_of(owner) {
        return Err(PUPPET);
    }
    let Some(index) = report.current_index() else {
        return Err(Denied::NotNow);
    };
    let step = &report.steps[index];
    // The step's approver decides it; once escalated, so may the one it was escalated to.
    let named = step.approver_id == Some(actor.id) || step.escalated_to == Some(actor.id);
    let taken_over = step.stand_in.is_some() || step.escalated_to == Some(actor.id);
    let allowed = match step.level {
        Level::Manager | Level::Senior => named && actor.has(Role::Manager),
        // A rule names its approver for what they own or know, manager or not (but whoever
        // stands in for them, or takes it over, is a manager); or a role, whose holders decide
        // it as finance decides its step.
        Level::Rule => match step.role {
            Some(role) => {
                if actor.has(role) && barred_from_shared(report).any(|u| u == actor.id) {
                    return Err(Denied::Forbidden(
                        "segregation of duties: you approve another step of this report",
                    ));
                }
                actor.has(role) && actor.active
            }
            None => named && actor.active && (!taken_over || actor.has(Role::Manager)),
        },
        Level::Finance => {
            if actor.has(Role::Finance) && barred_from_shared(report).any(|u| u == actor.id) {
                return Err(Denied::Forbidden(
                    "segregation of duties: you approved an earlier step of this report",
                ));
            }
            actor.has(Role::Finance)
        }
    };
    let decided_another = report
        .steps
        .iter()
        .enumerate()
        .any(|(i, s)| i != index && s.decision.as_ref().is_some_and(|d| d.by == actor.id));
    if allowed && decided_another {
        return Err(Denied::Forbidden(
            "segregation of duties: you decided another step of this report",
        ));
    }
    if allowed {
        return Ok(index);
    }
    // Someone with a part in this report, just not now, meets a state conflict; anyone else
    // has no business deciding it.
    let has_part = actor.has(Role::Finance)
        || report.steps.iter().any(|s| {
            s.approver_id == Some(actor.id)
                || s.escalated_to == Some(actor.id)
                || s.role.is_some_and(|r| actor.has(r))
        });
    Err(if has_part {
        Denied::NotNow
    } else {
        Denied::Forbidden("you are not the approver of this step")
    })
}

/// Whether `actor` may mark the approved report of `owner` paid: finance, independent of the
/// owner, and nobody who decided any step of any of its submissions.
pub fn may_pay(actor: &User, owner: &User, report: &Report) -> Result<(), Denied> {
    may_handle_payment(actor, owner, report)?;
    if report.state != ReportState::Approved {
        return Err(Denied::NotNow);
    }
    Ok(())
}

/// Whether `actor` is someone who may pay the report of `owner`, whatever its state: what
/// handling its payment needs (a bank file of it, even again; a batch of it failed).
pub fn may_handle_payment(actor: &User, owner: &User, report: &Report) -> Result<(), Denied> {
    if actor.id == report.owner_id {
        return Err(Denied::Forbidden("nobody pays their own report"));
    }
    if !actor.has(Role::Finance) {
        return Err(Denied::Forbidden("only finance can pay a report"));
    }
    if !actor.independent_of(owner) {
        return Err(PUPPET);
    }
    if report.deciders.contains(&actor.id) || report.approvers().any(|a| a == actor.id) {
        return Err(Denied::Forbidden(
            "segregation of duties: whoever decided a step of a report cannot also pay it",
        ));
    }
    Ok(())
}

/// What a user can do to a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send it for approval.
    Submit,
    /// Take it back before anyone decided.
    Withdraw,
    /// Approve the current step.
    Approve,
    /// Reject the current step.
    Reject,
    /// Take one line out of the report at the current step.
    RejectLine,
    /// Mark it paid.
    Pay,
    /// Change its title, purpose or expenses.
    Edit,
    /// Delete it, freeing its expenses.
    Delete,
}

/// The actions `actor` may take on the report of `owner` now. The state machine still decides
/// each one for certain (a submission needs expenses that pass the policy, say).
pub fn actions(actor: &User, owner: &User, report: &Report) -> Vec<Action> {
    let mut out = Vec::new();
    if may_submit(actor, report).is_ok() {
        out.push(Action::Submit);
    }
    if may_withdraw(actor, report).is_ok() {
        out.push(Action::Withdraw);
    }
    if may_decide(actor, owner, report).is_ok() {
        out.extend([Action::Approve, Action::Reject, Action::RejectLine]);
    }
    // A report a payment batch holds is paid by the batch, not by hand.
    if may_pay(actor, owner, report).is_ok() && report.batch_id.is_none() {
        out.push(Action::Pay);
    }
    if may_edit(actor, report).is_ok() {
        out.extend([Action::Edit, Action::Delete]);
    }
    out
}

/// A queue of reports waiting for a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Queue {
    /// A named step, waiting for this approver.
    Approver(UserId),
    /// The finance step (or a rule's step for the finance role), which any eligible finance
    /// user may take.
    Finance,
    /// A rule's step for a role other than finance, which any eligible holder may take.
    Role(Role),
}

impl Queue {
    /// The queue's key as the relational stores keep it: the approver's id, `finance`, or
    /// `role:<name>`.
    pub fn key(&self) -> String {
        match self {
            Queue::Approver(id) => id.to_string(),
            Queue::Finance => "finance".to_owned(),
            Queue::Role(r) => format!("role:{r}"),
        }
    }

    /// Whether the queue is shared by the holders of a role (who may be barred from one of
    /// its reports), rather than one approver's.
    pub fn is_shared(&self) -> bool {
        !matches!(self, Queue::Approver(_))
    }
}

/// What a store indexes a report on for the approvals queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueKeys {
    /// The queue the report waits in, if it waits.
    pub queue: Option<Queue>,
    /// Who may not take it from a shared queue, though they hold its role: the owner and
    /// whoever approved an earlier step of this submission, in id order. Independence of the
    /// owner is not in it (it needs the actor's account); the state machine refuses that.
    pub barred: Vec<UserId>,
}

/// The queue keys of a report.
pub fn queue_keys(report: &Report) -> QueueKeys {
    let queue = report.current_index().map(|i| {
        let step = &report.steps[i];
        // An escalated step waits where it was escalated to; its approver may still decide it.
        match (
            step.level,
            step.escalated_to.or(step.approver_id),
            step.role,
        ) {
            (Level::Manager | Level::Senior | Level::Rule, Some(a), _) => Queue::Approver(a),
            (Level::Rule, None, Some(r)) if r != Role::Finance => Queue::Role(r),
            _ => Queue::Finance,
        }
    });
    let mut barred: Vec<UserId> = barred_from_shared(report).collect();
    barred.sort_unstable();
    barred.dedup();
    QueueKeys { queue, barred }
}

/// The queues `user` takes reports from: their own, finance's if they hold the role, and
/// those of the other roles they hold.
pub fn queues_of(user: &User) -> Vec<Queue> {
    let mut out = vec![Queue::Approver(user.id)];
    for role in Role::ALL.into_iter().filter(|r| user.has(*r)) {
        out.push(match role {
            Role::Finance => Queue::Finance,
            other => Queue::Role(other),
        });
    }
    out
}

/// Who may not decide a step of a shared queue (finance's, or a role's), though they hold its
/// role: the report's owner, whoever approved an earlier step of this submission, and whoever
/// approves another step of it (its named approver, or the one it was escalated to), so that
/// nobody decides two steps of one submission. The one statement of the rule: [`may_decide`]
/// asks it, and [`queue_keys`] hands it to the stores.
fn barred_from_shared(report: &Report) -> impl Iterator<Item = UserId> + '_ {
    let current = report.current_index();
    let earlier_approvers = report
        .steps
        .iter()
        .filter(|s| s.level != Level::Finance)
        .filter_map(|s| s.decision.as_ref())
        .filter(|d| d.outcome == crate::Outcome::Approved)
        .map(|d| d.by);
    let other_approvers = report
        .steps
        .iter()
        .enumerate()
        .filter(move |(i, s)| Some(*i) != current && s.decision.is_none())
        .flat_map(|(_, s)| s.approver_id.into_iter().chain(s.escalated_to));
    std::iter::once(report.owner_id)
        .chain(earlier_approvers)
        .chain(other_approvers)
}

//! Delegation: an approver away for a range of days hands the approval steps assigned to them
//! to a delegate, who decides them "for" the approver.
//!
//! The rules, in one place:
//! - a delegate is another active user with the manager role (a step of a manager or senior
//!   level needs one), and a delegation lasts at most [`MAX_DAYS`] days;
//! - a step is handed over only while its approver's delegation covers the day, and only if the
//!   delegate may decide it: not the report's owner, not dependent on the owner, and not the
//!   approver of another step of the same submission. Otherwise it goes to the approver's own
//!   manager, on the same conditions; if neither may, it stays with the approver;
//! - delegation is not transitive: a step already handed over is never handed on.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{Level, Report, Role, Step, User, UserId};

/// The longest delegation, in days.
pub const MAX_DAYS: i64 = 366;

/// A user's out-of-office: from `from` to `until` (calendar days in the company's time zone,
/// both included) their steps are decided by `delegate_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    /// Who decides for the user.
    pub delegate_id: UserId,
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub until: NaiveDate,
    /// Who set it, when not the user: an admin, who never stands in through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_by: Option<UserId>,
}

/// Why a delegation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DelegationError {
    /// The delegate is the user.
    #[error("nobody delegates to themselves")]
    Yourself,
    /// The delegate cannot decide manager steps.
    #[error("the delegate must be an active user with the manager role")]
    NotAnApprover,
    /// `until` before `from`, or already over.
    #[error("the delegation must end on or after its first day, and not in the past")]
    Backwards,
    /// Longer than [`MAX_DAYS`].
    #[error("a delegation lasts at most {MAX_DAYS} days")]
    TooLong,
}

impl Delegation {
    /// Checks a delegation of `delegator`'s steps to `delegate` from `from` to `until`, set on
    /// `today`.
    pub fn new(
        delegator: &User,
        delegate: &User,
        from: NaiveDate,
        until: NaiveDate,
        today: NaiveDate,
    ) -> Result<Self, DelegationError> {
        if delegate.id == delegator.id {
            return Err(DelegationError::Yourself);
        }
        if !delegate.active || !delegate.has(Role::Manager) {
            return Err(DelegationError::NotAnApprover);
        }
        if until < from || until < today {
            return Err(DelegationError::Backwards);
        }
        if (until - from).num_days() >= MAX_DAYS {
            return Err(DelegationError::TooLong);
        }
        Ok(Self {
            delegate_id: delegate.id,
            from,
            until,
            set_by: None,
        })
    }

    /// Whether it is in force on `day`.
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.until
    }
}

/// A step decided by someone for its approver, who is away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandIn {
    /// The approver the step was assigned to.
    pub for_id: UserId,
    /// Why it moved, for people.
    pub note: String,
}

/// The step at `index` of `report` (whose owner is `owner`), handed over if its approver
/// `away` is away on `day`: to `delegate`, or failing that to `fallback` (the approver's
/// manager). `None` when it stays as it is.
pub fn stand_in(
    report: &Report,
    index: usize,
    owner: &User,
    away: &User,
    delegate: Option<&User>,
    fallback: Option<&User>,
    day: NaiveDate,
) -> Option<Step> {
    let step = report.steps.get(index)?;
    let delegation = away.delegation.as_ref().filter(|d| d.covers(day))?;
    if step.approver_id != Some(away.id)
        || step.stand_in.is_some()
        || step.decision.is_some()
        || !matches!(step.level, Level::Manager | Level::Senior | Level::Rule)
    {
        return None;
    }
    // Whoever set someone else's delegation (an admin) never stands in through it, as delegate
    // or as the fallback.
    let may = |u: &&User| {
        u.id != away.id
            && Some(u.id) != delegation.set_by
            && crate::escalation::may_take_over(report, index, owner, u)
    };
    let delegate = delegate.filter(|d| d.id == delegation.delegate_id);
    let (to, note) = match (delegate.filter(may), fallback.filter(may)) {
        (Some(d), _) => (
            d,
            format!(
                "{} is away until {}, so {} decides for them",
                away.name, delegation.until, d.name
            ),
        ),
        (None, Some(f)) => (
            f,
            format!(
                "{} is away until {} and their delegate may not decide this report, so {}, their manager, decides for them",
                away.name, delegation.until, f.name
            ),
        ),
        (None, None) => return None,
    };
    Some(Step {
        approver_id: Some(to.id),
        stand_in: Some(StandIn {
            for_id: away.id,
            note,
        }),
        ..step.clone()
    })
}

/// The step at `index` given back to the approver it was handed over for, if it was.
pub fn given_back(report: &Report, index: usize) -> Option<Step> {
    let step = report.steps.get(index)?;
    let s = step.stand_in.as_ref().filter(|_| step.decision.is_none())?;
    Some(Step {
        approver_id: Some(s.for_id),
        stand_in: None,
        ..step.clone()
    })
}

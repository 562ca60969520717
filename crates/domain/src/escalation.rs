//! Reminders and escalation: a step that waits too long, counted in the company's working
//! days, is reminded to its approver once, and later escalated once to the approver's own
//! manager, who may then decide it too.
//!
//! An escalated step stays its approver's to decide, and the report moves to the queue of
//! the one it was escalated to ([`crate::access::queue_keys`]), marked as escalated. Who may be
//! escalated to follows the same segregation of duties as a stand-in
//! ([`crate::delegation`]): not the owner, not dependent on the owner, not the approver of
//! another step of the submission.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::{Level, Report, Role, User, UserId};

/// The days a company works, and its holidays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingCalendar {
    /// The working weekdays, `Mon` to `Sun`.
    #[serde(default = "monday_to_friday")]
    pub working_days: Vec<Weekday>,
    /// Days off on working weekdays.
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
}

fn monday_to_friday() -> Vec<Weekday> {
    vec![
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ]
}

impl Default for WorkingCalendar {
    fn default() -> Self {
        Self {
            working_days: monday_to_friday(),
            holidays: vec![],
        }
    }
}

impl WorkingCalendar {
    /// Whether `day` is a working day.
    pub fn works_on(&self, day: NaiveDate) -> bool {
        self.working_days.contains(&day.weekday()) && !self.holidays.contains(&day)
    }

    /// The working days after `from` up to and including `to` (0 when `to` is not later),
    /// counting at most a year and a day.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .take(367)
            .filter(|d| self.works_on(*d))
            .count() as u32
    }
}

/// When a waiting step is reminded and escalated, in working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reminders {
    /// A step waiting more than this many working days is reminded to its approver.
    pub remind_after_days: u32,
    /// More than this many, it is escalated to the approver's manager.
    pub escalate_after_days: u32,
}

/// What a waiting step is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nudge {
    /// A reminder to its approver (or, for the finance step, to finance).
    Remind,
    /// Escalation to the approver's manager.
    Escalate,
}

/// What the current step of `report` is due on `today`, if anything, given when it started
/// waiting (`since`, a day in the company's zone). Each is due once: a step reminded is not
/// reminded again, nor an escalated one escalated again; only named steps are escalated.
pub fn due(
    report: &Report,
    since: NaiveDate,
    today: NaiveDate,
    calendar: &WorkingCalendar,
    rules: &Reminders,
) -> Option<Nudge> {
    let step = report.current_step()?;
    let waited = calendar.working_days_between(since, today);
    let named = step.level != Level::Finance && step.approver_id.is_some();
    if named && step.escalated_to.is_none() && waited > rules.escalate_after_days {
        Some(Nudge::Escalate)
    } else if step.reminded_at.is_none() && waited > rules.remind_after_days {
        Some(Nudge::Remind)
    } else {
        None
    }
}

/// Whether `to` may be escalated to, or stand in, for step `index` of `report` (owned by
/// `owner`): an active manager who is not its approver, the owner, dependent on the owner,
/// or the approver or decider of another step of the submission.
pub fn may_take_over(report: &Report, index: usize, owner: &User, to: &User) -> bool {
    let approver = report.steps.get(index).and_then(|s| s.approver_id);
    Some(to.id) != approver
        && to.id != report.owner_id
        && to.active
        && to.has(Role::Manager)
        && to.independent_of(owner)
        && !report.steps.iter().enumerate().any(|(i, s)| {
            i != index
                && (s.approver_id == Some(to.id)
                    || s.decision.as_ref().is_some_and(|d| d.by == to.id))
        })
}

/// The step at `index` escalated to `to`, if it is a named step not yet escalated and `to`
/// may take it over.
pub fn escalate(report: &Report, index: usize, owner: &User, to: &User) -> Option<crate::Step> {
    let step = report.steps.get(index)?;
    if step.decision.is_some()
        || step.escalated_to.is_some()
        || step.approver_id.is_none()
        || step.level == Level::Finance
        || !may_take_over(report, index, owner, to)
    {
        return None;
    }
    Some(crate::Step {
        escalated_to: Some(to.id),
        ..step.clone()
    })
}

/// The approver of a step escalated to `user`, if `user` is who it was escalated to.
pub fn escalated_from(step: &crate::Step, user: UserId) -> Option<UserId> {
    step.approver_id.filter(|_| step.escalated_to == Some(user))
}

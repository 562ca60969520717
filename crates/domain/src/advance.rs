//! Cash advances: money paid to an employee before a trip, in any currency, settled later by
//! the reports it paid for (their reimbursement is netted) and by what is paid back.
//!
//! requested → approved (by the owner's manager, or finance when they have none) → paid out
//! (by finance, never the owner nor the approver) → settled once nothing is outstanding; or
//! rejected, or cancelled by the owner before anyone decided.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::id_type;
use crate::{Money, Report, ReportId, ReportState, Role, User, UserId};

id_type!(
    /// Identifies a cash advance.
    AdvanceId
);

/// Where an advance stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdvanceState {
    /// Waiting for its approver.
    Requested,
    /// Approved; waiting for finance to pay it out.
    Approved,
    /// Refused by its approver.
    Rejected,
    /// Taken back by its owner before anyone decided.
    Cancelled,
    /// Paid out; reports and repayments settle it.
    PaidOut,
    /// Nothing is outstanding.
    Settled,
}

impl AdvanceState {
    /// The name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
            Self::PaidOut => "paid_out",
            Self::Settled => "settled",
        }
    }
}

/// Who did something to an advance, when, and what they said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Act {
    /// Who.
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// The comment, reason or reference.
    pub note: String,
}

/// Part of an advance settled by a report: the report's reimbursement is that much less.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The report.
    pub report_id: ReportId,
    /// In the advance's currency.
    pub amount: Money,
    /// In the base currency: what the report's payment is reduced by.
    pub base: Money,
    /// Who applied it, and when.
    pub act: Act,
}

/// Part of an advance paid back by its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repaid {
    /// In the advance's currency.
    pub amount: Money,
    /// In the base currency, at the payout's rate.
    pub base: Money,
    /// Who recorded it, when, and the bank's reference.
    pub act: Act,
}

/// A cash advance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advance {
    /// Its id.
    pub id: AdvanceId,
    /// Who it is for.
    pub owner_id: UserId,
    /// How much, in any currency.
    pub amount: Money,
    /// What it is for.
    pub purpose: String,
    /// Where it stands.
    pub state: AdvanceState,
    /// Who decides it: the owner's manager when requested, or `None` for finance's queue.
    pub approver_id: Option<UserId>,
    /// The decision.
    pub decision: Option<Act>,
    /// The payout: who, when, the reference.
    pub payout: Option<Act>,
    /// The payout in the base currency, at the day's rate.
    pub payout_base: Option<Money>,
    /// The day it should be settled by; reminded after.
    pub due_on: Option<NaiveDate>,
    /// Settled by reports.
    #[serde(default)]
    pub applied: Vec<Applied>,
    /// Paid back.
    #[serde(default)]
    pub repaid: Vec<Repaid>,
    /// When its owner was last reminded that it is overdue.
    pub reminded_at: Option<DateTime<Utc>>,
    /// Bumped on every change.
    pub version: i64,
    /// When it was requested.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Why an advance may not change so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdvanceError {
    /// Not by this person.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Not in its state.
    #[error("{0}")]
    NotNow(&'static str),
    /// Not with these values.
    #[error("{0}")]
    Invalid(String),
}

/// The largest advance, in minor units of any currency.
const MAX_MINOR: i64 = 10_000_000_000;

impl Advance {
    /// A new request of `owner`'s, decided by their manager (or finance when they have none).
    pub fn request(
        id: AdvanceId,
        owner: &User,
        amount: Money,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, AdvanceError> {
        if amount.minor() <= 0 || amount.minor() > MAX_MINOR {
            return Err(AdvanceError::Invalid(
                "an advance is more than zero and at most 10,000,000,000 of its minor units (100,000,000.00)".into(),
            ));
        }
        let purpose = one_line(purpose, 200, "the purpose")?;
        if purpose.is_empty() {
            return Err(AdvanceError::Invalid(
                "the purpose is 1 to 200 characters on one line".into(),
            ));
        }
        Ok(Self {
            id,
            owner_id: owner.id,
            amount,
            purpose,
            state: AdvanceState::Requested,
            approver_id: owner.manager_id,
            decision: None,
            payout: None,
            payout_base: None,
            due_on: None,
            applied: vec![],
            repaid: vec![],
            reminded_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }

    /// What `minor` of the advance is worth in the base currency, at the payout's rate, so
    /// that what is credited to the advances account adds up to what was debited when it was
    /// paid out: what is outstanding is worth all the payout's base amount has left; a part of
    /// it, its share of the payout, rounded down. `None` before the payout.
    pub fn base_of(&self, minor: i64) -> Option<Money> {
        let payout = self.payout_base?;
        let settled: i64 = self.applied.iter().map(|a| a.base.minor()).sum::<i64>()
            + self.repaid.iter().map(|r| r.base.minor()).sum::<i64>();
        let left = payout.minor() - settled;
        let base = if minor >= self.outstanding() {
            left
        } else {
            let share =
                i128::from(minor) * i128::from(payout.minor()) / i128::from(self.amount.minor());
            i64::try_from(share).unwrap_or(left).min(left)
        };
        Money::from_minor(base, payout.currency()).ok()
    }

    /// What is still to be settled, in the advance's currency.
    pub fn outstanding(&self) -> i64 {
        if !matches!(self.state, AdvanceState::PaidOut | AdvanceState::Settled) {
            return 0;
        }
        let settled: i64 = self.applied.iter().map(|a| a.amount.minor()).sum::<i64>()
            + self.repaid.iter().map(|r| r.amount.minor()).sum::<i64>();
        self.amount.minor() - settled
    }

    /// Whether `actor` is whom it waits for: its approver, or finance for one without (not
    /// the owner, whom [`Self::may_decide`] refuses too).
    pub fn is_approver(&self, actor: &User) -> bool {
        actor.id != self.owner_id
            && match self.approver_id {
                Some(a) => a == actor.id,
                None => actor.has(Role::Finance),
            }
    }

    /// Whether `actor` is who decides it: its approver, or finance for one without; never
    /// its owner, nor anyone whose account the owner had power over (or who had over theirs).
    pub fn may_decide(&self, actor: &User, owner: &User) -> Result<(), AdvanceError> {
        if actor.id == self.owner_id {
            return Err(AdvanceError::Forbidden("nobody approves their own advance"));
        }
        if !self.is_approver(actor) {
            return Err(AdvanceError::Forbidden(
                "only the owner's manager (or finance, for someone without one) decides an advance",
            ));
        }
        if !actor.independent_of(owner) {
            return Err(AdvanceError::Forbidden(
                "segregation of duties: you and the owner have had power over each other's accounts",
            ));
        }
        Ok(())
    }

    fn next(&self, now: DateTime<Utc>) -> Self {
        let mut next = self.clone();
        next.version += 1;
        next.updated_at = now;
        next
    }

    /// Its owner takes it back before anyone decided.
    pub fn cancel(&self, actor: &User, now: DateTime<Utc>) -> Result<Self, AdvanceError> {
        if actor.id != self.owner_id {
            return Err(AdvanceError::Forbidden("only its owner cancels an advance"));
        }
        if self.state != AdvanceState::Requested {
            return Err(AdvanceError::NotNow(
                "only a request not yet decided is cancelled",
            ));
        }
        let mut next = self.next(now);
        next.state = AdvanceState::Cancelled;
        Ok(next)
    }

    /// Its approver approves it, or rejects it with a reason.
    pub fn decide(
        &self,
        actor: &User,
        owner: &User,
        approve: bool,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, AdvanceError> {
        self.may_decide(actor, owner)?;
        if self.state != AdvanceState::Requested {
            return Err(AdvanceError::NotNow("the advance is already decided"));
        }
        let note = one_line(note, 2000, "a comment or reason")?;
        if !approve && note.is_empty() {
            return Err(AdvanceError::Invalid("a rejection needs a reason".into()));
        }
        let mut next = self.next(now);
        next.state = if approve {
            AdvanceState::Approved
        } else {
            AdvanceState::Rejected
        };
        next.decision = Some(Act {
            by: actor.id,
            at: now,
            note,
        });
        Ok(next)
    }

    /// Whether `actor` may pay it out or settle it: finance, not its owner, not who approved
    /// it, and independent of the owner.
    pub fn may_handle_money(&self, actor: &User, owner: &User) -> Result<(), AdvanceError> {
        self.may_handle_money_as(actor)?;
        if !actor.independent_of(owner) {
            return Err(AdvanceError::Forbidden(
                "segregation of duties: you and the owner have had power over each other's accounts",
            ));
        }
        Ok(())
    }

    /// [`Self::may_handle_money`] without the owner's account at hand (the pages, to offer
    /// the forms): finance, not its owner, not who approved it.
    pub fn may_handle_money_as(&self, actor: &User) -> Result<(), AdvanceError> {
        if actor.id == self.owner_id {
            return Err(AdvanceError::Forbidden(
                "nobody pays or settles their own advance",
            ));
        }
        if !actor.has(Role::Finance) {
            return Err(AdvanceError::Forbidden(
                "only finance pays and settles advances",
            ));
        }
        if self.decision.as_ref().is_some_and(|d| d.by == actor.id) {
            return Err(AdvanceError::Forbidden(
                "segregation of duties: whoever approved an advance cannot also pay it",
            ));
        }
        Ok(())
    }

    /// Finance pays it out, worth `base` in the base currency, due to be settled by `due_on`.
    pub fn pay_out(
        &self,
        actor: &User,
        owner: &User,
        reference: &str,
        base: Money,
        due_on: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Self, AdvanceError> {
        self.may_handle_money(actor, owner)?;
        if self.state != AdvanceState::Approved {
            return Err(AdvanceError::NotNow("only an approved advance is paid out"));
        }
        let mut next = self.next(now);
        next.state = AdvanceState::PaidOut;
        next.payout = Some(Act {
            by: actor.id,
            at: now,
            note: reference_of(reference)?,
        });
        next.payout_base = Some(base);
        next.due_on = Some(due_on);
        Ok(next)
    }

    /// Settles what is outstanding against the approved, unpaid `report` of its owner, up to
    /// the report's payable amount, in the base currency at the payout's rate. Answers the
    /// advance and the report, each as it is next.
    pub fn apply_to(
        &self,
        actor: &User,
        owner: &User,
        report: &Report,
        now: DateTime<Utc>,
    ) -> Result<(Self, Report), AdvanceError> {
        self.may_handle_money(actor, owner)?;
        crate::access::may_pay(actor, owner, report).map_err(|d| match d {
            crate::access::Denied::Forbidden(m) => AdvanceError::Forbidden(m),
            crate::access::Denied::NotNow => {
                AdvanceError::NotNow("only an approved, unpaid report settles an advance")
            }
        })?;
        if self.state != AdvanceState::PaidOut {
            return Err(AdvanceError::NotNow("only an advance paid out is settled"));
        }
        if report.owner_id != self.owner_id {
            return Err(AdvanceError::Invalid(
                "an advance is settled by a report of its own owner".into(),
            ));
        }
        if report.batch_id.is_some() || report.state != ReportState::Approved {
            return Err(AdvanceError::NotNow(
                "the report is in a payment batch, or not approved",
            ));
        }
        let (payable, total) = report
            .payable()
            .zip(report.total)
            .ok_or_else(|| AdvanceError::Invalid("the report has no total".into()))?;
        let outstanding = self.outstanding();
        let outstanding_in_base = self.base_of(outstanding).ok_or(AdvanceError::NotNow(
            "nothing is outstanding, or the report has nothing left to pay",
        ))?;
        if outstanding_in_base.currency() != total.currency() {
            return Err(AdvanceError::Invalid(
                "the outstanding amount is not in the report's currency".into(),
            ));
        }
        if outstanding <= 0 || payable <= 0 || outstanding_in_base.minor() <= 0 {
            return Err(AdvanceError::NotNow(
                "nothing is outstanding, or the report has nothing left to pay",
            ));
        }
        let base = outstanding_in_base.minor().min(payable);
        // All that is outstanding, or the share of it the report covers (rounded down: the
        // employee is never credited more than the report pays).
        let amount = if base == outstanding_in_base.minor() {
            outstanding
        } else {
            let share = i128::from(outstanding) * i128::from(base)
                / i128::from(outstanding_in_base.minor());
            i64::try_from(share).unwrap_or(outstanding).min(outstanding)
        };
        if amount <= 0 {
            return Err(AdvanceError::NotNow(
                "the report pays less than one unit of the advance's currency",
            ));
        }
        let as_money = |minor, like: Money| {
            Money::from_minor(minor, like.currency())
                .map_err(|e| AdvanceError::Invalid(e.to_string()))
        };
        let act = Act {
            by: actor.id,
            at: now,
            note: String::new(),
        };
        let mut next = self.next(now);
        next.applied.push(Applied {
            report_id: report.id,
            amount: as_money(amount, self.amount)?,
            base: as_money(base, total)?,
            act,
        });
        if next.outstanding() == 0 {
            next.state = AdvanceState::Settled;
        }
        let mut settled = report.clone();
        let before = report.advance_applied.map_or(0, |m| m.minor());
        settled.advance_applied = Some(as_money(before + base, total)?);
        settled.version += 1;
        settled.updated_at = now;
        Ok((next, settled))
    }

    /// Finance records money its owner paid back, worth its share of the payout's base amount.
    pub fn repay(
        &self,
        actor: &User,
        owner: &User,
        amount: Money,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, AdvanceError> {
        self.may_handle_money(actor, owner)?;
        if self.state != AdvanceState::PaidOut {
            return Err(AdvanceError::NotNow(
                "only an advance paid out and not settled is paid back",
            ));
        }
        if amount.currency() != self.amount.currency() {
            return Err(AdvanceError::Invalid(format!(
                "the advance is paid back in {}",
                self.amount.currency()
            )));
        }
        if amount.minor() <= 0 || amount.minor() > self.outstanding() {
            return Err(AdvanceError::Invalid(format!(
                "at most what is outstanding is paid back: {}",
                crate::allowance::minor_string(self.outstanding(), self.amount.currency())
            )));
        }
        let base = self.base_of(amount.minor()).ok_or_else(|| {
            AdvanceError::Invalid(
                "the repayment is worth less than a cent of the base currency".into(),
            )
        })?;
        let mut next = self.next(now);
        next.repaid.push(Repaid {
            amount,
            base,
            act: Act {
                by: actor.id,
                at: now,
                note: reference_of(reference)?,
            },
        });
        if next.outstanding() == 0 {
            next.state = AdvanceState::Settled;
        }
        Ok(next)
    }

    /// Whether its owner should be reminded at `now`: paid out, outstanding, past its day,
    /// and not reminded in the last `every_days` days.
    pub fn is_overdue(&self, today: NaiveDate, now: DateTime<Utc>, every_days: i64) -> bool {
        self.state == AdvanceState::PaidOut
            && self.outstanding() > 0
            && self.due_on.is_some_and(|d| today > d)
            && self
                .reminded_at
                .is_none_or(|r| now - r >= chrono::TimeDelta::days(every_days))
    }
}

/// `text` trimmed, refused when longer than `max` characters or holding a control
/// character (a line break, say), which would reach notices, mails and ledger files.
fn one_line(text: &str, max: usize, what: &str) -> Result<String, AdvanceError> {
    let text = text.trim();
    if text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(AdvanceError::Invalid(format!(
            "{what} is at most {max} characters on one line"
        )));
    }
    Ok(text.to_owned())
}

fn reference_of(reference: &str) -> Result<String, AdvanceError> {
    let reference = one_line(reference, 200, "the reference")?;
    if reference.is_empty() {
        return Err(AdvanceError::Invalid(
            "the reference is 1 to 200 characters on one line".into(),
        ));
    }
    Ok(reference)
}

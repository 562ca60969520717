//! Reports: the unit of approval, with the steps of its current submission.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Money, ReportId, UserId};

/// Where a report is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportState {
    /// Being prepared by its owner.
    Draft,
    /// Waiting for the owner's manager.
    PendingManager,
    /// Waiting for the manager's manager (totals over the senior threshold).
    PendingSenior,
    /// Waiting for an approver a routing rule added (a cost centre's owner, say).
    PendingReview,
    /// Waiting for finance.
    PendingFinance,
    /// Approved by every level; waiting for payment.
    Approved,
    /// Paid back.
    Paid,
    /// Sent back to the owner with a reason.
    Rejected,
}

impl ReportState {
    /// Every state.
    pub const ALL: [ReportState; 8] = [
        Self::Draft,
        Self::PendingManager,
        Self::PendingSenior,
        Self::PendingReview,
        Self::PendingFinance,
        Self::Approved,
        Self::Paid,
        Self::Rejected,
    ];

    /// The snake_case name used on the wire and in storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::PendingManager => "pending_manager",
            Self::PendingSenior => "pending_senior",
            Self::PendingReview => "pending_review",
            Self::PendingFinance => "pending_finance",
            Self::Approved => "approved",
            Self::Paid => "paid",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether an approver is expected to act.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            Self::PendingManager | Self::PendingSenior | Self::PendingReview | Self::PendingFinance
        )
    }

    /// Whether the owner may change the report's expenses.
    pub fn is_editable(&self) -> bool {
        matches!(self, Self::Draft | Self::Rejected)
    }
}

impl fmt::Display for ReportState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An approval level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The owner's manager.
    Manager,
    /// The manager's manager.
    Senior,
    /// An approver a routing rule added.
    Rule,
    /// Any eligible finance user.
    Finance,
}

impl Level {
    /// The pending state of this level.
    pub fn pending_state(&self) -> ReportState {
        match self {
            Level::Manager => ReportState::PendingManager,
            Level::Senior => ReportState::PendingSenior,
            Level::Rule => ReportState::PendingReview,
            Level::Finance => ReportState::PendingFinance,
        }
    }
}

/// How a step was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Approved; the report moves on.
    Approved,
    /// Rejected; the report goes back to its owner.
    Rejected,
}

/// A decision on one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Who decided.
    pub by: UserId,
    /// What they decided.
    pub outcome: Outcome,
    /// When.
    pub at: DateTime<Utc>,
    /// The comment (approval) or reason (rejection).
    pub note: Option<String>,
}

/// One approval step of the current submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The level.
    pub level: Level,
    /// The person who decides it; `None` for a queue: finance, or anyone with `role`.
    pub approver_id: Option<UserId>,
    /// For a rule's step decided by anyone with a role (not the owner, nor anyone who
    /// approved an earlier step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<crate::Role>,
    /// The decision, once made.
    pub decision: Option<Decision>,
    /// Why the step exists, for people ("Mia Manager is the submitter's manager"). Steps
    /// planned before reasons were kept have none.
    #[serde(default)]
    pub reason: String,
    /// Set while someone decides the step for its approver, who is away
    /// ([`crate::delegation`]); `approver_id` is then the stand-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stand_in: Option<crate::StandIn>,
    /// When its approver was reminded that it waits ([`crate::escalation`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminded_at: Option<DateTime<Utc>>,
    /// Whom it was escalated to, who may decide it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_to: Option<UserId>,
}

impl Step {
    /// An undecided step of `level`, decided by `approver_id` (or by a queue), that exists
    /// for `reason`.
    pub fn new(level: Level, approver_id: Option<UserId>, reason: impl Into<String>) -> Self {
        Self {
            level,
            approver_id,
            role: None,
            decision: None,
            reason: reason.into(),
            stand_in: None,
            reminded_at: None,
            escalated_to: None,
        }
    }
}

/// The payment of an approved report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The payment's reference (bank transfer id, payroll batch).
    pub reference: String,
    /// Who marked it paid.
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
}

/// A report: a group of its owner's expenses that is approved as one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Its id.
    pub id: ReportId,
    /// The employee who is reimbursed.
    pub owner_id: UserId,
    /// A short title.
    pub title: String,
    /// The business purpose.
    pub purpose: String,
    /// The current state.
    pub state: ReportState,
    /// Bumped on every change, for optimistic concurrency.
    pub version: i64,
    /// The total in the base currency, when every expense has a base amount.
    pub total: Option<Money>,
    /// The steps of the current (or last) submission.
    pub steps: Vec<Step>,
    /// How many times it has been submitted.
    pub submissions: u32,
    /// When it was last submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// The reason of the last rejection, while rejected.
    pub rejection_reason: Option<String>,
    /// The payment, once paid.
    pub payment: Option<Payment>,
    /// Everyone who has ever decided a step of this report (they keep seeing it).
    pub deciders: BTreeSet<UserId>,
    /// The version of the policy the current submission's route was computed under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<u32>,
    /// The senior threshold the current submission was routed by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub senior_threshold: Option<Money>,
    /// The payment batch that pays it, while one holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<crate::BatchId>,
    /// What cash advances of its owner settled of it (base currency): its payment is that much
    /// less ([`crate::advance`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance_applied: Option<Money>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Report {
    /// When it was approved: the last decision of its approved submission. `None` unless it
    /// is approved or paid.
    pub fn approved_at(&self) -> Option<DateTime<Utc>> {
        if !matches!(self.state, ReportState::Approved | ReportState::Paid) {
            return None;
        }
        self.steps
            .iter()
            .filter_map(|s| s.decision.as_ref().map(|d| d.at))
            .max()
    }

    /// What its payment is, in minor units of its total's currency: its total, less what cash
    /// advances settled of it (zero when they settled all of it).
    pub fn payable(&self) -> Option<i64> {
        let total = self.total?;
        Some(total.minor() - self.advance_applied.map_or(0, |m| m.minor()))
    }

    /// [`Self::payable`] as a decimal of its total's currency ("0.00" when advances settled
    /// all of it).
    pub fn payable_amount(&self) -> Option<String> {
        let total = self.total?;
        Some(crate::allowance::minor_string(
            self.payable()?,
            total.currency(),
        ))
    }

    /// A new draft of `owner_id`'s, whose expenses total `total` (in the base currency, when
    /// every one of them has a base amount).
    pub fn draft(
        id: ReportId,
        owner_id: UserId,
        title: String,
        purpose: String,
        total: Option<Money>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            owner_id,
            title,
            purpose,
            state: ReportState::Draft,
            version: 1,
            total,
            steps: vec![],
            submissions: 0,
            submitted_at: None,
            rejection_reason: None,
            payment: None,
            deciders: BTreeSet::new(),
            policy_version: None,
            senior_threshold: None,
            batch_id: None,
            advance_applied: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The first undecided step of the current submission, while pending.
    pub fn current_step(&self) -> Option<&Step> {
        self.current_index().map(|i| &self.steps[i])
    }

    /// When the current step started waiting: the submission, or the decision of the step
    /// before it.
    pub fn current_since(&self) -> Option<DateTime<Utc>> {
        let index = self.current_index()?;
        match index.checked_sub(1) {
            None => self.submitted_at,
            Some(before) => self.steps[before].decision.as_ref().map(|d| d.at),
        }
    }

    /// The index of [`Report::current_step`].
    pub fn current_index(&self) -> Option<usize> {
        if !self.state.is_pending() {
            return None;
        }
        self.steps.iter().position(|s| s.decision.is_none())
    }

    /// Who approved a step of the current submission.
    pub fn approvers(&self) -> impl Iterator<Item = UserId> + '_ {
        self.steps
            .iter()
            .filter_map(|s| s.decision.as_ref())
            .filter(|d| d.outcome == Outcome::Approved)
            .map(|d| d.by)
    }
}

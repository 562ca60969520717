//! Expenses: one spending event with its amount, and its place in at most one report.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{ExpenseId, Money, ReportId, UserId};

/// Why an expense's details were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpenseError {
    /// A required text field is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// A text field is too long.
    #[error("{field} must be at most {max} characters")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its maximum length.
        max: usize,
    },
}

/// Checks a free-text field: trimmed, optionally required, bounded, no control characters
/// other than newlines.
pub fn text_field(
    field: &'static str,
    value: &str,
    required: bool,
    max: usize,
) -> Result<String, ExpenseError> {
    // The length counts as sent, so that padding cannot carry more than `max` characters in.
    if value.chars().count() > max {
        return Err(ExpenseError::TooLong { field, max });
    }
    // Control characters go first, so that what is left is trimmed and checked as it is kept:
    // "\u{7}" is empty, not a one-character title.
    let cleaned: String = value
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect();
    let v = cleaned.trim();
    if required && v.is_empty() {
        return Err(ExpenseError::Empty(field));
    }
    if v.chars().count() > max {
        return Err(ExpenseError::TooLong { field, max });
    }
    Ok(v.to_owned())
}

/// What the employee says about an expense; checked on construction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpenseDetails {
    date: NaiveDate,
    merchant: String,
    category: String,
    description: String,
    amount: Money,
}

impl ExpenseDetails {
    /// Checks and builds an expense's details. The category's existence is the policy's call.
    pub fn new(
        date: NaiveDate,
        merchant: &str,
        category: &str,
        description: &str,
        amount: Money,
    ) -> Result<Self, ExpenseError> {
        Ok(Self {
            date,
            merchant: text_field("merchant", merchant, true, 200)?,
            category: text_field("category", category, true, 50)?.to_lowercase(),
            description: text_field("description", description, false, 2000)?,
            amount,
        })
    }

    /// The day the money was spent.
    pub fn date(&self) -> NaiveDate {
        self.date
    }
    /// Where it was spent.
    pub fn merchant(&self) -> &str {
        &self.merchant
    }
    /// The merchant as duplicates are matched on it: surrounding spaces and case ignored.
    /// Every store keeps it as the key of its duplicates index.
    pub fn merchant_key(&self) -> String {
        self.merchant.trim().to_lowercase()
    }
    /// The policy category (lower-case).
    pub fn category(&self) -> &str {
        &self.category
    }
    /// Free text.
    pub fn description(&self) -> &str {
        &self.description
    }
    /// The amount in the currency it was spent in.
    pub fn amount(&self) -> Money {
        self.amount
    }
}

/// An approver's rejection of one line of a report: the expense left the report and went
/// back to its owner with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRejection {
    /// The report it was taken out of.
    pub report_id: ReportId,
    /// Why.
    pub reason: String,
    /// Who rejected it.
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
}

/// An expense as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expense {
    /// Its id.
    pub id: ExpenseId,
    /// Who spent the money.
    pub owner_id: UserId,
    /// What was spent.
    pub details: ExpenseDetails,
    /// The amount in the company's base currency, when a rate was known.
    pub base_amount: Option<Money>,
    /// The exchange rate used for `base_amount`, as an exact decimal string.
    pub exchange_rate: Option<String>,
    /// The report it belongs to, if any.
    pub report_id: Option<ReportId>,
    /// The employee's justification for soft policy violations.
    pub justification: Option<String>,
    /// Why an approver took it out of a report, until it joins another.
    #[serde(default)]
    pub rejection: Option<LineRejection>,
    /// The cost centres and project it is charged to; `None`: all of it to the owner's home
    /// cost centre, and no project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation: Option<crate::Allocation>,
    /// What it claims beyond a receipt (mileage, per diem), whose amount was computed from
    /// the policy's rate tables; `None`: a receipt's amount, as the employee said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<crate::Claim>,
    /// The tax (VAT) in its amount, as the receipt shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<crate::Tax>,
    /// Made from a receipt and not yet confirmed: its details are placeholders until the
    /// employee accepts what was read or edits it, and it cannot be submitted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub draft: bool,
    /// Bumped on every change.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Expense {
    /// The tax the company may reclaim on it under `policy` (its category's tax is
    /// reclaimable): in its own currency, and in the base currency at its exchange rate.
    pub fn reclaimable_tax(
        &self,
        policy: &crate::Policy,
    ) -> Option<(crate::Money, Option<crate::Money>)> {
        let reclaimable = policy
            .category(self.details.category())
            .is_some_and(|c| c.tax_reclaimable);
        let tax = self.tax.as_ref()?.amount.filter(|_| reclaimable)?;
        let base = self
            .exchange_rate
            .as_deref()
            .and_then(|r| crate::Rate::parse(r).ok())
            .and_then(|r| crate::exchange::convert(tax, r, policy.base_currency).ok());
        Some((tax, base))
    }

    /// `receipt`, `mileage` or `per_diem`.
    pub fn kind(&self) -> &'static str {
        self.claim.as_ref().map_or("receipt", crate::Claim::kind)
    }

    /// Puts the expense in `report`, or in none. Joining a report clears the rejection it
    /// carried back from an earlier one.
    pub fn file_in(&mut self, report: Option<ReportId>) {
        if report.is_some() {
            self.rejection = None;
        }
        self.report_id = report;
    }
}

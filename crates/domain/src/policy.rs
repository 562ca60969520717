//! The company's expense policy: base currency, approval threshold and categories.

use serde::{Deserialize, Serialize};

use crate::{Currency, Money};

/// How a policy rule's violation is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks submission.
    Hard,
    /// Needs a written justification.
    Soft,
}

/// A category and its optional per-expense limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    /// The category's name (lower-case).
    pub name: String,
    /// The per-expense limit in the base currency.
    pub limit: Option<Money>,
    /// How a limit breach is treated.
    #[serde(default = "soft")]
    pub limit_severity: Severity,
}

fn soft() -> Severity {
    Severity::Soft
}

/// The company's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The currency reports are totalled and paid in.
    pub base_currency: Currency,
    /// Report totals strictly above this need the senior level.
    pub senior_threshold: Money,
    /// The categories expenses may use.
    pub categories: Vec<CategoryRule>,
    /// A receipt is required from this amount (base currency).
    pub receipt_required_from: Option<Money>,
    /// How a missing receipt is treated.
    #[serde(default = "hard")]
    pub receipt_severity: Severity,
    /// Expenses older than this many days are refused.
    pub max_age_days: Option<u32>,
    /// How duplicates are treated, if they are checked.
    pub duplicates: Option<Severity>,
    /// The currencies expenses may be in; empty means any.
    #[serde(default)]
    pub allowed_currencies: Vec<Currency>,
}

fn hard() -> Severity {
    Severity::Hard
}

/// Why a policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// An amount is not in the base currency.
    #[error("{0} must be in the base currency {1}")]
    NotBaseCurrency(&'static str, Currency),
    /// No categories, or a bad or repeated name.
    #[error("{0}")]
    Categories(String),
}

impl Policy {
    /// Checks the policy's own consistency.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let base = self.base_currency;
        let in_base = |what: &'static str, m: Option<Money>| match m {
            Some(m) if m.currency() != base => Err(PolicyError::NotBaseCurrency(what, base)),
            _ => Ok(()),
        };
        in_base("senior_threshold", Some(self.senior_threshold))?;
        in_base("receipt_required_from", self.receipt_required_from)?;
        if self.categories.is_empty() {
            return Err(PolicyError::Categories(
                "at least one category is needed".into(),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &self.categories {
            let ok = !c.name.is_empty()
                && c.name.len() <= 50
                && c.name == c.name.to_lowercase()
                && c.name
                    .chars()
                    .all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '-');
            if !ok {
                return Err(PolicyError::Categories(format!(
                    "category `{}` must be 1 to 50 lower-case letters, digits, - or _",
                    c.name
                )));
            }
            if !seen.insert(&c.name) {
                return Err(PolicyError::Categories(format!(
                    "category `{}` is repeated",
                    c.name
                )));
            }
            in_base("a category limit", c.limit)?;
        }
        Ok(())
    }

    /// The rule of a category, if the category exists.
    pub fn category(&self, name: &str) -> Option<&CategoryRule> {
        self.categories.iter().find(|c| c.name == name)
    }
}

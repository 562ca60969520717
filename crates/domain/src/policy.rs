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
    /// Whether the company may reclaim the tax (input VAT) of expenses in this category.
    #[serde(default)]
    pub tax_reclaimable: bool,
}

fn soft() -> Severity {
    Severity::Soft
}

/// The company's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Bumped each time the policy is saved; expenses' violations and submissions' routes
    /// name the version they were computed under. Set by the application, not by clients.
    #[serde(default)]
    pub version: u32,
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
    /// The company's time zone: times are shown in it to whoever has not chosen their own.
    #[serde(default)]
    pub time_zone: crate::TimeZone,
    /// The working days and holidays that reminders count in.
    #[serde(default)]
    pub calendar: crate::WorkingCalendar,
    /// When waiting steps are reminded and escalated; `None`: never.
    #[serde(default)]
    pub reminders: Option<crate::Reminders>,
    /// Cost centres, projects and routing rules, kept by finance apart from the rest.
    #[serde(default)]
    pub org: Organisation,
    /// The mileage and per diem rate tables, kept by finance apart from the rest.
    #[serde(default)]
    pub allowances: crate::Allowances,
    /// The company's account that pays reimbursements, kept by finance apart from the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paying_account: Option<crate::PayingAccount>,
    /// The general ledger accounts and what accounting systems need, kept by finance apart
    /// from the rest (and shown to finance only).
    #[serde(default, skip_serializing_if = "crate::journal::Ledger::is_default")]
    pub ledger: Box<crate::journal::Ledger>,
}

/// The company's cost centres, projects and routing rules. They live in the policy document,
/// so that a submission's read of them is guarded like the rest of the policy, but each has
/// its own resource and is kept whole when the rest of the policy is replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// The cost centres.
    #[serde(default)]
    pub cost_centres: Vec<crate::CostCentre>,
    /// The projects.
    #[serde(default)]
    pub projects: Vec<crate::Project>,
    /// The routing rules, in order.
    #[serde(default)]
    pub routing_rules: Vec<crate::RoutingRule>,
}

impl Organisation {
    /// A cost centre by code.
    pub fn cost_centre(&self, code: &str) -> Option<&crate::CostCentre> {
        self.cost_centres.iter().find(|c| c.code == code)
    }

    /// A project by code.
    pub fn project(&self, code: &str) -> Option<&crate::Project> {
        self.projects.iter().find(|p| p.code == code)
    }
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
    /// Bad cost centres, projects or routing rules, or a rule naming what does not exist.
    #[error("{0}")]
    Org(String),
}

impl Policy {
    /// Takes from `stored` what finance keeps apart from the rest of the policy, each with
    /// its own resource: the organisation, the rate tables, the paying account and the
    /// ledger. Saving the rest of the policy keeps them.
    pub fn keep_apart(&mut self, stored: &Policy) {
        self.org = stored.org.clone();
        self.allowances = stored.allowances.clone();
        self.paying_account = stored.paying_account.clone();
        self.ledger = stored.ledger.clone();
        // A category the new policy drops, or renames, loses its account with it.
        let categories = &self.categories;
        self.ledger
            .accounts
            .by_category
            .retain(|name, _| categories.iter().any(|c| &c.name == name));
    }
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
        if let Some(r) = self.reminders
            && (r.remind_after_days == 0
                || r.escalate_after_days <= r.remind_after_days
                || r.escalate_after_days > 365)
        {
            return Err(PolicyError::Org(
                "reminders: remind after 1 or more working days, and escalate later, within a year"
                    .into(),
            ));
        }
        if self.calendar.working_days.is_empty() || self.calendar.holidays.len() > 400 {
            return Err(PolicyError::Org(
                "the calendar needs a working day, and at most 400 holidays".into(),
            ));
        }
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
                && c.name.chars().all(|ch| {
                    ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '-'
                });
            if !ok {
                return Err(PolicyError::Categories(format!(
                    "category `{}` must be 1 to 50 of a-z, 0-9, - or _",
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
        self.allowances
            .validate()
            .map_err(|e| PolicyError::Org(e.to_string()))?;
        if let Some(p) = &self.paying_account {
            p.validate().map_err(|e| PolicyError::Org(e.to_string()))?;
        }
        self.ledger
            .validate(self.categories.iter().map(|c| c.name.as_str()))
            .map_err(|e| PolicyError::Org(e.to_string()))?;
        self.validate_org()
    }

    /// Checks the cost centres, projects and rules, and that each rule names what exists.
    fn validate_org(&self) -> Result<(), PolicyError> {
        let org = &self.org;
        let invalid = |e: crate::OrgError| PolicyError::Org(e.to_string());
        crate::org::validate(&org.cost_centres, &org.projects).map_err(invalid)?;
        crate::rules::validate(&org.routing_rules).map_err(invalid)?;
        for r in &org.routing_rules {
            let missing = |what: &str, name: &str| {
                Err(PolicyError::Org(format!(
                    "rule `{}` names the {what} `{name}`, which does not exist",
                    r.name
                )))
            };
            if let Some(c) = r.category.as_deref().filter(|c| self.category(c).is_none()) {
                return missing("category", c);
            }
            if let Some(crate::CostCentreMatch::Code(c)) = &r.cost_centre
                && org.cost_centre(c).is_none()
            {
                return missing("cost centre", c);
            }
            if let Some(p) = r.project.as_deref().filter(|p| org.project(p).is_none()) {
                return missing("project", p);
            }
            if r.over.is_some_and(|o| o.currency() != self.base_currency) {
                return Err(PolicyError::NotBaseCurrency(
                    "a rule's amount",
                    self.base_currency,
                ));
            }
        }
        for p in &org.projects {
            if p.budget.is_some_and(|b| b.currency() != self.base_currency) {
                return Err(PolicyError::NotBaseCurrency(
                    "a project's budget",
                    self.base_currency,
                ));
            }
        }
        Ok(())
    }

    /// The rule of a category, if the category exists.
    pub fn category(&self, name: &str) -> Option<&CategoryRule> {
        self.categories.iter().find(|c| c.name == name)
    }
}

/// A policy rule an expense breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The rule: `receipt_required`, `category_limit`, `duplicate`, `too_old`, `future_date`,
    /// `currency_not_allowed`, `exchange_rate_missing`, `unknown_category` or `distance_cap`.
    pub rule: String,
    /// Hard blocks submission; soft needs a justification.
    pub severity: Severity,
    /// What is wrong, for people.
    pub message: String,
}

/// What the policy needs to know about an expense beyond the expense itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Today (UTC).
    pub today: chrono::NaiveDate,
    /// How many stored receipts the expense has.
    pub receipts: usize,
    /// Whether another expense of the owner has the same date, amount and merchant.
    pub duplicate: bool,
}

impl Policy {
    /// Every rule `expense` breaks, hard ones first.
    pub fn evaluate(&self, expense: &crate::Expense, facts: &Facts) -> Vec<Violation> {
        let d = &expense.details;
        let mut out = Vec::new();
        let mut add = |rule: &str, severity: Severity, message: String| {
            out.push(Violation {
                rule: rule.to_owned(),
                severity,
                message,
            });
        };
        if expense.draft {
            add(
                "draft",
                Severity::Hard,
                "the expense was made from a receipt: accept what was read, or enter its details"
                    .into(),
            );
        }
        let currency = d.amount().currency();
        if !self.allowed_currencies.is_empty() && !self.allowed_currencies.contains(&currency) {
            add(
                "currency_not_allowed",
                Severity::Hard,
                format!("expenses in {currency} are not allowed"),
            );
        }
        if expense.base_amount.is_none() {
            add(
                "exchange_rate_missing",
                Severity::Hard,
                format!(
                    "no {currency} rate to {} for {} or the {} days before; finance must add one",
                    self.base_currency,
                    d.date(),
                    crate::exchange::MAX_RATE_AGE_DAYS
                ),
            );
        }
        if d.date() > facts.today {
            add(
                "future_date",
                Severity::Hard,
                format!("the date {} is in the future", d.date()),
            );
        }
        if let Some(max) = self.max_age_days {
            let age = (facts.today - d.date()).num_days();
            if age > i64::from(max) {
                add(
                    "too_old",
                    Severity::Hard,
                    format!("the expense is {age} days old; the limit is {max} days"),
                );
            }
        }
        let rule = self.category(d.category());
        if rule.is_none() {
            add(
                "unknown_category",
                Severity::Hard,
                format!("the category `{}` is not in the policy", d.category()),
            );
        }
        if let (Some(base), Some(limit)) = (expense.base_amount, rule.and_then(|r| r.limit))
            && base.minor() > limit.minor()
        {
            let severity = rule.map_or(Severity::Soft, |r| r.limit_severity);
            add(
                "category_limit",
                severity,
                format!("{base} is over the {} limit of {limit}", d.category()),
            );
        }
        if let (Some(crate::Claim::Mileage { mileage, .. }), Some(cap)) =
            (&expense.claim, &self.allowances.max_trip)
            && crate::allowance::over_cap(cap, mileage.distance, mileage.unit)
        {
            add(
                "distance_cap",
                cap.severity,
                format!(
                    "the trip of {} {} is longer than the policy's {} {}",
                    mileage.distance,
                    mileage.unit.as_str(),
                    cap.distance,
                    cap.unit.as_str()
                ),
            );
        }
        // A claim priced from a rate table has no receipt to show.
        if let (Some(base), Some(from), None) = (
            expense.base_amount,
            self.receipt_required_from,
            &expense.claim,
        ) && base.minor() >= from.minor()
            && facts.receipts == 0
        {
            add(
                "receipt_required",
                self.receipt_severity,
                format!("a receipt is required from {from}"),
            );
        }
        if let (true, Some(severity)) = (facts.duplicate, self.duplicates) {
            add(
                "duplicate",
                severity,
                "another expense has the same date, amount and merchant".to_owned(),
            );
        }
        out.sort_by_key(|v| v.severity != Severity::Hard);
        out
    }

    /// The violations that block submitting `expense`: the hard ones, and the soft ones
    /// while it has no justification.
    pub fn blocking<'a>(
        &self,
        expense: &crate::Expense,
        violations: &'a [Violation],
    ) -> Vec<&'a Violation> {
        let justified = expense
            .justification
            .as_deref()
            .is_some_and(|j| !j.trim().is_empty());
        violations
            .iter()
            .filter(|v| v.severity == Severity::Hard || !justified)
            .collect()
    }
}

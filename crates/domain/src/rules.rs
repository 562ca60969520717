//! Routing rules: finance's ordered list of conditions, each adding one approval step when a
//! report matches it. Which lines a rule matches is decided here; who its step goes to is
//! resolved by the application and planned in [`crate::route`].

use serde::{Deserialize, Serialize};

use crate::expense::text_field;
use crate::{Expense, Money, OrgError, UserId};

/// The most rules a company keeps.
pub const MAX_RULES: usize = 100;

/// Which cost centre a rule looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostCentreMatch {
    /// Charges to this cost centre.
    Code(String),
    /// Charges to any cost centre other than the owner's home one.
    OtherThanHome,
}

/// Who decides the step a rule adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleApprover {
    /// The owner of each cost centre the matching lines are charged to.
    CostCentreOwner,
    /// This user.
    User(UserId),
    /// Anyone holding this role, but the owner and whoever approved an earlier step.
    Role(crate::Role),
}

/// A condition that adds one approval step. Every condition given must hold for a line's
/// charge to match; the rule applies when some charge matches and, with `over`, when the
/// matching charges together are above it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    /// What the rule is for, shown in the reason of its step.
    pub name: String,
    /// The lines' category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The cost centre charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_centre: Option<CostCentreMatch>,
    /// The lines' project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The matching charges must total more than this (base currency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over: Option<Money>,
    /// Who decides the step.
    pub approver: RuleApprover,
}

/// A rule that a report matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The rule's position in the list.
    pub rule: usize,
    /// The cost centres of the matching charges, in order of first appearance.
    pub cost_centres: Vec<String>,
    /// The matching charges' total, in minor units of the base currency.
    pub total: i64,
}

/// Checks the rules' own form; whether the codes and people they name exist is the
/// application's call.
pub fn validate(rules: &[RoutingRule]) -> Result<(), OrgError> {
    if rules.len() > MAX_RULES {
        return Err(OrgError::Invalid(format!(
            "at most {MAX_RULES} routing rules"
        )));
    }
    for r in rules {
        text_field("rule name", &r.name, true, 200)
            .map_err(|e| OrgError::Invalid(e.to_string()))?;
        if r.approver == RuleApprover::Role(crate::Role::Employee) {
            return Err(OrgError::Invalid(format!(
                "rule `{}`: everyone is an employee; name the manager, finance or admin role",
                r.name
            )));
        }
        if r.category.is_none()
            && r.cost_centre.is_none()
            && r.project.is_none()
            && r.over.is_none()
        {
            return Err(OrgError::Invalid(format!(
                "rule `{}` needs a condition: a category, a cost centre, a project or an amount",
                r.name
            )));
        }
    }
    Ok(())
}

/// The rules that the report of `lines` (its expenses, whose owner's home cost centre is
/// `home`) matches, in the rules' order.
pub fn hits(rules: &[RoutingRule], lines: &[Expense], home: Option<&str>) -> Vec<Hit> {
    let mut out = vec![];
    for (i, rule) in rules.iter().enumerate() {
        let mut centres: Vec<String> = vec![];
        let mut total: i64 = 0;
        let mut matched = false;
        for line in lines {
            if rule
                .category
                .as_deref()
                .is_some_and(|c| c != line.details.category())
                || rule
                    .project
                    .as_deref()
                    .is_some_and(|p| Some(p) != line.project())
            {
                continue;
            }
            // A line charged nowhere known (no splits, no home) still counts for the rules
            // that do not ask about cost centres.
            let mut charges = line.charged(home);
            if charges.is_empty() {
                charges.extend(line.base_amount.map(|b| (String::new(), b.minor())));
            }
            for (centre, minor) in charges {
                let known = !centre.is_empty();
                let matches = match &rule.cost_centre {
                    None => true,
                    Some(CostCentreMatch::Code(c)) => *c == centre,
                    Some(CostCentreMatch::OtherThanHome) => known && Some(centre.as_str()) != home,
                };
                if matches {
                    matched = true;
                    total = total.saturating_add(minor);
                    if known && !centres.contains(&centre) {
                        centres.push(centre);
                    }
                }
            }
        }
        if matched && rule.over.is_none_or(|o| total > o.minor()) {
            out.push(Hit {
                rule: i,
                cost_centres: centres,
                total,
            });
        }
    }
    out
}

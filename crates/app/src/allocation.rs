//! Where an expense is charged: its cost centre split and project, as a client sends them,
//! checked against the company's cost centres and projects. The arithmetic of a split is the
//! domain's ([`outlay_domain::org::split`]).

use outlay_domain::org::{Share, parse_code, split};
use outlay_domain::{Allocation, Money, Policy};

use crate::{AppError, Result};

/// One cost centre of a split as sent: a percentage or an amount (in the expense's currency).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitInput {
    /// The cost centre's code.
    pub cost_centre: String,
    /// A percentage with at most two decimals (`"60"`, `"33.33"`).
    pub percent: Option<String>,
    /// An amount, as a decimal string.
    pub amount: Option<String>,
}

/// The cost centres (empty: the owner's home one) and project of an expense as sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AllocationInput {
    /// The split.
    pub cost_centres: Vec<SplitInput>,
    /// The project's code.
    pub project: Option<String>,
}

/// Checks `input` for an expense of `amount` under `policy`: `None` when it charges nothing
/// beyond the owner's home cost centre.
pub(crate) fn allocation(
    policy: &Policy,
    amount: Money,
    input: &AllocationInput,
) -> Result<Option<Allocation>> {
    let org = &policy.org;
    let mut asked = Vec::with_capacity(input.cost_centres.len());
    for s in &input.cost_centres {
        let code = parse_code("cost centre", &s.cost_centre)
            .map_err(|e| AppError::BadInput(e.to_string()))?;
        match org.cost_centre(&code) {
            Some(c) if c.active => {}
            Some(_) => {
                return Err(AppError::Unprocessable(format!(
                    "cost centre {code} is closed"
                )));
            }
            None => {
                return Err(AppError::Unprocessable(format!(
                    "there is no cost centre {code}"
                )));
            }
        }
        let share = match (&s.percent, &s.amount) {
            (Some(p), None) => Share::BasisPoints(basis_points(p)?),
            (None, Some(a)) => Share::Amount(Money::parse(a, amount.currency())?),
            _ => {
                return Err(AppError::Unprocessable(format!(
                    "cost centre {code}: give either a percent or an amount"
                )));
            }
        };
        asked.push((code, share));
    }
    let splits = if asked.is_empty() {
        vec![]
    } else {
        split(amount, &asked).map_err(|e| AppError::Unprocessable(e.to_string()))?
    };
    let project = match input.project.as_deref() {
        None => None,
        Some(p) => {
            let code = parse_code("project", p).map_err(|e| AppError::BadInput(e.to_string()))?;
            if org.project(&code).is_none() {
                return Err(AppError::Unprocessable(format!(
                    "there is no project {code}"
                )));
            }
            Some(code)
        }
    };
    if splits.is_empty() && project.is_none() {
        return Ok(None);
    }
    Ok(Some(Allocation { splits, project }))
}

/// A percentage with at most two decimals, in hundredths of a percent (1 to 10,000): a
/// malformed one is 400, one out of range 422.
fn basis_points(p: &str) -> Result<u32> {
    let text = p.chars().take(20).collect::<String>();
    let bad = || {
        AppError::BadInput(format!(
            "percent `{text}` must be a number with at most two decimals"
        ))
    };
    let (whole, frac) = p.trim().split_once('.').unwrap_or((p.trim(), ""));
    if whole.is_empty()
        || whole.len() > 3
        || frac.len() > 2
        || !whole
            .chars()
            .chain(frac.chars())
            .all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let frac: u32 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    let points = whole * 100 + frac;
    if (1..=10_000).contains(&points) {
        Ok(points)
    } else {
        Err(AppError::Unprocessable(format!(
            "percent `{text}` must be from 0.01 to 100"
        )))
    }
}

//! The company's organisation for spend and approvals: cost centres with an owner who
//! approves, projects with a budget, and how an expense is charged to them (splits that sum
//! exactly to the expense).

use serde::{Deserialize, Serialize};

use crate::expense::text_field;
use crate::{Expense, Money, MoneyError, UserId};

/// The most cost centres, and the most projects, a company keeps.
pub const MAX_ENTRIES: usize = 500;
/// The most cost centres one expense is split over.
pub const MAX_SPLITS: usize = 10;

/// A cost centre: spend charged to it is approved by its owner when a routing rule says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostCentre {
    /// Its code (`ENG-2`): 1 to 20 of A-Z, 0-9, `-`, `_`.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Who approves spend charged to it.
    pub owner_id: Option<UserId>,
    /// Whether expenses may be charged to it now.
    pub active: bool,
}

/// A project that expenses may be charged to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Its code, as for cost centres.
    pub code: String,
    /// Its name.
    pub name: String,
    /// The customer it is for, if any.
    pub customer: Option<String>,
    /// Whether its spend is billed on to the customer.
    pub billable: bool,
    /// Its budget in the base currency, if it has one.
    pub budget: Option<Money>,
}

/// Why organisation data was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    /// A bad code, name or reference.
    #[error("{0}")]
    Invalid(String),
    /// Splits that do not sum to the expense.
    #[error("{0}")]
    Splits(String),
}

/// Checks a code: 1 to 20 of A-Z, 0-9, `-`, `_` (upper-cased).
pub fn parse_code(what: &str, code: &str) -> Result<String, OrgError> {
    let c = code.trim().to_uppercase();
    let ok = !c.is_empty()
        && c.len() <= 20
        && c.chars()
            .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '-' || ch == '_');
    if ok {
        Ok(c)
    } else {
        Err(OrgError::Invalid(format!(
            "{what} code `{}` must be 1 to 20 of A-Z, 0-9, - or _",
            code.chars().take(30).collect::<String>()
        )))
    }
}

/// The cost centres and projects of a company, checked together.
pub fn validate(cost_centres: &[CostCentre], projects: &[Project]) -> Result<(), OrgError> {
    if cost_centres.len() > MAX_ENTRIES || projects.len() > MAX_ENTRIES {
        return Err(OrgError::Invalid(format!(
            "at most {MAX_ENTRIES} cost centres and {MAX_ENTRIES} projects"
        )));
    }
    let name = |what: &'static str, n: &str| {
        text_field(what, n, true, 200).map_err(|e| OrgError::Invalid(e.to_string()))
    };
    let mut seen = std::collections::BTreeSet::new();
    for c in cost_centres {
        if parse_code("cost centre", &c.code)? != c.code || !seen.insert(&c.code) {
            return Err(OrgError::Invalid(format!(
                "cost centre `{}` is not a unique upper-case code",
                c.code
            )));
        }
        name("cost centre name", &c.name)?;
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in projects {
        if parse_code("project", &p.code)? != p.code || !seen.insert(&p.code) {
            return Err(OrgError::Invalid(format!(
                "project `{}` is not a unique upper-case code",
                p.code
            )));
        }
        name("project name", &p.name)?;
        if let Some(c) = &p.customer {
            name("customer", c)?;
        }
    }
    Ok(())
}

/// One part of an expense charged to a cost centre, in the expense's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// The cost centre's code.
    pub cost_centre: String,
    /// The part of the amount.
    pub amount: Money,
}

/// Where an expense is charged: cost centres (summing exactly to its amount) and a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Allocation {
    /// The splits; empty: all of it to the owner's home cost centre.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub splits: Vec<Split>,
    /// The project, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

/// A share asked for: a percentage (in hundredths of a percent, 1 to 10,000) or an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// Hundredths of a percent: `2550` is 25.5 %.
    BasisPoints(u32),
    /// An amount in the expense's currency.
    Amount(Money),
}

/// Splits `total` over cost centres as asked: amounts must sum to it exactly; percentages
/// must sum to 100 % and are rounded so that the parts still sum to it exactly (the largest
/// remainders get the leftover minor units, earlier parts first on ties). A cost centre
/// appears once.
pub fn split(total: Money, asked: &[(String, Share)]) -> Result<Vec<Split>, OrgError> {
    if asked.is_empty() || asked.len() > MAX_SPLITS {
        return Err(OrgError::Splits(format!(
            "an expense is split over 1 to {MAX_SPLITS} cost centres"
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    if !asked.iter().all(|(c, _)| seen.insert(c)) {
        return Err(OrgError::Splits(
            "a cost centre appears twice in the split".into(),
        ));
    }
    let money_error = |e: MoneyError| OrgError::Splits(format!("a split: {e}"));
    let all_amounts = asked.iter().all(|(_, s)| matches!(s, Share::Amount(_)));
    let all_percent = asked
        .iter()
        .all(|(_, s)| matches!(s, Share::BasisPoints(_)));
    let parts: Vec<i64> = if all_amounts {
        let mut parts = vec![];
        for (_, s) in asked {
            let Share::Amount(m) = s else {
                unreachable!("checked above")
            };
            if m.currency() != total.currency() {
                return Err(OrgError::Splits(format!(
                    "split amounts are in the expense's currency {}",
                    total.currency()
                )));
            }
            parts.push(m.minor());
        }
        if parts.iter().sum::<i64>() != total.minor() {
            return Err(OrgError::Splits(format!(
                "the split amounts must sum to {}",
                total
            )));
        }
        parts
    } else if all_percent {
        let points: Vec<i128> = asked
            .iter()
            .map(|(_, s)| match s {
                Share::BasisPoints(p) => i128::from(*p),
                Share::Amount(_) => 0,
            })
            .collect();
        if points.contains(&0) || points.iter().sum::<i128>() != 10_000 {
            return Err(OrgError::Splits(
                "the split percentages must each be above 0 and sum to 100".into(),
            ));
        }
        let whole = i128::from(total.minor());
        let mut parts: Vec<i128> = points.iter().map(|p| whole * p / 10_000).collect();
        let mut left = whole - parts.iter().sum::<i128>();
        let mut order: Vec<usize> = (0..parts.len()).collect();
        order.sort_by_key(|i| std::cmp::Reverse(whole * points[*i] % 10_000));
        for i in order {
            if left == 0 {
                break;
            }
            parts[i] += 1;
            left -= 1;
        }
        parts
            .into_iter()
            .map(|p| i64::try_from(p).unwrap_or(i64::MAX))
            .collect()
    } else {
        return Err(OrgError::Splits(
            "a split is all percentages or all amounts".into(),
        ));
    };
    asked
        .iter()
        .zip(parts)
        .map(|((code, _), minor)| {
            Ok(Split {
                cost_centre: code.clone(),
                amount: Money::from_minor(minor, total.currency()).map_err(money_error)?,
            })
        })
        .collect()
}

/// `base` (the expense's amount in the base currency) shared out like `splits` share out
/// `total`, summing exactly to `base`: what each cost centre is charged in the base currency.
pub fn in_base(total: Money, splits: &[Split], base: Money) -> Vec<(String, i64)> {
    let weights: Vec<i64> = splits.iter().map(|s| s.amount.minor()).collect();
    debug_assert_eq!(
        weights.iter().sum::<i64>(),
        total.minor(),
        "the splits sum to the total"
    );
    splits
        .iter()
        .zip(apportion(base.minor(), &weights))
        .map(|(s, p)| (s.cost_centre.clone(), p))
        .collect()
}

/// `whole` shared out in proportion to `weights`, each part rounded down and the rest handed
/// out a unit at a time to the largest remainders: the parts sum to `whole` exactly. The one
/// rule of splitting money, for cost centres and for journal lines.
pub fn apportion(whole: i64, weights: &[i64]) -> Vec<i64> {
    let of = i128::from(weights.iter().sum::<i64>().max(1));
    let whole_wide = i128::from(whole);
    let mut parts: Vec<i128> = weights
        .iter()
        .map(|w| whole_wide * i128::from(*w) / of)
        .collect();
    let mut left = whole_wide - parts.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(whole_wide * i128::from(weights[*i]) % of));
    for i in order {
        if left <= 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
        .into_iter()
        .map(|p| i64::try_from(p).unwrap_or(i64::MAX))
        .collect()
}

impl Expense {
    /// What each cost centre is charged, in minor units of the base currency: the splits, or
    /// all of it to `home` (the owner's home cost centre) when there are none. Empty without a
    /// base amount, or without splits and a home.
    pub fn charged(&self, home: Option<&str>) -> Vec<(String, i64)> {
        let Some(base) = self.base_amount else {
            return vec![];
        };
        let splits = self.allocation.as_ref().map_or(&[][..], |a| &a.splits[..]);
        if splits.is_empty() {
            return home
                .map(|h| vec![(h.to_owned(), base.minor())])
                .unwrap_or_default();
        }
        in_base(self.details.amount(), splits, base)
    }

    /// The project it is charged to, if any.
    pub fn project(&self) -> Option<&str> {
        self.allocation.as_ref().and_then(|a| a.project.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, crate::Currency::parse("USD").expect("USD")).expect("positive")
    }

    #[test]
    fn percentages_split_to_the_cent_and_sum_exactly() {
        let parts = split(
            usd(10_000),
            &[
                ("A".into(), Share::BasisPoints(3333)),
                ("B".into(), Share::BasisPoints(3333)),
                ("C".into(), Share::BasisPoints(3334)),
            ],
        )
        .expect("a split");
        let minors: Vec<i64> = parts.iter().map(|s| s.amount.minor()).collect();
        assert_eq!(minors, [3333, 3333, 3334]);
        let thirds = split(
            usd(100),
            &[
                ("A".into(), Share::BasisPoints(5000)),
                ("B".into(), Share::BasisPoints(5000)),
            ],
        )
        .expect("a split");
        assert_eq!(thirds.iter().map(|s| s.amount.minor()).sum::<i64>(), 100);
    }

    #[test]
    fn splits_that_do_not_add_up_are_refused() {
        for asked in [
            vec![("A".to_owned(), Share::BasisPoints(6000))],
            vec![("A".to_owned(), Share::Amount(usd(50)))],
            vec![
                ("A".to_owned(), Share::Amount(usd(100))),
                ("A".to_owned(), Share::Amount(usd(1))),
            ],
            vec![
                ("A".to_owned(), Share::Amount(usd(50))),
                ("B".to_owned(), Share::BasisPoints(5000)),
            ],
            vec![],
        ] {
            assert!(split(usd(100), &asked).is_err(), "{asked:?}");
        }
        // One cent over two halves of a percent: a part would be nothing.
        assert!(
            split(
                usd(1),
                &[
                    ("A".into(), Share::BasisPoints(5000)),
                    ("B".into(), Share::BasisPoints(5000))
                ]
            )
            .is_err()
        );
    }

    proptest! {
        #[test]
        fn any_percentage_split_sums_to_the_expense(total in 1_000_i64..10_000_000, cuts in prop::collection::vec(1_u32..5000, 1..5)) {
            let mut points: Vec<u32> = cuts.clone();
            let sum: u32 = points.iter().sum();
            if sum >= 10_000 { return Ok(()); }
            points.push(10_000 - sum);
            let asked: Vec<(String, Share)> = points.iter().enumerate().map(|(i, p)| (format!("C{i}"), Share::BasisPoints(*p))).collect();
            let parts = split(usd(total), &asked).expect("a split");
            prop_assert_eq!(parts.iter().map(|s| s.amount.minor()).sum::<i64>(), total);
            let base = in_base(usd(total), &parts, usd(total / 3 + 1));
            prop_assert_eq!(base.iter().map(|(_, m)| m).sum::<i64>(), total / 3 + 1);
        }
    }
}

#[cfg(test)]
mod apportion_tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn apportioned_parts_sum_to_the_whole_exactly(
            whole in 0_i64..1_000_000_000,
            weights in prop::collection::vec(1_i64..1_000_000, 1..10),
        ) {
            let parts = super::apportion(whole, &weights);
            prop_assert_eq!(parts.iter().sum::<i64>(), whole);
            prop_assert!(parts.iter().all(|p| *p >= 0));
        }
    }
}

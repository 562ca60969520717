//! Searching the expense and report lists: what a client may narrow a list to, the order it
//! asks for, and the one statement of what matches ([`ListFilter::matches`]).
//!
//! The stores answer these searches through [`Store::find_expenses`] and
//! [`Store::find_reports`]. Their default implementations walk the list's scope and apply the
//! statement here in memory (the DynamoDB store uses them); the SQL stores say the same in SQL,
//! and the conformance suite holds every store to this module's answer.
//!
//! [`Store::find_expenses`]: crate::Store::find_expenses
//! [`Store::find_reports`]: crate::Store::find_reports

use chrono::NaiveDate;
use outlay_domain::{Currency, Expense, Money, Report, UserId};

use crate::change::{Page, PageRequest, ReportQuery};
use crate::{AppError, StoreError};

/// The longest text search.
pub const MAX_SEARCH: usize = 100;

/// What a list is narrowed to. Every part is optional; an empty filter matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListFilter {
    /// Text the item's words contain, in ASCII lower case: an expense's merchant and
    /// description, a report's title and purpose, and the employee's name. Case is ignored for
    /// ASCII letters only, as every store can do alike (SQLite's `lower` folds no other).
    pub q: Option<String>,
    /// The first day (an expense's date; the day a report was submitted, or created if never).
    pub from: Option<NaiveDate>,
    /// The last day, inclusive.
    pub to: Option<NaiveDate>,
    /// A policy category: the expense's, or one of the report's expenses'.
    pub category: Option<String>,
    /// The employee.
    pub owner_id: Option<UserId>,
    /// The least amount in the base currency, in minor units (an expense's base amount, a
    /// report's total). Items without a base amount match no amount bound.
    pub min_minor: Option<i64>,
    /// The greatest amount in the base currency, in minor units.
    pub max_minor: Option<i64>,
}

/// The order of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// The list's own order: newest first, and the approvals queue oldest submission first.
    #[default]
    Natural,
    /// By day, oldest first (ties by id).
    DateAsc,
    /// By day, newest first.
    DateDesc,
    /// By amount in the base currency, smallest first; unknown amounts first.
    AmountAsc,
    /// By amount, largest first; unknown amounts last.
    AmountDesc,
}

impl Sort {
    /// Reads the API's `sort`: `date`, `-date`, `amount` or `-amount`.
    pub fn parse(s: &str) -> crate::Result<Self> {
        Ok(match s {
            "date" => Self::DateAsc,
            "-date" => Self::DateDesc,
            "amount" => Self::AmountAsc,
            "-amount" => Self::AmountDesc,
            other => {
                return Err(AppError::BadInput(format!(
                    "sort `{}` is not one of date, -date, amount, -amount",
                    other.chars().take(20).collect::<String>()
                )));
            }
        })
    }

    /// Whether larger keys come first.
    pub fn descending(self) -> bool {
        matches!(self, Self::DateDesc | Self::AmountDesc)
    }

    /// Whether it orders by amount.
    pub fn by_amount(self) -> bool {
        matches!(self, Self::AmountAsc | Self::AmountDesc)
    }
}

/// The sort key of an amount, as it goes into a cursor: unknown amounts (`None`) below every
/// known one, and the text orders as the number does.
pub fn amount_key(minor: Option<i64>) -> String {
    // Minor units are never negative, so -1 is below every amount; the offset keeps it unsigned.
    format!("{:020}", minor.map_or(0, |m| i128::from(m) + 1))
}

/// The amount an [`amount_key`] names: `None` for an unknown amount; an error for anything else.
pub fn parse_amount_key(key: &str) -> Result<Option<i64>, StoreError> {
    let n: i128 = key.parse().map_err(|_| StoreError::BadCursor)?;
    match n {
        0 => Ok(None),
        n => i64::try_from(n - 1)
            .ok()
            .filter(|m| *m >= 0)
            .map(Some)
            .ok_or(StoreError::BadCursor),
    }
}

/// The cursor key of an item of a list sorted by `sort` (not the natural order): its day or
/// amount, then its id.
pub fn sorted_key(sort: Sort, day: NaiveDate, minor: Option<i64>, id: &str) -> String {
    if sort.by_amount() {
        format!("{}|{id}", amount_key(minor))
    } else {
        format!("{day}|{id}")
    }
}

/// Splits a sorted list's cursor into its sort key and id.
pub fn split_cursor(after: &str) -> Result<(&str, &str), StoreError> {
    after.split_once('|').ok_or(StoreError::BadCursor)
}

/// Which expenses a search looks through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpenseScope {
    /// One employee's own expenses.
    Owner(UserId),
    /// Every expense in a submitted report (not a draft): finance's view.
    Submitted,
}

/// A search of the expenses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpenseSearch {
    /// Where it looks.
    pub scope: ExpenseScope,
    /// Only expenses in a report (`Some(true)`) or in none (`Some(false)`).
    pub reported: Option<bool>,
    /// What they must match.
    pub filter: ListFilter,
    /// Their order.
    pub sort: Sort,
}

impl ExpenseSearch {
    /// The owner whose own list this is, unfiltered and in its own order, if it is.
    pub fn plain_owner(&self) -> Option<UserId> {
        match self.scope {
            ExpenseScope::Owner(owner)
                if self.reported.is_none()
                    && self.filter == ListFilter::default()
                    && self.sort == Sort::Natural =>
            {
                Some(owner)
            }
            _ => None,
        }
    }
}

/// A search of the reports: a [`ReportQuery`]'s scope and state, narrowed and ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSearch {
    /// The scope and state.
    pub query: ReportQuery,
    /// What they must match.
    pub filter: ListFilter,
    /// Their order.
    pub sort: Sort,
}

impl ReportSearch {
    /// Whether it is the query's own list, unfiltered, in its own order.
    pub fn is_plain(&self) -> bool {
        self.filter == ListFilter::default() && self.sort == Sort::Natural
    }
}

/// What [`ListFilter::matches`] needs to know of an item.
#[derive(Debug, Clone)]
pub struct Listed<'a> {
    /// Its day.
    pub day: NaiveDate,
    /// Its amount in the base currency, in minor units.
    pub minor: Option<i64>,
    /// Its employee.
    pub owner_id: UserId,
    /// Its employee's name.
    pub owner_name: &'a str,
    /// Its words (merchant and description; title and purpose).
    pub words: [&'a str; 2],
    /// Its categories.
    pub categories: Vec<&'a str>,
}

impl<'a> Listed<'a> {
    /// An expense, owned by `owner_name`.
    pub fn expense(e: &'a Expense, owner_name: &'a str) -> Self {
        Self {
            day: e.details.date(),
            minor: e.base_amount.map(|m| m.minor()),
            owner_id: e.owner_id,
            owner_name,
            words: [e.details.merchant(), e.details.description()],
            categories: vec![e.details.category()],
        }
    }

    /// A report owned by `owner_name` whose expenses are in `categories`.
    pub fn report(r: &'a Report, owner_name: &'a str, categories: Vec<&'a str>) -> Self {
        Self {
            day: report_day(r),
            minor: r.total.map(|m| m.minor()),
            owner_id: r.owner_id,
            owner_name,
            words: [&r.title, &r.purpose],
            categories,
        }
    }
}

/// The day a report is listed under: when it was submitted, or created if it never was (UTC).
pub fn report_day(r: &Report) -> NaiveDate {
    r.submitted_at.unwrap_or(r.created_at).date_naive()
}

impl ListFilter {
    /// Reads the API's parameters; amounts are in `base`, the policy's base currency.
    pub fn parse(raw: &ListParams, base: Currency) -> crate::Result<Self> {
        let q = match raw.q.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(q) if q.chars().count() > MAX_SEARCH => {
                return Err(AppError::BadInput(format!(
                    "q must be at most {MAX_SEARCH} characters"
                )));
            }
            Some(q) => Some(q.to_ascii_lowercase()),
        };
        let day = |name: &str, v: &Option<String>| -> crate::Result<Option<NaiveDate>> {
            v.as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| {
                    // Four-digit years only: the stores compare days as text.
                    let shaped = s.len() == 10
                        && s.bytes().enumerate().all(|(i, b)| {
                            if i == 4 || i == 7 {
                                b == b'-'
                            } else {
                                b.is_ascii_digit()
                            }
                        });
                    shaped
                        .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                        .flatten()
                        .ok_or_else(|| {
                            AppError::BadInput(format!("{name} must be a date (YYYY-MM-DD)"))
                        })
                })
                .transpose()
        };
        let amount = |name: &str, v: &Option<String>| -> crate::Result<Option<i64>> {
            v.as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| {
                    // Zero is a bound like any other, though no amount is zero.
                    let zero = s.bytes().any(|b| b == b'0')
                        && s.bytes().all(|b| b == b'0' || b == b'.')
                        && s.matches('.').count() <= 1;
                    if zero {
                        return Ok(0);
                    }
                    // A plain decimal the currency cannot hold (too many decimals, too large)
                    // is well-formed: 422; anything else is malformed: 400.
                    let (whole, fraction) = s.split_once('.').unwrap_or((s, "0"));
                    let plain = (1..=19).contains(&whole.len())
                        && (1..=4).contains(&fraction.len())
                        && whole
                            .bytes()
                            .chain(fraction.bytes())
                            .all(|b| b.is_ascii_digit());
                    Money::parse(s, base).map(|m| m.minor()).map_err(|e| {
                        let why = format!("{name} must be an amount in {base}: {e}");
                        if plain {
                            AppError::Unprocessable(why)
                        } else {
                            AppError::BadInput(why)
                        }
                    })
                })
                .transpose()
        };
        let filter = Self {
            q,
            from: day("from", &raw.from)?,
            to: day("to", &raw.to)?,
            category: raw
                .category
                .as_deref()
                .map(|c| c.trim().to_lowercase())
                .filter(|c| !c.is_empty())
                .map(|c| {
                    if c.chars().count() > 50 {
                        Err(AppError::BadInput(
                            "category must be at most 50 characters".into(),
                        ))
                    } else {
                        Ok(c)
                    }
                })
                .transpose()?,
            owner_id: raw
                .owner_id
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| {
                    UserId::parse(s)
                        .map_err(|_| AppError::BadInput("owner_id must be a user id".into()))
                })
                .transpose()?,
            min_minor: amount("min_amount", &raw.min_amount)?,
            max_minor: amount("max_amount", &raw.max_amount)?,
        };
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from > to
        {
            return Err(AppError::Unprocessable("from must not be after to".into()));
        }
        if let (Some(min), Some(max)) = (filter.min_minor, filter.max_minor)
            && min > max
        {
            return Err(AppError::Unprocessable(
                "min_amount must not be above max_amount".into(),
            ));
        }
        Ok(filter)
    }

    /// Whether `item` matches: the one statement every store answers to.
    pub fn matches(&self, item: &Listed<'_>) -> bool {
        let text = |q: &str| {
            item.words
                .iter()
                .chain(std::iter::once(&item.owner_name))
                .any(|w| w.to_ascii_lowercase().contains(q))
        };
        self.q.as_deref().is_none_or(text)
            && self.from.is_none_or(|d| item.day >= d)
            && self.to.is_none_or(|d| item.day <= d)
            && self
                .category
                .as_deref()
                .is_none_or(|c| item.categories.contains(&c))
            && self.owner_id.is_none_or(|o| item.owner_id == o)
            && self
                .min_minor
                .is_none_or(|m| item.minor.is_some_and(|v| v >= m))
            && self
                .max_minor
                .is_none_or(|m| item.minor.is_some_and(|v| v <= m))
    }

    /// The text search as a SQL `LIKE` pattern (escaped with `\`).
    pub fn like_pattern(&self) -> Option<String> {
        self.q.as_deref().map(|q| {
            let mut p = String::with_capacity(q.len() + 2);
            p.push('%');
            for c in q.chars() {
                if matches!(c, '%' | '_' | '\\') {
                    p.push('\\');
                }
                p.push(c);
            }
            p.push('%');
            p
        })
    }
}

/// The list parameters as the client sent them (the API's query string, the web UI's form).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ListParams {
    /// Text search.
    pub q: Option<String>,
    /// First day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`.
    pub to: Option<String>,
    /// Policy category.
    pub category: Option<String>,
    /// The employee's user id.
    pub owner_id: Option<String>,
    /// Least amount in the base currency.
    pub min_amount: Option<String>,
    /// Greatest amount in the base currency.
    pub max_amount: Option<String>,
    /// `date`, `-date`, `amount` or `-amount`.
    pub sort: Option<String>,
    /// A report state, or for expenses `unreported` or `reported`.
    pub state: Option<String>,
}

impl ListParams {
    /// The order asked for.
    pub fn sort(&self) -> crate::Result<Sort> {
        match self.sort.as_deref() {
            None | Some("") => Ok(Sort::Natural),
            Some(s) => Sort::parse(s),
        }
    }
}

/// One page of `items` (the whole matching list, in its natural order) in `sort`'s order, after
/// the cursor: the in-memory answer of a search. `natural` is the natural order's key and
/// direction, `key` the item's day, amount and id.
pub fn page_in_memory<T>(
    mut items: Vec<T>,
    sort: Sort,
    natural: (fn(&T) -> String, bool),
    key: impl Fn(&T) -> (NaiveDate, Option<i64>, String),
    page: &PageRequest,
) -> Result<Page<T>, StoreError> {
    let sort_key = |item: &T| -> String {
        let (day, minor, id) = key(item);
        match sort {
            Sort::Natural => natural.0(item),
            s => sorted_key(s, day, minor, &id),
        }
    };
    let descending = match sort {
        Sort::Natural => natural.1,
        s => s.descending(),
    };
    let mut keyed: Vec<(String, T)> = items.drain(..).map(|i| (sort_key(&i), i)).collect();
    keyed.sort_by(|a, b| {
        if descending {
            b.0.cmp(&a.0)
        } else {
            a.0.cmp(&b.0)
        }
    });
    if let Some(after) = page.after()? {
        if sort != Sort::Natural {
            split_cursor(&after)?;
        }
        keyed.retain(|(k, _)| if descending { *k < after } else { *k > after });
    }
    let more = keyed.len() > page.limit as usize;
    keyed.truncate(page.limit as usize);
    let last = keyed.last().map(|(k, _)| k.clone());
    let items: Vec<T> = keyed.into_iter().map(|(_, i)| i).collect();
    Ok(Page {
        items,
        next_cursor: if more {
            last.map(crate::encode_cursor)
        } else {
            None
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").expect("USD")
    }

    #[test]
    fn parameters_are_checked_and_normalised() {
        let raw = ListParams {
            q: Some("  Hotel ".into()),
            from: Some("2026-01-01".into()),
            to: Some("2026-01-31".into()),
            category: Some("Travel".into()),
            min_amount: Some("10".into()),
            max_amount: Some("99.99".into()),
            ..ListParams::default()
        };
        let f = ListFilter::parse(&raw, usd()).expect("valid");
        assert_eq!(f.q.as_deref(), Some("hotel"));
        assert_eq!(f.category.as_deref(), Some("travel"));
        assert_eq!((f.min_minor, f.max_minor), (Some(1000), Some(9999)));
        for bad in [
            ListParams {
                from: Some("2026-02-30".into()),
                ..ListParams::default()
            },
            ListParams {
                from: Some("+10000-01-01".into()),
                ..ListParams::default()
            },
            ListParams {
                to: Some("2026-1-01".into()),
                ..ListParams::default()
            },
            ListParams {
                min_amount: Some("-1".into()),
                ..ListParams::default()
            },
            ListParams {
                q: Some("x".repeat(101)),
                ..ListParams::default()
            },
            ListParams {
                owner_id: Some("nobody".into()),
                ..ListParams::default()
            },
        ] {
            assert!(
                matches!(ListFilter::parse(&bad, usd()), Err(AppError::BadInput(_))),
                "{bad:?} is refused"
            );
        }
        let zero = ListParams {
            min_amount: Some("0.00".into()),
            ..ListParams::default()
        };
        assert_eq!(
            ListFilter::parse(&zero, usd()).expect("valid").min_minor,
            Some(0)
        );
        for crossed in [
            ListParams {
                from: Some("2026-02-02".into()),
                to: Some("2026-02-01".into()),
                ..ListParams::default()
            },
            ListParams {
                min_amount: Some("5".into()),
                max_amount: Some("4".into()),
                ..ListParams::default()
            },
        ] {
            assert!(
                matches!(
                    ListFilter::parse(&crossed, usd()),
                    Err(AppError::Unprocessable(_))
                ),
                "{crossed:?} is well-formed but crossed: 422"
            );
        }
        assert!(Sort::parse("price").is_err());
        assert_eq!(Sort::parse("-amount").expect("valid"), Sort::AmountDesc);
    }

    #[test]
    fn like_patterns_escape_the_wildcards() {
        let f = ListFilter {
            q: Some("50%_off\\".into()),
            ..ListFilter::default()
        };
        assert_eq!(f.like_pattern().as_deref(), Some("%50\\%\\_off\\\\%"));
    }

    #[test]
    fn amount_keys_order_as_the_amounts_and_read_back() {
        let keys: Vec<String> = [None, Some(0), Some(9), Some(10), Some(i64::MAX)]
            .into_iter()
            .map(amount_key)
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        for m in [None, Some(0), Some(12345), Some(i64::MAX)] {
            assert_eq!(parse_amount_key(&amount_key(m)).expect("reads back"), m);
        }
        assert!(parse_amount_key("x").is_err());
    }

    #[test]
    fn memory_pages_follow_the_sort_and_the_cursor() {
        let items: Vec<_> = (0..7)
            .map(|i| {
                (
                    NaiveDate::from_ymd_opt(2026, 1, 1 + (i * 3) % 7).expect("a day"),
                    (i % 3 != 0).then_some(i64::from(i) * 100),
                    format!("id{i}"),
                )
            })
            .collect();
        type Item = (NaiveDate, Option<i64>, String);
        let natural: (fn(&Item) -> String, bool) = (|i| i.2.clone(), true);
        for sort in [Sort::Natural, Sort::DateAsc, Sort::AmountDesc] {
            let mut req = PageRequest {
                limit: 3,
                cursor: None,
            };
            let mut seen = Vec::new();
            loop {
                let page = page_in_memory(items.clone(), sort, natural, |i| i.clone(), &req)
                    .expect("a page");
                seen.extend(page.items.into_iter().map(|i| i.2));
                match page.next_cursor {
                    Some(c) => req.cursor = Some(c),
                    None => break,
                }
            }
            let mut expected = items.clone();
            match sort {
                Sort::Natural => expected.sort_by(|a, b| b.2.cmp(&a.2)),
                Sort::DateAsc => expected.sort_by(|a, b| (a.0, &a.2).cmp(&(b.0, &b.2))),
                _ => expected.sort_by(|a, b| (b.1, &b.2).cmp(&(a.1, &a.2))),
            }
            let expected: Vec<String> = expected.into_iter().map(|i| i.2).collect();
            assert_eq!(seen, expected, "{sort:?}");
        }
    }
}

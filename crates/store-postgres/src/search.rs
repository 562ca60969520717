//! Searching the expenses and reports in SQL: the list's scope narrows through its index, the
//! filter (`outlay_app::lists::ListFilter`, whose `matches` is the statement this follows) and
//! the order are applied by PostgreSQL, and only a page's rows come back.

use outlay_app::lists::{
    ExpenseScope, ExpenseSearch, ListFilter, ReportSearch, Sort, parse_amount_key, report_day,
    sorted_key, split_cursor,
};
use outlay_app::{Page, PageRequest, ReportScope, StoreError, StoreResult};
use outlay_domain::{Expense, Report};
use sqlx::{Postgres, QueryBuilder};

use crate::PgStore;
use crate::rows::{self, read_error};

/// A report's day: submitted, or created if never (UTC, `YYYY-MM-DD`).
const REPORT_DAY: &str = "to_char(coalesce(r.submitted_at, (r.body->>'created_at')::timestamptz) AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
/// A report's total in minor units (the decimal's digits: it has exactly the currency's
/// decimals), or -1 when unknown.
const REPORT_AMOUNT: &str = "coalesce(replace(r.body->'total'->>'amount', '.', '')::bigint, -1)";
/// An expense's day.
const EXPENSE_DAY: &str = "to_char(e.spent_on, 'YYYY-MM-DD')";
/// An expense's base amount in minor units, or -1.
const EXPENSE_AMOUNT: &str =
    "coalesce(replace(e.body->'base_amount'->>'amount', '.', '')::bigint, -1)";

fn uuid(s: &str) -> StoreResult<uuid::Uuid> {
    uuid::Uuid::try_parse(s).map_err(|_| StoreError::BadCursor)
}

/// The filter's parts that an expense and a report share, on `alias` with its words.
fn push_filter(
    q: &mut QueryBuilder<'_, Postgres>,
    filter: &ListFilter,
    alias: &str,
    words: [&str; 2],
    day: &str,
    amount: &str,
) {
    if let Some(pattern) = filter.like_pattern() {
        q.push(" AND (");
        for w in words {
            // ASCII case folding only, as the statement says (the "C" collation's `lower`).
            q.push(format!(
                "lower(({alias}.body #>> '{w}') COLLATE \"C\") LIKE "
            ))
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR ");
        }
        q.push(format!(
            "EXISTS (SELECT 1 FROM users AS u WHERE u.id = {alias}.owner_id AND lower(u.name COLLATE \"C\") LIKE "
        ))
        .push_bind(pattern)
        .push(" ESCAPE '\\'))");
    }
    if let Some(from) = filter.from {
        q.push(format!(" AND {day} >= "))
            .push_bind(from.to_string());
    }
    if let Some(to) = filter.to {
        q.push(format!(" AND {day} <= ")).push_bind(to.to_string());
    }
    if let Some(owner) = filter.owner_id {
        q.push(format!(" AND {alias}.owner_id = "))
            .push_bind(owner.as_uuid());
    }
    if let Some(min) = filter.min_minor {
        q.push(format!(" AND {amount} >= ")).push_bind(min);
    }
    if let Some(max) = filter.max_minor {
        // Unknown amounts (-1) match no bound.
        q.push(format!(" AND {amount} >= 0 AND {amount} <= "))
            .push_bind(max);
    }
}

/// The order and the cursor's condition of a sorted list on `day` and `amount`.
fn push_sorted(
    q: &mut QueryBuilder<'_, Postgres>,
    sort: Sort,
    alias: &str,
    day: &str,
    amount: &str,
    page: &PageRequest,
) -> StoreResult<()> {
    let key = if sort.by_amount() { amount } else { day };
    let (cmp, dir) = if sort.descending() {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(after) = page.after()? {
        let (k, id) = split_cursor(&after)?;
        q.push(format!(" AND ({key}, {alias}.id) {cmp} ("));
        if sort.by_amount() {
            q.push_bind(parse_amount_key(k)?.unwrap_or(-1));
        } else {
            q.push_bind(k.to_owned());
        }
        q.push(", ").push_bind(uuid(id)?).push(")");
    }
    q.push(format!(" ORDER BY {key} {dir}, {alias}.id {dir} LIMIT "))
        .push_bind(i64::from(page.limit) + 1);
    Ok(())
}

impl PgStore {
    /// [`outlay_app::Store::find_reports`] in one query.
    pub(crate) async fn search_reports(
        &self,
        search: &ReportSearch,
        page: &PageRequest,
    ) -> StoreResult<Page<Report>> {
        let mut q =
            QueryBuilder::<Postgres>::new("SELECT r.body::text AS body FROM reports AS r WHERE ");
        let approvals = matches!(search.query.scope, ReportScope::Approvals { .. });
        match &search.query.scope {
            ReportScope::Mine(owner) => {
                q.push("r.owner_id = ").push_bind(owner.as_uuid());
            }
            ReportScope::All => {
                q.push("r.state <> 'draft'");
            }
            ReportScope::DecidedBy(user) => {
                q.push("r.id IN (SELECT report_id FROM report_deciders WHERE user_id = ")
                    .push_bind(user.as_uuid())
                    .push(")");
            }
            ReportScope::Approvals { user, shared } => {
                // The domain's queue keys: the user's own queue, and the shared queues they
                // take from, less what they are barred from.
                let shared: Vec<String> = shared.iter().map(|k| k.key()).collect();
                q.push("(r.queue = ")
                    .push_bind(user.to_string())
                    .push(" OR (r.queue = ANY (")
                    .push_bind(shared)
                    .push(") AND NOT (")
                    .push_bind(user.as_uuid())
                    .push(" = ANY (r.barred))))");
            }
        }
        if let Some(state) = search.query.state {
            q.push(" AND r.state = ").push_bind(state.as_str());
        }
        push_filter(
            &mut q,
            &search.filter,
            "r",
            ["{title}", "{purpose}"],
            REPORT_DAY,
            REPORT_AMOUNT,
        );
        if let Some(category) = &search.filter.category {
            q.push(" AND EXISTS (SELECT 1 FROM expenses AS e WHERE e.report_id = r.id AND e.body #>> '{details,category}' = ")
                .push_bind(category.clone())
                .push(")");
        }
        match search.sort {
            Sort::Natural if approvals => {
                if let Some(after) = page.after()? {
                    let (at, id) = split_cursor(&after)?;
                    let at = chrono::DateTime::parse_from_rfc3339(at)
                        .map_err(|_| StoreError::BadCursor)?
                        .with_timezone(&chrono::Utc);
                    q.push(" AND (r.submitted_at, r.id) > (")
                        .push_bind(at)
                        .push(", ")
                        .push_bind(uuid(id)?)
                        .push(")");
                }
                q.push(" ORDER BY r.submitted_at, r.id LIMIT ")
                    .push_bind(i64::from(page.limit) + 1);
            }
            Sort::Natural => {
                if let Some(after) = page.after()? {
                    q.push(" AND r.id < ").push_bind(uuid(&after)?);
                }
                q.push(" ORDER BY r.id DESC LIMIT ")
                    .push_bind(i64::from(page.limit) + 1);
            }
            sort => push_sorted(&mut q, sort, "r", REPORT_DAY, REPORT_AMOUNT, page)?,
        }
        let found = q.build().fetch_all(&self.pool).await.map_err(read_error)?;
        let sort = search.sort;
        crate::reads::page(found, page.limit, rows::body, |r: &Report| match sort {
            Sort::Natural if approvals => format!(
                "{}|{}",
                r.submitted_at
                    .map(outlay_domain::audit::format_time)
                    .unwrap_or_default(),
                r.id
            ),
            Sort::Natural => r.id.to_string(),
            s => sorted_key(
                s,
                report_day(r),
                r.total.map(|t| t.minor()),
                &r.id.to_string(),
            ),
        })
    }

    /// [`outlay_app::Store::find_expenses`] in one query.
    pub(crate) async fn search_expenses(
        &self,
        search: &ExpenseSearch,
        page: &PageRequest,
    ) -> StoreResult<Page<Expense>> {
        let mut q =
            QueryBuilder::<Postgres>::new("SELECT e.body::text AS body FROM expenses AS e WHERE ");
        match search.scope {
            ExpenseScope::Owner(owner) => {
                q.push("e.owner_id = ").push_bind(owner.as_uuid());
            }
            ExpenseScope::Submitted => {
                q.push("e.report_id IN (SELECT id FROM reports WHERE state <> 'draft')");
            }
        }
        match search.reported {
            Some(true) => {
                q.push(" AND e.report_id IS NOT NULL");
            }
            Some(false) => {
                q.push(" AND e.report_id IS NULL");
            }
            None => {}
        }
        push_filter(
            &mut q,
            &search.filter,
            "e",
            ["{details,merchant}", "{details,description}"],
            EXPENSE_DAY,
            EXPENSE_AMOUNT,
        );
        if let Some(category) = &search.filter.category {
            q.push(" AND e.body #>> '{details,category}' = ")
                .push_bind(category.clone());
        }
        match search.sort {
            Sort::Natural => {
                if let Some(after) = page.after()? {
                    q.push(" AND e.id < ").push_bind(uuid(&after)?);
                }
                q.push(" ORDER BY e.id DESC LIMIT ")
                    .push_bind(i64::from(page.limit) + 1);
            }
            sort => push_sorted(&mut q, sort, "e", EXPENSE_DAY, EXPENSE_AMOUNT, page)?,
        }
        let found = q.build().fetch_all(&self.pool).await.map_err(read_error)?;
        let sort = search.sort;
        crate::reads::page(found, page.limit, rows::body, |e: &Expense| match sort {
            Sort::Natural => e.id.to_string(),
            s => sorted_key(
                s,
                e.details.date(),
                e.base_amount.map(|m| m.minor()),
                &e.id.to_string(),
            ),
        })
    }
}

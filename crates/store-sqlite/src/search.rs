//! Searching the expenses and reports in SQL: the list's scope narrows through its index, the
//! filter (`outlay_app::lists::ListFilter`, whose `matches` is the statement this follows) and
//! the order are applied by SQLite, and only a page's rows come back.

use outlay_app::lists::{
    ExpenseScope, ExpenseSearch, ListFilter, ReportSearch, Sort, parse_amount_key, report_day,
    sorted_key, split_cursor,
};
use outlay_app::{Page, PageRequest, ReportScope, StoreResult};
use outlay_domain::{Expense, Report};
use sqlx::{QueryBuilder, Sqlite};

use crate::SqliteStore;
use crate::rows::{self, read_error};

/// A report's day: submitted, or created if never (UTC, `YYYY-MM-DD`).
const REPORT_DAY: &str =
    "substr(coalesce(r.submitted_at, json_extract(r.body, '$.created_at')), 1, 10)";
/// A report's total in minor units (the decimal's digits: it has exactly the currency's
/// decimals), or -1 when unknown.
const REPORT_AMOUNT: &str =
    "coalesce(CAST(replace(json_extract(r.body, '$.total.amount'), '.', '') AS INTEGER), -1)";
/// An expense's base amount in minor units, or -1.
const EXPENSE_AMOUNT: &str =
    "coalesce(CAST(replace(json_extract(e.body, '$.base_amount.amount'), '.', '') AS INTEGER), -1)";

/// The filter's parts that an expense and a report share, on `alias` with its words.
fn push_filter(
    q: &mut QueryBuilder<'_, Sqlite>,
    filter: &ListFilter,
    alias: &str,
    words: [&str; 2],
    day: &str,
    amount: &str,
) {
    if let Some(pattern) = filter.like_pattern() {
        q.push(" AND (");
        for w in words {
            q.push(format!("lower(json_extract({alias}.body, '{w}')) LIKE "))
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\' OR ");
        }
        q.push(format!(
            "EXISTS (SELECT 1 FROM users AS u WHERE u.id = {alias}.owner_id AND lower(u.name) LIKE "
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
            .push_bind(owner.to_string());
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

/// The order and the cursor's condition of a sorted list on `day` and `amount`; the natural
/// order is the caller's.
fn push_sorted(
    q: &mut QueryBuilder<'_, Sqlite>,
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
        q.push(", ").push_bind(id.to_owned()).push(")");
    }
    q.push(format!(" ORDER BY {key} {dir}, {alias}.id {dir} LIMIT "))
        .push_bind(i64::from(page.limit) + 1);
    Ok(())
}

impl SqliteStore {
    /// [`outlay_app::Store::find_reports`] in one query.
    pub(crate) async fn search_reports(
        &self,
        search: &ReportSearch,
        page: &PageRequest,
    ) -> StoreResult<Page<Report>> {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT r.body FROM reports AS r WHERE ");
        let approvals = matches!(search.query.scope, ReportScope::Approvals { .. });
        match &search.query.scope {
            ReportScope::Mine(owner) => {
                q.push("r.owner_id = ").push_bind(owner.to_string());
            }
            ReportScope::All => {
                q.push("r.state <> 'draft'");
            }
            ReportScope::DecidedBy(user) => {
                q.push("r.id IN (SELECT report_id FROM report_deciders WHERE user_id = ")
                    .push_bind(user.to_string())
                    .push(")");
            }
            ReportScope::Approvals { user, shared } => {
                // The domain's queue keys: the user's own queue, and the shared queues they
                // take from, less what they are barred from.
                let shared: Vec<String> = shared.iter().map(|k| k.key()).collect();
                q.push("(r.queue = ")
                    .push_bind(user.to_string())
                    .push(" OR (r.queue IN (SELECT value FROM json_each(")
                    .push_bind(serde_json::to_string(&shared).unwrap_or_else(|_| "[]".into()))
                    .push(")) AND NOT EXISTS (SELECT 1 FROM json_each(r.barred) WHERE value = ")
                    .push_bind(user.to_string())
                    .push(")))");
            }
        }
        if let Some(state) = search.query.state {
            q.push(" AND r.state = ").push_bind(state.as_str());
        }
        push_filter(
            &mut q,
            &search.filter,
            "r",
            ["$.title", "$.purpose"],
            REPORT_DAY,
            REPORT_AMOUNT,
        );
        if let Some(category) = &search.filter.category {
            q.push(" AND EXISTS (SELECT 1 FROM expenses AS e WHERE e.report_id = r.id AND json_extract(e.body, '$.details.category') = ")
                .push_bind(category.clone())
                .push(")");
        }
        match search.sort {
            Sort::Natural if approvals => {
                if let Some(after) = page.after()? {
                    let (at, id) = split_cursor(&after)?;
                    q.push(" AND (r.submitted_at, r.id) > (")
                        .push_bind(at.to_owned())
                        .push(", ")
                        .push_bind(id.to_owned())
                        .push(")");
                }
                q.push(" ORDER BY r.submitted_at, r.id LIMIT ")
                    .push_bind(i64::from(page.limit) + 1);
            }
            Sort::Natural => {
                if let Some(after) = page.after()? {
                    q.push(" AND r.id < ").push_bind(after);
                }
                q.push(" ORDER BY r.id DESC LIMIT ")
                    .push_bind(i64::from(page.limit) + 1);
            }
            sort => push_sorted(&mut q, sort, "r", REPORT_DAY, REPORT_AMOUNT, page)?,
        }
        let found = q
            .build()
            .fetch_all(&self.reader)
            .await
            .map_err(read_error)?;
        let sort = search.sort;
        crate::reads::page(found, page.limit, rows::body, |r: &Report| match sort {
            Sort::Natural if approvals => format!(
                "{}|{}",
                r.submitted_at.map(rows::time).unwrap_or_default(),
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
        let mut q = QueryBuilder::<Sqlite>::new("SELECT e.body FROM expenses AS e WHERE ");
        match search.scope {
            ExpenseScope::Owner(owner) => {
                q.push("e.owner_id = ").push_bind(owner.to_string());
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
            ["$.details.merchant", "$.details.description"],
            "e.spent_on",
            EXPENSE_AMOUNT,
        );
        if let Some(category) = &search.filter.category {
            q.push(" AND json_extract(e.body, '$.details.category') = ")
                .push_bind(category.clone());
        }
        match search.sort {
            Sort::Natural => {
                if let Some(after) = page.after()? {
                    q.push(" AND e.id < ").push_bind(after);
                }
                q.push(" ORDER BY e.id DESC LIMIT ")
                    .push_bind(i64::from(page.limit) + 1);
            }
            sort => push_sorted(&mut q, sort, "e", "e.spent_on", EXPENSE_AMOUNT, page)?,
        }
        let found = q
            .build()
            .fetch_all(&self.reader)
            .await
            .map_err(read_error)?;
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

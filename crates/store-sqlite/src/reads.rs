//! The store's queries, and its [`Store`] implementation.

use async_trait::async_trait;
use chrono::NaiveDate;
use outlay_app::Notification;
use outlay_app::{
    Change, Doc, DocKind, IdempotencyRecord, Page, PageRequest, ReportQuery, ReportScope, Store,
    StoreResult,
};
use outlay_domain::{
    AuditEvent, Currency, Email, ExchangeRate, Expense, ExpenseId, Policy, Receipt, ReceiptId,
    Report, ReportId, Role, User, UserId,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::SqliteStore;

use crate::rows::{self, json, read_error};

/// Splits `limit + 1` fetched rows into a page and the next cursor.
pub(crate) fn page<T>(
    rows: Vec<SqliteRow>,
    limit: u32,
    map: impl Fn(&SqliteRow) -> anyhow::Result<T>,
    key: impl Fn(&T) -> String,
) -> StoreResult<Page<T>> {
    let items = rows
        .iter()
        .take(limit as usize)
        .map(map)
        .collect::<anyhow::Result<Vec<T>>>()?;
    Ok(Page::new(items, rows.len() > limit as usize, key))
}

const FAR: &str = "~";

impl SqliteStore {
    /// The JSON body of the one row `query` finds for `id`, decoded.
    async fn body_by_id<T: serde::de::DeserializeOwned>(
        &self,
        query: &'static str,
        id: impl ToString,
    ) -> StoreResult<Option<T>> {
        let row = sqlx::query(query)
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(read_error)?;
        Ok(row.as_ref().map(rows::body).transpose()?)
    }
}

/// My expenses, newest first (`expenses_by_owner`).
pub(crate) const EXPENSES_OF_OWNER: &str =
    "SELECT body FROM expenses WHERE owner_id = ? AND id < ? ORDER BY id DESC LIMIT ?";
/// A report's expenses (`expenses_by_report`).
pub(crate) const EXPENSES_OF_REPORT: &str =
    "SELECT body FROM expenses WHERE report_id = ? ORDER BY id";
/// The receipts of a page of expenses (`receipts_by_expense`, one probe per expense).
pub(crate) const RECEIPTS_OF_EXPENSES: &str = "SELECT expense_id, body FROM receipts
     WHERE expense_id IN (SELECT value FROM json_each(?)) ORDER BY expense_id, id";
/// Which of a page of expenses have a duplicate (`expenses_duplicates`, one probe each).
pub(crate) const HAVE_DUPLICATES: &str =
    "SELECT k.value ->> 0 FROM json_each(?) AS k WHERE EXISTS (
     SELECT 1 FROM expenses x WHERE x.owner_id = k.value ->> 1 AND x.spent_on = k.value ->> 2
     AND x.amount = k.value ->> 3 AND x.currency = k.value ->> 4
     AND x.merchant_key = k.value ->> 5 AND x.id <> k.value ->> 0)";
/// My reports, newest first (`reports_by_owner`).
pub(crate) const REPORTS_OF_OWNER: &str =
    "SELECT body FROM reports WHERE owner_id = ?1 AND (?2 IS NULL OR state = ?2)
     AND id < ?3 ORDER BY id DESC LIMIT ?4";

/// Every report but drafts, newest first (`all`, through the primary key).
pub(crate) const ALL_REPORTS: &str =
    "SELECT body FROM reports WHERE state <> 'draft' AND id < ?1 ORDER BY id DESC LIMIT ?2";
/// The reports in one state, newest first (`all` with a state, `reports_by_state_and_id`).
pub(crate) const ALL_REPORTS_IN_STATE: &str = "SELECT body FROM reports
     WHERE state = ?1 AND state <> 'draft' AND id < ?2 ORDER BY id DESC LIMIT ?3";
/// The reports a user has decided a step of, newest first (`report_deciders`' key).
pub(crate) const REPORTS_DECIDED_BY: &str = "SELECT r.body
     FROM report_deciders AS d JOIN reports AS r ON r.id = d.report_id
     WHERE d.user_id = ?1 AND (?2 IS NULL OR r.state = ?2) AND d.report_id < ?3
     ORDER BY d.report_id DESC LIMIT ?4";
/// A user's approvals queue, oldest submission first: the reports in their own queue and
/// those in each of the `shared` queues they take from (finance's, their roles', bound from
/// `?6` on) that they are not barred from (`reports_by_queue`, the domain's queue keys). Each
/// part reads at most one page in index order and only the pages are merged, so the queue
/// costs the same at any size of the table; an `OR` or `IN` of the queues would sort them all.
pub(crate) fn approvals(shared: usize) -> String {
    let part = |queue: &str, barred: &str| {
        format!(
            "SELECT * FROM (SELECT body, submitted_at, id FROM reports
             WHERE queue = {queue} AND (?2 IS NULL OR state = ?2) AND (submitted_at, id) > (?3, ?4){barred}
             ORDER BY submitted_at, id LIMIT ?5)"
        )
    };
    let not_barred = " AND NOT EXISTS (SELECT 1 FROM json_each(reports.barred) WHERE value = ?1)";
    let parts: Vec<String> = std::iter::once(part("?1", ""))
        .chain((0..shared).map(|i| part(&format!("?{}", i + 6), not_barred)))
        .collect();
    format!(
        "SELECT body FROM ({}) ORDER BY submitted_at, id LIMIT ?5",
        parts.join(" UNION ALL ")
    )
}

/// Users by email (`sqlite_autoindex_users_2`, the email's uniqueness).
pub(crate) const USERS: &str = "SELECT * FROM users WHERE email > ? ORDER BY email LIMIT ?";
/// The active holders of a role (`user_roles`' key), by email.
pub(crate) const USERS_WITH_ROLE: &str = "SELECT u.* FROM user_roles AS r
     JOIN users AS u ON u.id = r.user_id WHERE r.role = ? AND u.active = 1 ORDER BY u.email";
/// The audit trail of one entity (`audit_by_entity`).
pub(crate) const AUDIT_OF_ENTITY: &str =
    "SELECT * FROM audit_events WHERE entity_kind = ? AND entity_id = ? ORDER BY seq";
/// The audit trail in order, a page at a time (the key, `seq`).
pub(crate) const AUDIT_PAGE: &str = "SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?";
/// The newest exchange rates (`exchange_rates_by_day`).
pub(crate) const RATES: &str =
    "SELECT currency, day, rate FROM exchange_rates ORDER BY day DESC, currency LIMIT ?";
/// A user's notifications, newest first (`notifications_by_user`).
pub(crate) const NOTIFICATIONS_OF_USER: &str = "SELECT body, read_at FROM notifications
     WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?";

#[async_trait]
impl Store for SqliteStore {
    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(read_error)?;
        Ok(row.as_ref().map(rows::user).transpose()?)
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE email = ?")
            .bind(email.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(read_error)?;
        Ok(row.as_ref().map(rows::user).transpose()?)
    }

    async fn password_hash(&self, id: UserId) -> StoreResult<Option<String>> {
        let hash: Option<Option<String>> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.reader)
                .await
                .map_err(read_error)?;
        Ok(hash.flatten())
    }

    async fn users(&self, req: &PageRequest) -> StoreResult<Page<User>> {
        let after = req.after()?.unwrap_or_default();
        let rows = sqlx::query(USERS)
            .bind(after)
            .bind(i64::from(req.limit) + 1)
            .fetch_all(&self.reader)
            .await
            .map_err(read_error)?;
        page(rows, req.limit, rows::user, |u| u.email.as_str().to_owned())
    }

    async fn expense(&self, id: ExpenseId) -> StoreResult<Option<Expense>> {
        self.body_by_id("SELECT body FROM expenses WHERE id = ?", id)
            .await
    }

    async fn expenses_of_owner(
        &self,
        owner: UserId,
        req: &PageRequest,
    ) -> StoreResult<Page<Expense>> {
        let before = req.after()?.unwrap_or_else(|| FAR.to_owned());
        let rows = sqlx::query(EXPENSES_OF_OWNER)
            .bind(owner.to_string())
            .bind(before)
            .bind(i64::from(req.limit) + 1)
            .fetch_all(&self.reader)
            .await
            .map_err(read_error)?;
        page(rows, req.limit, rows::body, |e: &Expense| e.id.to_string())
    }

    async fn expenses_of_report(&self, report: ReportId) -> StoreResult<Vec<Expense>> {
        let rows = sqlx::query(EXPENSES_OF_REPORT)
            .bind(report.to_string())
            .fetch_all(&self.reader)
            .await
            .map_err(read_error)?;
        Ok(rows.iter().map(rows::body).collect::<anyhow::Result<_>>()?)
    }

    async fn report(&self, id: ReportId) -> StoreResult<Option<Report>> {
        self.body_by_id("SELECT body FROM reports WHERE id = ?", id)
            .await
    }

    async fn reports(&self, query: &ReportQuery, req: &PageRequest) -> StoreResult<Page<Report>> {
        let cursor = req.after()?;
        let state = query.state.map(|s| s.as_str());
        let limit = i64::from(req.limit) + 1;
        let approvals_sql = match &query.scope {
            ReportScope::Approvals { shared, .. } => approvals(shared.len()),
            _ => String::new(),
        };
        let rows = match &query.scope {
            ReportScope::Mine(owner) => sqlx::query(REPORTS_OF_OWNER)
                .bind(owner.to_string())
                .bind(state)
                .bind(cursor.unwrap_or_else(|| FAR.to_owned()))
                .bind(limit),
            ReportScope::All => match state {
                None => sqlx::query(ALL_REPORTS),
                Some(state) => sqlx::query(ALL_REPORTS_IN_STATE).bind(state),
            }
            .bind(cursor.unwrap_or_else(|| FAR.to_owned()))
            .bind(limit),
            ReportScope::DecidedBy(user) => sqlx::query(REPORTS_DECIDED_BY)
                .bind(user.to_string())
                .bind(state)
                .bind(cursor.unwrap_or_else(|| FAR.to_owned()))
                .bind(limit),
            ReportScope::Approvals { user, shared } => {
                let (at, id) = match cursor.as_deref().map(|c| c.split_once('|')) {
                    None => (String::new(), String::new()),
                    Some(Some((at, id))) => (at.to_owned(), id.to_owned()),
                    Some(None) => return Err(outlay_app::StoreError::BadCursor),
                };
                let mut q = sqlx::query(&approvals_sql)
                    .bind(user.to_string())
                    .bind(state)
                    .bind(at)
                    .bind(id)
                    .bind(limit);
                for queue in shared {
                    q = q.bind(queue.key());
                }
                q
            }
        }
        .fetch_all(&self.reader)
        .await
        .map_err(read_error)?;
        let key: fn(&Report) -> String = match query.scope {
            ReportScope::Approvals { .. } => |r| {
                format!(
                    "{}|{}",
                    r.submitted_at.map(rows::time).unwrap_or_default(),
                    r.id
                )
            },
            _ => |r| r.id.to_string(),
        };
        page(rows, req.limit, rows::body, key)
    }

    async fn find_reports(
        &self,
        search: &outlay_app::ReportSearch,
        page: &PageRequest,
    ) -> StoreResult<Page<Report>> {
        if search.is_plain() {
            return self.reports(&search.query, page).await;
        }
        self.search_reports(search, page).await
    }

    async fn find_expenses(
        &self,
        search: &outlay_app::ExpenseSearch,
        page: &PageRequest,
    ) -> StoreResult<Page<Expense>> {
        match search.plain_owner() {
            Some(owner) => self.expenses_of_owner(owner, page).await,
            None => self.search_expenses(search, page).await,
        }
    }

    async fn shared_secret(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        let key = format!("secret:{name}");
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(&key)
            .bind(hex::encode(candidate))
            .execute(&self.writer)
            .await
            .map_err(anyhow::Error::from)?;
        let value: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(&key)
            .fetch_one(&self.writer)
            .await
            .map_err(anyhow::Error::from)?;
        Ok(hex::decode(value).map_err(anyhow::Error::from)?)
    }

    async fn policy(&self) -> StoreResult<Option<Policy>> {
        let value: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = 'policy'")
                .fetch_optional(&self.reader)
                .await
                .map_err(read_error)?;
        Ok(value
            .map(|v| serde_json::from_str(&v))
            .transpose()
            .map_err(anyhow::Error::from)?)
    }

    async fn idempotency(&self, user: UserId, key: &str) -> StoreResult<Option<IdempotencyRecord>> {
        let row = sqlx::query("SELECT * FROM idempotency_keys WHERE user_id = ? AND key = ?")
            .bind(user.to_string())
            .bind(key)
            .fetch_optional(&self.reader)
            .await
            .map_err(read_error)?;
        let Some(row) = row else { return Ok(None) };
        let created: String = row.try_get("created_at").map_err(read_error)?;
        Ok(Some(IdempotencyRecord {
            user_id: user,
            key: key.to_owned(),
            fingerprint: row.try_get("fingerprint").map_err(read_error)?,
            response: row.try_get("response").map_err(read_error)?,
            created_at: rows::parse_time(&created)?,
        }))
    }

    async fn audit_of(&self, entity_kind: &str, entity_id: &str) -> StoreResult<Vec<AuditEvent>> {
        let rows = sqlx::query(AUDIT_OF_ENTITY)
            .bind(entity_kind)
            .bind(entity_id)
            .fetch_all(&self.reader)
            .await
            .map_err(read_error)?;
        Ok(rows
            .iter()
            .map(rows::audit_event)
            .collect::<anyhow::Result<_>>()?)
    }

    async fn audit_last_seq(&self) -> StoreResult<i64> {
        // The key's last entry (one step down the primary key's index).
        let seq: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM audit_events")
            .fetch_one(&self.reader)
            .await
            .map_err(read_error)?;
        Ok(seq.unwrap_or(0))
    }

    async fn audit_page(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        let rows = sqlx::query(AUDIT_PAGE)
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(read_error)?;
        Ok(rows
            .iter()
            .map(rows::audit_event)
            .collect::<anyhow::Result<_>>()?)
    }

    async fn audit_head(&self) -> StoreResult<Option<(i64, String)>> {
        // The last event is the head: appends chain onto it, there is nothing kept apart.
        Ok(None)
    }

    async fn users_with_role(&self, role: Role) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(USERS_WITH_ROLE)
            .bind(role.as_str())
            .fetch_all(&self.reader)
            .await
            .map_err(read_error)?;
        Ok(rows.iter().map(rows::user).collect::<anyhow::Result<_>>()?)
    }

    async fn receipt(&self, id: ReceiptId) -> StoreResult<Option<Receipt>> {
        self.body_by_id("SELECT body FROM receipts WHERE id = ?", id)
            .await
    }

    async fn receipts_of_expense(&self, expense: ExpenseId) -> StoreResult<Vec<Receipt>> {
        let rows = sqlx::query("SELECT body FROM receipts WHERE expense_id = ? ORDER BY id")
            .bind(expense.to_string())
            .fetch_all(&self.reader)
            .await
            .map_err(read_error)?;
        Ok(rows.iter().map(rows::body).collect::<anyhow::Result<_>>()?)
    }

    async fn receipts_of_file(&self, sha256: &str) -> StoreResult<Vec<Receipt>> {
        let rows = sqlx::query(
            "SELECT body FROM receipts WHERE json_extract(body, '$.sha256') = ? AND state = 'stored'
             ORDER BY id",
        )
        .bind(sha256)
        .fetch_all(&self.reader)
        .await
        .map_err(read_error)?;
        Ok(rows.iter().map(rows::body).collect::<anyhow::Result<_>>()?)
    }

    async fn has_duplicate(&self, expense: &Expense) -> StoreResult<bool> {
        // What makes a duplicate is stated once, in HAVE_DUPLICATES.
        let found = self.have_duplicates(std::slice::from_ref(expense)).await?;
        Ok(found.first().copied().unwrap_or(false))
    }

    async fn receipts_of_expenses(&self, expenses: &[ExpenseId]) -> StoreResult<Vec<Vec<Receipt>>> {
        let ids: Vec<String> = expenses.iter().map(ToString::to_string).collect();
        let rows = sqlx::query(RECEIPTS_OF_EXPENSES)
            .bind(json(&ids)?)
            .fetch_all(&self.reader)
            .await
            .map_err(read_error)?;
        let mut by_expense = std::collections::HashMap::<String, Vec<Receipt>>::new();
        for row in &rows {
            let expense: String = row.try_get("expense_id").map_err(read_error)?;
            by_expense
                .entry(expense)
                .or_default()
                .push(rows::body(row)?);
        }
        Ok(ids
            .iter()
            .map(|id| by_expense.get(id).cloned().unwrap_or_default())
            .collect())
    }

    async fn have_duplicates(&self, expenses: &[Expense]) -> StoreResult<Vec<bool>> {
        let keys: Vec<serde_json::Value> = expenses
            .iter()
            .map(|e| {
                let d = &e.details;
                serde_json::json!([
                    e.id.to_string(),
                    e.owner_id.to_string(),
                    d.date().to_string(),
                    d.amount().amount_string(),
                    d.amount().currency().code(),
                    d.merchant_key()
                ])
            })
            .collect();
        // One probe of the duplicates index per expense, in one statement.
        let found: Vec<String> = sqlx::query_scalar(HAVE_DUPLICATES)
            .bind(json(&keys)?)
            .fetch_all(&self.reader)
            .await
            .map_err(read_error)?;
        let found: std::collections::HashSet<String> = found.into_iter().collect();
        Ok(expenses
            .iter()
            .map(|e| found.contains(&e.id.to_string()))
            .collect())
    }

    async fn rate_on_or_before(
        &self,
        currency: Currency,
        date: NaiveDate,
    ) -> StoreResult<Option<ExchangeRate>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT day, rate FROM exchange_rates WHERE currency = ? AND day <= ? ORDER BY day DESC LIMIT 1",
        )
        .bind(currency.code())
        .bind(date.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(read_error)?;
        Ok(row
            .map(|(day, rate)| rows::rate(currency.code(), &day, &rate))
            .transpose()?)
    }

    async fn rates(&self, limit: u32) -> StoreResult<Vec<ExchangeRate>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(RATES)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(read_error)?;
        Ok(rows
            .iter()
            .map(|(c, d, r)| rows::rate(c, d, r))
            .collect::<anyhow::Result<_>>()?)
    }

    async fn notifications(
        &self,
        user: UserId,
        req: &PageRequest,
    ) -> StoreResult<Page<Notification>> {
        let before = req.after()?.unwrap_or_else(|| FAR.to_owned());
        let rows = sqlx::query(NOTIFICATIONS_OF_USER)
            .bind(user.to_string())
            .bind(before)
            .bind(i64::from(req.limit) + 1)
            .fetch_all(&self.reader)
            .await
            .map_err(read_error)?;
        page(rows, req.limit, rows::notification, |n: &Notification| {
            n.id.to_string()
        })
    }

    async fn unread_notifications(&self, user: UserId) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM notifications WHERE user_id = ? AND read_at IS NULL",
        )
        .bind(user.to_string())
        .fetch_one(&self.reader)
        .await
        .map_err(read_error)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn doc(&self, kind: DocKind, id: &str) -> StoreResult<Option<Doc>> {
        let row = sqlx::query("SELECT id, version, body FROM documents WHERE kind = ? AND id = ?")
            .bind(kind.as_str())
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(read_error)?;
        Ok(row.map(|r| rows::doc(kind, &r)).transpose()?)
    }

    async fn docs(&self, kind: DocKind, req: &PageRequest) -> StoreResult<Page<Doc>> {
        let before = req.after()?.unwrap_or_else(|| FAR.to_owned());
        let rows = sqlx::query(
            "SELECT id, version, body FROM documents WHERE kind = ? AND id < ? ORDER BY id DESC LIMIT ?",
        )
        .bind(kind.as_str())
        .bind(before)
        .bind(i64::from(req.limit) + 1)
        .fetch_all(&self.reader)
        .await
        .map_err(read_error)?;
        page(rows, req.limit, |r| rows::doc(kind, r), |d| d.id.clone())
    }

    async fn commit(&self, change: Change) -> StoreResult<()> {
        self.committer.commit(change).await
    }
}

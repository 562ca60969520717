//! The store's queries, and its [`Store`] implementation.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use outlay_app::{
    Change, Doc, DocKind, IdempotencyRecord, Notification, Page, PageRequest, ReportQuery,
    ReportScope, Store, StoreError, StoreResult,
};
use outlay_domain::{
    AuditEvent, Currency, Email, ExchangeRate, Expense, ExpenseId, Policy, Receipt, ReceiptId,
    Report, ReportId, Role, User, UserId,
};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::PgStore;
use crate::rows::{self, USER_COLUMNS, read_error};

/// Splits `limit + 1` fetched rows into a page and the next cursor.
pub(crate) fn page<T>(
    rows: Vec<PgRow>,
    limit: u32,
    map: impl Fn(&PgRow) -> anyhow::Result<T>,
    key: impl Fn(&T) -> String,
) -> StoreResult<Page<T>> {
    let items = rows
        .iter()
        .take(limit as usize)
        .map(map)
        .collect::<anyhow::Result<Vec<T>>>()?;
    Ok(Page::new(items, rows.len() > limit as usize, key))
}

/// The id a newest-first page continues below: the cursor's, or above every id.
fn before(req: &PageRequest) -> StoreResult<uuid::Uuid> {
    match req.after()? {
        None => Ok(uuid::Uuid::max()),
        Some(c) => uuid::Uuid::try_parse(&c).map_err(|_| StoreError::BadCursor),
    }
}

/// The (submitted at, id) an approvals page continues after.
fn queue_after(req: &PageRequest) -> StoreResult<(DateTime<Utc>, uuid::Uuid)> {
    let Some(c) = req.after()? else {
        return Ok((DateTime::UNIX_EPOCH, uuid::Uuid::nil()));
    };
    let (at, id) = c.split_once('|').ok_or(StoreError::BadCursor)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| StoreError::BadCursor)?;
    let id = uuid::Uuid::try_parse(id).map_err(|_| StoreError::BadCursor)?;
    Ok((at.with_timezone(&Utc), id))
}

/// My expenses, newest first (`expenses_by_owner`).
pub(crate) const EXPENSES_OF_OWNER: &str = "SELECT body::text AS body FROM expenses
     WHERE owner_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3";
/// My reports, newest first (`reports_by_owner`).
pub(crate) const REPORTS_OF_OWNER: &str = "SELECT body::text AS body FROM reports
     WHERE owner_id = $1 AND ($2::text IS NULL OR state = $2) AND id < $3
     ORDER BY id DESC LIMIT $4";
/// Every report but drafts, newest first (the primary key).
pub(crate) const ALL_REPORTS: &str = "SELECT body::text AS body FROM reports
     WHERE state <> 'draft' AND id < $1 ORDER BY id DESC LIMIT $2";
/// The reports in one state, newest first (`reports_by_state_and_id`).
pub(crate) const ALL_REPORTS_IN_STATE: &str = "SELECT body::text AS body FROM reports
     WHERE state = $1 AND state <> 'draft' AND id < $2 ORDER BY id DESC LIMIT $3";
/// The reports a user decided a step of, newest first (`report_deciders`' key).
pub(crate) const REPORTS_DECIDED_BY: &str = "SELECT r.body::text AS body
     FROM report_deciders AS d JOIN reports AS r ON r.id = d.report_id
     WHERE d.user_id = $1 AND ($2::text IS NULL OR r.state = $2) AND d.report_id < $3
     ORDER BY d.report_id DESC LIMIT $4";
/// A user's approvals queue, oldest submission first: their own queue, and each of the
/// `shared` queues they take from (finance's, their roles', bound from `$7` on) less what they
/// are barred from (`reports_by_queue`: the domain's queue keys,
/// `outlay_domain::access::queue_keys`). Each part reads one page in index order and only the
/// pages are merged.
pub(crate) fn approvals(shared: usize) -> String {
    let part = |queue: &str, barred: &str| {
        format!(
            "(SELECT body::text AS body, submitted_at, id FROM reports
             WHERE queue = {queue} AND ($2::text IS NULL OR state = $2) AND (submitted_at, id) > ($3, $4){barred}
             ORDER BY submitted_at, id LIMIT $5)"
        )
    };
    let not_barred = " AND NOT ($6 = ANY (barred))";
    let parts: Vec<String> = std::iter::once(part("$1", ""))
        .chain((0..shared).map(|i| part(&format!("${}", i + 7), not_barred)))
        .collect();
    format!(
        "SELECT body, submitted_at, id FROM ({}) AS q ORDER BY submitted_at, id LIMIT $5",
        parts.join(" UNION ALL ")
    )
}
/// A user's notifications, newest first (`notifications_by_user`).
pub(crate) const NOTIFICATIONS_OF_USER: &str = "SELECT body::text AS body, read_at
     FROM notifications WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3";
/// The newest exchange rates (`exchange_rates_by_day`).
pub(crate) const RATES: &str =
    "SELECT currency, day, rate FROM exchange_rates ORDER BY day DESC, currency LIMIT $1";

impl PgStore {
    /// The JSON body of the one row `query` finds for `id`, decoded.
    async fn body_by_id<T: serde::de::DeserializeOwned>(
        &self,
        query: &'static str,
        id: uuid::Uuid,
    ) -> StoreResult<Option<T>> {
        let row = sqlx::query(query)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(read_error)?;
        Ok(row.as_ref().map(rows::body).transpose()?)
    }
}

fn rate(currency: &str, day: NaiveDate, rate: &str) -> anyhow::Result<ExchangeRate> {
    Ok(ExchangeRate {
        date: day,
        currency: Currency::parse(currency)?,
        rate: outlay_domain::Rate::parse(rate)?,
    })
}

#[async_trait]
impl Store for PgStore {
    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(read_error)?;
        Ok(row.as_ref().map(rows::user).transpose()?)
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
        ))
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(read_error)?;
        Ok(row.as_ref().map(rows::user).transpose()?)
    }

    async fn password_hash(&self, id: UserId) -> StoreResult<Option<String>> {
        let hash: Option<Option<String>> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(read_error)?;
        Ok(hash.flatten())
    }

    async fn users(&self, req: &PageRequest) -> StoreResult<Page<User>> {
        let after = req.after()?.unwrap_or_default();
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email > $1 ORDER BY email LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(req.limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(read_error)?;
        page(rows, req.limit, rows::user, |u| u.email.as_str().to_owned())
    }

    async fn expense(&self, id: ExpenseId) -> StoreResult<Option<Expense>> {
        self.body_by_id(
            "SELECT body::text AS body FROM expenses WHERE id = $1",
            id.as_uuid(),
        )
        .await
    }

    async fn expenses_of_owner(
        &self,
        owner: UserId,
        req: &PageRequest,
    ) -> StoreResult<Page<Expense>> {
        let rows = sqlx::query(EXPENSES_OF_OWNER)
            .bind(owner.as_uuid())
            .bind(before(req)?)
            .bind(i64::from(req.limit) + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(read_error)?;
        page(rows, req.limit, rows::body, |e: &Expense| e.id.to_string())
    }

    async fn expenses_of_report(&self, report: ReportId) -> StoreResult<Vec<Expense>> {
        let rows =
            sqlx::query("SELECT body::text AS body FROM expenses WHERE report_id = $1 ORDER BY id")
                .bind(report.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err(read_error)?;
        Ok(rows.iter().map(rows::body).collect::<anyhow::Result<_>>()?)
    }

    async fn report(&self, id: ReportId) -> StoreResult<Option<Report>> {
        self.body_by_id(
            "SELECT body::text AS body FROM reports WHERE id = $1",
            id.as_uuid(),
        )
        .await
    }

    async fn reports(&self, query: &ReportQuery, req: &PageRequest) -> StoreResult<Page<Report>> {
        let state = query.state.map(|s| s.as_str());
        let limit = i64::from(req.limit) + 1;
        let approvals_sql = match &query.scope {
            ReportScope::Approvals { shared, .. } => approvals(shared.len()),
            _ => String::new(),
        };
        let rows = match &query.scope {
            ReportScope::Mine(owner) => sqlx::query(REPORTS_OF_OWNER)
                .bind(owner.as_uuid())
                .bind(state)
                .bind(before(req)?)
                .bind(limit),
            ReportScope::All => match state {
                None => sqlx::query(ALL_REPORTS),
                Some(state) => sqlx::query(ALL_REPORTS_IN_STATE).bind(state),
            }
            .bind(before(req)?)
            .bind(limit),
            ReportScope::DecidedBy(user) => sqlx::query(REPORTS_DECIDED_BY)
                .bind(user.as_uuid())
                .bind(state)
                .bind(before(req)?)
                .bind(limit),
            ReportScope::Approvals { user, shared } => {
                let (at, id) = queue_after(req)?;
                let mut q = sqlx::query(&approvals_sql)
                    .bind(user.to_string())
                    .bind(state)
                    .bind(at)
                    .bind(id)
                    .bind(limit)
                    .bind(user.as_uuid());
                for queue in shared {
                    q = q.bind(queue.key());
                }
                q
            }
        }
        .fetch_all(&self.pool)
        .await
        .map_err(read_error)?;
        let key: fn(&Report) -> String = match query.scope {
            ReportScope::Approvals { .. } => |r| {
                format!(
                    "{}|{}",
                    r.submitted_at
                        .map(outlay_domain::audit::format_time)
                        .unwrap_or_default(),
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
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(&key)
        .bind(hex::encode(candidate))
        .execute(&self.pool)
        .await
        .map_err(anyhow::Error::from)?;
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(&key)
            .fetch_one(&self.pool)
            .await
            .map_err(anyhow::Error::from)?;
        let value = value.ok_or_else(|| anyhow::anyhow!("the secret {name} is empty"))?;
        Ok(hex::decode(value).map_err(anyhow::Error::from)?)
    }

    async fn policy(&self) -> StoreResult<Option<Policy>> {
        let value: Option<Option<String>> =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = 'policy'")
                .fetch_optional(&self.pool)
                .await
                .map_err(read_error)?;
        Ok(value
            .flatten()
            .map(|v| serde_json::from_str(&v))
            .transpose()
            .map_err(anyhow::Error::from)?)
    }

    async fn idempotency(&self, user: UserId, key: &str) -> StoreResult<Option<IdempotencyRecord>> {
        let row = sqlx::query(
            "SELECT fingerprint, response, created_at FROM idempotency_keys
             WHERE user_id = $1 AND key = $2",
        )
        .bind(user.as_uuid())
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(read_error)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(IdempotencyRecord {
            user_id: user,
            key: key.to_owned(),
            fingerprint: row.try_get("fingerprint").map_err(read_error)?,
            response: row.try_get("response").map_err(read_error)?,
            created_at: row.try_get("created_at").map_err(read_error)?,
        }))
    }

    async fn audit_of(&self, entity_kind: &str, entity_id: &str) -> StoreResult<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT * FROM audit_events WHERE entity_kind = $1 AND entity_id = $2 ORDER BY seq",
        )
        .bind(entity_kind)
        .bind(entity_id)
        .fetch_all(&self.pool)
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
            .fetch_one(&self.pool)
            .await
            .map_err(read_error)?;
        Ok(seq.unwrap_or(0))
    }

    async fn audit_page(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        let rows = sqlx::query("SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(read_error)?;
        Ok(rows
            .iter()
            .map(rows::audit_event)
            .collect::<anyhow::Result<_>>()?)
    }

    async fn audit_head(&self) -> StoreResult<Option<(i64, String)>> {
        let (seq, hash): (i64, Option<String>) =
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE one")
                .fetch_one(&self.pool)
                .await
                .map_err(read_error)?;
        Ok(hash.map(|h| (seq, h)))
    }

    async fn users_with_role(&self, role: Role) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE roles @> ARRAY[$1]::text[] AND active
             ORDER BY email"
        ))
        .bind(role.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(read_error)?;
        Ok(rows.iter().map(rows::user).collect::<anyhow::Result<_>>()?)
    }

    async fn receipt(&self, id: ReceiptId) -> StoreResult<Option<Receipt>> {
        self.body_by_id(
            "SELECT body::text AS body FROM receipts WHERE id = $1",
            id.as_uuid(),
        )
        .await
    }

    async fn receipts_of_expense(&self, expense: ExpenseId) -> StoreResult<Vec<Receipt>> {
        Ok(self
            .receipts_of_expenses(&[expense])
            .await?
            .pop()
            .unwrap_or_default())
    }

    async fn has_duplicate(&self, expense: &Expense) -> StoreResult<bool> {
        // What makes a duplicate is stated once, in `have_duplicates`.
        let found = self.have_duplicates(std::slice::from_ref(expense)).await?;
        Ok(found.first().copied().unwrap_or(false))
    }

    async fn receipts_of_file(&self, sha256: &str) -> StoreResult<Vec<Receipt>> {
        let rows = sqlx::query(
            "SELECT body::text AS body FROM receipts
             WHERE body->>'sha256' = $1 AND state = 'stored' ORDER BY id",
        )
        .bind(sha256)
        .fetch_all(&self.pool)
        .await
        .map_err(read_error)?;
        Ok(rows.iter().map(rows::body).collect::<anyhow::Result<_>>()?)
    }

    async fn receipts_of_expenses(&self, expenses: &[ExpenseId]) -> StoreResult<Vec<Vec<Receipt>>> {
        let ids: Vec<uuid::Uuid> = expenses.iter().map(|e| e.as_uuid()).collect();
        let rows = sqlx::query(
            "SELECT expense_id, body::text AS body FROM receipts
             WHERE expense_id = ANY($1) ORDER BY expense_id, id",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await
        .map_err(read_error)?;
        let mut by_expense = std::collections::HashMap::<uuid::Uuid, Vec<Receipt>>::new();
        for row in &rows {
            let expense: uuid::Uuid = row.try_get("expense_id").map_err(read_error)?;
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
        let mut cols: (
            Vec<uuid::Uuid>,
            Vec<uuid::Uuid>,
            Vec<NaiveDate>,
            Vec<String>,
            Vec<String>,
            Vec<String>,
        ) = Default::default();
        for e in expenses {
            let d = &e.details;
            cols.0.push(e.id.as_uuid());
            cols.1.push(e.owner_id.as_uuid());
            cols.2.push(d.date());
            cols.3.push(d.amount().amount_string());
            cols.4.push(d.amount().currency().code().to_owned());
            cols.5.push(d.merchant_key());
        }
        // One probe of the duplicates index per expense, in one statement.
        let found: Vec<uuid::Uuid> = sqlx::query_scalar(
            "SELECT k.id FROM unnest($1::uuid[], $2::uuid[], $3::date[], $4::text[], $5::text[],
                 $6::text[]) AS k (id, owner_id, spent_on, amount, currency, merchant_key)
             WHERE EXISTS (SELECT 1 FROM expenses x WHERE x.owner_id = k.owner_id
                 AND x.spent_on = k.spent_on AND x.amount = k.amount AND x.currency = k.currency
                 AND x.merchant_key = k.merchant_key AND x.id <> k.id)",
        )
        .bind(&cols.0)
        .bind(&cols.1)
        .bind(&cols.2)
        .bind(&cols.3)
        .bind(&cols.4)
        .bind(&cols.5)
        .fetch_all(&self.pool)
        .await
        .map_err(read_error)?;
        let found: std::collections::HashSet<uuid::Uuid> = found.into_iter().collect();
        Ok(expenses
            .iter()
            .map(|e| found.contains(&e.id.as_uuid()))
            .collect())
    }

    async fn rate_on_or_before(
        &self,
        currency: Currency,
        date: NaiveDate,
    ) -> StoreResult<Option<ExchangeRate>> {
        let row: Option<(NaiveDate, String)> = sqlx::query_as(
            "SELECT day, rate FROM exchange_rates WHERE currency = $1 AND day <= $2
             ORDER BY day DESC LIMIT 1",
        )
        .bind(currency.code())
        .bind(date)
        .fetch_optional(&self.pool)
        .await
        .map_err(read_error)?;
        Ok(row
            .map(|(day, r)| rate(currency.code(), day, &r))
            .transpose()?)
    }

    async fn rates(&self, limit: u32) -> StoreResult<Vec<ExchangeRate>> {
        let rows: Vec<(String, NaiveDate, String)> = sqlx::query_as(RATES)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(read_error)?;
        Ok(rows
            .iter()
            .map(|(c, d, r)| rate(c, *d, r))
            .collect::<anyhow::Result<_>>()?)
    }

    async fn notifications(
        &self,
        user: UserId,
        req: &PageRequest,
    ) -> StoreResult<Page<Notification>> {
        let rows = sqlx::query(NOTIFICATIONS_OF_USER)
            .bind(user.as_uuid())
            .bind(before(req)?)
            .bind(i64::from(req.limit) + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(read_error)?;
        page(rows, req.limit, rows::notification, |n: &Notification| {
            n.id.to_string()
        })
    }

    async fn unread_notifications(&self, user: UserId) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
        )
        .bind(user.as_uuid())
        .fetch_one(&self.pool)
        .await
        .map_err(read_error)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn doc(&self, kind: DocKind, id: &str) -> StoreResult<Option<Doc>> {
        let row = sqlx::query(
            "SELECT id, version, body::text AS body FROM documents WHERE kind = $1 AND id = $2",
        )
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(read_error)?;
        Ok(row.map(|r| rows::doc(kind, &r)).transpose()?)
    }

    async fn docs(&self, kind: DocKind, req: &PageRequest) -> StoreResult<Page<Doc>> {
        let before = req.after()?;
        // The C collation, so that ids order by their bytes as in every other store.
        let rows = sqlx::query(
            "SELECT id, version, body::text AS body FROM documents
             WHERE kind = $1 AND ($2::text IS NULL OR id COLLATE \"C\" < $2::text COLLATE \"C\")
             ORDER BY id COLLATE \"C\" DESC LIMIT $3",
        )
        .bind(kind.as_str())
        .bind(before)
        .bind(i64::from(req.limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(read_error)?;
        page(rows, req.limit, |r| rows::doc(kind, r), |d| d.id.clone())
    }

    async fn commit(&self, change: Change) -> StoreResult<()> {
        crate::commit::commit(&self.pool, change).await
    }
}

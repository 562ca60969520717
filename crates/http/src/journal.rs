//! The accounting journal: `/ledger` (the accounts finance keeps) and `/journal` (a period's
//! balanced entries, as JSON or as a file for Xero, QuickBooks Online or DATEV).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use outlay_app::AppError;
use outlay_domain::allowance::minor_string;
use outlay_domain::journal::{Journal, JournalFormat, Ledger};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, Result};
use crate::extract::{ApiQuery, Auth, JsonBody};

/// The ledger accounts and what accounting systems need (finance).
#[utoipa::path(get, path = "/ledger", tag = "journal", security(("bearer" = [])),
    responses((status = 200, description = "`accounts` (`expense`, `input_tax`, `payables`, `bank`, `advances`, each `{code, name}`, and `by_category`), `xero_tax_rate`, `datev`", body = Object),
        (status = 403, body = ErrorBody)))]
async fn get_ledger(State(state): State<AppState>, Auth(caller): Auth) -> Result<Json<Ledger>> {
    Ok(Json(state.app.ledger(&caller).await?))
}

/// Replaces the ledger accounts (finance): each account's `code` and `name`, the expense
/// account of each category in `by_category` (others post to `expense`), the tax rate name
/// Xero's import puts on every line, and DATEV's `consultant` and `client` numbers.
#[utoipa::path(put, path = "/ledger", tag = "journal", security(("bearer" = [])),
    request_body(content = Object, description = "The whole ledger, as `GET /ledger` answers it"),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody),
        (status = 422, description = "An account without a code or name, an unknown category, DATEV numbers out of range", body = ErrorBody)))]
async fn put_ledger(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<serde_json::Value>,
) -> Result<Json<Ledger>> {
    outlay_app::require(&caller, outlay_domain::Role::Finance)?;
    let ledger: Ledger = serde_json::from_value(body.value)
        .map_err(|e| AppError::Unprocessable(format!("not a ledger: {e}")))?;
    Ok(Json(state.app.put_ledger(&caller, ledger).await?))
}

/// The period, and the file wanted.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JournalQuery {
    /// The first day, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub from: String,
    /// The last day, `YYYY-MM-DD`; at most 366 days after `from`.
    #[param(format = Date)]
    pub to: String,
    /// `xero`, `qbo`, `datev` or `csv` for a file; JSON without.
    #[param(pattern = "^(xero|qbo|datev|csv)$")]
    pub format: Option<String>,
}

/// One line of an entry, amounts in the base currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct JournalLineView {
    /// The account's code.
    pub account_code: String,
    /// The account's name.
    pub account_name: String,
    /// The cost centre, for expense lines.
    pub cost_centre: Option<String>,
    /// The debit.
    pub debit: String,
    /// The credit.
    pub credit: String,
    /// What it is.
    pub memo: String,
}

/// A balanced entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct JournalEntryView {
    /// The day it is posted on.
    pub date: NaiveDate,
    /// The report's id, shortened, and `A` (approved) or `P` (paid).
    pub reference: String,
    /// What it is.
    pub narration: String,
    /// The currency.
    pub currency: String,
    /// The lines.
    pub lines: Vec<JournalLineView>,
}

/// A period's journal.
#[derive(Debug, Serialize, ToSchema)]
pub struct JournalView {
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub to: NaiveDate,
    /// The base currency.
    pub currency: String,
    /// The entries, by date.
    pub entries: Vec<JournalEntryView>,
    /// The sum of the debits, which is the sum of the credits.
    pub total: String,
}

impl From<Journal> for JournalView {
    fn from(j: Journal) -> Self {
        let money = |minor: i64| minor_string(minor, j.currency);
        let total = j
            .entries
            .iter()
            .flat_map(|e| &e.lines)
            .map(|l| l.debit)
            .sum();
        Self {
            from: j.from,
            to: j.to,
            currency: j.currency.code().into(),
            total: money(total),
            entries: j
                .entries
                .iter()
                .map(|e| JournalEntryView {
                    date: e.date,
                    reference: e.reference.clone(),
                    narration: e.narration.clone(),
                    currency: e.currency.code().into(),
                    lines: e
                        .lines
                        .iter()
                        .map(|l| JournalLineView {
                            account_code: l.account.code.clone(),
                            account_name: l.account.name.clone(),
                            cost_centre: l.cost_centre.clone(),
                            debit: money(l.debit),
                            credit: money(l.credit),
                            memo: l.memo.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// A day of the query: one that is not a date is as wrong as a period out of range.
pub(crate) fn day(raw: &str, what: &str) -> std::result::Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::Unprocessable(format!("`{what}` must be a date, YYYY-MM-DD")))
}

/// The journal of a period (finance): every report approved in it accrued (expense accounts
/// per category and cost centre, net of reclaimable tax; input tax; payables) on the day of
/// its approval, and every report paid in it (payables; bank) on the day of its payment, in
/// the company's time zone. Each entry balances. With `format`, the file an accounting
/// system imports: `xero` (manual journal CSV), `qbo` (QuickBooks Online journal entries
/// CSV), `datev` (Buchungsstapel, Windows-1252) or `csv`.
#[utoipa::path(get, path = "/journal", tag = "journal", security(("bearer" = [])),
    params(JournalQuery),
    responses((status = 200, content((JournalView = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "A period out of order or longer than 366 days; a ledger the format cannot take", body = ErrorBody)))]
async fn journal(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<JournalQuery>,
) -> Result<Response> {
    let from = day(&q.from, "from")?;
    let to = day(&q.to, "to")?;
    let Some(raw) = q.format else {
        let journal = state.app.journal(&caller, from, to).await?;
        return Ok(Json(JournalView::from(journal)).into_response());
    };
    let format = JournalFormat::parse(&raw)
        .ok_or_else(|| AppError::Unprocessable("`format` is xero, qbo, datev or csv".into()))?;
    let bytes = state.app.journal_file(&caller, from, to, format).await?;
    Ok(journal_response(bytes, format, from, to))
}

/// A journal file as a download, for the API and the pages alike.
pub(crate) fn journal_response(
    bytes: Vec<u8>,
    format: JournalFormat,
    from: NaiveDate,
    to: NaiveDate,
) -> Response {
    let (content_type, name) = match format {
        JournalFormat::Datev => (
            "text/csv; charset=windows-1252",
            format!(
                "EXTF_Buchungsstapel_{}_{}.csv",
                from.format("%Y%m%d"),
                to.format("%Y%m%d")
            ),
        ),
        other => (
            "text/csv; charset=utf-8",
            format!("journal-{}-{from}-{to}.csv", other.as_str()),
        ),
    };
    crate::payments::download(bytes, content_type, &name)
}

/// The journal routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_ledger, put_ledger))
        .routes(routes!(journal))
}

//! `/api/v1/policy` and `/api/v1/exchange-rates`.

use axum::Json;
use axum::extract::State;
use outlay_domain::Policy;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, Result};
use crate::extract::{Auth, JsonBody};

/// One rate: one unit of `currency` is `rate` units of the base currency on `date`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateItem {
    /// `YYYY-MM-DD`.
    #[schema(schema_with = crate::apidoc::date)]
    pub date: String,
    /// ISO 4217 code (not the base currency).
    #[schema(schema_with = crate::apidoc::currency)]
    pub currency: String,
    /// A positive decimal string, at most 12 decimals.
    #[schema(schema_with = crate::apidoc::rate)]
    pub rate: String,
}

/// Rates to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatesRequest {
    /// 1 to 1,000 rates; a rate for the same day and currency is replaced.
    #[schema(min_items = 1, max_items = 1000)]
    pub rates: Vec<RateItem>,
}

/// The stored rates.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatesView {
    /// The currency rates convert into.
    pub base_currency: String,
    /// Newest first.
    pub rates: Vec<RateItem>,
}

/// An amount in a currency (for the policy: in its base currency).
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the shape of `outlay_domain::Money` on the wire, for the document
struct MoneyDoc {
    #[schema(schema_with = crate::apidoc::amount)]
    amount: String,
    #[schema(schema_with = crate::apidoc::currency)]
    currency: String,
}

/// How a rule's violation is treated: `hard` blocks submission, `soft` needs a justification.
#[derive(ToSchema, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum SeverityDoc {
    #[default]
    Hard,
    Soft,
}

/// A category and its optional per-expense limit.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct CategoryDoc {
    /// The name: 1 to 50 lower-case letters, digits, `-` or `_`, unique.
    #[schema(schema_with = crate::apidoc::category_name)]
    name: String,
    /// The per-expense limit.
    limit: Option<MoneyDoc>,
    /// Default `soft`.
    #[serde(default)]
    limit_severity: SeverityDoc,
    /// Whether the company may reclaim the tax (input VAT) of expenses in it; default `false`.
    #[serde(default)]
    tax_reclaimable: bool,
}

/// The expense policy, as GET answers it and PUT takes it. Every amount is in the base
/// currency; a well-formed policy that breaks that, has no categories or repeats one, or has
/// an amount of zero gets 422.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the shape of `outlay_domain::Policy` on the wire, for the document
struct PolicyDoc {
    /// The policy's version, bumped by every save; set by the server (ignored on PUT).
    #[serde(default)]
    version: Option<u32>,
    /// The currency reports are totalled and paid in.
    #[schema(schema_with = crate::apidoc::currency)]
    base_currency: String,
    /// Report totals strictly above this need the senior level.
    senior_threshold: MoneyDoc,
    /// The categories expenses may use.
    #[schema(min_items = 1)]
    categories: Vec<CategoryDoc>,
    /// A receipt is required from this amount.
    receipt_required_from: Option<MoneyDoc>,
    /// Default `hard`.
    #[serde(default)]
    receipt_severity: SeverityDoc,
    /// Expenses older than this many days break the policy.
    #[schema(schema_with = crate::apidoc::days_or_null)]
    max_age_days: Option<u32>,
    /// How duplicates are treated, if they are checked.
    duplicates: Option<SeverityDoc>,
    /// The currencies expenses may be in; empty or absent means any.
    #[serde(default)]
    #[schema(schema_with = crate::apidoc::currencies)]
    allowed_currencies: Vec<String>,
    /// The company's IANA time zone, in which times are shown to whoever has not chosen their
    /// own; default `UTC`.
    #[serde(default)]
    #[schema(schema_with = crate::apidoc::zone)]
    time_zone: Option<String>,
    /// The working calendar reminders count in: `working_days` (`Mon` ... `Sun`, default Monday
    /// to Friday) and `holidays` (dates).
    #[serde(default)]
    calendar: Option<CalendarDoc>,
    /// When a waiting step is reminded to its approver and escalated to their manager, in
    /// working days; `null`: never.
    #[serde(default)]
    reminders: Option<RemindersDoc>,
    /// Cost centres, projects and routing rules, as read; they are kept through their own
    /// resources (`/cost-centres`, `/projects`, `/routing-rules`) and ignored here on PUT.
    #[serde(default)]
    #[schema(value_type = Object)]
    org: Option<serde_json::Value>,
    /// The mileage and per diem rate tables, as read; they are kept through `/allowances` and
    /// ignored here on PUT.
    #[serde(default)]
    #[schema(value_type = Object)]
    allowances: Option<serde_json::Value>,
    /// The company's paying account, as read by finance only (finance keeps it through
    /// `/paying-account`; ignored here on PUT).
    #[serde(default)]
    #[schema(value_type = Object)]
    paying_account: Option<serde_json::Value>,
    /// The ledger accounts, as read by finance only when changed from the defaults (kept
    /// through `/ledger`; ignored here on PUT).
    #[serde(default)]
    #[schema(value_type = Object)]
    ledger: Option<serde_json::Value>,
}

/// The working calendar.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the shape of `outlay_domain::WorkingCalendar` on the wire, for the document
struct CalendarDoc {
    /// Working weekdays.
    working_days: Vec<String>,
    /// Holidays.
    holidays: Vec<chrono::NaiveDate>,
}

/// Reminder and escalation thresholds; escalation comes later than the reminder.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the shape of `outlay_domain::Reminders` on the wire, for the document
struct RemindersDoc {
    /// Remind after more than this many working days (1 or more).
    remind_after_days: u32,
    /// Escalate after more than this many (more than `remind_after_days`, at most 365).
    escalate_after_days: u32,
}

/// The expense policy (everyone may read it).
#[utoipa::path(get, path = "/policy", tag = "finance", security(("bearer" = [])),
    responses((status = 200, body = PolicyDoc)))]
async fn get_policy(State(state): State<AppState>, Auth(caller): Auth) -> Result<Json<Policy>> {
    Ok(Json(state.app.policy(&caller).await?))
}

/// Replaces the expense policy (finance). Amounts are `{"amount","currency"}` in the base
/// currency; severities are `hard` or `soft`. JSON that is not a valid policy gets 422.
#[utoipa::path(put, path = "/policy", tag = "finance", security(("bearer" = [])),
    request_body = PolicyDoc,
    responses((status = 200, body = PolicyDoc), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_policy(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<serde_json::Value>,
) -> Result<Json<Policy>> {
    // Before the policy is read, so that nobody else learns anything from its errors.
    outlay_app::require(&caller, outlay_domain::Role::Finance)?;
    // Well-formed JSON that is not a policy, or a policy whose values the domain refuses.
    let policy: Policy = serde_json::from_value(body.value)
        .map_err(|e| outlay_app::AppError::Unprocessable(format!("not a valid policy: {e}")))?;
    Ok(Json(state.app.put_policy(&caller, policy).await?))
}

/// A proposed policy to try.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// The proposed policy, as `PUT /policy` takes it.
    #[schema(value_type = PolicyDoc)]
    pub policy: serde_json::Value,
    /// How many days of expenses to replay (1 to 366); default 30.
    #[serde(default = "thirty", deserialize_with = "crate::extract::whole_number")]
    #[schema(value_type = u32, minimum = 1, maximum = 366)]
    pub days: u64,
}

fn thirty() -> u64 {
    30
}

/// How one expense's violations would change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViolationChangeView {
    /// The expense.
    pub expense_id: String,
    /// Its owner.
    pub owner_id: String,
    /// Its report.
    pub report_id: Option<String>,
    /// Where it was spent.
    pub merchant: String,
    /// What it would break that it does not now.
    pub added: Vec<crate::views::ViolationView>,
    /// What it breaks now that it would not.
    pub removed: Vec<crate::views::ViolationView>,
}

/// How an open report's route would change.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteChangeView {
    /// The report.
    pub report_id: String,
    /// Its title.
    pub title: String,
    /// Its route under the policy in force.
    pub before: Vec<crate::views::StepView>,
    /// Under the proposed one.
    pub after: Vec<crate::views::StepView>,
}

/// What a proposed policy would change.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyPreviewView {
    /// The version in force, compared against.
    pub current_version: u32,
    /// The days replayed.
    pub days: u32,
    /// How many expenses were replayed.
    pub expenses_checked: usize,
    /// How many reports waiting for a decision were replayed.
    pub reports_checked: usize,
    /// Whether there was more to replay than one preview does (5,000 of each).
    pub truncated: bool,
    /// The expenses whose violations would change.
    pub violations: Vec<ViolationChangeView>,
    /// The reports whose route would change.
    pub routes: Vec<RouteChangeView>,
}

impl From<outlay_app::PolicyPreview> for PolicyPreviewView {
    fn from(p: outlay_app::PolicyPreview) -> Self {
        let list = |v: Vec<outlay_domain::Violation>| {
            v.into_iter()
                .map(|v| crate::views::ViolationView::new(v, None))
                .collect()
        };
        let steps = |s: Vec<outlay_domain::Step>| s.into_iter().map(Into::into).collect();
        Self {
            current_version: p.current_version,
            days: p.days,
            expenses_checked: p.expenses_checked,
            reports_checked: p.reports_checked,
            truncated: p.truncated,
            violations: p
                .violations
                .into_iter()
                .map(|c| ViolationChangeView {
                    expense_id: c.expense_id.to_string(),
                    owner_id: c.owner_id.to_string(),
                    report_id: c.report_id.map(|r| r.to_string()),
                    merchant: c.merchant,
                    added: list(c.added),
                    removed: list(c.removed),
                })
                .collect(),
            routes: p
                .routes
                .into_iter()
                .map(|r| RouteChangeView {
                    report_id: r.report_id.to_string(),
                    title: r.title,
                    before: steps(r.before),
                    after: steps(r.after),
                })
                .collect(),
        }
    }
}

/// Tries a proposed policy (finance): replays the expenses of submitted reports from the last
/// `days` days and the reports waiting for a decision under it, and answers the violations
/// and routes that would change. Writes nothing.
#[utoipa::path(post, path = "/policy/preview", tag = "finance", security(("bearer" = [])),
    request_body = PreviewRequest,
    responses((status = 200, body = PolicyPreviewView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "Not a valid policy", body = ErrorBody)))]
async fn preview_policy(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<PreviewRequest>,
) -> Result<Json<PolicyPreviewView>> {
    // Before the policy is read, so that nobody else learns anything from its errors.
    outlay_app::require(&caller, outlay_domain::Role::Finance)?;
    let r = body.value;
    let policy: Policy = serde_json::from_value(r.policy)
        .map_err(|e| outlay_app::AppError::Unprocessable(format!("not a valid policy: {e}")))?;
    Ok(Json(
        state
            .app
            .preview_policy(&caller, policy, u32::try_from(r.days).unwrap_or(u32::MAX))
            .await?
            .into(),
    ))
}

fn view(base: outlay_domain::Currency, rates: Vec<outlay_domain::ExchangeRate>) -> RatesView {
    RatesView {
        base_currency: base.code().to_owned(),
        rates: rates
            .into_iter()
            .map(|r| RateItem {
                date: r.date.to_string(),
                currency: r.currency.code().to_owned(),
                rate: r.rate.to_string(),
            })
            .collect(),
    }
}

/// The exchange rates (finance), newest first.
#[utoipa::path(get, path = "/exchange-rates", tag = "finance", security(("bearer" = [])),
    responses((status = 200, body = RatesView), (status = 403, body = ErrorBody)))]
async fn get_rates(State(state): State<AppState>, Auth(caller): Auth) -> Result<Json<RatesView>> {
    let (base, rates) = state.app.rates(&caller).await?;
    Ok(Json(view(base, rates)))
}

/// Sets exchange rates to the base currency (finance).
#[utoipa::path(put, path = "/exchange-rates", tag = "finance", security(("bearer" = [])), request_body = RatesRequest,
    responses((status = 200, description = "The rates set", body = RatesView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_rates(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<RatesRequest>,
) -> Result<Json<RatesView>> {
    let rates = body
        .value
        .rates
        .into_iter()
        .map(|r| (r.date, r.currency, r.rate))
        .collect();
    let set = state.app.put_rates(&caller, rates).await?;
    let (base, _) = state.app.rates(&caller).await?;
    Ok(Json(view(base, set)))
}

/// The finance routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_policy, put_policy))
        .routes(routes!(preview_policy))
        .routes(routes!(get_rates, put_rates))
}

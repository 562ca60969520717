//! `/api/v1/expenses`: the caller's own expenses.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use outlay_app::{ExpenseInput, ExpensePatch, PageRequest};
use outlay_domain::ExpenseId;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::{ApiQuery, Auth, IfMatch, JsonBody, path_id};
use crate::lists::ExpenseListParams;
use crate::views::{ExpenseView, PageView};

/// A new expense: a receipt's (`kind` absent or `receipt`), whose `date`, `merchant`,
/// `category`, `amount` and `currency` are required; or a claim whose amount is computed from
/// the rate tables and must not be sent: `mileage` (`date`, `distance`, `unit`, `vehicle`,
/// optionally `from` and `to` places) or `per_diem` (`country`, `from`, `until`, optionally
/// `meals_provided`). A claim's `merchant` and `category` default to its own.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpenseRequest {
    /// `receipt` (the default, also for `null`), `mileage` or `per_diem`.
    #[serde(default)]
    pub kind: Option<crate::allowances::KindRequest>,
    /// `YYYY-MM-DD`; a per diem's is its first day.
    #[schema(schema_with = crate::apidoc::date_or_null)]
    pub date: Option<String>,
    /// Where the money was spent.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub merchant: Option<String>,
    /// A policy category (travel, meals, ...).
    #[schema(schema_with = crate::apidoc::category_or_null)]
    pub category: Option<String>,
    /// An exact decimal string such as `"123.45"`, with no more decimals than the currency has.
    #[schema(schema_with = crate::apidoc::amount_or_null)]
    pub amount: Option<String>,
    /// ISO 4217 code.
    #[schema(schema_with = crate::apidoc::currency_or_null)]
    pub currency: Option<String>,
    /// Free text: a trip's purpose goes here.
    #[schema(schema_with = crate::apidoc::optional_text_2000)]
    pub description: Option<String>,
    /// Why a soft policy rule should be waived.
    #[schema(schema_with = crate::apidoc::optional_text_2000)]
    pub justification: Option<String>,
    /// The cost centres it is charged to, by percentage or amount, summing exactly to it;
    /// absent or empty: all of it to the owner's home cost centre.
    #[serde(default)]
    pub cost_centres: Vec<SplitRequest>,
    /// The project's code.
    #[schema(schema_with = crate::apidoc::code_or_null)]
    pub project: Option<String>,
    /// Mileage: the distance, a decimal of up to two places (`12.5` or `"12.5"`).
    #[schema(schema_with = crate::allowances::distance_or_null)]
    pub distance: Option<crate::allowances::DistanceRequest>,
    /// Mileage: `km` or `mi`.
    #[schema(schema_with = crate::allowances::unit_or_null)]
    pub unit: Option<String>,
    /// Mileage: `car`, `motorbike` or `bicycle`.
    #[schema(schema_with = crate::allowances::vehicle_or_null)]
    pub vehicle: Option<String>,
    /// Mileage: where the trip started; per diem: when the stay started, as the traveller's
    /// local time (`2026-03-02T08:30`, an offset allowed).
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub from: Option<String>,
    /// Mileage: where it went.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub to: Option<String>,
    /// Per diem: the place's code in the per diem table (`DE`, `FR-Paris`).
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub country: Option<String>,
    /// Per diem: when the stay ended.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub until: Option<String>,
    /// Per diem: the meals provided, by day.
    #[serde(default)]
    pub meals_provided: Vec<crate::allowances::MealsRequest>,
    /// The tax (VAT) rate the receipt shows, in percent (`"19"`, `"7.5"`); none for a claim.
    #[schema(schema_with = crate::apidoc::percent_or_null)]
    pub tax_rate: Option<String>,
    /// The tax amount the receipt shows; computed from the rate (tax included in `amount`)
    /// when absent.
    #[schema(schema_with = crate::apidoc::amount_or_null)]
    pub tax_amount: Option<String>,
}

/// One cost centre of a split: a `percent` or an `amount`, not both.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitRequest {
    /// The cost centre's code.
    #[schema(schema_with = crate::apidoc::code)]
    pub cost_centre: String,
    /// A percentage, `"60"` or `"33.33"`.
    #[schema(schema_with = crate::apidoc::percent_or_null)]
    pub percent: Option<String>,
    /// An amount in the expense's currency.
    #[schema(schema_with = crate::apidoc::amount_or_null)]
    pub amount: Option<String>,
}

impl From<SplitRequest> for outlay_app::SplitInput {
    fn from(s: SplitRequest) -> Self {
        Self {
            cost_centre: s.cost_centre,
            percent: s.percent,
            amount: s.amount,
        }
    }
}

/// Changes to an expense; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpensePatchRequest {
    /// New date.
    #[schema(schema_with = crate::apidoc::date_or_null)]
    pub date: Option<String>,
    /// New merchant.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub merchant: Option<String>,
    /// New category.
    #[schema(schema_with = crate::apidoc::category_or_null)]
    pub category: Option<String>,
    /// New amount.
    #[schema(schema_with = crate::apidoc::amount_or_null)]
    pub amount: Option<String>,
    /// New currency.
    #[schema(schema_with = crate::apidoc::currency_or_null)]
    pub currency: Option<String>,
    /// New description.
    #[schema(schema_with = crate::apidoc::optional_text_2000)]
    pub description: Option<String>,
    /// New justification.
    #[schema(schema_with = crate::apidoc::optional_text_2000)]
    pub justification: Option<String>,
    /// A new cost centre split; `[]`: the owner's home cost centre.
    pub cost_centres: Option<Vec<SplitRequest>>,
    /// A new project; `null` clears it.
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    #[schema(schema_with = crate::apidoc::code_or_null)]
    pub project: Option<Option<String>>,
    /// A new tax rate in percent; `""` removes the tax.
    #[schema(schema_with = crate::apidoc::percent_or_empty_or_null)]
    pub tax_rate: Option<String>,
    /// A new tax amount; without it the tax follows the rate and the amount.
    #[schema(schema_with = crate::apidoc::amount_or_null)]
    pub tax_amount: Option<String>,
}

/// A tax amount as the API document states it: an amount, or `null` (the web UI's empty field
/// is its own; here an empty string is a request the schema refuses).
fn tax_amount(given: Option<String>) -> Result<Option<String>> {
    if given.as_deref().is_some_and(|a| a.trim().is_empty()) {
        return Err(ApiError::BadRequest(
            "tax_amount must be an amount such as \"3.19\", or null".into(),
        ));
    }
    Ok(given)
}

fn expense_id(raw: &str) -> Result<ExpenseId> {
    path_id(raw, "expense", ExpenseId::parse)
}

/// Records an expense; honours `Idempotency-Key`.
#[utoipa::path(post, path = "/expenses", tag = "expenses", security(("bearer" = [])), request_body = crate::expense_doc::NewExpense,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses((status = 201, body = ExpenseView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn create_expense(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<ExpenseRequest>,
) -> Result<(StatusCode, Json<ExpenseView>)> {
    let r = body.value;
    let claim = crate::allowances::ClaimFields {
        kind: r.kind.unwrap_or_default(),
        distance: r.distance,
        unit: r.unit,
        vehicle: r.vehicle,
        from: r.from,
        to: r.to,
        country: r.country,
        until: r.until,
        meals_provided: r.meals_provided,
    }
    .claim()?;
    // A receipt's fields are required; a claim's default to its own.
    let field = |name: &str, v: Option<String>| match (v, claim.is_some()) {
        (Some(v), _) => Ok(v),
        (None, true) => Ok(String::new()),
        (None, false) => Err(outlay_app::AppError::Unprocessable(format!(
            "{name} is required"
        ))),
    };
    let input = ExpenseInput {
        date: field("date", r.date)?,
        merchant: field("merchant", r.merchant)?,
        category: field("category", r.category)?,
        amount: field("amount", r.amount)?,
        currency: field("currency", r.currency)?,
        description: r.description,
        justification: r.justification,
        allocation: outlay_app::AllocationInput {
            cost_centres: r.cost_centres.into_iter().map(Into::into).collect(),
            project: r.project,
        },
        claim,
        tax_rate: r.tax_rate,
        tax_amount: tax_amount(r.tax_amount)?,
    };
    let expense = state
        .app
        .create_expense(&caller, input, body.idempotency.as_ref())
        .await?;
    Ok((StatusCode::CREATED, Json(expense.into())))
}

/// Searches expenses: the caller's own (`mine`, newest first) or, for finance, every expense in a submitted report (`all`), narrowed and ordered by the list parameters.
#[utoipa::path(get, path = "/expenses", tag = "expenses", security(("bearer" = [])), params(ExpenseListParams),
    responses((status = 200, body = PageView<ExpenseView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_expenses(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<ExpenseListParams>,
) -> Result<Json<PageView<ExpenseView>>> {
    let scope = q.scope.as_deref().unwrap_or("mine");
    let page = state
        .app
        .list_expenses(
            &caller,
            scope,
            &q.search()?,
            &PageRequest::parse(q.limit, q.cursor.clone())?,
        )
        .await?;
    Ok(Json(PageView::from_page(page, ExpenseView::from)))
}

/// One of the caller's expenses.
#[utoipa::path(get, path = "/expenses/{id}", tag = "expenses", security(("bearer" = [])),
    params(("id" = String, Path, description = "Expense id")),
    responses((status = 200, body = ExpenseView), (status = 404, body = ErrorBody)))]
async fn get_expense(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ExpenseView>> {
    Ok(Json(
        state
            .app
            .get_expense(&caller, expense_id(&id)?)
            .await?
            .into(),
    ))
}

/// Edits an expense while it is not in a submitted report; honours `If-Match`.
#[utoipa::path(patch, path = "/expenses/{id}", tag = "expenses", security(("bearer" = [])), request_body = ExpensePatchRequest,
    params(("id" = String, Path, description = "Expense id")),
    responses((status = 200, body = ExpenseView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Submitted, or a stale version", body = ErrorBody)))]
async fn update_expense(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    IfMatch(version): IfMatch,
    body: JsonBody<ExpensePatchRequest>,
) -> Result<Json<ExpenseView>> {
    let r = body.value;
    let patch = ExpensePatch {
        date: r.date,
        merchant: r.merchant,
        category: r.category,
        amount: r.amount,
        currency: r.currency,
        description: r.description,
        justification: r.justification,
        cost_centres: r
            .cost_centres
            .map(|c| c.into_iter().map(Into::into).collect()),
        project: r.project,
        tax_rate: r.tax_rate,
        tax_amount: tax_amount(r.tax_amount)?,
    };
    Ok(Json(
        state
            .app
            .update_expense(&caller, expense_id(&id)?, patch, version)
            .await?
            .into(),
    ))
}

/// Deletes an expense while it is not in a submitted report; honours `If-Match`.
#[utoipa::path(delete, path = "/expenses/{id}", tag = "expenses", security(("bearer" = [])),
    params(("id" = String, Path, description = "Expense id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_expense(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode> {
    state
        .app
        .delete_expense(&caller, expense_id(&id)?, version)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The expense routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_expense, list_expenses))
        .routes(routes!(get_expense, update_expense, delete_expense))
}

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
    pub date: String,
    /// ISO 4217 code (not the base currency).
    pub currency: String,
    /// A positive decimal string, at most 12 decimals.
    pub rate: String,
}

/// Rates to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatesRequest {
    /// 1 to 1,000 rates; a rate for the same day and currency is replaced.
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

/// The expense policy (everyone may read it).
#[utoipa::path(get, path = "/policy", tag = "finance", security(("bearer" = [])),
    responses((status = 200, description = "The policy: base_currency, senior_threshold, categories (name, limit, limit_severity), receipt_required_from, receipt_severity, max_age_days, duplicates, allowed_currencies", body = Object)))]
async fn get_policy(State(state): State<AppState>, Auth(caller): Auth) -> Result<Json<Policy>> {
    Ok(Json(state.app.policy(&caller).await?))
}

/// Replaces the expense policy (finance). Amounts are `{"amount","currency"}` in the base
/// currency; severities are `hard` or `soft`.
#[utoipa::path(put, path = "/policy", tag = "finance", security(("bearer" = [])),
    request_body(content = Object, description = "The whole policy, as GET answers it"),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_policy(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<Policy>,
) -> Result<Json<Policy>> {
    Ok(Json(state.app.put_policy(&caller, body.value).await?))
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
        .routes(routes!(get_rates, put_rates))
}

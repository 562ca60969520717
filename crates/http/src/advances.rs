//! Cash advances: `/advances`, requested by employees, decided by their managers, paid out,
//! settled against reports and paid back through finance.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use outlay_domain::ReportId;
use outlay_domain::advance::{Act, Advance, AdvanceId};
use outlay_domain::allowance::minor_string;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, Result};
use crate::extract::{Auth, JsonBody, path_id};

/// A request for an advance.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceRequest {
    /// How much.
    #[schema(schema_with = crate::apidoc::amount)]
    pub amount: String,
    /// In which currency (any with minor units).
    #[schema(schema_with = crate::apidoc::currency)]
    pub currency: String,
    /// What it is for.
    #[schema(schema_with = crate::apidoc::text_200)]
    pub purpose: String,
}

/// Who did something, when, and what they said.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActView {
    /// Who.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The comment, reason or bank reference.
    pub note: String,
}

impl From<&Act> for ActView {
    fn from(a: &Act) -> Self {
        Self {
            by: a.by.to_string(),
            at: a.at,
            note: a.note.clone(),
        }
    }
}

/// Part of an advance settled by a report.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedView {
    /// The report, which pays that much less.
    pub report_id: String,
    /// In the advance's currency.
    pub amount: String,
    /// In the base currency.
    pub base: String,
    /// Who applied it.
    pub act: ActView,
}

/// Part of an advance paid back.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepaidView {
    /// In the advance's currency.
    pub amount: String,
    /// Who recorded it, with the bank's reference.
    pub act: ActView,
}

/// A cash advance.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdvanceView {
    /// Its id.
    pub id: String,
    /// Whose.
    pub owner_id: String,
    /// How much.
    pub amount: String,
    /// In which currency.
    pub currency: String,
    /// What for.
    pub purpose: String,
    /// `requested`, `approved`, `rejected`, `cancelled`, `paid_out` or `settled`.
    pub state: String,
    /// Who decides it; `null` for finance.
    pub approver_id: Option<String>,
    /// The decision.
    pub decision: Option<ActView>,
    /// The payout, with the bank's reference.
    pub payout: Option<ActView>,
    /// The day it is to be settled by.
    pub due_on: Option<NaiveDate>,
    /// What is still to be settled, in its currency.
    pub outstanding: String,
    /// Settled by reports.
    pub applied: Vec<AppliedView>,
    /// Paid back.
    pub repaid: Vec<RepaidView>,
    /// Bumped on every change.
    pub version: i64,
    /// When it was requested.
    pub created_at: DateTime<Utc>,
}

impl From<Advance> for AdvanceView {
    fn from(a: Advance) -> Self {
        let currency = a.amount.currency();
        Self {
            id: a.id.to_string(),
            owner_id: a.owner_id.to_string(),
            amount: a.amount.amount_string(),
            currency: currency.code().into(),
            purpose: a.purpose.clone(),
            state: a.state.as_str().into(),
            approver_id: a.approver_id.map(|u| u.to_string()),
            decision: a.decision.as_ref().map(ActView::from),
            payout: a.payout.as_ref().map(ActView::from),
            due_on: a.due_on,
            outstanding: minor_string(a.outstanding(), currency),
            applied: a
                .applied
                .iter()
                .map(|x| AppliedView {
                    report_id: x.report_id.to_string(),
                    amount: x.amount.amount_string(),
                    base: x.base.amount_string(),
                    act: (&x.act).into(),
                })
                .collect(),
            repaid: a
                .repaid
                .iter()
                .map(|x| RepaidView {
                    amount: x.amount.amount_string(),
                    act: (&x.act).into(),
                })
                .collect(),
            version: a.version,
            created_at: a.created_at,
        }
    }
}

/// The advances the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdvanceList {
    /// Newest first.
    pub items: Vec<AdvanceView>,
}

fn advance_id(raw: &str) -> Result<AdvanceId> {
    path_id(raw, "advance", AdvanceId::parse)
}

/// Asks for a cash advance, in any currency; the caller's manager decides it (finance, for
/// someone without a manager), and is told.
#[utoipa::path(post, path = "/advances", tag = "advances", operation_id = "request_advance", security(("bearer" = [])),
    request_body = AdvanceRequest,
    responses((status = 201, body = AdvanceView), (status = 400, body = ErrorBody),
        (status = 422, description = "An amount out of range, cents a currency lacks, an empty purpose", body = ErrorBody)))]
async fn request(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<AdvanceRequest>,
) -> Result<(StatusCode, Json<AdvanceView>)> {
    let r = body.value;
    let advance = state
        .app
        .request_advance(&caller, &r.amount, &r.currency, &r.purpose)
        .await?;
    Ok((StatusCode::CREATED, Json(advance.into())))
}

/// The caller's advances, those they decide, and every advance for finance.
#[utoipa::path(get, path = "/advances", tag = "advances", operation_id = "list_advances", security(("bearer" = [])),
    responses((status = 200, body = AdvanceList)))]
async fn list(State(state): State<AppState>, Auth(caller): Auth) -> Result<Json<AdvanceList>> {
    let items = state.app.advances(&caller).await?;
    Ok(Json(AdvanceList {
        items: items.into_iter().map(AdvanceView::from).collect(),
    }))
}

/// One advance, to its owner, its approver and finance.
#[utoipa::path(get, path = "/advances/{id}", tag = "advances", operation_id = "get_advance", security(("bearer" = [])),
    params(("id" = String, Path, description = "Advance id")),
    responses((status = 200, body = AdvanceView), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<AdvanceView>> {
    Ok(Json(
        state.app.advance(&caller, advance_id(&id)?).await?.into(),
    ))
}

/// A comment or reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The comment (approve) or reason (reject, required).
    #[serde(default)]
    #[schema(schema_with = crate::apidoc::text_2000)]
    pub note: String,
}

/// Approves it (its approver: the owner's manager, or finance; never the owner).
#[utoipa::path(post, path = "/advances/{id}/approve", tag = "advances", operation_id = "approve_advance", security(("bearer" = [])),
    params(("id" = String, Path, description = "Advance id")), request_body = NoteRequest,
    responses((status = 200, body = AdvanceView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "Already decided", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn approve(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    body: JsonBody<NoteRequest>,
) -> Result<Json<AdvanceView>> {
    let id = advance_id(&id)?;
    Ok(Json(
        state
            .app
            .decide_advance(&caller, id, true, &body.value.note)
            .await?
            .into(),
    ))
}

/// Rejects it, with a reason.
#[utoipa::path(post, path = "/advances/{id}/reject", tag = "advances", operation_id = "reject_advance", security(("bearer" = [])),
    params(("id" = String, Path, description = "Advance id")), request_body = NoteRequest,
    responses((status = 200, body = AdvanceView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, description = "No reason", body = ErrorBody)))]
async fn reject(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    body: JsonBody<NoteRequest>,
) -> Result<Json<AdvanceView>> {
    let id = advance_id(&id)?;
    Ok(Json(
        state
            .app
            .decide_advance(&caller, id, false, &body.value.note)
            .await?
            .into(),
    ))
}

/// Its owner takes back a request nobody decided.
#[utoipa::path(post, path = "/advances/{id}/cancel", tag = "advances", operation_id = "cancel_advance", security(("bearer" = [])),
    params(("id" = String, Path, description = "Advance id")),
    responses((status = 200, body = AdvanceView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<AdvanceView>> {
    Ok(Json(
        state
            .app
            .cancel_advance(&caller, advance_id(&id)?)
            .await?
            .into(),
    ))
}

/// A payout.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayOutRequest {
    /// The bank's reference of the transfer.
    #[schema(schema_with = crate::apidoc::text_200)]
    pub reference: String,
    /// Days until it is to be settled, 1 to 365 (30 when not given); its owner is reminded
    /// weekly after.
    #[serde(default = "thirty", deserialize_with = "crate::extract::whole_number")]
    #[schema(value_type = u32, minimum = 1, maximum = 365, default = 30)]
    pub due_days: u64,
}

fn thirty() -> u64 {
    30
}

/// Pays it out (finance: not its owner, not who approved it); audited and told to the owner.
#[utoipa::path(post, path = "/advances/{id}/pay-out", tag = "advances", operation_id = "pay_out_advance", security(("bearer" = [])),
    params(("id" = String, Path, description = "Advance id")), request_body = PayOutRequest,
    responses((status = 200, body = AdvanceView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "Not approved", body = ErrorBody),
        (status = 422, description = "No exchange rate for its currency today", body = ErrorBody)))]
async fn pay_out(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    body: JsonBody<PayOutRequest>,
) -> Result<Json<AdvanceView>> {
    let id = advance_id(&id)?;
    let r = body.value;
    Ok(Json(
        state
            .app
            .pay_out_advance(
                &caller,
                id,
                &r.reference,
                Some(u32::try_from(r.due_days).unwrap_or(u32::MAX)),
            )
            .await?
            .into(),
    ))
}

/// The report that settles part of an advance.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettleRequest {
    /// An approved, unpaid report of the advance's owner, not in a payment batch.
    #[schema(schema_with = crate::apidoc::id)]
    pub report_id: String,
}

/// What settling answers: the advance and the report, which now pays less.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettleView {
    /// The advance.
    pub advance: AdvanceView,
    /// The report's id.
    pub report_id: String,
    /// What the report still pays its owner.
    pub payable: Option<String>,
}

/// Settles what is outstanding against a report of its owner (finance, who may pay the
/// report): the report pays that much less, in the base currency at today's rate.
#[utoipa::path(post, path = "/advances/{id}/settle", tag = "advances", operation_id = "settle_advance", security(("bearer" = [])),
    params(("id" = String, Path, description = "Advance id")), request_body = SettleRequest,
    responses((status = 200, body = SettleView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Not paid out, nothing outstanding, or the report is not approved and unpaid", body = ErrorBody),
        (status = 422, description = "Another owner's report, or no exchange rate", body = ErrorBody)))]
async fn settle(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    body: JsonBody<SettleRequest>,
) -> Result<Json<SettleView>> {
    let id = advance_id(&id)?;
    // A report the body names that does not exist is a wrong value, not a missing advance.
    let report = ReportId::parse(body.value.report_id.trim())
        .map_err(|_| outlay_app::AppError::Unprocessable("no such report".into()))?;
    let (advance, report) = state.app.settle_advance(&caller, id, report).await?;
    let payable = report.payable_amount();
    Ok(Json(SettleView {
        advance: advance.into(),
        report_id: report.id.to_string(),
        payable,
    }))
}

/// A repayment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepayRequest {
    /// How much, in the advance's currency, at most what is outstanding.
    #[schema(schema_with = crate::apidoc::amount)]
    pub amount: String,
    /// The bank's reference of the money received.
    #[schema(schema_with = crate::apidoc::text_200)]
    pub reference: String,
}

/// Records that its owner paid back part or all of what is outstanding (finance).
#[utoipa::path(post, path = "/advances/{id}/repay", tag = "advances", operation_id = "repay_advance", security(("bearer" = [])),
    params(("id" = String, Path, description = "Advance id")), request_body = RepayRequest,
    responses((status = 200, body = AdvanceView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, description = "More than is outstanding", body = ErrorBody)))]
async fn repay(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    body: JsonBody<RepayRequest>,
) -> Result<Json<AdvanceView>> {
    let id = advance_id(&id)?;
    let r = body.value;
    Ok(Json(
        state
            .app
            .repay_advance(&caller, id, &r.amount, &r.reference)
            .await?
            .into(),
    ))
}

/// The advance routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request, list))
        .routes(routes!(get_one))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(cancel))
        .routes(routes!(pay_out))
        .routes(routes!(settle))
        .routes(routes!(repay))
}

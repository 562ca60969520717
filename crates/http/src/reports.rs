//! `/api/v1/reports`: building reports, the approvals queue, transitions and history.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use outlay_app::{Action, NewReport, PageRequest};
use outlay_domain::{ExpenseId, ReportId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::{ApiQuery, Auth, IfMatch, JsonBody, path_id};
use crate::lists::ReportListParams;
use crate::views::{AuditEventView, PageView, ReportView, RouteView};

/// A new draft report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// Short title.
    #[schema(schema_with = crate::apidoc::text_200)]
    pub title: String,
    /// Business purpose.
    #[serde(default)]
    #[schema(schema_with = crate::apidoc::text_2000)]
    pub purpose: String,
    /// 1 to 100 of the caller's expenses that are in no report.
    #[schema(schema_with = crate::apidoc::ids)]
    pub expense_ids: Vec<String>,
}

/// Submit or withdraw: an empty object.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyRequest {}

/// Approve, with an optional comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// A comment for the record.
    #[schema(schema_with = crate::apidoc::optional_text_1000)]
    pub comment: Option<String>,
}

/// Reject, with a required reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// Why; shown to the owner.
    #[schema(schema_with = crate::apidoc::text_1000)]
    pub reason: String,
}

/// Pay, with the payment's reference.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    /// The bank transfer or payroll reference.
    #[schema(schema_with = crate::apidoc::text_200)]
    pub reference: String,
}

/// A report's audit events.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryView {
    /// Oldest first.
    pub events: Vec<AuditEventView>,
}

fn report_id(raw: &str) -> Result<ReportId> {
    path_id(raw, "report", ReportId::parse)
}

/// Creates a draft report from the caller's expenses; honours `Idempotency-Key`.
#[utoipa::path(post, path = "/reports", tag = "reports", security(("bearer" = [])), request_body = ReportRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses((status = 201, body = ReportView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "An expense is already in a report", body = ErrorBody)))]
async fn create_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<ReportRequest>,
) -> Result<(StatusCode, Json<ReportView>)> {
    let r = body.value;
    let expense_ids = r
        .expense_ids
        .iter()
        .map(|id| {
            ExpenseId::parse(id).map_err(|e| ApiError::BadRequest(format!("expense_ids: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let new = NewReport {
        title: r.title,
        purpose: r.purpose,
        expense_ids,
    };
    let details = state
        .app
        .create_report(&caller, new, body.idempotency.as_ref())
        .await?;
    Ok((StatusCode::CREATED, Json(details.into())))
}

/// Searches reports: `mine`, `approvals` (my queue, oldest first), `decided` or `all` (finance), narrowed and ordered by the list parameters.
#[utoipa::path(get, path = "/reports", tag = "reports", security(("bearer" = [])), params(ReportListParams),
    responses((status = 200, body = PageView<ReportView>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_reports(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<ReportListParams>,
) -> Result<Json<PageView<ReportView>>> {
    let page = PageRequest::parse(q.limit, q.cursor.clone())?;
    let scope = q.scope.as_deref().unwrap_or("mine");
    let reports = state
        .app
        .list_reports(&caller, scope, &q.search()?, &page)
        .await?;
    Ok(Json(PageView::from_page(reports, ReportView::from)))
}

/// A report with its expenses and steps.
#[utoipa::path(get, path = "/reports/{id}", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "Report id")),
    responses((status = 200, body = ReportView), (status = 404, body = ErrorBody)))]
async fn get_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ReportView>> {
    Ok(Json(
        state.app.report(&caller, report_id(&id)?).await?.into(),
    ))
}

/// A change to a draft or rejected report; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportPatchRequest {
    /// A new title.
    #[serde(default)]
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub title: Option<String>,
    /// A new business purpose.
    #[serde(default)]
    #[schema(schema_with = crate::apidoc::optional_text_2000)]
    pub purpose: Option<String>,
    /// The report's expenses from now on: 1 to 100 of the caller's, each in this report or in
    /// none. Those left out are freed; the new ones join.
    #[serde(default)]
    #[schema(schema_with = crate::apidoc::some_ids_or_null)]
    pub expense_ids: Option<Vec<String>>,
}

/// Renames a draft or rejected report or changes its expenses (its owner); honours `If-Match`.
#[utoipa::path(patch, path = "/reports/{id}", tag = "reports", security(("bearer" = [])), request_body = ReportPatchRequest,
    params(("id" = String, Path, description = "Report id"),
        ("If-Match" = Option<String>, Header, description = "The version the client saw")),
    responses((status = 200, body = ReportView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Not a draft nor rejected, an expense in another report, or a stale version", body = ErrorBody)))]
async fn update_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    IfMatch(version): IfMatch,
    body: JsonBody<ReportPatchRequest>,
) -> Result<Json<ReportView>> {
    let r = body.value;
    let expense_ids = r
        .expense_ids
        .map(|ids| {
            ids.iter()
                .map(|id| {
                    ExpenseId::parse(id)
                        .map_err(|e| ApiError::BadRequest(format!("expense_ids: {e}")))
                })
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    let patch = outlay_app::ReportPatch {
        title: r.title,
        purpose: r.purpose,
        expense_ids,
    };
    let id = report_id(&id)?;
    tracing::Span::current().record("report_id", tracing::field::display(id));
    Ok(Json(
        state
            .app
            .update_report(&caller, id, patch, version)
            .await?
            .into(),
    ))
}

/// Deletes a draft or rejected report (its owner), freeing its expenses; honours `If-Match`.
#[utoipa::path(delete, path = "/reports/{id}", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "Report id"),
        ("If-Match" = Option<String>, Header, description = "The version the client saw")),
    responses((status = 204, description = "Deleted; its expenses are in no report"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "Not a draft nor rejected, or a stale version", body = ErrorBody)))]
async fn delete_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode> {
    let id = report_id(&id)?;
    tracing::Span::current().record("report_id", tracing::field::display(id));
    state.app.delete_report(&caller, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who decides the report, in order, and why each step exists: for a draft or rejected report,
/// the steps a submission would get now; otherwise those of its current submission.
#[utoipa::path(get, path = "/reports/{id}/route", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "Report id")),
    responses((status = 200, body = RouteView), (status = 404, body = ErrorBody),
        (status = 422, description = "An expense has no amount in the base currency yet", body = ErrorBody)))]
async fn route(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<RouteView>> {
    let id = report_id(&id)?;
    tracing::Span::current().record("report_id", tracing::field::display(id));
    Ok(Json(state.app.report_route(&caller, id).await?.into()))
}

/// The report's audit events, oldest first.
#[utoipa::path(get, path = "/reports/{id}/history", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "Report id")),
    responses((status = 200, body = HistoryView), (status = 404, body = ErrorBody)))]
async fn history(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<HistoryView>> {
    let id = report_id(&id)?;
    tracing::Span::current().record("report_id", tracing::field::display(id));
    let events = state.app.report_history(&caller, id).await?;
    Ok(Json(HistoryView {
        events: events.into_iter().map(AuditEventView::from).collect(),
    }))
}

async fn run(
    state: &AppState,
    caller: &outlay_app::Caller,
    id: &str,
    action: Action,
    version: Option<i64>,
    idem: Option<&outlay_app::Idempotency>,
) -> Result<Json<ReportView>> {
    let id = report_id(id)?;
    tracing::Span::current().record("report_id", tracing::field::display(id));
    Ok(Json(
        state
            .app
            .transition(caller, id, action, version, idem)
            .await?
            .into(),
    ))
}

/// Declares one transition route: its documentation, body type and action.
macro_rules! transition {
    ($name:ident, $path:literal, $body:ty, $doc:literal, |$b:ident| $action:expr) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "reports", security(("bearer" = [])), request_body = $body,
            params(("id" = String, Path, description = "Report id"),
                ("If-Match" = Option<String>, Header, description = "The version the client saw"),
                ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
            responses((status = 200, description = "The report in its new state", body = ReportView),
                (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
                (status = 409, description = "Wrong state or stale version", body = ErrorBody),
                (status = 422, body = ErrorBody)))]
        async fn $name(
            State(state): State<AppState>,
            Auth(caller): Auth,
            Path(id): Path<String>,
            IfMatch(version): IfMatch,
            body: JsonBody<$body>,
        ) -> Result<Json<ReportView>> {
            let $b = body.value;
            run(&state, &caller, &id, $action, version, body.idempotency.as_ref()).await
        }
    };
}

transition!(
    submit,
    "/reports/{id}/submit",
    EmptyRequest,
    "The owner submits the report for approval.",
    |_b| Action::Submit
);
transition!(
    withdraw,
    "/reports/{id}/withdraw",
    EmptyRequest,
    "The owner takes the report back before any decision.",
    |_b| Action::Withdraw
);
transition!(
    approve,
    "/reports/{id}/approve",
    ApproveRequest,
    "The current step's approver approves.",
    |b| Action::Approve(b.comment)
);
transition!(
    reject,
    "/reports/{id}/reject",
    RejectRequest,
    "The current step's approver rejects, with a reason.",
    |b| Action::Reject(b.reason)
);
transition!(
    pay,
    "/reports/{id}/pay",
    PayRequest,
    "Finance marks an approved report paid.",
    |b| Action::Pay(b.reference)
);

/// The current step's approver takes one expense out of the report, with a reason: it goes back
/// to its owner, unreported and carrying the reason, while the rest of the report stays at its
/// step. A senior step still to come that the smaller total no longer needs is dropped; a
/// report left with no lines is rejected. Honours `If-Match` (the report's version).
#[utoipa::path(post, path = "/reports/{id}/expenses/{expense_id}/reject", tag = "reports", security(("bearer" = [])),
    request_body = RejectRequest,
    params(("id" = String, Path, description = "Report id"),
        ("expense_id" = String, Path, description = "The expense (a line of the report)"),
        ("If-Match" = Option<String>, Header, description = "The report version the client saw"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses((status = 200, description = "The report without the line", body = ReportView),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such report, or the expense is not in it", body = ErrorBody),
        (status = 409, description = "Not at a step the caller decides now, or a stale version", body = ErrorBody)))]
async fn reject_line(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path((id, expense_id)): Path<(String, String)>,
    IfMatch(version): IfMatch,
    body: JsonBody<RejectRequest>,
) -> Result<Json<ReportView>> {
    let id = report_id(&id)?;
    let expense_id = path_id(&expense_id, "expense", ExpenseId::parse)?;
    tracing::Span::current().record("report_id", tracing::field::display(id));
    let details = state
        .app
        .reject_line(
            &caller,
            id,
            expense_id,
            body.value.reason,
            version,
            body.idempotency.as_ref(),
        )
        .await?;
    Ok(Json(details.into()))
}

/// The report routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_report, list_reports))
        .routes(routes!(get_report, update_report, delete_report))
        .routes(routes!(history))
        .routes(routes!(route))
        .routes(routes!(submit))
        .routes(routes!(withdraw))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(reject_line))
        .routes(routes!(pay))
}

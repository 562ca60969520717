//! `/api/v1/me/delegation` and the admin's `/api/v1/users/{id}/delegation`: who decides a
//! user's approval steps while they are away.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use outlay_app::DelegationInput;
use outlay_domain::UserId;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::{Auth, IfMatch, JsonBody, path_id};
use crate::views::UserView;

/// A delegation: from `from` to `until` (calendar days in the company's time zone, both
/// included), `delegate_id` decides the steps waiting for the user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegationRequest {
    /// The delegate: another active user with the manager role.
    #[schema(schema_with = crate::apidoc::id)]
    pub delegate_id: String,
    /// The first day.
    #[schema(schema_with = crate::apidoc::date)]
    pub from: String,
    /// The last day, at most 366 days after the first, and not in the past.
    #[schema(schema_with = crate::apidoc::date)]
    pub until: String,
}

impl DelegationRequest {
    fn input(self) -> Result<DelegationInput> {
        let date = |field: &str, s: &str| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| ApiError::BadRequest(format!("{field} must be a date, YYYY-MM-DD")))
        };
        Ok(DelegationInput {
            delegate_id: UserId::parse(&self.delegate_id)
                .map_err(|e| ApiError::BadRequest(format!("delegate_id: {e}")))?,
            from: date("from", &self.from)?,
            until: date("until", &self.until)?,
        })
    }
}

/// Sets the caller's delegation; the steps waiting for them move to the delegate now if it
/// covers today, and back when it ends. Honours `If-Match` (the caller's version).
#[utoipa::path(put, path = "/me/delegation", tag = "users", security(("bearer" = [])), request_body = DelegationRequest,
    params(("If-Match" = Option<String>, Header, description = "The user version the client saw")),
    responses((status = 200, description = "The user with the delegation", body = UserView), (status = 400, body = ErrorBody),
        (status = 409, description = "A stale version", body = ErrorBody),
        (status = 422, description = "A delegate who may not decide, or days backwards", body = ErrorBody)))]
async fn set_mine(
    State(state): State<AppState>,
    Auth(caller): Auth,
    IfMatch(version): IfMatch,
    body: JsonBody<DelegationRequest>,
) -> Result<Json<UserView>> {
    let input = body.value.input()?;
    let id = caller.user.id;
    let user = state
        .app
        .set_delegation(&caller, id, Some(input), version)
        .await?;
    Ok(Json(user.into()))
}

/// Ends the caller's delegation; steps handed over move back to them.
#[utoipa::path(delete, path = "/me/delegation", tag = "users", security(("bearer" = [])),
    params(("If-Match" = Option<String>, Header, description = "The user version the client saw")),
    responses((status = 204, description = "Ended, or there was none"), (status = 409, body = ErrorBody)))]
async fn end_mine(
    State(state): State<AppState>,
    Auth(caller): Auth,
    IfMatch(version): IfMatch,
) -> Result<StatusCode> {
    let id = caller.user.id;
    state.app.set_delegation(&caller, id, None, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets another user's delegation (admin; never to the admin), audited.
#[utoipa::path(put, path = "/users/{id}/delegation", tag = "users", security(("bearer" = [])), request_body = DelegationRequest,
    params(("id" = String, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "The user version the client saw")),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_theirs(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    IfMatch(version): IfMatch,
    body: JsonBody<DelegationRequest>,
) -> Result<Json<UserView>> {
    let id = path_id(&id, "user", UserId::parse)?;
    let input = body.value.input()?;
    let user = state
        .app
        .set_delegation(&caller, id, Some(input), version)
        .await?;
    Ok(Json(user.into()))
}

/// Ends another user's delegation (admin), audited.
#[utoipa::path(delete, path = "/users/{id}/delegation", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "The user version the client saw")),
    responses((status = 204, description = "Ended, or there was none"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn end_theirs(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode> {
    let id = path_id(&id, "user", UserId::parse)?;
    state.app.set_delegation(&caller, id, None, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The delegation routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(set_mine, end_mine))
        .routes(routes!(set_theirs, end_theirs))
}

//! `/api/v1/me` and the admin's `/api/v1/users`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use outlay_app::{NewUser, PageRequest, UserPatch};
use outlay_domain::{Role, UserId};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::{ApiQuery, Auth, IfMatch, JsonBody, path_id};
use crate::views::{PageView, UserView};

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    /// Email (the login).
    #[schema(schema_with = crate::apidoc::email)]
    pub email: String,
    /// Display name.
    #[schema(schema_with = crate::apidoc::name)]
    pub name: String,
    /// Local password, 12 to 256 characters.
    #[schema(schema_with = crate::apidoc::password)]
    pub password: Option<String>,
    /// Roles: employee, manager, finance, admin (employee is always included).
    #[serde(default)]
    #[schema(schema_with = crate::apidoc::roles)]
    pub roles: Vec<String>,
    /// Whom the user reports to.
    #[schema(schema_with = crate::apidoc::id_or_null)]
    pub manager_id: Option<String>,
}

/// Changes to a user; absent fields stay as they are, `"manager_id": null` removes the manager.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchRequest {
    /// New name.
    #[schema(schema_with = crate::apidoc::name_or_null)]
    pub name: Option<String>,
    /// New password.
    #[schema(schema_with = crate::apidoc::password)]
    pub password: Option<String>,
    /// New roles.
    #[schema(schema_with = crate::apidoc::roles_or_null)]
    pub roles: Option<Vec<String>>,
    /// New manager, or `null` for none.
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    #[schema(schema_with = crate::apidoc::id_or_null)]
    pub manager_id: Option<Option<String>>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// The cost centre the user's expenses are charged to unless split, or `null` for none.
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    #[schema(schema_with = crate::apidoc::code_or_null)]
    pub home_cost_centre: Option<Option<String>>,
}

/// Changes to the caller's own settings; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MePatchRequest {
    /// The IANA time zone the caller reads times in (`Europe/Berlin`), or `null` for the
    /// company's.
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    #[schema(schema_with = crate::apidoc::zone_or_null)]
    pub time_zone: Option<Option<String>>,
}

/// Paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn roles(names: &[String]) -> Result<Vec<Role>> {
    names
        .iter()
        .map(|n| Role::parse(n).map_err(|e| ApiError::BadRequest(e.to_string())))
        .collect()
}

fn user_id(raw: &str) -> Result<UserId> {
    UserId::parse(raw).map_err(|e| ApiError::BadRequest(format!("manager_id: {e}")))
}

/// The caller.
#[utoipa::path(get, path = "/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
async fn me(State(state): State<AppState>, Auth(caller): Auth) -> Json<UserView> {
    Json(state.app.me(&caller).into())
}

/// Changes the caller's own settings (their time zone); honours `If-Match`.
#[utoipa::path(patch, path = "/me", tag = "users", security(("bearer" = [])), request_body = MePatchRequest,
    params(("If-Match" = Option<String>, Header, description = "The version the client saw")),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, description = "A stale version", body = ErrorBody)))]
async fn update_me(
    State(state): State<AppState>,
    Auth(caller): Auth,
    IfMatch(version): IfMatch,
    body: JsonBody<MePatchRequest>,
) -> Result<Json<UserView>> {
    let zone = match body.value.time_zone {
        // Nothing to change: nothing written, nothing audited.
        None => return Ok(Json(caller.user.clone().into())),
        Some(None) => None,
        Some(Some(name)) => Some(
            outlay_domain::TimeZone::parse(&name)
                .map_err(|e| ApiError::BadRequest(format!("time_zone: {e}")))?,
        ),
    };
    let user = state.app.set_time_zone(&caller, zone, version).await?;
    Ok(Json(user.into()))
}

/// Every user (admin).
#[utoipa::path(get, path = "/users", tag = "users", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = PageView<UserView>), (status = 403, body = ErrorBody)))]
async fn list_users(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<PageParams>,
) -> Result<Json<PageView<UserView>>> {
    let page = state
        .app
        .list_users(&caller, &PageRequest::parse(q.limit, q.cursor)?)
        .await?;
    Ok(Json(PageView::from_page(page, UserView::from)))
}

/// Creates a user (admin).
#[utoipa::path(post, path = "/users", tag = "users", security(("bearer" = [])), request_body = NewUserRequest,
    responses((status = 201, body = UserView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "Email taken", body = ErrorBody)))]
async fn create_user(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<NewUserRequest>,
) -> Result<(StatusCode, Json<UserView>)> {
    let r = body.value;
    let new = NewUser {
        email: r.email,
        name: r.name,
        password: r.password,
        roles: roles(&r.roles)?,
        manager_id: r.manager_id.as_deref().map(user_id).transpose()?,
    };
    let user = state.app.create_user(Some(&caller), new).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Changes a user (admin); honours `If-Match`.
#[utoipa::path(patch, path = "/users/{id}", tag = "users", security(("bearer" = [])), request_body = UserPatchRequest,
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_user(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    IfMatch(version): IfMatch,
    body: JsonBody<UserPatchRequest>,
) -> Result<Json<UserView>> {
    let id = path_id(&id, "user", UserId::parse)?;
    let r = body.value;
    let patch = UserPatch {
        name: r.name,
        password: r.password,
        roles: r.roles.as_deref().map(roles).transpose()?,
        manager_id: r
            .manager_id
            .map(|m| m.as_deref().map(user_id).transpose())
            .transpose()?,
        active: r.active,
        home_cost_centre: r.home_cost_centre,
    };
    Ok(Json(
        state
            .app
            .update_user(&caller, id, patch, version)
            .await?
            .into(),
    ))
}

/// The user routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, update_me))
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user))
}

//! `/api/v1/notifications`: the caller's in-app notifications.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use outlay_app::{Notification, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::{ApiQuery, Auth, JsonBody};
use crate::users::PageParams;

/// An in-app notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    /// Id.
    pub id: String,
    /// `report.submitted`, `report.approved_step`, `report.approved`, `report.rejected` or `report.paid`.
    pub event: String,
    /// The report.
    pub report_id: Option<String>,
    /// One line.
    pub title: String,
    /// Detail.
    pub body: String,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Whether it was read.
    pub read: bool,
}

impl From<Notification> for NotificationView {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id.to_string(),
            event: n.event,
            report_id: n.report_id.map(|r| r.to_string()),
            title: n.title,
            body: n.body,
            created_at: n.created_at,
            read: n.read_at.is_some(),
        }
    }
}

/// A page of notifications and the unread count.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationsView {
    /// Newest first.
    pub items: Vec<NotificationView>,
    /// The next page's cursor.
    pub next_cursor: Option<String>,
    /// How many are unread in all.
    pub unread: u64,
}

/// Which to mark read.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// These ids; absent for all.
    #[schema(schema_with = crate::apidoc::ids_or_null)]
    pub ids: Option<Vec<String>>,
}

/// The caller's notifications, newest first, with the unread count.
#[utoipa::path(get, path = "/notifications", tag = "notifications", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = NotificationsView), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<PageParams>,
) -> Result<Json<NotificationsView>> {
    let (page, unread) = state
        .app
        .notifications(&caller, &PageRequest::parse(q.limit, q.cursor)?)
        .await?;
    Ok(Json(NotificationsView {
        items: page.items.into_iter().map(NotificationView::from).collect(),
        next_cursor: page.next_cursor,
        unread,
    }))
}

/// Marks notifications read.
#[utoipa::path(post, path = "/notifications/read", tag = "notifications", security(("bearer" = [])), request_body = ReadRequest,
    responses((status = 204, description = "Marked"), (status = 400, body = ErrorBody)))]
async fn read(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<ReadRequest>,
) -> Result<StatusCode> {
    let ids = body
        .value
        .ids
        .map(|ids| {
            ids.iter()
                .map(|i| {
                    // The hyphenated form only, as ids are written.
                    (i.len() == 36)
                        .then(|| uuid::Uuid::try_parse(i).ok())
                        .flatten()
                        .ok_or_else(|| {
                            ApiError::BadRequest(format!("`{i}` is not a notification id"))
                        })
                })
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    state.app.read_notifications(&caller, ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The notification routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(read))
}

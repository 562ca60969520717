//! The API's one error shape, `{"error":{"code","message"}}`, and its statuses.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use outlay_app::AppError;
use serde::Serialize;
use utoipa::ToSchema;

/// An error answer. Internal errors are logged with their cause chain and shown only as
/// "internal error".
#[derive(Debug)]
pub enum ApiError {
    /// A use case's error, mapped to its status.
    App(AppError),
    /// 400: the request itself is malformed.
    BadRequest(String),
    /// 413: the body is larger than this route accepts.
    PayloadTooLarge(String),
    /// 415: the body's media type is not accepted.
    UnsupportedMediaType(String),
}

/// `type Result<T> = Result<T, ApiError>` for handlers.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError::App(e)
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code (`bad_request`, `not_found`, `conflict`, ...).
    pub code: &'static str,
    /// A message for people.
    pub message: String,
    /// For `policy_violation`: each rule broken, by expense.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violations: Option<Vec<crate::views::ViolationView>>,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        use AppError as A;
        match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m.clone()),
            ApiError::PayloadTooLarge(m) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                m.clone(),
            ),
            ApiError::UnsupportedMediaType(m) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                m.clone(),
            ),
            ApiError::App(e) => match e {
                A::BadInput(m) => (StatusCode::BAD_REQUEST, "bad_request", m.clone()),
                A::Unauthenticated(m) => {
                    (StatusCode::UNAUTHORIZED, "unauthorized", (*m).to_owned())
                }
                A::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m.clone()),
                A::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", e.to_string()),
                A::Conflict(m) => (StatusCode::CONFLICT, "conflict", m.clone()),
                A::Unprocessable(m) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", m.clone())
                }
                A::TooLarge(m) => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    m.clone(),
                ),
                A::UnsupportedMedia(m) => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    m.clone(),
                ),
                A::PolicyViolations(_) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "policy_violation",
                    e.to_string(),
                ),
                A::TooManyRequests { .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    e.to_string(),
                ),
                A::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string()),
                A::Internal(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error".into(),
                ),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::App(AppError::Internal(e)) = &self {
            tracing::error!(error = ?e, "request failed");
        }
        let (status, code, message) = self.parts();
        let retry_after = match &self {
            ApiError::App(
                AppError::TooManyRequests { retry_after } | AppError::Busy { retry_after },
            ) => Some(*retry_after),
            _ => None,
        };
        let violations = match self {
            ApiError::App(AppError::PolicyViolations(list)) => Some(
                list.into_iter()
                    .map(|(id, v)| crate::views::ViolationView::new(v, Some(id.to_string())))
                    .collect(),
            ),
            _ => None,
        };
        let detail = ErrorDetail {
            code,
            message,
            violations,
        };
        let mut response = (status, Json(ErrorBody { error: detail })).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// Answers 404 in the API's shape for routes that do not exist.
pub async fn no_route() -> ApiError {
    ApiError::App(AppError::NotFound("route"))
}

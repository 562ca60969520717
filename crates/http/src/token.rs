//! `POST /api/v1/auth/token`: local login.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, Result};
use crate::extract::{ClientAddress, JsonBody};

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The user's email.
    pub email: String,
    /// The user's password.
    pub password: String,
}

/// An access token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Signs in with email and password.
#[utoipa::path(post, path = "/auth/token", tag = "auth", request_body = TokenRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Unknown email or wrong password", body = ErrorBody),
        (status = 429, description = "Too many attempts for this email; see Retry-After", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the next attempt is let through"))),
    ))]
async fn token(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    body: JsonBody<TokenRequest>,
) -> Result<Json<TokenResponse>> {
    let req = body.value;
    let token = state
        .app
        .login(&req.email, &req.password, address.as_deref())
        .await?;
    Ok(Json(TokenResponse {
        access_token: token.token,
        token_type: "Bearer",
        expires_in: token.expires_in,
    }))
}

/// The token route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(token))
}

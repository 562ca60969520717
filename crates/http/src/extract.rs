//! Request extractors: the authenticated caller, JSON bodies with idempotency keys,
//! `If-Match` versions and query strings, each failing in the API's error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use outlay_app::{AppError, Caller, Idempotency};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// The authenticated caller, from `Authorization: Bearer <token>`.
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or(AppError::Unauthenticated("a bearer token is required"))?;
        let source = state.client_address(&parts.headers, &parts.extensions);
        let caller = state.app.authenticate(token, source).await?;
        tracing::Span::current().record("user_id", tracing::field::display(caller.user.id));
        Ok(Auth(caller))
    }
}

/// The client's address (see [`AppState::client_address`]).
pub struct ClientAddress(pub Option<String>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            state.client_address(&parts.headers, &parts.extensions),
        ))
    }
}

/// The version in an `If-Match` header (`3`, `"3"` or `W/"3"`), if any.
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        value
            .to_str()
            .ok()
            .map(|v| v.trim())
            .map(|v| v.strip_prefix("W/").unwrap_or(v))
            .map(|v| {
                v.strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v)
            })
            .filter(|v| (1..=18).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<i64>().ok())
            .map(|v| IfMatch(Some(v)))
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "If-Match must be a report or expense version, such as \"3\"".into(),
                )
            })
    }
}

/// A JSON body (unknown fields refused) and the request's `Idempotency-Key`, if any.
/// An empty body reads as `{}`.
pub struct JsonBody<T> {
    /// The body.
    pub value: T,
    /// The idempotency key, fingerprinted with the request.
    pub idempotency: Option<Idempotency>,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let key = req
            .headers()
            .get("idempotency-key")
            .map(|v| v.to_str().map(str::to_owned))
            .transpose()
            .map_err(|_| ApiError::BadRequest("Idempotency-Key must be ASCII".into()))?;
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let essence = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                essence == "application/json" || essence.ends_with("+json")
            });
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("the request body is too large".into())
            } else {
                ApiError::BadRequest(r.body_text())
            }
        })?;
        if !bytes.is_empty() && json_type != Some(true) {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as Content-Type: application/json".into(),
            ));
        }
        let text: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
        let json: serde_json::Value = serde_json::from_slice(text)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
        // Every body is an object; serde would also read a struct from an array (`[null]`).
        if !json.is_object() {
            return Err(ApiError::BadRequest(
                "invalid JSON body: expected an object".into(),
            ));
        }
        let value = serde_json::from_value(json)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
        let idempotency = key
            .map(|k| Idempotency::parse(&k, method.as_str(), &path, &bytes))
            .transpose()?;
        Ok(JsonBody { value, idempotency })
    }
}

/// A query string, refused with 400 (not axum's default) when malformed.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|r| ApiError::BadRequest(r.body_text()))
    }
}

/// Parses a path id; a malformed id is as unknown as a missing one.
pub fn path_id<T>(
    raw: &str,
    kind: &'static str,
    parse: impl Fn(&str) -> Result<T, outlay_domain::IdError>,
) -> Result<T, ApiError> {
    parse(raw).map_err(|_| ApiError::App(AppError::NotFound(kind)))
}

/// A JSON integer as JSON Schema has it: `394` or `394.0`, not `394.5` nor a negative.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    n.as_u64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                .map(|f| f as u64)
        })
        .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number of bytes")))
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    <Option<String> as serde::Deserialize>::deserialize(d).map(Some)
}

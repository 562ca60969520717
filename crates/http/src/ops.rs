//! Operations: `/healthz`, `/metrics` and the request metrics middleware.

use std::sync::OnceLock;
use std::time::Instant;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, Result};

/// The process-wide Prometheus recorder (a process has one metrics registry). Where another
/// recorder was installed first (CloudWatch EMF in Lambda), this one stays empty.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .expect("the bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::debug!("another metrics recorder is installed; /metrics stays empty");
            }
            handle
        })
        .clone()
}

/// Health.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// Liveness and readiness: answers once the store answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 500, body = ErrorBody)))]
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>> {
    state
        .app
        .store()
        .policy()
        .await
        .map_err(outlay_app::AppError::from)?;
    Ok(Json(Health { status: "ok" }))
}

/// Prometheus metrics, in the text format: for scrapers with the metrics token
/// (`OUTLAY_METRICS_TOKEN`), or without one configured, for clients on the loopback only.
/// The figures (routes, volumes, error rates) are operational intelligence, not public.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    security(("bearer" = [])),
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, description = "No or a wrong metrics token", body = crate::error::ErrorBody)))]
async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    crate::extract::ClientAddress(address): crate::extract::ClientAddress,
) -> Result<impl IntoResponse, crate::error::ApiError> {
    let allowed = match &state.metrics_token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| crate::ui::same_secret(given.trim(), token)),
        None => address
            .and_then(|a| a.parse::<std::net::IpAddr>().ok())
            .is_some_and(|a| a.is_loopback()),
    };
    if !allowed {
        return Err(
            outlay_app::AppError::Unauthenticated("/metrics needs the metrics token").into(),
        );
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    ))
}

/// Counts and times every request by method, route template and status.
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    let status = response.status();
    let labels = [
        ("method", method),
        ("route", route),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!("outlay_http_requests_total", &labels).increment(1);
    metrics::histogram!("outlay_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        metrics::counter!("outlay_http_errors_total").increment(1);
    }
    response
}

/// The operations routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(metrics))
}

//! Outlay's HTTP API: one axum [`Router`], built in [`router`] from each resource's own
//! `router()`, with its error shape, request ids, logs, metrics and OpenAPI document.

pub mod advances;
pub mod allowances;
mod apidoc;
pub mod audit;
pub mod delegations;
pub mod error;
mod expense_doc;
pub mod expenses;
pub mod extract;
pub mod finance;
pub mod journal;
pub mod lists;
pub mod notifications;
pub mod ops;
pub mod org;
pub mod payments;
pub mod receipts;
pub mod reports;
pub mod statements;
pub mod token;
pub mod ui;
pub mod users;
pub mod views;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::routing::get;
use axum::{Json, Router};

use metrics_exporter_prometheus::PrometheusHandle;
use outlay_app::App;
/// The CSV export's guard against cells a spreadsheet would run as formulas.
pub use outlay_app::reports_csv::cell as csv_cell;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub app: App,
    /// The metrics registry, for `/metrics`.
    pub metrics: PrometheusHandle,
    /// The URL clients reach Outlay at (for upload URLs); `None` takes the `Host` that the
    /// trusted proxy set.
    pub public_url: Option<String>,
    /// Whether `Host`, `X-Forwarded-For` and `X-Forwarded-Proto` come from a trusted proxy.
    pub trust_proxy: bool,
    /// The bearer token `/metrics` wants; without one, only loopback clients get it.
    pub metrics_token: Option<Arc<String>>,
    /// The path the web UI is served under (empty at the root, `/prod` behind a stage).
    pub base_path: String,
    /// The key that makes the web UI's CSRF tokens.
    pub session_key: Arc<Vec<u8>>,
}

/// How the router is reached from outside.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// The URL clients reach Outlay at; `None` takes the `Host` that a trusted proxy set.
    pub public_url: Option<String>,
    /// Whether a proxy in front sets `Host`, `X-Forwarded-For` and `X-Forwarded-Proto`.
    pub trust_proxy: bool,
    /// The bearer token that `/metrics` asks for.
    pub metrics_token: Option<String>,
    /// The path prefix in front of every UI link (no trailing slash).
    pub base_path: String,
    /// A secret for the UI's CSRF tokens.
    pub session_key: Vec<u8>,
}

impl AppState {
    /// The base URL for links handed to clients: the configured one, or (only behind a trusted
    /// proxy) the `Host` and scheme the proxy reports.
    pub fn public_url(&self, headers: &axum::http::HeaderMap) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_owned();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| self.trust_proxy && !h.is_empty())
            .unwrap_or("localhost");
        let scheme = if self.forwarded_https(headers) {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{host}")
    }

    /// Whether a trusted proxy says the client came in over HTTPS.
    pub fn forwarded_https(&self, headers: &axum::http::HeaderMap) -> bool {
        self.trust_proxy
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                == Some("https")
    }

    /// The client's address: the peer of the connection, or behind a trusted proxy the address
    /// the proxy appended last to `X-Forwarded-For` (earlier entries are the client's to write).
    pub fn client_address(
        &self,
        headers: &axum::http::HeaderMap,
        extensions: &axum::http::Extensions,
    ) -> Option<String> {
        if self.trust_proxy {
            // Only the entry the proxy itself appended counts; anything before it is the
            // client's to write, so nothing falls back to it.
            let last = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .map(str::trim);
            if let Some(ip) = last.and_then(forwarded_ip) {
                return Some(ip.to_string());
            }
        }
        extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string())
    }
}

/// An `X-Forwarded-For` entry as an address: a bare IP, or one with a port.
fn forwarded_ip(entry: &str) -> Option<std::net::IpAddr> {
    entry
        .parse::<std::net::IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

/// JSON bodies of the API are small; anything larger is refused with 413.
pub const JSON_BODY_LIMIT: usize = 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "Outlay API", description = "Expense reimbursement: expenses, reports, approvals, payment and audit."),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Local login"),
        (name = "users", description = "The caller and the user directory"),
        (name = "expenses", description = "The caller's expenses"),
        (name = "reports", description = "Reports and their approval workflow"),
        (name = "receipts", description = "Receipt files"),
        (name = "finance", description = "Policy, exchange rates, and the mileage and per diem rate tables"),
        (name = "payments", description = "Bank details, the paying account, payment batches and their bank files"),
        (name = "advances", description = "Cash advances: requested, approved, paid out, settled by reports and repayments"),
        (name = "journal", description = "The ledger accounts and the accounting journal, for Xero, QuickBooks Online and DATEV"),
        (name = "organisation", description = "Cost centres, projects and routing rules"),
        (name = "notifications", description = "In-app notifications"),
        (name = "audit", description = "The audit hash chain"),
        (name = "operations", description = "Health, metrics and this document"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The API's routes and their OpenAPI document, from the same source.
fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::new()
        .merge(token::router())
        .merge(users::router())
        .merge(delegations::router())
        .merge(org::router())
        .merge(expenses::router())
        .merge(allowances::router())
        .merge(payments::router())
        .merge(journal::router())
        .merge(advances::router())
        .merge(statements::router())
        .merge(reports::router())
        .merge(receipts::router())
        .merge(finance::router())
        .merge(notifications::router())
        .merge(audit::router());
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", v1)
        .merge(ops::router())
        .split_for_parts()
}

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = routes();
    apidoc::complete(&mut doc);
    doc.paths
        .paths
        .insert("/openapi.json".into(), openapi_path());
    doc
}

fn openapi_path() -> utoipa::openapi::PathItem {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
    use utoipa::openapi::response::ResponseBuilder;
    PathItem::new(
        HttpMethod::Get,
        OperationBuilder::new()
            .tag("operations")
            .summary(Some("This OpenAPI document"))
            .response("200", ResponseBuilder::new().description("OpenAPI 3 JSON")),
    )
}

/// Builds Outlay's one router: the API, its OpenAPI document and the web UI.
pub fn router(app: App, web: WebConfig) -> Router {
    let state = AppState {
        app,
        metrics: ops::metrics_handle(),
        public_url: web.public_url,
        trust_proxy: web.trust_proxy,
        metrics_token: web.metrics_token.map(Arc::new),
        base_path: web.base_path.trim_end_matches('/').to_owned(),
        session_key: Arc::new(web.session_key),
    };
    let (api, _) = routes();
    let mut doc = serde_json::to_value(openapi()).expect("the OpenAPI document serialises");
    apidoc::add_links(&mut doc);
    let doc = Arc::new(doc);
    let request_id = HeaderName::from_static("x-request-id");
    api.route(
        "/openapi.json",
        get(move |State(state): State<AppState>| {
            let doc = doc.clone();
            async move {
                // The document describes the API even while the store is away: then it lists
                // the default policy's categories, as the built-in document does.
                match state.app.categories().await {
                    Ok(names) => Json(apidoc::with_categories(&doc, &names)),
                    Err(e) => {
                        tracing::warn!(error = ?e, "the OpenAPI document lists the default categories: the policy could not be read");
                        Json((*doc).clone())
                    }
                }
            }
        }),
    )
    .merge(ui::router())
    .fallback(ui::not_found)
    .layer(axum::middleware::map_response_with_state(
        state.clone(),
        ui::error_pages,
    ))
    .with_state(state)
    .layer(axum::middleware::from_fn(ops::track))
    .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
    .layer(SetResponseHeaderLayer::overriding(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ))
    .layer(SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ))
    .layer(PropagateRequestIdLayer::new(request_id.clone()))
    .layer(
        TraceLayer::new_for_http()
            .make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!(
                    "request",
                    request_id = %id,
                    method = %req.method(),
                    path = %req.uri().path(),
                    user_id = tracing::field::Empty,
                    report_id = tracing::field::Empty,
                )
            })
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
    )
    .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
    .layer(SetSensitiveRequestHeadersLayer::new([
        header::AUTHORIZATION,
        header::COOKIE,
    ]))
}

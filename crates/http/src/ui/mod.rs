//! The web UI: server-rendered HTML (maud) over the same use cases as the API, so it enforces
//! exactly the same rules. No JavaScript build chain: one small CSS file and one small script,
//! both embedded in the binary. Pages work without the script; it only adds drag and drop,
//! image previews and confirmation prompts.
//!
//! Sessions: the access token in an `HttpOnly`, `SameSite=Strict` cookie (`Secure` behind
//! HTTPS), renewed on every page so that it expires after 15 idle minutes. Every form that
//! changes something carries a CSRF token (an HMAC of the user id under a server key) that is
//! checked before anything else.

mod admin;
mod advances;
mod allowances;
mod batches;
mod bulk;
mod claims;
mod expenses;
pub(crate) mod finance;
mod hosted;
mod journal;
mod organisation;
mod reports;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::Form;
use hmac::{Hmac, Mac};
use maud::{DOCTYPE, Markup, html};
use outlay_app::{AppError, Caller};
use outlay_domain::{Money, ReportState, Role};
use serde::Deserialize;
use sha2::Sha256;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;

mod errors;
mod layout;
mod lists;
mod login;
mod notifications;
mod session;
mod upload;

pub(crate) use errors::*;
pub(crate) use layout::*;
pub(crate) use lists::*;
pub(crate) use login::*;
pub(crate) use notifications::*;
pub(crate) use session::*;
pub(crate) use upload::*;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "outlay_session";

const CSS: &str = include_str!("assets/app.css");

const JS: &str = include_str!("assets/app.js");

/// A page's content security policy: nothing inline, nothing from elsewhere, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The UI's routes.
pub fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/auth/callback", get(hosted::callback))
        .route(
            "/notifications",
            get(notifications).post(read_notifications),
        )
        .route("/settings", get(settings).post(save_settings))
        .route("/settings/delegation", post(notifications::save_delegation))
        .route(
            "/settings/delegation/end",
            post(notifications::end_delegation),
        )
        .merge(expenses::router())
        .merge(batches::router())
        .merge(allowances::router())
        .merge(journal::router())
        .merge(advances::router())
        .merge(reports::router())
        .merge(finance::router())
        .merge(admin::router())
        .merge(organisation::router())
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ));
    Router::new()
        .route(
            "/assets/app.css",
            get(|| async { asset(CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/assets/app.js",
            get(|| async { asset(JS, "text/javascript; charset=utf-8") }),
        )
        .merge(pages)
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// A link inside the UI, under the configured base path.
pub(crate) fn url(state: &AppState, path: &str) -> String {
    format!("{}{path}", state.base_path)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_pages_stay_inside_outlay() {
        assert_eq!(safe_next("/reports/1?x=2"), "/reports/1?x=2");
        for outside in [
            "",
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "expenses",
        ] {
            assert_eq!(safe_next(outside), "/expenses", "{outside:?}");
        }
        assert_eq!(safe_next(&format!("/{}", "a".repeat(2000))), "/expenses");
    }
}

//! Signing in on the identity provider's hosted pages (Cognito's hosted UI) instead of
//! Outlay's own login form: the authorization code flow with PKCE.
//!
//! `/login` sends the browser to the provider with a fresh `state` and code challenge, keeping
//! the state, the code verifier and the page to return to in a short-lived cookie signed with
//! the session key. `/auth/callback` checks that cookie and the `state`, exchanges the code,
//! checks that the token belongs to an active Outlay user, and starts the session.
//!
//! The sign-in cookie is `SameSite=Lax`, because the provider's redirect back is a cross-site
//! navigation. The session cookie stays `Strict`, so the callback answers a page that moves on
//! by itself (a same-site navigation) rather than a redirect that would arrive without it.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use maud::html;
use serde::Deserialize;
use sha2::Sha256;

use super::{ErrorPage, cookie, is_https, plain_page, safe_next, same_secret, url};
use crate::AppState;

/// The cookie that carries a sign-in in progress.
const SIGN_IN_COOKIE: &str = "outlay_signin";
/// How long a sign-in may take on the provider's pages.
const SIGN_IN_SECS: i64 = 600;

fn callback_uri(state: &AppState, headers: &HeaderMap) -> String {
    format!(
        "{}{}",
        state.public_url(headers),
        url(state, "/auth/callback")
    )
}

fn mac(state: &AppState, payload: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&state.session_key).expect("HMAC takes keys of any length");
    mac.update(b"signin:");
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn sign_in_cookie(state: &AppState, headers: &HeaderMap, value: &str, max_age: i64) -> String {
    let secure = if is_https(state, headers) {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SIGN_IN_COOKIE}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        url(state, "/auth/")
    )
}

/// What the sign-in cookie holds.
struct Pending {
    state: String,
    verifier: String,
    next: String,
}

fn read_pending(state: &AppState, headers: &HeaderMap) -> Option<Pending> {
    let value = super::cookie_value(headers, SIGN_IN_COOKIE)?;
    let (payload, tag) = value.rsplit_once('.')?;
    if !same_secret(tag, &mac(state, payload)) {
        return None;
    }
    let mut parts = payload.split('.');
    let (s, verifier, expires, next) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if expires.parse::<i64>().ok()? < chrono::Utc::now().timestamp() {
        return None;
    }
    Some(Pending {
        state: s.to_owned(),
        verifier: verifier.to_owned(),
        next: String::from_utf8(hex::decode(next).ok()?).ok()?,
    })
}

/// Sends the browser to the provider's sign-in page.
pub(super) fn start(state: &AppState, headers: &HeaderMap, next: &str) -> Response {
    let start = match state.app.start_hosted_login(&callback_uri(state, headers)) {
        Ok(s) => s,
        Err(e) => return ErrorPage::from(e).into_response(),
    };
    let payload = format!(
        "{}.{}.{}.{}",
        start.state,
        start.verifier,
        chrono::Utc::now().timestamp() + SIGN_IN_SECS,
        hex::encode(safe_next(next))
    );
    let value = format!("{payload}.{}", mac(state, &payload));
    let mut r = Redirect::to(&start.url).into_response();
    if let Ok(v) = HeaderValue::from_str(&sign_in_cookie(state, headers, &value, SIGN_IN_SECS)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
pub(super) struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn failed(state: &AppState, headers: &HeaderMap, message: &str) -> Response {
    let body = plain_page(
        state,
        "Sign-in failed",
        None,
        "login",
        html! {
            h1 { "Sign-in failed" }
            p.error role="alert" { (message) }
            p { a href=(url(state, "/login")) { "Sign in again" } }
        },
    );
    let mut r = (StatusCode::BAD_REQUEST, body).into_response();
    if let Ok(v) = HeaderValue::from_str(&sign_in_cookie(state, headers, "", 0)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// The provider sends the browser back here with a code.
pub(super) async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    if let Some(error) = q.error {
        tracing::info!(error = %error, "the identity provider ended a sign-in");
        return failed(&state, &headers, "The sign-in was cancelled or refused.");
    }
    let Some(pending) = read_pending(&state, &headers) else {
        return failed(
            &state,
            &headers,
            "This sign-in was not started here, or took more than ten minutes.",
        );
    };
    let (Some(code), Some(returned)) = (q.code, q.state) else {
        return failed(
            &state,
            &headers,
            "The identity provider sent back no sign-in code.",
        );
    };
    if returned != pending.state {
        return failed(
            &state,
            &headers,
            "This sign-in was not started here, or took more than ten minutes.",
        );
    }
    let (token, caller) = match state
        .app
        .finish_hosted_login(&code, &pending.verifier, &callback_uri(&state, &headers))
        .await
    {
        Ok(t) => t,
        Err(e) => return failed(&state, &headers, &super::message(&e)),
    };
    tracing::info!(user_id = %caller.user.id, "signed in on the hosted UI");
    let mut r = moving_on(&state, "Signed in", &url(&state, &pending.next));
    let cookies = [
        cookie(&state, &headers, &token.token, token.expires_in),
        sign_in_cookie(&state, &headers, "", 0),
    ];
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// A page that moves the browser on to `target` by itself. Used where a redirect would not do:
/// after the callback (a redirect would still count as the provider's cross-site navigation and
/// arrive without the `Strict` session cookie) and after the sign-out form (the page's CSP
/// allows forms to lead only to Outlay itself, and that covers a redirect after the post).
fn moving_on(state: &AppState, title: &str, target: &str) -> Response {
    let page = plain_page(
        state,
        title,
        Some(target),
        "login",
        html! {
            h1 { (title) }
            p { a href=(target) { "Continue" } }
        },
    );
    let mut r = page.into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// After signing out: on to the provider's logout, which ends its session too and comes back to
/// the login page. `None` where there is no provider.
pub(super) fn signed_out(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    let back = format!("{}{}", state.public_url(headers), url(state, "/login"));
    let target = state.app.hosted_logout_url(&back)?;
    Some(moving_on(state, "Signed out", &target))
}

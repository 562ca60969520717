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
mod expenses;
pub(crate) mod finance;
mod hosted;
mod reports;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::Form;
use hmac::{Hmac, Mac};
use maud::{DOCTYPE, Markup, html};
use outlay_app::{AppError, Caller};
use outlay_domain::{Money, ReportState, Role};
use serde::Deserialize;
use sha2::Sha256;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;

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
        .merge(expenses::router())
        .merge(reports::router())
        .merge(finance::router())
        .merge(admin::router())
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

/// The signed-in user of a page, with their CSRF token.
pub(crate) struct Session {
    pub caller: Caller,
    pub csrf: String,
    cookie: Option<String>,
}

/// The value of the request's cookie `wanted`, if it has a non-empty one.
fn cookie_value(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (name, value) = c.trim().split_once('=')?;
            (name == wanted && !value.is_empty()).then(|| value.to_owned())
        })
}

/// Whether two secrets (tokens, MACs) are equal, in time that does not depend on where they
/// differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A page to go to after signing in: only paths inside Outlay, never an open redirect. Browsers
/// drop tabs and line breaks from URLs (`/\t/evil.example` is `//evil.example` to them), so
/// only visible ASCII passes, and a short path (it travels in a cookie).
fn safe_next(next: &str) -> &str {
    let inside = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 1024
        && next.bytes().all(|b| b.is_ascii_graphic());
    if inside { next } else { "/expenses" }
}

fn is_https(state: &AppState, headers: &HeaderMap) -> bool {
    state
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
        || state.forwarded_https(headers)
}

fn cookie(state: &AppState, headers: &HeaderMap, value: &str, max_age: u64) -> String {
    named_cookie(state, headers, SESSION_COOKIE, value, max_age)
}

/// A `Set-Cookie` value for `name`, under the base path, `HttpOnly`, `SameSite=Strict`, and
/// `Secure` behind HTTPS.
fn named_cookie(
    state: &AppState,
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age: u64,
) -> String {
    let path = if state.base_path.is_empty() {
        "/"
    } else {
        &state.base_path
    };
    let secure = if is_https(state, headers) {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

impl AppState {
    fn mac(&self, text: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.session_key)
            .expect("HMAC takes keys of any length");
        mac.update(text.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The CSRF token of a session: bound to the user and to this sign-in, so that it differs
    /// per session and dies with it.
    fn csrf_for(&self, caller: &Caller) -> String {
        let session = caller.session.as_ref().map_or("", |s| s.id.as_str());
        self.mac(&format!("csrf:{}:{session}", caller.user.id))
    }
}

/// The cookie that carries the sign-in form's pre-session secret.
const LOGIN_COOKIE: &str = "outlay_login";

/// A fresh pre-session secret for the sign-in form.
fn login_secret() -> String {
    let mut bytes = [0_u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("the system's random source works");
    hex::encode(bytes)
}

/// Whether a form post was sent by a page of this origin, as far as the browser says: a
/// cross-site `Sec-Fetch-Site`, or an `Origin` of another host, is refused.
fn same_origin_post(state: &AppState, headers: &HeaderMap) -> bool {
    let site_ok = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| matches!(v, "same-origin" | "none"));
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|origin| {
            let host = |u: &str| {
                u.split_once("://")
                    .map(|(_, rest)| rest.split('/').next().unwrap_or("").to_ascii_lowercase())
            };
            // The configured public URL, or the Host the browser sent this very request to:
            // another site cannot make a victim's browser send our Host with its Origin.
            let request_host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_ascii_lowercase);
            let public = state.public_url.as_deref().and_then(host);
            host(origin)
                .is_some_and(|o| Some(&o) == public.as_ref() || Some(&o) == request_host.as_ref())
        });
    site_ok && origin_ok
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            let next = next
                .strip_prefix(&state.base_path)
                .unwrap_or(&next)
                .to_owned();
            let target = format!("{}?next={}", url(state, "/login"), urlencode(&next));
            let mut r = Redirect::to(&target).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie(state, &parts.headers, "", 0)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        };
        let Some(token) = cookie_value(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        let source = state.client_address(&parts.headers, &parts.extensions);
        let caller = state
            .app
            .authenticate(&token, source)
            .await
            .map_err(|_| to_login())?;
        tracing::Span::current().record("user_id", tracing::field::display(caller.user.id));
        let renewed = state
            .app
            .reissue_token(&caller)
            .ok()
            .map(|t| cookie(state, &parts.headers, &t.token, t.expires_in));
        Ok(Session {
            csrf: state.csrf_for(&caller),
            caller,
            cookie: renewed,
        })
    }
}

impl Session {
    /// Refuses a form whose CSRF token is not this user's.
    pub fn check(&self, token: &str) -> Result<(), ErrorPage> {
        if same_secret(token, &self.csrf) {
            Ok(())
        } else {
            Err(ErrorPage(StatusCode::FORBIDDEN, "This form did not come from this Outlay page or has expired. Go back, reload the page and try again.".into()))
        }
    }

    pub fn has(&self, role: Role) -> bool {
        self.caller.user.has(role)
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A whole page, with the navigation for the session's roles.
pub(crate) async fn page(
    state: &AppState,
    session: &Session,
    title: &str,
    body: Markup,
) -> Response {
    let unread = state
        .app
        .notifications(
            &session.caller,
            &outlay_app::PageRequest {
                limit: 1,
                cursor: None,
            },
        )
        .await
        .map_or(0, |(_, n)| n);
    let u = |p: &str| url(state, p);
    let nav: Vec<(&str, String, bool)> = vec![
        ("Expenses", u("/expenses"), true),
        ("Reports", u("/reports"), true),
        (
            "Approvals",
            u("/approvals"),
            session.has(Role::Manager) || session.has(Role::Finance),
        ),
        ("Team", u("/team"), session.has(Role::Manager)),
        ("Payments", u("/payments"), session.has(Role::Finance)),
        ("Spend", u("/spend"), session.has(Role::Finance)),
        ("Policy", u("/policy"), session.has(Role::Finance)),
        ("Rates", u("/rates"), session.has(Role::Finance)),
        ("Users", u("/admin/users"), session.has(Role::Admin)),
        ("Audit", u("/admin/audit"), session.has(Role::Admin)),
    ];
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Outlay" }
                link rel="stylesheet" href=(u("/assets/app.css"));
                script type="module" src=(u("/assets/app.js")) {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href=(u("/expenses")) { "Outlay" }
                    nav aria-label="Main" {
                        @for (label, href, shown) in &nav {
                            @if *shown { a href=(href) { (label) } }
                        }
                        a href=(u("/notifications")) {
                            "Notifications"
                            @if unread > 0 { " " span.badge aria-label=(format!("{unread} unread")) { (unread) } }
                        }
                    }
                    form.logout method="post" action=(u("/logout")) {
                        input type="hidden" name="csrf" value=(session.csrf);
                        span.who { (session.caller.user.name) }
                        button.link type="submit" { "Sign out" }
                    }
                }
                main #main { h1 { (title) } (body) }
            }
        }
    };
    let mut response = markup.into_response();
    if let Some(c) = session
        .cookie
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A page without the navigation (signing in, errors, hand-overs): `refresh` moves the
/// browser on to that URL by itself; `class` is the body's class.
pub(crate) fn plain_page(
    state: &AppState,
    title: &str,
    refresh: Option<&str>,
    class: &str,
    content: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(target) = refresh {
                    meta http-equiv="refresh" content=(format!("0;url={target}"));
                }
                title { (title) " · Outlay" }
                link rel="stylesheet" href=(url(state, "/assets/app.css"));
            }
            body class=(class) { main #main { (content) } }
        }
    }
}

/// An error shown as a page, in plain words. Handlers answer it as a marker that
/// [`error_pages`] renders with the base path.
#[derive(Clone)]
pub(crate) struct ErrorPage(pub StatusCode, pub String);

impl From<AppError> for ErrorPage {
    fn from(e: AppError) -> Self {
        let api = crate::error::ApiError::from(e);
        let response = api.into_response();
        let status = response.status();
        let message = match status {
            StatusCode::NOT_FOUND => "There is nothing here, or it is not yours to see.".to_owned(),
            StatusCode::FORBIDDEN => "You do not have access to this page or action.".to_owned(),
            StatusCode::INTERNAL_SERVER_ERROR => {
                "Something went wrong on our side. Please try again.".to_owned()
            }
            _ => "That did not work.".to_owned(),
        };
        ErrorPage(status, message)
    }
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Renders the [`ErrorPage`]s that handlers answer, with links under the base path.
pub(crate) async fn error_pages(State(state): State<AppState>, mut response: Response) -> Response {
    let Some(ErrorPage(status, text)) = response.extensions_mut().remove::<ErrorPage>() else {
        return response;
    };
    let markup = plain_page(
        &state,
        &status.as_u16().to_string(),
        None,
        "error-page",
        html! {
            h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("Error")) }
            p.error role="alert" { (text) }
            p { a href=(url(&state, "/expenses")) { "Go to your expenses" } " or use your browser's back button." }
        },
    );
    let (mut parts, _) = response.into_parts();
    let fresh = (status, markup).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in fresh.headers() {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, fresh.into_body())
}

/// The message of a use case's error, for showing next to the form that caused it.
pub(crate) fn message(e: &AppError) -> String {
    match e {
        AppError::Internal(_) => "Something went wrong on our side. Please try again.".into(),
        AppError::NotFound(_) => "There is nothing here, or it is not yours to see.".into(),
        other => other.to_string(),
    }
}

/// An amount for people, or a dash.
pub(crate) fn money(m: Option<Money>) -> String {
    m.map_or_else(
        || "—".to_owned(),
        |m| format!("{} {}", m.amount_string(), m.currency()),
    )
}

/// A report state as a badge.
pub(crate) fn state_badge(s: ReportState) -> Markup {
    html! { span class=(format!("state state-{}", s.as_str())) { (s.as_str().replace('_', " ")) } }
}

/// A timestamp for people (UTC).
pub(crate) fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A hidden CSRF field.
pub(crate) fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// An error message next to a form.
pub(crate) fn alert(error: Option<&str>) -> Markup {
    html! { @if let Some(e) = error { p.error role="alert" { (e) } } }
}

async fn home(State(state): State<AppState>) -> Redirect {
    Redirect::to(&url(&state, "/expenses"))
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

fn login_markup(state: &AppState, error: Option<&str>, next: &str, secret: &str) -> Markup {
    plain_page(
        state,
        "Sign in",
        None,
        "login",
        html! {
                    h1 { "Outlay" }
                    p.lead { "Expenses, approvals and payment, in one place." }
                    form.card method="post" action=(url(state, "/login")) {
                        (alert(error))
                        input type="hidden" name="next" value=(next);
                        input type="hidden" name="csrf" value=(state.mac(&format!("login:{secret}")));
                        label for="email" { "Email" }
                        input #email type="email" name="email" autocomplete="username" required autofocus;
                        label for="password" { "Password" }
                        input #password type="password" name="password" autocomplete="current-password" required;
                        button type="submit" { "Sign in" }
                    }
        },
    )
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<Next>,
) -> Response {
    let next = q.next.unwrap_or_default();
    if state.app.signs_in_elsewhere() {
        return hosted::start(&state, &headers, &next);
    }
    if !state.app.signs_in_with_password() {
        // Tokens come from an identity provider, but its sign-in pages are not configured.
        let page = plain_page(
            &state,
            "Sign in",
            None,
            "login",
            html! {
                h1 { "Sign-in is not set up" }
                p.error role="alert" {
                    "This Outlay signs people in through its identity provider, whose sign-in "
                    "pages are not configured (OUTLAY_COGNITO_DOMAIN). The API still accepts its tokens."
                }
            },
        );
        return (StatusCode::SERVICE_UNAVAILABLE, page).into_response();
    }
    login_form(&state, &headers, StatusCode::OK, None, &next)
}

/// The sign-in form with a fresh pre-session secret: in an `HttpOnly` cookie, and its MAC in
/// the form, so that only a post from this very page signs anyone in (login CSRF).
fn login_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
    next: &str,
) -> Response {
    let secret = login_secret();
    let mut r = (status, login_markup(state, error, next, &secret)).into_response();
    let c = named_cookie(state, headers, LOGIN_COOKIE, &secret, 600);
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
    #[serde(default)]
    csrf: String,
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::extract::ClientAddress(address): crate::extract::ClientAddress,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = f.next.unwrap_or_default();
    let from_this_page = cookie_value(&headers, LOGIN_COOKIE)
        .is_some_and(|secret| same_secret(&f.csrf, &state.mac(&format!("login:{secret}"))));
    if !from_this_page || !same_origin_post(&state, &headers) {
        tracing::warn!("a sign-in form post without this page's token was refused");
        let error = "This sign-in form has expired or did not come from this Outlay page. Please try again.";
        return login_form(&state, &headers, StatusCode::FORBIDDEN, Some(error), &next);
    }
    match state
        .app
        .login(&f.email, &f.password, address.as_deref())
        .await
    {
        Ok(token) => {
            let mut r = Redirect::to(&url(&state, safe_next(&next))).into_response();
            if let Ok(v) =
                HeaderValue::from_str(&cookie(&state, &headers, &token.token, token.expires_in))
            {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            let spent = named_cookie(&state, &headers, LOGIN_COOKIE, "", 0);
            if let Ok(v) = HeaderValue::from_str(&spent) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => {
            let status = match e {
                AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
                AppError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNAUTHORIZED,
            };
            login_form(&state, &headers, status, Some(&message(&e)), &next)
        }
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = session.check(&f.csrf) {
        return r.into_response();
    }
    // Ended on the server too: the cookie, if kept, no longer signs anyone in.
    if let Err(e) = state.app.sign_out(&session.caller).await {
        return ErrorPage::from(e).into_response();
    }
    let mut r = hosted::signed_out(&state, &headers)
        .unwrap_or_else(|| Redirect::to(&url(&state, "/login")).into_response());
    if let Ok(v) = HeaderValue::from_str(&cookie(&state, &headers, "", 0)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn notifications(State(state): State<AppState>, session: Session) -> Response {
    let (page_items, unread) = match state
        .app
        .notifications(
            &session.caller,
            &outlay_app::PageRequest {
                limit: 100,
                cursor: None,
            },
        )
        .await
    {
        Ok(x) => x,
        Err(e) => return ErrorPage::from(e).into_response(),
    };
    let body = html! {
        p { (unread) " unread." }
        @if unread > 0 {
            form method="post" action=(url(&state, "/notifications")) {
                (csrf(&session))
                button type="submit" { "Mark all as read" }
            }
        }
        @if page_items.items.is_empty() { p.empty { "Nothing yet." } }
        ul.notes {
            @for n in &page_items.items {
                li class=(if n.read_at.is_none() { "unread" } else { "" }) {
                    @if let Some(r) = n.report_id { a href=(url(&state, &format!("/reports/{r}"))) { (n.title) } } @else { (n.title) }
                    " " small { (when(n.created_at)) }
                }
            }
        }
    };
    page(&state, &session, "Notifications", body).await
}

async fn read_notifications(
    State(state): State<AppState>,
    session: Session,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = session.check(&f.csrf) {
        return r.into_response();
    }
    match state.app.read_notifications(&session.caller, None).await {
        Ok(()) => Redirect::to(&url(&state, "/notifications")).into_response(),
        Err(e) => ErrorPage::from(e).into_response(),
    }
}

/// Answers 404 as a page for browsers and as JSON for the API.
pub(crate) async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        crate::error::no_route().await.into_response()
    } else {
        ErrorPage(StatusCode::NOT_FOUND, "There is no such page.".into()).into_response()
    }
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

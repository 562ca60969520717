//! Signing in and out with a local password.

use super::*;

pub(crate) async fn home(State(state): State<AppState>) -> Redirect {
    Redirect::to(&url(&state, "/expenses"))
}

#[derive(Deserialize)]
pub(crate) struct Next {
    next: Option<String>,
}

pub(crate) fn login_markup(
    state: &AppState,
    error: Option<&str>,
    next: &str,
    secret: &str,
) -> Markup {
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

pub(crate) async fn login_page(
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
pub(crate) fn login_form(
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
pub(crate) struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn login(
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

pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm(session, _): CsrfForm<CsrfOnly>,
) -> Response {
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

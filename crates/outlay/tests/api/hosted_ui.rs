//! The web UI's sign-in on Cognito's hosted UI (authorization code + PKCE), on the AWS backend.
//!
//! Cognito's hosted pages do not run here, so a small stand-in serves `/oauth2/authorize`,
//! `/oauth2/token` and `/logout` on loopback. It checks what the real one checks (client, the
//! redirect URI, a one-time code, the S256 challenge against the verifier) and answers a real
//! access token that moto's Cognito issued for the user who "signed in".
#![cfg(feature = "aws")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::helpers::{Resp, TestApp, spawn_app_with};

#[derive(Default)]
struct Provider {
    /// code → (challenge, redirect URI, username)
    codes: HashMap<String, (String, String, String)>,
    /// Where moto's Cognito is, to issue the real token.
    cognito: Option<(aws_config::SdkConfig, String, String)>,
    issued: u32,
}

type Shared = Arc<Mutex<Provider>>;

async fn authorize(State(p): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let expected_client = p.lock().unwrap().cognito.as_ref().map(|c| c.2.clone());
    if q.get("response_type").map(String::as_str) != Some("code")
        || q.get("code_challenge_method").map(String::as_str) != Some("S256")
        || q.get("client_id") != expected_client.as_ref()
    {
        return (StatusCode::BAD_REQUEST, "bad authorize request").into_response();
    }
    let mut p = p.lock().unwrap();
    p.issued += 1;
    let code = format!("code-{}", p.issued);
    p.codes.insert(
        code.clone(),
        (
            q["code_challenge"].clone(),
            q["redirect_uri"].clone(),
            q["username"].clone(),
        ),
    );
    Redirect::to(&format!(
        "{}?code={code}&state={}",
        q["redirect_uri"], q["state"]
    ))
    .into_response()
}

async fn token(State(p): State<Shared>, Form(f): Form<HashMap<String, String>>) -> Response {
    let (found, cognito) = {
        let mut p = p.lock().unwrap();
        (p.codes.remove(&f["code"]), p.cognito.clone())
    };
    let (config, pool, client) = cognito.expect("the stand-in knows the pool");
    let Some((challenge, redirect, username)) = found else {
        return (StatusCode::BAD_REQUEST, r#"{"error":"invalid_grant"}"#).into_response();
    };
    if f["grant_type"] != "authorization_code"
        || f["client_id"] != client
        || f["redirect_uri"] != redirect
        || outlay_auth::code_challenge(&f["code_verifier"]) != challenge
    {
        return (StatusCode::BAD_REQUEST, r#"{"error":"invalid_grant"}"#).into_response();
    }
    let auth = aws_sdk_cognitoidentityprovider::Client::new(&config)
        .admin_initiate_auth()
        .user_pool_id(&pool)
        .client_id(&client)
        .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", &username)
        .auth_parameters("PASSWORD", outlay_bootstrap::DEMO_PASSWORD)
        .send()
        .await
        .expect("moto signs the user in");
    let access = auth
        .authentication_result()
        .and_then(|r| r.access_token())
        .expect("an access token");
    axum::Json(serde_json::json!({
        "access_token": access, "id_token": "unused", "token_type": "Bearer", "expires_in": 900
    }))
    .into_response()
}

/// Starts the stand-in; answers its URL and state.
async fn provider() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let router = axum::Router::new()
        .route("/oauth2/authorize", get(authorize))
        .route("/oauth2/token", post(token))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, shared)
}

const BROWSER: [(&str, &str); 2] = [("host", "outlay.test"), ("x-forwarded-proto", "https")];

async fn browse(app: &TestApp, path: &str, cookie: Option<&str>) -> Resp {
    let mut headers = BROWSER.to_vec();
    if let Some(c) = cookie {
        headers.push(("cookie", c));
    }
    app.call(Method::GET, path, None, None, &headers).await
}

fn header<'a>(r: &'a Resp, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The `name=value` part of the response's cookie `name`.
fn set_cookie(r: &Resp, name: &str) -> String {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("a {name} cookie in {:?}", r.headers))
        .to_owned()
}

/// The user "signs in" on the stand-in: answers the callback path the browser is sent to.
async fn sign_in_at_provider(authorize_url: &str, email: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let back = client
        .get(format!("{authorize_url}&username={email}"))
        .send()
        .await
        .expect("the stand-in answers");
    assert_eq!(back.status(), 303, "the provider sends the browser back");
    let location = back.headers()["location"]
        .to_str()
        .expect("text")
        .to_owned();
    location
        .strip_prefix("https://outlay.test")
        .unwrap_or_else(|| panic!("back to Outlay's callback, not {location}"))
        .to_owned()
}

#[tokio::test]
async fn the_web_ui_signs_in_on_the_hosted_ui_with_pkce() {
    let (url, provider_state) = provider().await;
    // Served as in Lambda: API Gateway in front sets Host and X-Forwarded-Proto.
    let app = spawn_app_with(|s| {
        s.cognito_domain = Some(url.clone());
        s.trust_proxy = true;
    })
    .await;
    let Some(stack) = &app.aws else {
        // One machine: the domain is not used; Outlay's own login form is.
        let login = browse(&app, "/login", None).await;
        assert_eq!(login.status, StatusCode::OK);
        assert!(
            login
                .body
                .as_str()
                .unwrap_or_default()
                .contains("name=\"password\"")
        );
        eprintln!("AWS backend only: the hosted UI sign-in");
        return;
    };
    provider_state.lock().unwrap().cognito = Some((
        stack.config.clone(),
        stack.pool.clone(),
        stack.client_id.clone(),
    ));

    // /login sends the browser to the hosted UI with a fresh state and an S256 challenge.
    let login = browse(&app, "/login?next=/reports", None).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let authorize = header(&login, "location").to_owned();
    assert!(
        authorize.starts_with(&format!("{url}/oauth2/authorize?")),
        "{authorize}"
    );
    let query: HashMap<String, String> = reqwest::Url::parse(&authorize)
        .expect("a URL")
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(query["client_id"], stack.client_id);
    assert_eq!(query["redirect_uri"], "https://outlay.test/auth/callback");
    assert_eq!(query["code_challenge_method"], "S256");
    let pending = set_cookie(&login, "outlay_signin");
    assert!(pending.contains("HttpOnly") && pending.contains("SameSite=Lax"));
    assert!(pending.contains("Secure") && pending.contains("Path=/auth/"));
    let pending = pending.split(';').next().unwrap().to_owned();

    // Back from the provider without the sign-in cookie, or with another state: refused.
    let callback = sign_in_at_provider(&authorize, "employee@example.com").await;
    let bare = browse(&app, &callback, None).await;
    assert_eq!(bare.status, StatusCode::BAD_REQUEST);
    assert!(
        bare.body
            .as_str()
            .unwrap_or_default()
            .contains("not started here")
    );
    let forged = browse(&app, &callback.replace("state=", "state=x"), Some(&pending)).await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    let tampered = pending.replacen('.', ".x", 1);
    assert_eq!(
        browse(&app, &callback, Some(&tampered)).await.status,
        StatusCode::BAD_REQUEST
    );

    // Refused before the exchange, so the code is still good: with the cookie, it signs in.
    let done = browse(&app, &callback, Some(&pending)).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert!(
        done.body
            .as_str()
            .unwrap_or_default()
            .contains("url=/reports")
    );
    let session = set_cookie(&done, "outlay_session");
    assert!(session.contains("SameSite=Strict") && session.contains("Secure"));
    assert!(set_cookie(&done, "outlay_signin").contains("Max-Age=0"));
    let session = session.split(';').next().unwrap().to_owned();
    let page = browse(&app, "/expenses", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .as_str()
            .unwrap_or_default()
            .contains("Eve Employee")
    );

    // A code is good once.
    let replay = browse(&app, &callback, Some(&pending)).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(
        replay
            .body
            .as_str()
            .unwrap_or_default()
            .contains("could not be completed")
    );

    // Signing out ends the hosted UI's session too and comes back to the login page (through a
    // page that moves on by itself: the CSP's form-action would stop a redirect after the post).
    let html = page.body.as_str().unwrap_or_default();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a CSRF field");
    let mut headers = BROWSER.to_vec();
    headers.push(("cookie", &session));
    headers.push(("content-type", "application/x-www-form-urlencoded"));
    let req = headers
        .iter()
        .fold(
            axum::http::Request::builder()
                .method(Method::POST)
                .uri("/logout"),
            |r, (k, v)| r.header(*k, *v),
        )
        .body(axum::body::Body::from(format!("csrf={csrf}")))
        .expect("a request");
    let out = app.send(req).await;
    assert_eq!(out.status, StatusCode::OK);
    let refresh = format!(
        "0;url={url}/logout?client_id={}&amp;logout_uri=https%3A%2F%2Foutlay.test%2Flogin",
        stack.client_id
    );
    assert!(
        out.body.as_str().unwrap_or_default().contains(&refresh),
        "{:?}",
        out.body
    );
    assert!(set_cookie(&out, "outlay_session").contains("Max-Age=0"));
}

#[tokio::test]
async fn without_the_hosted_ui_domain_the_login_page_says_what_is_missing() {
    let app = crate::helpers::spawn_app().await;
    let login = browse(&app, "/login", None).await;
    let html = login.body.as_str().unwrap_or_default();
    if app.aws.is_some() {
        assert_eq!(login.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(html.contains("OUTLAY_COGNITO_DOMAIN"), "{html}");
        assert!(
            !html.contains("name=\"password\""),
            "no password form that cannot work"
        );
    } else {
        assert_eq!(login.status, StatusCode::OK);
        assert!(html.contains("name=\"password\""));
    }
}

//! Tokens: missing, expired, tampered, `alg: none`, confused or foreign ones are all refused.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

/// `POST /api/v1/auth/token` with an email and a password.
async fn sign_in(app: &TestApp, email: &str, password: &str) -> crate::helpers::Resp {
    app.call(
        axum::http::Method::POST,
        "/api/v1/auth/token",
        None,
        Some(json!({"email": email, "password": password})),
        &[],
    )
    .await
}

fn b64(v: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

async fn me_with(app: &TestApp, token: &str) -> StatusCode {
    app.get(&format!("token:{token}"), "/api/v1/me")
        .await
        .status
}

fn claims(sub: &str, exp_offset: i64) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": sub, "iss": "outlay", "aud": "outlay-api", "iat": now, "exp": now + exp_offset})
}

fn sign(pkcs8: &[u8], claims: &serde_json::Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_ed_der(pkcs8);
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
        claims,
        &key,
    )
    .expect("signed")
}

#[tokio::test]
async fn only_valid_tokens_of_this_server_are_accepted() {
    crate::sqlite_only!("it signs tokens with the key file of the data directory");
    let app = spawn_app().await;
    let employee = app.user_id("employee").await;
    let manager = app.user_id("manager").await;
    let key = std::fs::read(app.dir.path().join("token-key.pk8")).expect("the server's key");

    // A token the server signs itself is fine.
    assert_eq!(
        me_with(&app, &sign(&key, &claims(&employee, 300))).await,
        StatusCode::OK
    );
    // Expired.
    assert_eq!(
        me_with(&app, &sign(&key, &claims(&employee, -3600))).await,
        StatusCode::UNAUTHORIZED
    );
    // Wrong audience or issuer.
    let mut other_aud = claims(&employee, 300);
    other_aud["aud"] = json!("another-api");
    assert_eq!(
        me_with(&app, &sign(&key, &other_aud)).await,
        StatusCode::UNAUTHORIZED
    );
    let mut other_iss = claims(&employee, 300);
    other_iss["iss"] = json!("evil");
    assert_eq!(
        me_with(&app, &sign(&key, &other_iss)).await,
        StatusCode::UNAUTHORIZED
    );

    // Tampered: the employee's token, with the manager's id put in.
    let valid = app.token("employee").await;
    let parts: Vec<&str> = valid.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], b64(&claims(&manager, 300)), parts[2]);
    assert_eq!(me_with(&app, &tampered).await, StatusCode::UNAUTHORIZED);

    // alg: none, with no signature.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims(&employee, 300))
    );
    assert_eq!(me_with(&app, &none).await, StatusCode::UNAUTHORIZED);

    // HS256 "signed" with something public: refused, the algorithm is pinned.
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims(&employee, 300),
        &jsonwebtoken::EncodingKey::from_secret(b"outlay"),
    )
    .expect("signed");
    assert_eq!(me_with(&app, &hs).await, StatusCode::UNAUTHORIZED);

    // Signed by another key.
    let other = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
        .expect("a key");
    assert_eq!(
        me_with(&app, &sign(other.as_ref(), &claims(&employee, 300))).await,
        StatusCode::UNAUTHORIZED
    );

    // A valid signature for a user who does not exist.
    let ghost = sign(&key, &claims("01000000-0000-7000-8000-000000000000", 300));
    assert_eq!(me_with(&app, &ghost).await, StatusCode::UNAUTHORIZED);

    // Not a bearer scheme.
    let basic = app
        .call(
            axum::http::Method::GET,
            "/api/v1/me",
            None,
            None,
            &[("authorization", "Basic ZW1wbG95ZWU6eA==")],
        )
        .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        basic
            .headers
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap_or("")),
        Some("Bearer")
    );
}

#[tokio::test]
async fn a_failed_login_says_the_same_for_an_unknown_email_and_a_wrong_password() {
    crate::local_only!("local login; Cognito signs users in on AWS");
    let app = spawn_app().await;
    let login = |email, password| sign_in(&app, email, password);
    let unknown = login("nobody@example.com", "demo-password").await;
    let wrong = login("employee@example.com", "not-the-password").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.body, wrong.body);
    let ok = login("Employee@Example.com ", "demo-password").await;
    assert_eq!(ok.status, StatusCode::OK, "emails are case-insensitive");
    assert_eq!(ok.body["token_type"], "Bearer");
    assert_eq!(ok.body["expires_in"], 900);
}

#[tokio::test]
async fn password_guessing_is_throttled_per_account_name() {
    crate::local_only!("local login; Cognito signs users in and throttles on AWS");
    let app = spawn_app().await;
    let login = |email, password| sign_in(&app, email, password);
    for attempt in 1..=outlay_app::LOGIN_BURST {
        let r = login("employee@example.com", "guess").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    // Over the burst: refused before the password is even checked, the right one included,
    // however the name is written.
    for (email, password) in [
        ("employee@example.com", "guess"),
        (" EMPLOYEE@example.com", "demo-password"),
    ] {
        let r = login(email, password).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{email}");
        assert_eq!(r.code(), "too_many_requests");
        let wait: u64 = r.headers["retry-after"]
            .to_str()
            .expect("text")
            .parse()
            .expect("seconds");
        assert!((1..=30).contains(&wait), "Retry-After: {wait}");
    }
    // An unknown name is counted the same way, so the answer tells nothing about who exists.
    for _ in 0..outlay_app::LOGIN_BURST {
        assert_eq!(
            login("nobody@example.com", "guess").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login("nobody@example.com", "guess").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Other accounts are not affected.
    assert_eq!(
        login("manager@example.com", "demo-password").await.status,
        StatusCode::OK
    );
    // The web UI's form shares the count and says so in plain words.
    let (form, session) = app
        .form_login("employee@example.com", "demo-password", &[])
        .await;
    assert_eq!(form.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(session, None);
    assert!(
        form.body
            .as_str()
            .unwrap_or_default()
            .contains("too many attempts; try again in")
    );
}

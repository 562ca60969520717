//! Sign-in, sessions and requests: the smaller holes of the trust review, each closed.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, png, set_cookie, spawn_app, spawn_app_with};
use crate::receipts::bare_expense;

/// The CSRF token a page of the signed-in UI carries.
fn page_csrf(r: &crate::helpers::Resp) -> String {
    r.body
        .as_str()
        .unwrap_or_default()
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page carries a CSRF token")
        .to_owned()
}

async fn post_form(app: &TestApp, path: &str, session: &str, form: String) -> crate::helpers::Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("outlay_session={session}"))
        .body(Body::from(form))
        .expect("a request");
    app.send(req).await
}

#[tokio::test]
async fn the_login_form_signs_nobody_in_without_its_own_pages_token_or_from_another_site() {
    crate::local_only!("the local sign-in form; AWS signs in on Cognito's hosted UI");
    let app = spawn_app().await;
    // A post with no pre-session cookie or token (a forged form on another site)
    let bare = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(
            "email=employee%40example.com&password=demo-password&csrf=x",
        ))
        .expect("a request");
    let r = app.send(bare).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        set_cookie(&r, "outlay_session"),
        None,
        "nobody is signed in"
    );
    // A browser that says the post came from another site or origin
    for header in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let (r, session) = app
            .form_login("employee@example.com", "demo-password", &[header])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{header:?}");
        assert_eq!(session, None, "{header:?}");
    }
    // The page's own post signs in
    let (r, session) = app
        .form_login(
            "employee@example.com",
            "demo-password",
            &[
                ("sec-fetch-site", "same-origin"),
                ("origin", "http://127.0.0.1:8080"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{:?}", r.body);
    assert!(session.is_some());
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server_and_csrf_tokens_differ_per_session() {
    crate::local_only!("the local sign-in form; AWS signs in on Cognito's hosted UI");
    let app = spawn_app().await;
    let (_, first) = app
        .form_login("employee@example.com", "demo-password", &[])
        .await;
    let first = first.expect("signed in");
    let (_, second) = app
        .form_login("employee@example.com", "demo-password", &[])
        .await;
    let second = second.expect("signed in again");
    let page = app.page("/expenses", &first).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page_csrf(&page);
    assert_ne!(
        csrf,
        page_csrf(&app.page("/expenses", &second).await),
        "one token per session"
    );
    // The other session's token does not sign this one out
    let other = page_csrf(&app.page("/expenses", &second).await);
    let r = post_form(&app, "/logout", &first, format!("csrf={other}")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // WHEN the user signs out
    let api_token = app.token("employee").await;
    let r = post_form(&app, "/logout", &first, format!("csrf={csrf}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // THEN the old cookie, kept by someone, signs nobody in; nor does an older API token
    let again = app.page("/expenses", &first).await;
    assert_eq!(
        again.status,
        StatusCode::SEE_OTHER,
        "redirected to the sign-in page"
    );
    assert_eq!(
        app.get(&format!("token:{api_token}"), "/api/v1/me")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // AND a new sign-in works
    let (_, third) = app
        .form_login("employee@example.com", "demo-password", &[])
        .await;
    assert_eq!(
        app.page("/expenses", &third.expect("signed in"))
            .await
            .status,
        StatusCode::OK
    );
}

async fn login_from(app: &TestApp, email: &str, password: &str, address: &str) -> StatusCode {
    app.call(
        Method::POST,
        "/api/v1/auth/token",
        None,
        Some(json!({"email": email, "password": password})),
        &[("x-forwarded-for", address)],
    )
    .await
    .status
}

#[tokio::test]
async fn a_right_password_is_not_refused_because_someone_elsewhere_guessed_wrong() {
    crate::local_only!("local login; Cognito signs users in and throttles on AWS");
    let app = spawn_app_with(|s| s.trust_proxy = true).await;
    // GIVEN a guesser who used up the employee's attempts from one address
    for _ in 0..outlay_app::LOGIN_BURST {
        assert_eq!(
            login_from(&app, "employee@example.com", "guess", "198.51.100.7").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login_from(&app, "employee@example.com", "guess", "198.51.100.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // WHEN the employee signs in from their own address THEN it works
    assert_eq!(
        login_from(&app, "employee@example.com", "demo-password", "203.0.113.5").await,
        StatusCode::OK
    );
    // AND one address spraying many accounts is stopped, whatever the names
    let mut refused = 0;
    for n in 0..=outlay_app::ADDRESS_BURST {
        let email = format!("user{n}@example.com");
        if login_from(&app, &email, "guess", "192.0.2.99").await == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert_eq!(
        refused, 1,
        "the attempt after the address's burst is refused"
    );
    // AND a client cannot pick its address when no proxy is trusted
    let plain = spawn_app().await;
    for n in 0..outlay_app::LOGIN_BURST {
        let ip = format!("192.0.2.{n}");
        login_from(&plain, "manager@example.com", "guess", &ip).await;
    }
    assert_eq!(
        login_from(&plain, "manager@example.com", "guess", "192.0.2.200").await,
        StatusCode::TOO_MANY_REQUESTS,
        "X-Forwarded-For is ignored without a trusted proxy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_hashing_is_bounded_and_the_rest_are_told_to_come_back() {
    crate::local_only!("local login; Cognito signs users in on AWS");
    let app = std::sync::Arc::new(spawn_app().await);
    // WHEN 200 sign-ins with distinct unknown emails arrive at once
    let mut tasks = Vec::new();
    for n in 0..200 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.call(
                Method::POST,
                "/api/v1/auth/token",
                None,
                Some(json!({"email": format!("nobody{n}@example.com"), "password": "guess-guess"})),
                &[],
            )
            .await
        }));
    }
    let mut unauthorized = 0;
    let mut busy = 0;
    for t in tasks {
        let r = t.await.expect("answers");
        match r.status {
            StatusCode::UNAUTHORIZED => unauthorized += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                assert_eq!(r.headers["retry-after"], "1");
                assert_eq!(r.code(), "busy");
            }
            other => panic!("unexpected {other}: {:?}", r.body),
        }
    }
    // THEN some were hashed and the others told to come back, none left to pile up
    assert!(
        unauthorized >= 1 && busy >= 1,
        "{unauthorized} hashed, {busy} busy"
    );
    assert_eq!(unauthorized + busy, 200);
}

#[tokio::test]
async fn the_data_directory_and_every_file_in_it_are_private() {
    crate::local_only!("the local data directory");
    let app = spawn_app().await;
    let e = bare_expense(&app, "employee", "80.00").await;
    assert_eq!(
        app.upload("employee", &e, "image/png", png()).await.status,
        StatusCode::CREATED
    );
    let report = app.report("employee", &["12.00"]).await;
    app.must("employee", &report, "submit", json!({})).await;
    app.built
        .dispatch_once()
        .await
        .expect("the dispatcher runs");
    use std::os::unix::fs::PermissionsExt;
    let mut seen = 0;
    let mut stack = vec![app.dir.path().to_owned()];
    while let Some(dir) = stack.pop() {
        let mode = std::fs::metadata(&dir)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).expect("a directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let mode = std::fs::metadata(&path)
                    .expect("metadata")
                    .permissions()
                    .mode()
                    & 0o777;
                assert_eq!(mode, 0o600, "{}", path.display());
                seen += 1;
            }
        }
    }
    assert!(
        seen >= 5,
        "the database, keys, a receipt and mail: {seen} files"
    );
}

#[tokio::test]
async fn a_foreign_host_header_is_not_reflected_into_upload_urls() {
    crate::local_only!("Outlay's own upload URLs; S3 signs its own");
    let app = spawn_app().await;
    let e = bare_expense(&app, "employee", "80.00").await;
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/expenses/{e}/receipt-uploads"),
            Some("employee"),
            Some(json!({"content_type": "image/png", "size": 10})),
            &[("host", "evil.example"), ("x-forwarded-proto", "https")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let url = r.body["upload_url"].as_str().expect("a URL");
    assert!(url.starts_with("http://127.0.0.1:8080/"), "{url}");
    // Behind a trusted proxy, the proxy's Host and scheme are the public ones.
    let proxied = spawn_app_with(|s| s.trust_proxy = true).await;
    let e = bare_expense(&proxied, "employee", "80.00").await;
    let r = proxied
        .call(
            Method::POST,
            &format!("/api/v1/expenses/{e}/receipt-uploads"),
            Some("employee"),
            Some(json!({"content_type": "image/png", "size": 10})),
            &[
                ("host", "outlay.example.com"),
                ("x-forwarded-proto", "https"),
            ],
        )
        .await;
    let url = r.body["upload_url"].as_str().expect("a URL");
    assert!(url.starts_with("https://outlay.example.com/"), "{url}");
}

#[tokio::test]
async fn the_signed_upload_route_checks_the_signature_before_reading_the_body() {
    crate::local_only!("Outlay's own upload URLs; S3 signs its own");
    let app = spawn_app().await;
    // GIVEN a body that fails if anyone reads it
    let poisoned = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("the body was read"))
    });
    let req = Request::builder()
        .method(Method::PUT)
        .uri("/api/v1/receipt-uploads/01000000-0000-7000-8000-000000000000?expires=9999999999&signature=00")
        .header("content-type", "image/png")
        .header("content-length", "1000")
        .body(Body::from_stream(poisoned))
        .expect("a request");
    // WHEN it is sent to a badly signed URL THEN it is refused without being read
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
}

#[tokio::test]
async fn a_receipt_idempotency_key_reused_with_other_bytes_is_refused() {
    let app = spawn_app().await;
    let e = bare_expense(&app, "employee", "80.00").await;
    let send = |bytes: Vec<u8>| {
        let app = &app;
        let e = e.clone();
        async move {
            let token = app.token("employee").await;
            let req = Request::builder()
                .method(Method::POST)
                .uri(format!("/api/v1/expenses/{e}/receipts"))
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "image/png")
                .header("idempotency-key", "receipt-key-000001")
                .body(Body::from(bytes))
                .expect("a request");
            app.send(req).await
        }
    };
    let first = send(png()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let replay = send(png()).await;
    assert_eq!(
        replay.body["id"], first.body["id"],
        "the same bytes replay the answer"
    );
    let mut other = png();
    let n = other.len();
    other[n - 1] ^= 1;
    let r = send(other).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let expense = app.get("employee", &format!("/api/v1/expenses/{e}")).await;
    assert_eq!(expense.body["receipts"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn text_made_only_of_control_characters_is_empty() {
    let app = spawn_app().await;
    let e = bare_expense(&app, "employee", "10.00").await;
    let r = app
        .post(
            "employee",
            "/api/v1/reports",
            json!({"title": "\u{7}\u{1b}\u{0}", "purpose": "", "expense_ids": [e]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    let r = app
        .post(
            "employee",
            "/api/v1/reports",
            json!({"title": " \u{7} Trip\u{1b} ", "purpose": "", "expense_ids": [e]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["title"], "Trip");
}

#[tokio::test]
async fn a_change_that_changes_nothing_writes_nothing() {
    let app = spawn_app().await;
    let manager = app.user_id("manager").await;
    let before = app.audit_events().await;
    for body in [json!({}), json!({"name": "Mia Manager"})] {
        let me = app.get("manager", "/api/v1/me").await;
        let body = if body.get("name").is_some() {
            json!({"name": me.body["name"]})
        } else {
            body
        };
        let r = app
            .call(
                Method::PATCH,
                &format!("/api/v1/users/{manager}"),
                Some("admin"),
                Some(body),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["version"], me.body["version"], "no new version");
    }
    let policy = app.get("finance", "/api/v1/policy").await.body;
    let r = app
        .call(
            Method::PUT,
            "/api/v1/policy",
            Some("finance"),
            Some(policy),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        app.audit_events().await,
        before,
        "no audit event for a change of nothing"
    );
}

#[tokio::test]
async fn behind_a_proxy_only_the_address_it_appended_counts() {
    let app = spawn_app_with(|s| {
        s.trust_proxy = true;
        s.metrics_token = None;
    })
    .await;
    let metrics = |forwarded: &'static str| {
        let app = &app;
        async move {
            app.call(
                Method::GET,
                "/metrics",
                None,
                None,
                &[("x-forwarded-for", forwarded)],
            )
            .await
            .status
        }
    };
    // A client that writes a loopback address in front, or after which the proxy appended
    // something that is not an address, is not on the loopback.
    assert_eq!(
        metrics("127.0.0.1, 203.0.113.9").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        metrics("127.0.0.1, unknown").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(metrics("203.0.113.9, 127.0.0.1:4711").await, StatusCode::OK);
}

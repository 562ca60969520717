//! A user's own settings: the time zone every time is shown in.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_user_reads_times_in_their_own_zone_or_the_companys() {
    let app = spawn_app().await;
    let me = app.get("employee", "/api/v1/me").await;
    assert_eq!(
        me.body["time_zone"],
        json!(null),
        "the company's by default"
    );
    let version = me.body["version"].as_i64().expect("a version");
    let events = app.audit_events().await;

    let set = |body: serde_json::Value, etag: Option<String>| {
        let app = &app;
        async move {
            let headers: Vec<(&str, String)> = etag.into_iter().map(|e| ("if-match", e)).collect();
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call(
                Method::PATCH,
                "/api/v1/me",
                Some("employee"),
                Some(body),
                &headers,
            )
            .await
        }
    };
    let r = set(
        json!({"time_zone": "Europe/Berlin"}),
        Some(format!("\"{version}\"")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["time_zone"], "Europe/Berlin");
    assert_eq!(app.audit_events().await, events + 1, "audited");
    for (body, status) in [
        (
            json!({"time_zone": "Mars/Olympus"}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"time_zone": 5}), StatusCode::BAD_REQUEST),
        (json!({"roles": ["admin"]}), StatusCode::BAD_REQUEST),
    ] {
        let r = set(body.clone(), None).await;
        assert_eq!(r.status, status, "{body}: {:?}", r.body);
    }
    let r = set(json!({"time_zone": "UTC"}), Some(format!("\"{version}\""))).await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "a stale version: {:?}",
        r.body
    );
    let before = app.audit_events().await;
    let r = set(json!({}), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body["time_zone"], "Europe/Berlin",
        "nothing asked, nothing changed"
    );
    assert_eq!(app.audit_events().await, before, "and nothing written");

    // The pages show times in the reader's zone: Eve in Berlin, Mia in the company's (UTC).
    crate::local_only!("the local sign-in form; AWS signs in on Cognito's hosted UI");
    let report = app.report("employee", &["12.00"]).await;
    app.must("employee", &report, "submit", json!({})).await;
    let password = outlay_bootstrap::DEMO_PASSWORD;
    let (_, eve) = app.form_login("employee@example.com", password, &[]).await;
    let page = app
        .page(&format!("/reports/{report}"), &eve.expect("a session"))
        .await;
    let html = page.body.as_str().expect("html").to_owned();
    assert!(
        html.contains(" CET") || html.contains(" CEST"),
        "Berlin time"
    );
    assert!(!html.contains(" UTC"), "no UTC time left on Eve's page");
    let (_, mia) = app.form_login("manager@example.com", password, &[]).await;
    let page = app
        .page(&format!("/reports/{report}"), &mia.expect("a session"))
        .await;
    assert!(page.body.as_str().expect("html").contains(" UTC"));

    // Back to the company's zone.
    let r = set(json!({"time_zone": null}), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["time_zone"], json!(null));
}

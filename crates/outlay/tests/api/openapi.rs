//! The OpenAPI document is generated from the router and describes every route.

use axum::http::{Method, StatusCode};

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_openapi_document_covers_every_route() {
    let app = spawn_app().await;
    let r = app
        .call(Method::GET, "/openapi.json", None, None, &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["openapi"].as_str().unwrap_or("").starts_with("3."));
    let paths = &r.body["paths"];
    let expected: [(&str, &[&str]); 16] = [
        ("/api/v1/auth/token", &["post"]),
        ("/api/v1/me", &["get"]),
        ("/api/v1/users", &["get", "post"]),
        ("/api/v1/users/{id}", &["patch"]),
        ("/api/v1/expenses", &["get", "post"]),
        ("/api/v1/expenses/{id}", &["get", "patch", "delete"]),
        ("/api/v1/reports", &["get", "post"]),
        ("/api/v1/reports/{id}", &["get"]),
        ("/api/v1/reports/{id}/history", &["get"]),
        ("/api/v1/reports/{id}/submit", &["post"]),
        ("/api/v1/reports/{id}/approve", &["post"]),
        ("/api/v1/reports/{id}/reject", &["post"]),
        ("/api/v1/reports/{id}/withdraw", &["post"]),
        ("/api/v1/reports/{id}/pay", &["post"]),
        ("/api/v1/audit/verify", &["get"]),
        ("/healthz", &["get"]),
    ];
    for (path, methods) in expected {
        for m in methods {
            assert!(paths[path][m].is_object(), "{m} {path} is not documented");
        }
    }
    for path in ["/metrics", "/openapi.json"] {
        assert!(paths[path]["get"].is_object(), "{path} is not documented");
    }
    assert!(r.body["components"]["securitySchemes"]["bearer"].is_object());
    // Errors are documented with their shape.
    assert!(r.body["components"]["schemas"]["ErrorBody"].is_object());
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_responses_carry_a_request_id() {
    let app = spawn_app().await;
    let r = app.get("employee", "/api/v1/me").await;
    assert!(r.headers.get("x-request-id").is_some());
    assert_eq!(
        r.headers
            .get("x-content-type-options")
            .map(|v| v.to_str().unwrap_or("")),
        Some("nosniff")
    );
    app.get(
        "employee",
        "/api/v1/reports/01000000-0000-7000-8000-000000000000",
    )
    .await;
    let text = app.metrics().await;
    assert!(
        text.contains(
            "outlay_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"200\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains("route=\"/api/v1/reports/{id}\",status=\"404\""),
        "ids never become labels"
    );
    assert!(text.contains("outlay_http_request_duration_seconds_bucket"));
}

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
async fn the_document_is_served_while_the_policy_cannot_be_read_and_links_lists_to_their_items() {
    crate::sqlite_only!("it breaks the policy in the SQLite file directly");
    // GIVEN a server whose stored policy no longer reads
    let app = spawn_app().await;
    let url = format!("sqlite://{}", app.dir.path().join("outlay.db").display());
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .expect("the database opens");
    sqlx::query("UPDATE settings SET value = 'not json' WHERE key = 'policy'")
        .execute(&mut db)
        .await
        .expect("edited");
    // WHEN the document is asked for
    let r = app
        .call(Method::GET, "/openapi.json", None, None, &[])
        .await;
    // THEN it is served, with the default policy's categories
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let categories =
        &r.body["components"]["schemas"]["ReceiptExpense"]["properties"]["category"]["enum"];
    assert!(
        categories
            .as_array()
            .is_some_and(|c| c.contains(&"meals".into())),
        "{categories}"
    );
    // AND a list's first item leads to the decisions on it
    let links = &r.body["paths"]["/api/v1/reports"]["get"]["responses"]["200"]["links"];
    assert_eq!(links["FirstItem_approve"]["operationId"], "approve");
    assert_eq!(
        links["FirstItem_pay"]["parameters"]["path.id"],
        "$response.body#/items/0/id"
    );
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

#[tokio::test]
async fn the_document_states_what_the_server_checks_and_every_status_it_answers() {
    let app = spawn_app().await;
    let doc = app
        .call(Method::GET, "/openapi.json", None, None, &[])
        .await
        .body;
    let mut secured = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operations") {
            let statuses = op["responses"].as_object().expect("responses");
            let needs_token = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().all(|r| r.get("bearer").is_some()));
            if needs_token {
                secured += 1;
                assert!(statuses.contains_key("401"), "{method} {path} lacks 401");
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                if ["limit", "cursor", "scope", "state", "expires", "signature"]
                    .contains(&p["name"].as_str().unwrap_or(""))
                {
                    assert_eq!(p["in"], "query", "{method} {path}: {}", p["name"]);
                }
            }
            if op.get("requestBody").is_some() {
                for s in ["400", "413", "415", "422"] {
                    assert!(statuses.contains_key(s), "{method} {path} lacks {s}");
                }
            }
        }
    }
    assert!(secured >= 30, "{secured} operations need a token");
    let token = &doc["paths"]["/api/v1/auth/token"]["post"]["responses"];
    assert!(token["429"]["headers"]["Retry-After"].is_object());
    assert!(token["503"].is_object());
    // Receipts are binary, in any of the three types, both ways.
    let upload = &doc["paths"]["/api/v1/expenses/{id}/receipts"]["post"]["requestBody"]["content"];
    let download = &doc["paths"]["/api/v1/receipts/{id}"]["get"]["responses"]["200"]["content"];
    for t in ["application/pdf", "image/jpeg", "image/png"] {
        assert_eq!(upload[t]["schema"]["format"], "binary", "{t}");
        assert_eq!(download[t]["schema"]["format"], "binary", "{t}");
    }
    // The constraints the server enforces.
    let schemas = &doc["components"]["schemas"];
    let expense = &schemas["ReceiptExpense"]["properties"];
    assert_eq!(expense["date"]["format"], "date");
    assert!(expense["amount"]["pattern"].is_string());
    assert!(
        expense["currency"]["enum"]
            .as_array()
            .is_some_and(|c| c.len() > 150)
    );
    assert_eq!(
        expense["category"]["enum"],
        serde_json::json!([
            "travel", "meals", "lodging", "office", "software", "mileage", "per_diem", "other"
        ]),
        "the policy's categories"
    );
    assert_eq!(
        schemas["ReportRequest"]["properties"]["title"]["maxLength"],
        200
    );
    assert!(schemas["ReportRequest"]["properties"]["title"]["pattern"].is_string());
    assert_eq!(
        schemas["RatesRequest"]["properties"]["rates"]["minItems"],
        1
    );
    assert_eq!(
        schemas["NewUserRequest"]["properties"]["roles"]["items"]["enum"],
        serde_json::json!(["employee", "manager", "finance", "admin"])
    );
    assert!(schemas["PolicyDoc"]["properties"]["categories"].is_object());
    let submit = &doc["paths"]["/api/v1/reports/{id}/submit"]["post"]["parameters"];
    let key = submit
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "Idempotency-Key"))
        .expect("the header");
    assert_eq!(key["schema"]["pattern"], "^[!-~]{16,200}$");
}

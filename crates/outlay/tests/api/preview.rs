//! Policy dry runs (`POST /policy/preview`) and policy versions.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_proposed_policy_is_tried_on_recent_expenses_and_open_reports_and_nothing_is_written() {
    // GIVEN the employee's submitted report of a 60.00 expense (no receipt: under 75.00)
    let app = spawn_app().await;
    let version = app.get("finance", "/api/v1/policy").await.body["version"]
        .as_u64()
        .expect("a version");
    let r = app
        .post(
            "employee",
            "/api/v1/expenses",
            json!({"date": crate::helpers::days_ago(2), "merchant": "Bistro", "category": "meals",
                   "amount": "60.00", "currency": "USD"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["policy_version"], version);
    let expense = r.body["id"].as_str().expect("an id").to_owned();
    let report = app
        .post(
            "employee",
            "/api/v1/reports",
            json!({"title": "Lunch", "expense_ids": [expense]}),
        )
        .await;
    let report = report.body["id"].as_str().expect("an id").to_owned();
    app.must("employee", &report, "submit", json!({})).await;
    assert_eq!(app.report_state(&report).await["policy_version"], version);

    // WHEN finance tries receipts from 50.00 and senior approval above 50.00
    let mut proposed = app.get("finance", "/api/v1/policy").await.body;
    proposed["receipt_required_from"] = json!({"amount": "50.00", "currency": "USD"});
    proposed["senior_threshold"] = json!({"amount": "50.00", "currency": "USD"});
    let events = app.audit_events().await;
    let r = app
        .post(
            "finance",
            "/api/v1/policy/preview",
            json!({"policy": proposed, "days": 30}),
        )
        .await;

    // THEN the expense would need a receipt, and the report would need the senior
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["current_version"], version);
    assert!(r.body["expenses_checked"].as_u64() >= Some(1));
    let change = r.body["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .find(|c| c["expense_id"] == expense.as_str())
        .expect("the expense changes");
    assert_eq!(change["added"][0]["rule"], "receipt_required");
    assert_eq!(change["removed"], json!([]));
    let route = r.body["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .find(|c| c["report_id"] == report.as_str())
        .expect("the route changes");
    let levels = |steps: &serde_json::Value| -> Vec<String> {
        steps
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| s["level"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(levels(&route["before"]), ["manager", "finance"]);
    assert_eq!(levels(&route["after"]), ["manager", "senior", "finance"]);

    // AND nothing was written
    assert_eq!(app.audit_events().await, events);
    assert_eq!(
        app.get("finance", "/api/v1/policy").await.body["version"],
        version
    );

    // WHEN it is saved THEN its version is the next one
    let mut saved = app.get("finance", "/api/v1/policy").await.body;
    saved["max_age_days"] = json!(60);
    let r = app
        .call(
            Method::PUT,
            "/api/v1/policy",
            Some("finance"),
            Some(saved),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["version"], version + 1);
}

#[tokio::test]
async fn only_finance_tries_a_policy_and_only_a_valid_one() {
    let app = spawn_app().await;
    let policy = app.get("finance", "/api/v1/policy").await.body;
    let r = app
        .post(
            "employee",
            "/api/v1/policy/preview",
            json!({"policy": policy.clone()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    let r = app
        .post(
            "finance",
            "/api/v1/policy/preview",
            json!({"policy": {"nonsense": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let r = app
        .post(
            "finance",
            "/api/v1/policy/preview",
            json!({"policy": policy, "days": 0}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
}

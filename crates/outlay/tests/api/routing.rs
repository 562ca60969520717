//! Who decides a report, and why: `GET /reports/{id}/route`, before and after submission.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

/// Each step of a route as (level, reason).
pub(crate) fn summary(route: &Value) -> Vec<(String, String)> {
    route["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["level"].as_str().unwrap_or("").to_owned(),
                s["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_draft_shows_who_will_decide_and_why_and_the_submission_keeps_it() {
    // GIVEN the employee's draft of 1,200.00 + 150.00, over the 1,000.00 senior threshold
    let app = spawn_app().await;
    let report = app.report("employee", &["1200.00", "150.00"]).await;
    let path = format!("/api/v1/reports/{report}/route");

    // WHEN the employee asks for its route before submitting
    let planned = app.get("employee", &path).await;

    // THEN it names the manager, the senior with the total and threshold, and finance
    assert_eq!(planned.status, StatusCode::OK, "{:?}", planned.body);
    assert_eq!(planned.body["planned"], true);
    let expected = vec![
        (
            "manager".to_owned(),
            "Mia Manager is the submitter's manager".to_owned(),
        ),
        (
            "senior".to_owned(),
            "total 1,350.00 USD is over the senior threshold of 1,000.00 USD; Sam Senior is the \
             manager's manager"
                .to_owned(),
        ),
        (
            "finance".to_owned(),
            "finance approves every report".to_owned(),
        ),
    ];
    assert_eq!(summary(&planned.body), expected);
    assert_eq!(
        planned.body["steps"][0]["approver_id"],
        app.user_id("manager").await.as_str()
    );
    assert_eq!(planned.body["steps"][2]["approver_id"], Value::Null);

    // AND nobody else sees a draft's route
    assert_eq!(
        app.get("manager", &path).await.status,
        StatusCode::NOT_FOUND
    );

    // WHEN it is submitted and the manager approves
    app.must("employee", &report, "submit", json!({})).await;
    app.must("manager", &report, "approve", json!({})).await;

    // THEN the route is the submission's, with the same reasons and the decision so far
    let current = app.get("manager", &path).await;
    assert_eq!(current.body["planned"], false);
    assert_eq!(summary(&current.body), expected);
    assert_eq!(current.body["steps"][0]["decision"]["outcome"], "approved");
    assert_eq!(current.body["steps"][1]["decision"], Value::Null);
}

#[tokio::test]
async fn a_small_report_has_no_senior_step() {
    let app = spawn_app().await;
    let report = app.report("employee", &["40.00"]).await;
    let route = app
        .get("employee", &format!("/api/v1/reports/{report}/route"))
        .await;
    let levels: Vec<String> = summary(&route.body).into_iter().map(|(l, _)| l).collect();
    assert_eq!(levels, ["manager", "finance"]);
}

#[tokio::test]
async fn a_route_of_a_report_that_does_not_exist_is_not_found() {
    let app = spawn_app().await;
    let missing = app
        .get(
            "employee",
            "/api/v1/reports/00000000-0000-7000-8000-000000000000/route",
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

//! Reminders and escalation: the approvals sweep reminds a step that waits too long, then
//! escalates it to the approver's manager, once each, counting working days.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

async fn events(app: &TestApp, who: &str, event: &str) -> usize {
    let r = app.get(who, "/api/v1/notifications").await;
    r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|n| n["event"] == event)
        .count()
}

#[tokio::test]
async fn a_waiting_step_is_reminded_then_escalated_once_each_and_finance_is_reminded_too() {
    // GIVEN a seven-day working week, reminders after 2 working days and escalation after 4
    let app = spawn_app().await;
    app.reminders_every_day(2, 4).await;
    // AND the employee's report waiting for Mia Manager
    let report = app.report("employee", &["40.00"]).await;
    app.must("employee", &report, "submit", json!({})).await;

    // WHEN the sweep runs today THEN nothing is due
    assert_eq!(app.sweep_in(0).await, outlay_app::Sweep::default());

    // WHEN it runs three days later, twice THEN Mia is reminded once
    assert_eq!(app.sweep_in(3).await.reminders_sent, 1);
    assert_eq!(app.sweep_in(3).await, outlay_app::Sweep::default());
    assert_eq!(events(&app, "manager", "report.reminder").await, 1);

    // WHEN it runs five days later, twice THEN it is escalated to Sam Senior once
    assert_eq!(app.sweep_in(5).await.steps_escalated, 1);
    assert_eq!(app.sweep_in(5).await, outlay_app::Sweep::default());
    assert_eq!(events(&app, "senior", "report.escalated").await, 1);
    assert_eq!(events(&app, "manager", "report.escalated").await, 1);
    let queue = app.get("senior", "/api/v1/reports?scope=approvals").await;
    assert_eq!(
        queue.body["items"][0]["id"],
        report.as_str(),
        "the escalated queue"
    );
    let step = &app.report_state(&report).await["steps"][0];
    assert_eq!(step["escalated_to"], app.user_id("senior").await.as_str());
    assert_eq!(step["approver_id"], app.user_id("manager").await.as_str());

    // AND Sam decides it
    assert_eq!(
        app.must("senior", &report, "approve", json!({})).await,
        "pending_finance"
    );

    // WHEN finance's step waits too THEN finance is reminded once (finance is a queue: no
    // escalation)
    let later = app.sweep_in(10).await;
    assert_eq!((later.reminders_sent, later.steps_escalated), (1, 0));
    assert_eq!(app.sweep_in(10).await, outlay_app::Sweep::default());
    assert_eq!(events(&app, "finance", "report.reminder").await, 1);
    app.audit_events().await;
}

#[tokio::test]
async fn reminders_that_escalate_before_they_remind_are_refused() {
    let app = spawn_app().await;
    let mut policy = app.get("finance", "/api/v1/policy").await.body;
    policy["reminders"] = json!({"remind_after_days": 5, "escalate_after_days": 3});
    let r = app
        .call(
            Method::PUT,
            "/api/v1/policy",
            Some("finance"),
            Some(policy),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
}

//! The whole workflow, as the demo company lives it.

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_report_over_the_senior_threshold_is_approved_at_every_level_and_paid() {
    // GIVEN the employee's report of 1,200.00 + 150.00, over the 1,000.00 threshold
    let app = spawn_app().await;
    let report = app.report("employee", &["1200.00", "150.00"]).await;
    let draft = app.report_state(&report).await;
    assert_eq!(draft["state"], "draft");
    assert_eq!(draft["total"], "1350.00");
    assert_eq!(draft["currency"], "USD");

    // WHEN it goes through manager, senior and finance, and the payer pays
    assert_eq!(
        app.must("employee", &report, "submit", json!({})).await,
        "pending_manager"
    );
    let queue = app.get("manager", "/api/v1/reports?scope=approvals").await;
    assert_eq!(
        queue.body["items"][0]["id"],
        report.as_str(),
        "the report waits in the manager's queue"
    );
    assert_eq!(
        app.must("manager", &report, "approve", json!({"comment": "ok"}))
            .await,
        "pending_senior"
    );
    assert_eq!(
        app.must("senior", &report, "approve", json!({})).await,
        "pending_finance"
    );
    let finance_queue = app.get("finance", "/api/v1/reports?scope=approvals").await;
    assert_eq!(
        finance_queue.body["items"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        app.must("finance", &report, "approve", json!({})).await,
        "approved"
    );
    assert_eq!(
        app.must("payer", &report, "pay", json!({"reference": "TX-2026-001"}))
            .await,
        "paid"
    );

    // THEN the owner sees it paid, with every step and the payment on record
    let paid = app.report_state(&report).await;
    assert_eq!(paid["state"], "paid");
    assert_eq!(paid["payment"]["reference"], "TX-2026-001");
    let levels: Vec<&str> = paid["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["level"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(levels, ["manager", "senior", "finance"]);
    assert!(
        paid["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .all(|s| s["decision"]["outcome"] == "approved")
    );

    // AND the history tells it in order, and the chain verifies
    let history = app
        .get("employee", &format!("/api/v1/reports/{report}/history"))
        .await;
    let actions: Vec<&str> = history.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        actions,
        [
            "report.create",
            "report.submit",
            "report.approve",
            "report.approve",
            "report.approve",
            "report.pay"
        ]
    );
    assert!(app.audit_events().await > 6);
}

#[tokio::test]
async fn a_report_under_the_threshold_skips_the_senior() {
    let app = spawn_app().await;
    let report = app.report("employee", &["80.00"]).await;
    app.must("employee", &report, "submit", json!({})).await;
    assert_eq!(
        app.must("manager", &report, "approve", json!({})).await,
        "pending_finance"
    );
    let senior_queue = app.get("senior", "/api/v1/reports?scope=approvals").await;
    assert_eq!(senior_queue.body["items"], json!([]));
    assert_eq!(
        app.must("finance", &report, "approve", json!({})).await,
        "approved"
    );
    assert_eq!(
        app.must("payer", &report, "pay", json!({"reference": "TX-9"}))
            .await,
        "paid"
    );
}

#[tokio::test]
async fn a_rejected_report_carries_the_reason_and_can_be_fixed_and_resubmitted() {
    let app = spawn_app().await;
    let report = app.report("employee", &["1500.00"]).await;
    app.must("employee", &report, "submit", json!({})).await;
    app.must("manager", &report, "approve", json!({})).await;

    // WHEN the senior rejects with a reason
    let rejected = app
        .act(
            "senior",
            &report,
            "reject",
            json!({"reason": "Please split the hotel bill"}),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK);
    assert_eq!(rejected.body["state"], "rejected");
    assert_eq!(
        rejected.body["rejection_reason"],
        "Please split the hotel bill"
    );

    // THEN the owner can edit the expense and resubmit; the new submission starts afresh
    let expense = rejected.body["expenses"][0]["id"]
        .as_str()
        .expect("an expense")
        .to_owned();
    let edited = app
        .call(
            axum::http::Method::PATCH,
            &format!("/api/v1/expenses/{expense}"),
            Some("employee"),
            Some(json!({"amount": "900.00"})),
            &[],
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{:?}", edited.body);
    assert_eq!(
        app.must("employee", &report, "submit", json!({})).await,
        "pending_manager"
    );
    let again = app.report_state(&report).await;
    assert_eq!(again["submissions"], 2);
    assert_eq!(again["rejection_reason"], json!(null));
    assert_eq!(again["total"], "900.00");
    // Below the threshold now: manager, then finance.
    assert_eq!(
        app.must("manager", &report, "approve", json!({})).await,
        "pending_finance"
    );
}

#[tokio::test]
async fn the_owner_can_withdraw_until_an_approver_decides() {
    let app = spawn_app().await;
    let report = app.report("employee", &["1500.00"]).await;
    app.must("employee", &report, "submit", json!({})).await;
    assert_eq!(
        app.must("employee", &report, "withdraw", json!({})).await,
        "draft"
    );
    // The manager no longer has it in the queue.
    let queue = app.get("manager", "/api/v1/reports?scope=approvals").await;
    assert_eq!(queue.body["items"], json!([]));
    app.must("employee", &report, "submit", json!({})).await;
    app.must("manager", &report, "approve", json!({})).await;
    let late = app.act("employee", &report, "withdraw", json!({})).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{:?}", late.body);
}

#[tokio::test]
async fn expenses_in_a_submitted_report_cannot_change() {
    let app = spawn_app().await;
    let report = app.report("employee", &["40.00"]).await;
    let body = app.must("employee", &report, "submit", json!({})).await;
    assert_eq!(body, "pending_manager");
    let expense = app.report_state(&report).await["expenses"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/api/v1/expenses/{expense}");
    let patch = app
        .call(
            axum::http::Method::PATCH,
            &path,
            Some("employee"),
            Some(json!({"amount": "1.00"})),
            &[],
        )
        .await;
    assert_eq!(patch.status, StatusCode::CONFLICT);
    let delete = app
        .call(
            axum::http::Method::DELETE,
            &path,
            Some("employee"),
            None,
            &[],
        )
        .await;
    assert_eq!(delete.status, StatusCode::CONFLICT);
    // And an expense can be in one report only.
    let other = app
        .post(
            "employee",
            "/api/v1/reports",
            json!({"title": "Again", "expense_ids": [expense]}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn lists_are_paged_with_cursors() {
    let app = spawn_app().await;
    for i in 0..5 {
        app.expense("employee", &format!("{}.00", i + 1)).await;
    }
    let first = app.get("employee", "/api/v1/expenses?limit=2").await;
    assert_eq!(first.body["items"].as_array().map(Vec::len), Some(2));
    let mut seen: Vec<String> = first.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["id"].as_str().unwrap_or("").to_owned())
        .collect();
    let mut cursor = first.body["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page = app
            .get("employee", &format!("/api/v1/expenses?limit=2&cursor={c}"))
            .await;
        seen.extend(
            page.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|e| e["id"].as_str().unwrap_or("").to_owned()),
        );
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 5);
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique.len(), 5, "no expense is listed twice");
    let bad = app.get("employee", "/api/v1/expenses?cursor=zz").await;
    assert_eq!(
        bad.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a cursor the server did not make"
    );
}

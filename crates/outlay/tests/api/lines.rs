//! Rejecting one line of a report: `POST /reports/{id}/expenses/{expense_id}/reject`.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::races::{check_report, race};
use crate::receipts::bare_expense;

/// A submitted report of the employee's with expenses of these amounts, and their ids in
/// the order given.
async fn submitted(app: &TestApp, amounts: &[&str]) -> (String, Vec<String>) {
    let mut ids = vec![];
    for a in amounts {
        ids.push(app.expense("employee", a).await);
    }
    let r = app
        .post(
            "employee",
            "/api/v1/reports",
            json!({"title": "Trip", "purpose": "", "expense_ids": ids}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let report = r.body["id"].as_str().expect("an id").to_owned();
    app.must("employee", &report, "submit", json!({})).await;
    (report, ids)
}

async fn reject_line(
    app: &TestApp,
    who: &str,
    report: &str,
    expense: &str,
    reason: &str,
) -> crate::helpers::Resp {
    app.post(
        who,
        &format!("/api/v1/reports/{report}/expenses/{expense}/reject"),
        json!({"reason": reason}),
    )
    .await
}

fn levels(report: &Value) -> Vec<String> {
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["level"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn a_rejected_line_goes_back_to_its_owner_and_the_rest_stays_at_its_step() {
    // GIVEN a report of 40.00 + 30.00 + 980.00 (1,050.00, over the senior threshold) at the manager
    let app = spawn_app().await;
    let (report, lines) = submitted(&app, &["40.00", "30.00", "980.00"]).await;
    assert_eq!(
        levels(&app.report_state(&report).await),
        ["manager", "senior", "finance"]
    );

    // WHEN the manager rejects the 30.00 line
    let r = reject_line(
        &app,
        "manager",
        &report,
        &lines[1],
        "  Personal, not business ",
    )
    .await;

    // THEN the report keeps its step, totals 1,020.00 and still needs the senior
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "pending_manager");
    assert_eq!(r.body["total"], "1020.00");
    assert_eq!(r.body["expenses"].as_array().map(Vec::len), Some(2));
    assert_eq!(levels(&r.body), ["manager", "senior", "finance"]);

    // AND the line is the owner's again, unreported, carrying the reason
    let line = app
        .get("employee", &format!("/api/v1/expenses/{}", lines[1]))
        .await;
    assert_eq!(line.body["report_id"], Value::Null);
    assert_eq!(line.body["rejection"]["reason"], "Personal, not business");
    assert_eq!(line.body["rejection"]["report_id"], report.as_str());
    assert_eq!(
        line.body["rejection"]["by"],
        app.user_id("manager").await.as_str()
    );

    // WHEN the manager rejects the 40.00 line too, bringing it to 980.00
    let r = reject_line(&app, "manager", &report, &lines[0], "Duplicate").await;

    // THEN the senior step still to come is dropped, and the report goes on to finance
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["total"], "980.00");
    assert_eq!(levels(&r.body), ["manager", "finance"]);
    assert_eq!(
        app.must("manager", &report, "approve", json!({})).await,
        "pending_finance"
    );
    check_report(&app, "employee", &report).await;

    // AND it is on record, and the owner was told
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
        actions
            .iter()
            .filter(|a| **a == "report.reject_line")
            .count(),
        2
    );
    let told = app.get("employee", "/api/v1/notifications").await;
    let titles: Vec<&str> = told.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|n| n["title"].as_str().unwrap_or(""))
        .collect();
    assert!(
        titles.iter().any(
            |t| t.contains("A line of your report \"Trip\" was rejected")
                && t.contains("Duplicate")
        ),
        "{titles:?}"
    );
    app.audit_events().await;

    // AND the line joins a new report without its old rejection
    let again = app
        .post(
            "employee",
            "/api/v1/reports",
            json!({"title": "Again", "purpose": "", "expense_ids": [lines[1]]}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
    let line = app
        .get("employee", &format!("/api/v1/expenses/{}", lines[1]))
        .await;
    assert_eq!(line.body["rejection"], Value::Null);
}

#[tokio::test]
async fn a_report_whose_last_line_is_rejected_is_rejected() {
    let app = spawn_app().await;
    let (report, lines) = submitted(&app, &["12.00"]).await;
    let r = reject_line(&app, "manager", &report, &lines[0], "Not ours").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "rejected");
    assert_eq!(
        r.body["rejection_reason"],
        "every line was rejected; the last one: Not ours"
    );
}

#[tokio::test]
async fn only_the_current_steps_approver_rejects_a_line_and_only_a_line_of_that_report() {
    let app = spawn_app().await;
    let (report, lines) = submitted(&app, &["12.00", "13.00"]).await;
    let other = bare_expense(&app, "employee", "5.00").await;
    let outsider = app.outsider().await;
    // The owner may not; finance has a part, but not yet; the senior sees it (the reporting
    // line) but has no step in it; an outsider does not see it.
    for (who, status) in [
        ("employee", StatusCode::FORBIDDEN),
        ("finance", StatusCode::CONFLICT),
        ("senior", StatusCode::FORBIDDEN),
        (outsider.as_str(), StatusCode::NOT_FOUND),
    ] {
        let r = reject_line(&app, who, &report, &lines[0], "No").await;
        assert_eq!(r.status, status, "{who}: {:?}", r.body);
    }
    // A reason is required; the expense must be a line of the report.
    let r = reject_line(&app, "manager", &report, &lines[0], "   ").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    let r = reject_line(&app, "manager", &report, &other, "No").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    let r = reject_line(&app, "manager", &report, "not-an-id", "No").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    // A stale version is refused.
    let r = app
        .call(
            axum::http::Method::POST,
            &format!("/api/v1/reports/{report}/expenses/{}/reject", lines[0]),
            Some("manager"),
            Some(json!({"reason": "No"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    // Nothing changed.
    let now = app.report_state(&report).await;
    assert_eq!(now["expenses"].as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_rejection_and_an_approval_of_the_same_report_keep_every_invariant() {
    let app = Arc::new(spawn_app().await);
    for round in 0..20 {
        // GIVEN a report of about 40.00 + 980.00 (1,020.00 or so) waiting for the manager;
        // the cents differ by round, so no round's expenses look like another's duplicates
        let (small, big) = (format!("40.{round:02}"), format!("980.{round:02}"));
        let (report, lines) = submitted(&app, &[&small, &big]).await;
        // WHEN the manager approves it and rejects its 40.00 line at the same moment
        let (a, b) = (app.clone(), app.clone());
        let (rep, rep2, line) = (report.clone(), report.clone(), lines[0].clone());
        let (approve, reject) = race(
            async move { a.act("manager", &rep, "approve", json!({})).await },
            async move { reject_line(&b, "manager", &rep2, &line, "Not business").await },
        )
        .await;
        // THEN each either commits or is refused as a conflict
        for r in [&approve, &reject] {
            assert!(
                [StatusCode::OK, StatusCode::CONFLICT].contains(&r.status),
                "round {round}: {:?}",
                r.body
            );
        }
        assert!(
            approve.status == StatusCode::OK || reject.status == StatusCode::OK,
            "round {round}: one of them commits"
        );
        // AND the line is out exactly when its rejection committed, and the total and steps fit
        let after = check_report(&app, "employee", &report).await;
        let in_report = after["expenses"]
            .as_array()
            .expect("expenses")
            .iter()
            .any(|e| e["id"] == lines[0].as_str());
        assert_eq!(in_report, reject.status != StatusCode::OK, "round {round}");
        if reject.status == StatusCode::OK && approve.status == StatusCode::OK {
            // The rejection came first: the approval then skipped the senior, as it should.
            assert_eq!(after["state"], "pending_finance", "round {round}");
        }
    }
    app.audit_events().await;
}

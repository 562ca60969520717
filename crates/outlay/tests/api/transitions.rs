//! Illegal transitions, stale versions, idempotent replays and concurrent approvals.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// What a refused command must leave untouched.
async fn snapshot(app: &TestApp, report: &str) -> (Value, usize, u64) {
    let r = app.report_state(report).await;
    let history = app
        .get("employee", &format!("/api/v1/reports/{report}/history"))
        .await;
    let n = history.body["events"].as_array().map_or(0, Vec::len);
    (r, n, app.audit_events().await)
}

/// Tries each (who, action) and checks it is refused with 409 and changes nothing.
async fn refused(app: &TestApp, report: &str, tries: &[(&str, &str)]) {
    for (who, action) in tries {
        let before = snapshot(app, report).await;
        let body = match *action {
            "reject" => json!({"reason": "no"}),
            "pay" => json!({"reference": "TX"}),
            _ => json!({}),
        };
        let r = app.act(who, report, action, body).await;
        assert_eq!(
            r.status,
            StatusCode::CONFLICT,
            "{who} {action} in {}: {:?}",
            before.0["state"],
            r.body
        );
        assert_eq!(r.code(), "conflict");
        assert_eq!(
            snapshot(app, report).await,
            before,
            "{who} {action} changed something"
        );
    }
}

#[tokio::test]
async fn every_illegal_transition_answers_409_and_changes_nothing() {
    let app = spawn_app().await;
    let r = app.report("employee", &["1500.00"]).await;
    // draft
    refused(&app, &r, &[("employee", "withdraw")]).await;
    app.must("employee", &r, "submit", json!({})).await;
    // pending_manager
    refused(
        &app,
        &r,
        &[
            ("employee", "submit"),
            ("senior", "approve"),
            ("finance", "approve"),
            ("payer", "pay"),
            ("senior", "reject"),
        ],
    )
    .await;
    app.must("manager", &r, "approve", json!({})).await;
    // pending_senior
    refused(
        &app,
        &r,
        &[
            ("employee", "submit"),
            ("employee", "withdraw"),
            ("manager", "approve"),
            ("finance", "approve"),
            ("payer", "pay"),
        ],
    )
    .await;
    app.must("senior", &r, "approve", json!({})).await;
    // pending_finance
    refused(
        &app,
        &r,
        &[
            ("employee", "submit"),
            ("employee", "withdraw"),
            ("manager", "approve"),
            ("senior", "reject"),
            ("payer", "pay"),
        ],
    )
    .await;
    app.must("finance", &r, "approve", json!({})).await;
    // approved
    refused(
        &app,
        &r,
        &[
            ("employee", "submit"),
            ("employee", "withdraw"),
            ("payer", "approve"),
            ("payer", "reject"),
            ("manager", "approve"),
        ],
    )
    .await;
    app.must("payer", &r, "pay", json!({"reference": "TX-1"}))
        .await;
    // paid
    refused(
        &app,
        &r,
        &[
            ("employee", "submit"),
            ("employee", "withdraw"),
            ("payer", "approve"),
            ("finance", "reject"),
            ("payer", "pay"),
        ],
    )
    .await;

    let r2 = app.report("employee", &["20.00"]).await;
    app.must("employee", &r2, "submit", json!({})).await;
    app.must("manager", &r2, "reject", json!({"reason": "wrong project"}))
        .await;
    // rejected
    refused(
        &app,
        &r2,
        &[
            ("employee", "withdraw"),
            ("manager", "approve"),
            ("manager", "reject"),
            ("payer", "pay"),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_stale_if_match_answers_409_and_changes_nothing() {
    let app = spawn_app().await;
    let r = app.report("employee", &["10.00"]).await;
    app.must("employee", &r, "submit", json!({})).await;
    let version = app.report_state(&r).await["version"]
        .as_i64()
        .expect("a version");
    let path = format!("/api/v1/reports/{r}/approve");
    let stale = (version - 1).to_string();
    let resp = app
        .call(
            Method::POST,
            &path,
            Some("manager"),
            Some(json!({})),
            &[("if-match", &stale)],
        )
        .await;
    assert_eq!(resp.status, StatusCode::CONFLICT);
    assert!(resp.message().contains("stale"), "{}", resp.message());
    assert_eq!(app.report_state(&r).await["state"], "pending_manager");
    let current = format!("\"{version}\"");
    let ok = app
        .call(
            Method::POST,
            &path,
            Some("manager"),
            Some(json!({})),
            &[("if-match", &current)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["version"], version + 1);
    let junk = app
        .call(
            Method::POST,
            &path,
            Some("manager"),
            Some(json!({})),
            &[("if-match", "abc")],
        )
        .await;
    assert_eq!(junk.status, StatusCode::BAD_REQUEST);
    // Expenses honour If-Match too.
    let e = app.expense("employee", "3.00").await;
    let patch = app
        .call(
            Method::PATCH,
            &format!("/api/v1/expenses/{e}"),
            Some("employee"),
            Some(json!({"merchant": "B"})),
            &[("if-match", "7")],
        )
        .await;
    assert_eq!(patch.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_idempotency_key_replay_has_one_effect_and_the_first_answer() {
    let app = spawn_app().await;
    let body = json!({"date": crate::helpers::days_ago(2), "merchant": "Taxi", "category": "travel", "amount": "23.50", "currency": "USD"});
    let key = [("idempotency-key", "expense-create-000001")];
    let first = app
        .call(
            Method::POST,
            "/api/v1/expenses",
            Some("employee"),
            Some(body.clone()),
            &key,
        )
        .await;
    let second = app
        .call(
            Method::POST,
            "/api/v1/expenses",
            Some("employee"),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(first.body, second.body);
    let list = app.get("employee", "/api/v1/expenses").await;
    assert_eq!(
        list.body["items"].as_array().map(Vec::len),
        Some(1),
        "one expense, not two"
    );
    // The same key for another request is refused; another user's same key is theirs.
    let other = app.call(Method::POST, "/api/v1/expenses", Some("employee"), Some(json!({"date": crate::helpers::days_ago(2), "merchant": "Bus", "category": "travel", "amount": "2.00", "currency": "USD"})), &key).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mine = app
        .call(
            Method::POST,
            "/api/v1/expenses",
            Some("manager"),
            Some(body),
            &key,
        )
        .await;
    assert_eq!(mine.status, StatusCode::CREATED);
    assert_ne!(mine.body["id"], first.body["id"]);

    // A transition replayed answers the first answer and happens once.
    let r = app.report("employee", &["10.00"]).await;
    app.must("employee", &r, "submit", json!({})).await;
    let approve = format!("/api/v1/reports/{r}/approve");
    let key = [("idempotency-key", "approve-key-000001")];
    let a = app
        .call(
            Method::POST,
            &approve,
            Some("manager"),
            Some(json!({})),
            &key,
        )
        .await;
    let b = app
        .call(
            Method::POST,
            &approve,
            Some("manager"),
            Some(json!({})),
            &key,
        )
        .await;
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(a.body, b.body);
    let history = app
        .get("employee", &format!("/api/v1/reports/{r}/history"))
        .await;
    let approvals = history.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "report.approve")
        .count();
    assert_eq!(approvals, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twelve_concurrent_approvals_of_one_report_give_exactly_one_success() {
    let app = std::sync::Arc::new(spawn_app().await);
    let r = app.report("employee", &["10.00"]).await;
    app.must("employee", &r, "submit", json!({})).await;
    app.token("manager").await;
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let app = app.clone();
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            app.act("manager", &r, "approve", json!({})).await.status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("the task completes"));
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflicts), (1, 11), "{statuses:?}");
    let report = app.report_state(&r).await;
    assert_eq!(report["state"], "pending_finance");
    assert_eq!(report["version"], 3);
    let history = app
        .get("employee", &format!("/api/v1/reports/{r}/history"))
        .await;
    assert_eq!(history.body["events"].as_array().map(Vec::len), Some(3));
}

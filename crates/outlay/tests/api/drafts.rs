//! Changing and deleting a report while it is its owner's: `PATCH` and `DELETE
//! /api/v1/reports/{id}`, with `If-Match`, audited, and safe against concurrent requests.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, spawn_app};
use crate::receipts::bare_expense;

async fn patch(app: &TestApp, who: &str, id: &str, body: Value, version: Option<i64>) -> Resp {
    let etag = version.map(|v| format!("\"{v}\""));
    let headers: Vec<(&str, &str)> = etag.iter().map(|e| ("if-match", e.as_str())).collect();
    app.call(
        Method::PATCH,
        &format!("/api/v1/reports/{id}"),
        Some(who),
        Some(body),
        &headers,
    )
    .await
}

async fn delete(app: &TestApp, who: &str, id: &str) -> Resp {
    app.call(
        Method::DELETE,
        &format!("/api/v1/reports/{id}"),
        Some(who),
        None,
        &[],
    )
    .await
}

async fn report_of(app: &TestApp, who: &str, expense: &str) -> Value {
    let r = app.get(who, &format!("/api/v1/expenses/{expense}")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["report_id"].clone()
}

async fn new_report(app: &TestApp, who: &str, expenses: &[&str]) -> Value {
    let r = app
        .post(
            who,
            "/api/v1/reports",
            json!({"title": "Trip", "purpose": "", "expense_ids": expenses}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body
}

#[tokio::test]
async fn a_draft_is_renamed_regrouped_and_deleted_by_its_owner_only_and_each_change_is_audited() {
    let app = spawn_app().await;
    let (a, b, c) = (
        bare_expense(&app, "employee", "10.00").await,
        bare_expense(&app, "employee", "20.00").await,
        bare_expense(&app, "employee", "30.00").await,
    );
    let created = new_report(&app, "employee", &[&a, &b]).await;
    let id = created["id"].as_str().expect("an id").to_owned();
    let version = created["version"].as_i64().expect("a version");
    assert_eq!(created["total"], "30.00");
    assert_eq!(created["actions"], json!(["submit", "edit", "delete"]));
    let events = app.audit_events().await;

    // Rename it and swap b for c, on the version the owner saw.
    let r = patch(
        &app,
        "employee",
        &id,
        json!({"title": "Berlin trip", "expense_ids": [a, c]}),
        Some(version),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["title"], "Berlin trip");
    assert_eq!(r.body["total"], "40.00");
    assert_eq!(r.body["version"], version + 1);
    let ids: Vec<&str> = r.body["expenses"]
        .as_array()
        .expect("expenses")
        .iter()
        .map(|e| e["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids, vec![a.as_str(), c.as_str()]);
    assert_eq!(report_of(&app, "employee", &b).await, Value::Null);
    assert_eq!(report_of(&app, "employee", &c).await, json!(id));
    assert_eq!(app.audit_events().await, events + 1);
    let history = app
        .get("employee", &format!("/api/v1/reports/{id}/history"))
        .await;
    let last = history.body["events"]
        .as_array()
        .and_then(|e| e.last())
        .cloned()
        .expect("an event");
    assert_eq!(last["action"], "report.update", "{last}");

    // A stale version, someone else, a bad list or another report's expense: refused, nothing written.
    let other = new_report(&app, "employee", &[&b]).await;
    let manager_expense = bare_expense(&app, "manager", "5.00").await;
    let events = app.audit_events().await;
    let r = patch(&app, "employee", &id, json!({"title": "X"}), Some(version)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    let r = patch(&app, "manager", &id, json!({"title": "X"}), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    let r = delete(&app, "manager", &id).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    for body in [
        json!({"expense_ids": []}),
        json!({"expense_ids": [a, a]}),
        json!({"title": "   "}),
        json!({"expense_ids": ["not-an-id"]}),
        json!({"colour": "red"}),
    ] {
        let r = patch(&app, "employee", &id, body.clone(), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:?}", r.body);
    }
    let r = patch(&app, "employee", &id, json!({"expense_ids": [a, b]}), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    let r = patch(
        &app,
        "employee",
        &id,
        json!({"expense_ids": [a, manager_expense]}),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    assert_eq!(
        app.audit_events().await,
        events,
        "nothing refused was written"
    );

    // Submitted, it is frozen; rejected, it is the owner's again, and deletable.
    app.must("employee", &id, "submit", json!({})).await;
    let r = patch(&app, "employee", &id, json!({"title": "Late"}), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    let r = delete(&app, "employee", &id).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    app.must("manager", &id, "reject", json!({"reason": "Split it"}))
        .await;
    let decided = app.get("manager", "/api/v1/reports?scope=decided").await;
    assert_eq!(decided.body["items"][0]["id"], json!(id));
    let r = delete(&app, "employee", &id).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = app.get("employee", &format!("/api/v1/reports/{id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for e in [&a, &c] {
        assert_eq!(
            report_of(&app, "employee", e).await,
            Value::Null,
            "{e} is free"
        );
    }
    // The decider's list forgets it too, and the chain records the deletion.
    let decided = app.get("manager", "/api/v1/reports?scope=decided").await;
    assert_eq!(decided.body["items"], json!([]), "{:?}", decided.body);
    let r = delete(&app, "employee", &id).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let freed = new_report(&app, "employee", &[&a, &c]).await;
    assert_eq!(freed["total"], "40.00");
    assert_eq!(other["total"], "20.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_a_drafts_expenses_never_commits_alongside_what_it_raced() {
    let app = Arc::new(spawn_app().await);
    for round in 0..15 {
        // Adding an expense to one draft while a second draft takes it: one wins.
        let (a, b, c) = (
            bare_expense(&app, "employee", "10.00").await,
            bare_expense(&app, "employee", "11.00").await,
            bare_expense(&app, "employee", "12.00").await,
        );
        let first = new_report(&app, "employee", &[&a]).await["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let (x, y) = (app.clone(), app.clone());
        let (f, cc, bb) = (first.clone(), c.clone(), b.clone());
        let (add, take) = tokio::join!(
            tokio::spawn(async move {
                patch(&x, "employee", &f, json!({"expense_ids": [a, cc]}), None).await
            }),
            tokio::spawn(async move {
                y.post(
                    "employee",
                    "/api/v1/reports",
                    json!({"title": "Other", "purpose": "", "expense_ids": [bb, c]}),
                )
                .await
            })
        );
        let (add, take) = (add.expect("done"), take.expect("done"));
        let wins = [
            add.status == StatusCode::OK,
            take.status == StatusCode::CREATED,
        ];
        assert_eq!(
            wins.iter().filter(|w| **w).count(),
            1,
            "round {round}: {:?} {:?}",
            add.body,
            take.body
        );

        // Deleting a draft while its owner submits it: one wins, and a submitted report keeps
        // its expenses.
        let (x, y) = (app.clone(), app.clone());
        let (f1, f2) = (first.clone(), first.clone());
        let (del, sub) = tokio::join!(
            tokio::spawn(async move { delete(&x, "employee", &f1).await }),
            tokio::spawn(async move { y.act("employee", &f2, "submit", json!({})).await })
        );
        let (del, sub) = (del.expect("done"), sub.expect("done"));
        let deleted = del.status == StatusCode::NO_CONTENT;
        let submitted = sub.status == StatusCode::OK;
        assert!(
            deleted != submitted,
            "round {round}: {:?} {:?}",
            del.body,
            sub.body
        );
        let r = app
            .get("employee", &format!("/api/v1/reports/{first}"))
            .await;
        if deleted {
            assert_eq!(r.status, StatusCode::NOT_FOUND);
        } else {
            assert_eq!(r.body["state"], "pending_manager");
            assert!(!r.body["expenses"].as_array().expect("expenses").is_empty());
        }
    }
}

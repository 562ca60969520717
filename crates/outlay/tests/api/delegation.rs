//! Out of office: `PUT /me/delegation` and the admin's `/users/{id}/delegation`; steps move to
//! the delegate and back, and the sweep starts and ends delegations on their days.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, days_ago, spawn_app};

/// Creates Dan Delegate, a manager, reporting to `manager` if given; answers his email.
async fn dan(app: &TestApp, manager: Option<&str>) -> String {
    let manager_id = match manager {
        Some(m) => Some(app.user_id(m).await),
        None => None,
    };
    let r = app
        .post(
            "admin",
            "/api/v1/users",
            json!({"email": "dan@example.com", "name": "Dan Delegate",
                   "password": outlay_bootstrap::DEMO_PASSWORD, "roles": ["manager"],
                   "manager_id": manager_id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    "dan@example.com".to_owned()
}

async fn delegate(app: &TestApp, who: &str, to: &str, from: i64, until: i64) -> Resp {
    let body = json!({
        "delegate_id": app.user_id(to).await,
        "from": days_ago(-from),
        "until": days_ago(-until),
    });
    app.call(
        Method::PUT,
        "/api/v1/me/delegation",
        Some(who),
        Some(body),
        &[],
    )
    .await
}

async fn queue(app: &TestApp, who: &str) -> Vec<String> {
    let r = app.get(who, "/api/v1/reports?scope=approvals").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn current(report: &Value) -> Value {
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["decision"].is_null())
        .cloned()
        .expect("an undecided step")
}

#[tokio::test]
async fn a_delegate_decides_for_an_away_manager_and_the_steps_move_back_when_it_ends() {
    // GIVEN the employee's report waiting for Mia Manager, and Dan, another manager
    let app = spawn_app().await;
    let dan = dan(&app, None).await;
    let waiting = app.report("employee", &["40.00"]).await;
    app.must("employee", &waiting, "submit", json!({})).await;
    assert_eq!(queue(&app, "manager").await, vec![waiting.clone()]);

    // WHEN Mia is away from today for a week, with Dan deciding for her
    let r = delegate(&app, "manager", &dan, 0, 7).await;

    // THEN the waiting report is Dan's to decide, marked as for Mia, and no longer Mia's
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body["delegation"]["delegate_id"],
        app.user_id(&dan).await.as_str()
    );
    assert_eq!(queue(&app, &dan).await, vec![waiting.clone()]);
    assert!(queue(&app, "manager").await.is_empty());
    let step = current(&app.report_state(&waiting).await);
    assert_eq!(step["approver_id"], app.user_id(&dan).await.as_str());
    assert_eq!(
        step["stand_in"]["for_id"],
        app.user_id("manager").await.as_str()
    );
    assert!(
        step["stand_in"]["note"].as_str().is_some_and(
            |n| n.contains("Mia Manager is away") && n.contains("Dan Delegate decides")
        ),
        "{step}"
    );

    // AND a report submitted while she is away goes to Dan directly
    let new = app.report("employee", &["41.00"]).await;
    app.must("employee", &new, "submit", json!({})).await;
    assert_eq!(
        current(&app.report_state(&new).await)["approver_id"],
        app.user_id(&dan).await.as_str()
    );

    // AND Dan decides it; Mia may not while it is his
    assert_eq!(
        app.act("manager", &waiting, "approve", json!({}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.must(&dan, &waiting, "approve", json!({})).await,
        "pending_finance"
    );
    let decided = app.report_state(&waiting).await;
    assert_eq!(
        decided["steps"][0]["decision"]["by"],
        app.user_id(&dan).await.as_str()
    );
    assert_eq!(
        decided["steps"][0]["stand_in"]["for_id"],
        app.user_id("manager").await.as_str()
    );

    // AND both were told
    for who in ["manager", dan.as_str()] {
        let told = app.get(who, "/api/v1/notifications").await;
        assert!(
            told.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .any(|n| n["event"] == "delegation"),
            "{who}: {:?}",
            told.body
        );
    }

    // WHEN Mia ends the delegation
    let ended = app
        .call(
            Method::DELETE,
            "/api/v1/me/delegation",
            Some("manager"),
            None,
            &[],
        )
        .await;

    // THEN the report still waiting moves back to her
    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{:?}", ended.body);
    assert_eq!(queue(&app, "manager").await, vec![new.clone()]);
    assert!(queue(&app, &dan).await.is_empty());
    assert_eq!(
        current(&app.report_state(&new).await)["stand_in"],
        Value::Null
    );

    // AND every move is on record
    let history = app
        .get("employee", &format!("/api/v1/reports/{new}/history"))
        .await;
    let moves = history.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "report.step_moved")
        .count();
    assert_eq!(
        moves, 1,
        "the move back; the first hand-over came with the submission"
    );
    app.audit_events().await;
}

#[tokio::test]
async fn a_delegate_who_submitted_the_report_does_not_decide_it_the_delegators_manager_does() {
    // GIVEN Dan reports to Mia, who is away with Dan as her delegate
    let app = spawn_app().await;
    let dan = dan(&app, Some("manager")).await;
    assert_eq!(
        delegate(&app, "manager", &dan, 0, 3).await.status,
        StatusCode::OK
    );

    // WHEN Dan submits a report of his own
    let mut ids = vec![];
    let r = app
        .post(
            &dan,
            "/api/v1/expenses",
            json!({"date": days_ago(1), "merchant": "Cafe", "category": "meals", "amount": "20.00", "currency": "USD"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    ids.push(r.body["id"].clone());
    let r = app
        .post(
            &dan,
            "/api/v1/reports",
            json!({"title": "Own", "expense_ids": ids}),
        )
        .await;
    let report = r.body["id"].as_str().expect("an id").to_owned();
    app.must(&dan, &report, "submit", json!({})).await;

    // THEN Mia's step goes to her own manager, Sam, for her; never to Dan
    let step = current(
        &app.get(&dan, &format!("/api/v1/reports/{report}"))
            .await
            .body,
    );
    assert_eq!(step["approver_id"], app.user_id("senior").await.as_str());
    assert_eq!(
        step["stand_in"]["for_id"],
        app.user_id("manager").await.as_str()
    );
    assert_eq!(
        app.act(&dan, &report, "approve", json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.must("senior", &report, "approve", json!({})).await,
        "pending_finance"
    );
}

#[tokio::test]
async fn a_delegation_is_checked_and_only_an_admin_sets_one_for_someone_else() {
    let app = spawn_app().await;
    let dan = dan(&app, None).await;
    let cases = [
        (
            json!({"delegate_id": app.user_id("manager").await, "from": days_ago(0), "until": days_ago(-1)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "to herself",
        ),
        (
            json!({"delegate_id": app.user_id("employee").await, "from": days_ago(0), "until": days_ago(-1)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "to someone who is no manager",
        ),
        (
            json!({"delegate_id": app.user_id(&dan).await, "from": days_ago(0), "until": days_ago(1)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "ending before it starts",
        ),
        (
            json!({"delegate_id": app.user_id(&dan).await, "from": days_ago(0), "until": days_ago(-400)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "longer than a year",
        ),
        (
            json!({"delegate_id": app.user_id(&dan).await, "from": "tomorrow", "until": days_ago(-1)}),
            StatusCode::BAD_REQUEST,
            "a date that is not one",
        ),
        (
            json!({"delegate_id": "nobody", "from": days_ago(0), "until": days_ago(-1)}),
            StatusCode::BAD_REQUEST,
            "an id that is not one",
        ),
        (
            json!({"delegate_id": app.user_id(&dan).await, "from": days_ago(0)}),
            StatusCode::BAD_REQUEST,
            "no last day",
        ),
    ];
    for (body, status, what) in cases {
        let r = app
            .call(
                Method::PUT,
                "/api/v1/me/delegation",
                Some("manager"),
                Some(body),
                &[],
            )
            .await;
        assert_eq!(r.status, status, "{what}: {:?}", r.body);
    }
    let me = app.get("manager", "/api/v1/me").await;
    assert_eq!(me.body["delegation"], Value::Null, "nothing was set");

    // Someone else's: admins only, and never to the admin themselves.
    let path = format!("/api/v1/users/{}/delegation", app.user_id("manager").await);
    let to = |who: String| json!({"delegate_id": who, "from": days_ago(0), "until": days_ago(-2)});
    let r = app
        .call(
            Method::PUT,
            &path,
            Some("employee"),
            Some(to(app.user_id(&dan).await)),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    let r = app
        .call(
            Method::PUT,
            &path,
            Some("admin"),
            Some(to(app.user_id("admin").await)),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    let events = app.audit_events().await;
    let r = app
        .call(
            Method::PUT,
            &path,
            Some("admin"),
            Some(to(app.user_id(&dan).await)),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = app
        .call(Method::DELETE, &path, Some("admin"), None, &[])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(app.audit_events().await, events + 2, "both audited");
}

#[tokio::test]
async fn the_sweep_starts_and_ends_delegations_on_their_days_and_does_nothing_twice() {
    // GIVEN a report waiting for Mia, who will be away from tomorrow for three days
    let app = spawn_app().await;
    let dan = dan(&app, None).await;
    let report = app.report("employee", &["40.00"]).await;
    app.must("employee", &report, "submit", json!({})).await;
    assert_eq!(
        delegate(&app, "manager", &dan, 1, 3).await.status,
        StatusCode::OK
    );
    assert_eq!(
        queue(&app, "manager").await,
        vec![report.clone()],
        "not yet"
    );

    // WHEN the sweep runs today THEN nothing moves
    assert_eq!(app.sweep_in(0).await, outlay_app::Sweep::default());

    // WHEN it runs tomorrow, twice THEN the step moves to Dan once
    assert_eq!(app.sweep_in(1).await.steps_moved, 1);
    assert_eq!(app.sweep_in(1).await, outlay_app::Sweep::default());
    assert_eq!(queue(&app, &dan).await, vec![report.clone()]);

    // WHEN it runs after the last day, twice THEN the delegation ends and the step goes back once
    let after = app.sweep_in(5).await;
    assert_eq!((after.delegations_ended, after.steps_moved), (1, 1));
    assert_eq!(app.sweep_in(5).await, outlay_app::Sweep::default());
    assert_eq!(queue(&app, "manager").await, vec![report.clone()]);
    assert_eq!(
        app.get("manager", "/api/v1/me").await.body["delegation"],
        Value::Null
    );
    app.audit_events().await;
}

#[tokio::test]
async fn a_step_held_for_someone_whose_delegation_ended_goes_back_even_once_escalated() {
    // GIVEN Dan (whose manager is Zoe) deciding for Mia, and a report he holds for her that
    // waited long enough to be escalated to Zoe
    let app = spawn_app().await;
    let r = app
        .post(
            "admin",
            "/api/v1/users",
            json!({"email": "zoe@example.com", "name": "Zoe Boss",
                   "password": outlay_bootstrap::DEMO_PASSWORD, "roles": ["manager"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let dan = dan(&app, Some("zoe@example.com")).await;
    app.reminders_every_day(1, 2).await;
    assert_eq!(
        delegate(&app, "manager", &dan, 0, 30).await.status,
        StatusCode::OK
    );
    let report = app.report("employee", &["40.00"]).await;
    app.must("employee", &report, "submit", json!({})).await;
    let swept = app.sweep_in(4).await;
    assert_eq!(swept.steps_escalated, 1);
    let step = current(&app.report_state(&report).await);
    assert_eq!(
        step["escalated_to"],
        app.user_id("zoe@example.com").await.as_str()
    );

    // WHEN Mia's delegation is ended by an admin, and the sweep runs
    let path = format!("/api/v1/users/{}/delegation", app.user_id("manager").await);
    let r = app
        .call(Method::DELETE, &path, Some("admin"), None, &[])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    app.built
        .app
        .sweep_approvals()
        .await
        .expect("the sweep runs");

    // THEN the step is Mia's again, still escalated to Zoe
    let step = current(&app.report_state(&report).await);
    assert_eq!(step["approver_id"], app.user_id("manager").await.as_str());
    assert_eq!(step["stand_in"], Value::Null);
    assert_eq!(
        app.must("manager", &report, "approve", json!({})).await,
        "pending_finance"
    );
}

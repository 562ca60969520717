//! The authorization matrix: every route, every role, and a user outside the reporting line.
//! Objects a caller may not see answer 404; visible objects with a forbidden action, 403.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const OUTSIDER: &str = "outsider@example.com";

/// Calls `method path` as each caller in turn, in order, and checks each status.
async fn expect(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    cases: &[(&str, u16)],
) {
    for (who, status) in cases {
        let r = app
            .call(method.clone(), path, Some(who), body.clone(), &[])
            .await;
        assert_eq!(
            r.status.as_u16(),
            *status,
            "{method} {path} as {who}: {:?}",
            r.body
        );
        if r.status.is_client_error() {
            assert!(!r.code().is_empty(), "errors have the one error shape");
        }
    }
}

#[tokio::test]
async fn every_route_answers_401_without_a_valid_token() {
    let app = spawn_app().await;
    let id = "01000000-0000-7000-8000-000000000000";
    let routes = [
        (Method::GET, "/api/v1/me".to_owned()),
        (Method::GET, "/api/v1/users".to_owned()),
        (Method::POST, "/api/v1/users".to_owned()),
        (Method::PATCH, format!("/api/v1/users/{id}")),
        (Method::GET, "/api/v1/expenses".to_owned()),
        (Method::POST, "/api/v1/expenses".to_owned()),
        (Method::GET, format!("/api/v1/expenses/{id}")),
        (Method::PATCH, format!("/api/v1/expenses/{id}")),
        (Method::DELETE, format!("/api/v1/expenses/{id}")),
        (Method::GET, "/api/v1/reports".to_owned()),
        (Method::POST, "/api/v1/reports".to_owned()),
        (Method::GET, format!("/api/v1/reports/{id}")),
        (Method::GET, format!("/api/v1/reports/{id}/history")),
        (Method::POST, format!("/api/v1/reports/{id}/submit")),
        (Method::POST, format!("/api/v1/reports/{id}/approve")),
        (Method::POST, format!("/api/v1/reports/{id}/reject")),
        (Method::POST, format!("/api/v1/reports/{id}/withdraw")),
        (Method::POST, format!("/api/v1/reports/{id}/pay")),
        (Method::GET, "/api/v1/audit/verify".to_owned()),
    ];
    for (method, path) in routes {
        let none = app
            .call(method.clone(), &path, None, Some(json!({})), &[])
            .await;
        assert_eq!(
            none.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} without a token"
        );
        assert_eq!(none.code(), "unauthorized");
        let junk = app
            .call(
                method.clone(),
                &path,
                Some("token:not-a-jwt"),
                Some(json!({})),
                &[],
            )
            .await;
        assert_eq!(
            junk.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} with a junk token"
        );
    }
    // The open routes stay open; the metrics are for the scraper's token (or loopback) only.
    for path in ["/healthz", "/openapi.json"] {
        let r = app.call(Method::GET, path, None, None, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
    }
    for token in [
        None,
        Some("Bearer wrong"),
        Some("Bearer test-metrics-tokenX"),
    ] {
        let headers: Vec<(&str, &str)> = token.map(|t| ("authorization", t)).into_iter().collect();
        let r = app
            .call(Method::GET, "/metrics", None, None, &headers)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "/metrics with {token:?}"
        );
    }
}

#[tokio::test]
async fn expenses_are_their_owners_alone() {
    let app = spawn_app().await;
    app.outsider().await;
    let e = app.expense("employee", "12.00").await;
    let path = format!("/api/v1/expenses/{e}");
    let others = ["manager", "senior", "finance", "payer", "admin", OUTSIDER];
    for who in others {
        expect(&app, Method::GET, &path, None, &[(who, 404)]).await;
        expect(
            &app,
            Method::PATCH,
            &path,
            Some(json!({"merchant": "X"})),
            &[(who, 404)],
        )
        .await;
        expect(&app, Method::DELETE, &path, None, &[(who, 404)]).await;
        let list = app.get(who, "/api/v1/expenses").await;
        assert!(
            list.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .all(|x| x["id"] != e.as_str())
        );
        // Everyone may record their own.
        app.expense(who, "1.00").await;
    }
    expect(&app, Method::GET, &path, None, &[("employee", 200)]).await;
    expect(
        &app,
        Method::PATCH,
        &path,
        Some(json!({"merchant": "Y"})),
        &[("employee", 200)],
    )
    .await;
    expect(&app, Method::DELETE, &path, None, &[("employee", 204)]).await;
    // Nobody can put someone else's expense in their report.
    let e2 = app.expense("employee", "5.00").await;
    let steal = app
        .post(
            "manager",
            "/api/v1/reports",
            json!({"title": "Mine now", "expense_ids": [e2]}),
        )
        .await;
    assert_eq!(steal.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn reports_are_visible_to_the_owner_its_approvers_and_finance_once_submitted() {
    let app = spawn_app().await;
    app.outsider().await;
    let r = app.report("employee", &["1500.00"]).await;
    let path = format!("/api/v1/reports/{r}");
    let history = format!("{path}/history");
    // A draft is the owner's alone.
    for who in ["manager", "senior", "finance", "payer", "admin", OUTSIDER] {
        expect(&app, Method::GET, &path, None, &[(who, 404)]).await;
        expect(&app, Method::GET, &history, None, &[(who, 404)]).await;
    }
    // Submit: only the owner; nobody else can even see the draft.
    let submit = format!("{path}/submit");
    expect(
        &app,
        Method::POST,
        &submit,
        Some(json!({})),
        &[
            ("manager", 404),
            ("finance", 404),
            ("admin", 404),
            (OUTSIDER, 404),
            ("employee", 200),
        ],
    )
    .await;
    // Submitted: the chain and finance see it; the admin and the outsider do not.
    for who in ["employee", "manager", "senior", "finance", "payer"] {
        expect(&app, Method::GET, &path, None, &[(who, 200)]).await;
        expect(&app, Method::GET, &history, None, &[(who, 200)]).await;
    }
    for who in ["admin", OUTSIDER] {
        expect(&app, Method::GET, &path, None, &[(who, 404)]).await;
        expect(&app, Method::GET, &history, None, &[(who, 404)]).await;
    }
    // Submitting again: the owner meets a state conflict, the others may not.
    expect(
        &app,
        Method::POST,
        &submit,
        Some(json!({})),
        &[
            ("employee", 409),
            ("manager", 403),
            ("finance", 403),
            ("admin", 404),
            (OUTSIDER, 404),
        ],
    )
    .await;
    // Withdraw: the owner's alone.
    let withdraw = format!("{path}/withdraw");
    expect(
        &app,
        Method::POST,
        &withdraw,
        Some(json!({})),
        &[
            ("manager", 403),
            ("senior", 403),
            ("finance", 403),
            ("payer", 403),
            ("admin", 404),
            (OUTSIDER, 404),
            ("employee", 200),
        ],
    )
    .await;
    app.must("employee", &r, "submit", json!({})).await;
    // Approve at the manager's step: only the manager.
    let approve = format!("{path}/approve");
    expect(
        &app,
        Method::POST,
        &approve,
        Some(json!({})),
        &[
            ("employee", 403),
            ("senior", 409),
            ("finance", 409),
            ("payer", 409),
            ("admin", 404),
            (OUTSIDER, 404),
            ("manager", 200),
        ],
    )
    .await;
    // Reject at the senior's step: only the senior.
    let reject = format!("{path}/reject");
    let reason = json!({"reason": "no"});
    expect(
        &app,
        Method::POST,
        &reject,
        Some(reason.clone()),
        &[
            ("employee", 403),
            ("manager", 409),
            ("finance", 409),
            ("admin", 404),
            (OUTSIDER, 404),
        ],
    )
    .await;
    // Pay before approval: finance meets a conflict, others may not pay.
    let pay = format!("{path}/pay");
    let reference = json!({"reference": "TX"});
    expect(
        &app,
        Method::POST,
        &pay,
        Some(reference.clone()),
        &[
            ("employee", 403),
            ("manager", 403),
            ("senior", 403),
            ("finance", 409),
            ("payer", 409),
            ("admin", 404),
            (OUTSIDER, 404),
        ],
    )
    .await;
    app.must("senior", &r, "approve", json!({})).await;
    // Finance's step: any finance user but the report's approvers; the first one decides.
    expect(
        &app,
        Method::POST,
        &approve,
        Some(json!({})),
        &[
            ("employee", 403),
            ("manager", 409),
            ("senior", 409),
            ("admin", 404),
            (OUTSIDER, 404),
            ("finance", 200),
            ("payer", 409),
        ],
    )
    .await;
    // Pay: not the owner, not an approver (finance approved it), not a non-finance user.
    expect(
        &app,
        Method::POST,
        &pay,
        Some(reference),
        &[
            ("employee", 403),
            ("manager", 403),
            ("senior", 403),
            ("finance", 403),
            ("admin", 404),
            (OUTSIDER, 404),
            ("payer", 200),
        ],
    )
    .await;
    // After payment everyone who saw it still does; nobody else.
    expect(
        &app,
        Method::GET,
        &path,
        None,
        &[
            ("manager", 200),
            ("payer", 200),
            (OUTSIDER, 404),
            ("admin", 404),
        ],
    )
    .await;
}

#[tokio::test]
async fn lists_show_each_caller_only_their_part() {
    let app = spawn_app().await;
    app.outsider().await;
    let r = app.report("employee", &["50.00"]).await;
    app.must("employee", &r, "submit", json!({})).await;
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["id"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(
        ids(&app.get("employee", "/api/v1/reports").await.body),
        vec![r.clone()]
    );
    assert_eq!(
        ids(&app
            .get("manager", "/api/v1/reports?scope=approvals")
            .await
            .body),
        vec![r.clone()]
    );
    for who in ["senior", "finance", "admin", OUTSIDER] {
        assert!(
            ids(&app.get(who, "/api/v1/reports?scope=approvals").await.body).is_empty(),
            "{who}'s queue"
        );
        assert!(
            ids(&app.get(who, "/api/v1/reports").await.body).is_empty(),
            "{who}'s own reports"
        );
    }
    expect(
        &app,
        Method::GET,
        "/api/v1/reports?scope=all",
        None,
        &[
            ("employee", 403),
            ("manager", 403),
            ("senior", 403),
            ("admin", 403),
            (OUTSIDER, 403),
            ("finance", 200),
            ("payer", 200),
        ],
    )
    .await;
    assert_eq!(
        ids(&app.get("finance", "/api/v1/reports?scope=all").await.body),
        vec![r.clone()]
    );
    // The owner never finds their own report in a queue, whatever roles they hold.
    assert!(
        ids(&app
            .get("employee", "/api/v1/reports?scope=approvals")
            .await
            .body)
        .is_empty()
    );
}

#[tokio::test]
async fn users_and_the_audit_are_for_admins() {
    let app = spawn_app().await;
    app.outsider().await;
    let outsider_id = app.user_id(OUTSIDER).await;
    let patch = format!("/api/v1/users/{outsider_id}");
    let new_user = |n: u32| json!({"email": format!("new{n}@example.com"), "name": "New", "password": "a-long-password-1"});
    for (n, who) in [
        "employee", "manager", "senior", "finance", "payer", OUTSIDER,
    ]
    .into_iter()
    .enumerate()
    {
        expect(&app, Method::GET, "/api/v1/users", None, &[(who, 403)]).await;
        expect(
            &app,
            Method::POST,
            "/api/v1/users",
            Some(new_user(n as u32)),
            &[(who, 403)],
        )
        .await;
        expect(
            &app,
            Method::PATCH,
            &patch,
            Some(json!({"name": "Renamed"})),
            &[(who, 403)],
        )
        .await;
        expect(
            &app,
            Method::GET,
            "/api/v1/audit/verify",
            None,
            &[(who, 403)],
        )
        .await;
        expect(&app, Method::GET, "/api/v1/me", None, &[(who, 200)]).await;
    }
    expect(&app, Method::GET, "/api/v1/users", None, &[("admin", 200)]).await;
    expect(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(new_user(99)),
        &[("admin", 201)],
    )
    .await;
    expect(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(new_user(99)),
        &[("admin", 409)],
    )
    .await;
    expect(
        &app,
        Method::PATCH,
        &patch,
        Some(json!({"name": "Renamed"})),
        &[("admin", 200)],
    )
    .await;
    expect(
        &app,
        Method::GET,
        "/api/v1/audit/verify",
        None,
        &[("admin", 200)],
    )
    .await;
}

#[tokio::test]
async fn a_removed_role_or_a_deactivated_user_takes_effect_at_once() {
    crate::local_only!(
        "on Cognito the roles are the token's groups, which change at the next token"
    );
    let app = spawn_app().await;
    let finance_id = app.user_id("finance").await;
    let token = app.token("finance").await;
    expect(
        &app,
        Method::GET,
        "/api/v1/reports?scope=all",
        None,
        &[("finance", 200)],
    )
    .await;
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{finance_id}"),
            Some("admin"),
            Some(json!({"roles": ["employee"]})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // The same token, issued before, no longer carries the role.
    expect(
        &app,
        Method::GET,
        "/api/v1/reports?scope=all",
        None,
        &[(&format!("token:{token}"), 403)],
    )
    .await;
    app.call(
        Method::PATCH,
        &format!("/api/v1/users/{finance_id}"),
        Some("admin"),
        Some(json!({"active": false})),
        &[],
    )
    .await;
    expect(
        &app,
        Method::GET,
        "/api/v1/me",
        None,
        &[(&format!("token:{token}"), 401)],
    )
    .await;
}

#[tokio::test]
async fn admins_cannot_grant_themselves_powers_or_build_reporting_loops() {
    let app = spawn_app().await;
    let admin = app.user_id("admin").await;
    let employee = app.user_id("employee").await;
    let senior = app.user_id("senior").await;
    let own = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{admin}"),
            Some("admin"),
            Some(json!({"roles": ["admin", "finance"]})),
            &[],
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    let looped = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{senior}"),
            Some("admin"),
            Some(json!({"manager_id": employee})),
            &[],
        )
        .await;
    assert_eq!(looped.status, StatusCode::BAD_REQUEST, "{:?}", looped.body);
    assert!(looped.message().contains("report to themselves"));
}

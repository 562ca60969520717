//! Segregation of duties for admins too: an admin cannot get their own report approved or
//! paid through accounts they created, re-pointed, promoted or whose password they set, nor
//! through accounts those accounts set up in turn.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, on_aws, spawn_app};

/// An admin-made account with the demo password, so it can sign in on either backend.
async fn make(app: &TestApp, by: &str, name: &str, roles: &[&str]) -> String {
    let r = app
        .post(
            by,
            "/api/v1/users",
            json!({"email": format!("{name}@example.com"), "name": name, "roles": roles, "password": outlay_bootstrap::DEMO_PASSWORD}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{by} creates {name}: {:?}",
        r.body
    );
    r.body["id"].as_str().expect("an id").to_owned()
}

async fn patch_user(app: &TestApp, by: &str, id: &str, body: serde_json::Value) -> StatusCode {
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(by),
            Some(body),
            &[],
        )
        .await;
    r.status
}

#[tokio::test]
async fn a_lone_admin_cannot_get_their_own_report_approved_or_paid_through_accounts_they_set_up() {
    let app = spawn_app().await;
    let admin = app.user_id("admin").await;
    // GIVEN an admin who made a manager-admin, two finance accounts, and (through the
    // manager-admin) a third finance account, all with passwords the admin knows
    let sock_mgr = make(&app, "admin", "sock-mgr", &["manager", "admin"]).await;
    make(&app, "admin", "sock-fin", &["finance"]).await;
    make(&app, "admin", "sock-pay", &["finance"]).await;
    make(&app, "sock-mgr@example.com", "sock-deep", &["finance"]).await;
    // AND the manager-admin made itself the admin's manager
    assert_eq!(
        patch_user(
            &app,
            "sock-mgr@example.com",
            &admin,
            json!({"manager_id": sock_mgr})
        )
        .await,
        StatusCode::OK
    );
    let report = app.report("admin", &["40.00"]).await;
    assert_eq!(
        app.must("admin", &report, "submit", json!({})).await,
        "pending_manager"
    );
    // WHEN the puppet manager decides THEN it is refused, approving and rejecting alike
    for (action, body) in [("approve", json!({})), ("reject", json!({"reason": "no"}))] {
        let r = app.act("sock-mgr@example.com", &report, action, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{action}: {:?}", r.body);
        assert!(
            r.message().contains("segregation of duties"),
            "{:?}",
            r.body
        );
    }
    // GIVEN the report goes to finance directly (no manager any more)
    app.must("admin", &report, "withdraw", json!({})).await;
    assert_eq!(
        patch_user(
            &app,
            "sock-mgr@example.com",
            &admin,
            json!({"manager_id": null})
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        app.must("admin", &report, "submit", json!({})).await,
        "pending_finance"
    );
    // WHEN the puppet finance accounts approve THEN they are refused, however deep
    for puppet in ["sock-fin@example.com", "sock-deep@example.com"] {
        let r = app.act(puppet, &report, "approve", json!({})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{puppet}: {:?}", r.body);
    }
    // AND once real finance approves, the puppet payer is refused and a real payer may pay
    app.must("finance", &report, "approve", json!({})).await;
    let pay = json!({"reference": "TX-1"});
    let r = app
        .act("sock-pay@example.com", &report, "pay", pay.clone())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    assert_eq!(app.must("payer", &report, "pay", pay).await, "paid");
}

#[tokio::test]
async fn an_admin_who_resets_a_finance_users_password_cannot_have_them_decide_the_admins_report() {
    let app = spawn_app().await;
    let finance = app.user_id("finance").await;
    let report = app.report("admin", &["25.00"]).await;
    assert_eq!(
        app.must("admin", &report, "submit", json!({})).await,
        "pending_finance"
    );
    let new_password = "a-password-the-admin-knows";
    let old_token = app.token("finance").await;
    let reset = patch_user(&app, "admin", &finance, json!({"password": new_password})).await;
    if on_aws() {
        // Cognito keeps the passwords: Outlay cannot reset one at all.
        assert_eq!(reset, StatusCode::BAD_REQUEST);
        return;
    }
    assert_eq!(reset, StatusCode::OK);
    // The reset ends the sessions the account had.
    assert_eq!(
        app.get(&format!("token:{old_token}"), "/api/v1/me")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // WHEN the admin signs in as finance with the new password and approves
    let login = app
        .call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(json!({"email": "finance@example.com", "password": new_password})),
            &[],
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    let token = format!(
        "token:{}",
        login.body["access_token"].as_str().expect("a token")
    );
    let r = app.act(&token, &report, "approve", json!({})).await;
    // THEN it is refused; and an untouched finance user may
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    assert_eq!(
        app.must("payer", &report, "approve", json!({})).await,
        "approved"
    );
}

#[tokio::test]
async fn an_admin_who_promotes_someone_cannot_have_them_approve_the_admins_report() {
    let app = spawn_app().await;
    let admin = app.user_id("admin").await;
    let outsider = app.outsider().await;
    let outsider_id = app.user_id(&outsider).await;
    // GIVEN the admin made an employee a manager and (as a second step) the admin's manager
    // is set by another admin-made account
    assert_eq!(
        patch_user(&app, "admin", &outsider_id, json!({"roles": ["manager"]})).await,
        StatusCode::OK
    );
    make(&app, "admin", "helper", &["admin"]).await;
    assert_eq!(
        patch_user(
            &app,
            "helper@example.com",
            &admin,
            json!({"manager_id": outsider_id})
        )
        .await,
        StatusCode::OK
    );
    let report = app.report("admin", &["30.00"]).await;
    assert_eq!(
        app.must("admin", &report, "submit", json!({})).await,
        "pending_manager"
    );
    // WHEN the promoted manager approves THEN it is refused
    let r = app.act(&outsider, &report, "approve", json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
}

//! Cost centres, projects, splits and routing rules: `/cost-centres`, `/projects`,
//! `/routing-rules`, the split of an expense, and the steps rules add to a route.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, days_ago, png, spawn_app};
use crate::routing::summary as steps;

async fn expense(app: &TestApp, who: &str, body: Value) -> Resp {
    let mut b = json!({"date": days_ago(1), "merchant": "Shop", "category": "office",
                       "amount": "40.00", "currency": "USD"});
    for (k, v) in body.as_object().expect("an object") {
        b[k] = v.clone();
    }
    app.post(who, "/api/v1/expenses", b).await
}

async fn draft(app: &TestApp, who: &str, expenses: &[&str]) -> String {
    let r = app
        .post(
            who,
            "/api/v1/reports",
            json!({"title": "Org", "expense_ids": expenses}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn an_expense_is_split_over_cost_centres_to_the_cent_and_only_over_what_exists() {
    let app = spawn_app().await;
    // Thirds of 100.00: the parts sum exactly.
    let r = expense(
        &app,
        "employee",
        json!({"amount": "100.00", "project": "apollo", "cost_centres": [
            {"cost_centre": "ENG", "percent": "33.33"}, {"cost_centre": "mkt", "percent": "66.67"}]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        r.body["cost_centres"],
        json!([{"cost_centre": "ENG", "amount": "33.33"}, {"cost_centre": "MKT", "amount": "66.67"}])
    );
    assert_eq!(r.body["project"], "APOLLO");
    let id = r.body["id"].as_str().expect("an id").to_owned();

    for (body, status, what) in [
        (
            json!({"cost_centres": [{"cost_centre": "ENG", "amount": "30.00"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "amounts short of the expense",
        ),
        (
            json!({"cost_centres": [{"cost_centre": "ENG", "percent": "50"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "half of it",
        ),
        (
            json!({"cost_centres": [{"cost_centre": "ENG", "percent": "50", "amount": "20.00"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "both a percent and an amount",
        ),
        (
            json!({"cost_centres": [{"cost_centre": "ENG", "percent": "150"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "more than all of it",
        ),
        (
            json!({"project": ""}),
            StatusCode::BAD_REQUEST,
            "an empty project code",
        ),
        (
            json!({"cost_centres": [{"cost_centre": "NOPE", "percent": "100"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a cost centre that does not exist",
        ),
        (
            json!({"cost_centres": [{"cost_centre": "ENG", "percent": "100.001"}]}),
            StatusCode::BAD_REQUEST,
            "a percent too fine",
        ),
        (
            json!({"project": "NOPE"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a project that does not exist",
        ),
    ] {
        let r = expense(&app, "employee", body).await;
        assert_eq!(r.status, status, "{what}: {:?}", r.body);
    }

    // A new amount needs the split again; with it (or none: the home cost centre) it is saved.
    let path = format!("/api/v1/expenses/{id}");
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some("employee"),
            Some(json!({"amount": "120.00"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some("employee"),
            Some(json!({"amount": "120.00", "cost_centres": []})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["cost_centres"], json!([]));
    assert_eq!(r.body["project"], "APOLLO", "the project stays");
}

#[tokio::test]
async fn spend_charged_to_another_team_is_approved_by_that_cost_centres_owner() {
    // GIVEN the demo rule: spend outside one's home cost centre goes to its owner; Eve's home
    // is ENG, and MKT is Sam Senior's
    let app = spawn_app().await;
    let r = expense(
        &app,
        "employee",
        json!({"cost_centres": [{"cost_centre": "MKT", "percent": "100"}]}),
    )
    .await;
    let report = draft(&app, "employee", &[r.body["id"].as_str().expect("an id")]).await;

    // WHEN Eve asks who will decide
    let route = app
        .get("employee", &format!("/api/v1/reports/{report}/route"))
        .await;

    // THEN Mia, then Sam for marketing's spend, then finance
    assert_eq!(
        steps(&route.body),
        [
            ("manager".to_owned(), "Mia Manager is the submitter's manager".to_owned()),
            (
                "rule".to_owned(),
                "lines charged to cost centre MKT, outside the submitter's home cost centre ENG, owned by Sam Senior (rule \"Spend charged to another team\")".to_owned()
            ),
            ("finance".to_owned(), "finance approves every report".to_owned()),
        ]
    );

    // AND that is how it goes
    app.must("employee", &report, "submit", json!({})).await;
    assert_eq!(
        app.must("manager", &report, "approve", json!({})).await,
        "pending_review"
    );
    assert_eq!(
        app.act("finance", &report, "approve", json!({}))
            .await
            .status,
        StatusCode::CONFLICT,
        "not finance's turn yet"
    );
    assert_eq!(
        app.must("senior", &report, "approve", json!({})).await,
        "pending_finance"
    );

    // AND spend at home adds no step
    let r = expense(&app, "employee", json!({"amount": "41.00"})).await;
    let home = draft(&app, "employee", &[r.body["id"].as_str().expect("an id")]).await;
    let route = app
        .get("employee", &format!("/api/v1/reports/{home}/route"))
        .await;
    assert_eq!(route.body["steps"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_rule_for_a_named_user_adds_their_step_and_an_approver_who_cannot_decide_is_noted_for_finance()
 {
    let app = spawn_app().await;
    // GIVEN Ivy from IT, no manager, and a rule: software over 100.00 goes to Ivy
    let r = app
        .post("admin", "/api/v1/users", json!({"email": "ivy@example.com", "name": "Ivy IT", "password": outlay_bootstrap::DEMO_PASSWORD}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let ivy = r.body["id"].as_str().expect("an id").to_owned();
    let rules = json!({"items": [{"name": "IT approves software", "category": "software", "over": "100.00",
                                  "approver": "user", "approver_id": ivy}]});
    let r = app
        .call(
            Method::PUT,
            "/api/v1/routing-rules",
            Some("finance"),
            Some(rules.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // WHEN Eve files software of 150.00 (and a small one of 20.00, which the rule leaves out)
    let big = expense(
        &app,
        "employee",
        json!({"category": "software", "amount": "150.00", "merchant": "JetBrains"}),
    )
    .await;
    let receipt = app
        .upload(
            "employee",
            big.body["id"].as_str().expect("id"),
            "image/png",
            png(),
        )
        .await;
    assert_eq!(receipt.status, StatusCode::CREATED, "{:?}", receipt.body);
    let small = expense(
        &app,
        "employee",
        json!({"category": "office", "amount": "20.00"}),
    )
    .await;
    let report = draft(
        &app,
        "employee",
        &[
            big.body["id"].as_str().expect("id"),
            small.body["id"].as_str().expect("id"),
        ],
    )
    .await;

    // THEN Ivy decides a step of her own, though she is no manager
    let route = app
        .get("employee", &format!("/api/v1/reports/{report}/route"))
        .await;
    let s = steps(&route.body);
    assert_eq!(s[1].0, "rule");
    assert_eq!(
        s[1].1,
        "lines in software totalling 150.00 USD, over 100.00 USD; Ivy IT approves (rule \"IT approves software\")"
    );
    app.must("employee", &report, "submit", json!({})).await;
    app.must("manager", &report, "approve", json!({})).await;
    assert_eq!(
        app.must("ivy@example.com", &report, "approve", json!({}))
            .await,
        "pending_finance"
    );

    // WHEN Ivy leaves THEN the next report's rule adds no step, and finance is told why
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{ivy}"),
            Some("admin"),
            Some(json!({"active": false})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let again = expense(
        &app,
        "employee",
        json!({"category": "software", "amount": "151.00", "merchant": "JetBrains"}),
    )
    .await;
    let report = draft(&app, "employee", &[again.body["id"].as_str().expect("id")]).await;
    let route = app
        .get("employee", &format!("/api/v1/reports/{report}/route"))
        .await;
    let s = steps(&route.body);
    assert_eq!(s.len(), 2, "{s:?}");
    assert!(
        s[1].1.contains("but its approver is missing or inactive"),
        "{s:?}"
    );

    // AND a rule naming the submitter adds no step of theirs
    let eve = app.user_id("employee").await;
    let rules = json!({"items": [{"name": "Eve approves software", "category": "software", "approver": "user", "approver_id": eve}]});
    let r = app
        .call(
            Method::PUT,
            "/api/v1/routing-rules",
            Some("finance"),
            Some(rules),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let route = app
        .get("employee", &format!("/api/v1/reports/{report}/route"))
        .await;
    let s = steps(&route.body);
    assert_eq!(s.len(), 2, "{s:?}");
    assert!(
        s[1].1.contains("but that approver is the submitter"),
        "{s:?}"
    );
}

#[tokio::test]
async fn only_finance_or_an_admin_keeps_the_organisation_and_only_with_what_exists() {
    let app = spawn_app().await;
    let centre = json!({"name": "Operations", "owner_id": app.user_id("manager").await});
    let r = app
        .call(
            Method::PUT,
            "/api/v1/cost-centres/OPS",
            Some("employee"),
            Some(centre.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    let r = app
        .call(
            Method::PUT,
            "/api/v1/cost-centres/OPS",
            Some("admin"),
            Some(centre),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = app
        .call(
            Method::PUT,
            "/api/v1/cost-centres/bad%20code",
            Some("finance"),
            Some(json!({"name": "x"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    let nobody = json!({"name": "Ghosts", "owner_id": "01900000-0000-7000-8000-000000000000"});
    let r = app
        .call(
            Method::PUT,
            "/api/v1/cost-centres/GHOST",
            Some("finance"),
            Some(nobody),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let r = app
        .call(
            Method::PUT,
            "/api/v1/projects/ZEUS",
            Some("finance"),
            Some(json!({"name": "Zeus", "budget": "1000.00", "billable": true})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    for (rules, what) in [
        (
            json!({"items": [{"name": "x", "cost_centre": "NOPE", "approver": "cost_centre_owner"}]}),
            "an unknown cost centre",
        ),
        (
            json!({"items": [{"name": "x", "category": "yachts", "approver": "cost_centre_owner"}]}),
            "an unknown category",
        ),
        (
            json!({"items": [{"name": "x", "approver": "cost_centre_owner"}]}),
            "no condition",
        ),
        (
            json!({"items": [{"name": "x", "over": "5.00", "approver": "role", "approver_role": "employee"}]}),
            "everyone's role",
        ),
    ] {
        let r = app
            .call(
                Method::PUT,
                "/api/v1/routing-rules",
                Some("finance"),
                Some(rules),
                &[],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {:?}",
            r.body
        );
    }
    let r = app
        .call(
            Method::PUT,
            "/api/v1/routing-rules",
            Some("finance"),
            Some(json!({"items": [{"name": "x", "over": "5.00", "approver": "user"}]})),
            &[],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a user rule without its user: {:?}",
        r.body
    );

    // Everyone reads them; replacing the rest of the policy keeps them.
    let centres = app.get("employee", "/api/v1/cost-centres").await;
    let codes: Vec<&str> = centres.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["code"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(codes, ["ENG", "MKT", "OPS"]);
    let policy = app.get("finance", "/api/v1/policy").await;
    let r = app
        .call(
            Method::PUT,
            "/api/v1/policy",
            Some("finance"),
            Some(policy.body.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let projects = app.get("employee", "/api/v1/projects").await;
    assert_eq!(projects.body["items"].as_array().map(Vec::len), Some(2));
    let rules = app.get("employee", "/api/v1/routing-rules").await;
    assert_eq!(rules.body["items"][0]["cost_centre"], "other_than_home");
}

#[tokio::test]
async fn a_rule_for_a_role_is_decided_by_any_holder_but_whoever_approved_before() {
    // GIVEN a rule: software goes to anyone with the admin role
    let app = spawn_app().await;
    let rules = json!({"items": [{"name": "Admins see software", "category": "software",
                                  "approver": "role", "approver_role": "admin"}]});
    let r = app
        .call(
            Method::PUT,
            "/api/v1/routing-rules",
            Some("finance"),
            Some(rules),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["items"][0]["approver_role"], "admin");
    let e = expense(
        &app,
        "employee",
        json!({"category": "software", "amount": "30.00"}),
    )
    .await;
    let report = draft(&app, "employee", &[e.body["id"].as_str().expect("id")]).await;
    let route = app
        .get("employee", &format!("/api/v1/reports/{report}/route"))
        .await;
    let s = steps(&route.body);
    assert_eq!(s[1].0, "rule");
    assert!(
        s[1].1
            .ends_with("anyone with the admin role approves (rule \"Admins see software\")"),
        "{s:?}"
    );
    assert_eq!(
        route.body["steps"][1]["approver_id"],
        serde_json::Value::Null
    );

    // WHEN it is submitted and the manager approves
    app.must("employee", &report, "submit", json!({})).await;
    assert_eq!(
        app.must("manager", &report, "approve", json!({})).await,
        "pending_review"
    );

    // THEN it waits in the admins' queue, and Ada decides it
    let queue = app.get("admin", "/api/v1/reports?scope=approvals").await;
    assert_eq!(
        queue.body["items"][0]["id"],
        report.as_str(),
        "{:?}",
        queue.body
    );
    assert_eq!(
        app.act("senior", &report, "approve", json!({}))
            .await
            .status,
        StatusCode::FORBIDDEN,
        "no admin"
    );
    assert_eq!(
        app.must("admin", &report, "approve", json!({})).await,
        "pending_finance"
    );
}

//! The expense policy and exchange rates, as employees and finance meet them.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, days_ago, png, spawn_app};

async fn expense(app: &TestApp, body: Value) -> Value {
    let r = app.post("employee", "/api/v1/expenses", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body
}

fn item(date: &str, merchant: &str, category: &str, amount: &str, currency: &str) -> Value {
    json!({"date": date, "merchant": merchant, "category": category, "amount": amount, "currency": currency})
}

fn rules(v: &Value) -> Vec<(String, String)> {
    v["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|x| {
            (
                x["rule"].as_str().unwrap_or("").to_owned(),
                x["severity"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

async fn report_of(app: &TestApp, ids: &[&Value]) -> String {
    let ids: Vec<&str> = ids.iter().map(|e| e["id"].as_str().expect("id")).collect();
    let r = app
        .post(
            "employee",
            "/api/v1/reports",
            json!({"title": "Policy", "expense_ids": ids}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn every_rule_shows_on_the_expense_and_hard_ones_block_submission_by_name() {
    let app = spawn_app().await;
    let yesterday = days_ago(1);
    let no_receipt = expense(&app, item(&yesterday, "Airline", "travel", "450.00", "USD")).await;
    assert_eq!(
        rules(&no_receipt),
        [("receipt_required".into(), "hard".into())]
    );
    let dinner = expense(&app, item(&yesterday, "Bistro", "meals", "60.00", "USD")).await;
    assert!(rules(&dinner).is_empty());
    let feast = expense(
        &app,
        item(&yesterday, "Steakhouse", "meals", "74.00", "USD"),
    )
    .await;
    assert!(rules(&feast).is_empty());
    let old = expense(&app, item(&days_ago(100), "Taxi", "travel", "20.00", "USD")).await;
    assert_eq!(rules(&old), [("too_old".into(), "hard".into())]);
    let future = expense(&app, item(&days_ago(-2), "Taxi", "travel", "20.00", "USD")).await;
    assert_eq!(rules(&future), [("future_date".into(), "hard".into())]);
    let euro = expense(
        &app,
        item(&yesterday, "Cafe de Paris", "meals", "12.00", "EUR"),
    )
    .await;
    assert_eq!(
        rules(&euro),
        [("exchange_rate_missing".into(), "hard".into())]
    );
    assert_eq!(euro["base_amount"], Value::Null);

    // WHEN submitted together THEN 422 names each hard violation, with its expense
    let report = report_of(&app, &[&no_receipt, &dinner, &old, &future, &euro]).await;
    let r = app.act("employee", &report, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.code(), "policy_violation");
    let named: Vec<(String, String)> = r.body["error"]["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| {
            (
                v["expense_id"].as_str().unwrap_or("").to_owned(),
                v["rule"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let id = |e: &Value| e["id"].as_str().unwrap_or("").to_owned();
    assert_eq!(
        named,
        [
            (id(&no_receipt), "receipt_required".to_owned()),
            (id(&old), "too_old".to_owned()),
            (id(&future), "future_date".to_owned()),
            (id(&euro), "exchange_rate_missing".to_owned()),
        ]
    );
    assert_eq!(
        app.report_state(&report).await["state"],
        "draft",
        "nothing changed"
    );
    let view = app.report_state(&report).await;
    assert_eq!(view["violations"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn soft_rules_need_a_justification_before_submission() {
    let app = spawn_app().await;
    let yesterday = days_ago(1);
    // Over the meals limit of 100.00 (soft), with its receipt.
    let dinner = expense(
        &app,
        item(&yesterday, "Steakhouse", "meals", "180.00", "USD"),
    )
    .await;
    app.upload(
        "employee",
        dinner["id"].as_str().expect("id"),
        "image/png",
        png(),
    )
    .await;
    // A duplicate of another expense (soft).
    let taxi = expense(
        &app,
        item(&yesterday, "City Cabs", "travel", "30.00", "USD"),
    )
    .await;
    let again = expense(
        &app,
        item(&yesterday, " city cabs ", "travel", "30.00", "USD"),
    )
    .await;
    assert_eq!(rules(&again), [("duplicate".into(), "soft".into())]);
    let dinner_now = app
        .get(
            "employee",
            &format!("/api/v1/expenses/{}", dinner["id"].as_str().expect("id")),
        )
        .await;
    assert_eq!(
        rules(&dinner_now.body),
        [("category_limit".into(), "soft".into())]
    );

    let report = report_of(&app, &[&dinner, &taxi, &again]).await;
    let blocked = app.act("employee", &report, "submit", json!({})).await;
    assert_eq!(blocked.status, StatusCode::UNPROCESSABLE_ENTITY);
    let blocked_rules: Vec<&str> = blocked.body["error"]["violations"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v["rule"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(blocked_rules, ["category_limit", "duplicate", "duplicate"]);

    for (e, why) in [
        (&dinner, "Client dinner for four"),
        (&taxi, "Two trips that day"),
        (&again, "Return trip"),
    ] {
        let path = format!("/api/v1/expenses/{}", e["id"].as_str().expect("id"));
        let r = app
            .call(
                Method::PATCH,
                &path,
                Some("employee"),
                Some(json!({"justification": why})),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["justification"], why);
    }
    assert_eq!(
        app.must("employee", &report, "submit", json!({})).await,
        "pending_manager"
    );
}

#[tokio::test]
async fn finance_sets_the_policy_and_everyone_reads_it() {
    let app = spawn_app().await;
    let policy = app.get("employee", "/api/v1/policy").await;
    assert_eq!(policy.status, StatusCode::OK);
    assert_eq!(policy.body["base_currency"], "USD");
    assert_eq!(policy.body["senior_threshold"]["amount"], "1000.00");
    let mut changed = policy.body.clone();
    changed["allowed_currencies"] = json!(["USD", "EUR"]);
    changed["categories"][2]["limit_severity"] = json!("hard");
    for who in ["employee", "manager", "admin"] {
        let r = app
            .call(
                Method::PUT,
                "/api/v1/policy",
                Some(who),
                Some(changed.clone()),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}");
    }
    let r = app
        .call(
            Method::PUT,
            "/api/v1/policy",
            Some("finance"),
            Some(changed.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let mut bad = changed.clone();
    bad["senior_threshold"] = json!({"amount": "1000.00", "currency": "EUR"});
    let r = app
        .call(
            Method::PUT,
            "/api/v1/policy",
            Some("finance"),
            Some(bad),
            &[],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an amount outside the base currency"
    );
    let mut unknown = changed.clone();
    unknown["colour"] = json!("red");
    assert_eq!(
        app.call(
            Method::PUT,
            "/api/v1/policy",
            Some("finance"),
            Some(unknown),
            &[]
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "JSON that is not a policy"
    );

    // The new rules apply: GBP is not allowed, and lodging over 300.00 is now hard.
    let gbp = expense(&app, item(&days_ago(1), "Pub", "meals", "10.00", "GBP")).await;
    assert!(rules(&gbp).contains(&("currency_not_allowed".into(), "hard".into())));
    let hotel = expense(
        &app,
        item(&days_ago(1), "Hotel", "lodging", "350.00", "USD"),
    )
    .await;
    assert!(rules(&hotel).contains(&("category_limit".into(), "hard".into())));
    let history = app.get("finance", "/api/v1/audit/verify").await;
    assert_eq!(
        history.status,
        StatusCode::FORBIDDEN,
        "finance does not run the audit check"
    );
}

#[tokio::test]
async fn a_foreign_expense_converts_at_the_rate_of_its_own_date_and_a_missing_rate_blocks_submission()
 {
    let app = spawn_app().await;
    let rates = json!({"rates": [
        {"date": days_ago(10), "currency": "EUR", "rate": "1.10"},
        {"date": days_ago(3), "currency": "EUR", "rate": "1.2"},
        {"date": days_ago(3), "currency": "JPY", "rate": "0.0067"},
    ]});
    for who in ["employee", "manager", "admin"] {
        assert_eq!(
            app.call(
                Method::PUT,
                "/api/v1/exchange-rates",
                Some(who),
                Some(rates.clone()),
                &[]
            )
            .await
            .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.get(who, "/api/v1/exchange-rates").await.status,
            StatusCode::FORBIDDEN
        );
    }
    let put = app
        .call(
            Method::PUT,
            "/api/v1/exchange-rates",
            Some("finance"),
            Some(rates),
            &[],
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
    let listed = app.get("payer", "/api/v1/exchange-rates").await;
    assert_eq!(listed.body["base_currency"], "USD");
    assert_eq!(listed.body["rates"].as_array().map(Vec::len), Some(3));

    // 5 days ago: the rate of 10 days ago applies (the nearest earlier, within a week).
    let older = expense(
        &app,
        item(&days_ago(5), "Hotel Adlon", "travel", "50.00", "EUR"),
    )
    .await;
    assert_eq!(
        (
            older["base_amount"].as_str(),
            older["exchange_rate"].as_str()
        ),
        (Some("55.00"), Some("1.1"))
    );
    // 2 days ago: the rate of 3 days ago.
    let newer = expense(&app, item(&days_ago(2), "Cafe", "meals", "10.05", "EUR")).await;
    assert_eq!(
        (
            newer["base_amount"].as_str(),
            newer["base_currency"].as_str()
        ),
        (Some("12.06"), Some("USD"))
    );
    let yen = expense(&app, item(&days_ago(2), "Sushi", "meals", "1500", "JPY")).await;
    assert_eq!(
        yen["base_amount"], "10.05",
        "1500 JPY at 0.0067, rounded half away from zero"
    );
    // 20 days ago: no rate within a week before it.
    let stale = expense(&app, item(&days_ago(20), "Museum", "other", "30.00", "EUR")).await;
    assert_eq!(stale["base_amount"], Value::Null);

    let report = report_of(&app, &[&older, &newer, &yen, &stale]).await;
    let blocked = app.act("employee", &report, "submit", json!({})).await;
    assert_eq!(blocked.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        blocked.body["error"]["violations"][0]["rule"],
        "exchange_rate_missing"
    );
    assert!(blocked.message().contains("EUR"), "{}", blocked.message());

    // Finance adds the missing rate; the submission converts the expense and goes through.
    let late = json!({"rates": [{"date": days_ago(22), "currency": "EUR", "rate": "1.05"}]});
    app.call(
        Method::PUT,
        "/api/v1/exchange-rates",
        Some("finance"),
        Some(late),
        &[],
    )
    .await;
    let submitted = app.act("employee", &report, "submit", json!({})).await;
    assert_eq!(submitted.status, StatusCode::OK, "{:?}", submitted.body);
    assert_eq!(
        submitted.body["total"], "108.61",
        "55.00 + 12.06 + 10.05 + 31.50 USD"
    );
    assert_eq!(submitted.body["currency"], "USD");

    // Bad rates are refused whole: a rate for the base currency is well-formed, but no rate.
    let base = app
        .call(
            Method::PUT,
            "/api/v1/exchange-rates",
            Some("finance"),
            Some(json!({"rates": [{"date": days_ago(1), "currency": "USD", "rate": "1"}]})),
            &[],
        )
        .await;
    assert_eq!(
        base.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        base.body
    );
    for bad in [
        json!({"rates": [{"date": days_ago(1), "currency": "EUR", "rate": "-1"}]}),
        json!({"rates": [{"date": "yesterday", "currency": "EUR", "rate": "1"}]}),
        json!({"rates": []}),
    ] {
        let r = app
            .call(
                Method::PUT,
                "/api/v1/exchange-rates",
                Some("finance"),
                Some(bad.clone()),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

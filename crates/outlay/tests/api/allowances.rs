//! Mileage and per diem expenses, priced from the rate tables; `/allowances` and its quotes.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{days_ago, spawn_app};

fn mileage(extra: Value) -> Value {
    let mut b = json!({"kind": "mileage", "date": days_ago(1), "distance": 120,
                       "unit": "mi", "vehicle": "car", "from": "Office", "to": "Client"});
    for (k, v) in extra.as_object().expect("an object") {
        b[k] = v.clone();
    }
    b
}

#[tokio::test]
async fn a_mileage_expense_is_priced_at_the_rate_of_its_day_and_needs_no_receipt() {
    let app = spawn_app().await;
    // GIVEN the seeded IRS rate of 2026, 0.725 USD a mile
    // WHEN Eve claims 120 miles by car yesterday
    let r = app
        .post("employee", "/api/v1/expenses", mileage(json!({})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    // THEN it is 87.00 USD, filed as mileage from the office to the client
    assert_eq!(r.body["kind"], "mileage");
    assert_eq!(
        (&r.body["amount"], &r.body["currency"]),
        (&json!("87.00"), &json!("USD"))
    );
    assert_eq!(r.body["category"], "mileage");
    assert_eq!(r.body["merchant"], "Office to Client");
    assert_eq!(r.body["mileage"]["rate"], "0.725");
    assert_eq!(r.body["mileage"]["rate_from"], "2026-01-01");
    // AND although it is over the receipt threshold, no receipt is asked for
    assert_eq!(r.body["violations"], json!([]), "{:?}", r.body);

    // A kilometre trip takes the per-kilometre rate: 42.5 km at 0.30 EUR is 12.75 EUR.
    let km = app
        .post(
            "employee",
            "/api/v1/expenses",
            mileage(json!({"distance": "42.5", "unit": "km"})),
        )
        .await;
    assert_eq!(km.status, StatusCode::CREATED, "{:?}", km.body);
    assert_eq!(
        (&km.body["amount"], &km.body["currency"]),
        (&json!("12.75"), &json!("EUR"))
    );

    // A trip over the policy's longest (1000 km) breaks a soft rule.
    let long = app
        .post(
            "employee",
            "/api/v1/expenses",
            mileage(json!({"distance": 700})),
        )
        .await;
    assert_eq!(long.status, StatusCode::CREATED, "{:?}", long.body);
    assert_eq!(long.body["violations"][0]["rule"], "distance_cap");
    assert_eq!(long.body["violations"][0]["severity"], "soft");
}

#[tokio::test]
async fn a_claims_amount_is_never_taken_from_the_client_and_bad_claims_are_refused() {
    let app = spawn_app().await;
    for (body, status, what) in [
        (
            mileage(json!({"amount": "1.00"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "an amount",
        ),
        (
            mileage(json!({"currency": "USD"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a currency",
        ),
        (
            mileage(json!({"unit": "furlong"})),
            StatusCode::BAD_REQUEST,
            "a unit",
        ),
        (
            mileage(json!({"distance": "-3"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a negative distance",
        ),
        (
            mileage(json!({"distance": 1.234})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "three places",
        ),
        (
            mileage(json!({"vehicle": "bicycle"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no rate",
        ),
        (
            mileage(json!({"country": "US"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a per diem field",
        ),
        (
            json!({"kind": "mileage", "date": days_ago(1), "unit": "mi", "vehicle": "car"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no distance",
        ),
        (
            json!({"date": days_ago(1), "merchant": "Shop", "category": "office",
                   "amount": "3.00", "currency": "USD", "distance": 3}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a receipt with a distance",
        ),
    ] {
        let r = app.post("employee", "/api/v1/expenses", body).await;
        assert_eq!(r.status, status, "{what}: {:?}", r.body);
    }
    let listed = app.get("employee", "/api/v1/expenses").await;
    assert_eq!(listed.body["items"], json!([]), "nothing was recorded");

    // A recorded claim keeps its computed amount and date.
    let r = app
        .post("employee", "/api/v1/expenses", mileage(json!({})))
        .await;
    let id = r.body["id"].as_str().expect("an id");
    for patch in [json!({"amount": "500.00"}), json!({"date": days_ago(2)})] {
        let p = app
            .call(
                Method::PATCH,
                &format!("/api/v1/expenses/{id}"),
                Some("employee"),
                Some(patch),
                &[],
            )
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", p.body);
    }
    let p = app
        .call(
            Method::PATCH,
            &format!("/api/v1/expenses/{id}"),
            Some("employee"),
            Some(json!({"description": "Visit to Acme"})),
            &[],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    assert_eq!(p.body["amount"], "87.00");
    assert_eq!(p.body["mileage"]["distance"], "120");
}

#[tokio::test]
async fn a_per_diem_pays_partial_first_and_last_days_less_the_meals_provided() {
    let app = spawn_app().await;
    // GIVEN the GSA's standard rate: 68 a day, 51 on the first and last, breakfast 16
    let (first, second, last) = (days_ago(3), days_ago(2), days_ago(1));
    let body = json!({"kind": "per_diem", "country": "US",
        "from": format!("{first}T08:00:00-05:00"), "until": format!("{last}T18:30"),
        "meals_provided": [{"date": second, "breakfast": true}]});
    // WHEN Eve claims three days
    let r = app.post("employee", "/api/v1/expenses", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    // THEN it is 51 + (68 - 16) + 51 = 154.00 USD, day by day
    assert_eq!(
        (&r.body["amount"], &r.body["currency"]),
        (&json!("154.00"), &json!("USD"))
    );
    assert_eq!(r.body["kind"], "per_diem");
    assert_eq!(r.body["date"], json!(first));
    assert_eq!(r.body["per_diem"]["from"], format!("{first}T08:00:00"));
    let days: Vec<(Value, Value, Value)> = r.body["breakdown"]
        .as_array()
        .expect("a breakdown")
        .iter()
        .map(|d| (d["portion"].clone(), d["base"].clone(), d["amount"].clone()))
        .collect();
    assert_eq!(
        days,
        [
            (json!("partial"), json!("51.00"), json!("51.00")),
            (json!("full"), json!("68.00"), json!("52.00")),
            (json!("partial"), json!("51.00"), json!("51.00")),
        ]
    );
    assert_eq!(
        r.body["breakdown"][1]["reductions"],
        json!([{"meal": "breakfast", "amount": "16.00"}])
    );
    assert_eq!(r.body["violations"], json!([]), "{:?}", r.body);

    for (body, status, what) in [
        (
            json!({"kind": "per_diem", "country": "XX", "from": format!("{first}T08:00"), "until": format!("{last}T18:00")}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "an unknown place",
        ),
        (
            json!({"kind": "per_diem", "country": "US", "from": format!("{last}T08:00"), "until": format!("{first}T18:00")}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "an end before the start",
        ),
        (
            json!({"kind": "per_diem", "country": "US", "from": "yesterday", "until": format!("{first}T18:00")}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a time",
        ),
        (
            json!({"kind": "per_diem", "country": "US", "from": format!("{first}T08:00"), "until": format!("{first}T18:00")}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a single day of ten hours",
        ),
        (
            json!({"kind": "per_diem", "country": "US", "from": format!("{first}T08:00"), "until": format!("{last}T18:00"),
                   "meals_provided": [{"date": days_ago(9), "lunch": true}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "meals outside the trip",
        ),
        (
            json!({"kind": "per_diem", "country": "US", "from": format!("{first}T08:00"), "until": format!("{last}T18:00"), "vehicle": "car"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a mileage field",
        ),
    ] {
        let r = app.post("employee", "/api/v1/expenses", body).await;
        assert_eq!(r.status, status, "{what}: {:?}", r.body);
    }
}

#[tokio::test]
async fn finance_keeps_the_rate_tables_and_a_quote_prices_without_recording() {
    let app = spawn_app().await;
    // Everyone reads the tables; only finance changes them.
    let tables = app.get("employee", "/api/v1/allowances").await;
    assert_eq!(tables.status, StatusCode::OK);
    assert!(
        tables.body["per_diem_source"]
            .as_str()
            .is_some_and(|s| s.contains("GSA"))
    );
    let mut changed = tables.body.clone();
    changed["mileage"]
        .as_array_mut()
        .expect("a mileage table")
        .push(json!({"vehicle": "bicycle", "unit": "mi", "rate": "0.20", "currency": "USD", "from": "2026-01-01"}));
    for who in ["employee", "manager", "admin"] {
        let r = app
            .call(
                Method::PUT,
                "/api/v1/allowances",
                Some(who),
                Some(changed.clone()),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}: {:?}", r.body);
    }
    let quote = json!({"kind": "mileage", "date": days_ago(1), "distance": "10", "unit": "mi", "vehicle": "bicycle"});
    let before = app
        .post("employee", "/api/v1/allowances/quote", quote.clone())
        .await;
    assert_eq!(
        before.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        before.body
    );

    let events = app.audit_events().await;
    let r = app
        .call(
            Method::PUT,
            "/api/v1/allowances",
            Some("finance"),
            Some(changed.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        app.audit_events().await,
        events + 1,
        "the change is audited"
    );
    let after = app
        .post("employee", "/api/v1/allowances/quote", quote)
        .await;
    assert_eq!(after.status, StatusCode::OK, "{:?}", after.body);
    assert_eq!(
        (&after.body["amount"], &after.body["currency"]),
        (&json!("2.00"), &json!("USD"))
    );
    assert_eq!(after.body["merchant"], "Mileage by bicycle");
    let listed = app.get("employee", "/api/v1/expenses").await;
    assert_eq!(listed.body["items"], json!([]), "a quote records nothing");

    // Saving the rest of the policy keeps the tables.
    let policy = app.get("finance", "/api/v1/policy").await.body;
    let r = app
        .call(
            Method::PUT,
            "/api/v1/policy",
            Some("finance"),
            Some(policy),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        app.get("employee", "/api/v1/allowances").await.body,
        r.body["allowances"]
    );

    // Tables that do not hold together are refused.
    let mut twice = changed.clone();
    let first = twice["mileage"][0].clone();
    twice["mileage"].as_array_mut().expect("rows").push(first);
    let mut not_a_table = changed.clone();
    not_a_table["per_diem"][0]["full_day"] = json!("lots");
    for body in [twice, not_a_table, json!({})] {
        let r = app
            .call(
                Method::PUT,
                "/api/v1/allowances",
                Some("finance"),
                Some(body),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    }
}

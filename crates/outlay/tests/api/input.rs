//! Bad input: clear 400s (and 413, 415) that change nothing.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{days_ago, spawn_app};

fn expense(overrides: Value) -> Value {
    let mut base = json!({"date": days_ago(1), "merchant": "Cafe", "category": "meals", "amount": "12.50", "currency": "USD"});
    for (k, v) in overrides.as_object().expect("an object") {
        if v.is_null() {
            base.as_object_mut().expect("an object").remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

#[tokio::test]
async fn bad_expenses_get_400_or_422_with_a_useful_message() {
    let app = spawn_app().await;
    // 400: the request breaks the API document; 422: it is well-formed, but a rule about its
    // values (the currency's minor unit, the policy's categories) refuses it.
    let (bad, unprocessable) = (StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY);
    let cases = [
        (json!({"amount": "-5.00"}), bad, "plain decimal"),
        (json!({"amount": "1e3"}), bad, "plain decimal"),
        (
            json!({"amount": "0.00"}),
            unprocessable,
            "greater than zero",
        ),
        (json!({"amount": "12.345"}), unprocessable, "more decimals"),
        (
            json!({"amount": "99999999999999999999999"}),
            unprocessable,
            "too large",
        ),
        (json!({"amount": 12.5}), bad, "invalid type"),
        (json!({"currency": "XYZ"}), bad, "unknown currency"),
        (json!({"currency": "usd"}), bad, "unknown currency"),
        (
            json!({"currency": "JPY", "amount": "1500.50"}),
            unprocessable,
            "JPY",
        ),
        (json!({"date": "2026-13-01"}), bad, "YYYY-MM-DD"),
        (json!({"date": "yesterday"}), bad, "YYYY-MM-DD"),
        (json!({"merchant": "   "}), bad, "merchant"),
        (json!({"merchant": "x".repeat(201)}), bad, "at most 200"),
        (
            json!({"category": "yachts"}),
            unprocessable,
            "unknown category",
        ),
        (json!({"colour": "blue"}), bad, "unknown field `colour`"),
        (json!({"date": null}), unprocessable, "date is required"),
        (json!({"amount": null}), unprocessable, "amount is required"),
    ];
    for (change, status, message) in cases {
        let r = app
            .post("employee", "/api/v1/expenses", expense(change.clone()))
            .await;
        assert_eq!(r.status, status, "{change}: {:?}", r.body);
        assert!(
            r.message().contains(message),
            "{change}: `{}` lacks `{message}`",
            r.message()
        );
    }
    // JPY without decimals is fine.
    let ok = app
        .post(
            "employee",
            "/api/v1/expenses",
            expense(json!({"currency": "JPY", "amount": "1500"})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{:?}", ok.body);
    assert_eq!(ok.body["amount"], "1500");
    let list = app.get("employee", "/api/v1/expenses").await;
    assert_eq!(
        list.body["items"].as_array().map(Vec::len),
        Some(1),
        "nothing else was written"
    );
}

#[tokio::test]
async fn malformed_oversized_and_mistyped_bodies_are_refused() {
    let app = spawn_app().await;
    let token = app.token("employee").await;
    let raw = |body: Body, content_type: &str| {
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/expenses")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", content_type)
            .body(body)
            .expect("a request")
    };
    let malformed = app
        .send(raw(Body::from("{\"date\": "), "application/json"))
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(
        malformed.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("invalid JSON")
    );
    let big = format!("{{\"merchant\": \"{}\"}}", "x".repeat(100 * 1024));
    let oversized = app.send(raw(Body::from(big), "application/json")).await;
    assert_eq!(oversized.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(oversized.body["error"]["code"], "payload_too_large");
    let form = app
        .send(raw(Body::from("a=b"), "application/x-www-form-urlencoded"))
        .await;
    assert_eq!(form.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let array = app.send(raw(Body::from("[]"), "application/json")).await;
    assert_eq!(array.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bad_reports_queries_and_ids_are_refused() {
    let app = spawn_app().await;
    let e = app.expense("employee", "5.00").await;
    let cases = [
        json!({"title": "", "expense_ids": [e]}),
        json!({"title": "T", "expense_ids": []}),
        json!({"title": "T", "expense_ids": [e, e]}),
        json!({"title": "T", "expense_ids": ["nope"]}),
        json!({"title": "T"}),
    ];
    for body in cases {
        let r = app.post("employee", "/api/v1/reports", body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:?}", r.body);
    }
    let missing = app
        .post(
            "employee",
            "/api/v1/reports",
            json!({"title": "T", "expense_ids": ["01000000-0000-7000-8000-000000000000"]}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    for q in [
        "scope=everything",
        "state=lost",
        "limit=0",
        "limit=1000",
        "colour=red",
    ] {
        let r = app.get("employee", &format!("/api/v1/reports?{q}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
    }
    let r = app.report("employee", &["5.00"]).await;
    let reject = app.act("employee", &r, "reject", json!({})).await;
    assert_eq!(
        reject.status,
        StatusCode::BAD_REQUEST,
        "a reject needs a reason field"
    );
    assert_eq!(
        app.get("employee", "/api/v1/reports/not-an-id")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("employee", "/api/v1/nothing-here").await.status,
        StatusCode::NOT_FOUND
    );
    let bad_user = app.post("admin", "/api/v1/users", json!({"email": "x@example.com", "name": "X", "password": "short", "roles": ["employee"]})).await;
    assert_eq!(bad_user.status, StatusCode::BAD_REQUEST);
    let bad_role = app
        .post(
            "admin",
            "/api/v1/users",
            json!({"email": "x@example.com", "name": "X", "roles": ["king"]}),
        )
        .await;
    assert_eq!(bad_role.status, StatusCode::BAD_REQUEST);
    assert!(bad_role.message().contains("unknown role"));
}

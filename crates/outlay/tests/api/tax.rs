//! Tax (VAT) on expenses: the rate and amount a receipt shows, reclaimable as the policy says
//! per category, and reports' net, tax and gross.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{days_ago, spawn_app};

fn receipt(extra: Value) -> Value {
    let mut b = json!({"date": days_ago(1), "merchant": "Rail", "category": "travel",
                       "amount": "59.50", "currency": "USD"});
    for (k, v) in extra.as_object().expect("an object") {
        b[k] = v.clone();
    }
    b
}

#[tokio::test]
async fn tax_is_worked_out_from_the_rate_reclaimed_by_category_and_totalled_on_reports() {
    let app = spawn_app().await;
    // 59.50 at 19 %: 9.50 of tax, reclaimable for travel.
    let rail = app
        .post(
            "employee",
            "/api/v1/expenses",
            receipt(json!({"tax_rate": "19"})),
        )
        .await;
    assert_eq!(rail.status, StatusCode::CREATED, "{:?}", rail.body);
    assert_eq!(
        (
            &rail.body["tax_amount"],
            &rail.body["net_amount"],
            &rail.body["tax_reclaimable"]
        ),
        (&json!("9.50"), &json!("50.00"), &json!(true))
    );
    // A meal's tax, as the receipt says it, is not reclaimable under the default policy.
    let meal = app
        .post(
            "employee",
            "/api/v1/expenses",
            receipt(
                json!({"merchant": "Bistro", "category": "meals", "amount": "40.00",
                           "tax_rate": "7", "tax_amount": "2.62"}),
            ),
        )
        .await;
    assert_eq!(meal.status, StatusCode::CREATED, "{:?}", meal.body);
    assert_eq!(
        (&meal.body["tax_amount"], &meal.body["tax_reclaimable"]),
        (&json!("2.62"), &json!(false))
    );
    // The report: gross 99.50, reclaimable tax 9.50, net 90.00.
    let ids = [&rail.body["id"], &meal.body["id"]];
    let report = app
        .post(
            "employee",
            "/api/v1/reports",
            json!({"title": "Tax", "expense_ids": ids}),
        )
        .await;
    assert_eq!(report.status, StatusCode::CREATED, "{:?}", report.body);
    let id = report.body["id"].as_str().expect("an id");
    let shown = app.get("employee", &format!("/api/v1/reports/{id}")).await;
    assert_eq!(
        (
            &shown.body["total"],
            &shown.body["tax_total"],
            &shown.body["net_total"]
        ),
        (&json!("99.50"), &json!("9.50"), &json!("90.00"))
    );
    // A new amount brings a new tax at the same rate.
    let rail_id = rail.body["id"].as_str().expect("an id");
    let p = app
        .call(
            Method::PATCH,
            &format!("/api/v1/expenses/{rail_id}"),
            Some("employee"),
            Some(json!({"amount": "119.00"})),
            &[],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    assert_eq!(p.body["tax_amount"], "19.00");
    let p = app
        .call(
            Method::PATCH,
            &format!("/api/v1/expenses/{rail_id}"),
            Some("employee"),
            Some(json!({"tax_rate": ""})),
            &[],
        )
        .await;
    assert_eq!(
        (&p.body["tax_rate"], &p.body["net_amount"]),
        (&Value::Null, &json!("119.00"))
    );

    for (body, what) in [
        (receipt(json!({"tax_rate": "101"})), "a rate over 100"),
        (
            receipt(json!({"tax_rate": "19", "tax_amount": "59.50"})),
            "all of it tax",
        ),
        (
            receipt(json!({"tax_amount": "1.00"})),
            "an amount without its rate",
        ),
        (
            json!({"kind": "mileage", "date": days_ago(1), "distance": 10, "unit": "km", "vehicle": "car", "tax_rate": "19"}),
            "tax on mileage",
        ),
    ] {
        let r = app.post("employee", "/api/v1/expenses", body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {:?}",
            r.body
        );
    }
}

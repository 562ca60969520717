//! Cash advances: requested, approved by the owner's manager, paid out by finance (never the
//! approver), netted against the owner's reports and paid back, in any currency; who sees
//! what; and the journal's entries of it.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, days_ago, spawn_app};

async fn request(app: &TestApp, who: &str, amount: &str, currency: &str) -> Value {
    let r = app
        .post(
            who,
            "/api/v1/advances",
            json!({"amount": amount, "currency": currency, "purpose": "Conference travel"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body
}

async fn on(app: &TestApp, who: &str, id: &str, action: &str, body: Value) -> crate::helpers::Resp {
    app.post(who, &format!("/api/v1/advances/{id}/{action}"), body)
        .await
}

/// A report of Eve's of 99.50 USD (no receipts needed), approved by Mia and Fay; `tag` keeps
/// its merchants apart from another such report's (which would be duplicates).
async fn approved_report(app: &TestApp, tag: usize) -> String {
    let mut ids = vec![];
    for (merchant, amount) in [("Rail", "59.50"), ("Bistro", "40.00")] {
        let merchant = format!("{merchant} {tag}");
        let r = app
            .post(
                "employee",
                "/api/v1/expenses",
                json!({"date": days_ago(1), "merchant": merchant, "category": "travel",
                       "amount": amount, "currency": "USD"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        ids.push(r.body["id"].clone());
    }
    let r = app
        .post(
            "employee",
            "/api/v1/reports",
            json!({"title": "Conference", "expense_ids": ids}),
        )
        .await;
    let id = r.body["id"].as_str().expect("an id").to_owned();
    app.must("employee", &id, "submit", json!({})).await;
    app.must("manager", &id, "approve", json!({})).await;
    app.must("finance", &id, "approve", json!({})).await;
    id
}

#[tokio::test]
async fn an_advance_is_approved_paid_out_netted_against_a_report_and_the_rest_paid_back() {
    let app = spawn_app().await;
    let a = request(&app, "employee", "200.00", "USD").await;
    let id = a["id"].as_str().expect("an id");
    assert_eq!(a["state"], "requested");
    assert_eq!(a["approver_id"], json!(app.user_id("manager").await));

    // Only Mia, Eve's manager, decides it; a rejection would need a reason.
    for who in ["employee", "finance"] {
        let r = on(&app, who, id, "approve", json!({})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}: {:?}", r.body);
    }
    let r = on(&app, "manager", id, "reject", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let r = on(&app, "manager", id, "approve", json!({"note": "ok"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "approved");
    let r = on(&app, "manager", id, "approve", json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "decided once");

    // Finance pays it out; Mia is not finance, and Eve may not pay herself.
    for who in ["manager", "employee"] {
        let r = on(&app, who, id, "pay-out", json!({"reference": "ADV-1"})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}: {:?}", r.body);
    }
    let r = on(
        &app,
        "payer",
        id,
        "pay-out",
        json!({"reference": "ADV-1", "due_days": 14}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        (&r.body["state"], &r.body["outstanding"]),
        (&json!("paid_out"), &json!("200.00"))
    );
    assert_eq!(r.body["due_on"], json!(days_ago(-14)));

    // Her report of 99.50 settles that much of it: the report has nothing left to pay, so no
    // batch takes it; it is marked paid by hand.
    let report = approved_report(&app, 0).await;
    let r = on(&app, "employee", id, "settle", json!({"report_id": report})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the owner settles nothing");
    let r = on(&app, "payer", id, "settle", json!({"report_id": report})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["advance"]["outstanding"], "100.50");
    assert_eq!(r.body["payable"], "0.00");
    let r = on(&app, "payer", id, "settle", json!({"report_id": report})).await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "nothing left to net: {:?}",
        r.body
    );
    let bank = json!({"holder": "Eve Employee", "routing_number": "021000021", "account_number": "123456789"});
    app.call(
        axum::http::Method::PUT,
        "/api/v1/me/bank-account",
        Some("employee"),
        Some(bank),
        &[],
    )
    .await;
    let batch = app
        .post(
            "payer",
            "/api/v1/payment-batches",
            json!({"report_ids": [report]}),
        )
        .await;
    assert_eq!(
        batch.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        batch.body
    );
    assert_eq!(
        app.must(
            "payer",
            &report,
            "pay",
            json!({"reference": "netted with ADV-1"})
        )
        .await,
        "paid"
    );

    // The rest comes back: not more than is outstanding.
    let r = on(
        &app,
        "payer",
        id,
        "repay",
        json!({"amount": "100.51", "reference": "IN-9"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let r = on(
        &app,
        "payer",
        id,
        "repay",
        json!({"amount": "100.50", "reference": "IN-9"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        (&r.body["state"], &r.body["outstanding"]),
        (&json!("settled"), &json!("0.00"))
    );

    // Eve was told of each step, and the journal has the advance's entries, each balanced,
    // and no payment of the report, which paid nothing.
    let notes = app.get("employee", "/api/v1/notifications").await;
    let text = notes.body.to_string();
    for told in [
        "approved",
        "paid out",
        "settled by your report",
        "repayment",
    ] {
        assert!(text.contains(told), "{told}: {text}");
    }
    let j = app
        .get(
            "payer",
            &format!("/api/v1/journal?from={}&to={}", days_ago(1), days_ago(-1)),
        )
        .await;
    assert_eq!(j.status, StatusCode::OK, "{:?}", j.body);
    let short = &id.replace('-', "")[..16];
    let mine: Vec<&Value> = j.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["reference"].as_str().expect("ref").starts_with(short))
        .collect();
    let refs: Vec<&str> = mine
        .iter()
        .map(|e| e["reference"].as_str().expect("ref"))
        .collect();
    assert_eq!(refs.len(), 3, "{refs:?}");
    let amount = |e: &Value| e["lines"][0]["debit"].as_str().expect("a debit").to_owned();
    let by = |suffix: &str| {
        *mine
            .iter()
            .find(|e| e["reference"].as_str().expect("ref").ends_with(suffix))
            .expect(suffix)
    };
    assert_eq!(amount(by("-V")), "200.00");
    assert_eq!(amount(by("-S1")), "99.50");
    assert_eq!(amount(by("-R1")), "100.50");
    for e in &mine {
        assert_eq!(e["lines"][0]["debit"], e["lines"][1]["credit"], "{e:#?}");
    }
    let report_short = &report.replace('-', "")[..16];
    assert!(
        !j.body.to_string().contains(&format!("{report_short}-P")),
        "a report netted in full pays nothing"
    );
}

#[tokio::test]
async fn advances_are_seen_by_their_owner_approver_and_finance_and_net_only_their_owners_reports() {
    let app = spawn_app().await;
    let a = request(&app, "employee", "50.00", "EUR").await;
    let id = a["id"].as_str().expect("an id");
    let path = format!("/api/v1/advances/{id}");
    for who in ["employee", "manager", "finance", "payer"] {
        assert_eq!(app.get(who, &path).await.status, StatusCode::OK, "{who}");
    }
    for who in ["senior", "admin"] {
        assert_eq!(
            app.get(who, &path).await.status,
            StatusCode::NOT_FOUND,
            "{who}"
        );
        let list = app.get(who, "/api/v1/advances").await;
        assert!(!list.body.to_string().contains(id), "{who} lists it");
    }
    // Bad requests are refused with the reason.
    for (body, status) in [
        (
            json!({"amount": "0", "currency": "USD", "purpose": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"amount": "10.001", "currency": "USD", "purpose": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"amount": "10", "currency": "USD", "purpose": " "}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"amount": "10", "currency": "USD", "purpose": "x", "extra": 1}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let r = app.post("employee", "/api/v1/advances", body.clone()).await;
        assert_eq!(r.status, status, "{body}: {:?}", r.body);
    }
    // Its owner cancels another request before anyone decides it; not after.
    let other = request(&app, "employee", "10.00", "USD").await;
    let other = other["id"].as_str().expect("an id");
    assert_eq!(
        on(&app, "manager", other, "cancel", json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    let r = on(&app, "employee", other, "cancel", json!({})).await;
    assert_eq!(r.body["state"], "cancelled", "{:?}", r.body);

    // In euros: paid out and netted at the day's rate against a dollar report of Eve's, never
    // against someone else's report. Without a rate of the day, it is refused with the reason.
    on(&app, "manager", id, "approve", json!({})).await;
    let r = on(
        &app,
        "payer",
        id,
        "pay-out",
        json!({"reference": "ADV-EUR"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(
        r.message().contains("no exchange rate of EUR"),
        "{:?}",
        r.body
    );
    let rates = json!({"rates": [{"date": days_ago(0), "currency": "EUR", "rate": "1.10"}]});
    let put = app
        .call(
            axum::http::Method::PUT,
            "/api/v1/exchange-rates",
            Some("finance"),
            Some(rates),
            &[],
        )
        .await;
    assert!(put.status.is_success(), "{:?}", put.body);
    let r = on(
        &app,
        "payer",
        id,
        "pay-out",
        json!({"reference": "ADV-EUR"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let hers = approved_report(&app, 0).await;
    let mias = app.report("manager", &["12.00"]).await;
    let r = on(
        &app,
        "payer",
        id,
        "settle",
        json!({"report_id": "01a24875-6ea2-73ba-8e6c-ba4e2f674b09"}),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no such report: {:?}",
        r.body
    );
    let r = on(&app, "payer", id, "settle", json!({"report_id": mias})).await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "Mia's is not approved: {:?}",
        r.body
    );
    let r = on(&app, "payer", id, "settle", json!({"report_id": hers})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // 50 EUR at 1.10 is 55.00 USD, less than the report's 99.50: all of it is settled.
    assert_eq!(r.body["advance"]["state"], "settled");
    assert_eq!(r.body["advance"]["applied"][0]["amount"], "50.00");
    assert_eq!(r.body["advance"]["applied"][0]["base"], "55.00");
    assert_eq!(r.body["payable"], "44.50");
}

#[tokio::test]
async fn netting_and_paying_a_report_at_once_commit_one() {
    let app = spawn_app().await;
    for round in 0..4 {
        let a = request(&app, "employee", "20.00", "USD").await;
        let id = a["id"].as_str().expect("an id").to_owned();
        on(&app, "manager", &id, "approve", json!({})).await;
        on(&app, "payer", &id, "pay-out", json!({"reference": "ADV"})).await;
        let report = approved_report(&app, round).await;
        let settle = on(&app, "payer", &id, "settle", json!({"report_id": report}));
        let pay = app.act("payer", &report, "pay", json!({"reference": "TX"}));
        let (settle, pay) = tokio::join!(settle, pay);
        // Each commits only on the report it read: a netting is never lost under a payment,
        // nor made against a report already paid; a payment after a netting pays what is left.
        assert!(
            settle.status == StatusCode::OK || pay.status == StatusCode::OK,
            "round {round}: {:?} {:?}",
            settle.body,
            pay.body
        );
        let shown = app.report_state(&report).await;
        let paid = if pay.status == StatusCode::OK {
            "paid"
        } else {
            "approved"
        };
        assert_eq!(shown["state"], paid, "round {round}: {:?}", pay.body);
        let advance = app.get("employee", &format!("/api/v1/advances/{id}")).await;
        if settle.status == StatusCode::OK {
            assert_eq!(advance.body["outstanding"], "0.00");
            assert_eq!(
                shown["advance_applied"], "20.00",
                "round {round}: {shown:?}"
            );
            assert_eq!(shown["payable"], "79.50");
        } else {
            assert_eq!(
                settle.status,
                StatusCode::CONFLICT,
                "round {round}: {:?}",
                settle.body
            );
            assert_eq!(advance.body["outstanding"], "20.00");
            assert_eq!(shown["advance_applied"], Value::Null);
        }
    }
}

#[tokio::test]
async fn an_overdue_advance_is_reminded_weekly_until_it_is_settled() {
    let app = spawn_app().await;
    let a = request(&app, "employee", "30.00", "USD").await;
    let id = a["id"].as_str().expect("an id");
    on(&app, "manager", id, "approve", json!({})).await;
    let r = on(
        &app,
        "payer",
        id,
        "pay-out",
        json!({"reference": "ADV-7", "due_days": 2}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let reminded = |days| {
        let app = &app;
        async move { app.sweep_in(days).await.advances_reminded }
    };
    assert_eq!(reminded(1).await, 0, "not due yet");
    assert_eq!(reminded(3).await, 1, "past its day");
    assert_eq!(reminded(4).await, 0, "reminded this week already");
    assert_eq!(reminded(11).await, 1, "a week later, again");
    let notes = app
        .get("employee", "/api/v1/notifications")
        .await
        .body
        .to_string();
    assert!(notes.contains("was due to be settled by"), "{notes}");
    let r = on(
        &app,
        "payer",
        id,
        "repay",
        json!({"amount": "30.00", "reference": "IN-1"}),
    )
    .await;
    assert_eq!(r.body["state"], "settled", "{:?}", r.body);
    assert_eq!(reminded(30).await, 0, "settled: never again");
}

#[tokio::test]
async fn due_days_are_a_whole_number_from_1_to_365_however_json_writes_it() {
    let app = spawn_app().await;
    for (due, status) in [
        (json!(0), StatusCode::UNPROCESSABLE_ENTITY),
        (json!(366), StatusCode::UNPROCESSABLE_ENTITY),
        (json!(2.5), StatusCode::BAD_REQUEST),
        (json!(14.0), StatusCode::OK),
    ] {
        let a = request(&app, "employee", "30.00", "USD").await;
        let id = a["id"].as_str().expect("an id");
        on(&app, "manager", id, "approve", json!({})).await;
        let r = on(
            &app,
            "payer",
            id,
            "pay-out",
            json!({"reference": "ADV", "due_days": due}),
        )
        .await;
        assert_eq!(r.status, status, "{due}: {:?}", r.body);
    }
}

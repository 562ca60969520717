//! Bank details, payment batches and their bank files: who may see and do what, exports that
//! give one file however many ask at once, and a report never paid twice.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, spawn_app};

async fn put_bank(app: &TestApp, who: &str, body: Value) -> Resp {
    app.call(
        Method::PUT,
        "/api/v1/me/bank-account",
        Some(who),
        Some(body),
        &[],
    )
    .await
}

/// A report of Eve's approved by Mia and Fay, so that Pat (finance, no decision) may pay it
/// to Eve's US account.
async fn approved(app: &TestApp, amounts: &[&str]) -> String {
    let bank = json!({"holder": "Eve Employee", "routing_number": "021000021", "account_number": "123456789"});
    assert_eq!(put_bank(app, "employee", bank).await.status, StatusCode::OK);
    let id = app.report("employee", amounts).await;
    app.must("employee", &id, "submit", json!({})).await;
    app.must("manager", &id, "approve", json!({})).await;
    assert_eq!(
        app.must("finance", &id, "approve", json!({})).await,
        "approved"
    );
    id
}

async fn file(app: &TestApp, who: &str, batch: &str, format: &str) -> Resp {
    app.get(
        who,
        &format!("/api/v1/payment-batches/{batch}/files/{format}"),
    )
    .await
}

#[tokio::test]
async fn bank_details_are_checked_seen_only_by_their_owner_and_finance_and_told_when_changed() {
    let app = spawn_app().await;
    // Spaces and lower case are fine; the check digits must hold.
    let r = put_bank(
        &app,
        "manager",
        json!({"holder": "Mia Manager", "iban": "de89 3704 0044 0532 0130 00", "bic": "cobadeffxxx"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["iban"], "DE89370400440532013000");
    assert_eq!(r.body["bic"], "COBADEFFXXX");
    assert_eq!(r.body["masked"], "DE **** 3000");
    for (body, status, what) in [
        (
            json!({"holder": "Mia", "iban": "DE89370400440532013001"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "check digits",
        ),
        (
            json!({"holder": "Mia", "iban": "DE89370400440532013000", "bic": "COBA"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a short BIC",
        ),
        (
            json!({"holder": "Mia", "routing_number": "021000022", "account_number": "1234"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "an ABA check digit",
        ),
        (
            json!({"holder": "Mia", "routing_number": "021000021", "account_number": "12"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a short account",
        ),
        (
            json!({"holder": "Mia", "iban": "DE89370400440532013000", "routing_number": "021000021", "account_number": "1234"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "both",
        ),
        (
            json!({"holder": " ", "iban": "DE89370400440532013000"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no holder",
        ),
        (
            json!({"holder": "Mia", "iban": "DE89370400440532013000", "swift": "x"}),
            StatusCode::BAD_REQUEST,
            "an unknown field",
        ),
    ] {
        let r = put_bank(&app, "manager", body).await;
        assert_eq!(r.status, status, "{what}: {:?}", r.body);
    }
    let mine = app.get("manager", "/api/v1/me/bank-account").await;
    assert_eq!(
        mine.body["iban"], "DE89370400440532013000",
        "a refused change left it as it was"
    );

    // Only the owner and finance see them.
    let mia = app.user_id("manager").await;
    let path = format!("/api/v1/users/{mia}/bank-account");
    assert_eq!(app.get("finance", &path).await.status, StatusCode::OK);
    for who in ["employee", "senior", "admin"] {
        assert_eq!(
            app.get(who, &path).await.status,
            StatusCode::NOT_FOUND,
            "{who}"
        );
    }
    // The change was told to Mia, and the audit trail keeps the account masked.
    let notes = app.get("manager", "/api/v1/notifications").await;
    assert!(
        notes.body["items"]
            .as_array()
            .expect("notifications")
            .iter()
            .any(|n| n["event"] == "bank_account.changed"),
        "{:?}",
        notes.body
    );
    let trail = app
        .built
        .app
        .store()
        .audit_of("bank_account", &mia)
        .await
        .expect("the audit trail");
    let text = format!("{trail:?}");
    assert_eq!(trail.len(), 1, "{text}");
    assert!(text.contains("DE **** 3000"), "{text}");
    assert!(
        !text.contains("0532013000"),
        "the full IBAN is not in the audit trail"
    );
}

#[tokio::test]
async fn a_batch_pays_approved_reports_by_file_and_the_payer_is_never_an_approver() {
    let app = spawn_app().await;
    let report = approved(&app, &["60.00", "27.00"]).await;
    // Fay approved the report: she may not pay it, by batch or by hand.
    let fay = app
        .post(
            "finance",
            "/api/v1/payment-batches",
            json!({"report_ids": [report]}),
        )
        .await;
    assert_eq!(fay.status, StatusCode::FORBIDDEN, "{:?}", fay.body);
    for who in ["employee", "manager", "admin"] {
        let r = app
            .post(
                who,
                "/api/v1/payment-batches",
                json!({"report_ids": [report]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}: {:?}", r.body);
    }
    // Pat builds the batch: the report is held by it.
    let r = app
        .post(
            "payer",
            "/api/v1/payment-batches",
            json!({"report_ids": [report]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let batch = r.body["id"].as_str().expect("an id").to_owned();
    assert_eq!(
        (&r.body["state"], &r.body["total"]),
        (&json!("draft"), &json!("87.00"))
    );
    assert_eq!(r.body["items"][0]["account"], "ACH **** 6789");
    let held = app.report_state(&report).await;
    assert_eq!(held["state"], "approved");
    // Not paid by hand, nor put in a second batch, while the batch holds it.
    let by_hand = app
        .act("payer", &report, "pay", json!({"reference": "TX-1"}))
        .await;
    assert_eq!(by_hand.status, StatusCode::CONFLICT, "{:?}", by_hand.body);
    let again = app
        .post(
            "payer",
            "/api/v1/payment-batches",
            json!({"report_ids": [report]}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);

    // The NACHA file exports it; the same file comes back every time, with its hash.
    let events = app.audit_events().await;
    let first = file(&app, "payer", &batch, "nacha").await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let bytes = first.body.as_str().expect("the file as text").to_owned();
    assert!(bytes.lines().all(|l| l.len() == 94), "{bytes}");
    assert!(bytes.contains("EVE EMPLOYEE"));
    let sha = first.headers["x-content-sha256"]
        .to_str()
        .expect("a hash")
        .to_owned();
    let second = file(&app, "payer", &batch, "nacha").await;
    assert_eq!(second.body.as_str(), Some(bytes.as_str()));
    assert_eq!(
        app.audit_events().await,
        events + 1,
        "one export, audited once"
    );
    let shown = app
        .get("payer", &format!("/api/v1/payment-batches/{batch}"))
        .await;
    assert_eq!(
        (&shown.body["state"], &shown.body["files"]["nacha"]),
        (&json!("exported"), &json!(sha))
    );
    // Fay approved the report: no file of the batch for her, nor may she fail it.
    assert_eq!(
        file(&app, "finance", &batch, "nacha").await.status,
        StatusCode::FORBIDDEN
    );
    let fay_fails = app
        .post(
            "finance",
            &format!("/api/v1/payment-batches/{batch}/fail"),
            json!({"text": "no"}),
        )
        .await;
    assert_eq!(
        fay_fails.status,
        StatusCode::FORBIDDEN,
        "{:?}",
        fay_fails.body
    );
    // The audit trail keeps the accounts masked.
    let trail = app
        .built
        .app
        .store()
        .audit_of("payment_batch", &batch)
        .await
        .expect("the audit trail");
    let text = format!("{trail:?}");
    assert!(
        text.contains("ACH **** 6789")
            && !text.contains("account_number")
            && !text.contains("routing_number"),
        "{text}"
    );
    // SEPA pays euros: not this batch.
    assert_eq!(
        file(&app, "payer", &batch, "sepa").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        file(&app, "payer", &batch, "xml").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        file(&app, "employee", &batch, "csv").await.status,
        StatusCode::FORBIDDEN
    );
    let csv = file(&app, "payer", &batch, "csv").await;
    assert_eq!(csv.status, StatusCode::OK);

    // Settled: the report is paid with the bank's reference, once.
    let r = app
        .post(
            "payer",
            &format!("/api/v1/payment-batches/{batch}/settle"),
            json!({"text": "ACH-20261205"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "paid");
    let paid = app.report_state(&report).await;
    assert_eq!(paid["state"], "paid");
    assert_eq!(paid["payment"]["reference"], "ACH-20261205");
    let twice = app
        .post(
            "payer",
            &format!("/api/v1/payment-batches/{batch}/settle"),
            json!({"text": "again"}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    // The file of a paid batch is still the same file.
    assert_eq!(
        file(&app, "payer", &batch, "nacha").await.body.as_str(),
        Some(bytes.as_str())
    );
    assert_eq!(
        file(&app, "payer", &batch, "sepa").await.status,
        StatusCode::CONFLICT,
        "no new file of a paid batch"
    );
}

#[tokio::test]
async fn a_failed_batch_frees_its_reports_and_owners_without_bank_details_are_named() {
    let app = spawn_app().await;
    let report = approved(&app, &["40.00"]).await;
    let r = app
        .post(
            "payer",
            "/api/v1/payment-batches",
            json!({"report_ids": [report]}),
        )
        .await;
    let batch = r.body["id"].as_str().expect("an id").to_owned();
    let failed = app
        .post(
            "payer",
            &format!("/api/v1/payment-batches/{batch}/fail"),
            json!({"text": "rejected by the bank: R03"}),
        )
        .await;
    assert_eq!(failed.status, StatusCode::OK, "{:?}", failed.body);
    assert_eq!(failed.body["state"], "failed");
    assert_eq!(
        file(&app, "payer", &batch, "nacha").await.status,
        StatusCode::CONFLICT
    );
    // Free again: paid by hand.
    assert_eq!(
        app.must("payer", &report, "pay", json!({"reference": "CHQ-7"}))
            .await,
        "paid"
    );

    // Sam's report goes to Fay... Sam has no bank details: the batch says whose are missing.
    let sams = app.report("senior", &["30.00"]).await;
    app.must("senior", &sams, "submit", json!({})).await;
    assert_eq!(
        app.must("finance", &sams, "approve", json!({})).await,
        "approved"
    );
    let r = app
        .post(
            "payer",
            "/api/v1/payment-batches",
            json!({"report_ids": [sams]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(
        r.message().contains("Sam Senior has no bank details"),
        "{}",
        r.message()
    );
    let sams_now = app.get("senior", &format!("/api/v1/reports/{sams}")).await;
    assert_eq!(sams_now.body["state"], "approved", "nothing was held");
    assert_eq!(sams_now.body["batch_id"], Value::Null);
}

#[tokio::test]
async fn concurrent_exports_of_one_batch_make_one_file() {
    let app = spawn_app().await;
    let report = approved(&app, &["12.00"]).await;
    let r = app
        .post(
            "payer",
            "/api/v1/payment-batches",
            json!({"report_ids": [report]}),
        )
        .await;
    let batch = r.body["id"].as_str().expect("an id").to_owned();
    let events = app.audit_events().await;
    // GIVEN eight exports of the draft batch at once
    let answers =
        futures_util::future::join_all((0..8).map(|_| file(&app, "payer", &batch, "nacha"))).await;
    // THEN every one answers the same file, and one export was committed and audited
    let first = answers[0].body.as_str().expect("a file").to_owned();
    for a in &answers {
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        assert_eq!(a.body.as_str(), Some(first.as_str()));
    }
    assert_eq!(app.audit_events().await, events + 1);
}

#[tokio::test]
async fn a_report_is_never_paid_twice_by_file_and_by_hand() {
    let app = spawn_app().await;
    for round in 0..6 {
        // Amounts of their own, so that no expense is another's duplicate.
        let amount = format!("{}.00", 15 + round);
        let report = approved(&app, &[&amount]).await;
        // GIVEN a batch being built and a payment by hand at once
        let (batch, by_hand) = tokio::join!(
            app.post(
                "payer",
                "/api/v1/payment-batches",
                json!({"report_ids": [report]})
            ),
            app.act(
                "payer",
                &report,
                "pay",
                json!({"reference": format!("HAND-{round}")})
            ),
        );
        // THEN exactly one of them commits
        let (b, h) = (
            batch.status == StatusCode::CREATED,
            by_hand.status == StatusCode::OK,
        );
        assert!(
            b ^ h,
            "round {round}: batch {:?}, by hand {:?}",
            batch.body,
            by_hand.body
        );
        let now = app.report_state(&report).await;
        if h {
            assert_eq!(now["state"], "paid");
        } else {
            assert_eq!(now["state"], "approved");
            let settle = app
                .post(
                    "payer",
                    &format!(
                        "/api/v1/payment-batches/{}/settle",
                        batch.body["id"].as_str().expect("an id")
                    ),
                    json!({"text": "X"}),
                )
                .await;
            assert_eq!(
                settle.status,
                StatusCode::CONFLICT,
                "a draft batch is exported first"
            );
        }
    }
}

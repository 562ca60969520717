//! Receipts that fill in the expense: a file becomes a draft, its reading runs off the request
//! path, and the employee accepts what was read; flags show where receipt and claim disagree.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, spawn_app, spawn_app_with};

const FACTUR_X: &[u8] = include_bytes!("../fixtures/factur-x.pdf");
const TILL_US: &[u8] = include_bytes!("../fixtures/till-us.png");

async fn send_receipt(app: &TestApp, who: &str, content_type: &str, bytes: &[u8]) -> Resp {
    let token = app.token(who).await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/receipts")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .header(
            "content-disposition",
            "attachment; filename=\"invoice.pdf\"",
        )
        .body(Body::from(bytes.to_vec()))
        .expect("a valid request");
    app.send(req).await
}

fn rules(expense: &Value) -> Vec<String> {
    expense["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| v["rule"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn read_all(app: &TestApp) -> outlay_app::ReadPass {
    app.built
        .app
        .read_receipts(10)
        .await
        .expect("the queue is read")
}

#[tokio::test]
async fn an_einvoice_becomes_a_draft_that_its_data_fills_in() {
    let app = spawn_app().await;
    // WHEN an employee sends a Factur-X invoice
    let r = send_receipt(&app, "employee", "application/pdf", FACTUR_X).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let expense = r.body["expense"]["id"].as_str().expect("an id").to_owned();
    let receipt = r.body["receipt"]["id"]
        .as_str()
        .expect("its receipt")
        .to_owned();
    // THEN it is a draft, which no report may carry yet, and its reading waits
    assert_eq!(r.body["expense"]["draft"], true);
    assert!(
        rules(&r.body["expense"]).contains(&"draft".to_owned()),
        "{}",
        r.body
    );
    let path = format!("/api/v1/receipts/{receipt}/reading");
    let pending = app.get("employee", &path).await;
    assert_eq!(pending.status, StatusCode::OK, "{}", pending.body);
    assert_eq!(pending.body["state"], "pending");
    let early = app
        .post(
            "employee",
            &format!("/api/v1/expenses/{expense}/accept-reading"),
            json!({}),
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    // WHEN the queue is read
    assert_eq!(read_all(&app).await.done, 1);
    assert_eq!(read_all(&app).await, outlay_app::ReadPass::default());
    // THEN the invoice's own data is there, exactly
    let done = app.get("employee", &path).await;
    assert_eq!(done.body["state"], "done", "{}", done.body);
    assert_eq!(done.body["reader"], "einvoice");
    let f = &done.body["fields"];
    assert_eq!(f["total"]["value"], "129.03");
    assert_eq!(f["total"]["confidence"], 1.0);
    assert_eq!(
        f["total"]["source"],
        "<GrandTotalAmount>129.03</GrandTotalAmount>"
    );
    assert_eq!(f["currency"]["value"], "EUR");
    assert_eq!(f["date"]["value"], "2026-02-04");
    assert_eq!(f["merchant"]["value"], "Taxi Berlin Mitte");
    assert_eq!(f["tax"]["value"], "8.44");
    // AND nobody else sees it
    for who in ["manager", "finance", "admin"] {
        assert_eq!(
            app.get(who, &path).await.status,
            StatusCode::NOT_FOUND,
            "{who}"
        );
    }
    let theirs = app
        .post(
            "manager",
            &format!("/api/v1/expenses/{expense}/accept-reading"),
            json!({}),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    // WHEN the employee names something that is not a field, or a receipt that is not one
    let path_accept = format!("/api/v1/expenses/{expense}/accept-reading");
    let bad = app
        .post("employee", &path_accept, json!({"fields": ["colour"]}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let bad = app
        .post("employee", &path_accept, json!({"receipt_id": "nope"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    // A receipt named in the body that is not this expense's is a wrong value, not a missing route.
    let other = app
        .post(
            "employee",
            &path_accept,
            json!({"receipt_id": "01a24968-2502-7087-b66f-b1041a480ebc"}),
        )
        .await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.body
    );
    // WHEN they accept everything read
    let accepted = app
        .post(
            "employee",
            &format!("/api/v1/expenses/{expense}/accept-reading"),
            json!({"fields": []}),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    let e = &accepted.body;
    assert_eq!(e["draft"], false);
    assert!(!rules(e).contains(&"draft".to_owned()), "{e}");
    assert_eq!(
        (e["amount"].as_str(), e["currency"].as_str()),
        (Some("129.03"), Some("EUR"))
    );
    assert_eq!(e["merchant"], "Taxi Berlin Mitte");
    assert_eq!(e["date"], "2026-02-04");
    assert_eq!(
        (e["tax_amount"].as_str(), e["tax_rate"].as_str()),
        (Some("8.44"), Some("7"))
    );
    // THEN the reading keeps what was accepted as read, and the audit says so
    let after = app.get("employee", &path).await;
    assert_eq!(
        after.body["accepted"],
        json!(["merchant", "date", "total", "currency", "tax"])
    );
    assert_eq!(after.body["flags"], json!([]));
    let events = app
        .built
        .app
        .store()
        .audit_of("expense", &expense)
        .await
        .expect("the audit trail");
    let actions: Vec<&str> = events.iter().map(|e| e.record.action.as_str()).collect();
    for action in [
        "expense.create_from_receipt",
        "receipt.read",
        "expense.accept_reading",
    ] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    // WHEN the claim is changed away from the receipt
    let version = format!("\"{}\"", e["version"].as_i64().expect("a version"));
    let patched = app
        .call(
            Method::PATCH,
            &format!("/api/v1/expenses/{expense}"),
            Some("employee"),
            Some(json!({"amount": "219.03", "date": "2026-03-10"})),
            &[("if-match", &version)],
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    // THEN the reading flags both, with the evidence
    let flagged = app.get("employee", &path).await;
    let flags = flagged.body["flags"].as_array().expect("flags");
    let kinds: Vec<&str> = flags.iter().filter_map(|f| f["kind"].as_str()).collect();
    assert_eq!(kinds, ["total_differs", "date_far"], "{}", flagged.body);
    let evidence = flags[0]["evidence"].as_str().unwrap_or_default();
    assert!(
        evidence.contains("129.03 EUR") && evidence.contains("219.03 EUR"),
        "{evidence}"
    );
    assert!(
        flags[1]["evidence"]
            .as_str()
            .unwrap_or_default()
            .contains("34 days")
    );
}

#[tokio::test]
async fn files_that_are_not_receipts_are_refused_and_unreadable_ones_fail() {
    let app = spawn_app_with(|s| s.ocr = "off".into()).await;
    let text = send_receipt(&app, "employee", "text/plain", b"hello").await;
    assert_eq!(
        text.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        text.body
    );
    let lying = send_receipt(&app, "employee", "image/png", FACTUR_X).await;
    assert_eq!(
        lying.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        lying.body
    );
    let empty = send_receipt(&app, "employee", "image/png", b"").await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{}", empty.body);
    // Nothing was made of them.
    let mine = app.get("employee", "/api/v1/expenses?limit=100").await;
    let drafts = mine.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["draft"] == true)
        .count();
    assert_eq!(drafts, 0);
    // WHEN a photo arrives where no OCR runs
    let photo = send_receipt(&app, "employee", "image/png", TILL_US).await;
    assert_eq!(photo.status, StatusCode::CREATED, "{}", photo.body);
    let receipt = photo.body["receipt"]["id"]
        .as_str()
        .expect("a receipt")
        .to_owned();
    let expense = photo.body["expense"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    assert_eq!(read_all(&app).await.failed, 1);
    // THEN its reading failed, says why, and there is nothing to accept
    let reading = app
        .get("employee", &format!("/api/v1/receipts/{receipt}/reading"))
        .await;
    assert_eq!(reading.body["state"], "failed", "{}", reading.body);
    assert!(
        reading.body["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    let accept = app
        .post(
            "employee",
            &format!("/api/v1/expenses/{expense}/accept-reading"),
            json!({}),
        )
        .await;
    assert_eq!(accept.status, StatusCode::CONFLICT, "{}", accept.body);
    // AND editing the draft confirms it
    let at = format!("/api/v1/expenses/{expense}");
    let edited = app
        .call(
            Method::PATCH,
            &at,
            Some("employee"),
            Some(json!({"merchant": "Corner Hardware", "amount": "34.44"})),
            &[],
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(edited.body["draft"], false);
    // AND an empty tax amount is not an amount (the document says so too)
    let empty = app
        .call(
            Method::PATCH,
            &at,
            Some("employee"),
            Some(json!({"tax_amount": ""})),
            &[],
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    // AND what was read of a receipt goes with it
    let gone = app
        .call(
            Method::DELETE,
            &format!("/api/v1/receipts/{receipt}"),
            Some("employee"),
            None,
            &[],
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    let store = app.built.app.store();
    for kind in [
        outlay_app::DocKind::Reading,
        outlay_app::DocKind::ReadingJob,
    ] {
        assert_eq!(store.doc(kind, &receipt).await.expect("read"), None);
    }
}

#[tokio::test]
#[ignore = "needs tesseract-ocr (eng, deu) and poppler-utils; .ci/run installs them and runs it"]
async fn a_photo_is_read_by_ocr() {
    // On AWS Textract reads photos, which moto does not serve (its reader has its own test).
    let app = spawn_app_with(|s| {
        if crate::helpers::on_aws() {
            s.ocr = "off".into();
        }
    })
    .await;
    let photo = send_receipt(&app, "employee", "image/png", TILL_US).await;
    assert_eq!(photo.status, StatusCode::CREATED, "{}", photo.body);
    let receipt = photo.body["receipt"]["id"]
        .as_str()
        .expect("a receipt")
        .to_owned();
    if crate::helpers::on_aws() {
        // Without Textract, a photo is not read on AWS: the Lambda package carries no OCR.
        assert_eq!(read_all(&app).await.failed, 1);
        return;
    }
    assert_eq!(read_all(&app).await.done, 1, "tesseract must be installed");
    let reading = app
        .get("employee", &format!("/api/v1/receipts/{receipt}/reading"))
        .await;
    let f = &reading.body["fields"];
    assert_eq!(reading.body["reader"], "tesseract", "{}", reading.body);
    assert_eq!(f["total"]["value"], "34.44", "{}", reading.body);
    assert_eq!(f["date"]["value"], "2026-07-30");
    assert_eq!(f["currency"]["value"], "USD");
    assert_eq!(f["merchant"]["value"], "Corner Hardware");
    let confidence = f["total"]["confidence"].as_f64().expect("a confidence");
    assert!(confidence > 0.5 && confidence < 1.0, "{confidence}");
    assert!(
        f["total"]["source"]
            .as_str()
            .is_some_and(|s| s.contains("TOTAL"))
    );
}

#[tokio::test]
async fn the_same_file_on_two_expenses_is_flagged_to_its_owner_and_to_finance() {
    let app = spawn_app_with(|s| s.ocr = "off".into()).await;
    // GIVEN one invoice sent as a new receipt, attached again to another of Eve's expenses,
    // and attached by Mia to one of hers
    let draft = send_receipt(&app, "employee", "application/pdf", FACTUR_X).await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
    let again = crate::receipts::bare_expense(&app, "employee", "129.03").await;
    let attached = app
        .upload("employee", &again, "application/pdf", FACTUR_X.to_vec())
        .await;
    assert_eq!(attached.status, StatusCode::CREATED, "{}", attached.body);
    let receipt = attached.body["id"].as_str().expect("a receipt").to_owned();
    let hers = crate::receipts::bare_expense(&app, "manager", "129.03").await;
    let third = app
        .upload("manager", &hers, "application/pdf", FACTUR_X.to_vec())
        .await;
    assert_eq!(third.status, StatusCode::CREATED, "{}", third.body);
    let path = format!("/api/v1/receipts/{receipt}/reading");
    let duplicates = |body: &Value| -> Vec<String> {
        body["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .filter(|f| f["kind"] == "duplicate_file")
            .map(|f| f["evidence"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    // THEN Eve hears of her own other expense with it, not of Mia's
    let eve = app.get("employee", &path).await;
    assert_eq!(eve.status, StatusCode::OK, "{}", eve.body);
    let seen = duplicates(&eve.body);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].contains("the same employee's") && seen[0].contains("Receipt being read"),
        "{seen:?}"
    );
    // AND once the expense is in a submitted report, finance hears of both, Mia's by name
    let report = app
        .post(
            "employee",
            "/api/v1/reports",
            json!({"title": "Taxi", "purpose": "Client", "expense_ids": [again]}),
        )
        .await;
    assert_eq!(report.status, StatusCode::CREATED, "{}", report.body);
    let report = report.body["id"].as_str().expect("an id").to_owned();
    app.must("employee", &report, "submit", json!({})).await;
    let fin = app.get("finance", &path).await;
    assert_eq!(fin.status, StatusCode::OK, "{}", fin.body);
    let seen = duplicates(&fin.body);
    assert_eq!(seen.len(), 2, "{seen:?}");
    let manager = app.get("manager", "/api/v1/me").await.body["name"]
        .as_str()
        .unwrap_or("manager")
        .to_owned();
    assert!(
        seen.iter().any(|e| e.contains(&format!("{manager}'s"))),
        "{seen:?} {manager}"
    );
}

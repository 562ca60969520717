//! Bank statements close the loop: a camt.053 marks exactly the matching reports paid, flags
//! every kind of mismatch, pays nothing twice, and is imported only by whoever may pay.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, spawn_app};

/// A camt.053.001.08 statement of `entries`: end-to-end reference, amount, `DBIT` or `CRDT`,
/// and a return reason.
fn camt(entries: &[(&str, &str, &str, Option<&str>)]) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>STMT-1</MsgId><CreDtTm>2026-12-05T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><Acct><Id><Othr><Id>123456789</Id></Othr></Id></Acct>"#,
    );
    for (n, (e2e, amount, direction, returned)) in entries.iter().enumerate() {
        let rtr = returned
            .map(|r| format!("<RtrInf><Rsn><Cd>{r}</Cd></Rsn></RtrInf>"))
            .unwrap_or_default();
        xml.push_str(&format!(
            r#"<Ntry><NtryRef>{n}</NtryRef><Amt Ccy="USD">{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd>
<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-12-05</Dt></BookgDt><AcctSvcrRef>BANK-{n}</AcctSvcrRef>
<BkTxCd/><NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>
<Amt Ccy="USD">{amount}</Amt>{rtr}</TxDtls></NtryDtls></Ntry>"#
        ));
    }
    xml.push_str("</Stmt></BkToCstmrStmt></Document>");
    xml
}

async fn import(app: &TestApp, who: &str, body: &str, content_type: &str) -> Resp {
    let token = app.token(who).await;
    let req = Request::post("/api/v1/bank-statements")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .body(Body::from(body.to_owned()))
        .expect("a request");
    app.send(req).await
}

/// Eve's approved reports of `amounts`, in one batch Pat exported: the batch's items.
async fn exported(app: &TestApp, amounts: &[&str]) -> Vec<Value> {
    let bank = json!({"holder": "Eve Employee", "routing_number": "021000021", "account_number": "123456789"});
    let r = app
        .call(
            axum::http::Method::PUT,
            "/api/v1/me/bank-account",
            Some("employee"),
            Some(bank),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let mut ids = vec![];
    for a in amounts {
        let id = app.report("employee", &[a]).await;
        app.must("employee", &id, "submit", json!({})).await;
        app.must("manager", &id, "approve", json!({})).await;
        app.must("finance", &id, "approve", json!({})).await;
        ids.push(id);
    }
    let batch = app
        .post(
            "payer",
            "/api/v1/payment-batches",
            json!({"report_ids": ids}),
        )
        .await;
    assert_eq!(batch.status, StatusCode::CREATED, "{:?}", batch.body);
    let id = batch.body["id"].as_str().expect("an id");
    let file = app
        .get(
            "payer",
            &format!("/api/v1/payment-batches/{id}/files/nacha"),
        )
        .await;
    assert_eq!(file.status, StatusCode::OK);
    batch.body["items"].as_array().expect("items").clone()
}

fn kinds(list: &Value) -> Vec<String> {
    let mut k: Vec<String> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["kind"].as_str().expect("a kind").to_owned())
        .collect();
    k.sort();
    k
}

#[tokio::test]
async fn a_statement_marks_exactly_the_matching_reports_paid_and_flags_each_mismatch() {
    let app = spawn_app().await;
    let items = exported(&app, &["40.00", "25.00"]).await;
    let (a, b) = (&items[0], &items[1]);
    let e2e = |i: &Value| i["end_to_end"].as_str().expect("a reference").to_owned();
    // GIVEN a statement: A paid in full, B a cent short, a reference nobody knows, money in,
    // and B returned by the receiving bank
    let statement = camt(&[
        (&e2e(a), "40.00", "DBIT", None),
        (&e2e(b), "24.99", "DBIT", None),
        ("OL0000000000000", "10.00", "DBIT", None),
        ("NOTPROVIDED", "500.00", "CRDT", None),
        (&e2e(b), "25.00", "CRDT", Some("AC04")),
    ]);
    // WHEN Pat imports it
    let r = import(&app, "payer", &statement, "application/xml").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // THEN A alone is paid, with the bank's reference, and each mismatch is flagged
    assert_eq!(kinds(&r.body["matched"]), ["matched"]);
    assert_eq!(r.body["matched"][0]["report_id"], a["report_id"]);
    assert_eq!(
        kinds(&r.body["mismatches"]),
        ["amount_off", "returned", "unknown_reference"]
    );
    let off = r.body["mismatches"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|m| m["kind"] == "amount_off")
        .expect("one");
    assert_eq!(
        (&off["expected"], &off["amount"]),
        (&json!("25.00"), &json!("24.99"))
    );
    let returned = r.body["mismatches"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|m| m["kind"] == "returned")
        .expect("one");
    assert_eq!(
        (&returned["detail"], &returned["report_id"]),
        (&json!("AC04"), &b["report_id"])
    );
    assert_eq!(r.body["ignored"], 1);
    let report = |i: &Value| {
        format!(
            "/api/v1/reports/{}",
            i["report_id"].as_str().expect("an id")
        )
    };
    let paid = app.get("employee", &report(a)).await.body;
    assert_eq!(
        (&paid["state"], &paid["payment"]["reference"]),
        (&json!("paid"), &json!("BANK-0"))
    );
    assert_eq!(
        app.get("employee", &report(b)).await.body["state"],
        "approved"
    );

    // The same statement again pays nothing twice.
    let again = import(&app, "payer", &statement, "text/xml; charset=utf-8").await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    assert_eq!(again.body["matched"], json!([]));
    assert!(kinds(&again.body["mismatches"]).contains(&"already_paid".to_owned()));
    assert_eq!(
        app.get("employee", &report(a)).await.body["payment"]["reference"],
        "BANK-0"
    );

    // B paid in full, listed twice by the bank, is paid once and settles the batch.
    let rest = import(
        &app,
        "payer",
        &camt(&[
            (&e2e(b), "25.00", "DBIT", None),
            (&e2e(b), "25.00", "DBIT", None),
        ]),
        "application/xml",
    )
    .await;
    assert_eq!(kinds(&rest.body["matched"]), ["matched"]);
    assert_eq!(kinds(&rest.body["mismatches"]), ["already_paid"]);
    let batch = rest.body["matched"][0]["batch_id"]
        .as_str()
        .expect("a batch")
        .to_owned();
    assert_eq!(
        app.get("payer", &format!("/api/v1/payment-batches/{batch}"))
            .await
            .body["state"],
        "paid"
    );
}

#[tokio::test]
async fn only_whoever_may_pay_imports_and_only_a_camt_document_is_read() {
    let app = spawn_app().await;
    let items = exported(&app, &["33.00"]).await;
    let e2e = items[0]["end_to_end"]
        .as_str()
        .expect("a reference")
        .to_owned();
    let statement = camt(&[(&e2e, "33.00", "DBIT", None)]);
    for who in ["employee", "manager", "admin"] {
        assert_eq!(
            import(&app, who, &statement, "application/xml")
                .await
                .status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
    assert_eq!(
        import(&app, "payer", &statement, "application/json")
            .await
            .status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let pain = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"/>"#;
    assert_eq!(
        import(&app, "payer", pain, "application/xml").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        import(&app, "payer", "<a", "application/xml").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // An entity that would read a file is not resolved.
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&x;</Document>"#;
    assert_eq!(
        import(&app, "payer", xxe, "application/xml").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Fay approved the report: her import does not pay it, and says why.
    let r = import(&app, "finance", &statement, "application/xml").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["matched"], json!([]));
    let refused = &r.body["mismatches"][0];
    assert_eq!(refused["kind"], "matched");
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("segregation of duties")),
        "{refused}"
    );
    let report = format!(
        "/api/v1/reports/{}",
        items[0]["report_id"].as_str().expect("an id")
    );
    assert_eq!(app.get("employee", &report).await.body["state"], "approved");
}

//! Receipts: each file type, magic-byte and size checks, the two-step upload, and who may
//! download them.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, days_ago, jpeg, pdf, png, spawn_app};

/// A new expense without a receipt.
pub(crate) async fn bare_expense(app: &TestApp, who: &str, amount: &str) -> String {
    let r = app
        .post(who, "/api/v1/expenses", json!({"date": days_ago(1), "merchant": "Hotel", "category": "travel", "amount": amount, "currency": "USD"}))
        .await;
    r.body["id"].as_str().expect("an id").to_owned()
}

pub(crate) async fn download(
    app: &TestApp,
    who: &str,
    receipt: &str,
) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    let token = app.token(who).await;
    let req = Request::builder()
        .uri(format!("/api/v1/receipts/{receipt}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("a request");
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let r = app
        .built
        .router
        .clone()
        .oneshot(req)
        .await
        .expect("answers");
    let status = r.status();
    let headers = r.headers().clone();
    if status.is_redirection() {
        // S3: a short-lived presigned GET, answered only after the same authorisation.
        let location = headers["location"].to_str().expect("a URL").to_owned();
        let got = reqwest::get(&location)
            .await
            .expect("the presigned URL answers");
        let status = StatusCode::from_u16(got.status().as_u16()).expect("a status");
        let mut h = axum::http::HeaderMap::new();
        for (k, v) in got.headers() {
            if let (Ok(k), Ok(v)) = (
                axum::http::HeaderName::from_bytes(k.as_str().as_bytes()),
                axum::http::HeaderValue::from_bytes(v.as_bytes()),
            ) {
                h.insert(k, v);
            }
        }
        return (status, got.bytes().await.expect("bytes").to_vec(), h);
    }
    let bytes = r
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes()
        .to_vec();
    (status, bytes, headers)
}

/// PUTs a two-step upload wherever its URL points: Outlay itself, or S3.
pub(crate) async fn put_upload(
    app: &TestApp,
    url: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> StatusCode {
    if let Some(i) = url.find("/api/v1/receipt-uploads/") {
        let req = Request::builder()
            .method(Method::PUT)
            .uri(&url[i..])
            .header("content-type", content_type)
            .body(Body::from(bytes))
            .expect("a request");
        app.send(req).await.status
    } else {
        let r = reqwest::Client::new()
            .put(url)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .expect("the upload URL answers");
        StatusCode::from_u16(r.status().as_u16()).expect("a status")
    }
}

#[tokio::test]
async fn the_two_step_upload_completes_on_either_backend() {
    let app = spawn_app().await;
    let e = bare_expense(&app, "employee", "80.00").await;
    let file = pdf();
    let start = app
        .post(
            "employee",
            &format!("/api/v1/expenses/{e}/receipt-uploads"),
            json!({"filename": "bill.pdf", "content_type": "application/pdf", "size": file.len()}),
        )
        .await;
    assert_eq!(start.status, StatusCode::CREATED, "{:?}", start.body);
    let receipt = start.body["receipt_id"].as_str().expect("an id").to_owned();
    assert!(
        put_upload(
            &app,
            start.body["upload_url"].as_str().expect("a URL"),
            "application/pdf",
            file.clone()
        )
        .await
        .is_success()
    );
    let done = app
        .post(
            "employee",
            &format!("/api/v1/receipts/{receipt}/complete"),
            json!({}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    let (status, got, headers) = download(&app, "employee", &receipt).await;
    assert_eq!((status, got), (StatusCode::OK, file));
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap_or("")
            .starts_with("attachment")
    );
    let others = download(&app, "manager", &receipt).await;
    assert_eq!(others.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn each_file_type_uploads_and_downloads_intact_as_an_attachment() {
    let app = spawn_app().await;
    let e = bare_expense(&app, "employee", "80.00").await;
    for (kind, bytes) in [
        ("image/png", png()),
        ("image/jpeg", jpeg()),
        ("application/pdf", pdf()),
    ] {
        let up = app.upload("employee", &e, kind, bytes.clone()).await;
        assert_eq!(up.status, StatusCode::CREATED, "{kind}: {:?}", up.body);
        assert_eq!(up.body["content_type"], kind);
        assert_eq!(up.body["size"], bytes.len());
        let sha = up.body["sha256"].as_str().expect("a hash");
        assert_eq!(sha.len(), 64);
        let (status, got, headers) =
            download(&app, "employee", up.body["id"].as_str().expect("id")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(got, bytes, "the file comes back byte for byte");
        assert_eq!(headers["content-type"], kind);
        assert!(
            headers["content-disposition"]
                .to_str()
                .unwrap_or("")
                .starts_with("attachment; filename=\"receipt.")
        );
        // S3 answers presigned downloads with its own headers; Outlay adds nosniff to its own.
        if !crate::helpers::on_aws() {
            assert_eq!(headers["x-content-type-options"], "nosniff");
        }
    }
    let expense = app.get("employee", &format!("/api/v1/expenses/{e}")).await;
    assert_eq!(expense.body["receipts"].as_array().map(Vec::len), Some(3));
    assert!(
        expense.body["violations"]
            .as_array()
            .expect("violations")
            .is_empty(),
        "the receipt rule is met"
    );
}

#[tokio::test]
async fn files_that_are_not_what_they_claim_or_too_big_are_refused() {
    let app = spawn_app().await;
    let e = bare_expense(&app, "employee", "80.00").await;
    let script = b"#!/bin/sh\nrm -rf /\n".to_vec();
    let r = app.upload("employee", &e, "image/png", script).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a script named .png: {:?}",
        r.body
    );
    let r = app.upload("employee", &e, "image/png", pdf()).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a PDF declared as PNG"
    );
    let r = app
        .upload("employee", &e, "image/gif", b"GIF89a....".to_vec())
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut big = png();
    big.resize(11 * 1024 * 1024, 0);
    let r = app.upload("employee", &e, "image/png", big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", r.body);
    let r = app.upload("employee", &e, "image/png", vec![]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let expense = app.get("employee", &format!("/api/v1/expenses/{e}")).await;
    assert_eq!(expense.body["receipts"], json!([]), "nothing was stored");
    assert_eq!(expense.body["violations"][0]["rule"], "receipt_required");
}

#[tokio::test]
async fn the_two_step_upload_works_and_its_url_cannot_be_tampered_with_or_reused_late() {
    crate::sqlite_only!("it forges upload URLs with the key file of the data directory");
    let app = spawn_app().await;
    let e = bare_expense(&app, "employee", "80.00").await;
    let file = pdf();
    let start = app
        .post("employee", &format!("/api/v1/expenses/{e}/receipt-uploads"), json!({"filename": "../hotel bill.pdf", "content_type": "application/pdf", "size": file.len()}))
        .await;
    assert_eq!(start.status, StatusCode::CREATED, "{:?}", start.body);
    let url = start.body["upload_url"].as_str().expect("a URL").to_owned();
    let receipt = start.body["receipt_id"].as_str().expect("an id").to_owned();
    assert!(url.starts_with("http://"), "an absolute URL: {url}");
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
        .expect("a path");
    let put = |path: String, kind: &'static str, body: Vec<u8>| {
        let app = &app;
        async move {
            let req = Request::builder()
                .method(Method::PUT)
                .uri(path)
                .header("content-type", kind)
                .body(Body::from(body))
                .expect("a request");
            app.send(req).await.status
        }
    };
    // Completing before the upload is a conflict.
    let early = app
        .post(
            "employee",
            &format!("/api/v1/receipts/{receipt}/complete"),
            json!({}),
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    // Tampered: another size, another type, another signature, another receipt.
    let mut longer = file.clone();
    longer.push(b'\n');
    assert_eq!(
        put(path.clone(), "application/pdf", longer).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(path.clone(), "image/png", file.clone()).await,
        StatusCode::FORBIDDEN
    );
    let last = if path.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &path[..path.len() - 1]);
    assert_eq!(
        put(forged, "application/pdf", file.clone()).await,
        StatusCode::FORBIDDEN
    );
    let moved = path.replace("expires=", "expires=9");
    assert_eq!(
        put(moved, "application/pdf", file.clone()).await,
        StatusCode::FORBIDDEN,
        "a later expiry breaks the signature"
    );
    // Correctly signed but expired.
    let past = chrono::Utc::now().timestamp() - 60;
    let key = std::fs::read(app.dir.path().join("upload-key")).expect("the upload key");
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&key).expect("a key");
    hmac::Mac::update(
        &mut mac,
        format!("{receipt}\n{}\napplication/pdf\n{past}", file.len()).as_bytes(),
    );
    let sig = hex::encode(hmac::Mac::finalize(mac).into_bytes());
    let expired = format!("/api/v1/receipt-uploads/{receipt}?expires={past}&signature={sig}");
    assert_eq!(
        put(expired, "application/pdf", file.clone()).await,
        StatusCode::FORBIDDEN,
        "an expired URL"
    );
    // The real one.
    assert_eq!(
        put(path.clone(), "application/pdf", file.clone()).await,
        StatusCode::NO_CONTENT
    );
    let done = app
        .post(
            "employee",
            &format!("/api/v1/receipts/{receipt}/complete"),
            json!({}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["state"], "stored");
    assert_eq!(done.body["filename"], "hotel_bill.pdf");
    let (status, got, _) = download(&app, "employee", &receipt).await;
    assert_eq!((status, got), (StatusCode::OK, file.clone()));
    // The URL is spent.
    assert_eq!(
        put(path, "application/pdf", file).await,
        StatusCode::CONFLICT
    );
    // Declaring something unsupported or too big is refused up front.
    let gif = app
        .post(
            "employee",
            &format!("/api/v1/expenses/{e}/receipt-uploads"),
            json!({"content_type": "image/gif", "size": 10}),
        )
        .await;
    assert_eq!(gif.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = app
        .post(
            "employee",
            &format!("/api/v1/expenses/{e}/receipt-uploads"),
            json!({"content_type": "image/png", "size": 11 * 1024 * 1024}),
        )
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_two_step_upload_whose_content_is_not_the_declared_type_is_refused_at_completion() {
    let app = spawn_app().await;
    let e = bare_expense(&app, "employee", "80.00").await;
    let fake = b"<script>alert(1)</script>".to_vec();
    let start = app
        .post(
            "employee",
            &format!("/api/v1/expenses/{e}/receipt-uploads"),
            json!({"content_type": "image/png", "size": fake.len()}),
        )
        .await;
    let url = start.body["upload_url"].as_str().expect("a URL");
    assert!(put_upload(&app, url, "image/png", fake).await.is_success());
    let receipt = start.body["receipt_id"].as_str().expect("an id");
    let done = app
        .post(
            "employee",
            &format!("/api/v1/receipts/{receipt}/complete"),
            json!({}),
        )
        .await;
    assert_eq!(done.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn receipts_are_seen_only_by_those_who_may_see_the_report_and_frozen_once_submitted() {
    let app = spawn_app().await;
    app.outsider().await;
    let e = bare_expense(&app, "employee", "80.00").await;
    let up = app.upload("employee", &e, "image/png", png()).await;
    let receipt = up.body["id"].as_str().expect("an id").to_owned();
    // Before submission: the owner only.
    for who in [
        "manager",
        "senior",
        "finance",
        "payer",
        "admin",
        "outsider@example.com",
    ] {
        assert_eq!(
            download(&app, who, &receipt).await.0,
            StatusCode::NOT_FOUND,
            "{who} before submission"
        );
        let start = app
            .post(
                who,
                &format!("/api/v1/expenses/{e}/receipt-uploads"),
                json!({"content_type": "image/png", "size": 10}),
            )
            .await;
        assert_eq!(
            start.status,
            StatusCode::NOT_FOUND,
            "{who} cannot add to another's expense"
        );
        assert_eq!(
            app.upload(who, &e, "image/png", png()).await.status,
            StatusCode::NOT_FOUND
        );
        let del = app
            .call(
                Method::DELETE,
                &format!("/api/v1/receipts/{receipt}"),
                Some(who),
                None,
                &[],
            )
            .await;
        assert_eq!(del.status, StatusCode::NOT_FOUND);
    }
    let r = app
        .post(
            "employee",
            "/api/v1/reports",
            json!({"title": "Trip", "expense_ids": [e]}),
        )
        .await;
    let report = r.body["id"].as_str().expect("an id").to_owned();
    app.must("employee", &report, "submit", json!({})).await;
    // Submitted: the approvers and finance see it; the admin and the outsider do not.
    for who in ["employee", "manager", "senior", "finance", "payer"] {
        assert_eq!(
            download(&app, who, &receipt).await.0,
            StatusCode::OK,
            "{who} after submission"
        );
    }
    for who in ["admin", "outsider@example.com"] {
        assert_eq!(
            download(&app, who, &receipt).await.0,
            StatusCode::NOT_FOUND,
            "{who} after submission"
        );
    }
    // And nothing about the receipts can change now.
    assert_eq!(
        app.upload("employee", &e, "image/png", png()).await.status,
        StatusCode::CONFLICT
    );
    let del = app
        .call(
            Method::DELETE,
            &format!("/api/v1/receipts/{receipt}"),
            Some("employee"),
            None,
            &[],
        )
        .await;
    assert_eq!(del.status, StatusCode::CONFLICT);
    let start = app
        .post(
            "employee",
            &format!("/api/v1/expenses/{e}/receipt-uploads"),
            json!({"content_type": "image/png", "size": 10}),
        )
        .await;
    assert_eq!(start.status, StatusCode::CONFLICT);
    // Once withdrawn, the owner may remove it again.
    app.must("employee", &report, "withdraw", json!({})).await;
    let del = app
        .call(
            Method::DELETE,
            &format!("/api/v1/receipts/{receipt}"),
            Some("employee"),
            None,
            &[],
        )
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(
        download(&app, "employee", &receipt).await.0,
        StatusCode::NOT_FOUND
    );
}

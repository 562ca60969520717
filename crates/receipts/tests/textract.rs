//! The Textract reader against recorded `AnalyzeExpense` answers, served on loopback in the
//! shape the service sends (AWS JSON 1.1), through the real SDK client.
#![cfg(feature = "textract")]

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::Engine;
use outlay_app::ports::ReceiptReader;
use outlay_domain::ReceiptType;
use outlay_domain::reading::Reader;
use outlay_receipts::textract::TextractReader;

const RECORDED: &str = include_str!("fixtures/analyze-expense.json");

type Seen = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

/// A Textract endpoint on loopback that answers `status` and `body` to every call, and keeps
/// what it was sent.
async fn endpoint(status: StatusCode, body: &'static str) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let kept = seen.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |headers: HeaderMap, request: String| {
            let kept = kept.clone();
            async move {
                let target = headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let json = serde_json::from_str(&request).unwrap_or_default();
                kept.lock().expect("not poisoned").push((target, json));
                (
                    status,
                    [("content-type", "application/x-amz-json-1.1")],
                    body,
                )
                    .into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port on loopback");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn reader(url: &str) -> TextractReader {
    use aws_sdk_textract::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_textract::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-central-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(url)
        .build();
    TextractReader::new(aws_sdk_textract::Client::from_conf(config))
}

#[tokio::test]
async fn a_recorded_answer_becomes_outlays_fields() {
    let (url, seen) = endpoint(StatusCode::OK, RECORDED).await;
    let photo = b"\xff\xd8\xff\xe0 a receipt".to_vec();
    let read = reader(&url)
        .read(ReceiptType::Jpeg, &photo)
        .await
        .expect("Textract answered")
        .expect("it reads photos");
    // The call: AnalyzeExpense with the receipt's bytes.
    let calls = seen.lock().expect("not poisoned").clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, "Textract.AnalyzeExpense");
    let sent = calls[0].1["Document"]["Bytes"].as_str().expect("the bytes");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(sent)
            .expect("base64"),
        photo
    );
    // The answer: the vendor, a US date, the total (not the subtotal) with its currency, the tax.
    assert_eq!(read.reader, Reader::Textract);
    let f = read.fields;
    let merchant = f.merchant.expect("the vendor");
    assert_eq!(merchant.value, "Joe's Diner");
    assert!((merchant.confidence - 0.975).abs() < 1e-6);
    let total = f.total.expect("the total");
    assert_eq!(total.value.to_string(), "23.30");
    assert_eq!(total.source, "TOTAL $23.30");
    assert!((total.confidence - 0.9875).abs() < 1e-6);
    assert_eq!(f.currency.map(|c| c.value.code()), Some("USD"));
    assert_eq!(
        f.date.map(|d| d.value.to_string()).as_deref(),
        Some("2026-12-05")
    );
    assert_eq!(f.tax.map(|t| t.value.to_string()).as_deref(), Some("1.55"));
}

#[tokio::test]
async fn a_document_textract_refuses_is_not_read_and_an_outage_is_retried() {
    let refused = r#"{"__type":"UnsupportedDocumentException","Message":"The document has more than one page"}"#;
    let (url, _) = endpoint(StatusCode::BAD_REQUEST, refused).await;
    let read = reader(&url).read(ReceiptType::Pdf, b"%PDF-1.7").await;
    assert!(matches!(read, Ok(None)), "{read:?}");
    let throttled = r#"{"__type":"ProvisionedThroughputExceededException","Message":"slow down"}"#;
    let (url, _) = endpoint(StatusCode::BAD_REQUEST, throttled).await;
    let read = reader(&url).read(ReceiptType::Pdf, b"%PDF-1.7").await;
    assert!(read.is_err(), "{read:?}");
}

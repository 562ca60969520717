//! Amazon Textract's `AnalyzeExpense`, on AWS: the receipt's bytes in (synchronous, so one
//! page and at most 10 MB, which every receipt Outlay keeps is), its summary fields out. The
//! values are text as printed, read with the same rules as OCR text; the confidences are
//! Textract's, the least of the field's type and value.

use async_trait::async_trait;
use aws_sdk_textract::operation::analyze_expense::AnalyzeExpenseError;
use aws_sdk_textract::primitives::Blob;
use aws_sdk_textract::types::{Document, ExpenseField};
use outlay_app::ports::{Read, ReceiptReader};
use outlay_domain::reading::{Field, ReadFields, Reader};
use outlay_domain::{Currency, ReceiptType};

use crate::text;

/// Reads receipts with Textract.
#[derive(Debug, Clone)]
pub struct TextractReader {
    client: aws_sdk_textract::Client,
}

impl TextractReader {
    /// A reader through this client.
    pub fn new(client: aws_sdk_textract::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl ReceiptReader for TextractReader {
    async fn read(&self, _kind: ReceiptType, bytes: &[u8]) -> anyhow::Result<Option<Read>> {
        let out = self
            .client
            .analyze_expense()
            .document(Document::builder().bytes(Blob::new(bytes)).build())
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let service = e.as_service_error();
                // A document Textract will never read (several pages, damaged, too large) is
                // not read; anything else (throttling, an outage) is tried again later.
                if service.is_some_and(|s| {
                    matches!(
                        s,
                        AnalyzeExpenseError::UnsupportedDocumentException(_)
                            | AnalyzeExpenseError::BadDocumentException(_)
                            | AnalyzeExpenseError::DocumentTooLargeException(_)
                    )
                }) {
                    tracing::info!(error = %aws_sdk_textract::error::DisplayErrorContext(&e), "Textract does not read this receipt");
                    return Ok(None);
                }
                return Err(anyhow::Error::new(e).context("Textract AnalyzeExpense failed"));
            }
        };
        let fields: Vec<&ExpenseField> = out
            .expense_documents()
            .iter()
            .flat_map(|d| d.summary_fields())
            .collect();
        Ok(Some(Read {
            reader: Reader::Textract,
            fields: summary(&fields),
        }))
    }
}

fn kind(f: &ExpenseField) -> &str {
    f.r#type().and_then(|t| t.text()).unwrap_or("")
}

fn value(f: &ExpenseField) -> &str {
    f.value_detection().and_then(|v| v.text()).unwrap_or("")
}

/// The least of the field's confidences, 0–1.
fn confidence(f: &ExpenseField) -> f64 {
    let kind = f.r#type().and_then(|t| t.confidence()).unwrap_or(100.0);
    let value = f
        .value_detection()
        .and_then(|v| v.confidence())
        .unwrap_or(0.0);
    f64::from(kind.min(value)) / 100.0
}

fn source(f: &ExpenseField) -> String {
    let label = f.label_detection().and_then(|l| l.text()).unwrap_or("");
    format!("{label} {}", value(f)).trim().to_owned()
}

fn first<'a>(fields: &[&'a ExpenseField], kinds: &[&str]) -> Option<&'a ExpenseField> {
    kinds
        .iter()
        .find_map(|k| {
            fields
                .iter()
                .find(|f| kind(f) == *k && !value(f).is_empty())
        })
        .copied()
}

/// Outlay's fields from Textract's summary fields.
pub fn summary(fields: &[&ExpenseField]) -> ReadFields {
    let vendor = first(fields, &["VENDOR_NAME"]).or_else(|| {
        fields.iter().copied().find(|f| {
            kind(f) == "NAME"
                && f.group_properties()
                    .iter()
                    .any(|g| g.types().iter().any(|t| t == "VENDOR"))
        })
    });
    let total = first(fields, &["TOTAL", "AMOUNT_DUE", "AMOUNT_PAID"]);
    let currency = total
        .and_then(|f| f.currency())
        .and_then(|c| {
            let code = Currency::parse(c.code()?).ok()?;
            Some((code, f64::from(c.confidence().unwrap_or(0.0)) / 100.0))
        })
        .map(|(code, conf)| Field::new(code, conf, total.map(source).as_deref().unwrap_or("")));
    let us = currency.as_ref().is_some_and(|c| c.value.code() == "USD");
    let amount = |f: &ExpenseField| {
        text::amounts(value(f))
            .last()
            .map(|a| Field::new(*a, confidence(f), &source(f)))
    };
    ReadFields {
        merchant: vendor.map(|f| Field::new(value(f).trim().to_owned(), confidence(f), &source(f))),
        date: first(fields, &["INVOICE_RECEIPT_DATE"]).and_then(|f| {
            text::dates(value(f), us)
                .first()
                .map(|d| Field::new(*d, confidence(f), &source(f)))
        }),
        total: total.and_then(amount),
        currency,
        tax: first(fields, &["TAX"]).and_then(amount),
    }
}

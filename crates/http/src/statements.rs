//! `POST /api/v1/bank-statements`: a camt.053 statement or camt.054 notification, as XML,
//! reconciled against the exported payment batches.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, header};
use outlay_app::{EntryOutcome, StatementImport};
use outlay_domain::Reconciled;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, Result};
use crate::extract::Auth;

/// One statement entry and what it did.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    /// `matched`, `amount_off`, `unknown_reference`, `returned` or `already_paid`.
    pub kind: String,
    /// The end-to-end reference the bank carried back.
    pub end_to_end: Option<String>,
    /// The entry's amount.
    pub amount: String,
    /// Its currency.
    pub currency: String,
    /// The bank's reference for the entry.
    pub bank_reference: String,
    /// The report it concerns, when its reference is known.
    pub report_id: Option<String>,
    /// The batch it paid.
    pub batch_id: Option<String>,
    /// What the batch paid, when the amount is off.
    pub expected: Option<String>,
    /// Why: the bank's return reason, or why a match could not be recorded.
    pub detail: Option<String>,
}

impl From<EntryOutcome> for EntryView {
    fn from(o: EntryOutcome) -> Self {
        let kind = serde_json::to_value(&o.outcome)
            .ok()
            .and_then(|v| v["kind"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let (report_id, batch_id, expected, reason) = match o.outcome {
            Reconciled::Matched {
                batch_id,
                report_id,
            } => (Some(report_id), Some(batch_id), None, None),
            Reconciled::AmountOff {
                report_id,
                expected,
            } => (Some(report_id), None, Some(expected), None),
            Reconciled::Returned { report_id, reason } => (report_id, None, None, Some(reason)),
            Reconciled::AlreadyPaid { report_id } => (Some(report_id), None, None, None),
            Reconciled::UnknownReference | Reconciled::Ignored => (None, None, None, None),
        };
        Self {
            kind,
            end_to_end: o.entry.end_to_end,
            amount: o.entry.amount.amount_string(),
            currency: o.entry.amount.currency().code().to_owned(),
            bank_reference: o.entry.bank_reference,
            report_id: report_id.map(|r| r.to_string()),
            batch_id: batch_id.map(|b| b.to_string()),
            expected: expected.map(|e| e.amount_string()),
            detail: o.refused.or(reason),
        }
    }
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementImportView {
    /// Entries that marked a report paid.
    pub matched: Vec<EntryView>,
    /// Entries for finance to look at.
    pub mismatches: Vec<EntryView>,
    /// Entries that concern no payment out (money in, pending entries).
    pub ignored: usize,
}

impl From<StatementImport> for StatementImportView {
    fn from(i: StatementImport) -> Self {
        Self {
            matched: i.matched.into_iter().map(Into::into).collect(),
            mismatches: i.mismatches.into_iter().map(Into::into).collect(),
            ignored: i.ignored,
        }
    }
}

/// Imports a bank statement (finance): each booked payment whose end-to-end reference and
/// amount are an exported batch's marks that report paid with the bank's reference; amounts
/// off, unknown references, returns and payments already recorded come back as `mismatches`.
/// An import run twice pays nothing twice. The importer must be allowed to pay each report.
#[utoipa::path(post, path = "/bank-statements", tag = "payments", security(("bearer" = [])),
    request_body(content = String, content_type = "application/xml", description = "A camt.053 or camt.054 document, at most 5 MB"),
    responses((status = 200, body = StatementImportView), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "Not a camt.053 or camt.054 document", body = ErrorBody)))]
async fn import(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StatementImportView>> {
    outlay_app::require(&caller, outlay_domain::Role::Finance)?;
    let xml = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| matches!(t.trim(), "application/xml" | "text/xml"));
    if !xml {
        return Err(crate::error::ApiError::UnsupportedMediaType(
            "send the statement as application/xml".into(),
        ));
    }
    Ok(Json(
        state.app.import_statement(&caller, &body).await?.into(),
    ))
}

/// The statement route, with its own body limit.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import))
        .layer(DefaultBodyLimit::max(outlay_app::MAX_STATEMENT_BYTES + 1))
}

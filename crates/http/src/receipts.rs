//! Receipts: direct upload, the two-step upload, download and removal.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use outlay_domain::{ExpenseId, MAX_RECEIPT_BYTES, ReceiptId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::{ApiQuery, Auth, JsonBody, path_id};
use crate::views::{ExpenseView, ReceiptView};

/// A two-step upload request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// The file's name (only a sanitised form is kept).
    pub filename: Option<String>,
    /// `image/jpeg`, `image/png` or `application/pdf`.
    #[schema(schema_with = crate::apidoc::receipt_type)]
    pub content_type: String,
    /// Exact size in bytes, at most 10 MB.
    #[schema(minimum = 1, maximum = 10_485_760)]
    #[serde(deserialize_with = "crate::extract::whole_number")]
    pub size: u64,
}

/// Where to PUT the file.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadResponse {
    /// The pending receipt; complete it with `POST /api/v1/receipts/{id}/complete`.
    pub receipt_id: String,
    /// PUT the bytes here, with the declared `Content-Type` and no credentials.
    pub upload_url: String,
    /// When the URL stops working.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The signature of an upload URL.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadSignature {
    /// Unix time after which the URL is refused.
    pub expires: i64,
    /// HMAC-SHA256 of the receipt id, size, content type and expiry.
    pub signature: String,
}

/// Reads a raw body up to the route's limit, answering 413 beyond it.
async fn raw_body(req: Request, state: &AppState) -> Result<Bytes> {
    Bytes::from_request(req, state).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "a receipt may be at most {MAX_RECEIPT_BYTES} bytes (10 MB)"
            ))
        } else {
            ApiError::BadRequest(r.body_text())
        }
    })
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The file name in `Content-Disposition: attachment; filename="..."`, if any.
fn filename(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_DISPOSITION)?.to_str().ok()?;
    let (_, name) = value.split_once("filename=")?;
    Some(
        name.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"')
            .to_owned(),
    )
}

/// Attaches a receipt sent as the raw body (`Content-Type` of the file); honours
/// `Idempotency-Key`.
#[utoipa::path(post, path = "/expenses/{id}/receipts", tag = "receipts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Expense id"),
        ("Content-Disposition" = Option<String>, Header, description = "attachment; filename=\"hotel.pdf\"")),
    request_body(content = Vec<u8>, content_type = "application/pdf", description = "The file: JPEG, PNG or PDF, at most 10 MB"),
    responses((status = 201, body = ReceiptView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn attach(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    req: Request,
) -> Result<(StatusCode, Json<ReceiptView>)> {
    let expense = path_id(&id, "expense", ExpenseId::parse)?;
    let headers = req.headers().clone();
    let path = req.uri().path().to_owned();
    let bytes = raw_body(req, &state).await?;
    let idem = upload_idempotency(&headers, &path, &bytes)?;
    let receipt = state
        .app
        .attach_receipt(
            &caller,
            expense,
            &content_type(&headers),
            filename(&headers).as_deref(),
            bytes.to_vec(),
            idem.as_ref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(receipt.into())))
}

/// Starts a two-step upload: answers a short-lived URL to PUT the file to.
#[utoipa::path(post, path = "/expenses/{id}/receipt-uploads", tag = "receipts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Expense id")), request_body = UploadRequest,
    responses((status = 201, body = UploadResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn start_upload(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody<UploadRequest>,
) -> Result<(StatusCode, Json<UploadResponse>)> {
    let expense = path_id(&id, "expense", ExpenseId::parse)?;
    let r = body.value;
    let ticket = state
        .app
        .start_upload(
            &caller,
            expense,
            r.filename.as_deref(),
            &r.content_type,
            r.size,
        )
        .await?;
    let upload_url = match (ticket.upload_url, ticket.upload_path) {
        (Some(url), _) => url,
        (None, Some(path)) => format!("{}{path}", state.public_url(&headers)),
        (None, None) => {
            return Err(outlay_app::AppError::Internal(anyhow::anyhow!("no upload URL")).into());
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(UploadResponse {
            receipt_id: ticket.receipt.id.to_string(),
            upload_url,
            expires_at: ticket.expires_at,
        }),
    ))
}

/// Receives the bytes of a two-step upload; the signed URL is the credential.
#[utoipa::path(put, path = "/receipt-uploads/{id}", tag = "receipts",
    params(("id" = String, Path, description = "Receipt id"), UploadSignature),
    request_body(content = Vec<u8>, content_type = "application/pdf", description = "Exactly the declared bytes and type"),
    responses((status = 204, description = "Received; now complete it"), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn receive_upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(sig): ApiQuery<UploadSignature>,
    req: Request,
) -> Result<StatusCode> {
    let id = ReceiptId::parse(&id).map_err(|_| {
        outlay_app::AppError::Forbidden("the upload URL is invalid or has expired".into())
    })?;
    let kind = content_type(req.headers());
    // The signature names the exact size: checked against Content-Length before a byte of the
    // body is read, so that an unsigned request costs nothing.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .or_else(|| axum::body::HttpBody::size_hint(req.body()).exact())
        .ok_or_else(|| {
            outlay_app::AppError::Forbidden(
                "the upload URL is invalid or has expired (send Content-Length)".into(),
            )
        })?;
    state
        .app
        .authorize_upload(id, sig.expires, &sig.signature, &kind, declared)
        .await?;
    let bytes = raw_body(req, &state).await?;
    state
        .app
        .accept_upload(id, sig.expires, &sig.signature, &kind, bytes.to_vec())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Completes a two-step upload: checks size, type and hash, then attaches the receipt.
#[utoipa::path(post, path = "/receipts/{id}/complete", tag = "receipts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Receipt id")),
    responses((status = 200, body = ReceiptView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn complete(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ReceiptView>> {
    let id = path_id(&id, "receipt", ReceiptId::parse)?;
    Ok(Json(state.app.complete_upload(&caller, id).await?.into()))
}

/// Downloads a receipt, as an attachment, if the caller may see its report.
#[utoipa::path(get, path = "/receipts/{id}", tag = "receipts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Receipt id")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 404, body = ErrorBody)))]
async fn download(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = path_id(&id, "receipt", ReceiptId::parse)?;
    let file = state.app.receipt_file(&caller, id).await?;
    if let Some(url) = file.url {
        // S3: a 60-second presigned GET that answers the file as an attachment.
        return Ok(axum::response::Redirect::to(&url).into_response());
    }
    let disposition = format!("attachment; filename=\"{}\"", file.receipt.filename);
    let mut response = file.bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.receipt.content_type.mime()),
    );
    // The file name was reduced to [A-Za-z0-9._-], so it is always a valid header value.
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition)
            .map_err(|e| outlay_app::AppError::Internal(e.into()))?,
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// Removes a receipt from an expense that is not in a submitted report.
#[utoipa::path(delete, path = "/receipts/{id}", tag = "receipts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Receipt id")),
    responses((status = 204, description = "Removed"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = path_id(&id, "receipt", ReceiptId::parse)?;
    state.app.delete_receipt(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The idempotency of a raw-body upload: its fingerprint covers the file's type and bytes, so
/// the same key with another file is a different request (422), not a replay.
fn upload_idempotency(
    headers: &HeaderMap,
    path: &str,
    bytes: &[u8],
) -> Result<Option<outlay_app::Idempotency>> {
    match headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        Some(k) => {
            let body = [content_type(headers).as_bytes(), b"\n", bytes].concat();
            Ok(Some(outlay_app::Idempotency::parse(
                k, "POST", path, &body,
            )?))
        }
        None => Ok(None),
    }
}

/// A draft expense made from a receipt, and the receipt, whose reading to look at.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptDraftView {
    /// The new draft expense, holding the receipt.
    pub expense: ExpenseView,
    /// The receipt: its reading is at `/api/v1/receipts/{id}/reading`.
    pub receipt: ReceiptView,
}

/// A new draft expense holding this receipt, sent as the raw body (`Content-Type` of the
/// file). The receipt is read in the background: poll `GET /api/v1/receipts/{id}/reading`,
/// then accept what was read. Answers the expense, and the receipt apart. Honours
/// `Idempotency-Key`.
#[utoipa::path(post, path = "/receipts", tag = "receipts", security(("bearer" = [])),
    params(("Content-Disposition" = Option<String>, Header, description = "attachment; filename=\"taxi.jpg\"")),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "The file: JPEG, PNG or PDF, at most 10 MB"),
    responses((status = 201, body = ReceiptDraftView), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn receipt_expense(
    State(state): State<AppState>,
    Auth(caller): Auth,
    req: Request,
) -> Result<(StatusCode, Json<ReceiptDraftView>)> {
    let headers = req.headers().clone();
    let path = req.uri().path().to_owned();
    let bytes = raw_body(req, &state).await?;
    let idem = upload_idempotency(&headers, &path, &bytes)?;
    let info = state
        .app
        .expense_from_receipt(
            &caller,
            &content_type(&headers),
            filename(&headers).as_deref(),
            bytes.to_vec(),
            idem.as_ref(),
        )
        .await?;
    let receipt = info.receipts.first().cloned().ok_or_else(|| {
        outlay_app::AppError::Internal(anyhow::anyhow!("a draft without its receipt"))
    })?;
    Ok((
        StatusCode::CREATED,
        Json(ReceiptDraftView {
            expense: info.into(),
            receipt: receipt.into(),
        }),
    ))
}

/// A value read off a receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadFieldView {
    /// The value: text, an ISO date, an exact decimal or a currency code.
    pub value: String,
    /// How sure the reader is, 0 to 1.
    pub confidence: f64,
    /// The text it came from.
    pub source: String,
}

/// What was read, by field; a field not found is absent.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ReadFieldsView {
    /// Who was paid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant: Option<ReadFieldView>,
    /// The receipt's day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<ReadFieldView>,
    /// What was paid in all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<ReadFieldView>,
    /// The total's currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<ReadFieldView>,
    /// The tax in the total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax: Option<ReadFieldView>,
}

/// Something to look at, with what shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagView {
    /// `duplicate_file`, `total_differs` or `date_far`.
    pub kind: String,
    /// The evidence, for people.
    pub evidence: String,
}

/// A receipt's reading.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadingView {
    /// The receipt.
    pub receipt_id: String,
    /// Its expense.
    pub expense_id: String,
    /// `pending`, `done` or `failed`.
    pub state: String,
    /// `einvoice`, `tesseract` or `textract`, once read.
    pub reader: Option<String>,
    /// What was read.
    pub fields: ReadFieldsView,
    /// The fields accepted into the expense as read.
    pub accepted: Vec<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Where the receipt and the expense disagree.
    pub flags: Vec<FlagView>,
    /// When it was read.
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn field<T>(
    f: &Option<outlay_domain::reading::Field<T>>,
    show: impl Fn(&T) -> String,
) -> Option<ReadFieldView> {
    f.as_ref().map(|f| ReadFieldView {
        value: show(&f.value),
        confidence: (f.confidence * 1000.0).round() / 1000.0,
        source: f.source.clone(),
    })
}

impl From<outlay_app::ReadingInfo> for ReadingView {
    fn from(info: outlay_app::ReadingInfo) -> Self {
        let r = info.reading;
        let f = &r.fields;
        Self {
            receipt_id: r.receipt_id.to_string(),
            expense_id: r.expense_id.to_string(),
            state: crate::views::serde_plain(&r.state),
            reader: r.reader.map(|x| crate::views::serde_plain(&x)),
            fields: ReadFieldsView {
                merchant: field(&f.merchant, Clone::clone),
                date: field(&f.date, ToString::to_string),
                total: field(&f.total, |d| d.normalize().to_string()),
                currency: field(&f.currency, |c| c.code().to_owned()),
                tax: field(&f.tax, |d| d.normalize().to_string()),
            },
            accepted: r.accepted.iter().map(|a| a.as_str().to_owned()).collect(),
            error: r.error,
            flags: info
                .flags
                .into_iter()
                .map(|fl| FlagView {
                    kind: crate::views::serde_plain(&fl.kind),
                    evidence: fl.evidence,
                })
                .collect(),
            read_at: r.read_at,
        }
    }
}

/// A receipt's reading: what was read, with confidences and sources, and the flags against
/// its expense. For whoever may see the receipt.
#[utoipa::path(get, path = "/receipts/{id}/reading", tag = "receipts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Receipt id")),
    responses((status = 200, body = ReadingView), (status = 404, body = ErrorBody)))]
async fn reading(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ReadingView>> {
    let id = path_id(&id, "receipt", ReceiptId::parse)?;
    Ok(Json(state.app.reading(&caller, id).await?.into()))
}

/// A field of a reading.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadField {
    /// The merchant.
    Merchant,
    /// The date.
    Date,
    /// The total, as the amount.
    Total,
    /// The currency.
    Currency,
    /// The tax amount (its rate follows).
    Tax,
}

/// Which read fields to copy into the expense.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptReadingRequest {
    /// The fields; none (or an empty list) accepts every field that was read.
    #[serde(default)]
    pub fields: Vec<ReadField>,
    /// The receipt whose reading to take; by default the newest one that was read.
    pub receipt_id: Option<String>,
}

/// Copies read fields into the caller's expense, confirming a draft; audited as
/// `expense.accept_reading`, and the reading keeps which fields were accepted as read.
#[utoipa::path(post, path = "/expenses/{id}/accept-reading", tag = "receipts", security(("bearer" = [])),
    operation_id = "accept_reading",
    params(("id" = String, Path, description = "Expense id")), request_body = AcceptReadingRequest,
    responses((status = 200, body = ExpenseView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn accept_reading(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    body: JsonBody<AcceptReadingRequest>,
) -> Result<Json<ExpenseView>> {
    use outlay_domain::reading::FieldName;
    let expense = path_id(&id, "expense", ExpenseId::parse)?;
    let body = body.value;
    let receipt = match body.receipt_id.as_deref() {
        Some(r) => Some(ReceiptId::parse(r).map_err(|_| {
            outlay_app::AppError::Unprocessable("receipt_id is not a receipt id".into())
        })?),
        None => None,
    };
    let fields: Vec<FieldName> = body
        .fields
        .iter()
        .map(|f| match f {
            ReadField::Merchant => FieldName::Merchant,
            ReadField::Date => FieldName::Date,
            ReadField::Total => FieldName::Total,
            ReadField::Currency => FieldName::Currency,
            ReadField::Tax => FieldName::Tax,
        })
        .collect();
    let info = state
        .app
        .accept_reading(&caller, expense, &fields, receipt)
        .await?;
    Ok(Json(info.into()))
}

/// The receipt routes. The file routes accept bodies up to 10 MB; everything else keeps the
/// API's small JSON limit.
pub fn router() -> OpenApiRouter<AppState> {
    let limit = usize::try_from(MAX_RECEIPT_BYTES).unwrap_or(usize::MAX);
    let files = OpenApiRouter::new()
        .routes(routes!(receipt_expense))
        .routes(routes!(attach))
        .routes(routes!(receive_upload))
        .layer(DefaultBodyLimit::max(limit));
    OpenApiRouter::new()
        .merge(files)
        .routes(routes!(start_upload))
        .routes(routes!(complete))
        .routes(routes!(download, remove))
        .routes(routes!(reading))
        .routes(routes!(accept_reading))
}

//! Paying: `/me/bank-account` (and finance's `/users/{id}/bank-account`), `/paying-account`,
//! and `/payment-batches` with their bank files.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use outlay_app::{BankInput, PageRequest};
use outlay_domain::{
    AccountNumber, BankAccount, BatchId, FileFormat, PayingAccount, PaymentBatch, ReportId, UserId,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, Result};
use crate::extract::{ApiQuery, Auth, JsonBody, path_id};
use crate::views::PageView;

/// Bank details: `iban` (and `bic`), or `routing_number` and `account_number`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankAccountRequest {
    /// The account holder's name, as the bank knows it (1 to 70 characters).
    #[schema(schema_with = crate::apidoc::text_200)]
    pub holder: String,
    /// An IBAN (ISO 13616); spaces and lower case are fine.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub iban: Option<String>,
    /// The bank's BIC, 8 or 11 characters.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub bic: Option<String>,
    /// A US ABA routing number, 9 digits.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub routing_number: Option<String>,
    /// A US account number, 4 to 17 digits.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub account_number: Option<String>,
}

/// Bank details, as only their owner and finance see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct BankAccountView {
    /// Whose.
    pub user_id: String,
    /// The account holder.
    pub holder: String,
    /// `iban` or `ach`.
    pub scheme: String,
    /// The IBAN.
    pub iban: Option<String>,
    /// The BIC.
    pub bic: Option<String>,
    /// The routing number.
    pub routing_number: Option<String>,
    /// The account number.
    pub account_number: Option<String>,
    /// The account with all but its last four characters hidden.
    pub masked: String,
    /// Bumped on every change.
    pub version: i64,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<BankAccount> for BankAccountView {
    fn from(a: BankAccount) -> Self {
        let masked = a.number.masked();
        let (scheme, iban, bic, routing_number, account_number) = match a.number {
            AccountNumber::Iban { iban, bic } => ("iban", Some(iban), bic, None, None),
            AccountNumber::Ach {
                routing_number,
                account_number,
            } => (
                "ach",
                None,
                None,
                Some(routing_number),
                Some(account_number),
            ),
        };
        Self {
            user_id: a.user_id.to_string(),
            holder: a.holder,
            scheme: scheme.into(),
            iban,
            bic,
            routing_number,
            account_number,
            masked,
            version: a.version,
            updated_at: a.updated_at,
        }
    }
}

/// The caller's bank details.
#[utoipa::path(get, path = "/me/bank-account", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = BankAccountView), (status = 404, description = "None yet", body = ErrorBody)))]
async fn get_mine(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<BankAccountView>> {
    let id = caller.user.id;
    Ok(Json(
        state
            .app
            .bank_account(&caller, id)
            .await?
            .ok_or(outlay_app::AppError::NotFound("bank account"))?
            .into(),
    ))
}

/// Sets the caller's bank details; the change is audited (masked) and told to the caller.
#[utoipa::path(put, path = "/me/bank-account", tag = "payments", security(("bearer" = [])),
    request_body = BankAccountRequest,
    responses((status = 200, body = BankAccountView), (status = 400, body = ErrorBody),
        (status = 422, description = "An IBAN, BIC or routing number whose check fails", body = ErrorBody)))]
async fn put_mine(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<BankAccountRequest>,
) -> Result<Json<BankAccountView>> {
    let r = body.value;
    let input = BankInput {
        holder: r.holder,
        iban: r.iban,
        bic: r.bic,
        routing_number: r.routing_number,
        account_number: r.account_number,
    };
    Ok(Json(
        state.app.put_bank_account(&caller, &input).await?.into(),
    ))
}

/// A user's bank details: the user's own, or anyone's for finance.
#[utoipa::path(get, path = "/users/{id}/bank-account", tag = "payments", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = BankAccountView), (status = 404, body = ErrorBody)))]
async fn get_of_user(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<BankAccountView>> {
    let id = path_id(&id, "user", UserId::parse)?;
    Ok(Json(
        state
            .app
            .bank_account(&caller, id)
            .await?
            .ok_or(outlay_app::AppError::NotFound("bank account"))?
            .into(),
    ))
}

/// The company's paying account (finance): its name, and for SEPA its `iban` and `bic`, for
/// NACHA its `ach_bank_routing`, `ach_bank_name` and `ach_company_id`.
#[utoipa::path(get, path = "/paying-account", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_paying(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<PayingAccount>> {
    Ok(Json(
        state
            .app
            .paying_account(&caller)
            .await?
            .ok_or(outlay_app::AppError::NotFound("paying account"))?,
    ))
}

/// Sets the company's paying account (finance).
#[utoipa::path(put, path = "/paying-account", tag = "payments", security(("bearer" = [])),
    request_body(content = Object, description = "`name`, and `iban`, `bic`, `ach_bank_routing`, `ach_bank_name`, `ach_company_id` as the formats used need"),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_paying(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<serde_json::Value>,
) -> Result<Json<PayingAccount>> {
    outlay_app::require(&caller, outlay_domain::Role::Finance)?;
    let account: PayingAccount = serde_json::from_value(body.value)
        .map_err(|e| outlay_app::AppError::Unprocessable(format!("not a paying account: {e}")))?;
    Ok(Json(state.app.put_paying_account(&caller, account).await?))
}

/// Approved reports to pay in one batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// 1 to 10 approved reports, each paid to its owner's bank details.
    #[schema(min_items = 1, max_items = 10)]
    pub report_ids: Vec<String>,
}

/// One payment of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItemView {
    /// The report.
    pub report_id: String,
    /// Its owner.
    pub owner_id: String,
    /// The account holder.
    pub holder: String,
    /// The account, masked.
    pub account: String,
    /// The amount.
    pub amount: String,
    /// The reference the bank carries to the employee and back.
    pub end_to_end: String,
    /// The payment's reference, once paid.
    pub paid_reference: Option<String>,
}

/// A payment batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchView {
    /// Its id.
    pub id: String,
    /// `draft`, `exported`, `paid` or `failed`.
    pub state: String,
    /// The currency of every payment.
    pub currency: String,
    /// The sum of the payments.
    pub total: Option<String>,
    /// The payments.
    pub items: Vec<BatchItemView>,
    /// Who built it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When its files were first made (every file says this time).
    pub exported_at: Option<DateTime<Utc>>,
    /// The SHA-256 of each file made, by format.
    pub files: std::collections::BTreeMap<String, String>,
    /// Why it failed.
    pub failure: Option<String>,
    /// Bumped on every change.
    pub version: i64,
}

impl From<PaymentBatch> for BatchView {
    fn from(b: PaymentBatch) -> Self {
        Self {
            id: b.id.to_string(),
            state: b.state.as_str().into(),
            currency: b.currency.code().into(),
            total: b.total().map(|t| t.amount_string()),
            items: b
                .items
                .iter()
                .map(|i| BatchItemView {
                    report_id: i.report_id.to_string(),
                    owner_id: i.owner_id.to_string(),
                    holder: i.holder.clone(),
                    account: i.account.masked(),
                    amount: i.amount.amount_string(),
                    end_to_end: i.end_to_end.clone(),
                    paid_reference: i.paid.as_ref().map(|p| p.reference.clone()),
                })
                .collect(),
            created_by: b.created_by.to_string(),
            created_at: b.created_at,
            exported_at: b.exported_at,
            files: b
                .files
                .iter()
                .map(|(f, sha)| (f.as_str().to_owned(), sha.clone()))
                .collect(),
            failure: b.failure.clone(),
            version: b.version,
        }
    }
}

fn batch_id(raw: &str) -> Result<BatchId> {
    path_id(raw, "payment batch", BatchId::parse)
}

/// Builds a draft batch of approved reports (finance, allowed to pay each: not its owner, nor
/// anyone who decided a step of it). Each report is held by the batch until it is paid or
/// the batch fails, so it cannot be paid by hand or put in another batch meanwhile.
#[utoipa::path(post, path = "/payment-batches", tag = "payments", security(("bearer" = [])),
    request_body = BatchRequest,
    responses((status = 201, body = BatchView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "A report not approved, or already in a batch", body = ErrorBody),
        (status = 422, description = "An owner without bank details, no paying account, or several currencies", body = ErrorBody)))]
async fn create_batch(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<BatchRequest>,
) -> Result<(StatusCode, Json<BatchView>)> {
    outlay_app::require(&caller, outlay_domain::Role::Finance)?;
    let ids = body
        .value
        .report_ids
        .iter()
        .map(|r| path_id(r, "report", ReportId::parse))
        .collect::<Result<Vec<_>>>()?;
    let batch = state.app.create_batch(&caller, &ids).await?;
    Ok((StatusCode::CREATED, Json(batch.into())))
}

/// Paging through batches.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BatchListParams {
    /// 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// Finance's payment batches, newest first.
#[utoipa::path(get, path = "/payment-batches", tag = "payments", security(("bearer" = [])), params(BatchListParams),
    responses((status = 200, body = PageView<BatchView>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_batches(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<BatchListParams>,
) -> Result<Json<PageView<BatchView>>> {
    let page = state
        .app
        .batches(&caller, &PageRequest::parse(q.limit, q.cursor)?)
        .await?;
    Ok(Json(PageView::from_page(page, BatchView::from)))
}

/// One payment batch (finance).
#[utoipa::path(get, path = "/payment-batches/{id}", tag = "payments", security(("bearer" = [])),
    params(("id" = String, Path, description = "Batch id")),
    responses((status = 200, body = BatchView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_batch(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<BatchView>> {
    Ok(Json(state.app.batch(&caller, batch_id(&id)?).await?.into()))
}

/// The batch as a bank file: `sepa` (pain.001.001.09, euros to IBANs), `nacha` (PPD credits,
/// dollars to US accounts) or `csv`. The first file exports a draft batch; the same batch
/// always answers the same bytes, whose SHA-256 is in `X-Content-SHA256` and the audit trail.
#[utoipa::path(get, path = "/payment-batches/{id}/files/{format}", tag = "payments", security(("bearer" = [])),
    params(("id" = String, Path, description = "Batch id"),
        ("format" = String, Path, description = "`sepa`, `nacha` or `csv`", pattern = "^(sepa|nacha|csv)$")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "A failed batch", body = ErrorBody),
        (status = 422, description = "The batch cannot be paid in this format", body = ErrorBody)))]
async fn batch_file(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path((id, format)): Path<(String, String)>,
) -> Result<Response> {
    let id = batch_id(&id)?;
    let format = FileFormat::parse(&format).ok_or(outlay_app::AppError::NotFound("file format"))?;
    let file = state.app.export_batch(&caller, id, format).await?;
    Ok(file_response(file, format))
}

/// A bank file as a download: its media type, a name of the batch's message id, and its
/// SHA-256 in `X-Content-SHA256`. For the API and the pages alike.
pub(crate) fn file_response(file: outlay_app::BatchFile, format: FileFormat) -> Response {
    let (content_type, extension) = match format {
        FileFormat::Sepa => ("application/xml", "xml"),
        FileFormat::Nacha => ("text/plain; charset=us-ascii", "ach"),
        FileFormat::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let name = format!("batch-{}.{extension}", file.batch.message_id());
    let mut response = download(file.bytes, content_type, &name);
    // The hash is hexadecimal, so always a valid header value.
    response.headers_mut().insert(
        "x-content-sha256",
        HeaderValue::from_str(&file.sha256).expect("a hexadecimal hash is a header value"),
    );
    response
}

/// A file made for the caller alone, as a download named `name` (which the caller makes of
/// ids, dates and fixed words, so it is always a valid header value), never cached.
pub(crate) fn download(bytes: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
            .expect("a file name of ids and dates is a header value"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

/// A reference for a batch's payments, or a reason for its failure.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchNote {
    /// The bank's reference (settle), or why the bank refused it (fail).
    #[schema(schema_with = crate::apidoc::text_200)]
    pub text: String,
}

/// Marks an exported batch's unpaid reports paid with the bank's reference (finance, allowed
/// to pay each), when no statement will.
#[utoipa::path(post, path = "/payment-batches/{id}/settle", tag = "payments", security(("bearer" = [])),
    params(("id" = String, Path, description = "Batch id")), request_body = BatchNote,
    responses((status = 200, body = BatchView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "Not exported, or changed meanwhile", body = ErrorBody)))]
async fn settle_batch(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    body: JsonBody<BatchNote>,
) -> Result<Json<BatchView>> {
    let id = batch_id(&id)?;
    Ok(Json(
        state
            .app
            .settle_batch(&caller, id, &body.value.text)
            .await?
            .into(),
    ))
}

/// Marks a batch failed; its unpaid reports are free to be paid again (finance).
#[utoipa::path(post, path = "/payment-batches/{id}/fail", tag = "payments", security(("bearer" = [])),
    params(("id" = String, Path, description = "Batch id")), request_body = BatchNote,
    responses((status = 200, body = BatchView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn fail_batch(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    body: JsonBody<BatchNote>,
) -> Result<Json<BatchView>> {
    let id = batch_id(&id)?;
    Ok(Json(
        state
            .app
            .fail_batch(&caller, id, &body.value.text)
            .await?
            .into(),
    ))
}

/// The payment routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_mine, put_mine))
        .routes(routes!(get_of_user))
        .routes(routes!(get_paying, put_paying))
        .routes(routes!(create_batch, list_batches))
        .routes(routes!(get_batch))
        .routes(routes!(batch_file))
        .routes(routes!(settle_batch))
        .routes(routes!(fail_batch))
}

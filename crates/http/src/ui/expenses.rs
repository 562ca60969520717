//! Expense pages: the list with a quick-add form, the edit page with receipts (drag and drop,
//! previews) and policy violations.

use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use outlay_app::{ExpenseInfo, ExpenseInput, ExpensePatch};
use outlay_domain::{ExpenseId, Policy, ReceiptId, ReceiptState};
use serde::Deserialize;

use super::{
    CsrfForm, CsrfOnly, ErrorPage, ListQuery, SearchOptions, Session, Upload, UploadedFile, alert,
    csrf, message, money, page, pager, search_bar, searched, url,
};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/expenses", get(list).post(create))
        .route("/expenses/{id}", get(show).post(update))
        .route("/expenses/{id}/delete", post(delete))
        .route("/expenses/{id}/receipts", post(upload))
        .route("/expenses/from-receipts", post(from_receipts))
        .route("/expenses/{id}/accept-reading", post(accept_reading))
        .route(
            "/expenses/{id}/receipts/{receipt}/delete",
            post(delete_receipt),
        )
        .route("/receipts/{id}", get(receipt_file))
        .merge(super::claims::router())
        .layer(axum::extract::DefaultBodyLimit::max(
            outlay_domain::MAX_RECEIPT_BYTES as usize + 64 * 1024,
        ))
}

#[derive(Deserialize, serde::Serialize, Default)]
pub(super) struct ExpenseForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    date: String,
    merchant: String,
    category: String,
    amount: String,
    currency: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    justification: String,
    /// Set when the form offered cost centres and projects.
    #[serde(default)]
    alloc: String,
    /// The cost centres of the split, row by row (blank rows are skipped).
    #[serde(default)]
    cc: Vec<String>,
    /// Each row's share: `60%` or an amount.
    #[serde(default)]
    cc_share: Vec<String>,
    #[serde(default)]
    project: String,
    /// The tax rate in percent (empty: no tax).
    #[serde(default)]
    tax_rate: String,
    /// The tax amount (empty: computed from the rate).
    #[serde(default)]
    tax_amount: String,
}
super::csrf_token!(ExpenseForm);

/// How many split rows the expense form offers.
const SPLIT_ROWS: usize = 3;

impl ExpenseForm {
    /// The split and project the form asks for, if it offered them.
    fn allocation(&self) -> Option<outlay_app::AllocationInput> {
        if self.alloc.is_empty() {
            return None;
        }
        let rows: Vec<(&String, &str)> = self
            .cc
            .iter()
            .zip(
                self.cc_share
                    .iter()
                    .map(String::as_str)
                    .chain(std::iter::repeat("")),
            )
            .filter(|(c, _)| !c.trim().is_empty())
            .collect();
        let alone = rows.len() == 1;
        let cost_centres = rows
            .into_iter()
            .map(|(c, share)| {
                let share = share.trim();
                let (percent, amount) = match share.strip_suffix('%') {
                    Some(p) => (Some(p.trim().to_owned()), None),
                    None if share.is_empty() && alone => (Some("100".to_owned()), None),
                    None => (None, Some(share.to_owned())),
                };
                outlay_app::SplitInput {
                    cost_centre: c.clone(),
                    percent,
                    amount,
                }
            })
            .collect();
        Some(outlay_app::AllocationInput {
            cost_centres,
            project: Some(self.project.clone()).filter(|p| !p.trim().is_empty()),
        })
    }

    /// The form's split and project fields as `e` has them.
    fn charged_as(mut self, e: &outlay_domain::Expense) -> Self {
        let a = e.allocation.clone().unwrap_or_default();
        self.cc = a.splits.iter().map(|s| s.cost_centre.clone()).collect();
        self.cc_share = a.splits.iter().map(|s| s.amount.amount_string()).collect();
        self.project = a.project.unwrap_or_default();
        self
    }
}

/// The violations of an expense, as a list.
pub(super) fn violations(info: &ExpenseInfo) -> Markup {
    html! {
        @if !info.violations.is_empty() {
            ul.violations {
                @for v in &info.violations {
                    li class=(format!("sev-{}", serde_json::to_value(v.severity).ok().and_then(|s| s.as_str().map(str::to_owned)).unwrap_or_default())) {
                        strong { (v.rule.replace('_', " ")) } ": " (v.message)
                    }
                }
            }
        }
    }
}

/// What the expense form offers: the policy's categories, the currencies, and whether the
/// expense needs a justification.
struct Choices<'a> {
    policy: &'a Policy,
    currencies: &'a [outlay_app::CurrencyChoice],
    justify: bool,
    /// The expense is a mileage or per diem claim, whose date and amount are its claim's.
    claim: bool,
}

fn form(
    state: &AppState,
    session: &Session,
    choices: &Choices<'_>,
    action: &str,
    f: &ExpenseForm,
    submit: &str,
) -> Markup {
    html! {
        form.card.expense-form method="post" action=(url(state, action)) {
            (csrf(session))
            div.grid {
                label { "Date" input type="date" name="date" value=(f.date) max=(session.today()) required readonly[choices.claim]; }
                label { "Merchant" input type="text" name="merchant" value=(f.merchant) maxlength="200" required; }
                label { "Category"
                    select name="category" required {
                        @for c in &choices.policy.categories {
                            option value=(c.name) selected[c.name == f.category] { (c.name) }
                        }
                    }
                }
                label { "Amount" input type="text" name="amount" value=(f.amount) inputmode="decimal" pattern="[0-9]+(\\.[0-9]+)?" placeholder="12.50" required readonly[choices.claim]; }
                label { "Currency"
                    select name="currency" required data-rate-window=(outlay_domain::exchange::MAX_RATE_AGE_DAYS) {
                        @if !choices.currencies.iter().any(|c| c.currency.code() == f.currency) && !f.currency.is_empty() {
                            option value=(f.currency) selected { (f.currency) }
                        }
                        @for (i, c) in choices.currencies.iter().enumerate() {
                            @let days = c.rate_days.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
                            option value=(c.currency) selected[c.currency.code() == f.currency] data-rate-days=[(i > 0).then_some(days)] {
                                (c.currency)
                                @if i > 0 { @match c.rate_days.first() { Some(day) => { " (rate of " (day) ")" } None => { " (no exchange rate yet)" } } }
                            }
                        }
                    }
                }
            }
            p.rate-note aria-live="polite" {}
            @if !choices.claim {
                div.grid {
                    label { "Tax (VAT) rate % (empty: none)" input type="text" name="tax_rate" value=(f.tax_rate) inputmode="decimal" pattern="[0-9]{1,3}(\\.[0-9]{1,2})?" placeholder="19" maxlength="6"; }
                    label { "Tax amount (empty: worked out from the rate)" input type="text" name="tax_amount" value=(f.tax_amount) inputmode="decimal" pattern="[0-9]+(\\.[0-9]+)?" maxlength="22"; }
                }
            }
            label { "Description" input type="text" name="description" value=(f.description) maxlength="2000"; }
            @let org = &choices.policy.org;
            @if !org.cost_centres.is_empty() || !org.projects.is_empty() {
                input type="hidden" name="alloc" value="1";
                fieldset.split {
                    legend { "Charged to (leave empty for your home cost centre)" }
                    @for row in 0..SPLIT_ROWS {
                        div.grid {
                            label { (format!("Cost centre {}", row + 1))
                                select name="cc" {
                                    option value="" { "—" }
                                    @for c in org.cost_centres.iter().filter(|c| c.active || f.cc.get(row) == Some(&c.code)) {
                                        option value=(c.code) selected[f.cc.get(row) == Some(&c.code)] { (c.code) " · " (c.name) }
                                    }
                                }
                            }
                            label { (format!("Share {} (60% or an amount)", row + 1))
                                input type="text" name="cc_share" value=(f.cc_share.get(row).map_or("", String::as_str)) maxlength="20";
                            }
                        }
                    }
                    @if !org.projects.is_empty() {
                        label { "Project"
                            select name="project" {
                                option value="" { "None" }
                                @for p in &org.projects {
                                    option value=(p.code) selected[p.code == f.project] { (p.code) " · " (p.name) @if let Some(c) = &p.customer { " (" (c) ")" } }
                                }
                            }
                        }
                    }
                }
            }
            @if choices.justify || !f.justification.is_empty() {
                label { "Justification (this expense breaks a soft policy rule: say why it is needed)" textarea name="justification" maxlength="2000" { (f.justification) } }
            }
            button type="submit" { (submit) }
        }
    }
}

async fn list_page(
    state: &AppState,
    session: &Session,
    f: ExpenseForm,
    q: &ListQuery,
) -> Result<Response, ErrorPage> {
    let app = &state.app;
    let (policy, currencies) =
        (tokio::try_join!(app.policy(&session.caller), app.currency_choices()))?;
    let (expenses, search_error) = searched(
        app.list_expenses(&session.caller, "mine", &q.search, &q.page())
            .await,
    )?;
    let mut f = f;
    let today = session.today();
    if f.currency.is_empty() {
        f.currency = policy.base_currency.code().to_owned();
        f.date = today.to_string();
    }
    let categories: Vec<String> = policy.categories.iter().map(|c| c.name.clone()).collect();
    let states = [
        ("unreported", "Not in a report".to_owned()),
        ("reported", "In a report".to_owned()),
    ];
    let body = html! {
        section {
            h2 { "From receipts" }
            form.card.upload.receipts-in method="post" enctype="multipart/form-data" action=(url(state, "/expenses/from-receipts")) {
                (csrf(session))
                label.dropzone {
                    span { "Drop receipts here, or choose them: JPEG, PNG or PDF, up to 10 MB each. Each becomes a draft expense, filled in from what the receipt says." }
                    input type="file" name="file" multiple accept="image/jpeg,image/png,application/pdf";
                }
                label.camera { "Or take a photo " input type="file" name="file" accept="image/jpeg,image/png" capture="environment"; }
                div.preview aria-live="polite" {}
                p.progress hidden { progress max="100" value="0" {} " " span.progress-text role="status" {} }
                button type="submit" { "Add receipts" }
            }
        }
        section {
            h2 { "New expense" }
            (form(state, session, &Choices { policy: &policy, currencies: &currencies, justify: false, claim: false }, "/expenses", &f, "Add expense"))
            (super::claims::forms(state, session, &policy))
        }
        section {
            h2 { "Your expenses" }
            (search_bar(state, "/expenses", q, &SearchOptions { categories: &categories, states: &states, people: &[], keep: &[] }))
            (alert(search_error.as_deref()))
            @if expenses.items.is_empty() {
                p.empty { @if q.is_searching() { "No expense matches this search." } @else { "No expenses yet." } }
            } @else {
                div.table-wrap { table.cards {
                    caption.visually-hidden { "Your expenses" }
                    thead { tr { th scope="col" { "Date" } th scope="col" { "Merchant" } th scope="col" { "Category" } th.num scope="col" { "Amount" } th.num scope="col" { "In " (policy.base_currency) } th scope="col" { "Receipts" } th scope="col" { "Policy" } th scope="col" { "Report" } } }
                    tbody {
                        @for info in &expenses.items {
                            @let e = &info.expense;
                            tr {
                                td data-label="Date" { (e.details.date()) }
                                td data-label="Merchant" { a href=(url(state, &format!("/expenses/{}", e.id))) { (e.details.merchant()) } @if e.draft { " " span.state.state-draft { "draft" } } }
                                td data-label="Category" { (e.details.category()) }
                                td.num data-label="Amount" { (money(Some(e.details.amount()))) }
                                td.num data-label=(format!("In {}", policy.base_currency)) { (money(e.base_amount)) }
                                td data-label="Receipts" { (info.receipts.iter().filter(|r| r.state == ReceiptState::Stored).count()) }
                                td data-label="Policy" { @if info.violations.is_empty() { span.ok { "ok" } } @else { span.warn { (info.violations.len()) " issue(s)" } } }
                                td data-label="Report" { @if let Some(r) = e.report_id { a href=(url(state, &format!("/reports/{r}"))) { "report" } } @else if e.rejection.is_some() { span.state.state-rejected { "line rejected" } } @else { "—" } }
                            }
                        }
                    }
                } }
                (pager(state, "/expenses", q, &[], expenses.next_cursor.as_deref()))
            }
        }
    };
    let mut response = page(state, session, "Expenses", body).await;
    if search_error.is_some() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ListQuery>,
) -> Result<Response, ErrorPage> {
    let f = session.flash_form().unwrap_or_default();
    list_page(&state, &session, f, &q).await
}

async fn create(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<ExpenseForm>,
) -> Response {
    let input = ExpenseInput {
        date: f.date.clone(),
        merchant: f.merchant.clone(),
        category: f.category.clone(),
        amount: f.amount.clone(),
        currency: f.currency.trim().to_uppercase(),
        description: Some(f.description.clone()),
        justification: Some(f.justification.clone()),
        allocation: f.allocation().unwrap_or_default(),
        claim: None,
        tax_rate: Some(f.tax_rate.clone()),
        tax_amount: Some(f.tax_amount.clone()),
    };
    match state.app.create_expense(&session.caller, input, None).await {
        Ok(info) => {
            Redirect::to(&url(&state, &format!("/expenses/{}", info.expense.id))).into_response()
        }
        Err(e) => session.back(&state, "/expenses", &message(&e), Some(&f)),
    }
}

fn expense_id(raw: &str) -> Result<ExpenseId, ErrorPage> {
    ExpenseId::parse(raw)
        .map_err(|_| ErrorPage(StatusCode::NOT_FOUND, "There is no such expense.".into()))
}

async fn show_page(
    state: &AppState,
    session: &Session,
    id: ExpenseId,
) -> Result<Response, ErrorPage> {
    let info = (state.app.get_expense(&session.caller, id).await)?;
    let (policy, currencies) = (tokio::try_join!(
        state.app.policy(&session.caller),
        state.app.currency_choices()
    ))?;
    let justify = info
        .violations
        .iter()
        .any(|v| v.severity == outlay_domain::Severity::Soft);
    let e = &info.expense;
    let d = &e.details;
    let f = session.flash_form().unwrap_or_else(|| {
        ExpenseForm {
            csrf: String::new(),
            date: d.date().to_string(),
            merchant: d.merchant().to_owned(),
            category: d.category().to_owned(),
            amount: d.amount().amount_string(),
            currency: d.amount().currency().code().to_owned(),
            description: d.description().to_owned(),
            justification: e.justification.clone().unwrap_or_default(),
            tax_rate: e
                .tax
                .as_ref()
                .map(|t| t.rate.to_string())
                .unwrap_or_default(),
            tax_amount: e
                .tax
                .as_ref()
                .and_then(|t| t.amount)
                .map(|a| a.amount_string())
                .unwrap_or_default(),
            ..ExpenseForm::default()
        }
        .charged_as(e)
    });
    // The reading of the newest receipt that has one.
    let mut reading = None;
    for r in info
        .receipts
        .iter()
        .rev()
        .filter(|r| r.state == ReceiptState::Stored)
    {
        match state.app.reading(&session.caller, r.id).await {
            Ok(found) => {
                reading = Some(found);
                break;
            }
            Err(outlay_app::AppError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let base = format!("/expenses/{}", e.id);
    let body = html! {
        p { "Amount in " (policy.base_currency) ": " strong { (money(e.base_amount)) }
            @if let Some(r) = &e.exchange_rate { " (rate " (r) ")" } }
        @if let Some(r) = e.report_id { p { "In " a href=(url(state, &format!("/reports/{r}"))) { "a report" } "." } }
        @if let Some(rj) = &e.rejection {
            p.error role="status" { strong { "Rejected from " a href=(url(state, &format!("/reports/{}", rj.report_id))) { "a report" } ": " } (rj.reason) " " small { (session.when(rj.at)) } }
        }
        @if let Some(c) = &e.claim { (super::claims::summary(c)) }
        @if let Some(r) = &reading { (reading_section(state, session, &base, e.draft, r)) }
        section { h2 { "Policy" } @if info.violations.is_empty() { p.ok { "No policy issues." } } @else { (violations(&info)) } }
        section {
            h2 { "Details" }
            (form(state, session, &Choices { policy: &policy, currencies: &currencies, justify, claim: e.claim.is_some() }, &base, &f, "Save"))
        }
        section {
            h2 { "Receipts" }
            div.receipts {
                @for r in info.receipts.iter().filter(|r| r.state == ReceiptState::Stored) {
                    figure.receipt {
                        @if r.content_type == outlay_domain::ReceiptType::Pdf {
                            a href=(url(state, &format!("/receipts/{}", r.id))) aria-label=(format!("Receipt {} (PDF)", r.filename)) { span.pdf-icon aria-hidden="true" { "PDF" } }
                        } @else {
                            img src=(url(state, &format!("/receipts/{}", r.id))) alt=(format!("Receipt {}", r.filename)) loading="lazy";
                        }
                        figcaption { a href=(url(state, &format!("/receipts/{}", r.id))) { (r.filename) } " (" (r.size / 1024 + 1) " KB)" }
                        form method="post" action=(url(state, &format!("{base}/receipts/{}/delete", r.id))) {
                            (super::csrf(session)) button.link.danger type="submit" data-confirm="Remove this receipt?" { "Remove" }
                        }
                    }
                }
            }
            form.card.upload method="post" enctype="multipart/form-data" action=(url(state, &format!("{base}/receipts"))) {
                (csrf(session))
                label.dropzone {
                    span { "Drop a JPEG, PNG or PDF here (up to 10 MB), or choose one; on a phone, take a photo" }
                    input type="file" name="file" accept="image/jpeg,image/png,application/pdf" capture="environment" required;
                }
                div.preview aria-live="polite" {}
                button type="submit" { "Upload receipt" }
            }
        }
        section {
            form method="post" action=(url(state, &format!("{base}/delete"))) {
                (csrf(session))
                button.danger type="submit" data-confirm="Delete this expense?" { "Delete expense" }
            }
        }
    };
    Ok(page(
        state,
        session,
        &format!("{} · {}", d.merchant(), money(Some(d.amount()))),
        body,
    )
    .await)
}

async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, ErrorPage> {
    show_page(&state, &session, expense_id(&id)?).await
}

/// Where an expense form goes next: the expense, or back to it with why not.
fn after(
    state: &AppState,
    session: &Session,
    id: ExpenseId,
    result: outlay_app::Result<()>,
    form: Option<&ExpenseForm>,
) -> Response {
    let path = format!("/expenses/{id}");
    match result {
        Ok(()) => Redirect::to(&url(state, &path)).into_response(),
        Err(e) => session.back(state, &path, &message(&e), form),
    }
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, f): CsrfForm<ExpenseForm>,
) -> Result<Response, ErrorPage> {
    let id = expense_id(&id)?;
    let asked = f.allocation();
    let patch = ExpensePatch {
        date: Some(f.date.clone()),
        merchant: Some(f.merchant.clone()),
        category: Some(f.category.clone()),
        amount: Some(f.amount.clone()),
        currency: Some(f.currency.trim().to_uppercase()),
        description: Some(f.description.clone()),
        justification: Some(f.justification.clone()),
        cost_centres: asked.clone().map(|a| a.cost_centres),
        project: asked.map(|a| a.project),
        tax_rate: Some(f.tax_rate.clone()),
        tax_amount: Some(f.tax_amount.clone()),
    };
    let result = state
        .app
        .update_expense(&session.caller, id, patch, None)
        .await
        .map(|_| ());
    Ok(after(&state, &session, id, result, Some(&f)))
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, _): CsrfForm<CsrfOnly>,
) -> Result<Response, ErrorPage> {
    let id = expense_id(&id)?;
    Ok(
        match state.app.delete_expense(&session.caller, id, None).await {
            Ok(()) => Redirect::to(&url(&state, "/expenses")).into_response(),
            Err(e) => after(&state, &session, id, Err(e), None),
        },
    )
}

async fn upload(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, ErrorPage> {
    let id = expense_id(&id)?;
    let refused = |why: &str| {
        after(
            &state,
            &session,
            id,
            Err(outlay_app::AppError::BadInput(why.to_owned())),
            None,
        )
    };
    let upload = Upload::read(multipart).await;
    if upload.broken {
        return Ok(refused(
            "The upload did not arrive whole (a receipt may be at most 10 MB); please try again.",
        ));
    }
    session.check(&upload.csrf)?;
    let Some(UploadedFile { name, kind, bytes }) = upload.files.into_iter().next() else {
        return Ok(refused("Choose a file to upload."));
    };
    let result = state
        .app
        .attach_receipt(&session.caller, id, &kind, name.as_deref(), bytes, None)
        .await
        .map(|_| ());
    Ok(after(&state, &session, id, result, None))
}

async fn delete_receipt(
    State(state): State<AppState>,
    Path((id, receipt)): Path<(String, String)>,
    CsrfForm(session, _): CsrfForm<CsrfOnly>,
) -> Result<Response, ErrorPage> {
    let (Ok(id), Ok(receipt)) = (ExpenseId::parse(&id), ReceiptId::parse(&receipt)) else {
        return Err(ErrorPage(
            StatusCode::NOT_FOUND,
            "There is no such receipt.".into(),
        ));
    };
    let result = state.app.delete_receipt(&session.caller, receipt).await;
    Ok(after(&state, &session, id, result, None))
}

/// What was read off the expense's receipt: the values with their confidence and source, to
/// accept all at once or some of them; or that it is still being read, or could not be.
fn reading_section(
    state: &AppState,
    session: &Session,
    base: &str,
    draft: bool,
    info: &outlay_app::ReadingInfo,
) -> Markup {
    use outlay_domain::reading::{FieldName, ReadingState};
    let r = &info.reading;
    let f = &r.fields;
    let pct = |c: f64| format!("{:.0} %", c * 100.0);
    let rows: Vec<(FieldName, &str, String, f64, &str)> = FieldName::ALL
        .into_iter()
        .filter_map(|name| {
            let (label, value, confidence, source) = match name {
                FieldName::Merchant => f
                    .merchant
                    .as_ref()
                    .map(|x| ("Merchant", x.value.clone(), x.confidence, x.source.as_str()))?,
                FieldName::Date => f
                    .date
                    .as_ref()
                    .map(|x| ("Date", x.value.to_string(), x.confidence, x.source.as_str()))?,
                FieldName::Total => f.total.as_ref().map(|x| {
                    (
                        "Amount",
                        x.value.normalize().to_string(),
                        x.confidence,
                        x.source.as_str(),
                    )
                })?,
                FieldName::Currency => f.currency.as_ref().map(|x| {
                    (
                        "Currency",
                        x.value.code().to_owned(),
                        x.confidence,
                        x.source.as_str(),
                    )
                })?,
                FieldName::Tax => f.tax.as_ref().map(|x| {
                    (
                        "Tax amount",
                        x.value.normalize().to_string(),
                        x.confidence,
                        x.source.as_str(),
                    )
                })?,
            };
            Some((name, label, value, confidence, source))
        })
        .collect();
    html! {
        section.reading {
            h2 { "Read from the receipt" }
            @if draft { p.warn { "This expense was made from a receipt. Accept what was read, or enter the details yourself; until then it cannot be submitted." } }
            @match r.state {
                ReadingState::Pending => p data-reading-pending { "Reading the receipt…" },
                ReadingState::Failed => p.warn { "The receipt could not be read (" (r.error.as_deref().unwrap_or("unknown")) "). Enter its details below." },
                ReadingState::Done => {
                    form method="post" action=(url(state, &format!("{base}/accept-reading"))) {
                        (csrf(session))
                        input type="hidden" name="receipt_id" value=(r.receipt_id);
                        div.table-wrap { table.cards {
                            caption.visually-hidden { "Values read from the receipt" }
                            thead { tr { th scope="col" { "Use" } th scope="col" { "Field" } th scope="col" { "Read" } th.num scope="col" { "Confidence" } th scope="col" { "From" } } }
                            tbody {
                                @for (name, label, value, confidence, source) in &rows {
                                    tr {
                                        td data-label="Use" { input type="checkbox" name="field" value=(name.as_str()) checked aria-label=(format!("Use the read {}", label.to_lowercase())); }
                                        td data-label="Field" { (label) @if r.accepted.contains(name) { " " span.ok { "accepted" } } }
                                        td data-label="Read" { strong { (value) } }
                                        td.num data-label="Confidence" { meter min="0" max="1" value=(confidence) { (pct(*confidence)) } " " (pct(*confidence)) }
                                        td data-label="From" { code { (source) } }
                                    }
                                }
                            }
                        } }
                        p.reader { "Read by " (r.reader.map(|x| match x { outlay_domain::reading::Reader::Einvoice => "the e-invoice the PDF carries", outlay_domain::reading::Reader::Tesseract => "OCR (Tesseract)", outlay_domain::reading::Reader::Textract => "Amazon Textract" }).unwrap_or("a reader")) "." }
                        button type="submit" name="all" value="1" { "Accept all" }
                        " "
                        button.secondary type="submit" { "Accept the ticked ones" }
                    }
                }
            }
            @if !info.flags.is_empty() {
                h3 { "The receipt and the claim disagree" }
                ul.flags { @for fl in &info.flags { li.warn { (fl.evidence) } } }
            }
        }
    }
}

#[derive(Deserialize)]
struct AcceptForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    field: Vec<String>,
    #[serde(default)]
    all: String,
    #[serde(default)]
    receipt_id: String,
}

super::csrf_token!(AcceptForm);

async fn accept_reading(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, f): CsrfForm<AcceptForm>,
) -> Result<Response, ErrorPage> {
    use outlay_domain::reading::FieldName;
    let id = expense_id(&id)?;
    let fields: Vec<FieldName> = if f.all.is_empty() {
        FieldName::ALL
            .into_iter()
            .filter(|n| f.field.iter().any(|x| x == n.as_str()))
            .collect()
    } else {
        vec![]
    };
    if f.all.is_empty() && fields.is_empty() {
        return Ok(after(
            &state,
            &session,
            id,
            Err(outlay_app::AppError::BadInput(
                "Tick the values to use, or accept all.".into(),
            )),
            None,
        ));
    }
    let receipt = ReceiptId::parse(&f.receipt_id).ok();
    let result = state
        .app
        .accept_reading(&session.caller, id, &fields, receipt)
        .await
        .map(|_| ());
    Ok(after(&state, &session, id, result, None))
}

/// Receipts dropped on the list page: each file becomes a draft expense. One file goes on to
/// its expense; several back to the list, saying how many were added.
async fn from_receipts(
    State(state): State<AppState>,
    session: Session,
    headers: axum::http::HeaderMap,
    multipart: Multipart,
) -> Result<Response, ErrorPage> {
    // The page's script sends one file a request and wants the answer as data, not a page.
    let scripted = headers.get("x-outlay-upload").is_some();
    let upload = Upload::read(multipart).await;
    if upload.broken {
        return Ok(session.back(&state, "/expenses", "The upload did not arrive whole (each receipt may be at most 10 MB); please try again.", None::<&()>));
    }
    session.check(&upload.csrf)?;
    if upload.files.is_empty() {
        return Ok(session.back(
            &state,
            "/expenses",
            "Choose or drop at least one receipt.",
            None::<&()>,
        ));
    }
    let mut made = Vec::new();
    let mut refused = Vec::new();
    for UploadedFile { name, kind, bytes } in upload.files {
        match state
            .app
            .expense_from_receipt(&session.caller, &kind, name.as_deref(), bytes, None)
            .await
        {
            Ok(info) => made.push(info.expense.id),
            Err(e) => refused.push(format!(
                "{}: {}",
                name.unwrap_or_else(|| "a file".into()),
                message(&e)
            )),
        }
    }
    if scripted {
        let body = match (made.first(), refused.first()) {
            (Some(id), None) => {
                serde_json::json!({ "expense": url(&state, &format!("/expenses/{id}")) })
            }
            (_, Some(why)) => serde_json::json!({ "error": why }),
            (None, None) => serde_json::json!({ "error": "nothing was sent" }),
        };
        let status = if refused.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return Ok((status, axum::Json(body)).into_response());
    }
    Ok(match (made.as_slice(), refused.is_empty()) {
        ([one], true) => Redirect::to(&url(&state, &format!("/expenses/{one}"))).into_response(),
        (_, true) => session.done(
            &state,
            "/expenses",
            &format!(
                "{} draft expenses were added; their receipts are being read.",
                made.len()
            ),
        ),
        _ => session.back(
            &state,
            "/expenses",
            &format!(
                "{} draft expense(s) added. Refused: {}",
                made.len(),
                refused.join("; ")
            ),
            None::<&()>,
        ),
    })
}

/// A receipt's file for the signed-in user: images inline (for previews), PDFs as downloads.
async fn receipt_file(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, ErrorPage> {
    let Ok(id) = ReceiptId::parse(&id) else {
        return Err(ErrorPage(
            StatusCode::NOT_FOUND,
            "There is no such receipt.".into(),
        ));
    };
    let file = state.app.receipt_file(&session.caller, id).await?;
    if let Some(signed) = file.url.as_deref() {
        return Ok(Redirect::to(signed).into_response());
    }
    let kind = file.receipt.content_type;
    let disposition = if kind == outlay_domain::ReceiptType::Pdf {
        "attachment"
    } else {
        "inline"
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, kind.mime().to_owned()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"{}\"", file.receipt.filename),
            ),
            (
                axum::http::header::CACHE_CONTROL,
                "private, no-store".to_owned(),
            ),
        ],
        file.bytes,
    )
        .into_response())
}

//! Paying by bank file: the caller's bank details on Settings, and finance's payment batches
//! (built from the Payments page's selection), their downloads, settlement and failure, and
//! the company's paying account.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use outlay_app::BankInput;
use outlay_domain::{BankAccount, BatchId, FileFormat, PayingAccount, PaymentBatch, ReportId};
use serde::Deserialize;

use super::{CsrfForm, ErrorPage, Session, Upload, csrf, message, page, url};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/bank-account", post(save_bank))
        .route("/payments/batches", post(create))
        .route("/payments/batches/{id}", get(show))
        .route("/payments/batches/{id}/files/{format}", post(download))
        .route("/payments/batches/{id}/{action}", post(act))
        .route("/payments/account", post(save_paying))
        .route(
            "/payments/statements",
            post(import_statement).layer(axum::extract::DefaultBodyLimit::max(
                outlay_app::MAX_STATEMENT_BYTES + 64 * 1024,
            )),
        )
}

/// The bank details section of Settings.
pub(super) fn bank_section(
    state: &AppState,
    session: &Session,
    account: Option<&BankAccount>,
) -> Markup {
    html! {
        section.card #bank {
            h2 { "Bank details" }
            @match account {
                Some(a) => p { "Reimbursements go to " strong { (a.holder) ", " (a.number.masked()) } ". Only you and finance see them; a change is told to you." }
                None => p { "Add the account your reimbursements are paid to. Only you and finance see it." }
            }
            form method="post" action=(url(state, "/settings/bank-account")) {
                (csrf(session))
                label { "Account holder" input type="text" name="holder" maxlength="70" required value=(account.map_or("", |a| a.holder.as_str())); }
                fieldset {
                    legend { "An IBAN (Europe and most countries)" }
                    div.grid {
                        label { "IBAN" input type="text" name="iban" maxlength="42" autocomplete="off" placeholder="DE89 3704 0044 0532 0130 00"; }
                        label { "BIC (optional)" input type="text" name="bic" maxlength="11" autocomplete="off"; }
                    }
                }
                fieldset {
                    legend { "Or a US account" }
                    div.grid {
                        label { "Routing number" input type="text" name="routing_number" inputmode="numeric" maxlength="9" autocomplete="off"; }
                        label { "Account number" input type="text" name="account_number" inputmode="numeric" maxlength="17" autocomplete="off"; }
                    }
                }
                button type="submit" { "Save bank details" }
            }
        }
    }
}

#[derive(Deserialize, Default)]
struct BankForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    holder: String,
    #[serde(default)]
    iban: String,
    #[serde(default)]
    bic: String,
    #[serde(default)]
    routing_number: String,
    #[serde(default)]
    account_number: String,
}
super::csrf_token!(BankForm);

async fn save_bank(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<BankForm>,
) -> Response {
    let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let input = BankInput {
        holder: f.holder.clone(),
        iban: given(&f.iban),
        bic: given(&f.bic),
        routing_number: given(&f.routing_number),
        account_number: given(&f.account_number),
    };
    match state.app.put_bank_account(&session.caller, &input).await {
        Ok(a) => session.done(
            &state,
            "/settings",
            &format!("Bank details saved: {}.", a.number.masked()),
        ),
        Err(e) => session.back(&state, "/settings", &message(&e), None::<&()>),
    }
}

/// The batches and the paying account, under the Payments page's list.
pub(super) fn batches_section(
    state: &AppState,
    session: &Session,
    batches: &[PaymentBatch],
    paying: Option<&PayingAccount>,
) -> Markup {
    html! {
        section {
            h2 { "Payment batches" }
            @if batches.is_empty() { p.empty { "No batches yet: select reports above and build one." } } @else {
                div.table-wrap { table.cards {
                    caption.visually-hidden { "Payment batches" }
                    thead { tr { th scope="col" { "Batch" } th scope="col" { "State" } th.num scope="col" { "Reports" } th.num scope="col" { "Total" } th scope="col" { "Built" } } }
                    tbody {
                        @for b in batches {
                            tr {
                                td data-label="Batch" { a href=(url(state, &format!("/payments/batches/{}", b.id))) { (&b.message_id()[..12]) } }
                                td data-label="State" { span class=(format!("state state-{}", b.state.as_str())) { (b.state.as_str()) } }
                                td.num data-label="Reports" { (b.items.len()) }
                                td.num data-label="Total" { (super::money(b.total())) }
                                td data-label="Built" { (session.when(b.created_at)) }
                            }
                        }
                    }
                } }
            }
        }
        section {
            h2 { "Bank statement" }
            form.card method="post" enctype="multipart/form-data" action=(url(state, "/payments/statements")) {
                (csrf(session))
                label { "A camt.053 statement or camt.054 notification (XML, up to 5 MB)"
                    input type="file" name="file" accept=".xml,application/xml,text/xml" required;
                }
                button type="submit" { "Import and match" }
            }
        }
        details.card {
            summary { "The company's paying account" }
            @let p = paying.cloned().unwrap_or_default();
            form method="post" action=(url(state, "/payments/account")) {
                (csrf(session))
                label { "Company name, as the bank knows it" input type="text" name="name" maxlength="70" required value=(p.name); }
                div.grid {
                    label { "IBAN (SEPA files)" input type="text" name="iban" maxlength="42" value=(p.iban.unwrap_or_default()); }
                    label { "BIC" input type="text" name="bic" maxlength="11" value=(p.bic.unwrap_or_default()); }
                    label { "Bank routing number (NACHA files)" input type="text" name="ach_bank_routing" maxlength="9" value=(p.ach_bank_routing.unwrap_or_default()); }
                    label { "Bank name" input type="text" name="ach_bank_name" maxlength="23" value=(p.ach_bank_name.unwrap_or_default()); }
                    label { "ACH company identification" input type="text" name="ach_company_id" maxlength="10" value=(p.ach_company_id.unwrap_or_default()); }
                }
                button type="submit" { "Save the paying account" }
            }
        }
    }
}

#[derive(Deserialize, Default)]
struct PayingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    iban: String,
    #[serde(default)]
    bic: String,
    #[serde(default)]
    ach_bank_routing: String,
    #[serde(default)]
    ach_bank_name: String,
    #[serde(default)]
    ach_company_id: String,
}
super::csrf_token!(PayingForm);

async fn save_paying(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<PayingForm>,
) -> Response {
    let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let account = PayingAccount {
        name: f.name.trim().to_owned(),
        iban: given(&f.iban),
        bic: given(&f.bic),
        ach_bank_routing: given(&f.ach_bank_routing),
        ach_bank_name: given(&f.ach_bank_name),
        ach_company_id: given(&f.ach_company_id),
    };
    match state.app.put_paying_account(&session.caller, account).await {
        Ok(_) => session.done(&state, "/payments", "The paying account is saved."),
        Err(e) => session.back(&state, "/payments", &message(&e), None::<&()>),
    }
}

#[derive(Deserialize)]
struct SelectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ids: Vec<String>,
}
super::csrf_token!(SelectionForm);

async fn create(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<SelectionForm>,
) -> Response {
    let ids: Result<Vec<ReportId>, _> = f.ids.iter().map(|i| ReportId::parse(i)).collect();
    let result = match ids {
        Ok(ids) if !ids.is_empty() => state
            .app
            .create_batch(&session.caller, &ids)
            .await
            .map_err(|e| message(&e)),
        _ => Err("Select the reports to pay.".to_owned()),
    };
    match result {
        Ok(b) => session.done(
            &state,
            &format!("/payments/batches/{}", b.id),
            &format!(
                "Batch built: {} report(s), {}. Download its file for the bank.",
                b.items.len(),
                super::money(b.total())
            ),
        ),
        Err(why) => session.back(&state, "/payments", &why, None::<&()>),
    }
}

fn batch_id(raw: &str) -> Result<BatchId, ErrorPage> {
    BatchId::parse(raw)
        .map_err(|_| ErrorPage(StatusCode::NOT_FOUND, "There is no such batch.".into()))
}

async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, ErrorPage> {
    let b = state.app.batch(&session.caller, batch_id(&id)?).await?;
    let people = state.app.people(&session.caller).await?;
    let base = format!("/payments/batches/{}", b.id);
    let open = matches!(
        b.state,
        outlay_domain::BatchState::Draft | outlay_domain::BatchState::Exported
    );
    let body = html! {
        p.summary {
            "State: " span class=(format!("state state-{}", b.state.as_str())) { (b.state.as_str()) }
            " · " (b.items.len()) " payment(s), " strong { (super::money(b.total())) }
            @if let Some(at) = b.exported_at { " · exported " (session.when(at)) }
        }
        @if let Some(why) = &b.failure { p.error { "Failed: " (why) } }
        div.table-wrap { table.cards {
            caption.visually-hidden { "Payments" }
            thead { tr { th scope="col" { "Report" } th scope="col" { "Employee" } th scope="col" { "Account" } th scope="col" { "Reference" } th.num scope="col" { "Amount" } th scope="col" { "Paid" } } }
            tbody {
                @for i in &b.items {
                    tr {
                        td data-label="Report" { a href=(url(&state, &format!("/reports/{}", i.report_id))) { "report" } }
                        td data-label="Employee" { (people.get(&i.owner_id).map_or(i.holder.as_str(), |p| p.name.as_str())) }
                        td data-label="Account" { (i.holder) ", " (i.account.masked()) }
                        td data-label="Reference" { code { (i.end_to_end) } }
                        td.num data-label="Amount" { (super::money(Some(i.amount))) }
                        td data-label="Paid" { @match &i.paid { Some(p) => { (p.reference) } None => { "—" } } }
                    }
                }
            }
        } }
        @if b.state != outlay_domain::BatchState::Failed {
            section {
                h2 { "Files for the bank" }
                p { "The first download exports the batch; every later one is the same file." }
                div.downloads {
                    @for (format, label) in [("sepa", "SEPA (pain.001)"), ("nacha", "NACHA"), ("csv", "CSV")] {
                        form.inline method="post" action=(url(&state, &format!("{base}/files/{format}"))) {
                            (csrf(&session))
                            button type="submit" { "Download " (label) }
                            @if let Some(sha) = FileFormat::parse(format).and_then(|f| b.files.get(&f)) { " " small { "SHA-256 " code { (&sha[..16]) "…" } } }
                        }
                    }
                }
            }
        }
        @if open {
            section.grid {
                @if b.state == outlay_domain::BatchState::Exported {
                    form.card method="post" action=(url(&state, &format!("{base}/settle"))) {
                        (csrf(&session))
                        label { "The bank paid it: its reference" input type="text" name="text" maxlength="200" required; }
                        button type="submit" { "Mark the batch paid" }
                    }
                }
                form.card method="post" action=(url(&state, &format!("{base}/fail"))) {
                    (csrf(&session))
                    label { "The bank refused it: why" input type="text" name="text" maxlength="500" required; }
                    button.danger type="submit" data-confirm="Mark this batch failed? Its reports can then be paid again." { "Mark the batch failed" }
                }
            }
        }
        p { a href=(url(&state, "/payments")) { "Back to payments" } }
    };
    Ok(page(
        &state,
        &session,
        &format!("Payment batch {}", &b.message_id()[..12]),
        body,
    )
    .await)
}

#[derive(Deserialize)]
struct CsrfOnlyForm {
    #[serde(default)]
    csrf: String,
}
super::csrf_token!(CsrfOnlyForm);

async fn download(
    State(state): State<AppState>,
    Path((id, format)): Path<(String, String)>,
    CsrfForm(session, _f): CsrfForm<CsrfOnlyForm>,
) -> Result<Response, ErrorPage> {
    let id = batch_id(&id)?;
    let format = FileFormat::parse(&format)
        .ok_or_else(|| ErrorPage(StatusCode::NOT_FOUND, "No such file format.".into()))?;
    let file = match state.app.export_batch(&session.caller, id, format).await {
        Ok(f) => f,
        Err(e) => {
            return Ok(session.back(
                &state,
                &format!("/payments/batches/{id}"),
                &message(&e),
                None::<&()>,
            ));
        }
    };
    Ok(crate::payments::file_response(file, format))
}

#[derive(Deserialize)]
struct NoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}
super::csrf_token!(NoteForm);

async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    CsrfForm(session, f): CsrfForm<NoteForm>,
) -> Result<Response, ErrorPage> {
    let id = batch_id(&id)?;
    let back = format!("/payments/batches/{id}");
    let result = match action.as_str() {
        "settle" => state.app.settle_batch(&session.caller, id, &f.text).await,
        "fail" => state.app.fail_batch(&session.caller, id, &f.text).await,
        _ => {
            return Err(ErrorPage(
                StatusCode::NOT_FOUND,
                "There is no such action.".into(),
            ));
        }
    };
    Ok(match result {
        Ok(b) => session.done(
            &state,
            &back,
            &format!("The batch is {}.", b.state.as_str()),
        ),
        Err(e) => session.back(&state, &back, &message(&e), None::<&()>),
    })
}

async fn import_statement(
    State(state): State<AppState>,
    session: Session,
    multipart: axum::extract::Multipart,
) -> Result<Response, ErrorPage> {
    let upload = Upload::read(multipart).await;
    if upload.broken {
        return Ok(session.back(
            &state,
            "/payments",
            "The upload did not arrive whole (a statement may be at most 5 MB); please try again.",
            None::<&()>,
        ));
    }
    session.check(&upload.csrf)?;
    let Some(xml) = upload.files.into_iter().next().map(|f| f.bytes) else {
        return Ok(session.back(&state, "/payments", "Choose a statement file.", None::<&()>));
    };
    let result = match state.app.import_statement(&session.caller, &xml).await {
        Ok(r) => r,
        Err(e) => return Ok(session.back(&state, "/payments", &message(&e), None::<&()>)),
    };
    let rows = |list: &[outlay_app::EntryOutcome]| -> Markup {
        html! {
            div.table-wrap { table.cards {
                thead { tr { th scope="col" { "What" } th scope="col" { "Reference" } th.num scope="col" { "Amount" } th scope="col" { "Report" } th scope="col" { "Bank reference" } th scope="col" { "Why" } } }
                tbody {
                    @for o in list {
                        @let (what, report, why) = describe(o);
                        tr {
                            td data-label="What" { (what) }
                            td data-label="Reference" { code { (o.entry.end_to_end.as_deref().unwrap_or("—")) } }
                            td.num data-label="Amount" { (super::money(Some(o.entry.amount))) }
                            td data-label="Report" { @match report { Some(id) => { a href=(url(&state, &format!("/reports/{id}"))) { "report" } } None => { "—" } } }
                            td data-label="Bank reference" { (o.entry.bank_reference) }
                            td data-label="Why" { (why) }
                        }
                    }
                }
            } }
        }
    };
    let body = html! {
        p.summary { (result.matched.len()) " matched and paid · " (result.mismatches.len()) " to look at · " (result.ignored) " not payments out" }
        section {
            h2 { "Paid from this statement" }
            @if result.matched.is_empty() { p.empty { "Nothing was paid from this statement." } } @else { (rows(&result.matched)) }
        }
        section {
            h2 { "For finance to look at" }
            @if result.mismatches.is_empty() { p.ok { "Every payment out matched." } } @else { (rows(&result.mismatches)) }
        }
        p { a href=(url(&state, "/payments")) { "Back to payments" } }
    };
    Ok(page(&state, &session, "Bank statement", body).await)
}

/// What an entry did, the report it concerns, and why, for people.
fn describe(o: &outlay_app::EntryOutcome) -> (&'static str, Option<ReportId>, String) {
    use outlay_domain::Reconciled;
    match &o.outcome {
        Reconciled::Matched { report_id, .. } => match &o.refused {
            Some(why) => ("matched, not recorded", Some(*report_id), why.clone()),
            None => ("paid", Some(*report_id), String::new()),
        },
        Reconciled::AmountOff {
            report_id,
            expected,
        } => (
            "amount off",
            Some(*report_id),
            format!("the batch paid {expected}"),
        ),
        Reconciled::UnknownReference => {
            ("unknown reference", None, "no exported batch has it".into())
        }
        Reconciled::Returned { report_id, reason } => (
            "returned",
            *report_id,
            format!("the bank returned it: {reason}"),
        ),
        Reconciled::AlreadyPaid { report_id } => (
            "already paid",
            Some(*report_id),
            "paid before; not paid twice".into(),
        ),
        Reconciled::Ignored => ("not a payment out", None, String::new()),
    }
}

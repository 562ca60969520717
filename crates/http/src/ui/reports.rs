//! Report pages: the owner's list and report builder, the report page with its actions,
//! receipts and history, the approvals inbox and the manager's team view.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use outlay_app::{Action, PageRequest, Person, ReportDetails};
use outlay_domain::access;
use outlay_domain::{ExpenseId, Report, ReportId, Role, UserId};
use serde::Deserialize;

use super::{
    CsrfForm, ErrorPage, ListQuery, SearchOptions, Session, alert, csrf, message, money, page,
    pager, search_bar, searched, state_badge, url, with_search_status,
};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/reports", get(list).post(create))
        .route("/reports/{id}", get(show))
        .route("/reports/{id}/edit", post(edit))
        .route("/reports/{id}/delete", post(delete))
        .route("/reports/{id}/{action}", post(act))
        .route(
            "/reports/{id}/expenses/{expense_id}/reject",
            post(reject_line),
        )
        .route("/approvals", get(approvals).post(approve_many))
        .route("/team", get(team))
}

fn name(people: &BTreeMap<UserId, Person>, id: UserId) -> String {
    people
        .get(&id)
        .map_or_else(|| "someone".to_owned(), |p| p.name.clone())
}

/// A table of reports; `select` names the checkboxes of a table to pick rows from.
pub(super) fn table(
    session: &Session,
    state: &AppState,
    reports: &[Report],
    people: &BTreeMap<UserId, Person>,
    owner: bool,
) -> Markup {
    selectable_table(session, state, reports, people, owner, None)
}

fn selectable_table(
    session: &Session,
    state: &AppState,
    reports: &[Report],
    people: &BTreeMap<UserId, Person>,
    owner: bool,
    select: Option<&str>,
) -> Markup {
    html! {
        @if reports.is_empty() { p.empty { "Nothing here." } } @else {
            div.table-wrap { table.cards {
                thead { tr { @if select.is_some() { th scope="col" { span.visually-hidden { "Select" } } } th scope="col" { "Report" } @if owner { th scope="col" { "Employee" } } th scope="col" { "State" } th.num scope="col" { "Total" } th scope="col" { "Submitted" } } }
                tbody {
                    @for r in reports {
                        tr {
                            @if let Some(name) = select {
                                td data-label="Select" { input type="checkbox" name=(name) value=(r.id) aria-label=(format!("Select {}", r.title)); }
                            }
                            td data-label="Report" { a href=(url(state, &format!("/reports/{}", r.id))) { (r.title) } }
                            @if owner { td data-label="Employee" { (name(people, r.owner_id)) } }
                            td data-label="State" { (state_badge(r.state))
                                @if let Some(si) = r.current_step().and_then(|s| s.stand_in.as_ref()) { " " small.for-whom { "for " (name(people, si.for_id)) } }
                                @if let Some(from) = r.current_step().and_then(|s| outlay_domain::escalation::escalated_from(s, session.caller.user.id)) { " " small.escalated { "escalated from " (name(people, from)) } } }
                            td.num data-label="Total" { (money(r.total)) }
                            td data-label="Submitted" { (r.submitted_at.map_or_else(|| "—".to_owned(), |t| session.when(t))) }
                        }
                    }
                }
            } }
        }
    }
}

#[derive(Deserialize, serde::Serialize, Default)]
struct NewReportForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    expense_ids: Vec<String>,
}
super::csrf_token!(NewReportForm);

/// The report states a search offers (drafts only to their owner).
fn report_states(drafts: bool) -> Vec<(&'static str, String)> {
    outlay_domain::ReportState::ALL
        .iter()
        .filter(|s| drafts || **s != outlay_domain::ReportState::Draft)
        .map(|s| (s.as_str(), s.as_str().replace('_', " ")))
        .collect()
}

/// The people a finance search can pick, by name.
fn people_options(people: &BTreeMap<UserId, Person>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = people
        .iter()
        .map(|(id, p)| (id.to_string(), p.name.clone()))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

async fn list_page(
    state: &AppState,
    session: &Session,
    f: &NewReportForm,
    q: &ListQuery,
) -> Result<Response, ErrorPage> {
    let app = &state.app;
    let unreported = outlay_app::ListParams {
        state: Some("unreported".into()),
        ..outlay_app::ListParams::default()
    };
    let free_page = PageRequest {
        limit: PageRequest::MAX,
        cursor: None,
    };
    let (expenses, people, categories) = (tokio::try_join!(
        app.list_expenses(&session.caller, "mine", &unreported, &free_page),
        app.people(&session.caller),
        app.categories()
    ))?;
    let (reports, search_error) = searched(
        app.list_reports(&session.caller, "mine", &q.search, &q.page())
            .await,
    )?;
    let free = &expenses.items;
    let states = report_states(true);
    let body = html! {
        section {
            h2 { "New report" }
            @if free.is_empty() { p.empty { "Every expense is already in a report. " a href=(url(state, "/expenses")) { "Add an expense" } " first." } } @else {
                form.card method="post" action=(url(state, "/reports")) {
                    (csrf(session))
                    label { "Title" input type="text" name="title" value=(f.title) maxlength="200" required; }
                    label { "Business purpose" input type="text" name="purpose" value=(f.purpose) maxlength="2000"; }
                    fieldset.pick {
                        legend { "Expenses to include (" (free.len()) @if expenses.next_cursor.is_some() { "+" } " not in a report)" }
                        label.check.select-all { input type="checkbox" data-select-all="expense_ids"; "Select all" }
                        @for info in free {
                            @let e = &info.expense;
                            label.check {
                                input type="checkbox" name="expense_ids" value=(e.id) checked[f.expense_ids.contains(&e.id.to_string())];
                                (e.details.date()) " · " (e.details.merchant()) " · " (money(Some(e.details.amount())))
                                @if !info.violations.is_empty() { " " span.warn { (info.violations.len()) " issue(s)" } }
                            }
                        }
                    }
                    button type="submit" { "Create report" }
                }
            }
        }
        section {
            h2 { "Your reports" }
            (search_bar(state, "/reports", q, &SearchOptions { categories: &categories, states: &states, people: &[], keep: &[] }))
            (alert(search_error.as_deref()))
            (table(session, state, &reports.items, &people, false))
            (pager(state, "/reports", q, &[], reports.next_cursor.as_deref()))
        }
    };
    Ok(with_search_status(
        page(state, session, "Reports", body).await,
        &search_error,
    ))
}

/// Finance's report browser: every submitted report, searched, with an export of the search.
async fn browse_page(
    state: &AppState,
    session: &Session,
    q: &ListQuery,
) -> Result<Response, ErrorPage> {
    let app = &state.app;
    let (people, categories) = (tokio::try_join!(app.people(&session.caller), app.categories()))?;
    let (reports, search_error) = searched(
        app.list_reports(&session.caller, "all", &q.search, &q.page())
            .await,
    )?;
    let keep = [("scope", "all")];
    let states = report_states(false);
    let people_list = people_options(&people);
    let export = q.href_with(state, "/reports.csv", &[]);
    let body = html! {
        p { "Every submitted report. " a href=(export) download { "Export these reports (CSV)" } }
        (search_bar(state, "/reports", q, &SearchOptions { categories: &categories, states: &states, people: &people_list, keep: &keep }))
        (alert(search_error.as_deref()))
        (table(session, state, &reports.items, &people, true))
        (pager(state, "/reports", q, &keep, reports.next_cursor.as_deref()))
    };
    Ok(with_search_status(
        page(state, session, "All reports", body).await,
        &search_error,
    ))
}

#[derive(Deserialize, Default)]
struct ScopeQuery {
    scope: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(scope): Query<ScopeQuery>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ErrorPage> {
    match scope.scope.as_deref() {
        Some("all") => browse_page(&state, &session, &q).await,
        _ => {
            let f = session.flash_form().unwrap_or_default();
            list_page(&state, &session, &f, &q).await
        }
    }
}

async fn create(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<NewReportForm>,
) -> Response {
    let ids: Result<Vec<ExpenseId>, _> =
        f.expense_ids.iter().map(|i| ExpenseId::parse(i)).collect();
    let result = match ids {
        Ok(expense_ids) if !expense_ids.is_empty() => {
            let new = outlay_app::NewReport {
                title: f.title.clone(),
                purpose: f.purpose.clone(),
                expense_ids,
            };
            state
                .app
                .create_report(&session.caller, new, None)
                .await
                .map_err(|e| message(&e))
        }
        Ok(_) => Err("Choose at least one expense.".to_owned()),
        Err(_) => Err("One of the expenses is not valid.".to_owned()),
    };
    match result {
        Ok(d) => Redirect::to(&url(&state, &format!("/reports/{}", d.report.id))).into_response(),
        Err(msg) => session.back(&state, "/reports", &msg, Some(&f)),
    }
}

fn report_id(raw: &str) -> Result<ReportId, ErrorPage> {
    ReportId::parse(raw)
        .map_err(|_| ErrorPage(StatusCode::NOT_FOUND, "There is no such report.".into()))
}

/// The actions the caller may take on the report now, as the domain answers them.
fn actions(state: &AppState, session: &Session, d: &ReportDetails) -> Markup {
    let r = &d.report;
    let base = format!("/reports/{}", r.id);
    let may = |a: access::Action| d.actions.contains(&a);
    html! {
        div.actions {
            @if may(access::Action::Submit) {
                form method="post" action=(url(state, &format!("{base}/submit"))) { (csrf(session)) button type="submit" { "Submit for approval" } }
            }
            @if may(access::Action::Withdraw) {
                form method="post" action=(url(state, &format!("{base}/withdraw"))) { (csrf(session)) button.secondary type="submit" { "Withdraw" } }
            }
            @if may(access::Action::Approve) {
                form.card method="post" action=(url(state, &format!("{base}/approve"))) {
                    (csrf(session))
                    label { "Comment (optional)" input type="text" name="comment" maxlength="1000"; }
                    button type="submit" { "Approve" }
                }
                form.card method="post" action=(url(state, &format!("{base}/reject"))) {
                    (csrf(session))
                    label { "Reason for rejection (required)" textarea name="reason" maxlength="1000" required {} }
                    button.danger type="submit" { "Reject" }
                }
            }
            @if may(access::Action::Pay) {
                form.card method="post" action=(url(state, &format!("{base}/pay"))) {
                    (csrf(session))
                    label { "Payment reference" input type="text" name="reference" maxlength="200" required; }
                    button type="submit" { "Mark paid" }
                }
            }
        }
    }
}

/// The owner's form to change a draft or rejected report: title, purpose, and which of their
/// expenses it holds (its own, and those in no report); and the button that deletes it.
fn edit_form(
    state: &AppState,
    session: &Session,
    d: &ReportDetails,
    free: &[outlay_app::ExpenseInfo],
) -> Markup {
    let r = &d.report;
    let base = format!("/reports/{}", r.id);
    html! {
        details.card.edit {
            summary { "Change this report" }
            form method="post" action=(url(state, &format!("{base}/edit"))) {
                (csrf(session))
                input type="hidden" name="version" value=(r.version);
                label { "Title" input type="text" name="title" value=(r.title) maxlength="200" required; }
                label { "Business purpose" input type="text" name="purpose" value=(r.purpose) maxlength="2000"; }
                fieldset.pick {
                    legend { "Expenses in this report" }
                    label.check.select-all { input type="checkbox" data-select-all="expense_ids" checked[free.is_empty()]; "Select all" }
                    @for info in d.expenses.iter().chain(free) {
                        @let e = &info.expense;
                        label.check {
                            input type="checkbox" name="expense_ids" value=(e.id) checked[e.report_id == Some(r.id)];
                            (e.details.date()) " · " (e.details.merchant()) " · " (money(Some(e.details.amount())))
                        }
                    }
                }
                button type="submit" { "Save changes" }
            }
            form method="post" action=(url(state, &format!("{base}/delete"))) {
                (csrf(session))
                input type="hidden" name="version" value=(r.version);
                button.danger type="submit" data-confirm="Delete this report? Its expenses stay, in no report." { "Delete report" }
            }
        }
    }
}

/// A report's approval steps in order: the level, who decides it, why the step exists and its
/// decision so far.
fn steps(
    session: &Session,
    people: &BTreeMap<UserId, Person>,
    steps: &[outlay_domain::Step],
) -> Markup {
    html! {
        ol.steps {
            @for s in steps {
                li {
                    strong { (format!("{:?}", s.level).to_lowercase()) } " · "
                    @if let Some(a) = s.approver_id { (name(people, a)) } @else if let Some(r) = s.role { "anyone with the " (r) " role" } @else { "any eligible finance user" }
                    @if let Some(si) = &s.stand_in { " " small.for-whom { "for " (name(people, si.for_id)) } }
                    @if let Some(to) = s.escalated_to { " " small.escalated { "escalated to " (name(people, to)) } }
                    @if let Some(dec) = &s.decision {
                        " · " (format!("{:?}", dec.outcome).to_lowercase()) " by " (name(people, dec.by)) " " small { (session.when(dec.at)) }
                        @if let Some(n) = &dec.note { " — “" (n) "”" }
                    }
                    @if !s.reason.is_empty() { br; small.reason { "Why: " (s.reason) } }
                    @if let Some(si) = &s.stand_in { br; small.reason { (si.note) } }
                }
            }
        }
    }
}

async fn show_page(
    state: &AppState,
    session: &Session,
    id: ReportId,
) -> Result<Response, ErrorPage> {
    let app = &state.app;
    let (d, history, people) = (tokio::try_join!(
        app.report(&session.caller, id),
        app.report_history(&session.caller, id),
        app.people(&session.caller)
    ))?;
    let free = if d.actions.contains(&access::Action::Edit) {
        let unreported = outlay_app::ListParams {
            state: Some("unreported".into()),
            ..outlay_app::ListParams::default()
        };
        let all = PageRequest {
            limit: PageRequest::MAX,
            cursor: None,
        };
        match app
            .list_expenses(&session.caller, "mine", &unreported, &all)
            .await
        {
            Ok(p) => p.items,
            Err(e) => return Err(e.into()),
        }
    } else {
        vec![]
    };
    // The route a submission would get now, for the owner of a draft or rejected report.
    let route = if d.actions.contains(&access::Action::Submit) {
        Some(match app.report_route(&session.caller, id).await {
            Ok(plan) => Ok(plan),
            Err(outlay_app::AppError::Unprocessable(why)) => Err(why),
            Err(e) => return Err(e.into()),
        })
    } else {
        None
    };
    // What each expense's read receipts say against its claim, for the approver to weigh.
    let checks: std::collections::HashMap<_, _> = app
        .report_checks(&session.caller, id)
        .await?
        .into_iter()
        .collect();
    let none = Vec::new();
    let flags: Vec<&Vec<outlay_domain::reading::Flag>> = d
        .expenses
        .iter()
        .map(|info| checks.get(&info.expense.id).unwrap_or(&none))
        .collect();
    let r = &d.report;
    let total = outlay_app::report_total(&d.expenses).or(r.total);
    // The tax the company reclaims, and what is net of it, in the base currency.
    let tax: i64 = d
        .expenses
        .iter()
        .filter_map(|e| e.reclaimable_tax)
        .map(|m| m.minor())
        .sum();
    let net =
        total.and_then(|t| outlay_domain::Money::from_minor(t.minor() - tax, t.currency()).ok());
    let reclaimed = total.and_then(|t| outlay_domain::Money::from_minor(tax, t.currency()).ok());
    let lines_out = d.actions.contains(&access::Action::RejectLine) && d.expenses.len() > 1;
    let body = html! {
        div.summary {
            (state_badge(r.state))
                        span { "Total " strong { (money(total)) } }
            @if let Some(netted) = r.advance_applied { span #payable { "A cash advance settled " (netted.amount_string()) "; to pay " strong { (super::finance::payable_text(r)) } } }
            @if reclaimed.is_some() { span.tax { "Net " (money(net)) " + reclaimable tax " (money(reclaimed)) } }
            span { "Employee: " (name(&people, r.owner_id)) }
            @if let Some(t) = r.submitted_at { span { "Submitted " (session.when(t)) } }
        }
        @if !r.purpose.is_empty() { p { (r.purpose) } }
        @if let Some(reason) = &r.rejection_reason { p.error role="status" { strong { "Rejected: " } (reason) } }
        @if let Some(p) = &r.payment { p.ok { "Paid by " (name(&people, p.by)) " on " (session.when(p.at)) ", reference " strong { (p.reference) } } }
        @if d.actions.contains(&access::Action::Edit) { (edit_form(state, session, &d, &free)) }
        @match &route {
            Some(Ok(plan)) => { section { h2 { "Who will decide" }
                p.hint { "If you submit now, these people decide, in this order." }
                (steps(session, &people, &plan.steps)) } }
            Some(Err(why)) => { section { h2 { "Who will decide" } p.hint { (why) } } }
            None => { @if !r.steps.is_empty() { section { h2 { "Approval steps" } (steps(session, &people, &r.steps)) } } }
        }
        section {
            h2 { "Expenses" }
            div.table-wrap { table.cards {
                thead { tr { th scope="col" { "Date" } th scope="col" { "Merchant" } th scope="col" { "Category" } th.num scope="col" { "Amount" } th.num scope="col" { "Base amount" } th scope="col" { "Policy" }
                    @if lines_out { th scope="col" { "Line" } } } }
                tbody {
                    @for (info, flags) in d.expenses.iter().zip(flags) {
                        @let e = &info.expense;
                        tr {
                            td data-label="Date" { (e.details.date()) }
                            td data-label="Merchant" { @if r.owner_id == session.caller.user.id { a href=(url(state, &format!("/expenses/{}", e.id))) { (e.details.merchant()) } } @else { (e.details.merchant()) } }
                            td data-label="Category" { (e.details.category()) }
                            td.num data-label="Amount" { (money(Some(e.details.amount()))) }
                            td.num data-label="Base amount" { (money(e.base_amount)) }
                            td data-label="Policy" { @if info.violations.is_empty() { span.ok { "ok" } } @else { (super::expenses::violations(info)) }
                                 @if let Some(j) = &e.justification { p.just { "Justification: " (j) } }
                                 @for fl in flags.iter() { p.warn.flag { "Receipt check: " (fl.evidence) } } }
                            @if lines_out {
                                td data-label="Line" {
                                    details.reject-line {
                                        summary { "Reject this line" }
                                        form method="post" action=(url(state, &format!("/reports/{}/expenses/{}/reject", r.id, e.id))) {
                                            (csrf(session))
                                            input type="hidden" name="version" value=(r.version);
                                            label { (format!("Why is {} not reimbursed?", e.details.merchant())) textarea name="reason" maxlength="1000" required {} }
                                            button.danger type="submit" { "Reject line" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
            div.receipts {
                @for info in &d.expenses {
                    @for rc in info.receipts.iter().filter(|x| x.state == outlay_domain::ReceiptState::Stored) {
                        figure.receipt {
                            @if rc.content_type == outlay_domain::ReceiptType::Pdf {
                                a href=(url(state, &format!("/receipts/{}", rc.id))) aria-label=(format!("Receipt {} (PDF)", rc.filename)) { span.pdf-icon aria-hidden="true" { "PDF" } }
                            } @else {
                                img src=(url(state, &format!("/receipts/{}", rc.id))) alt=(format!("Receipt for {}", info.expense.details.merchant())) loading="lazy";
                            }
                            figcaption { (info.expense.details.merchant()) ": " a href=(url(state, &format!("/receipts/{}", rc.id))) { (rc.filename) } }
                        }
                    }
                }
            }
        }
        section.decide { (actions(state, session, &d)) }
        section {
            h2 { "History" }
            ol.timeline {
                @for ev in &history {
                    li {
                        time { (session.when(ev.record.at)) } " "
                        strong { (ev.record.action.trim_start_matches("report.")) } " by "
                        (ev.record.actor_id.as_deref().and_then(|a| UserId::parse(a).ok()).map_or_else(|| "the system".to_owned(), |a| name(&people, a)))
                    }
                }
            }
        }
    };
    Ok(page(state, session, &r.title, body).await)
}

async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, ErrorPage> {
    show_page(&state, &session, report_id(&id)?).await
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    comment: Option<String>,
    reason: Option<String>,
    reference: Option<String>,
}
super::csrf_token!(ActionForm);

async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    CsrfForm(session, f): CsrfForm<ActionForm>,
) -> Result<Response, ErrorPage> {
    let id = report_id(&id)?;
    let action = match action.as_str() {
        "submit" => Action::Submit,
        "withdraw" => Action::Withdraw,
        "approve" => Action::Approve(f.comment.filter(|c| !c.trim().is_empty())),
        "reject" => Action::Reject(f.reason.unwrap_or_default()),
        "pay" => Action::Pay(f.reference.unwrap_or_default()),
        _ => {
            return Err(ErrorPage(
                StatusCode::NOT_FOUND,
                "There is no such action.".into(),
            ));
        }
    };
    let result = state
        .app
        .transition(&session.caller, id, action, None, None)
        .await
        .map(|_| ());
    Ok(after(&state, &session, id, result))
}

#[derive(Deserialize)]
struct LineForm {
    #[serde(default)]
    csrf: String,
    version: Option<i64>,
    #[serde(default)]
    reason: String,
}
super::csrf_token!(LineForm);

async fn reject_line(
    State(state): State<AppState>,
    Path((id, expense_id)): Path<(String, String)>,
    CsrfForm(session, f): CsrfForm<LineForm>,
) -> Result<Response, ErrorPage> {
    let id = report_id(&id)?;
    let expense_id = ExpenseId::parse(&expense_id)
        .map_err(|_| ErrorPage(StatusCode::NOT_FOUND, "There is no such expense.".into()))?;
    let result = state
        .app
        .reject_line(&session.caller, id, expense_id, f.reason, f.version, None)
        .await
        .map(|_| ());
    Ok(after(&state, &session, id, result))
}

#[derive(Deserialize)]
struct EditForm {
    #[serde(default)]
    csrf: String,
    version: Option<i64>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    expense_ids: Vec<String>,
}
super::csrf_token!(EditForm);

async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, f): CsrfForm<EditForm>,
) -> Result<Response, ErrorPage> {
    let id = report_id(&id)?;
    let expense_ids: Result<Vec<ExpenseId>, _> =
        f.expense_ids.iter().map(|i| ExpenseId::parse(i)).collect();
    let result = match expense_ids {
        Ok(ids) if ids.is_empty() => Err(outlay_app::AppError::BadInput(
            "A report keeps at least one expense; to drop them all, delete the report.".into(),
        )),
        Ok(ids) => state
            .app
            .update_report(
                &session.caller,
                id,
                outlay_app::ReportPatch {
                    title: Some(f.title),
                    purpose: Some(f.purpose),
                    expense_ids: Some(ids),
                },
                f.version,
            )
            .await
            .map(|_| ()),
        Err(_) => Err(outlay_app::AppError::BadInput(
            "One of the expenses is not valid.".into(),
        )),
    };
    Ok(after(&state, &session, id, result))
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    csrf: String,
    version: Option<i64>,
}
super::csrf_token!(DeleteForm);

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, f): CsrfForm<DeleteForm>,
) -> Result<Response, ErrorPage> {
    let id = report_id(&id)?;
    Ok(
        match state
            .app
            .delete_report(&session.caller, id, f.version)
            .await
        {
            Ok(()) => Redirect::to(&url(&state, "/reports")).into_response(),
            Err(e) => after(&state, &session, id, Err(e)),
        },
    )
}

/// Where a report form goes next: the report, or back to it with why not.
fn after(
    state: &AppState,
    session: &Session,
    id: ReportId,
    result: outlay_app::Result<()>,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&url(state, &format!("/reports/{id}"))).into_response(),
        Err(e) => {
            let msg = match &e {
                outlay_app::AppError::PolicyViolations(list) => format!(
                    "The report cannot be submitted yet: {}. Fix the expenses (or add a justification for soft rules) and submit again.",
                    list.iter()
                        .map(|(_, v)| v.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                other => message(other),
            };
            session.back(state, &format!("/reports/{id}"), &msg, None::<&()>)
        }
    }
}

async fn approvals(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ListQuery>,
) -> Result<Response, ErrorPage> {
    // Anyone may have something to decide: routing rules name people and roles, not only
    // managers and finance.
    let (people, categories) =
        (tokio::try_join!(state.app.people(&session.caller), state.app.categories()))?;
    let (queue, search_error) = searched(
        state
            .app
            .list_reports(&session.caller, "approvals", &q.search, &q.page())
            .await,
    )?;
    let people_list = people_options(&people);
    let body = html! {
        p { "What waits for your decision, oldest first. Open a report to see its expenses and receipts, or approve several at once." }
        (search_bar(&state, "/approvals", &q, &SearchOptions { categories: &categories, states: &[], people: &people_list, keep: &[] }))
        (alert(search_error.as_deref()))
        @if queue.items.is_empty() { p.empty { "Nothing waits for you." } } @else {
            form method="post" action=(url(&state, "/approvals")) {
                (csrf(&session))
                label.check.select-all { input type="checkbox" data-select-all="ids"; "Select all on this page" }
                (selectable_table(&session, &state, &queue.items, &people, true, Some("ids")))
                label { "Comment for each (optional)" input type="text" name="comment" maxlength="1000"; }
                button type="submit" { "Approve selected" }
            }
        }
        (pager(&state, "/approvals", &q, &[], queue.next_cursor.as_deref()))
    };
    Ok(with_search_status(
        page(&state, &session, "Approvals", body).await,
        &search_error,
    ))
}

#[derive(Deserialize)]
struct ManyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    comment: String,
}
super::csrf_token!(ManyForm);

/// Approves each selected report as its own command (checked, audited, segregation of duties
/// and all): one refusal undoes none of the others, and the page says what became of each.
async fn approve_many(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<ManyForm>,
) -> Response {
    let comment = Some(f.comment.trim().to_owned()).filter(|c| !c.is_empty());
    let result = super::bulk::each_report(&state, &session, &f.ids, || {
        Action::Approve(comment.clone())
    })
    .await;
    super::bulk::outcome(&state, &session, "/approvals", result, |n| {
        format!("{n} report(s) approved.")
    })
}

async fn team(State(state): State<AppState>, session: Session) -> Result<Response, ErrorPage> {
    if !session.has(Role::Manager) {
        return Err(ErrorPage(
            StatusCode::FORBIDDEN,
            "The team view is for managers.".into(),
        ));
    }
    let page_req = PageRequest {
        limit: 20,
        cursor: None,
    };
    let everything = outlay_app::ListParams::default();
    let (team, decided, people) = (tokio::try_join!(
        state.app.team(&session.caller),
        state
            .app
            .list_reports(&session.caller, "decided", &everything, &page_req),
        state.app.people(&session.caller)
    ))?;
    let open: Vec<Report> = team
        .members
        .iter()
        .flat_map(|m| m.open.iter().cloned())
        .collect();
    let body = html! {
        section {
            h2 { "People" }
            @if team.members.is_empty() { p.empty { "Nobody reports to you." } } @else {
                p { "Approved and paid this year: " strong { (money(team.spend_this_year)) } }
                div.table-wrap { table.cards {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Reports to" } th.num scope="col" { "Open reports" } th.num scope="col" { "Spend this year" } } }
                    tbody {
                        @for m in &team.members {
                            tr {
                                td data-label="Name" { (m.user.name) @if !m.user.active { " " span.warn { "(deactivated)" } } }
                                td data-label="Reports to" { @if m.depth == 1 { "you" } @else { (m.user.manager_id.map_or_else(String::new, |id| name(&people, id))) } }
                                td.num data-label="Open reports" { (m.open.len()) }
                                td.num data-label="Spend this year" { (money(m.spend_this_year)) }
                            }
                        }
                    }
                } }
            }
        }
        section {
            h2 { "Open reports" }
            p { "Reports of everyone above that wait for a decision, were rejected, or were withdrawn." }
            (table(&session, &state, &open, &people, true))
        }
        section {
            h2 { "Recently decided by you" }
            (table(&session, &state, &decided.items, &people, true))
        }
    };
    Ok(page(&state, &session, "Team", body).await)
}

//! Finance pages: payments (one by one or in a batch), policy, exchange rates, the spend
//! overview with its chart, and the CSV export.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use outlay_app::{Action, PolicyDraft};
use outlay_domain::{Currency, Money, Role, Severity};
use serde::Deserialize;

use super::{CsrfForm, ErrorPage, Session, csrf, message, money, page, url};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/payments", get(payments).post(pay_batch))
        .route("/policy", get(policy).post(save_policy))
        .route("/policy/preview", axum::routing::post(preview_policy))
        .route("/rates", get(rates).post(add_rate))
        .route("/spend", get(spend))
        .route("/reports.csv", get(export))
}

pub(super) fn finance_only(session: &Session) -> Result<(), ErrorPage> {
    if session.has(Role::Finance) {
        Ok(())
    } else {
        Err(ErrorPage(
            StatusCode::FORBIDDEN,
            "This page is for finance.".into(),
        ))
    }
}

async fn payments_page(state: &AppState, session: &Session) -> Result<Response, ErrorPage> {
    finance_only(session)?;
    let (approved, people, batches, paying) = (tokio::try_join!(
        state.app.payables(&session.caller),
        state.app.people(&session.caller),
        state.app.batches(
            &session.caller,
            &outlay_app::PageRequest {
                limit: 20,
                cursor: None
            }
        ),
        state.app.paying_account(&session.caller),
    ))?;
    let body = html! {
        p { "Approved reports waiting for payment. You cannot pay a report you approved or your own." }
        @if approved.is_empty() { p.empty { "Nothing to pay." } } @else {
            form.card method="post" action=(url(state, "/payments")) {
                (csrf(session))
                label.check.select-all { input type="checkbox" data-select-all="ids"; "Select all I may pay" }
                div.table-wrap { table.cards {
                    thead { tr { th scope="col" { span.visually-hidden { "Select" } } th scope="col" { "Report" } th scope="col" { "Employee" } th.num scope="col" { "Total" } th scope="col" { "Approved" } } }
                    tbody {
                        @for (r, refusal) in &approved {
                            tr {
                                td data-label="Select" {
                                    input type="checkbox" name="ids" value=(r.id) disabled[refusal.is_some()] data-minor=(r.payable().unwrap_or(0)) data-currency=(r.total.map_or(String::new(), |t| t.currency().to_string())) aria-label=(format!("Select {}", r.title));
                                }
                                td data-label="Report" {
                                    a href=(url(state, &format!("/reports/{}", r.id))) { (r.title) }
                                    @if let Some(why) = refusal { br; small.warn { "You cannot pay this: " (why) "." } }
                                }
                                td data-label="Employee" { (people.get(&r.owner_id).map_or("", |p| p.name.as_str())) }
                                td.num data-label="Total" {
                                    (money(r.total))
                                    @if let Some(netted) = r.advance_applied { br; small { "less advance " (netted.amount_string()) ": pay " (payable_text(r)) } }
                                }
                                td data-label="Approved" { (session.when(r.updated_at)) }
                            }
                        }
                    }
                } }
                p.selection aria-live="polite" data-sum-of="ids" { "Nothing selected." }
                div.grid {
                    div {
                        label { "Payment reference for the selected reports" input type="text" name="reference" maxlength="200"; }
                        button type="submit" { "Pay selected" }
                    }
                    div {
                        p { "Or pay them by bank file: a batch holds them until it is paid or fails." }
                        button type="submit" formaction=(url(state, "/payments/batches")) { "Build a payment batch" }
                    }
                }
            }
        }
        (super::batches::batches_section(state, session, &batches.items, paying.as_ref()))
        p { a href=(url(state, "/reports?scope=all")) { "Browse all reports" } " · " a href=(url(state, "/reports.csv")) download { "Export all reports (CSV)" } }
    };
    Ok(page(state, session, "Payments", body).await)
}

async fn payments(State(state): State<AppState>, session: Session) -> Result<Response, ErrorPage> {
    payments_page(&state, &session).await
}

#[derive(Deserialize)]
struct BatchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    reference: String,
}
super::csrf_token!(BatchForm);

async fn pay_batch(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<BatchForm>,
) -> Response {
    let reference = f.reference.trim().to_owned();
    let result = super::bulk::each_report(&state, &session, &f.ids, || {
        Action::Pay(f.reference.clone())
    })
    .await;
    super::bulk::outcome(&state, &session, "/payments", result, |n| {
        format!("{n} report(s) marked paid with reference {reference}.")
    })
}

/// A severity choice; `label` names it where no `label` element around it does.
fn severity_select(
    name: &str,
    current: Option<Severity>,
    allow_off: bool,
    label: Option<&str>,
) -> Markup {
    html! {
        select name=(name) aria-label=[label] {
            @if allow_off { option value="" selected[current.is_none()] { "off" } }
            option value="soft" selected[current == Some(Severity::Soft)] { "soft (needs a justification)" }
            option value="hard" selected[current == Some(Severity::Hard)] { "hard (blocks submission)" }
        }
    }
}

async fn policy_page(state: &AppState, session: &Session) -> Result<Response, ErrorPage> {
    finance_only(session)?;
    let p = (state.app.policy(&session.caller).await)?;
    let body = policy_form(state, session, &p);
    Ok(page(state, session, "Policy", body).await)
}

/// The policy form, filled in with `p`: it saves, or previews what saving would change.
fn policy_form(state: &AppState, session: &Session, p: &outlay_domain::Policy) -> Markup {
    let amount = |m: Option<Money>| m.map(|m| m.amount_string()).unwrap_or_default();
    html! {
        form.card method="post" action=(url(state, "/policy")) {
            (csrf(session))
            p { "Amounts are in the base currency, " strong { (p.base_currency) } ". The mileage and per diem rates have "
                a href=(url(state, "/allowances")) { "their own page" } "." }
            div.grid {
                label { "Senior approval above" input type="text" name="senior_threshold" value=(p.senior_threshold.amount_string()) inputmode="decimal" required; }
                label { "Receipt required from (empty: never)" input type="text" name="receipt_required_from" value=(amount(p.receipt_required_from)) inputmode="decimal"; }
                label { "Missing receipt is" (severity_select("receipt_severity", Some(p.receipt_severity), false, None)) }
                label { "Maximum age in days (empty: none)" input type="number" name="max_age_days" min="1" value=(p.max_age_days.map(|d| d.to_string()).unwrap_or_default()); }
                label { "Duplicates are" (severity_select("duplicates", p.duplicates, true, None)) }
                label { "Allowed currencies (empty: any)" input type="text" name="allowed_currencies" value=(p.allowed_currencies.iter().map(Currency::code).collect::<Vec<_>>().join(", ")) placeholder="USD, EUR"; }
                label { "Company time zone (times are shown in it to whoever has not chosen their own)"
                    (super::zone_select("time_zone", Some(p.time_zone), None))
                }
            }
            fieldset {
                legend { "Reminders and escalation, in working days" }
                div.grid {
                    label { "Remind the approver after (empty: never)" input type="number" name="remind_after_days" min="1" max="365" value=(p.reminders.map(|r| r.remind_after_days.to_string()).unwrap_or_default()); }
                    label { "Escalate to their manager after" input type="number" name="escalate_after_days" min="2" max="365" value=(p.reminders.map(|r| r.escalate_after_days.to_string()).unwrap_or_default()); }
                }
                div.weekdays role="group" aria-label="Working days" {
                    @for d in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] {
                        label.check { input type="checkbox" name="working_days" value=(d) checked[p.calendar.working_days.iter().any(|w| w.to_string() == d)]; (d) }
                    }
                }
                label { "Holidays (YYYY-MM-DD, one per line)"
                    textarea name="holidays" rows="3" { (p.calendar.holidays.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")) }
                }
            }
            fieldset {
                legend { "Categories (clear a name to remove it)" }
                div.table-wrap { table {
                    thead { tr { th { "Name" } th { "Limit per expense" } th { "Over the limit is" } th { "Tax (VAT)" } } }
                    tbody {
                        @for c in p.categories.iter().map(Some).chain([None, None]) {
                            tr {
                                td { input type="text" name="cat_name" value=(c.map_or("", |c| c.name.as_str())) aria-label="Category name"; }
                                td { input type="text" name="cat_limit" value=(amount(c.and_then(|c| c.limit))) inputmode="decimal" aria-label="Limit"; }
                                td { (severity_select("cat_severity", Some(c.map_or(Severity::Soft, |c| c.limit_severity)), false, Some("Over the limit is"))) }
                                td { select name="cat_tax" aria-label="Tax (VAT)" {
                                    option value="no" selected[!c.is_some_and(|c| c.tax_reclaimable)] { "not reclaimable" }
                                    option value="yes" selected[c.is_some_and(|c| c.tax_reclaimable)] { "reclaimable" }
                                } }
                            }
                        }
                    }
                } }
            }
            div.actions {
                button type="submit" { "Save policy" }
                button.secondary type="submit" formaction=(url(state, "/policy/preview")) { "Preview the changes" }
            }
        }
    }
}

async fn policy(State(state): State<AppState>, session: Session) -> Result<Response, ErrorPage> {
    policy_page(&state, &session).await
}

#[derive(Deserialize)]
struct PolicyForm {
    #[serde(default)]
    csrf: String,
    senior_threshold: String,
    #[serde(default)]
    receipt_required_from: String,
    receipt_severity: Severity,
    #[serde(default)]
    max_age_days: String,
    #[serde(default)]
    duplicates: String,
    #[serde(default)]
    allowed_currencies: String,
    #[serde(default)]
    cat_name: Vec<String>,
    #[serde(default)]
    cat_limit: Vec<String>,
    #[serde(default)]
    cat_severity: Vec<Severity>,
    #[serde(default)]
    cat_tax: Vec<String>,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    working_days: Vec<String>,
    #[serde(default)]
    holidays: String,
    #[serde(default)]
    remind_after_days: String,
    #[serde(default)]
    escalate_after_days: String,
}
super::csrf_token!(PolicyForm);

async fn save_policy(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<PolicyForm>,
) -> Response {
    let draft = f.draft();
    let result = state
        .app
        .put_policy_draft(&session.caller, &draft)
        .await
        .map_err(|e| message(&e));
    match result {
        Ok(_) => session.done(&state, "/policy", "Policy saved."),
        Err(e) => session.back(&state, "/policy", &e, None::<&()>),
    }
}

/// What the policy form would change, on the expenses of the last 30 days and the reports
/// waiting for a decision, above the form again to change or save it. Nothing is written, so
/// the page answers the post itself.
async fn preview_policy(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<PolicyForm>,
) -> Result<Response, ErrorPage> {
    finance_only(&session)?;
    let draft = f.draft();
    let base = state.app.policy(&session.caller).await?.base_currency;
    let proposed = match draft.parse(base) {
        Ok(p) => p,
        Err(e) => return Ok(session.back(&state, "/policy", &e, None::<&()>)),
    };
    let (preview, people) = (tokio::try_join!(
        state.app.preview_policy_draft(&session.caller, &draft, 30),
        state.app.people(&session.caller)
    ))?;
    let who = |id: outlay_domain::UserId| {
        people
            .get(&id)
            .map_or_else(|| id.to_string(), |p| p.name.clone())
    };
    let steps = |s: &[outlay_domain::Step]| {
        s.iter()
            .map(|s| {
                let level = format!("{:?}", s.level).to_lowercase();
                match s.approver_id {
                    Some(a) => format!("{level} ({})", who(a)),
                    None => level,
                }
            })
            .collect::<Vec<_>>()
            .join(" → ")
    };
    let body = html! {
        section.card #preview aria-labelledby="preview-title" {
            h2 #preview-title { "What this policy would change" }
            p { "Replayed under it: " (preview.expenses_checked) " expense(s) of submitted reports from the last " (preview.days) " days, and " (preview.reports_checked) " report(s) waiting for a decision. Nothing has been saved." }
            @if preview.truncated { p.error { "There was more to replay than one preview does (5,000 of each); the rest was left out." } }
            @if preview.violations.is_empty() && preview.routes.is_empty() { p.ok role="status" { "Nothing would change." } }
            @if !preview.violations.is_empty() {
                div.table-wrap { table.cards {
                    caption { "Expenses whose policy issues would change" }
                    thead { tr { th scope="col" { "Expense" } th scope="col" { "Employee" } th scope="col" { "Would break" } th scope="col" { "Would no longer break" } } }
                    tbody { @for c in &preview.violations { tr {
                        td data-label="Expense" { @if let Some(r) = c.report_id { a href=(url(&state, &format!("/reports/{r}"))) { (c.merchant) } } @else { (c.merchant) } }
                        td data-label="Employee" { (who(c.owner_id)) }
                        td data-label="Would break" { @for v in &c.added { div { strong { (v.rule.replace('_', " ")) } ": " (v.message) } } }
                        td data-label="Would no longer break" { @for v in &c.removed { div { strong { (v.rule.replace('_', " ")) } ": " (v.message) } } }
                    } } }
                } }
            }
            @if !preview.routes.is_empty() {
                div.table-wrap { table.cards {
                    caption { "Reports whose route would change" }
                    thead { tr { th scope="col" { "Report" } th scope="col" { "Now" } th scope="col" { "Under this policy" } } }
                    tbody { @for r in &preview.routes { tr {
                        td data-label="Report" { a href=(url(&state, &format!("/reports/{}", r.report_id))) { (r.title) } }
                        td data-label="Now" { (steps(&r.before)) }
                        td data-label="Under this policy" { (steps(&r.after)) }
                    } } }
                } }
            }
        }
        (policy_form(&state, &session, &proposed))
    };
    Ok(page(&state, &session, "Policy preview", body).await)
}

impl PolicyForm {
    /// The draft the form says.
    fn draft(self) -> PolicyDraft {
        let f = self;
        PolicyDraft {
            senior_threshold: f.senior_threshold,
            receipt_required_from: f.receipt_required_from,
            receipt_severity: f.receipt_severity,
            max_age_days: f.max_age_days,
            duplicates: f.duplicates,
            allowed_currencies: f.allowed_currencies,
            time_zone: f.time_zone,
            working_days: f.working_days,
            holidays: f.holidays,
            remind_after_days: f.remind_after_days,
            escalate_after_days: f.escalate_after_days,
            categories: f
                .cat_name
                .into_iter()
                .enumerate()
                .map(|(i, name)| {
                    (
                        name,
                        f.cat_limit.get(i).cloned().unwrap_or_default(),
                        f.cat_severity.get(i).copied().unwrap_or(Severity::Soft),
                        f.cat_tax.get(i).is_some_and(|t| t == "yes"),
                    )
                })
                .collect(),
        }
    }
}

async fn rates_page(state: &AppState, session: &Session) -> Result<Response, ErrorPage> {
    let (base, list) = (state.app.rates(&session.caller).await)?;
    let body = html! {
        p { "One unit of a currency in " (base) ", by day. An expense uses the rate of its own date, or the nearest earlier one up to 7 days old." }
        form.card.inline method="post" action=(url(state, "/rates")) {
            (csrf(session))
            label { "Date" input type="date" name="date" value=(session.today()) required; }
            label { "Currency" input type="text" name="currency" maxlength="3" pattern="[A-Za-z]{3}" placeholder="EUR" required; }
            label { "Rate" input type="text" name="rate" inputmode="decimal" placeholder="1.0850" required; }
            button type="submit" { "Add rate" }
        }
        @if list.is_empty() { p.empty { "No rates yet." } } @else {
            div.table-wrap { table {
                thead { tr { th { "Date" } th { "Currency" } th.num { "Rate" } } }
                tbody { @for r in &list { tr { td { (r.date) } td { (r.currency) } td.num { (r.rate) } } } }
            } }
        }
    };
    Ok(page(state, session, "Exchange rates", body).await)
}

async fn rates(State(state): State<AppState>, session: Session) -> Result<Response, ErrorPage> {
    rates_page(&state, &session).await
}

#[derive(Deserialize)]
struct RateForm {
    #[serde(default)]
    csrf: String,
    date: String,
    currency: String,
    rate: String,
}
super::csrf_token!(RateForm);

async fn add_rate(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<RateForm>,
) -> Response {
    match state
        .app
        .put_rates(
            &session.caller,
            vec![(
                f.date,
                f.currency.trim().to_uppercase(),
                f.rate.trim().to_owned(),
            )],
        )
        .await
    {
        Ok(_) => Redirect::to(&url(&state, "/rates")).into_response(),
        Err(e) => session.back(&state, "/rates", &message(&e), None::<&()>),
    }
}

/// A bar chart that is also a table: each row a label (a link to the figures behind it), a
/// bar (a `meter`, so no inline style is needed) and the amount, readable at any width and by
/// screen readers.
fn bars(title: &str, rows: &[(String, i64, Option<String>)], currency: Currency) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1);
    html! {
        figure.chart {
            table.bars {
                caption { (title) " (" (currency) ")" }
                thead { tr { th scope="col" { "What" } th scope="col" { span.visually-hidden { "Share" } } th.num scope="col" { "Amount" } } }
                tbody {
                    @for (label, minor, href) in rows {
                        @let amount = Money::from_minor(*minor, currency).map(|m| m.amount_string()).unwrap_or_default();
                        tr {
                            th scope="row" { @if let Some(href) = href { a href=(href) { (label) } } @else { (label) } }
                            td.bar { meter min="0" max=(max) value=(minor) aria-label=(format!("{label}: {amount} {currency}")) { (amount) } }
                            td.num { (amount) }
                        }
                    }
                }
            }
        }
    }
}

async fn spend(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<super::ListQuery>,
) -> Result<Response, ErrorPage> {
    finance_only(&session)?;
    let app = &state.app;
    let (policy, people, categories) = (tokio::try_join!(
        app.policy(&session.caller),
        app.people(&session.caller),
        app.categories()
    ))?;
    let filter = match outlay_app::ListFilter::parse(&q.search, policy.base_currency) {
        Ok(f) => outlay_app::SpendFilter {
            from: f.from,
            to: f.to,
            owner_id: f.owner_id,
            category: f.category,
        },
        Err(e) => return Err(e.into()),
    };
    let s = (app.spend(&session.caller, &filter).await)?;
    // A link to this page with one more narrowing: a category, or a month's days.
    let narrowed = |extra: &[(&str, &str)]| {
        let mut search = q.search.clone();
        for (k, v) in extra {
            match *k {
                "category" => search.category = Some((*v).to_owned()),
                "from" => search.from = Some((*v).to_owned()),
                "to" => search.to = Some((*v).to_owned()),
                _ => {}
            }
        }
        super::ListQuery {
            search,
            cursor: None,
        }
        .href_with(&state, "/spend", &[])
    };
    let mut by_category: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_month: BTreeMap<String, i64> = BTreeMap::new();
    for r in &s.rows {
        *by_category.entry(r.category.clone()).or_default() += r.total.minor();
        *by_month.entry(r.month.clone()).or_default() += r.total.minor();
    }
    let category_rows: Vec<(String, i64, Option<String>)> = by_category
        .into_iter()
        .map(|(c, m)| {
            let href = narrowed(&[("category", &c)]);
            (c, m, Some(href))
        })
        .collect();
    let month_rows: Vec<(String, i64, Option<String>)> = by_month
        .into_iter()
        .map(|(month, m)| {
            let first = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok();
            let last = first
                .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
                .and_then(|d| d.pred_opt());
            let href = match (first, last) {
                (Some(f), Some(l)) => narrowed(&[("from", &f.to_string()), ("to", &l.to_string())]),
                _ => narrowed(&[]),
            };
            (month, m, Some(href))
        })
        .collect();
    let centre_rows: Vec<(String, i64, Option<String>)> = s
        .by_cost_centre
        .iter()
        .map(|(code, m)| {
            let label = match policy.org.cost_centre(code) {
                Some(c) => format!("{code} · {}", c.name),
                None if code.is_empty() => "No cost centre".to_owned(),
                None => code.clone(),
            };
            (label, m.minor(), None)
        })
        .collect();
    let project_rows: Vec<(String, i64, Option<String>)> = s
        .by_project
        .iter()
        .map(|(code, m)| {
            let label = match policy.org.project(code).and_then(|p| p.budget) {
                Some(b) => format!(
                    "{code} ({}% of its budget of {})",
                    m.minor().saturating_mul(100) / b.minor().max(1),
                    b.grouped()
                ),
                None => code.clone(),
            };
            (label, m.minor(), None)
        })
        .collect();
    let mut people_list: Vec<(String, String)> = people
        .iter()
        .map(|(id, p)| (id.to_string(), p.name.clone()))
        .collect();
    people_list.sort_by(|a, b| a.1.cmp(&b.1));
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let body = html! {
        p { "Approved and paid expenses, by the month they were spent in. Choose a bar to narrow the figures to it." }
        form.search role="search" method="get" action=(url(&state, "/spend")) {
            label { "From" input type="date" name="from" value=(v(&q.search.from)); }
            label { "To" input type="date" name="to" value=(v(&q.search.to)); }
            label { "Employee"
                select name="owner_id" {
                    option value="" { "Anyone" }
                    @for (id, name) in &people_list { option value=(id) selected[q.search.owner_id.as_deref() == Some(id.as_str())] { (name) } }
                }
            }
            label { "Category"
                select name="category" {
                    option value="" { "Any" }
                    @for c in &categories { option value=(c) selected[q.search.category.as_deref() == Some(c.as_str())] { (c) } }
                }
            }
            div.search-actions { button type="submit" { "Show" } @if q.is_searching() { a href=(url(&state, "/spend")) { "Clear" } } }
        }
        @if s.rows.is_empty() { p.empty { "No approved spend here." } } @else {
            p.big { "Total: " strong { (money(s.total)) } " in " (s.reports.len()) " report(s)" }
            div.charts {
                (bars("By category", &category_rows, s.currency))
                (bars("By month", &month_rows, s.currency))
                @if !centre_rows.is_empty() { (bars("By cost centre", &centre_rows, s.currency)) }
                @if !project_rows.is_empty() { (bars("By project", &project_rows, s.currency)) }
            }
            section {
                h2 { "The reports behind these figures" }
                (super::reports::table(&session, &state, &s.reports, &people, true))
            }
        }
    };
    Ok(page(&state, &session, "Spend", body).await)
}

async fn export(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<super::ListQuery>,
) -> Result<Response, ErrorPage> {
    let bytes = state.app.reports_csv(&session.caller, &q.search).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"outlay-reports.csv\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// What a report still pays, for people.
pub(super) fn payable_text(r: &outlay_domain::Report) -> String {
    r.payable_amount()
        .zip(r.total)
        .map(|(p, t)| format!("{p} {}", t.currency()))
        .unwrap_or_default()
}

//! Finance's journal page: a period's balanced entries, their files for Xero, QuickBooks
//! Online, DATEV or a spreadsheet, and the ledger accounts they post to.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{Datelike, NaiveDate};
use maud::html;
use outlay_domain::allowance::minor_string;
use outlay_domain::journal::{Datev, GlAccount, JournalFormat, Ledger};
use serde::Deserialize;

use super::finance::finance_only;
use super::{CsrfForm, ErrorPage, Session, csrf, message, page, url};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/journal", get(show))
        .route("/journal/file", get(file))
        .route("/journal/ledger", post(save))
}

#[derive(Deserialize, Default)]
struct Period {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    format: String,
}

/// The period asked for; this month so far, in the company's time zone, when none is.
async fn period(
    state: &AppState,
    session: &Session,
    q: &Period,
) -> Result<(NaiveDate, NaiveDate), ErrorPage> {
    let zone = state.app.policy(&session.caller).await?.time_zone;
    let today = zone.day(chrono::Utc::now());
    let parse = |raw: &str, default: NaiveDate| {
        if raw.trim().is_empty() {
            Ok(default)
        } else {
            crate::journal::day(raw, "the day")
                .map_err(|e| ErrorPage(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))
        }
    };
    let first = today.with_day(1).unwrap_or(today);
    Ok((parse(&q.from, first)?, parse(&q.to, today)?))
}

async fn show(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<Period>,
) -> Result<Response, ErrorPage> {
    finance_only(&session)?;
    let (from, to) = period(&state, &session, &q).await?;
    let journal = state.app.journal(&session.caller, from, to).await;
    let ledger = state.app.ledger(&session.caller).await?;
    let categories = state.app.categories().await?;
    let a = &ledger.accounts;
    let link = |format: JournalFormat| {
        url(
            &state,
            &format!(
                "/journal/file?from={from}&to={to}&format={}",
                format.as_str()
            ),
        )
    };
    let body = html! {
        form.card method="get" action=(url(&state, "/journal")) {
            div.grid {
                label { "From" input type="date" name="from" value=(from) required; }
                label { "To" input type="date" name="to" value=(to) required; }
            }
            button type="submit" { "Show the journal" }
        }
        @match &journal {
            Err(e) => { p.error role="alert" { (message(e)) } }
            Ok(j) => {
                p.downloads {
                    "Download for "
                    a href=(link(JournalFormat::Xero)) { "Xero" } ", "
                    a href=(link(JournalFormat::Qbo)) { "QuickBooks Online" } ", "
                    a href=(link(JournalFormat::Datev)) { "DATEV" } " or "
                    a href=(link(JournalFormat::Csv)) { "a spreadsheet (CSV)" } "."
                }
                @if j.entries.is_empty() {
                    p { "Nothing was approved or paid in this period." }
                } @else {
                    div.table-wrap { table #journal {
                        thead { tr { th { "Date" } th { "Reference" } th { "Account" } th { "Cost centre" } th.num { "Debit" } th.num { "Credit" } th { "Memo" } } }
                        tbody {
                            @for e in &j.entries {
                                tr.entry { td colspan="7" { strong { (e.date) " · " (e.reference) } " " (e.narration) } }
                                @for l in &e.lines {
                                    tr {
                                        td {} td {}
                                        td { (l.account.code) " " (l.account.name) }
                                        td { (l.cost_centre.as_deref().unwrap_or("")) }
                                        td.num { @if l.debit > 0 { (minor_string(l.debit, e.currency)) } }
                                        td.num { @if l.credit > 0 { (minor_string(l.credit, e.currency)) } }
                                        td { (l.memo) }
                                    }
                                }
                            }
                        }
                        tfoot { tr {
                            td colspan="4" { "Total (" (j.currency) ")" }
                            @let total: i64 = j.entries.iter().flat_map(|e| &e.lines).map(|l| l.debit).sum();
                            td.num #journal-debits { (minor_string(total, j.currency)) }
                            td.num #journal-credits { (minor_string(j.entries.iter().flat_map(|e| &e.lines).map(|l| l.credit).sum(), j.currency)) }
                            td {}
                        } }
                    } }
                }
            }
        }
        form.card method="post" action=(url(&state, "/journal/ledger")) {
            (csrf(&session))
            fieldset {
                legend { "Ledger accounts" }
                div.table-wrap { table {
                    thead { tr { th { "Posts" } th { "Code" } th { "Name" } } }
                    tbody {
                        @for (key, what, acc) in [("expense", "Expenses of other categories", &a.expense), ("input_tax", "Input tax (VAT)", &a.input_tax), ("payables", "Owed to employees", &a.payables), ("bank", "Bank", &a.bank), ("advances", "Cash advances", &a.advances)] {
                            tr {
                                td { (what) }
                                td { input type="text" name={(key) "_code"} maxlength="20" aria-label={(what) " code"} value=(acc.code) required; }
                                td { input type="text" name={(key) "_name"} maxlength="100" aria-label={(what) " name"} value=(acc.name) required; }
                            }
                        }
                        @for c in &categories {
                            @let acc = a.by_category.get(c);
                            tr {
                                td { "Category " (c) input type="hidden" name="category" value=(c); }
                                td { input type="text" name="category_code" maxlength="20" aria-label={(c) " code"} placeholder=(a.expense.code) value=(acc.map_or("", |a| a.code.as_str())); }
                                td { input type="text" name="category_name" maxlength="100" aria-label={(c) " name"} placeholder=(a.expense.name) value=(acc.map_or("", |a| a.name.as_str())); }
                            }
                        }
                    }
                } }
                p.hint { "A category without a code of its own posts to the expenses of other categories." }
                div.grid {
                    label { "Xero's tax rate for every line" input type="text" name="xero_tax_rate" maxlength="50" value=(ledger.xero_tax_rate) required; }
                    label { "DATEV consultant number (Beraternummer)" input type="text" name="datev_consultant" inputmode="numeric" value=(ledger.datev.as_ref().map(|d| d.consultant.to_string()).unwrap_or_default()); }
                    label { "DATEV client number (Mandantennummer)" input type="text" name="datev_client" inputmode="numeric" value=(ledger.datev.as_ref().map(|d| d.client.to_string()).unwrap_or_default()); }
                    label { "Fiscal year starts in month" input type="number" name="datev_month" min="1" max="12" value=(ledger.datev.as_ref().map_or(1, |d| d.fiscal_year_start_month)); }
                    label { "Chart of accounts" select name="datev_chart" {
                        @for (v, n) in [("03", "SKR03"), ("04", "SKR04")] {
                            option value=(v) selected[ledger.datev.as_ref().is_some_and(|d| d.chart == v)] { (n) }
                        }
                    } }
                }
            }
            button type="submit" { "Save the ledger accounts" }
        }
    };
    Ok(page(&state, &session, "Journal", body).await)
}

async fn file(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<Period>,
) -> Result<Response, ErrorPage> {
    finance_only(&session)?;
    let (from, to) = period(&state, &session, &q).await?;
    let format = JournalFormat::parse(&q.format)
        .ok_or_else(|| ErrorPage(StatusCode::NOT_FOUND, "No such file format.".into()))?;
    match state
        .app
        .journal_file(&session.caller, from, to, format)
        .await
    {
        Ok(bytes) => Ok(crate::journal::journal_response(bytes, format, from, to)),
        Err(e) => Ok(session.back(
            &state,
            &format!("/journal?from={from}&to={to}"),
            &message(&e),
            None::<&()>,
        )),
    }
}

#[derive(Deserialize, Default)]
struct LedgerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    expense_code: String,
    #[serde(default)]
    expense_name: String,
    #[serde(default)]
    input_tax_code: String,
    #[serde(default)]
    input_tax_name: String,
    #[serde(default)]
    payables_code: String,
    #[serde(default)]
    payables_name: String,
    #[serde(default)]
    bank_code: String,
    #[serde(default)]
    bank_name: String,
    #[serde(default)]
    advances_code: String,
    #[serde(default)]
    advances_name: String,
    #[serde(default)]
    category: Vec<String>,
    #[serde(default)]
    category_code: Vec<String>,
    #[serde(default)]
    category_name: Vec<String>,
    #[serde(default)]
    xero_tax_rate: String,
    #[serde(default)]
    datev_consultant: String,
    #[serde(default)]
    datev_client: String,
    #[serde(default)]
    datev_month: String,
    #[serde(default)]
    datev_chart: String,
}
super::csrf_token!(LedgerForm);

impl LedgerForm {
    /// The ledger the form says: a category row without a code is left to the default
    /// account; DATEV's numbers are kept when both are given.
    fn ledger(&self) -> Result<Ledger, String> {
        let acc = |code: &str, name: &str| GlAccount {
            code: code.trim().to_owned(),
            name: name.trim().to_owned(),
        };
        let mut ledger = Ledger {
            xero_tax_rate: self.xero_tax_rate.trim().to_owned(),
            ..Ledger::default()
        };
        let a = &mut ledger.accounts;
        a.expense = acc(&self.expense_code, &self.expense_name);
        a.input_tax = acc(&self.input_tax_code, &self.input_tax_name);
        a.payables = acc(&self.payables_code, &self.payables_name);
        a.bank = acc(&self.bank_code, &self.bank_name);
        a.advances = acc(&self.advances_code, &self.advances_name);
        for (i, category) in self.category.iter().enumerate() {
            let code = self.category_code.get(i).map_or("", String::as_str);
            if code.trim().is_empty() {
                continue;
            }
            let name = self.category_name.get(i).map_or("", String::as_str).trim();
            let name = if name.is_empty() {
                category.as_str()
            } else {
                name
            };
            a.by_category.insert(category.clone(), acc(code, name));
        }
        let (consultant, client) = (self.datev_consultant.trim(), self.datev_client.trim());
        if !(consultant.is_empty() && client.is_empty()) {
            let number = |s: &str, what: &str| {
                s.parse::<u32>()
                    .map_err(|_| format!("DATEV's {what} number is a whole number"))
            };
            ledger.datev = Some(Datev {
                consultant: number(consultant, "consultant")?,
                client: number(client, "client")?,
                fiscal_year_start_month: self.datev_month.trim().parse().unwrap_or(1),
                chart: self.datev_chart.clone(),
            });
        }
        Ok(ledger)
    }
}

async fn save(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<LedgerForm>,
) -> Response {
    let saved = match f.ledger() {
        Ok(ledger) => state
            .app
            .put_ledger(&session.caller, ledger)
            .await
            .map_err(|e| message(&e)),
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => session.done(&state, "/journal", "The ledger accounts are saved."),
        Err(e) => session.back(&state, "/journal", &e, None::<&()>),
    }
}

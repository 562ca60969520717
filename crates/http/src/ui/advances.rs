//! Cash advances in the browser: anyone asks for one; their manager (or finance) decides it;
//! finance pays it out, settles it against the owner's reports and records repayments.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::html;
use outlay_domain::advance::{Advance, AdvanceId, AdvanceState};
use outlay_domain::allowance::minor_string;
use serde::Deserialize;

use super::{CsrfForm, ErrorPage, Session, csrf, message, page, url};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/advances", get(list).post(request))
        .route("/advances/{id}", get(show))
        .route("/advances/{id}/{action}", post(act))
}

fn advance_id(raw: &str) -> Result<AdvanceId, ErrorPage> {
    AdvanceId::parse(raw)
        .map_err(|_| ErrorPage(StatusCode::NOT_FOUND, "There is no such advance.".into()))
}

fn amount(a: &Advance) -> String {
    format!("{} {}", a.amount.amount_string(), a.amount.currency())
}

async fn list(State(state): State<AppState>, session: Session) -> Result<Response, ErrorPage> {
    let advances = state.app.advances(&session.caller).await?;
    let names = state.app.owner_names(&advances).await?;
    let body = html! {
        form.card #request method="post" action=(url(&state, "/advances")) {
            (csrf(&session))
            h2 { "Ask for a cash advance" }
            p { "Your manager decides it; finance pays it out. Your reports then settle it, and what you do not spend you pay back." }
            div.grid {
                label { "Amount" input type="text" name="amount" inputmode="decimal" required; }
                label { "Currency" input type="text" name="currency" maxlength="3" required placeholder="USD"; }
            }
            label { "What it is for" input type="text" name="purpose" maxlength="200" required; }
            button type="submit" { "Ask for the advance" }
        }
        @if advances.is_empty() {
            p { "No advances yet." }
        } @else {
            div.table-wrap { table #advances {
                thead { tr { th { "For" } th { "Whose" } th.num { "Amount" } th { "State" } th.num { "Outstanding" } th { "Due" } } }
                tbody {
                    @for a in &advances {
                        tr {
                            td { a href=(url(&state, &format!("/advances/{}", a.id))) { (a.purpose) } }
                            td { (names.get(&a.owner_id).map_or("", String::as_str)) }
                            td.num { (amount(a)) }
                            td { (a.state.as_str().replace('_', " ")) }
                            td.num { (minor_string(a.outstanding(), a.amount.currency())) }
                            td { (a.due_on.map(|d| d.to_string()).unwrap_or_default()) }
                        }
                    }
                }
            } }
        }
    };
    Ok(page(&state, &session, "Cash advances", body).await)
}

#[derive(Deserialize, Default)]
struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    purpose: String,
}
super::csrf_token!(RequestForm);

async fn request(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<RequestForm>,
) -> Response {
    match state
        .app
        .request_advance(&session.caller, &f.amount, &f.currency, &f.purpose)
        .await
    {
        Ok(a) => session.done(
            &state,
            &format!("/advances/{}", a.id),
            "Your advance is asked for; your approver is told.",
        ),
        Err(e) => session.back(&state, "/advances", &message(&e), None::<&()>),
    }
}

async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, ErrorPage> {
    let a = state.app.advance(&session.caller, advance_id(&id)?).await?;
    let names = state.app.owner_names(std::slice::from_ref(&a)).await?;
    let me = &session.caller.user;
    let decides = a.state == AdvanceState::Requested && a.is_approver(me);
    let handles = a.may_handle_money_as(me).is_ok();
    let reports = if handles && a.state == AdvanceState::PaidOut {
        state.app.settleable_reports(&session.caller, &a).await?
    } else {
        vec![]
    };
    let here = format!("/advances/{}", a.id);
    let action = |what: &str| url(&state, &format!("{here}/{what}"));
    let currency = a.amount.currency();
    let body = html! {
        dl.summary {
            dt { "For" } dd { (a.purpose) }
            dt { "Whose" } dd { (names.get(&a.owner_id).map_or("", String::as_str)) }
            dt { "Amount" } dd { (amount(&a)) }
            dt { "State" } dd #state { (a.state.as_str().replace('_', " ")) }
            dt { "Outstanding" } dd #outstanding { (minor_string(a.outstanding(), currency)) " " (currency) }
            @if let Some(d) = &a.decision { dt { "Decided" } dd { (d.at.format("%Y-%m-%d")) @if !d.note.is_empty() { ": " (d.note) } } }
            @if let Some(p) = &a.payout { dt { "Paid out" } dd { (p.at.format("%Y-%m-%d")) ", " (p.note) } }
            @if let Some(d) = a.due_on { dt { "Due" } dd { (d) } }
        }
        @if !a.applied.is_empty() || !a.repaid.is_empty() {
            h2 { "Settled" }
            ul #settled {
                @for x in &a.applied { li { (x.amount.amount_string()) " " (currency) " by report " a href=(url(&state, &format!("/reports/{}", x.report_id))) { (x.report_id) } " (" (x.base.amount_string()) " " (x.base.currency()) " less to pay)" } }
                @for x in &a.repaid { li { (x.amount.amount_string()) " " (currency) " paid back (" (x.act.note) ")" } }
            }
        }
        @if a.state == AdvanceState::Requested && a.owner_id == me.id {
            form method="post" action=(action("cancel")) { (csrf(&session)) button type="submit" { "Cancel the request" } }
        }
        @if decides {
            form.card method="post" action=(action("approve")) {
                (csrf(&session))
                label { "Comment or reason" input type="text" name="text" maxlength="500"; }
                button type="submit" { "Approve" }
                " "
                button type="submit" formaction=(action("reject")) { "Reject" }
            }
        }
        @if handles && a.state == AdvanceState::Approved {
            form.card method="post" action=(action("pay-out")) {
                (csrf(&session))
                h2 { "Pay it out" }
                div.grid {
                    label { "Bank reference" input type="text" name="text" maxlength="140" required; }
                    label { "Due to be settled within (days)" input type="number" name="days" min="1" max="365" value="30"; }
                }
                button type="submit" { "Mark paid out" }
            }
        }
        @if handles && a.state == AdvanceState::PaidOut {
            form.card method="post" action=(action("settle")) {
                (csrf(&session))
                h2 { "Settle it with a report" }
                @if reports.is_empty() {
                    p { "No approved report of theirs is waiting to be paid." }
                } @else {
                    label { "Report" select name="report_id" {
                        @for r in &reports {
                            option value=(r.id) { (r.title) " (" (super::finance::payable_text(r)) ")" }
                        }
                    } }
                    button type="submit" { "Net it against the report" }
                }
            }
            form.card method="post" action=(action("repay")) {
                (csrf(&session))
                h2 { "Record a repayment" }
                div.grid {
                    label { "Amount (" (currency) ")" input type="text" name="amount" inputmode="decimal" required value=(minor_string(a.outstanding(), currency)); }
                    label { "Bank reference" input type="text" name="text" maxlength="140" required; }
                }
                button type="submit" { "Record the repayment" }
            }
        }
    };
    Ok(page(&state, &session, "Cash advance", body).await)
}

#[derive(Deserialize, Default)]
struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    report_id: String,
    #[serde(default)]
    amount: String,
}
super::csrf_token!(ActForm);

async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    CsrfForm(session, f): CsrfForm<ActForm>,
) -> Result<Response, ErrorPage> {
    let id = advance_id(&id)?;
    let back = format!("/advances/{id}");
    let app = &state.app;
    let caller = &session.caller;
    let result = match action.as_str() {
        "cancel" => app.cancel_advance(caller, id).await,
        "approve" => app.decide_advance(caller, id, true, &f.text).await,
        "reject" => app.decide_advance(caller, id, false, &f.text).await,
        "pay-out" => match f.days.trim() {
            "" => app.pay_out_advance(caller, id, &f.text, None).await,
            days => match days.parse() {
                Ok(days) => app.pay_out_advance(caller, id, &f.text, Some(days)).await,
                Err(_) => Err(outlay_app::AppError::Unprocessable(
                    "the days until it is due are a whole number, 1 to 365".into(),
                )),
            },
        },
        "settle" => match outlay_domain::ReportId::parse(f.report_id.trim()) {
            Ok(report) => app.settle_advance(caller, id, report).await.map(|(a, _)| a),
            Err(_) => Err(outlay_app::AppError::Unprocessable(
                "choose a report".into(),
            )),
        },
        "repay" => app.repay_advance(caller, id, &f.amount, &f.text).await,
        _ => {
            return Err(ErrorPage(
                StatusCode::NOT_FOUND,
                "There is no such action.".into(),
            ));
        }
    };
    Ok(match result {
        Ok(a) => session.done(
            &state,
            &back,
            &format!("The advance is {}.", a.state.as_str().replace('_', " ")),
        ),
        Err(e) => session.back(&state, &back, &message(&e), None::<&()>),
    })
}

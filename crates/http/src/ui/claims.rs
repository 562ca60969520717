//! Mileage and per diem on the expenses page: the two claim forms, their live quote (the
//! script asks `/expenses/quote` as the fields change), and a claim's breakdown on its page.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use maud::{Markup, html};
use outlay_app::{ClaimInput, ExpenseInput};
use outlay_domain::allowance::{Claim, minor_string};
use outlay_domain::{MealsProvided, Policy};
use serde::Deserialize;

use super::{CsrfForm, Session, csrf, message, url};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/expenses/claims", post(create))
        .route("/expenses/quote", post(quote))
}

/// The mileage or per diem form.
#[derive(Deserialize, serde::Serialize, Default)]
pub(super) struct ClaimForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    kind: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    distance: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    vehicle: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    until: String,
    /// The days a breakfast was provided (one box per day of the stay).
    #[serde(default)]
    breakfast: Vec<String>,
    #[serde(default)]
    lunch: Vec<String>,
    #[serde(default)]
    dinner: Vec<String>,
    #[serde(default)]
    description: String,
}
super::csrf_token!(ClaimForm);

impl ClaimForm {
    fn claim(&self) -> Result<(ClaimInput, Option<chrono::NaiveDate>), String> {
        let date = match self.date.trim() {
            "" => None,
            d => Some(
                chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| "the date is not a date".to_owned())?,
            ),
        };
        let input = match self.kind.as_str() {
            "mileage" => ClaimInput::Mileage {
                distance: self.distance.trim().to_owned(),
                unit: self.unit.clone(),
                vehicle: self.vehicle.clone(),
                from_place: Some(self.from.clone()),
                to_place: Some(self.to.clone()),
            },
            "per_diem" => {
                let mut days =
                    std::collections::BTreeMap::<chrono::NaiveDate, MealsProvided>::new();
                for (list, meal) in [(&self.breakfast, 0), (&self.lunch, 1), (&self.dinner, 2)] {
                    for d in list {
                        let date = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                            .map_err(|_| "a meal's day is not a date".to_owned())?;
                        let m = days.entry(date).or_insert(MealsProvided {
                            date,
                            breakfast: false,
                            lunch: false,
                            dinner: false,
                        });
                        match meal {
                            0 => m.breakfast = true,
                            1 => m.lunch = true,
                            _ => m.dinner = true,
                        }
                    }
                }
                ClaimInput::PerDiem {
                    place: self.country.clone(),
                    from: self.from.clone(),
                    until: self.until.clone(),
                    meals_provided: days.into_values().collect(),
                }
            }
            _ => return Err("choose mileage or per diem".into()),
        };
        Ok((input, date))
    }
}

async fn create(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<ClaimForm>,
) -> Response {
    let claim = match f.claim() {
        Ok((claim, _)) => claim,
        Err(m) => return session.back(&state, "/expenses", &m, None::<&ClaimForm>),
    };
    let input = ExpenseInput {
        date: f.date.clone(),
        merchant: String::new(),
        category: String::new(),
        amount: String::new(),
        currency: String::new(),
        description: Some(f.description.clone()),
        justification: None,
        allocation: Default::default(),
        claim: Some(claim),
        tax_rate: None,
        tax_amount: None,
    };
    match state.app.create_expense(&session.caller, input, None).await {
        Ok(info) => {
            Redirect::to(&url(&state, &format!("/expenses/{}", info.expense.id))).into_response()
        }
        Err(e) => session.back(&state, "/expenses", &message(&e), None::<&ClaimForm>),
    }
}

/// The amount a claim form comes to, for the live total: `{"amount", "currency", "text"}`,
/// or `{"error"}` with 422.
async fn quote(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<ClaimForm>,
) -> Response {
    let priced = match f.claim() {
        Ok((claim, date)) => state
            .app
            .quote(&session.caller, &claim, date)
            .await
            .map_err(|e| message(&e)),
        Err(m) => Err(m),
    };
    match priced {
        Ok(p) => {
            let text = match &p.claim {
                Claim::Mileage { mileage, .. } => format!(
                    "{} {} at {} per {}",
                    mileage.distance,
                    mileage.unit.as_str(),
                    mileage.rate,
                    mileage.rate_unit.as_str()
                ),
                Claim::PerDiem(d) => d
                    .days
                    .iter()
                    .map(|day| format!("{} {}", day.date, minor_string(day.amount, d.currency)))
                    .collect::<Vec<_>>()
                    .join(" + "),
            };
            Json(serde_json::json!({
                "amount": p.amount.amount_string(),
                "currency": p.amount.currency().code(),
                "text": text,
            }))
            .into_response()
        }
        Err(m) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({ "error": m })),
        )
            .into_response(),
    }
}

/// The mileage and per diem forms, folded.
pub(super) fn forms(state: &AppState, session: &Session, policy: &Policy) -> Markup {
    let tables = &policy.allowances;
    let mut places: Vec<(&str, &str)> = tables
        .per_diem
        .iter()
        .map(|r| (r.place.as_str(), r.name.as_str()))
        .collect();
    places.sort();
    places.dedup_by_key(|p| p.0);
    html! {
        details.claim {
            summary { "Claim mileage" }
            form.card.claim-form method="post" action=(url(state, "/expenses/claims")) data-quote=(url(state, "/expenses/quote")) {
                (csrf(session))
                input type="hidden" name="kind" value="mileage";
                div.grid {
                    label { "Date" input type="date" name="date" value=(session.today()) max=(session.today()) required; }
                    label { "Distance" input type="text" name="distance" inputmode="decimal" pattern="[0-9]+(\\.[0-9]{1,2})?" placeholder="42.5" required; }
                    label { "Unit" select name="unit" { option value="km" { "km" } option value="mi" { "miles" } } }
                    label { "Vehicle" select name="vehicle" { option value="car" { "car" } option value="motorbike" { "motorbike" } option value="bicycle" { "bicycle" } } }
                    label { "From" input type="text" name="from" maxlength="200"; }
                    label { "To" input type="text" name="to" maxlength="200"; }
                }
                label { "Purpose" input type="text" name="description" maxlength="2000"; }
                p.quote aria-live="polite" { "Enter the distance to see the amount." }
                button type="submit" { "Add mileage" }
            }
        }
        details.claim {
            summary { "Claim per diem" }
            form.card.claim-form method="post" action=(url(state, "/expenses/claims")) data-quote=(url(state, "/expenses/quote")) {
                (csrf(session))
                input type="hidden" name="kind" value="per_diem";
                div.grid {
                    label { "Where"
                        select name="country" required {
                            @for (code, name) in &places { option value=(code) { (name) " (" (code) ")" } }
                        }
                    }
                    label { "Left" input type="datetime-local" name="from" required; }
                    label { "Back" input type="datetime-local" name="until" required; }
                }
                fieldset.meals {
                    legend { "Meals provided (by the company, a host or a hotel)" }
                    div.meal-days {}
                }
                label { "Purpose" input type="text" name="description" maxlength="2000"; }
                p.quote aria-live="polite" { "Enter when you left and came back to see the amount." }
                @if !tables.per_diem_source.is_empty() { p { small { "Rates: " (tables.per_diem_source) } } }
                button type="submit" { "Add per diem" }
            }
        }
    }
}

/// A claim's details on its expense's page.
pub(super) fn summary(claim: &Claim) -> Markup {
    match claim {
        Claim::Mileage {
            mileage,
            from_place,
            to_place,
        } => html! {
            p.claim-summary {
                "Mileage: " (mileage.distance) " " (mileage.unit.as_str()) " by " (mileage.vehicle.as_str())
                @if let (Some(f), Some(t)) = (from_place, to_place) { " from " (f) " to " (t) }
                ", at " (mileage.rate) " per " (mileage.rate_unit.as_str()) " (the rate from " (mileage.rate_from) ")."
            }
        },
        Claim::PerDiem(d) => html! {
            p.claim-summary { "Per diem in " (d.name) " from " (d.from.format("%Y-%m-%d %H:%M")) " to " (d.until.format("%Y-%m-%d %H:%M")) "." }
            div.table-wrap { table.breakdown {
                caption { "How the allowance is made up" }
                thead { tr { th scope="col" { "Day" } th scope="col" { "Counts as" } th.num scope="col" { "Rate" } th scope="col" { "Meals provided" } th.num scope="col" { "Pays" } } }
                tbody {
                    @for day in &d.days {
                        tr {
                            td { (day.date) }
                            td { (serde_json::to_value(day.portion).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()) " day" }
                            td.num { (minor_string(day.base, d.currency)) }
                            td { @for (meal, cut) in &day.reductions { (format!("{meal:?}").to_lowercase()) " −" (minor_string(*cut, d.currency)) " " } }
                            td.num { (minor_string(day.amount, d.currency)) " " (d.currency) }
                        }
                    }
                }
            } }
        },
    }
}

//! Finance's page of the mileage and per diem rate tables: every row editable, two blank rows
//! to add one, a row whose rate is emptied left out.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::html;
use outlay_app::AllowancesDraft;
use outlay_domain::{DistanceUnit, MileageRate, PerDiemRate, Role, Severity, Vehicle};
use serde::Deserialize;

use super::{CsrfForm, ErrorPage, Session, csrf, message, page, url};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/allowances", get(show).post(save))
}

async fn show(State(state): State<AppState>, session: Session) -> Result<Response, ErrorPage> {
    if !session.has(Role::Finance) {
        return Err(ErrorPage(
            StatusCode::FORBIDDEN,
            "This page is for finance.".into(),
        ));
    }
    let t = state.app.allowances(&session.caller).await?;
    let amount = |m: Option<outlay_domain::Money>| m.map(|m| m.amount_string()).unwrap_or_default();
    let cap = t.max_trip;
    let body = html! {
        p { "Each row applies from its first day until a later row of the same vehicle and unit (mileage) or place (per diem). Empty a row's rate to remove it." }
        form.card method="post" action=(url(&state, "/allowances")) {
            (csrf(&session))
            fieldset {
                legend { "Mileage" }
                div.table-wrap { table {
                    thead { tr { th { "Vehicle" } th { "Per" } th { "Rate" } th { "Currency" } th { "From" } } }
                    tbody {
                        @for r in t.mileage.iter().map(Some).chain([None, None]) {
                            @let r: Option<&MileageRate> = r;
                            tr {
                                td { select name="m_vehicle" aria-label="Vehicle" {
                                    @for v in Vehicle::ALL { option value=(v.as_str()) selected[r.is_some_and(|r| r.vehicle == v)] { (v.as_str()) } }
                                } }
                                td { select name="m_unit" aria-label="Per" {
                                    @for u in [DistanceUnit::Km, DistanceUnit::Mi] { option value=(u.as_str()) selected[r.is_some_and(|r| r.unit == u)] { (u.as_str()) } }
                                } }
                                td { input type="text" name="m_rate" inputmode="decimal" aria-label="Rate" value=(r.map(|r| r.rate.to_string()).unwrap_or_default()); }
                                td { input type="text" name="m_currency" maxlength="3" aria-label="Currency" value=(r.map(|r| r.currency.to_string()).unwrap_or_default()); }
                                td { input type="date" name="m_from" aria-label="From" value=(r.map(|r| r.from.to_string()).unwrap_or_default()); }
                            }
                        }
                    }
                } }
                div.grid {
                    label { "Longest trip without a violation (empty: none)" input type="text" name="cap_distance" inputmode="decimal" value=(cap.map(|c| c.distance.to_string()).unwrap_or_default()); }
                    label { "Its unit" select name="cap_unit" { option value="km" selected[cap.is_some_and(|c| c.unit == DistanceUnit::Km)] { "km" } option value="mi" selected[cap.is_some_and(|c| c.unit == DistanceUnit::Mi)] { "mi" } } }
                    label { "A longer trip is" select name="cap_severity" { option value="soft" selected[cap.is_none_or(|c| c.severity == Severity::Soft)] { "soft (needs a justification)" } option value="hard" selected[cap.is_some_and(|c| c.severity == Severity::Hard)] { "hard (blocks submission)" } } }
                }
            }
            fieldset {
                legend { "Per diem" }
                div.table-wrap { table {
                    thead { tr { th { "Place" } th { "Name" } th { "From" } th { "Currency" } th { "Full day" } th { "Partial day" } th { "Breakfast %" } th { "Lunch %" } th { "Dinner %" } th { "Single day over (hours)" } th { "Breakfast" } th { "Lunch" } th { "Dinner" } th { "A day pays at least" } } }
                    tbody {
                        @for r in t.per_diem.iter().map(Some).chain([None, None]) {
                            @let r: Option<&PerDiemRate> = r;
                            @let fixed = r.and_then(|r| r.meal_amounts);
                            tr {
                                td { input type="text" name="p_place" maxlength="63" aria-label="Place" value=(r.map_or("", |r| r.place.as_str())); }
                                td { input type="text" name="p_name" maxlength="100" aria-label="Name" value=(r.map_or("", |r| r.name.as_str())); }
                                td { input type="date" name="p_from" aria-label="From" value=(r.map(|r| r.from.to_string()).unwrap_or_default()); }
                                td { input type="text" name="p_currency" maxlength="3" aria-label="Currency" value=(r.map(|r| r.full_day.currency().to_string()).unwrap_or_default()); }
                                td { input type="text" name="p_full" inputmode="decimal" aria-label="Full day" value=(amount(r.map(|r| r.full_day))); }
                                td { input type="text" name="p_partial" inputmode="decimal" aria-label="Partial day" value=(amount(r.map(|r| r.partial_day))); }
                                td { input type="number" name="p_breakfast" min="0" max="100" aria-label="Breakfast percent" value=(r.map_or(20, |r| r.breakfast_percent)); }
                                td { input type="number" name="p_lunch" min="0" max="100" aria-label="Lunch percent" value=(r.map_or(40, |r| r.lunch_percent)); }
                                td { input type="number" name="p_dinner" min="0" max="100" aria-label="Dinner percent" value=(r.map_or(40, |r| r.dinner_percent)); }
                                td { input type="number" name="p_min_hours" min="0" max="23" aria-label="Single day over hours" value=(r.map_or(8, |r| r.min_hours)); }
                                td { input type="text" name="p_meal_b" inputmode="decimal" aria-label="Breakfast amount" value=(amount(fixed.map(|f| f.breakfast))); }
                                td { input type="text" name="p_meal_l" inputmode="decimal" aria-label="Lunch amount" value=(amount(fixed.map(|f| f.lunch))); }
                                td { input type="text" name="p_meal_d" inputmode="decimal" aria-label="Dinner amount" value=(amount(fixed.map(|f| f.dinner))); }
                                td { input type="text" name="p_min_day" inputmode="decimal" aria-label="A day pays at least" value=(amount(r.and_then(|r| r.min_day))); }
                            }
                        }
                    }
                } }
                p.hint { "Meal amounts, where all three are given, replace the percentages (as the GSA's M&IE breakdown does)." }
                label { "Where the per diem rates come from" textarea name="source" maxlength="500" rows="3" { (t.per_diem_source) } }
            }
            button type="submit" { "Save the rate tables" }
        }
    };
    Ok(page(&state, &session, "Mileage and per diem rates", body).await)
}

#[derive(Deserialize, Default)]
struct TablesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    m_vehicle: Vec<String>,
    #[serde(default)]
    m_unit: Vec<String>,
    #[serde(default)]
    m_rate: Vec<String>,
    #[serde(default)]
    m_currency: Vec<String>,
    #[serde(default)]
    m_from: Vec<String>,
    #[serde(default)]
    cap_distance: String,
    #[serde(default)]
    cap_unit: String,
    #[serde(default)]
    cap_severity: String,
    #[serde(default)]
    p_place: Vec<String>,
    #[serde(default)]
    p_name: Vec<String>,
    #[serde(default)]
    p_from: Vec<String>,
    #[serde(default)]
    p_currency: Vec<String>,
    #[serde(default)]
    p_full: Vec<String>,
    #[serde(default)]
    p_partial: Vec<String>,
    #[serde(default)]
    p_breakfast: Vec<String>,
    #[serde(default)]
    p_lunch: Vec<String>,
    #[serde(default)]
    p_dinner: Vec<String>,
    #[serde(default)]
    p_min_hours: Vec<String>,
    #[serde(default)]
    p_meal_b: Vec<String>,
    #[serde(default)]
    p_meal_l: Vec<String>,
    #[serde(default)]
    p_meal_d: Vec<String>,
    #[serde(default)]
    p_min_day: Vec<String>,
    #[serde(default)]
    source: String,
}
super::csrf_token!(TablesForm);

impl TablesForm {
    fn draft(&self) -> AllowancesDraft {
        let at = |v: &[String], i: usize| v.get(i).cloned().unwrap_or_default();
        AllowancesDraft {
            mileage: (0..self.m_rate.len())
                .map(|i| {
                    [
                        at(&self.m_vehicle, i),
                        at(&self.m_unit, i),
                        at(&self.m_rate, i),
                        at(&self.m_currency, i),
                        at(&self.m_from, i),
                    ]
                })
                .collect(),
            per_diem: (0..self.p_full.len())
                .map(|i| {
                    [
                        at(&self.p_place, i),
                        at(&self.p_name, i),
                        at(&self.p_from, i),
                        at(&self.p_currency, i),
                        at(&self.p_full, i),
                        at(&self.p_partial, i),
                        at(&self.p_breakfast, i),
                        at(&self.p_lunch, i),
                        at(&self.p_dinner, i),
                        at(&self.p_min_hours, i),
                        at(&self.p_meal_b, i),
                        at(&self.p_meal_l, i),
                        at(&self.p_meal_d, i),
                        at(&self.p_min_day, i),
                    ]
                })
                .collect(),
            source: self.source.clone(),
            max_trip: [
                self.cap_distance.clone(),
                self.cap_unit.clone(),
                self.cap_severity.clone(),
            ],
        }
    }
}

async fn save(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<TablesForm>,
) -> Response {
    match state
        .app
        .put_allowances_draft(&session.caller, &f.draft())
        .await
    {
        Ok(_) => session.done(&state, "/allowances", "The rate tables are saved."),
        Err(e) => session.back(&state, "/allowances", &message(&e), None::<&()>),
    }
}

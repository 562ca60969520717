//! `/api/v1/allowances`: the mileage and per diem rate tables, and quotes from them; and the
//! claim part of a new expense's body.

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use outlay_app::{ClaimInput, Priced};
use outlay_domain::allowance::{Claim, Meal, minor_string};
use outlay_domain::{Allowances, MealsProvided};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, Result};
use crate::extract::{Auth, JsonBody};

/// What an expense claims.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KindRequest {
    /// A receipt's amount, as sent.
    #[default]
    Receipt,
    /// Distance times the mileage rate of the trip's day.
    Mileage,
    /// Daily allowances from the per diem table.
    PerDiem,
}

/// A distance: a JSON number or a decimal string, as `12.5` or `"12.5"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DistanceRequest {
    /// As a string.
    Text(String),
    /// As a number.
    Number(serde_json::Number),
}

impl DistanceRequest {
    fn text(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Number(n) => n.to_string(),
        }
    }
}

/// The meals provided on one day of a stay.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MealsRequest {
    /// The day.
    pub date: NaiveDate,
    /// Breakfast was provided.
    #[serde(default)]
    pub breakfast: bool,
    /// Lunch was provided.
    #[serde(default)]
    pub lunch: bool,
    /// Dinner was provided.
    #[serde(default)]
    pub dinner: bool,
}

/// The claim fields of a request, whichever kind it names.
#[derive(Debug, Clone, Default)]
pub struct ClaimFields {
    /// The kind.
    pub kind: KindRequest,
    /// Mileage: the distance.
    pub distance: Option<DistanceRequest>,
    /// Mileage: `km` or `mi`.
    pub unit: Option<String>,
    /// Mileage: the vehicle.
    pub vehicle: Option<String>,
    /// Mileage: where the trip started; per diem: when the stay started.
    pub from: Option<String>,
    /// Mileage: where it went.
    pub to: Option<String>,
    /// Per diem: the place's code.
    pub country: Option<String>,
    /// Per diem: when the stay ended.
    pub until: Option<String>,
    /// Per diem: the meals provided.
    pub meals_provided: Vec<MealsRequest>,
}

impl ClaimFields {
    /// The claim the fields make, refusing fields of another kind.
    pub fn claim(self) -> Result<Option<ClaimInput>> {
        let refuse = |kind: &str, fields: &[(&str, bool)]| -> Result<()> {
            match fields.iter().find(|(_, present)| *present) {
                Some((name, _)) => Err(outlay_app::AppError::Unprocessable(format!(
                    "{name} does not belong to a {kind} expense"
                ))
                .into()),
                None => Ok(()),
            }
        };
        let needed = |name: &str, v: Option<String>| {
            v.ok_or_else(|| outlay_app::AppError::Unprocessable(format!("{name} is required")))
        };
        let mileage_fields = [
            ("distance", self.distance.is_some()),
            ("unit", self.unit.is_some()),
            ("vehicle", self.vehicle.is_some()),
            ("to", self.to.is_some()),
        ];
        let per_diem_fields = [
            ("country", self.country.is_some()),
            ("until", self.until.is_some()),
            ("meals_provided", !self.meals_provided.is_empty()),
        ];
        match self.kind {
            KindRequest::Receipt => {
                refuse("receipt", &mileage_fields)?;
                refuse("receipt", &per_diem_fields)?;
                refuse("receipt", &[("from", self.from.is_some())])?;
                Ok(None)
            }
            KindRequest::Mileage => {
                refuse("mileage", &per_diem_fields)?;
                Ok(Some(ClaimInput::Mileage {
                    distance: needed("distance", self.distance.map(|d| d.text()))?,
                    unit: needed("unit", self.unit)?,
                    vehicle: needed("vehicle", self.vehicle)?,
                    from_place: self.from,
                    to_place: self.to,
                }))
            }
            KindRequest::PerDiem => {
                refuse("per diem", &mileage_fields)?;
                Ok(Some(ClaimInput::PerDiem {
                    place: needed("country", self.country)?,
                    from: needed("from", self.from)?,
                    until: needed("until", self.until)?,
                    meals_provided: self
                        .meals_provided
                        .into_iter()
                        .map(|m| MealsProvided {
                            date: m.date,
                            breakfast: m.breakfast,
                            lunch: m.lunch,
                            dinner: m.dinner,
                        })
                        .collect(),
                }))
            }
        }
    }
}

/// A mileage claim as priced.
#[derive(Debug, Serialize, ToSchema)]
pub struct MileageView {
    /// The distance.
    pub distance: String,
    /// `km` or `mi`.
    pub unit: String,
    /// The vehicle.
    pub vehicle: String,
    /// Where it started.
    pub from: Option<String>,
    /// Where it went.
    pub to: Option<String>,
    /// The rate used, per `rate_unit`, in the expense's currency.
    pub rate: String,
    /// The rate's unit.
    pub rate_unit: String,
    /// The day the rate applies from.
    pub rate_from: NaiveDate,
}

/// A per diem claim as priced.
#[derive(Debug, Serialize, ToSchema)]
pub struct PerDiemView {
    /// The place's code.
    pub country: String,
    /// Its name.
    pub name: String,
    /// When the stay started (local time).
    pub from: chrono::NaiveDateTime,
    /// When it ended.
    pub until: chrono::NaiveDateTime,
}

/// One day of a per diem claim, in the expense's currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllowanceDayView {
    /// The day.
    pub date: NaiveDate,
    /// `full`, `partial` or `none` (a single day too short to count).
    pub portion: String,
    /// The day the rate used applies from.
    pub rate_from: NaiveDate,
    /// The allowance before reductions.
    pub base: String,
    /// The reductions for meals provided.
    pub reductions: Vec<ReductionView>,
    /// What the day pays.
    pub amount: String,
}

/// A reduction for a meal provided.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReductionView {
    /// `breakfast`, `lunch` or `dinner`.
    pub meal: String,
    /// The amount taken off.
    pub amount: String,
}

/// The claim parts of an expense's view: `mileage`, `per_diem` and its `breakdown`.
pub fn claim_views(
    claim: Option<&Claim>,
) -> (
    Option<MileageView>,
    Option<PerDiemView>,
    Option<Vec<AllowanceDayView>>,
) {
    match claim {
        None => (None, None, None),
        Some(Claim::Mileage {
            mileage,
            from_place,
            to_place,
        }) => (
            Some(MileageView {
                distance: mileage.distance.to_string(),
                unit: mileage.unit.as_str().to_owned(),
                vehicle: mileage.vehicle.as_str().to_owned(),
                from: from_place.clone(),
                to: to_place.clone(),
                rate: mileage.rate.to_string(),
                rate_unit: mileage.rate_unit.as_str().to_owned(),
                rate_from: mileage.rate_from,
            }),
            None,
            None,
        ),
        Some(Claim::PerDiem(p)) => {
            let money = |minor| minor_string(minor, p.currency);
            let days = p
                .days
                .iter()
                .map(|d| AllowanceDayView {
                    date: d.date,
                    portion: serde_json::to_value(d.portion)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    rate_from: d.rate_from,
                    base: money(d.base),
                    reductions: d
                        .reductions
                        .iter()
                        .map(|(meal, cut)| ReductionView {
                            meal: match meal {
                                Meal::Breakfast => "breakfast",
                                Meal::Lunch => "lunch",
                                Meal::Dinner => "dinner",
                            }
                            .to_owned(),
                            amount: money(*cut),
                        })
                        .collect(),
                    amount: money(d.amount),
                })
                .collect();
            let view = PerDiemView {
                country: p.place.clone(),
                name: p.name.clone(),
                from: p.from,
                until: p.until,
            };
            (None, Some(view), Some(days))
        }
    }
}

/// A claim to price without recording it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    /// `mileage` or `per_diem`.
    #[schema(schema_with = quote_kind)]
    pub kind: KindRequest,
    /// Mileage: the trip's day.
    pub date: Option<NaiveDate>,
    /// Mileage: the distance.
    #[schema(schema_with = distance_or_null)]
    pub distance: Option<DistanceRequest>,
    /// Mileage: `km` or `mi`.
    #[schema(schema_with = unit_or_null)]
    pub unit: Option<String>,
    /// Mileage: `car`, `motorbike` or `bicycle`.
    #[schema(schema_with = vehicle_or_null)]
    pub vehicle: Option<String>,
    /// Mileage: where the trip started; per diem: when the stay started
    /// (`2026-03-02T08:30`, an offset allowed).
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub from: Option<String>,
    /// Mileage: where it went.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub to: Option<String>,
    /// Per diem: the place's code in the per diem table (`DE`, `FR-Paris`).
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub country: Option<String>,
    /// Per diem: when the stay ended.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub until: Option<String>,
    /// Per diem: the meals provided, by day.
    #[serde(default)]
    pub meals_provided: Vec<MealsRequest>,
}

/// A claim as priced.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteView {
    /// The amount.
    pub amount: String,
    /// Its currency.
    pub currency: String,
    /// The expense's day.
    pub date: NaiveDate,
    /// The merchant it is filed under unless one is given.
    pub merchant: String,
    /// The category it is filed under unless one is given.
    pub category: String,
    /// The mileage claim.
    pub mileage: Option<MileageView>,
    /// The per diem claim.
    pub per_diem: Option<PerDiemView>,
    /// The per diem claim's days.
    pub breakdown: Option<Vec<AllowanceDayView>>,
}

impl From<Priced> for QuoteView {
    fn from(p: Priced) -> Self {
        let (mileage, per_diem, breakdown) = claim_views(Some(&p.claim));
        Self {
            amount: p.amount.amount_string(),
            currency: p.amount.currency().code().to_owned(),
            date: p.date,
            merchant: p.label,
            category: p.category.to_owned(),
            mileage,
            per_diem,
            breakdown,
        }
    }
}

/// A distance as a number or a decimal string.
pub fn distance() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Number]))
        .pattern(Some("^[0-9]{1,6}(\\.[0-9]{1,2})?$"))
        .minimum(Some(0.01))
        .maximum(Some(100_000.0))
        .into()
}

/// `km` or `mi`.
pub fn unit() -> utoipa::openapi::schema::Schema {
    crate::apidoc::one_of(&["km", "mi"])
}

/// `car`, `motorbike` or `bicycle`.
pub fn vehicle() -> utoipa::openapi::schema::Schema {
    crate::apidoc::one_of(&["car", "motorbike", "bicycle"])
}

/// A distance as a number or a decimal string, or `null`.
pub fn distance_or_null() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([
            Type::String,
            Type::Number,
            Type::Null,
        ]))
        .pattern(Some("^[0-9]{1,6}(\\.[0-9]{1,2})?$"))
        .minimum(Some(0.01))
        .maximum(Some(100_000.0))
        .into()
}

/// What a quote prices: `mileage` or `per_diem`.
pub fn quote_kind() -> utoipa::openapi::schema::Schema {
    crate::apidoc::one_of(&["mileage", "per_diem"])
}

/// `km`, `mi` or `null`.
pub fn unit_or_null() -> utoipa::openapi::schema::Schema {
    crate::apidoc::one_of_or_null(&["km", "mi"])
}

/// A vehicle or `null`.
pub fn vehicle_or_null() -> utoipa::openapi::schema::Schema {
    crate::apidoc::one_of_or_null(&["car", "motorbike", "bicycle"])
}

/// Prices a mileage or per diem claim as a new expense would be, writing nothing: the expense
/// form's live amount.
#[utoipa::path(post, path = "/allowances/quote", tag = "expenses", security(("bearer" = [])),
    request_body = QuoteRequest,
    responses((status = 200, body = QuoteView), (status = 400, body = ErrorBody), (status = 422, description = "No rate applies, or the claim comes to nothing", body = ErrorBody)))]
async fn quote(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<QuoteRequest>,
) -> Result<Json<QuoteView>> {
    let r = body.value;
    let date = r.date;
    let claim = ClaimFields {
        kind: r.kind,
        distance: r.distance,
        unit: r.unit,
        vehicle: r.vehicle,
        from: r.from,
        to: r.to,
        country: r.country,
        until: r.until,
        meals_provided: r.meals_provided,
    }
    .claim()?
    .ok_or_else(|| {
        outlay_app::AppError::Unprocessable(
            "a receipt's amount is not quoted: use mileage or per_diem".into(),
        )
    })?;
    Ok(Json(state.app.quote(&caller, &claim, date).await?.into()))
}

/// The mileage and per diem rate tables (everyone may read them).
#[utoipa::path(get, path = "/allowances", tag = "finance", security(("bearer" = [])),
    responses((status = 200, body = Object, description = "`mileage` rows (`vehicle`, `unit`, `rate`, `currency`, `from`), `per_diem` rows (`place`, `name`, `from`, `full_day`, `partial_day`, `breakfast_percent`, `lunch_percent`, `dinner_percent`, `min_hours`), `per_diem_source` and `max_trip` (`distance`, `unit`, `severity`)")))]
async fn get_allowances(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<Allowances>> {
    Ok(Json(state.app.allowances(&caller).await?))
}

/// Replaces the rate tables (finance). Each row applies from its `from` day until a later
/// row of the same key; a table that does not hold together gets 422.
#[utoipa::path(put, path = "/allowances", tag = "finance", security(("bearer" = [])),
    request_body(content = Object, description = "The tables, as GET answers them: `mileage` and `per_diem` are required"),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_allowances(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<serde_json::Value>,
) -> Result<Json<Allowances>> {
    outlay_app::require(&caller, outlay_domain::Role::Finance)?;
    // The whole tables, so that a body without them never empties them.
    let whole = body
        .value
        .as_object()
        .is_some_and(|o| o.contains_key("mileage") && o.contains_key("per_diem"));
    if !whole {
        return Err(outlay_app::AppError::Unprocessable(
            "send the whole tables: `mileage` and `per_diem` (either may be empty)".into(),
        )
        .into());
    }
    let tables: Allowances = serde_json::from_value(body.value)
        .map_err(|e| outlay_app::AppError::Unprocessable(format!("not valid rate tables: {e}")))?;
    Ok(Json(state.app.put_allowances(&caller, tables).await?))
}

/// The allowance routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_allowances, put_allowances))
        .routes(routes!(quote))
}

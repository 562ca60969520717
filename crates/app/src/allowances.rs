//! Mileage and per diem: the rate tables finance keeps, and the pricing of a claim from them
//! for a new expense or for a live quote on the expense form.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use outlay_domain::allowance::{Claim, DistanceCap, parse_distance};
use outlay_domain::expense::text_field;
use outlay_domain::{
    Allowances, Currency, DistanceUnit, MealsProvided, MileageRate, Money, PerDiemRate, Policy,
    Role, Severity, Vehicle,
};

use crate::{App, AppError, Caller, Result, require};

/// A claim as the client sends it; priced by [`price`].
#[derive(Debug, Clone)]
pub enum ClaimInput {
    /// A trip.
    Mileage {
        /// A decimal such as `"12.5"`.
        distance: String,
        /// `km` or `mi`.
        unit: String,
        /// `car`, `motorbike` or `bicycle`.
        vehicle: String,
        /// Where it started.
        from_place: Option<String>,
        /// Where it went.
        to_place: Option<String>,
    },
    /// A stay away.
    PerDiem {
        /// The place's code in the per diem table (`DE`, `FR-Paris`).
        place: String,
        /// When it started: `YYYY-MM-DDTHH:MM[:SS]`, with or without an offset.
        from: String,
        /// When it ended.
        until: String,
        /// The meals provided.
        meals_provided: Vec<MealsProvided>,
    },
}

/// A claim priced: what the expense records, its amount, its day, and what it is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    /// The claim with its breakdown.
    pub claim: Claim,
    /// The amount.
    pub amount: Money,
    /// The expense's day: the trip's, or the stay's first.
    pub date: NaiveDate,
    /// The merchant the expense is filed under when none is given.
    pub label: String,
    /// The category it is filed under when none is given.
    pub category: &'static str,
}

/// A local date-time: `YYYY-MM-DDTHH:MM[:SS]`, or RFC 3339 with an offset, read as the
/// traveller's wall clock.
fn local_time(field: &str, s: &str) -> Result<NaiveDateTime> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.naive_local())
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .map_err(|_| {
            AppError::Unprocessable(format!(
                "{field} `{}` is not a date and time such as 2026-03-02T08:30",
                s.chars().take(40).collect::<String>()
            ))
        })
}

fn place_text(field: &'static str, s: Option<&str>) -> Result<Option<String>> {
    Ok(s.map(|s| text_field(field, s, false, 200))
        .transpose()?
        .filter(|s| !s.is_empty()))
}

/// Prices `input` with the policy's tables; a mileage trip is on `date`.
pub fn price(policy: &Policy, input: &ClaimInput, date: Option<NaiveDate>) -> Result<Priced> {
    let tables = &policy.allowances;
    let unprocessable = |e: outlay_domain::AllowanceError| AppError::Unprocessable(e.to_string());
    match input {
        ClaimInput::Mileage {
            distance,
            unit,
            vehicle,
            from_place,
            to_place,
        } => {
            let date =
                date.ok_or_else(|| AppError::Unprocessable("a trip needs its date".into()))?;
            let unit = DistanceUnit::parse(unit)
                .ok_or_else(|| AppError::BadInput("unit must be km or mi".into()))?;
            let vehicle = Vehicle::parse(vehicle).ok_or_else(|| {
                AppError::BadInput("vehicle must be car, motorbike or bicycle".into())
            })?;
            let distance =
                parse_distance(distance).map_err(|e| AppError::Unprocessable(e.to_string()))?;
            let (mileage, amount) = tables
                .mileage(vehicle, distance, unit, date)
                .map_err(unprocessable)?;
            let from_place = place_text("from", from_place.as_deref())?;
            let to_place = place_text("to", to_place.as_deref())?;
            let label = match (&from_place, &to_place) {
                (Some(f), Some(t)) => format!("{f} to {t}"),
                _ => format!("Mileage by {}", vehicle.as_str()),
            };
            Ok(Priced {
                claim: Claim::Mileage {
                    mileage,
                    from_place,
                    to_place,
                },
                amount,
                date,
                label: label.chars().take(200).collect(),
                category: "mileage",
            })
        }
        ClaimInput::PerDiem {
            place,
            from,
            until,
            meals_provided,
        } => {
            let from = local_time("from", from)?;
            let until = local_time("until", until)?;
            if meals_provided.len() > 100 {
                return Err(AppError::BadInput("at most 100 days of meals".into()));
            }
            let (per_diem, amount) = tables
                .per_diem(place, from, until, meals_provided)
                .map_err(unprocessable)?;
            let label = format!("Per diem {}", per_diem.name);
            Ok(Priced {
                date: from.date(),
                claim: Claim::PerDiem(per_diem),
                amount,
                label,
                category: "per_diem",
            })
        }
    }
}

impl App {
    /// The rate tables; everyone may read them (the expense form offers their places).
    pub async fn allowances(&self, _caller: &Caller) -> Result<Allowances> {
        Ok(self.policy_or_default().await?.allowances)
    }

    /// Replaces the rate tables (finance), checked with the rest of the policy.
    pub async fn put_allowances(&self, caller: &Caller, tables: Allowances) -> Result<Allowances> {
        require(caller, Role::Finance)?;
        let (before, stored) = self.policy_as_stored().await?;
        let mut policy = before.clone();
        policy.allowances = tables;
        Ok(self
            .replace_policy(caller, policy, before, stored)
            .await?
            .allowances)
    }

    /// Prices a claim without recording it: the expense form's live amount.
    pub async fn quote(
        &self,
        _caller: &Caller,
        input: &ClaimInput,
        date: Option<NaiveDate>,
    ) -> Result<Priced> {
        price(&self.policy_or_default().await?, input, date)
    }
}

/// The rate tables a new company starts with, from public sources:
/// - mileage per mile in USD: the IRS standard business rates of 2023 to 2026 (65.5, 67, 70
///   and 72.5 cents; Notice 2025-5 for 2025);
/// - mileage per kilometre in EUR: the German tax-free rates (§ 9 Abs. 1 Satz 3 Nr. 4a EStG:
///   0.30 per km by car, 0.20 by other motor vehicle);
/// - per diem: Germany's domestic rates (§ 9 Abs. 4a EStG; 24 / 12 EUR from 2014, 28 / 14 EUR
///   from 2020) with its meal reductions (20 % breakfast, 40 % lunch and dinner of the
///   full-day rate) and single days counting after more than 8 hours, and two foreign rates
///   of the BMF's tables (France from 2023, letter of 23 November 2022; Denmark from 2025,
///   letter of 2 December 2024);
/// - per diem in the US: the GSA's standard CONUS M&IE of FY2025 (68 USD, 51 on the first and
///   last day, breakfast 16, lunch 19, dinner 28, incidentals 5 kept whatever the meals).
pub fn default_allowances() -> Allowances {
    let usd = Currency::parse("USD").expect("USD is an ISO 4217 code");
    let eur = Currency::parse("EUR").expect("EUR is an ISO 4217 code");
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a built-in date");
    let dec = |s: &str| rust_decimal::Decimal::from_str_exact(s).expect("a built-in rate");
    let mileage = |vehicle, unit, rate: &str, currency, from: &str| MileageRate {
        vehicle,
        unit,
        rate: dec(rate),
        currency,
        from: day(from),
    };
    let euros = |s: &str| Money::parse(s, eur).expect("a built-in amount");
    let per_diem = |place: &str, name: &str, from: &str, full: &str, partial: &str| PerDiemRate {
        place: place.to_owned(),
        name: name.to_owned(),
        from: day(from),
        full_day: euros(full),
        partial_day: euros(partial),
        breakfast_percent: 20,
        lunch_percent: 40,
        dinner_percent: 40,
        min_hours: 8,
        meal_amounts: None,
        min_day: None,
    };
    let dollars = |s: &str| Money::parse(s, usd).expect("a built-in amount");
    let gsa = PerDiemRate {
        place: "US".to_owned(),
        name: "United States (GSA standard CONUS rate)".to_owned(),
        from: day("2024-10-01"),
        full_day: dollars("68"),
        partial_day: dollars("51"),
        breakfast_percent: 0,
        lunch_percent: 0,
        dinner_percent: 0,
        min_hours: 12,
        meal_amounts: Some(outlay_domain::allowance::MealAmounts {
            breakfast: dollars("16"),
            lunch: dollars("19"),
            dinner: dollars("28"),
        }),
        min_day: Some(dollars("5")),
    };
    use DistanceUnit::{Km, Mi};
    use Vehicle::{Car, Motorbike};
    Allowances {
        mileage: vec![
            mileage(Car, Mi, "0.655", usd, "2023-01-01"),
            mileage(Car, Mi, "0.67", usd, "2024-01-01"),
            mileage(Car, Mi, "0.70", usd, "2025-01-01"),
            mileage(Car, Mi, "0.725", usd, "2026-01-01"),
            mileage(Car, Km, "0.30", eur, "2014-01-01"),
            mileage(Motorbike, Km, "0.20", eur, "2014-01-01"),
        ],
        per_diem: vec![
            per_diem("DE", "Germany", "2014-01-01", "24", "12"),
            per_diem("DE", "Germany", "2020-01-01", "28", "14"),
            per_diem("FR", "France", "2023-01-01", "53", "36"),
            per_diem("DK", "Denmark", "2025-01-01", "75", "50"),
            gsa,
        ],
        per_diem_source: "DE, FR, DK: German domestic rates (§ 9 Abs. 4a EStG) and the Federal \
            Ministry of Finance's (BMF) foreign rates, letters of 23 November 2022 and 2 December \
            2024. US: the GSA's standard CONUS M&IE of FY2025 and its breakdown (gsa.gov/mie), \
            under the Federal Travel Regulation (75 % on the first and last day, nothing for a \
            day of 12 hours or less)."
            .to_owned(),
        max_trip: Some(DistanceCap {
            distance: dec("1000"),
            unit: Km,
            severity: Severity::Soft,
        }),
    }
}

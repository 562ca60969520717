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

/// The rate tables as a form sends them, row by row (a row whose rate is empty is left out);
/// [`AllowancesDraft::parse`] makes them [`Allowances`], or says which row is wrong.
#[derive(Debug, Clone, Default)]
pub struct AllowancesDraft {
    /// Mileage rows: vehicle, unit, rate, currency, first day.
    pub mileage: Vec<[String; 5]>,
    /// Per diem rows: place, name, first day, currency, full day, partial day, breakfast %,
    /// lunch %, dinner %, minimum hours, and the fixed amounts (breakfast, lunch, dinner, least a
    /// day pays) that replace the percentages where given.
    pub per_diem: Vec<[String; 14]>,
    /// Where the per diem rates come from.
    pub source: String,
    /// The longest trip without a violation (empty: none), its unit, and its severity.
    pub max_trip: [String; 3],
}

impl AllowancesDraft {
    /// The tables the draft says.
    pub fn parse(&self) -> std::result::Result<Allowances, String> {
        let day = |row: usize, s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| format!("row {row}: the first day is a date, YYYY-MM-DD"))
        };
        let currency = |row: usize, s: &str| {
            Currency::parse(&s.trim().to_uppercase()).map_err(|e| format!("row {row}: {e}"))
        };
        let mut mileage = Vec::new();
        for (i, [vehicle, unit, rate, cur, from]) in self.mileage.iter().enumerate() {
            let row = i + 1;
            if rate.trim().is_empty() {
                continue;
            }
            mileage.push(MileageRate {
                vehicle: Vehicle::parse(vehicle).ok_or(format!(
                    "row {row}: the vehicle is car, motorbike or bicycle"
                ))?,
                unit: DistanceUnit::parse(unit)
                    .ok_or(format!("row {row}: the unit is km or mi"))?,
                rate: rust_decimal::Decimal::from_str_exact(rate.trim())
                    .map_err(|_| format!("row {row}: the rate is a decimal such as 0.70"))?,
                currency: currency(row, cur)?,
                from: day(row, from)?,
            });
        }
        let mut per_diem = Vec::new();
        for (i, r) in self.per_diem.iter().enumerate() {
            let row = i + 1;
            if r[4].trim().is_empty() {
                continue;
            }
            let c = currency(row, &r[3])?;
            let money = |what: &str, s: &str| {
                Money::parse(s.trim(), c).map_err(|e| format!("row {row}: {what}: {e}"))
            };
            let optional =
                |what: &str, s: &str| (!s.trim().is_empty()).then(|| money(what, s)).transpose();
            let percent = |what: &str, s: &str| {
                s.trim()
                    .parse::<u8>()
                    .map_err(|_| format!("row {row}: {what} is a whole percentage"))
            };
            let fixed = [
                optional("breakfast", &r[10])?,
                optional("lunch", &r[11])?,
                optional("dinner", &r[12])?,
            ];
            let meal_amounts = match fixed {
                [Some(breakfast), Some(lunch), Some(dinner)] => {
                    Some(outlay_domain::allowance::MealAmounts {
                        breakfast,
                        lunch,
                        dinner,
                    })
                }
                [None, None, None] => None,
                _ => return Err(format!("row {row}: give all three meal amounts, or none")),
            };
            per_diem.push(PerDiemRate {
                place: r[0].trim().to_owned(),
                name: r[1].trim().to_owned(),
                from: day(row, &r[2])?,
                full_day: money("the full day", &r[4])?,
                partial_day: money("the partial day", &r[5])?,
                breakfast_percent: percent("breakfast", &r[6])?,
                lunch_percent: percent("lunch", &r[7])?,
                dinner_percent: percent("dinner", &r[8])?,
                min_hours: r[9]
                    .trim()
                    .parse()
                    .map_err(|_| format!("row {row}: the minimum hours are a whole number"))?,
                meal_amounts,
                min_day: optional("the least a day pays", &r[13])?,
            });
        }
        let [distance, unit, severity] = &self.max_trip;
        let max_trip = match distance.trim() {
            "" => None,
            d => Some(DistanceCap {
                distance: parse_distance(d).map_err(|e| e.to_string())?,
                unit: DistanceUnit::parse(unit).ok_or("the longest trip's unit is km or mi")?,
                severity: if severity == "hard" {
                    Severity::Hard
                } else {
                    Severity::Soft
                },
            }),
        };
        let tables = Allowances {
            mileage,
            per_diem,
            per_diem_source: self.source.trim().to_owned(),
            max_trip,
        };
        tables.validate().map_err(|e| e.to_string())?;
        Ok(tables)
    }
}

impl App {
    /// Replaces the rate tables with what a draft says (finance).
    pub async fn put_allowances_draft(
        &self,
        caller: &Caller,
        draft: &AllowancesDraft,
    ) -> Result<Allowances> {
        require(caller, Role::Finance)?;
        let tables = draft.parse().map_err(AppError::Unprocessable)?;
        self.put_allowances(caller, tables).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<const N: usize>(cells: [&str; N]) -> [String; N] {
        cells.map(str::to_owned)
    }

    #[test]
    fn a_draft_reads_as_the_tables_it_says_and_names_the_row_that_is_wrong() {
        let draft = AllowancesDraft {
            mileage: vec![
                row(["car", "mi", "0.725", "usd", "2026-01-01"]),
                row(["bicycle", "km", " ", "EUR", ""]),
            ],
            per_diem: vec![row([
                "US",
                "United States",
                "2024-10-01",
                "USD",
                "68",
                "51",
                "0",
                "0",
                "0",
                "12",
                "16",
                "19",
                "28",
                "5",
            ])],
            source: " GSA ".into(),
            max_trip: row(["500", "mi", "hard"]),
        };
        let t = draft.parse().expect("valid tables");
        assert_eq!(t.mileage.len(), 1, "the row without a rate is left out");
        assert_eq!(t.mileage[0].currency.code(), "USD");
        let gsa = &t.per_diem[0];
        assert_eq!(gsa.meal_amounts.map(|m| m.dinner.minor()), Some(2800));
        assert_eq!(gsa.min_day.map(|m| m.minor()), Some(500));
        assert_eq!(t.per_diem_source, "GSA");
        assert_eq!(t.max_trip.map(|c| c.severity), Some(Severity::Hard));

        let mut partial = draft.clone();
        partial.per_diem[0][12] = String::new();
        assert!(
            partial
                .parse()
                .expect_err("two meal amounts")
                .contains("row 1")
        );
        let mut bad = draft.clone();
        bad.mileage[0][0] = "horse".into();
        assert!(bad.parse().expect_err("no such vehicle").contains("row 1"));
        let mut twice = draft;
        twice.mileage[1] = row(["car", "mi", "0.70", "USD", "2026-01-01"]);
        assert!(
            twice.parse().is_err(),
            "two car rates per mile from one day"
        );
    }
}

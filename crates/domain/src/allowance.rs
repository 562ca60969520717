//! Allowances: mileage and per diem claims, priced from the rate tables finance keeps.
//!
//! A claim's amount is computed here and nowhere else. Every rate has the day it applies
//! from, so that a trip is priced at the rates of its own days. Arithmetic is exact
//! (`rust_decimal`) and rounded once, half away from zero, to the currency's minor unit.
//!
//! Per diem follows the German model (BMF, § 9 Abs. 4a EStG), which the US GSA's M&IE fits
//! too: a full-day rate for days away from start to end, a partial rate for the first and last
//! day of a trip over several days and for a single-day trip of more than `min_hours`, and a
//! reduction for each meal provided: a percentage of that day's full-day rate (Germany) or a
//! fixed amount (the GSA's breakdown), never below the day's least (zero, or the GSA's
//! incidentals).

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::{Currency, Money};

/// Why a claim could not be priced, or a rate table was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowanceError {
    /// A distance that is not a positive decimal of at most two places, up to 100,000.
    #[error("distance `{0}` is not a decimal such as \"12.5\", above 0 and at most 100000")]
    Distance(String),
    /// No rate applies.
    #[error("{0}; finance must add one")]
    NoRate(String),
    /// A trip's times that do not make a trip.
    #[error("{0}")]
    Trip(String),
    /// A claim that comes to nothing.
    #[error("{0}")]
    Nothing(String),
    /// A rate table that does not hold together.
    #[error("{0}")]
    Table(String),
}

/// The kind of vehicle a trip was made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vehicle {
    /// A car.
    Car,
    /// A motorbike.
    Motorbike,
    /// A bicycle.
    Bicycle,
}

impl Vehicle {
    /// Every vehicle.
    pub const ALL: [Vehicle; 3] = [Self::Car, Self::Motorbike, Self::Bicycle];

    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Car => "car",
            Self::Motorbike => "motorbike",
            Self::Bicycle => "bicycle",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A unit of distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistanceUnit {
    /// Kilometres.
    Km,
    /// Statute miles.
    Mi,
}

impl DistanceUnit {
    /// The name on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Km => "km",
            Self::Mi => "mi",
        }
    }

    /// Parses `km` or `mi`.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Km, Self::Mi].into_iter().find(|u| u.as_str() == s)
    }

    /// How many of this unit `value` of `from` is (a mile is exactly 1.609344 km).
    fn convert(self, value: Decimal, from: DistanceUnit) -> Decimal {
        let km_per_mile = Decimal::new(1_609_344, 6);
        match (from, self) {
            (DistanceUnit::Mi, DistanceUnit::Km) => value * km_per_mile,
            (DistanceUnit::Km, DistanceUnit::Mi) => value / km_per_mile,
            _ => value,
        }
    }
}

/// Parses a distance: a plain positive decimal with at most two places, at most 100,000.
pub fn parse_distance(s: &str) -> Result<Decimal, AllowanceError> {
    let shown = || AllowanceError::Distance(s.chars().take(20).collect());
    let plain = !s.is_empty()
        && s.len() <= 12
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !s.starts_with('.')
        && !s.ends_with('.');
    if !plain {
        return Err(shown());
    }
    let d = Decimal::from_str_exact(s).map_err(|_| shown())?;
    if d.is_zero() || d.scale() > 2 || d > Decimal::from(100_000) {
        return Err(shown());
    }
    Ok(d.normalize())
}

/// Rounds an exact amount of `currency` to its minor units, half away from zero.
fn to_minor(value: Decimal, currency: Currency) -> Option<i64> {
    let scaled = value.checked_mul(Decimal::from(10_i64.checked_pow(currency.exponent())?))?;
    scaled
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
}

/// An amount in minor units as an exact decimal string of `currency` (zero allowed).
pub fn minor_string(minor: i64, currency: Currency) -> String {
    let exponent = currency.exponent();
    if exponent == 0 {
        return minor.to_string();
    }
    let unit = 10_i64.pow(exponent);
    format!(
        "{}.{:0width$}",
        minor / unit,
        minor % unit,
        width = exponent as usize
    )
}

/// One row of the mileage table: what a `unit` in a `vehicle` pays from a day on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MileageRate {
    /// The vehicle.
    pub vehicle: Vehicle,
    /// Per kilometre or per mile.
    pub unit: DistanceUnit,
    /// The amount per unit, an exact decimal of up to four places (`"0.725"`).
    pub rate: Decimal,
    /// Its currency.
    pub currency: Currency,
    /// The first day it applies.
    pub from: NaiveDate,
}

/// One row of the per diem table: the allowances of a place from a day on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerDiemRate {
    /// The place: an ISO 3166-1 alpha-2 country code (`DE`), optionally with a city (`FR-Paris`).
    pub place: String,
    /// Its name, for people.
    pub name: String,
    /// The first day it applies.
    pub from: NaiveDate,
    /// A full day away (24 hours).
    pub full_day: Money,
    /// The first and last day of a trip over several days, and a single-day trip of more than
    /// `min_hours`.
    pub partial_day: Money,
    /// The reduction for a breakfast provided, in percent of the full-day rate.
    pub breakfast_percent: u8,
    /// The reduction for a lunch provided.
    pub lunch_percent: u8,
    /// The reduction for a dinner provided.
    pub dinner_percent: u8,
    /// A single-day trip pays the partial rate only when it lasts more than this many hours.
    pub min_hours: u8,
    /// Fixed reductions per meal, in place of the percentages (the US GSA's M&IE breakdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meal_amounts: Option<MealAmounts>,
    /// What a day that counts pays at least, whatever meals were provided (the GSA's
    /// incidentals); `None`: zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_day: Option<Money>,
}

/// Fixed reductions for meals provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MealAmounts {
    /// For a breakfast.
    pub breakfast: Money,
    /// For a lunch.
    pub lunch: Money,
    /// For a dinner.
    pub dinner: Money,
}

/// A distance a trip must not exceed without breaking the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistanceCap {
    /// The distance.
    pub distance: Decimal,
    /// Its unit.
    pub unit: DistanceUnit,
    /// How a trip over it is treated.
    pub severity: crate::Severity,
}

/// The rate tables, kept by finance in the policy document.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowances {
    /// The mileage rates.
    #[serde(default)]
    pub mileage: Vec<MileageRate>,
    /// The per diem rates.
    #[serde(default)]
    pub per_diem: Vec<PerDiemRate>,
    /// Where the per diem table comes from, for people.
    #[serde(default)]
    pub per_diem_source: String,
    /// The longest trip the policy allows without a violation.
    #[serde(default)]
    pub max_trip: Option<DistanceCap>,
}

/// The most rows a table may have.
pub const MAX_ROWS: usize = 2000;

impl Allowances {
    /// Checks the tables: bounded, positive, and each row's key (vehicle, unit and day; place
    /// and day) once.
    pub fn validate(&self) -> Result<(), AllowanceError> {
        let table = |m: String| Err(AllowanceError::Table(m));
        if self.mileage.len() > MAX_ROWS || self.per_diem.len() > MAX_ROWS {
            return table(format!("a rate table has at most {MAX_ROWS} rows"));
        }
        let mut keys = std::collections::BTreeSet::new();
        for r in &self.mileage {
            if r.rate <= Decimal::ZERO || r.rate.scale() > 4 || r.rate > Decimal::from(100) {
                return table(format!(
                    "the {} rate per {} from {} must be above 0 and at most 100, with up to 4 decimals",
                    r.vehicle.as_str(),
                    r.unit.as_str(),
                    r.from
                ));
            }
            if !keys.insert((r.vehicle, r.unit, r.from)) {
                return table(format!(
                    "two {} rates per {} start on {}",
                    r.vehicle.as_str(),
                    r.unit.as_str(),
                    r.from
                ));
            }
        }
        let mut places = std::collections::BTreeSet::new();
        for r in &self.per_diem {
            if !valid_place(&r.place) || r.name.trim().is_empty() || r.name.chars().count() > 100 {
                return table(format!(
                    "place `{}` must be a country code such as DE, or a code and a city such as FR-Paris, with a name",
                    r.place.chars().take(60).collect::<String>()
                ));
            }
            if r.full_day.currency() != r.partial_day.currency()
                || r.partial_day.minor() > r.full_day.minor()
            {
                return table(format!(
                    "{} from {}: the partial-day rate is in the full-day rate's currency and not above it",
                    r.place, r.from
                ));
            }
            let fixed = r
                .meal_amounts
                .iter()
                .flat_map(|m| [m.breakfast, m.lunch, m.dinner])
                .chain(r.min_day);
            if fixed
                .clone()
                .any(|m| m.currency() != r.full_day.currency() || m.minor() > r.full_day.minor())
                || r.min_day.is_some_and(|m| m.minor() > r.partial_day.minor())
            {
                return table(format!(
                    "{} from {}: meal amounts and the least a day pays are in the rate's currency, and not above the full-day rate, and the least is not above the partial-day rate",
                    r.place, r.from
                ));
            }
            if [r.breakfast_percent, r.lunch_percent, r.dinner_percent]
                .iter()
                .any(|p| *p > 100)
                || r.min_hours > 23
            {
                return table(format!(
                    "{} from {}: meal reductions are 0 to 100 percent, and minimum hours 0 to 23",
                    r.place, r.from
                ));
            }
            if !places.insert((r.place.as_str(), r.from)) {
                return table(format!("two rates of {} start on {}", r.place, r.from));
            }
        }
        if self.per_diem_source.chars().count() > 500 {
            return table("the source is at most 500 characters".into());
        }
        if let Some(cap) = self.max_trip
            && (cap.distance <= Decimal::ZERO || cap.distance > Decimal::from(100_000))
        {
            return table("the longest trip is above 0 and at most 100000".into());
        }
        Ok(())
    }

    /// The mileage rate for a trip in `vehicle` measured in `unit` on `date`: the latest row
    /// from that day or before in the same unit; in the other unit only if the vehicle has no
    /// rate in this one at all.
    fn mileage_rate(
        &self,
        vehicle: Vehicle,
        unit: DistanceUnit,
        date: NaiveDate,
    ) -> Option<&MileageRate> {
        let latest = |u: DistanceUnit| {
            self.mileage
                .iter()
                .filter(|r| r.vehicle == vehicle && r.unit == u && r.from <= date)
                .max_by_key(|r| r.from)
        };
        let other = match unit {
            DistanceUnit::Km => DistanceUnit::Mi,
            DistanceUnit::Mi => DistanceUnit::Km,
        };
        let has = |u: DistanceUnit| {
            self.mileage
                .iter()
                .any(|r| r.vehicle == vehicle && r.unit == u)
        };
        if has(unit) {
            latest(unit)
        } else {
            latest(other)
        }
    }

    /// The per diem rate of `place` on `date`.
    fn per_diem_rate(&self, place: &str, date: NaiveDate) -> Option<&PerDiemRate> {
        self.per_diem
            .iter()
            .filter(|r| r.place == place && r.from <= date)
            .max_by_key(|r| r.from)
    }

    /// Prices a trip of `distance` `unit` in `vehicle` on `date`.
    pub fn mileage(
        &self,
        vehicle: Vehicle,
        distance: Decimal,
        unit: DistanceUnit,
        date: NaiveDate,
    ) -> Result<(Mileage, Money), AllowanceError> {
        let rate = self.mileage_rate(vehicle, unit, date).ok_or_else(|| {
            AllowanceError::NoRate(format!(
                "no {} mileage rate applies on {date}",
                vehicle.as_str()
            ))
        })?;
        let exact = rate.unit.convert(distance, unit) * rate.rate;
        let minor = to_minor(exact, rate.currency)
            .ok_or_else(|| AllowanceError::Distance(distance.to_string()))?;
        let amount = Money::from_minor(minor, rate.currency).map_err(|_| {
            AllowanceError::Nothing(format!(
                "{distance} {} comes to less than the smallest amount of {}",
                unit.as_str(),
                rate.currency
            ))
        })?;
        let mileage = Mileage {
            distance,
            unit,
            vehicle,
            rate: rate.rate,
            rate_unit: rate.unit,
            rate_from: rate.from,
        };
        Ok((mileage, amount))
    }

    /// Prices a stay in `place` from `from` until `until` (the traveller's local times), with
    /// the meals provided on its days.
    pub fn per_diem(
        &self,
        place: &str,
        from: NaiveDateTime,
        until: NaiveDateTime,
        meals: &[MealsProvided],
    ) -> Result<(PerDiem, Money), AllowanceError> {
        if until <= from {
            return Err(AllowanceError::Trip("`until` must be after `from`".into()));
        }
        let (first, last) = (from.date(), until.date());
        let days = (last - first).num_days();
        if days > MAX_TRIP_DAYS {
            return Err(AllowanceError::Trip(format!(
                "a per diem claim covers at most {} days; claim a longer stay in parts",
                MAX_TRIP_DAYS + 1
            )));
        }
        let mut provided = std::collections::BTreeMap::new();
        for m in meals {
            if m.date < first || m.date > last {
                return Err(AllowanceError::Trip(format!(
                    "meals are given for {}, which is not a day of the trip",
                    m.date
                )));
            }
            if provided.insert(m.date, *m).is_some() {
                return Err(AllowanceError::Trip(format!(
                    "meals are given twice for {}",
                    m.date
                )));
            }
        }
        let mut out = Vec::new();
        let mut currency = None;
        for date in first.iter_days().take(days as usize + 1) {
            let rate = self.per_diem_rate(place, date).ok_or_else(|| {
                AllowanceError::NoRate(format!("no per diem rate of `{place}` applies on {date}"))
            })?;
            let c = rate.full_day.currency();
            if *currency.get_or_insert(c) != c {
                return Err(AllowanceError::Table(format!(
                    "the rates of {place} change currency during the trip"
                )));
            }
            let portion = if days == 0 {
                let minutes = (until - from).num_minutes();
                if minutes > i64::from(rate.min_hours) * 60 {
                    Portion::Partial
                } else {
                    Portion::None
                }
            } else if date == first || date == last {
                Portion::Partial
            } else {
                Portion::Full
            };
            out.push(day(rate, date, portion, provided.get(&date)));
        }
        let currency = currency.expect("a trip has at least one day");
        let total = out
            .iter()
            .try_fold(0_i64, |sum, d| sum.checked_add(d.amount))
            .ok_or_else(|| AllowanceError::Table("the allowance is too large".into()))?;
        let amount = Money::from_minor(total, currency).map_err(|_| {
            AllowanceError::Nothing(
                "the trip comes to no allowance (a single day must be long enough, and provided meals leave nothing)"
                    .into(),
            )
        })?;
        let name = self
            .per_diem_rate(place, first)
            .map(|r| r.name.clone())
            .unwrap_or_default();
        let per_diem = PerDiem {
            place: place.to_owned(),
            name,
            from,
            until,
            currency,
            meals_provided: provided.into_values().collect(),
            days: out,
        };
        Ok((per_diem, amount))
    }
}

/// The longest trip one per diem claim covers, in days after the first.
pub const MAX_TRIP_DAYS: i64 = 91;

/// Whether `place` is `CC` or `CC-City`: two upper-case letters, then optionally a city name.
fn valid_place(place: &str) -> bool {
    let (country, city) = place
        .split_once('-')
        .map_or((place, None), |(c, rest)| (c, Some(rest)));
    country.len() == 2
        && country.bytes().all(|b| b.is_ascii_uppercase())
        && city.is_none_or(|c| {
            !c.trim().is_empty()
                && c.chars().count() <= 60
                && c.chars()
                    .all(|ch| ch.is_alphanumeric() || " .'-".contains(ch))
        })
}

/// How one day of a trip counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Portion {
    /// A whole day away.
    Full,
    /// A first or last day, or a long enough single day.
    Partial,
    /// A single day too short to count.
    None,
}

/// The meals provided on one day of a trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MealsProvided {
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

/// One day of a per diem claim, in minor units of the claim's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowanceDay {
    /// The day.
    pub date: NaiveDate,
    /// How it counts.
    pub portion: Portion,
    /// The day the rate used applies from.
    pub rate_from: NaiveDate,
    /// The allowance before reductions.
    pub base: i64,
    /// The reductions for meals provided, in the order breakfast, lunch, dinner.
    pub reductions: Vec<(Meal, i64)>,
    /// What the day pays: the base less the reductions, never below zero.
    pub amount: i64,
}

/// A meal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Meal {
    /// Breakfast.
    Breakfast,
    /// Lunch.
    Lunch,
    /// Dinner.
    Dinner,
}

fn day(
    rate: &PerDiemRate,
    date: NaiveDate,
    portion: Portion,
    meals: Option<&MealsProvided>,
) -> AllowanceDay {
    let base = match portion {
        Portion::Full => rate.full_day.minor(),
        Portion::Partial => rate.partial_day.minor(),
        Portion::None => 0,
    };
    let full = Decimal::from(rate.full_day.minor());
    let percent_of_full = |percent: u8| {
        (full * Decimal::from(percent) / Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
            .to_i64()
            .unwrap_or(i64::MAX)
    };
    let fixed = rate.meal_amounts;
    let mut reductions = Vec::new();
    if let (Some(m), true) = (meals, base > 0) {
        for (meal, given, percent, amount) in [
            (
                Meal::Breakfast,
                m.breakfast,
                rate.breakfast_percent,
                fixed.map(|f| f.breakfast),
            ),
            (
                Meal::Lunch,
                m.lunch,
                rate.lunch_percent,
                fixed.map(|f| f.lunch),
            ),
            (
                Meal::Dinner,
                m.dinner,
                rate.dinner_percent,
                fixed.map(|f| f.dinner),
            ),
        ] {
            let cut = amount.map_or_else(|| percent_of_full(percent), |a| a.minor());
            if given && cut > 0 {
                reductions.push((meal, cut));
            }
        }
    }
    let cut = reductions
        .iter()
        .fold(0_i64, |sum, (_, c)| sum.saturating_add(*c));
    let least = match base {
        0 => 0,
        _ => rate.min_day.map_or(0, |m| m.minor()),
    };
    AllowanceDay {
        date,
        portion,
        rate_from: rate.from,
        base,
        reductions,
        amount: base.saturating_sub(cut).max(least),
    }
}

/// A mileage claim as priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mileage {
    /// The distance driven.
    pub distance: Decimal,
    /// Its unit.
    pub unit: DistanceUnit,
    /// The vehicle.
    pub vehicle: Vehicle,
    /// The rate used, per `rate_unit`.
    pub rate: Decimal,
    /// The rate's unit (the trip's own, unless only the other had a rate).
    pub rate_unit: DistanceUnit,
    /// The day the rate applies from.
    pub rate_from: NaiveDate,
}

/// A per diem claim as priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerDiem {
    /// The place's code.
    pub place: String,
    /// Its name.
    pub name: String,
    /// When the trip started (local time).
    pub from: NaiveDateTime,
    /// When it ended (local time).
    pub until: NaiveDateTime,
    /// The allowance's currency.
    pub currency: Currency,
    /// The meals provided, by day.
    pub meals_provided: Vec<MealsProvided>,
    /// Each day of the trip.
    pub days: Vec<AllowanceDay>,
}

/// What an expense claims beyond a receipt: an amount computed from a rate table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Claim {
    /// A trip in the employee's own vehicle.
    Mileage {
        /// How it was priced.
        #[serde(flatten)]
        mileage: Mileage,
        /// Where the trip started.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_place: Option<String>,
        /// Where it went.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_place: Option<String>,
    },
    /// Daily allowances for a stay away.
    PerDiem(PerDiem),
}

impl Claim {
    /// `mileage` or `per_diem`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Mileage { .. } => "mileage",
            Self::PerDiem(_) => "per_diem",
        }
    }
}

/// Whether a trip of `distance` `unit` is over the cap.
pub fn over_cap(cap: &DistanceCap, distance: Decimal, unit: DistanceUnit) -> bool {
    cap.unit.convert(distance, unit) > cap.distance
}

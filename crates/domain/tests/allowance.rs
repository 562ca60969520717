//! Mileage and per diem arithmetic: rounding, rate dates, partial days and meal reductions.

use chrono::{NaiveDate, NaiveDateTime};
use outlay_domain::allowance::{DistanceCap, Portion, over_cap, parse_distance};
use outlay_domain::{
    AllowanceError, Allowances, Currency, DistanceUnit, MealsProvided, MileageRate, Money,
    PerDiemRate, Severity, Vehicle,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a test date")
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").expect("a test time")
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).expect("a test decimal")
}

fn eur(s: &str) -> Money {
    Money::parse(s, Currency::parse("EUR").expect("EUR")).expect("a test amount")
}

fn germany(from: &str, full: &str, partial: &str) -> PerDiemRate {
    PerDiemRate {
        place: "DE".into(),
        name: "Germany".into(),
        from: day(from),
        full_day: eur(full),
        partial_day: eur(partial),
        breakfast_percent: 20,
        lunch_percent: 40,
        dinner_percent: 40,
        min_hours: 8,
        meal_amounts: None,
        min_day: None,
    }
}

fn tables() -> Allowances {
    let usd = Currency::parse("USD").expect("USD");
    let eur = Currency::parse("EUR").expect("EUR");
    let rate = |vehicle, unit, r: &str, currency, from: &str| MileageRate {
        vehicle,
        unit,
        rate: dec(r),
        currency,
        from: day(from),
    };
    Allowances {
        mileage: vec![
            rate(Vehicle::Car, DistanceUnit::Mi, "0.67", usd, "2024-01-01"),
            rate(Vehicle::Car, DistanceUnit::Mi, "0.70", usd, "2025-01-01"),
            rate(Vehicle::Car, DistanceUnit::Km, "0.30", eur, "2014-01-01"),
            rate(
                Vehicle::Motorbike,
                DistanceUnit::Km,
                "0.20",
                eur,
                "2014-01-01",
            ),
        ],
        per_diem: vec![
            germany("2014-01-01", "24", "12"),
            germany("2020-01-01", "28", "14"),
        ],
        per_diem_source: "test".into(),
        max_trip: None,
    }
}

fn meals(date: &str, breakfast: bool, lunch: bool, dinner: bool) -> MealsProvided {
    MealsProvided {
        date: day(date),
        breakfast,
        lunch,
        dinner,
    }
}

#[test]
fn a_trip_is_priced_at_the_rate_of_its_own_day() {
    // GIVEN the IRS rates of 2024 and 2025
    let t = tables();
    // WHEN the same trip is made on the last day of 2024 and the first of 2025
    let (old, old_amount) = t
        .mileage(
            Vehicle::Car,
            dec("100"),
            DistanceUnit::Mi,
            day("2024-12-31"),
        )
        .expect("priced");
    let (new, new_amount) = t
        .mileage(
            Vehicle::Car,
            dec("100"),
            DistanceUnit::Mi,
            day("2025-01-01"),
        )
        .expect("priced");
    // THEN each is priced at its year's rate
    assert_eq!(old_amount.to_string(), "67.00 USD");
    assert_eq!(old.rate_from, day("2024-01-01"));
    assert_eq!(new_amount.to_string(), "70.00 USD");
    assert_eq!(new.rate, dec("0.70"));
    // AND a trip before any rate has none
    assert!(matches!(
        t.mileage(Vehicle::Car, dec("1"), DistanceUnit::Mi, day("2023-06-01")),
        Err(AllowanceError::NoRate(_))
    ));
}

#[test]
fn mileage_rounds_once_half_away_from_zero() {
    let t = tables();
    // 12.35 km at 0.30 = 3.705 EUR, rounded to 3.71 (half away from zero, not to even)
    let (_, amount) = t
        .mileage(
            Vehicle::Car,
            dec("12.35"),
            DistanceUnit::Km,
            day("2026-01-10"),
        )
        .expect("priced");
    assert_eq!(amount.to_string(), "3.71 EUR");
    // 0.01 km at 0.20 = 0.002 EUR: nothing to claim
    assert!(matches!(
        t.mileage(
            Vehicle::Motorbike,
            dec("0.01"),
            DistanceUnit::Km,
            day("2026-01-10")
        ),
        Err(AllowanceError::Nothing(_))
    ));
}

#[test]
fn a_unit_without_a_rate_is_converted_to_one_that_has_one() {
    // GIVEN a motorbike rate per kilometre only
    let t = tables();
    // WHEN 10 miles are claimed: 16.09344 km at 0.20 = 3.218688, so 3.22 EUR
    let (m, amount) = t
        .mileage(
            Vehicle::Motorbike,
            dec("10"),
            DistanceUnit::Mi,
            day("2026-01-10"),
        )
        .expect("priced");
    assert_eq!(amount.to_string(), "3.22 EUR");
    assert_eq!((m.unit, m.rate_unit), (DistanceUnit::Mi, DistanceUnit::Km));
    // AND a bicycle, with no rate at all, is refused
    assert!(matches!(
        t.mileage(
            Vehicle::Bicycle,
            dec("10"),
            DistanceUnit::Km,
            day("2026-01-10")
        ),
        Err(AllowanceError::NoRate(_))
    ));
}

#[test]
fn distances_are_plain_decimals_of_two_places_at_most() {
    assert_eq!(parse_distance("12.5"), Ok(dec("12.5")));
    assert_eq!(parse_distance("100000"), Ok(dec("100000")));
    for bad in [
        "",
        "0",
        "0.00",
        "-1",
        "1e3",
        "12.345",
        ".5",
        "5.",
        " 1",
        "100000.01",
        "NaN",
    ] {
        assert!(parse_distance(bad).is_err(), "{bad:?} was accepted");
    }
}

#[test]
fn a_three_day_trip_pays_partial_full_partial_less_the_meals_provided() {
    // GIVEN Monday 08:00 to Wednesday 18:00 in Germany, with breakfast at the hotel on
    // Tuesday and Wednesday
    let (p, amount) = tables()
        .per_diem(
            "DE",
            at("2026-03-02T08:00"),
            at("2026-03-04T18:00"),
            &[
                meals("2026-03-03", true, false, false),
                meals("2026-03-04", true, false, false),
            ],
        )
        .expect("priced");
    // THEN 14 + (28 - 5.60) + (14 - 5.60) = 44.80 EUR
    assert_eq!(amount.to_string(), "44.80 EUR");
    let portions: Vec<Portion> = p.days.iter().map(|d| d.portion).collect();
    assert_eq!(
        portions,
        [Portion::Partial, Portion::Full, Portion::Partial]
    );
    let amounts: Vec<i64> = p.days.iter().map(|d| d.amount).collect();
    assert_eq!(amounts, [1400, 2240, 840]);
}

#[test]
fn a_single_day_counts_only_after_more_than_the_minimum_hours() {
    let t = tables();
    let (_, nine_hours) = t
        .per_diem("DE", at("2026-03-02T08:00"), at("2026-03-02T17:00"), &[])
        .expect("priced");
    assert_eq!(nine_hours.to_string(), "14.00 EUR");
    // Exactly eight hours is not more than eight.
    assert!(matches!(
        t.per_diem("DE", at("2026-03-02T08:00"), at("2026-03-02T16:00"), &[]),
        Err(AllowanceError::Nothing(_))
    ));
}

#[test]
fn meal_reductions_are_taken_from_the_full_day_rate_and_never_go_below_zero() {
    let t = tables();
    // A long single day with dinner provided: 14 - 40 % of 28 = 2.80
    let (_, dinner) = t
        .per_diem(
            "DE",
            at("2026-03-02T08:00"),
            at("2026-03-02T20:00"),
            &[meals("2026-03-02", false, false, true)],
        )
        .expect("priced");
    assert_eq!(dinner.to_string(), "2.80 EUR");
    // Lunch and dinner provided leave nothing of the 14.
    assert!(matches!(
        t.per_diem(
            "DE",
            at("2026-03-02T08:00"),
            at("2026-03-02T20:00"),
            &[meals("2026-03-02", false, true, true)],
        ),
        Err(AllowanceError::Nothing(_))
    ));
}

#[test]
fn fixed_meal_amounts_come_off_and_leave_at_least_the_incidentals() {
    // GIVEN the GSA's standard CONUS M&IE of FY2025: 68, first and last day 51, breakfast 16,
    // lunch 19, dinner 28, incidentals 5, and nothing for 12 hours or less
    let usd = |s: &str| Money::parse(s, Currency::parse("USD").expect("USD")).expect("an amount");
    let gsa = PerDiemRate {
        place: "US".into(),
        name: "United States".into(),
        from: day("2024-10-01"),
        full_day: usd("68"),
        partial_day: usd("51"),
        breakfast_percent: 0,
        lunch_percent: 0,
        dinner_percent: 0,
        min_hours: 12,
        meal_amounts: Some(outlay_domain::allowance::MealAmounts {
            breakfast: usd("16"),
            lunch: usd("19"),
            dinner: usd("28"),
        }),
        min_day: Some(usd("5")),
    };
    let t = Allowances {
        per_diem: vec![gsa],
        ..Allowances::default()
    };
    assert_eq!(t.validate(), Ok(()));
    // WHEN a two-day trip has breakfast on its first day and all meals on its last
    let (p, amount) = t
        .per_diem(
            "US",
            at("2026-03-02T07:00"),
            at("2026-03-03T19:00"),
            &[
                meals("2026-03-02", true, false, false),
                meals("2026-03-03", true, true, true),
            ],
        )
        .expect("priced");
    // THEN the first day is 51 - 16 = 35, and the last keeps the 5 of incidentals
    let amounts: Vec<i64> = p.days.iter().map(|d| d.amount).collect();
    assert_eq!(amounts, [3500, 500]);
    assert_eq!(amount.to_string(), "40.00 USD");
    // AND a single day of twelve hours pays nothing
    assert!(matches!(
        t.per_diem("US", at("2026-03-02T07:00"), at("2026-03-02T19:00"), &[]),
        Err(AllowanceError::Nothing(_))
    ));
}

#[test]
fn a_stay_over_new_year_uses_each_days_rate() {
    // GIVEN the 2014 and 2020 German rates, and a stay from 30 December 2019 to 2 January 2020
    let (p, amount) = tables()
        .per_diem("DE", at("2019-12-30T10:00"), at("2020-01-02T12:00"), &[])
        .expect("priced");
    // THEN 12 + 24 (2019) and 28 + 14 (2020)
    assert_eq!(amount.to_string(), "78.00 EUR");
    let from: Vec<NaiveDate> = p.days.iter().map(|d| d.rate_from).collect();
    assert_eq!(
        from,
        [
            day("2014-01-01"),
            day("2014-01-01"),
            day("2020-01-01"),
            day("2020-01-01")
        ]
    );
}

#[test]
fn meals_outside_the_trip_or_given_twice_are_refused() {
    let t = tables();
    let trip =
        |m: &[MealsProvided]| t.per_diem("DE", at("2026-03-02T08:00"), at("2026-03-03T18:00"), m);
    assert!(matches!(
        trip(&[meals("2026-03-04", true, false, false)]),
        Err(AllowanceError::Trip(_))
    ));
    assert!(matches!(
        trip(&[
            meals("2026-03-02", true, false, false),
            meals("2026-03-02", false, true, false)
        ]),
        Err(AllowanceError::Trip(_))
    ));
    assert!(matches!(
        t.per_diem("DE", at("2026-03-03T08:00"), at("2026-03-02T18:00"), &[]),
        Err(AllowanceError::Trip(_))
    ));
    assert!(matches!(
        t.per_diem("XX", at("2026-03-02T08:00"), at("2026-03-03T18:00"), &[]),
        Err(AllowanceError::NoRate(_))
    ));
}

#[test]
fn tables_that_do_not_hold_together_are_refused() {
    let mut t = tables();
    t.mileage.push(t.mileage[0].clone());
    assert!(matches!(t.validate(), Err(AllowanceError::Table(_))));
    let mut t = tables();
    t.per_diem[0].partial_day = eur("30");
    assert!(matches!(t.validate(), Err(AllowanceError::Table(_))));
    let mut t = tables();
    t.per_diem[0].place = "Germany".into();
    assert!(matches!(t.validate(), Err(AllowanceError::Table(_))));
    // A meal that costs more than the day would make the day's sum run away.
    let mut t = tables();
    let huge =
        Money::from_minor(i64::MAX / 2, Currency::parse("EUR").expect("EUR")).expect("positive");
    t.per_diem[0].meal_amounts = Some(outlay_domain::allowance::MealAmounts {
        breakfast: huge,
        lunch: huge,
        dinner: huge,
    });
    assert!(matches!(t.validate(), Err(AllowanceError::Table(_))));
    let mut t = tables();
    t.per_diem[0].place = "FR-Paris".into();
    assert_eq!(t.validate(), Ok(()));
    assert_eq!(tables().validate(), Ok(()));
}

#[test]
fn the_cap_compares_distances_across_units() {
    let cap = DistanceCap {
        distance: dec("100"),
        unit: DistanceUnit::Km,
        severity: Severity::Soft,
    };
    assert!(!over_cap(&cap, dec("62"), DistanceUnit::Mi));
    assert!(over_cap(&cap, dec("63"), DistanceUnit::Mi));
    assert!(!over_cap(&cap, dec("100"), DistanceUnit::Km));
}

proptest! {
    #[test]
    fn mileage_is_the_exact_product_rounded_once(hundredths in 1_i64..10_000_000, rate in 1_i64..10_000) {
        // GIVEN any distance of up to two places and any rate of up to four
        let distance = Decimal::new(hundredths, 2);
        let rate = Decimal::new(rate, 4);
        let eur = Currency::parse("EUR").expect("EUR");
        let t = Allowances {
            mileage: vec![MileageRate { vehicle: Vehicle::Car, unit: DistanceUnit::Km, rate, currency: eur, from: day("2020-01-01") }],
            ..Allowances::default()
        };
        // WHEN it is priced
        let exact = distance * rate * Decimal::ONE_HUNDRED;
        let expected = exact.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        match t.mileage(Vehicle::Car, distance, DistanceUnit::Km, day("2026-01-01")) {
            // THEN it is the product in cents, rounded half away from zero, off by less than half a cent
            Ok((_, amount)) => {
                prop_assert_eq!(Decimal::from(amount.minor()), expected);
                prop_assert!((Decimal::from(amount.minor()) - exact).abs() <= Decimal::new(5, 1));
            }
            Err(AllowanceError::Nothing(_)) => prop_assert!(expected.is_zero()),
            Err(e) => prop_assert!(false, "{e}"),
        }
    }

    #[test]
    fn per_diem_days_add_up_and_stay_within_their_rates(
        start_minute in 0_i64..1440,
        length_minutes in 1_i64..(20 * 1440),
        provided in prop::collection::vec((any::<bool>(), any::<bool>(), any::<bool>()), 21),
    ) {
        // GIVEN any stay of up to twenty days, with any meals provided on its days
        let from = at("2026-03-02T00:00") + chrono::Duration::minutes(start_minute);
        let until = from + chrono::Duration::minutes(length_minutes);
        let meals: Vec<MealsProvided> = from
            .date()
            .iter_days()
            .take_while(|d| *d <= until.date())
            .zip(&provided)
            .map(|(date, (breakfast, lunch, dinner))| MealsProvided { date, breakfast: *breakfast, lunch: *lunch, dinner: *dinner })
            .collect();
        let t = tables();
        let span = (until.date() - from.date()).num_days() as usize + 1;
        match t.per_diem("DE", from, until, &meals) {
            Ok((p, amount)) => {
                // THEN there is one day per calendar day, and the total is their sum
                prop_assert_eq!(p.days.len(), span);
                prop_assert_eq!(p.days.iter().map(|d| d.amount).sum::<i64>(), amount.minor());
                for (i, d) in p.days.iter().enumerate() {
                    // AND no day pays below zero or above its portion's rate
                    prop_assert!(d.amount >= 0 && d.amount <= d.base);
                    let expected = match (span, i) {
                        (1, _) => if length_minutes > 8 * 60 { 1400 } else { 0 },
                        (_, 0) => 1400,
                        (n, i) if i == n - 1 => 1400,
                        _ => 2800,
                    };
                    prop_assert_eq!(d.base, expected);
                    // AND each meal takes its share of the full-day rate, until nothing is left
                    let cut: i64 = d.reductions.iter().map(|(_, c)| c).sum();
                    prop_assert_eq!(d.amount, (d.base - cut).max(0));
                }
            }
            Err(AllowanceError::Nothing(_)) => {
                // Only a stay whose every day comes to nothing: too short a single day, two
                // meals of a first or last day (20 % + 40 % of 28 is over 14), all three of
                // a full day
                let meals_on = |i: usize| {
                    let (b, l, d) = provided[i];
                    usize::from(b) + usize::from(l) + usize::from(d)
                };
                for i in 0..span {
                    let nothing = match (span, i) {
                        (1, _) => length_minutes <= 8 * 60 || meals_on(0) >= 2,
                        (n, i) if i == 0 || i == n - 1 => meals_on(i) >= 2,
                        _ => meals_on(i) == 3,
                    };
                    prop_assert!(nothing, "day {i} of {span} should have paid");
                }
            }
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}

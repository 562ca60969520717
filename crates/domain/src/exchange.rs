//! Exchange rates and conversion into the base currency.
//!
//! Rounding: the converted amount is rounded to the base currency's minor unit **half away
//! from zero** ("commercial rounding", as most ERPs and card networks do), exactly, with
//! decimal arithmetic. 10.005 USD → 10.01 USD.

use std::fmt;

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::{Currency, Money, MoneyError};

/// How many days old a rate may be and still apply to an expense.
pub const MAX_RATE_AGE_DAYS: i64 = 7;

/// A positive exchange rate: one unit of a currency in base-currency units.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rate(Decimal);

impl Rate {
    /// Parses a plain positive decimal with at most 12 decimals (`"1.0834"`).
    pub fn parse(s: &str) -> Result<Self, MoneyError> {
        let malformed = || MoneyError::Malformed(s.chars().take(40).collect());
        let (whole, fraction) = s.split_once('.').unwrap_or((s, "0"));
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(fraction) || fraction.len() > 12 || whole.len() > 12 {
            return Err(malformed());
        }
        let value = Decimal::from_str_exact(s).map_err(|_| malformed())?;
        if value.is_zero() {
            return Err(MoneyError::Zero);
        }
        Ok(Self(value.normalize()))
    }

    /// The rate as a decimal.
    pub fn value(&self) -> Decimal {
        self.0
    }

    /// The rate of a currency to itself.
    pub fn one() -> Self {
        Self(Decimal::ONE)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The rate of `currency` on `date`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeRate {
    /// The day the rate is for.
    pub date: NaiveDate,
    /// The foreign currency.
    pub currency: Currency,
    /// One unit of `currency` in base units.
    pub rate: Rate,
}

impl ExchangeRate {
    /// Whether this rate may convert an expense of `date`: on that day or at most
    /// [`MAX_RATE_AGE_DAYS`] before, never after.
    pub fn applies_to(&self, date: NaiveDate) -> bool {
        let age = (date - self.date).num_days();
        (0..=MAX_RATE_AGE_DAYS).contains(&age)
    }
}

/// Converts `amount` into `base` at `rate`, rounding half away from zero to the base
/// currency's minor unit.
pub fn convert(amount: Money, rate: Rate, base: Currency) -> Result<Money, MoneyError> {
    let exact = Decimal::new(amount.minor(), amount.currency().exponent())
        .checked_mul(rate.0)
        .ok_or_else(|| MoneyError::Overflow(amount.to_string()))?;
    let rounded =
        exact.round_dp_with_strategy(base.exponent(), RoundingStrategy::MidpointAwayFromZero);
    let minor = rounded
        .checked_mul(Decimal::from(10_i64.pow(base.exponent())))
        .and_then(|m| m.to_i64())
        .ok_or_else(|| MoneyError::Overflow(amount.to_string()))?;
    Money::from_minor(minor, base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str) -> Currency {
        Currency::parse(code).expect("known")
    }

    #[test]
    fn conversion_is_exact_and_rounds_half_away_from_zero() {
        let eur = Money::parse("100.00", c("EUR")).expect("valid");
        let rate = Rate::parse("1.0834").expect("valid");
        assert_eq!(
            convert(eur, rate, c("USD")).map(|m| m.amount_string()),
            Ok("108.34".into())
        );
        let half = Money::parse("1.00", c("EUR")).expect("valid");
        assert_eq!(
            convert(half, Rate::parse("10.005").expect("valid"), c("USD"))
                .map(|m| m.amount_string()),
            Ok("10.01".into())
        );
        let yen = Money::parse("1500", c("JPY")).expect("valid");
        assert_eq!(
            convert(yen, Rate::parse("0.0067").expect("valid"), c("USD"))
                .map(|m| m.amount_string()),
            Ok("10.05".into())
        );
        let to_yen = Money::parse("10.50", c("USD")).expect("valid");
        assert_eq!(
            convert(to_yen, Rate::parse("149.5").expect("valid"), c("JPY"))
                .map(|m| m.amount_string()),
            Ok("1570".into())
        );
    }

    #[test]
    fn rates_are_plain_positive_decimals() {
        for bad in ["", "0", "0.0", "-1", "1e3", "1.1234567890123", "abc", " 1"] {
            assert!(Rate::parse(bad).is_err(), "{bad} was accepted");
        }
        assert_eq!(Rate::parse("1.50").map(|r| r.to_string()), Ok("1.5".into()));
    }

    #[test]
    fn a_rate_applies_from_its_day_for_a_week() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).expect("valid");
        let r = ExchangeRate {
            date: day(10),
            currency: c("EUR"),
            rate: Rate::one(),
        };
        assert!(r.applies_to(day(10)));
        assert!(r.applies_to(day(17)));
        assert!(!r.applies_to(day(18)));
        assert!(!r.applies_to(day(9)), "never a rate from after the expense");
    }
}

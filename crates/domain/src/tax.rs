//! Tax on an expense (VAT, GST, sales tax): the rate the receipt shows and the tax amount in
//! the gross, and what is net of it. Whether the company may reclaim it is the policy's call
//! per category ([`crate::CategoryRule::tax_reclaimable`]).

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::Money;

/// Why tax details were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxError {
    /// A rate that is not a percentage of at most two places from 0 to 100.
    #[error("tax rate `{0}` is not a percentage such as \"19\" or \"7.5\" (0 to 100)")]
    Rate(String),
    /// A tax amount that is not below the gross amount, or in another currency.
    #[error("the tax amount must be below the expense's amount, in its currency")]
    Amount,
}

/// The tax in an expense's amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tax {
    /// The rate in percent.
    pub rate: Decimal,
    /// The tax in the amount, in the amount's currency; `None` when it comes to nothing.
    pub amount: Option<Money>,
}

impl Tax {
    /// Parses a percentage: a plain decimal of at most two places, 0 to 100.
    pub fn parse_rate(s: &str) -> Result<Decimal, TaxError> {
        let bad = || TaxError::Rate(s.chars().take(20).collect());
        let plain = !s.is_empty()
            && s.len() <= 6
            && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && !s.starts_with('.')
            && !s.ends_with('.');
        if !plain {
            return Err(bad());
        }
        let rate = Decimal::from_str_exact(s).map_err(|_| bad())?;
        if rate.scale() > 2 || rate > Decimal::ONE_HUNDRED {
            return Err(bad());
        }
        Ok(rate.normalize())
    }

    /// The tax at `rate` in the gross amount `gross`: `gross × rate / (100 + rate)`, rounded
    /// half away from zero to the currency's minor unit; or `amount` as the receipt says it,
    /// which must be below the gross.
    pub fn new(rate: Decimal, gross: Money, amount: Option<Money>) -> Result<Self, TaxError> {
        if let Some(a) = amount {
            if a.currency() != gross.currency() || a.minor() >= gross.minor() {
                return Err(TaxError::Amount);
            }
            return Ok(Self {
                rate,
                amount: Some(a),
            });
        }
        let minor = (Decimal::from(gross.minor()) * rate / (Decimal::ONE_HUNDRED + rate))
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
            .to_i64()
            .ok_or(TaxError::Amount)?;
        Ok(Self {
            rate,
            amount: Money::from_minor(minor, gross.currency()).ok(),
        })
    }

    /// The rate `amount` of tax implies in `gross` (tax over net), to one decimal: what a
    /// receipt that shows only the amount was taxed at.
    pub fn implied_rate(gross: Money, amount: Money) -> Result<Decimal, TaxError> {
        let net = gross.minor() - amount.minor();
        if amount.currency() != gross.currency() || net <= 0 {
            return Err(TaxError::Amount);
        }
        Ok(
            (Decimal::from(amount.minor()) * Decimal::ONE_HUNDRED / Decimal::from(net))
                .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
                .normalize(),
        )
    }

    /// The tax in minor units (zero when none).
    pub fn minor(&self) -> i64 {
        self.amount.map_or(0, |a| a.minor())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, crate::Currency::parse("EUR").expect("EUR")).expect("positive")
    }

    #[test]
    fn the_tax_in_a_gross_amount_is_computed_and_rounded_once() {
        // 119.00 at 19 %: 19.00; 10.00 at 7 %: 0.654..., so 0.65; 0.01 at 19 %: nothing.
        let tax = |gross, rate: &str| {
            Tax::new(Tax::parse_rate(rate).expect("a rate"), eur(gross), None)
                .expect("a tax")
                .minor()
        };
        assert_eq!(tax(11_900, "19"), 1_900);
        assert_eq!(tax(1_000, "7"), 65);
        assert_eq!(tax(1, "19"), 0);
        assert_eq!(tax(5_000, "0"), 0);
        assert!(Tax::new(Decimal::from(19), eur(100), Some(eur(100))).is_err());
        for bad in ["", "-1", "101", "19.999", "1e2", ".5", "abc"] {
            assert!(Tax::parse_rate(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn net_and_tax_add_up_to_the_gross(gross in 1_i64..100_000_000, hundredths in 0_i64..=10_000) {
            let rate = Decimal::new(hundredths, 2);
            let tax = Tax::new(rate, eur(gross), None).expect("a tax").minor();
            // The tax is below the gross, and within half a cent of the exact share.
            prop_assert!(tax >= 0 && tax < gross);
            let exact = Decimal::from(gross) * rate / (Decimal::ONE_HUNDRED + rate);
            prop_assert!((Decimal::from(tax) - exact).abs() <= Decimal::new(5, 1));
        }
    }
}

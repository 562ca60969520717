//! Money and currencies: exact decimal strings in, integer minor units inside, never floats.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

/// Why an amount or a currency was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The currency code is not an ISO 4217 code of a currency with minor units.
    #[error("unknown currency `{0}`: use an ISO 4217 code such as USD or EUR")]
    UnknownCurrency(String),
    /// The amount is not a plain decimal such as `123.45`.
    #[error(
        "amount `{0}` is not a plain decimal such as \"123.45\" (no signs, exponents or spaces)"
    )]
    Malformed(String),
    /// The amount is zero.
    #[error("amount must be greater than zero")]
    Zero,
    /// More decimals than the currency has minor units (JPY has none, USD two).
    #[error("amount `{amount}` has more decimals than {currency} allows ({exponent})")]
    TooManyDecimals {
        /// The amount as given.
        amount: String,
        /// The currency's code.
        currency: &'static str,
        /// How many decimals the currency allows.
        exponent: u32,
    },
    /// The amount does not fit in the range Outlay stores.
    #[error("amount `{0}` is too large")]
    Overflow(String),
    /// Two amounts of different currencies were combined.
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(&'static str, &'static str),
}

/// An ISO 4217 currency that has minor units (metals and testing codes are refused).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Parses an upper-case ISO 4217 code such as `EUR`.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let unknown = || MoneyError::UnknownCurrency(code.chars().take(8).collect());
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(unknown());
        }
        let currency = iso_currency::Currency::from_code(code).ok_or_else(unknown)?;
        currency.exponent().ok_or_else(unknown)?;
        Ok(Self(currency))
    }

    /// Every currency [`Currency::parse`] accepts, by code. Read through the ISO numeric codes
    /// (a jump table) rather than by trying all 17,576 three-letter codes, which took most of
    /// a Lambda cold start.
    pub fn all() -> Vec<Self> {
        let mut all: Vec<Self> = (0..1000)
            .filter_map(iso_currency::Currency::from_numeric)
            .filter(|c| c.exponent().is_some())
            .map(Self)
            .collect();
        all.sort_by_key(|c| c.code());
        all.dedup();
        all
    }

    /// The three-letter code.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// How many decimal places the currency's minor unit has (2 for USD, 0 for JPY, 3 for KWD).
    pub fn exponent(&self) -> u32 {
        u32::from(self.0.exponent().unwrap_or(0))
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Self::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// A positive amount of one currency, held as integer minor units (cents for USD).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// The syntax [`Money::parse`] reads, as a regular expression (for the API document): at
    /// most 19 digits before the point (more never fit 64-bit minor units) and 4 after (the
    /// most any currency has). Within it, what does not fit is refused as too large.
    pub fn pattern() -> &'static str {
        r"^[0-9]{1,19}(\.[0-9]{1,4})?$"
    }

    /// Parses an exact decimal string such as `"123.45"` in `currency`.
    ///
    /// Refuses signs, exponents, whitespace, zero, more decimals than the currency allows and
    /// anything that does not fit in 64-bit minor units.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, MoneyError> {
        let shown: String = amount.chars().take(40).collect();
        let malformed = || MoneyError::Malformed(shown.clone());
        let (whole, fraction) = match amount.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (amount, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
            return Err(malformed());
        }
        let exponent = currency.exponent();
        let scale = fraction.map_or(0, str::len);
        if scale > exponent as usize {
            // Trailing zeros beyond the exponent are still more precision than the currency has.
            return Err(MoneyError::TooManyDecimals {
                amount: shown,
                currency: currency.code(),
                exponent,
            });
        }
        let overflow = || MoneyError::Overflow(shown.clone());
        let value = Decimal::from_str_exact(amount).map_err(|_| overflow())?;
        let minor = value
            .checked_mul(Decimal::from(10_i64.pow(exponent)))
            .ok_or_else(overflow)?;
        // The scale check above makes `minor` integral, so nothing is truncated here.
        let minor = minor.to_i64().ok_or_else(overflow)?;
        Self::from_minor(minor, currency)
    }

    /// Builds an amount from minor units; zero and negatives are refused.
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        if minor <= 0 {
            return Err(MoneyError::Zero);
        }
        Ok(Self { minor, currency })
    }

    /// The amount in minor units (cents for USD).
    pub fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Adds two amounts of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(
                self.currency.code(),
                other.currency.code(),
            ));
        }
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or_else(|| MoneyError::Overflow(format!("{self} + {other}")))?;
        Ok(Money { minor, ..self })
    }

    /// The amount as an exact decimal string with the currency's decimals (`"123.45"`).
    pub fn amount_string(&self) -> String {
        let exponent = self.currency.exponent();
        if exponent == 0 {
            return self.minor.to_string();
        }
        let unit = 10_i64.pow(exponent);
        format!(
            "{}.{:0width$}",
            self.minor / unit,
            self.minor % unit,
            width = exponent as usize
        )
    }
}

impl Money {
    /// The amount for people, its whole part grouped in thousands: `1,350.00 USD`.
    pub fn grouped(&self) -> String {
        let plain = self.amount_string();
        let (sign, digits) = plain
            .strip_prefix('-')
            .map_or(("", plain.as_str()), |d| ("-", d));
        let (whole, fraction) = digits
            .split_once('.')
            .map_or((digits, None), |(w, f)| (w, Some(f)));
        let mut out = String::from(sign);
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if let Some(f) = fraction {
            out.push('.');
            out.push_str(f);
        }
        format!("{out} {}", self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_string(), self.currency)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The wire form of [`Money`]: `{"amount":"123.45","currency":"USD"}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoneyWire {
    amount: String,
    currency: Currency,
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MoneyWire {
            amount: self.amount_string(),
            currency: self.currency,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = MoneyWire::deserialize(d)?;
        Money::parse(&wire.amount, wire.currency).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd() -> Currency {
        Currency::parse("USD").expect("USD is ISO 4217")
    }

    #[test]
    fn plain_decimals_become_minor_units() {
        assert_eq!(Money::parse("123.45", usd()).map(|m| m.minor()), Ok(12345));
        assert_eq!(Money::parse("7", usd()).map(|m| m.minor()), Ok(700));
        assert_eq!(Money::parse("0.5", usd()).map(|m| m.minor()), Ok(50));
        let jpy = Currency::parse("JPY").expect("JPY");
        assert_eq!(Money::parse("1500", jpy).map(|m| m.minor()), Ok(1500));
        let kwd = Currency::parse("KWD").expect("KWD");
        assert_eq!(Money::parse("1.234", kwd).map(|m| m.minor()), Ok(1234));
    }

    #[test]
    fn grouped_amounts_put_a_comma_between_thousands() {
        let m = |s: &str, c: &str| {
            Money::parse(s, Currency::parse(c).expect("ISO 4217")).expect("an amount")
        };
        assert_eq!(m("1350", "USD").grouped(), "1,350.00 USD");
        assert_eq!(m("999.5", "USD").grouped(), "999.50 USD");
        assert_eq!(m("1234567.891", "KWD").grouped(), "1,234,567.891 KWD");
        assert_eq!(m("100000", "JPY").grouped(), "100,000 JPY");
    }

    #[test]
    fn everything_that_is_not_a_plain_positive_decimal_is_refused() {
        for bad in [
            "", "-1", "+1", "1e3", "1E3", " 1", "1 ", "1,00", ".5", "5.", "0x10", "NaN", "1.2.3",
            "١٢",
        ] {
            assert!(
                matches!(Money::parse(bad, usd()), Err(MoneyError::Malformed(_))),
                "{bad:?} was accepted"
            );
        }
        assert_eq!(Money::parse("0.00", usd()), Err(MoneyError::Zero));
        assert!(matches!(
            Money::parse("1.001", usd()),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        let jpy = Currency::parse("JPY").expect("JPY");
        assert!(matches!(
            Money::parse("100.5", jpy),
            Err(MoneyError::TooManyDecimals { exponent: 0, .. })
        ));
        assert!(matches!(
            Money::parse("92233720368547758.08", usd()),
            Err(MoneyError::Overflow(_))
        ));
        assert!(matches!(
            Money::parse("99999999999999999999999999999999999", usd()),
            Err(MoneyError::Overflow(_))
        ));
    }

    #[test]
    fn unknown_and_unit_less_currencies_are_refused() {
        for bad in ["usd", "XYZ", "US", "USDD", "XAU", "XXX", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    proptest! {
        #[test]
        fn formatting_then_parsing_gives_back_the_same_amount(minor in 1_i64..=i64::MAX, code in prop::sample::select(vec!["USD", "JPY", "KWD", "EUR"])) {
            let currency = Currency::parse(code).expect("known code");
            let money = Money::from_minor(minor, currency).expect("positive");
            prop_assert_eq!(Money::parse(&money.amount_string(), currency), Ok(money));
        }

        #[test]
        fn parsing_never_panics_and_accepts_only_positive_amounts(s in "\\PC{0,30}") {
            if let Ok(money) = Money::parse(&s, usd()) {
                prop_assert!(money.minor() > 0);
                prop_assert!(s.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
            }
        }

        #[test]
        fn whole_and_cents_parse_exactly(whole in 0_u64..10_000_000_000, cents in 0_u32..100) {
            prop_assume!(whole > 0 || cents > 0);
            let s = format!("{whole}.{cents:02}");
            let parsed = Money::parse(&s, usd()).expect("valid");
            prop_assert_eq!(parsed.minor(), whole as i64 * 100 + i64::from(cents));
        }
    }
}

#[cfg(test)]
mod all_currencies {
    use super::Currency;

    #[test]
    fn every_currency_is_listed_once_in_code_order() {
        let all = Currency::all();
        assert!(all.len() > 150, "{}", all.len());
        let codes: Vec<&str> = all.iter().map(Currency::code).collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
        for code in ["USD", "EUR", "JPY", "KWD"] {
            assert!(codes.contains(&code), "{code}");
        }
        assert!(!codes.contains(&"XAU"), "metals have no minor unit");
    }

    #[test]
    fn the_list_is_every_three_letter_code_that_parses() {
        let letters = b'A'..=b'Z';
        let parsed: Vec<Currency> = letters
            .clone()
            .flat_map(|a| letters.clone().map(move |b| (a, b)))
            .flat_map(|(a, b)| (b'A'..=b'Z').map(move |c| [a, b, c]))
            .filter_map(|code| Currency::parse(std::str::from_utf8(&code).ok()?).ok())
            .collect();
        assert_eq!(Currency::all(), parsed);
    }
}

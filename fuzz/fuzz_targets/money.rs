//! Money and rates from text: never a panic; what parses is positive, within the currency's
//! minor unit, and prints back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outlay_domain::{Currency, Money, Rate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let at = text.char_indices().nth(3).map_or(text.len(), |(i, _)| i);
    let (code, amount) = text.split_at(at);
    let _ = Currency::parse(code);
    for currency in ["USD", "JPY", "KWD", "CLF"] {
        let currency = Currency::parse(currency).expect("a currency");
        if let Ok(m) = Money::parse(amount, currency) {
            assert!(m.minor() > 0, "{amount}");
            let again = Money::parse(&m.amount_string(), currency).expect("prints parseable");
            assert_eq!(again, m, "{amount}");
        }
    }
    if let Ok(r) = Rate::parse(amount) {
        assert!(
            r.value().is_sign_positive() && !r.value().is_zero(),
            "{amount}"
        );
    }
});

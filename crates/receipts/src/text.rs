//! Extraction rules: the merchant, date, total, currency and tax of a receipt, found in the
//! lines of text an OCR engine (or Textract) read off it. They know the usual layouts of
//! till receipts and invoices in English and German, dates as `05.12.2026`, `2026-12-05`,
//! `12/05/2026` and `5 Dec 2026`, and amounts as `1.234,56` and `1,234.56`.

use std::str::FromStr;
use std::sync::LazyLock;

use chrono::NaiveDate;
use outlay_domain::Currency;
use outlay_domain::reading::{Field, ReadFields};
use regex::Regex;
use rust_decimal::Decimal;

/// One line of a receipt, with how sure the engine is of it (0–1).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The text.
    pub text: String,
    /// The engine's confidence.
    pub confidence: f64,
}

impl Line {
    /// A line.
    pub fn new(text: &str, confidence: f64) -> Self {
        Self {
            text: text.trim().to_owned(),
            confidence,
        }
    }
}

/// Total keywords, most telling first; a line's best keyword ranks it.
const TOTALS: [&str; 16] = [
    "GRAND TOTAL",
    "AMOUNT DUE",
    "BALANCE DUE",
    "TOTAL DUE",
    "TOTAL TTC",
    "GESAMTBETRAG",
    "RECHNUNGSBETRAG",
    "ZU ZAHLEN",
    "ZAHLBETRAG",
    "TOTAL",
    "GESAMT",
    "SUMME",
    "BETRAG",
    "AMOUNT",
    "MONTANT",
    "BRUTTO",
];

/// Lines that name a total but are not the one paid.
const NOT_TOTALS: [&str; 12] = [
    "SUBTOTAL",
    "SUB TOTAL",
    "SUB-TOTAL",
    "ZWISCHENSUMME",
    "NETTO",
    "NET ",
    "TOTAL TAX",
    "TOTAL VAT",
    "EXCL",
    "TIP",
    "TRINKGELD",
    "ITEMS",
];

/// Lines that carry a tax word but no tax amount: registration numbers.
const TAX_IDS: [&str; 8] = [
    "IDNR", "ID-NR", "ID NR", "NO.", "NR.", "REG", "NUMMER", "TAX ID",
];

/// Headings that are not a merchant's name.
const NOT_MERCHANTS: [&str; 12] = [
    "RECEIPT",
    "KASSENBON",
    "KASSENBELEG",
    "RECHNUNG",
    "INVOICE",
    "QUITTUNG",
    "BELEG",
    "WELCOME",
    "WILLKOMMEN",
    "TAX INVOICE",
    "COPY",
    "KOPIE",
];

static AMOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\d{1,3}(?:[.,' ]\d{3})+|\d+)\s?[.,]\s?(\d{2})\b").expect("a valid pattern")
});
static NUMERIC_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\d{1,2})\s?([./-])\s?(\d{1,2})\s?[./-]\s?(\d{4}|\d{2})\b")
        .expect("a valid pattern")
});
static ISO_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{4})-(\d{2})-(\d{2})\b").expect("a valid pattern"));
static DAY_MONTH_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(\d{1,2})\.?\s+([a-zä]{3,9})\.?,?\s+(\d{4})\b").expect("a valid pattern")
});
static MONTH_DAY_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-zä]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})\b").expect("a valid pattern")
});
static TAX_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(VAT|MWST|MEHRWERTSTEUER|UST|TAX|TVA|IVA|GST|HST|STEUER)\b")
        .expect("a valid pattern")
});
static CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([A-Z]{3})\b").expect("a valid pattern"));

/// The currencies recognised by code on a receipt (others are read by Textract or an
/// e-invoice), and by symbol.
const CODES: [&str; 14] = [
    "EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "CZK", "NZD",
    "HUF",
];

/// Everything the rules find in `lines`.
pub fn fields(lines: &[Line]) -> ReadFields {
    let lines: Vec<&Line> = lines.iter().filter(|l| !l.text.is_empty()).collect();
    let total = total(&lines);
    let currency = currency(&lines, total.as_ref().map(|(_, i)| *i));
    let us = currency.as_ref().is_some_and(|c| c.value.code() == "USD");
    let tax = tax(&lines, total.as_ref().map(|(f, _)| f.value));
    ReadFields {
        merchant: merchant(&lines),
        date: date(&lines, us),
        total: total.map(|(f, _)| f),
        currency,
        tax,
    }
}

/// The amounts on a line, as exact decimals: percentages, times and parts of dates are not.
pub fn amounts(text: &str) -> Vec<Decimal> {
    let bytes = text.as_bytes();
    AMOUNT
        .captures_iter(text)
        .filter_map(|c| {
            let m = c.get(0)?;
            let after = &bytes[m.end()..];
            let before = &bytes[..m.start()];
            let next = after.iter().find(|b| **b != b' ');
            if next == Some(&b'%') {
                return None;
            }
            // `05.12` of `05.12.2026`, `12,50` of `1,12,50`: part of something longer.
            if after
                .first()
                .is_some_and(|b| matches!(b, b'.' | b',' | b'/' | b':'))
                && after.get(1).is_some_and(u8::is_ascii_digit)
            {
                return None;
            }
            if before
                .last()
                .is_some_and(|b| matches!(b, b'.' | b',' | b'/' | b':' | b'-'))
                && before.len() >= 2
                && before[before.len() - 2].is_ascii_digit()
            {
                return None;
            }
            let whole: String = c[1].chars().filter(char::is_ascii_digit).collect();
            Decimal::from_str(&format!("{whole}.{}", &c[2])).ok()
        })
        .collect()
}

fn upper(text: &str) -> String {
    text.to_uppercase()
}

/// The total, and the index of its line.
fn total(lines: &[&Line]) -> Option<(Field<Decimal>, usize)> {
    let mut best: Option<(usize, Decimal, usize, f64)> = None; // rank, amount, line, weight
    for (i, line) in lines.iter().enumerate() {
        let up = upper(&line.text);
        if NOT_TOTALS.iter().any(|k| up.contains(k)) {
            continue;
        }
        let Some(rank) = TOTALS.iter().position(|k| up.contains(k)) else {
            continue;
        };
        let (amount, weight) = match amounts(&line.text).last() {
            Some(a) => (*a, 0.95),
            // The amount may stand on the next line, under its label.
            None => match lines
                .get(i + 1)
                .and_then(|l| amounts(&l.text).last().copied())
            {
                Some(a) => (a, 0.8),
                None => continue,
            },
        };
        let better = match best {
            None => true,
            Some((r, a, _, _)) => rank < r || (rank == r && amount > a),
        };
        if better {
            best = Some((rank, amount, i, weight));
        }
    }
    if let Some((_, amount, i, weight)) = best {
        return Some((
            Field::new(amount, lines[i].confidence * weight, &lines[i].text),
            i,
        ));
    }
    // No labelled total: the largest amount, with little confidence.
    let (i, amount) = lines
        .iter()
        .enumerate()
        .flat_map(|(i, l)| amounts(&l.text).into_iter().map(move |a| (i, a)))
        .max_by_key(|(_, a)| *a)?;
    Some((
        Field::new(amount, lines[i].confidence * 0.4, &lines[i].text),
        i,
    ))
}

/// The currency: a code or symbol, best on the total's own line.
fn currency(lines: &[&Line], total_line: Option<usize>) -> Option<Field<Currency>> {
    let on = |line: &Line| -> Option<Currency> {
        let code = CODE
            .captures_iter(&line.text)
            .map(|c| c[1].to_owned())
            .find(|c| CODES.contains(&c.as_str()));
        let code = code.or_else(|| {
            if line.text.contains('€') {
                Some("EUR".into())
            } else if line.text.contains('£') {
                Some("GBP".into())
            } else if line.text.contains('$') {
                Some("USD".into())
            } else {
                None
            }
        })?;
        Currency::parse(&code).ok()
    };
    if let Some(i) = total_line
        && let Some(c) = on(lines[i])
    {
        return Some(Field::new(c, lines[i].confidence * 0.95, &lines[i].text));
    }
    let mut found = lines.iter().filter_map(|l| on(l).map(|c| (c, *l)));
    let (c, line) = found.next()?;
    Some(Field::new(c, line.confidence * 0.75, &line.text))
}

const MONTHS: [(&str, u32); 24] = [
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("mär", 3),
    ("apr", 4),
    ("may", 5),
    ("mai", 5),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("oct", 10),
    ("okt", 10),
    ("nov", 11),
    ("dec", 12),
    ("dez", 12),
    ("january", 1),
    ("february", 2),
    ("march", 3),
    ("june", 6),
    ("july", 7),
    ("august", 8),
    ("september", 9),
    ("october", 10),
];

fn month(name: &str) -> Option<u32> {
    let name = name.to_lowercase();
    let short: String = name.chars().take(3).collect();
    MONTHS
        .iter()
        .find(|(m, _)| *m == name || *m == short)
        .map(|(_, n)| *n)
}

fn year(y: &str) -> Option<i32> {
    let y: i32 = y.parse().ok()?;
    let y = if y < 100 { 2000 + y } else { y };
    (2000..=2100).contains(&y).then_some(y)
}

/// The dates on a line; `us` settles `05/12/2026` as May 12.
pub fn dates(text: &str, us: bool) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    for c in ISO_DATE.captures_iter(text) {
        if let (Ok(y), Ok(m), Ok(d)) = (c[1].parse(), c[2].parse(), c[3].parse())
            && let Some(date) = NaiveDate::from_ymd_opt(y, m, d)
        {
            out.push(date);
        }
    }
    for c in NUMERIC_DATE.captures_iter(text) {
        let (Ok(a), Ok(b), Some(y)) = (c[1].parse::<u32>(), c[3].parse::<u32>(), year(&c[4]))
        else {
            continue;
        };
        let (d, m) = match &c[2] {
            "." => (a, b),
            _ if a > 12 => (a, b),
            _ if b > 12 => (b, a),
            _ if us => (b, a),
            _ => (a, b),
        };
        if let Some(date) = NaiveDate::from_ymd_opt(y, m, d) {
            out.push(date);
        }
    }
    for c in DAY_MONTH_YEAR.captures_iter(text) {
        if let (Ok(d), Some(m), Some(y)) = (c[1].parse(), month(&c[2]), year(&c[3]))
            && let Some(date) = NaiveDate::from_ymd_opt(y, m, d)
        {
            out.push(date);
        }
    }
    for c in MONTH_DAY_YEAR.captures_iter(text) {
        if let (Some(m), Ok(d), Some(y)) = (month(&c[1]), c[2].parse(), year(&c[3]))
            && let Some(date) = NaiveDate::from_ymd_opt(y, m, d)
        {
            out.push(date);
        }
    }
    out
}

/// The receipt's date: one on a line that says so, or else the first.
fn date(lines: &[&Line], us: bool) -> Option<Field<NaiveDate>> {
    let labelled = |l: &Line| {
        let up = upper(&l.text);
        ["DATE", "DATUM", "DATED", "BELEGDATUM", "RECHNUNGSDATUM"]
            .iter()
            .any(|k| up.contains(k))
    };
    let mut first = None;
    for line in lines {
        let Some(d) = dates(&line.text, us).into_iter().next() else {
            continue;
        };
        if labelled(line) {
            return Some(Field::new(d, line.confidence * 0.95, &line.text));
        }
        first.get_or_insert((d, *line));
    }
    first.map(|(d, line)| Field::new(d, line.confidence * 0.8, &line.text))
}

/// The tax: the amount of a line that names a tax (not a registration number, not a total),
/// less than the total.
fn tax(lines: &[&Line], total: Option<Decimal>) -> Option<Field<Decimal>> {
    let mut sum = Decimal::ZERO;
    let mut sources = Vec::new();
    let mut confidence: f64 = 1.0;
    for line in lines {
        let up = upper(&line.text);
        let names_tax = TAX_WORD.is_match(&up);
        let names_total = ["TOTAL", "SUMME", "GESAMT", "BETRAG"]
            .iter()
            .any(|k| up.contains(k));
        let tax_total = up.contains("TOTAL TAX") || up.contains("TOTAL VAT");
        if !names_tax || TAX_IDS.iter().any(|k| up.contains(k)) || names_total && !tax_total {
            continue;
        }
        let Some(amount) = amounts(&line.text).last().copied() else {
            continue;
        };
        sum += amount;
        sources.push(line.text.as_str());
        confidence = confidence.min(line.confidence);
    }
    if sources.is_empty() || total.is_some_and(|t| sum >= t) {
        return None;
    }
    Some(Field::new(sum, confidence * 0.85, &sources.join(" / ")))
}

/// The merchant: the first line near the top that reads as a name.
fn merchant(lines: &[&Line]) -> Option<Field<String>> {
    lines.iter().take(6).find_map(|line| {
        let text = line
            .text
            .trim_matches(|c: char| !c.is_alphanumeric() && c != '&');
        let letters = text.chars().filter(|c| c.is_alphabetic()).count();
        let up = upper(text);
        let usable = letters >= 3
            && letters * 2 >= text.chars().filter(|c| !c.is_whitespace()).count()
            && !NOT_MERCHANTS
                .iter()
                .any(|k| up == *k || up.starts_with(&format!("{k} ")))
            && amounts(text).is_empty()
            && dates(text, false).is_empty();
        usable.then(|| Field::new(text.to_owned(), line.confidence * 0.85, &line.text))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<Line> {
        text.lines().map(|l| Line::new(l, 0.9)).collect()
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).expect("a decimal")
    }

    #[test]
    fn amounts_read_both_decimal_marks_and_skip_percentages_and_dates() {
        assert_eq!(amounts("TOTAL 1,234.56"), vec![dec("1234.56")]);
        assert_eq!(amounts("Summe EUR 1.234,56"), vec![dec("1234.56")]);
        assert_eq!(
            amounts("2 x Kaffee 3,20 6,40"),
            vec![dec("3.20"), dec("6.40")]
        );
        assert_eq!(amounts("MwSt 19% 3,19"), vec![dec("3.19")]);
        assert_eq!(amounts("Datum 05.12.2026 12:30"), Vec::<Decimal>::new());
        assert_eq!(amounts("19.00 %"), Vec::<Decimal>::new());
    }

    #[test]
    fn dates_read_european_us_iso_and_named_months() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).expect("a date");
        assert_eq!(dates("Datum: 05.12.2026", false), vec![d(2026, 12, 5)]);
        assert_eq!(dates("05.12.26 14:02", false), vec![d(2026, 12, 5)]);
        assert_eq!(dates("2026-12-05", false), vec![d(2026, 12, 5)]);
        assert_eq!(dates("12/05/2026", true), vec![d(2026, 12, 5)]);
        assert_eq!(dates("12/05/2026", false), vec![d(2026, 5, 12)]);
        assert_eq!(dates("25/12/2026", true), vec![d(2026, 12, 25)]);
        assert_eq!(dates("Dec 5, 2026", true), vec![d(2026, 12, 5)]);
        assert_eq!(dates("5. Dez 2026", false), vec![d(2026, 12, 5)]);
    }

    #[test]
    fn a_german_till_receipt() {
        let read = fields(&lines(
            "Bäckerei Müller GmbH\nHauptstr. 5, 10115 Berlin\nUSt-IdNr. DE123456789\n\
             2 x Brötchen 0,45 0,90\nKaffee 3,20\nSUMME EUR 4,10\nMwSt 7% 0,27\n\
             Gegeben BAR 10,00\nRückgeld 5,90\nDatum: 05.12.2026 08:14",
        ));
        assert_eq!(
            read.merchant.map(|f| f.value).as_deref(),
            Some("Bäckerei Müller GmbH")
        );
        assert_eq!(read.total.as_ref().map(|f| f.value), Some(dec("4.10")));
        assert_eq!(
            read.total.map(|f| f.source).as_deref(),
            Some("SUMME EUR 4,10")
        );
        assert_eq!(read.currency.map(|f| f.value.code()), Some("EUR"));
        assert_eq!(read.tax.map(|f| f.value), Some(dec("0.27")));
        assert_eq!(
            read.date.map(|f| f.value),
            NaiveDate::from_ymd_opt(2026, 12, 5)
        );
    }

    #[test]
    fn a_us_receipt_with_a_subtotal_and_a_tip() {
        let read = fields(&lines(
            "RECEIPT\nJoe's Diner\n12/05/2026 7:45 PM\nBurger 14.50\nFries 4.25\n\
             SUBTOTAL 18.75\nSales Tax 1.55\nTIP 3.00\nTOTAL $23.30\nVISA **** 4242",
        ));
        assert_eq!(
            read.merchant.map(|f| f.value).as_deref(),
            Some("Joe's Diner")
        );
        assert_eq!(read.total.map(|f| f.value), Some(dec("23.30")));
        assert_eq!(read.currency.map(|f| f.value.code()), Some("USD"));
        assert_eq!(read.tax.map(|f| f.value), Some(dec("1.55")));
        assert_eq!(
            read.date.map(|f| f.value),
            NaiveDate::from_ymd_opt(2026, 12, 5)
        );
    }

    #[test]
    fn without_a_label_the_largest_amount_is_a_weak_guess() {
        let read = fields(&lines("Kiosk\nWater 1.50\nChips 2.25"));
        let total = read.total.expect("a guess");
        assert_eq!(total.value, dec("2.25"));
        assert!(total.confidence < 0.5);
    }
}

//! Journal files: each balances as the journal does, DATEV's is Windows-1252 with its header
//! and 125 columns, what a format cannot take is refused, and a reader that is not Outlay's
//! own (Python's csv module, scripts/check-bank-files.py) agrees.

use std::path::Path;
use std::process::Command;

use chrono::{NaiveDate, TimeZone, Utc};
use outlay_app::PaymentFiles;
use outlay_domain::Currency;
use outlay_domain::journal::{
    Datev, GlAccount, Journal, JournalEntry, JournalFormat, JournalLine, Ledger,
};
use outlay_payments::BankFiles;

fn account(code: &str, name: &str) -> GlAccount {
    GlAccount {
        code: code.into(),
        name: name.into(),
    }
}

fn line(code: &str, centre: Option<&str>, debit: i64, credit: i64, memo: &str) -> JournalLine {
    JournalLine {
        account: account(code, &format!("Account {code}")),
        cost_centre: centre.map(str::to_owned),
        debit,
        credit,
        memo: memo.into(),
    }
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).expect("a day")
}

/// Two accruals (one split over two cost centres, with input tax) and a payment; memos with
/// a formula's sign, German letters, the euro sign and a character Windows-1252 lacks.
fn journal() -> Journal {
    let eur = Currency::parse("EUR").expect("EUR");
    let entry = |d: u32, reference: &str, lines: Vec<JournalLine>| JournalEntry {
        date: day(d),
        reference: reference.into(),
        narration: format!("Entry {reference}"),
        currency: eur,
        lines,
    };
    let ledger = Ledger {
        datev: Some(Datev {
            consultant: 1001,
            client: 7,
            fiscal_year_start_month: 1,
            chart: "03".into(),
        }),
        ..Ledger::default()
    };
    Journal {
        from: day(1),
        to: day(30),
        currency: eur,
        entries: vec![
            entry(
                3,
                "0190aaaa00000001-A",
                vec![
                    line("4670", Some("ENG"), 3_334, 0, "=Reise nach München €"),
                    line("4670", Some("SALES"), 1_666, 0, "Reise 🚆"),
                    line("1576", None, 950, 0, "Vorsteuer"),
                    line("1740", None, 0, 5_950, "Eve \"E\" Employee"),
                ],
            ),
            entry(
                9,
                "0190aaaa00000002-A",
                vec![
                    line("4900", None, 4_000, 0, "Bistro"),
                    line("1740", None, 0, 4_000, "Eve"),
                ],
            ),
            entry(
                20,
                "0190aaaa00000001-P",
                vec![
                    line("1740", None, 5_950, 0, "Paid"),
                    line("1200", None, 0, 5_950, "TX-77"),
                ],
            ),
        ],
        ledger,
        created_at: Utc
            .with_ymd_and_hms(2026, 12, 1, 8, 0, 0)
            .single()
            .expect("a time"),
    }
}

const DEBITS: i64 = 3_334 + 1_666 + 950 + 4_000 + 5_950;

fn render(format: JournalFormat, journal: &Journal) -> Result<Vec<u8>, String> {
    BankFiles.journal(format, journal)
}

#[test]
fn datev_is_windows_1252_with_the_extf_header_and_a_booking_per_line() {
    let bytes = render(JournalFormat::Datev, &journal()).expect("DATEV");
    // ü and € in Windows-1252; the train, which it lacks, as `?`.
    assert!(bytes.windows(7).any(|w| w == b"M\xfcnchen"), "ü is 0xFC");
    assert!(bytes.contains(&0x80), "the euro sign is 0x80");
    let text: String = bytes.iter().map(|b| *b as char).collect();
    assert!(text.contains("Reise ?"), "{text}");
    let rows: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(rows.last(), Some(&""), "every line ends in CRLF");
    assert_eq!(
        rows[0],
        "\"EXTF\";700;21;\"Buchungsstapel\";13;20261201080000000;;\"RE\";\"Outlay\";\"\";1001;7;20260101;4;20261101;20261130;\"Outlay 2026-11-01 2026-11-30\";\"\";1;0;0;\"EUR\";;\"\";;;\"03\";;;\"\";\"\""
    );
    let bookings = &rows[2..rows.len() - 1];
    // Three debits against payables, one against payables, and payables against the bank.
    assert_eq!(bookings.len(), 5);
    let first: Vec<&str> = bookings[0].split(';').collect();
    assert_eq!(first.len(), 125);
    assert_eq!(
        (first[0], first[1], first[6], first[7], first[9], first[10]),
        (
            "33,34",
            "\"S\"",
            "4670",
            "1740",
            "0311",
            "\"0190aaaa00000001-A\""
        )
    );
    assert_eq!(first[36], "\"ENG\"", "the cost centre is KOST1");
    assert!(
        bookings[3].contains(";\"Bistro\";"),
        "a booking's text is its line's"
    );
    let sum: i64 = bookings
        .iter()
        .map(|b| {
            b.split(';')
                .next()
                .expect("an amount")
                .replace(',', "")
                .parse::<i64>()
                .expect("cents")
        })
        .sum();
    assert_eq!(sum, DEBITS);
}

#[test]
fn datev_refuses_what_it_cannot_book() {
    let mut no_numbers = journal();
    no_numbers.ledger.datev = None;
    let mut letters = journal();
    letters.entries[1].lines[0].account.code = "TRAVEL".into();
    let mut long = journal();
    long.entries[1].lines[0].account.code = "490000".into();
    let mut two_years = journal();
    two_years.to = NaiveDate::from_ymd_opt(2027, 1, 31).expect("a day");
    for (j, what) in [
        (no_numbers, "consultant"),
        (letters, "TRAVEL"),
        (long, "490000"),
        (two_years, "fiscal year"),
    ] {
        let refused = render(JournalFormat::Datev, &j).expect_err(what);
        assert!(refused.contains(what), "{what}: {refused}");
    }
}

#[test]
fn spreadsheet_files_never_start_a_cell_with_a_formula() {
    for format in [JournalFormat::Xero, JournalFormat::Qbo, JournalFormat::Csv] {
        let text = String::from_utf8(render(format, &journal()).expect("a file")).expect("UTF-8");
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        for row in reader.records() {
            let row = row.expect("a row");
            for cell in row.iter() {
                assert!(
                    !cell.starts_with('='),
                    "{format:?}: {cell:?} would be a formula"
                );
            }
        }
        assert!(text.contains("'=Reise"), "{format:?}: {text}");
    }
    // DATEV's file opens in a spreadsheet too (with `;` in German locales).
    let datev = render(JournalFormat::Datev, &journal()).expect("DATEV");
    let text: String = datev.iter().map(|b| *b as char).collect();
    for field in text.split(['\r', '\n', ';']) {
        let unquoted = field.trim_matches('"');
        assert!(
            !unquoted.starts_with('='),
            "DATEV: {field:?} would be a formula"
        );
    }
    assert!(text.contains("\"'=Reise"), "{text}");
}

fn write(dir: &Path, name: &str, bytes: &[u8], entries: usize) {
    std::fs::write(dir.join(name), bytes).expect("written");
    let expect = serde_json::json!({"count": entries, "total_minor": DEBITS});
    std::fs::write(dir.join(format!("{name}.expect.json")), expect.to_string()).expect("written");
}

#[test]
#[ignore = "needs the validators of .ci/requirements.txt in .venv: bash .ci/run runs it"]
fn an_independent_reader_finds_every_journal_file_balanced_and_catches_a_broken_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "no .venv: python3 -m venv .venv && .venv/bin/pip install -r .ci/requirements.txt"
    );
    let dir = tempfile::tempdir().expect("a directory");
    let j = journal();
    for (format, ending) in [
        (JournalFormat::Xero, "xero"),
        (JournalFormat::Qbo, "qbo"),
        (JournalFormat::Csv, "plain"),
        (JournalFormat::Datev, "datev"),
    ] {
        let bytes = render(format, &j).expect("a file");
        write(dir.path(), &format!("good.{ending}.csv"), &bytes, 3);
    }
    // Broken on purpose: a Xero line off by a cent, a DATEV booking without its S or H.
    let xero = String::from_utf8(render(JournalFormat::Xero, &j).expect("Xero")).expect("UTF-8");
    let off = xero.replacen(",33.34,", ",33.35,", 1);
    assert_ne!(off, xero);
    std::fs::write(dir.path().join("bad.xero.csv"), off).expect("written");
    let datev = render(JournalFormat::Datev, &j).expect("DATEV");
    let text: String = datev.iter().map(|b| *b as char).collect();
    let no_side = text.replacen(";\"S\";", ";\"X\";", 1);
    let bytes: Vec<u8> = no_side.chars().map(|c| c as u8).collect();
    std::fs::write(dir.path().join("bad.datev.csv"), bytes).expect("written");

    let out = Command::new(&python)
        .arg(root.join("scripts/check-bank-files.py"))
        .arg(dir.path())
        .output()
        .expect("the checker runs");
    let report = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for good in ["xero", "qbo", "plain", "datev"] {
        assert!(
            report.contains(&format!("ok good.{good}.csv\n")),
            "{good}:\n{report}\n{stderr}"
        );
    }
    for bad in ["bad.xero.csv", "bad.datev.csv"] {
        assert!(
            report.contains(&format!("FAIL {bad}")),
            "{bad}:\n{report}\n{stderr}"
        );
    }
    assert!(!out.status.success(), "broken files fail the run");
}

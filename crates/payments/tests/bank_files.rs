//! Bank files: made from the batch alone, refused where the format cannot pay, and accepted
//! by tools that are not Outlay's own (the ISO 20022 schema; a NACHA parser).

use std::path::Path;
use std::process::Command;

use chrono::{TimeZone, Utc};
use outlay_app::PaymentFiles;
use outlay_domain::{
    AccountNumber, BatchId, BatchItem, BatchState, Currency, FileFormat, Money, PayingAccount,
    PaymentBatch, ReportId, UserId,
};
use outlay_payments::BankFiles;

fn uuid(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n)
}

fn batch(currency: &str, payees: &[(&str, AccountNumber, i64)]) -> PaymentBatch {
    let currency = Currency::parse(currency).expect("a currency");
    let at = Utc
        .with_ymd_and_hms(2026, 12, 4, 9, 30, 0)
        .single()
        .expect("a time");
    PaymentBatch {
        id: BatchId::from_uuid(uuid(1)),
        state: BatchState::Exported,
        currency,
        items: payees
            .iter()
            .enumerate()
            .map(|(n, (holder, account, minor))| {
                let report = ReportId::from_uuid(uuid(100 + n as u128));
                BatchItem {
                    report_id: report,
                    owner_id: UserId::from_uuid(uuid(200 + n as u128)),
                    holder: (*holder).to_owned(),
                    account: account.clone(),
                    amount: Money::from_minor(*minor, currency).expect("positive"),
                    end_to_end: outlay_domain::payment::end_to_end(report),
                    paid: None,
                }
            })
            .collect(),
        payer: PayingAccount {
            name: "Outlay Demo & Sons GmbH".into(),
            iban: Some("DE89370400440532013000".into()),
            bic: Some("COBADEFFXXX".into()),
            ach_bank_routing: Some("021000021".into()),
            ach_bank_name: Some("JPMORGAN CHASE".into()),
            ach_company_id: Some("1234567890".into()),
        },
        created_by: UserId::from_uuid(uuid(300)),
        created_at: at,
        exported_at: Some(at),
        files: Default::default(),
        failure: None,
        version: 2,
        updated_at: at,
    }
}

fn iban(s: &str, bic: Option<&str>) -> AccountNumber {
    AccountNumber::iban(s, bic).expect("a valid IBAN")
}

fn ach(routing: &str, account: &str) -> AccountNumber {
    AccountNumber::ach(routing, account).expect("a valid US account")
}

fn euro_batch() -> PaymentBatch {
    batch(
        "EUR",
        &[
            (
                "Jürgen <Müller> & Co",
                iban("DE44 5001 0517 5407 3249 31", Some("INGDDEFFXXX")),
                12_345,
            ),
            ("Zoë O'Brien", iban("fr1420041010050500013m02606", None), 99),
            (
                "A very long name that goes on and on beyond what SEPA carries in a name field at all",
                iban("NL91ABNA0417164300", None),
                1_000_000,
            ),
        ],
    )
}

fn dollar_batch() -> PaymentBatch {
    batch(
        "USD",
        &[
            ("Eve Employee", ach("021000021", "123456789"), 8_700),
            (
                "Mia Manager-Smith, Jr.",
                ach("011000015", "00012345678901234"),
                15_400,
            ),
            ("=cmd|' /C calc'!A0", ach("122105155", "4321"), 99_999_999),
        ],
    )
}

#[test]
fn the_same_batch_always_gives_the_same_bytes() {
    for (format, b) in [
        (FileFormat::Sepa, euro_batch()),
        (FileFormat::Nacha, dollar_batch()),
        (FileFormat::Csv, dollar_batch()),
    ] {
        let first = BankFiles.render(format, &b).expect("rendered");
        let mut later = b.clone();
        later.updated_at = Utc::now();
        later.version += 5;
        assert_eq!(
            BankFiles.render(format, &later).expect("rendered"),
            first,
            "{format:?}"
        );
    }
}

#[test]
fn each_format_refuses_what_it_cannot_pay() {
    let euros = euro_batch();
    let dollars = dollar_batch();
    assert!(
        BankFiles.render(FileFormat::Sepa, &dollars).is_err(),
        "SEPA pays euros"
    );
    assert!(
        BankFiles.render(FileFormat::Nacha, &euros).is_err(),
        "NACHA pays dollars"
    );
    let mut mixed = dollars.clone();
    mixed.items[0].account = iban("DE89370400440532013000", None);
    let refused = BankFiles
        .render(FileFormat::Nacha, &mixed)
        .expect_err("an IBAN");
    assert!(refused.contains("IBAN"), "{refused}");
    let mut no_iban = euros.clone();
    no_iban.payer.iban = None;
    assert!(BankFiles.render(FileFormat::Sepa, &no_iban).is_err());
}

#[test]
fn nacha_records_are_94_characters_in_blocks_of_ten_with_their_totals() {
    let file = String::from_utf8(
        BankFiles
            .render(FileFormat::Nacha, &dollar_batch())
            .expect("rendered"),
    )
    .expect("ASCII");
    let lines: Vec<&str> = file.lines().collect();
    assert!(lines.iter().all(|l| l.len() == 94), "{file}");
    assert_eq!(lines.len() % 10, 0);
    let control = lines
        .iter()
        .find(|l| l.starts_with('8'))
        .expect("a batch control");
    // 3 entries; hash 02100002 + 01100001 + 12210515 = 15410518; credits 87.00 + 154.00 +
    // 999,999.99 = 1,000,240.99
    assert_eq!(&control[4..10], "000003");
    assert_eq!(&control[10..20], "0015410518");
    assert_eq!(&control[32..44], "000100024099");
    // Names lose what NACHA cannot carry; nothing reads as a formula.
    assert!(file.contains("MIA MANAGER SMITH  JR "), "{file}");
    assert!(!file.contains('='));
}

#[test]
fn a_csv_payee_never_starts_a_formula() {
    let csv = String::from_utf8(
        BankFiles
            .render(FileFormat::Csv, &dollar_batch())
            .expect("rendered"),
    )
    .expect("UTF-8");
    assert!(csv.contains("'=cmd|"), "{csv}");
    assert!(csv.lines().all(|l| !l.starts_with('=')));
}

fn write(dir: &Path, name: &str, bytes: &[u8], b: &PaymentBatch) {
    std::fs::write(dir.join(name), bytes).expect("written");
    let total: i64 = b.items.iter().map(|i| i.amount.minor()).sum();
    let expect = serde_json::json!({"count": b.items.len(), "total_minor": total});
    std::fs::write(dir.join(format!("{name}.expect.json")), expect.to_string()).expect("written");
}

#[test]
#[ignore = "needs the bank-file validators of .ci/requirements.txt (sepaxml's schemas, xmlschema, carta-ach) in .venv: bash .ci/run runs it"]
fn independent_tools_accept_the_files_and_catch_broken_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "no .venv: python3 -m venv .venv && .venv/bin/pip install -r .ci/requirements.txt"
    );
    let dir = tempfile::tempdir().expect("a directory");
    let euros = euro_batch();
    let dollars = dollar_batch();
    let sepa = BankFiles.render(FileFormat::Sepa, &euros).expect("SEPA");
    let nacha = BankFiles
        .render(FileFormat::Nacha, &dollars)
        .expect("NACHA");
    write(dir.path(), "good.xml", &sepa, &euros);
    write(dir.path(), "good.ach", &nacha, &dollars);
    let one = batch("EUR", &[("Solo", iban("DE89370400440532013000", None), 1)]);
    write(
        dir.path(),
        "one.xml",
        &BankFiles.render(FileFormat::Sepa, &one).expect("SEPA"),
        &one,
    );
    // Broken on purpose: the validators must say so.
    let bad_sum =
        String::from_utf8(sepa.clone())
            .expect("UTF-8")
            .replacen("<CtrlSum>", "<CtrlSum>1", 1);
    std::fs::write(dir.path().join("bad-sum.xml"), bad_sum).expect("written");
    let bad_schema =
        String::from_utf8(sepa)
            .expect("UTF-8")
            .replacen("<PmtMtd>TRF</PmtMtd>", "", 1);
    std::fs::write(dir.path().join("bad-schema.xml"), bad_schema).expect("written");
    let bad_hash = String::from_utf8(nacha).expect("ASCII").replacen(
        "8220000003001541",
        "8220000003001542",
        1,
    );
    std::fs::write(dir.path().join("bad-hash.ach"), bad_hash).expect("written");

    let out = Command::new(&python)
        .arg(root.join("scripts/check-bank-files.py"))
        .arg(dir.path())
        .output()
        .expect("the validator runs");
    let report = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for good in ["good.xml", "one.xml", "good.ach"] {
        assert!(
            report.contains(&format!("ok {good}\n")),
            "{good}:\n{report}\n{stderr}"
        );
    }
    for bad in ["bad-sum.xml", "bad-schema.xml", "bad-hash.ach"] {
        assert!(
            report.contains(&format!("FAIL {bad}")),
            "{bad}:\n{report}\n{stderr}"
        );
    }
    assert!(!out.status.success(), "broken files fail the run");
}

#[test]
fn statements_of_every_camt_version_read_each_transaction_with_its_reference() {
    // camt.053.001.02: `Sts` is the code itself, a batched entry holds two transactions whose
    // amounts are in `AmtDtls`, and a credit returns one of them.
    let v02 = r#"<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Ntry><Amt Ccy="EUR">150.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><AcctSvcrRef>B-1</AcctSvcrRef>
<NtryDtls>
<TxDtls><Refs><EndToEndId>OLAAAAAAAAAAAAA</EndToEndId></Refs><AmtDtls><TxAmt><Amt Ccy="EUR">100.00</Amt></TxAmt></AmtDtls></TxDtls>
<TxDtls><Refs><EndToEndId>OLBBBBBBBBBBBBB</EndToEndId><AcctSvcrRef>B-1b</AcctSvcrRef></Refs><AmtDtls><TxAmt><Amt Ccy="EUR">50.00</Amt></TxAmt></AmtDtls></TxDtls>
</NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">50.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><NtryRef>R-2</NtryRef>
<NtryDtls><TxDtls><Refs><EndToEndId>OLBBBBBBBBBBBBB</EndToEndId></Refs><RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">9.99</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>PDNG</Sts></Ntry>
</Stmt></BkToCstmrStmt></Document>"#;
    let entries = BankFiles.read_statement(v02.as_bytes()).expect("read");
    // Reference, amount, debit, booked, return reason, bank reference.
    type Seen<'a> = (
        Option<&'a str>,
        String,
        bool,
        bool,
        Option<&'a str>,
        &'a str,
    );
    let seen: Vec<Seen<'_>> = entries
        .iter()
        .map(|e| {
            (
                e.end_to_end.as_deref(),
                e.amount.to_string(),
                e.debit,
                e.booked,
                e.returned.as_deref(),
                e.bank_reference.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                Some("OLAAAAAAAAAAAAA"),
                "100.00 EUR".into(),
                true,
                true,
                None,
                "B-1"
            ),
            (
                Some("OLBBBBBBBBBBBBB"),
                "50.00 EUR".into(),
                true,
                true,
                None,
                "B-1b"
            ),
            (
                Some("OLBBBBBBBBBBBBB"),
                "50.00 EUR".into(),
                false,
                true,
                Some("AC04"),
                "R-2"
            ),
            (None, "9.99 EUR".into(), true, false, None, ""),
        ]
    );
    // camt.054 reads the same way; anything else is refused.
    let v054 = v02
        .replace("camt.053.001.02", "camt.054.001.08")
        .replace("BkToCstmrStmt><Stmt>", "BkToCstmrDbtCdtNtfctn><Ntfctn>")
        .replace(
            "</Stmt></BkToCstmrStmt>",
            "</Ntfctn></BkToCstmrDbtCdtNtfctn>",
        );
    assert_eq!(
        BankFiles
            .read_statement(v054.as_bytes())
            .expect("read")
            .len(),
        4
    );
    let pain = v02.replace("camt.053.001.02", "pain.001.001.09");
    assert!(BankFiles.read_statement(pain.as_bytes()).is_err());
    let batched_without_amounts = v02.replace(
        "<AmtDtls><TxAmt><Amt Ccy=\"EUR\">100.00</Amt></TxAmt></AmtDtls>",
        "",
    );
    assert!(
        BankFiles
            .read_statement(batched_without_amounts.as_bytes())
            .is_err()
    );
}

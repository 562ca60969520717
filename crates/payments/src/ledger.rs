//! The journal as accounting systems import it: a plain CSV, Xero's manual journal import,
//! QuickBooks Online's journal entry import and DATEV's Buchungsstapel (EXTF format 700,
//! category 21, version 13). Every line of the journal is a line of the file, so each file
//! balances as the journal does.

use chrono::Datelike;
use outlay_domain::allowance::minor_string;
use outlay_domain::journal::{Journal, JournalEntry, JournalLine};

use crate::csv::cell;

fn amount(minor: i64, journal: &Journal) -> String {
    minor_string(minor, journal.currency)
}

fn csv_out(rows: Vec<Vec<String>>) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.write_record(row).map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// One row per line with every field: for a person, or any system's importer.
pub fn plain(journal: &Journal) -> Result<Vec<u8>, String> {
    let mut rows = vec![
        [
            "date",
            "reference",
            "narration",
            "account_code",
            "account_name",
            "cost_centre",
            "debit",
            "credit",
            "currency",
            "memo",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for e in &journal.entries {
        for l in &e.lines {
            rows.push(vec![
                e.date.to_string(),
                e.reference.clone(),
                cell(&e.narration),
                cell(&l.account.code),
                cell(&l.account.name),
                cell(l.cost_centre.as_deref().unwrap_or("")),
                amount(l.debit, journal),
                amount(l.credit, journal),
                e.currency.code().to_owned(),
                cell(&l.memo),
            ]);
        }
    }
    csv_out(rows)
}

/// Xero's manual journal import: lines with the same narration and date are one journal, so
/// the narration carries the entry's reference; debits are positive and credits negative;
/// dates are day/month/year; a cost centre is the tracking category `Cost centre`.
pub fn xero(journal: &Journal) -> Result<Vec<u8>, String> {
    let mut rows = vec![
        [
            "*Narration",
            "*Date",
            "Description",
            "*AccountCode",
            "*TaxRate",
            "*Amount",
            "TrackingName1",
            "TrackingOption1",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    let tax_rate = cell(&journal.ledger.xero_tax_rate);
    for e in &journal.entries {
        let narration = cell(&format!("{} [{}]", e.narration, e.reference));
        for l in &e.lines {
            let signed = if l.debit > 0 {
                amount(l.debit, journal)
            } else {
                format!("-{}", amount(l.credit, journal))
            };
            let (tracking, option) = match &l.cost_centre {
                Some(c) => ("Cost centre".to_owned(), cell(c)),
                None => (String::new(), String::new()),
            };
            rows.push(vec![
                narration.clone(),
                e.date.format("%d/%m/%Y").to_string(),
                cell(&l.memo),
                cell(&l.account.code),
                tax_rate.clone(),
                signed,
                tracking,
                option,
            ]);
        }
    }
    csv_out(rows)
}

/// QuickBooks Online's journal entry import: lines with the same journal number are one
/// entry; accounts by name; dates month/day/year; a cost centre is the line's class.
pub fn qbo(journal: &Journal) -> Result<Vec<u8>, String> {
    let mut rows = vec![
        [
            "Journal No",
            "Journal Date",
            "Account Name",
            "Debits",
            "Credits",
            "Description",
            "Class",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    let side = |minor: i64| {
        if minor > 0 {
            amount(minor, journal)
        } else {
            String::new()
        }
    };
    for e in &journal.entries {
        for l in &e.lines {
            rows.push(vec![
                e.reference.clone(),
                e.date.format("%m/%d/%Y").to_string(),
                cell(&l.account.name),
                side(l.debit),
                side(l.credit),
                cell(&l.memo),
                cell(l.cost_centre.as_deref().unwrap_or("")),
            ]);
        }
    }
    csv_out(rows)
}

/// The 125 columns of a Buchungsstapel of format version 13, in order.
const DATEV_COLUMNS: [&str; 125] = [
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "WKZ Umsatz",
    "Kurs",
    "Basis-Umsatz",
    "WKZ Basis-Umsatz",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Belegfeld 2",
    "Skonto",
    "Buchungstext",
    "Postensperre",
    "Diverse Adressnummer",
    "Geschäftspartnerbank",
    "Sachverhalt",
    "Zinssperre",
    "Beleglink",
    "Beleginfo - Art 1",
    "Beleginfo - Inhalt 1",
    "Beleginfo - Art 2",
    "Beleginfo - Inhalt 2",
    "Beleginfo - Art 3",
    "Beleginfo - Inhalt 3",
    "Beleginfo - Art 4",
    "Beleginfo - Inhalt 4",
    "Beleginfo - Art 5",
    "Beleginfo - Inhalt 5",
    "Beleginfo - Art 6",
    "Beleginfo - Inhalt 6",
    "Beleginfo - Art 7",
    "Beleginfo - Inhalt 7",
    "Beleginfo - Art 8",
    "Beleginfo - Inhalt 8",
    "KOST1 - Kostenstelle",
    "KOST2 - Kostenstelle",
    "Kost-Menge",
    "EU-Land u. UStID (Bestimmung)",
    "EU-Steuersatz (Bestimmung)",
    "Abw. Versteuerungsart",
    "Sachverhalt L+L",
    "Funktionsergänzung L+L",
    "BU 49 Hauptfunktionstyp",
    "BU 49 Hauptfunktionsnummer",
    "BU 49 Funktionsergänzung",
    "Zusatzinformation - Art 1",
    "Zusatzinformation- Inhalt 1",
    "Zusatzinformation - Art 2",
    "Zusatzinformation- Inhalt 2",
    "Zusatzinformation - Art 3",
    "Zusatzinformation- Inhalt 3",
    "Zusatzinformation - Art 4",
    "Zusatzinformation- Inhalt 4",
    "Zusatzinformation - Art 5",
    "Zusatzinformation- Inhalt 5",
    "Zusatzinformation - Art 6",
    "Zusatzinformation- Inhalt 6",
    "Zusatzinformation - Art 7",
    "Zusatzinformation- Inhalt 7",
    "Zusatzinformation - Art 8",
    "Zusatzinformation- Inhalt 8",
    "Zusatzinformation - Art 9",
    "Zusatzinformation- Inhalt 9",
    "Zusatzinformation - Art 10",
    "Zusatzinformation- Inhalt 10",
    "Zusatzinformation - Art 11",
    "Zusatzinformation- Inhalt 11",
    "Zusatzinformation - Art 12",
    "Zusatzinformation- Inhalt 12",
    "Zusatzinformation - Art 13",
    "Zusatzinformation- Inhalt 13",
    "Zusatzinformation - Art 14",
    "Zusatzinformation- Inhalt 14",
    "Zusatzinformation - Art 15",
    "Zusatzinformation- Inhalt 15",
    "Zusatzinformation - Art 16",
    "Zusatzinformation- Inhalt 16",
    "Zusatzinformation - Art 17",
    "Zusatzinformation- Inhalt 17",
    "Zusatzinformation - Art 18",
    "Zusatzinformation- Inhalt 18",
    "Zusatzinformation - Art 19",
    "Zusatzinformation- Inhalt 19",
    "Zusatzinformation - Art 20",
    "Zusatzinformation- Inhalt 20",
    "Stück",
    "Gewicht",
    "Zahlweise",
    "Forderungsart",
    "Veranlagungsjahr",
    "Zugeordnete Fälligkeit",
    "Skontotyp",
    "Auftragsnummer",
    "Buchungstyp",
    "USt-Schlüssel (Anzahlungen)",
    "EU-Mitgliedstaat (Anzahlungen)",
    "Sachverhalt L+L (Anzahlungen)",
    "EU-Steuersatz (Anzahlungen)",
    "Erlöskonto (Anzahlungen)",
    "Herkunft-Kz",
    "Buchungs GUID",
    "KOST-Datum",
    "SEPA-Mandatsreferenz",
    "Skontosperre",
    "Gesellschaftername",
    "Beteiligtennummer",
    "Identifikationsnummer",
    "Zeichnernummer",
    "Postensperre bis",
    "Bezeichnung SoBil-Sachverhalt",
    "Kennzeichen SoBil-Buchung",
    "Festschreibung",
    "Leistungsdatum",
    "Datum Zuord. Steuerperiode",
    "Fälligkeit",
    "Generalumkehr (GU)",
    "Steuersatz",
    "Land",
    "Abrechnungsreferenz",
    "BVV-Position",
    "EU-Land u. UStID (Ursprung)",
    "EU-Steuersatz (Ursprung)",
    "Abw. Skontokonto",
];

/// A DATEV text field: quoted, quotes doubled, at most `max` characters.
fn quoted(s: &str, max: usize) -> String {
    let kept: String = s.chars().filter(|c| !c.is_control()).take(max).collect();
    format!("\"{}\"", kept.replace('"', "\"\""))
}

/// `text` in Windows-1252, DATEV's character set; a character it lacks becomes `?`.
fn windows_1252(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut buf = [0_u8; 4];
    for c in text.chars() {
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buf));
        if unmappable {
            out.push(b'?');
        } else {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

/// Each line of an entry against its one counter line: the debits against the one credit,
/// or the credits against the one debit. `None` for an entry of several of each.
fn bookings(e: &JournalEntry) -> Option<Vec<(&JournalLine, &JournalLine, bool)>> {
    let debits: Vec<&JournalLine> = e.lines.iter().filter(|l| l.debit > 0).collect();
    let credits: Vec<&JournalLine> = e.lines.iter().filter(|l| l.credit > 0).collect();
    match (debits.as_slice(), credits.as_slice()) {
        (_, [credit]) => Some(debits.iter().map(|d| (*d, *credit, true)).collect()),
        ([debit], _) => Some(credits.iter().map(|c| (*c, *debit, false)).collect()),
        _ => None,
    }
}

/// DATEV's Buchungsstapel: a header of 31 fields, the column names, and one booking per line
/// (the amount, S for a debit or H for a credit, the account and its counter account, the
/// document date as day and month, the reference as Belegfeld 1, the cost centre as KOST1);
/// semicolons, CRLF, Windows-1252, decimal commas. Refused without DATEV's numbers, for
/// accounts that are not numbers, or for a period across fiscal years.
pub fn datev(journal: &Journal) -> Result<Vec<u8>, String> {
    let d = journal.ledger.datev.as_ref().ok_or(
        "DATEV's consultant and client numbers are not set: finance sets them with the ledger accounts first",
    )?;
    let year = d.fiscal_year_start(journal.from);
    if d.fiscal_year_start(journal.to) != year {
        return Err(format!(
            "a DATEV batch lies within one fiscal year, which starts on {year}: export the period in two"
        ));
    }
    let codes: Vec<&str> = journal
        .entries
        .iter()
        .flat_map(|e| e.lines.iter().map(|l| l.account.code.as_str()))
        .collect();
    if let Some(bad) = codes
        .iter()
        .find(|c| !c.bytes().all(|b| b.is_ascii_digit()) || !(4..=9).contains(&c.len()))
    {
        return Err(format!(
            "DATEV takes accounts of 4 to 8 digits (9 for a personal account); `{bad}` is not one"
        ));
    }
    // General ledger accounts have the shortest length; personal accounts one digit more.
    let length = codes.iter().map(|c| c.len()).min().unwrap_or(4).min(8);
    if let Some(bad) = codes.iter().find(|c| c.len() > length + 1) {
        return Err(format!(
            "DATEV's accounts are {length} digits long (a personal account {}); `{bad}` is not",
            length + 1
        ));
    }
    let mut text = String::new();
    let ymd = |day: chrono::NaiveDate| day.format("%Y%m%d").to_string();
    let header: Vec<String> = vec![
        quoted("EXTF", 4),
        "700".into(),
        "21".into(),
        quoted("Buchungsstapel", 14),
        "13".into(),
        journal.created_at.format("%Y%m%d%H%M%S%3f").to_string(),
        String::new(),
        quoted("RE", 2),
        quoted("Outlay", 25),
        quoted("", 25),
        d.consultant.to_string(),
        d.client.to_string(),
        ymd(year),
        length.to_string(),
        ymd(journal.from),
        ymd(journal.to),
        quoted(&format!("Outlay {} {}", journal.from, journal.to), 30),
        quoted("", 2),
        "1".into(),
        "0".into(),
        "0".into(),
        quoted(journal.currency.code(), 3),
        String::new(),
        quoted("", 0),
        String::new(),
        String::new(),
        quoted(&d.chart, 2),
        String::new(),
        String::new(),
        quoted("", 0),
        quoted("", 0),
    ];
    debug_assert_eq!(header.len(), 31);
    text.push_str(&header.join(";"));
    text.push_str("\r\n");
    text.push_str(&DATEV_COLUMNS.join(";"));
    text.push_str("\r\n");
    for e in &journal.entries {
        let bookings = bookings(e).ok_or_else(|| {
            format!(
                "the entry {} has several debits and several credits, which DATEV cannot book",
                e.reference
            )
        })?;
        for (line, counter, debit) in bookings {
            let minor = if debit { line.debit } else { line.credit };
            let mut row = vec![String::new(); DATEV_COLUMNS.len()];
            row[0] = amount(minor, journal).replace('.', ",");
            row[1] = quoted(if debit { "S" } else { "H" }, 1);
            row[2] = quoted(e.currency.code(), 3);
            row[6] = line.account.code.clone();
            row[7] = counter.account.code.clone();
            row[9] = format!("{:02}{:02}", e.date.day(), e.date.month());
            row[10] = quoted(&e.reference, 36);
            row[13] = quoted(&cell(&line.memo), 60);
            if let Some(centre) = &line.cost_centre {
                row[36] = quoted(&cell(centre), 36);
            }
            text.push_str(&row.join(";"));
            text.push_str("\r\n");
        }
    }
    Ok(windows_1252(&text))
}

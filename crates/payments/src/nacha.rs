//! NACHA PPD credits: the file a US bank takes for ACH payroll-style credits. Records are 94
//! characters; one batch (service class 220, credits only) with an entry per report, its
//! control totals and entry hash, the file's control, and `9` filler records to a multiple
//! of ten. The CI parses these files with an independent parser.

use outlay_domain::{AccountNumber, PaymentBatch};

/// Upper-case ASCII letters, digits and spaces, left-justified in `width` characters.
fn alpha(s: &str, width: usize) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            let c = c.to_ascii_uppercase();
            if c.is_ascii_alphanumeric() || c == ' ' {
                c
            } else {
                ' '
            }
        })
        .take(width)
        .collect();
    format!("{cleaned:<width$}")
}

/// A number right-justified in `width` digits, zero-filled; its last `width` digits if longer.
fn num(n: u64, width: usize) -> String {
    let s = format!("{n:0width$}");
    s[s.len() - width..].to_owned()
}

/// The batch as a NACHA file.
pub fn render(batch: &PaymentBatch) -> Result<Vec<u8>, String> {
    if batch.currency.code() != "USD" {
        return Err(format!(
            "a NACHA file pays US dollars; this batch is in {}",
            batch.currency
        ));
    }
    let payer = &batch.payer;
    let bank = payer.ach_bank_routing.as_deref().ok_or(
        "the company's paying account has no ACH bank routing number: finance must add one",
    )?;
    let company_id = payer.ach_company_id.as_deref().ok_or(
        "the company's paying account has no ACH company identification: finance must add one",
    )?;
    let at = batch.exported_at.ok_or("the batch has not been exported")?;
    let odfi = &bank[..8];
    // The immediate origin: the company id, right-justified in ten.
    let origin = format!("{:>10}", alpha(company_id, 10).trim_end());
    let mut records = Vec::new();
    records.push(format!(
        "101 {bank}{origin}{date}{time}A094101{dest_name}{origin_name}{reference}",
        date = at.format("%y%m%d"),
        time = at.format("%H%M"),
        dest_name = alpha(payer.ach_bank_name.as_deref().unwrap_or(""), 23),
        origin_name = alpha(&payer.name, 23),
        reference = alpha(&batch.message_id()[..8], 8),
    ));
    records.push(format!(
        "5220{company}{discretionary}{id}PPD{description}{descriptive}{effective}   1{odfi}{batch}",
        company = alpha(&payer.name, 16),
        discretionary = alpha("", 20),
        id = alpha(company_id, 10),
        description = alpha("EXPENSES", 10),
        descriptive = alpha("", 6),
        effective = at.format("%y%m%d"),
        batch = num(1, 7),
    ));
    let mut hash: u64 = 0;
    let mut credit: u64 = 0;
    for (n, item) in batch.items.iter().enumerate() {
        let AccountNumber::Ach {
            routing_number,
            account_number,
        } = &item.account
        else {
            return Err(format!(
                "report {} is paid to an IBAN, which NACHA cannot pay",
                item.report_id
            ));
        };
        let cents = u64::try_from(item.amount.minor()).map_err(|_| "a negative amount")?;
        if cents > 99_999_999 {
            return Err(format!(
                "report {} is over the 999,999.99 a NACHA entry carries",
                item.report_id
            ));
        }
        hash += routing_number[..8]
            .parse::<u64>()
            .map_err(|_| "a routing number that is not digits")?;
        credit += cents;
        records.push(format!(
            "622{rdfi}{account:<17}{amount}{individual}{name}  0{odfi}{trace}",
            rdfi = routing_number,
            account = account_number,
            amount = num(cents, 10),
            individual = alpha(&item.end_to_end, 15),
            name = alpha(&item.holder, 22),
            trace = num(n as u64 + 1, 7),
        ));
    }
    let entries = batch.items.len() as u64;
    records.push(format!(
        "8220{count}{hash}{debit}{credit}{id}{mac}{reserved}{odfi}{batch}",
        count = num(entries, 6),
        hash = num(hash, 10),
        debit = num(0, 12),
        credit = num(credit, 12),
        id = alpha(company_id, 10),
        mac = alpha("", 19),
        reserved = alpha("", 6),
        batch = num(1, 7),
    ));
    // The file control counts itself; blocks are ten records.
    let lines = records.len() as u64 + 1;
    let blocks = lines.div_ceil(10);
    records.push(format!(
        "9{batches}{blocks}{count}{hash}{debit}{credit}{reserved}",
        batches = num(1, 6),
        blocks = num(blocks, 6),
        count = num(entries, 8),
        hash = num(hash, 10),
        debit = num(0, 12),
        credit = num(credit, 12),
        reserved = alpha("", 39),
    ));
    while records.len() % 10 != 0 {
        records.push("9".repeat(94));
    }
    debug_assert!(records.iter().all(|r| r.len() == 94), "{records:#?}");
    if let Some(bad) = records.iter().find(|r| r.len() != 94) {
        return Err(format!("a record is {} characters, not 94", bad.len()));
    }
    let mut out = records.join("\n");
    out.push('\n');
    Ok(out.into_bytes())
}

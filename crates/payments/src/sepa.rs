//! SEPA credit transfer, ISO 20022 `pain.001.001.09`: one payment information block of
//! euro transfers from the company's IBAN, one transaction per report, each carrying the
//! report's end-to-end reference. The CI validates these files against the official schema.

use outlay_domain::{AccountNumber, PaymentBatch};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09";

/// Elements written one after the other, text escaped.
struct Xml(Writer<Vec<u8>>);

impl Xml {
    fn event(&mut self, e: Event<'_>) -> Result<(), String> {
        self.0.write_event(e).map_err(|e| e.to_string())
    }
    fn open(&mut self, name: &str) -> Result<(), String> {
        self.event(Event::Start(BytesStart::new(name)))
    }
    fn close(&mut self, name: &str) -> Result<(), String> {
        self.event(Event::End(BytesEnd::new(name)))
    }
    fn leaf(&mut self, name: &str, text: &str) -> Result<(), String> {
        self.open(name)?;
        self.event(Event::Text(BytesText::new(text)))?;
        self.close(name)
    }
    /// `<a><b>...</b></a>` for a path of names around a text.
    fn path(&mut self, names: &[&str], text: &str) -> Result<(), String> {
        let (last, outer) = names.split_last().expect("a path has a leaf");
        for n in outer {
            self.open(n)?;
        }
        self.leaf(last, text)?;
        for n in outer.iter().rev() {
            self.close(n)?;
        }
        Ok(())
    }
}

/// Text as SEPA carries it: the EPC's Latin character set, at most `max` characters.
fn latin(s: &str, max: usize) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " /-?:().,'+".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    let trimmed = cleaned.trim();
    let out: String = trimmed.chars().take(max).collect();
    if out.is_empty() {
        "NOTPROVIDED".into()
    } else {
        out
    }
}

/// The batch as a pain.001.001.09 document.
pub fn render(batch: &PaymentBatch) -> Result<Vec<u8>, String> {
    if batch.currency.code() != "EUR" {
        return Err(format!(
            "a SEPA file pays euros; this batch is in {}",
            batch.currency
        ));
    }
    let payer = &batch.payer;
    let debtor_iban = payer
        .iban
        .as_deref()
        .ok_or("the company's paying account has no IBAN: finance must add one")?;
    let total = batch.total().ok_or("the batch has no payments")?;
    let at = batch.exported_at.ok_or("the batch has not been exported")?;
    for item in &batch.items {
        if !matches!(item.account, AccountNumber::Iban { .. }) {
            return Err(format!(
                "report {} is paid to a US account, which SEPA cannot pay",
                item.report_id
            ));
        }
    }
    let mut x = Xml(Writer::new(Vec::new()));
    x.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    x.event(Event::Start(
        BytesStart::new("Document").with_attributes([("xmlns", NAMESPACE)]),
    ))?;
    x.open("CstmrCdtTrfInitn")?;
    x.open("GrpHdr")?;
    x.leaf("MsgId", &batch.message_id())?;
    x.leaf("CreDtTm", &at.format("%Y-%m-%dT%H:%M:%S").to_string())?;
    x.leaf("NbOfTxs", &batch.items.len().to_string())?;
    x.leaf("CtrlSum", &total.amount_string())?;
    x.path(&["InitgPty", "Nm"], &latin(&payer.name, 70))?;
    x.close("GrpHdr")?;

    x.open("PmtInf")?;
    x.leaf("PmtInfId", &format!("{}-1", batch.message_id()))?;
    x.leaf("PmtMtd", "TRF")?;
    x.leaf("BtchBookg", "true")?;
    x.leaf("NbOfTxs", &batch.items.len().to_string())?;
    x.leaf("CtrlSum", &total.amount_string())?;
    x.path(&["PmtTpInf", "SvcLvl", "Cd"], "SEPA")?;
    x.path(
        &["ReqdExctnDt", "Dt"],
        &at.date_naive().format("%Y-%m-%d").to_string(),
    )?;
    x.path(&["Dbtr", "Nm"], &latin(&payer.name, 70))?;
    x.path(&["DbtrAcct", "Id", "IBAN"], debtor_iban)?;
    match payer.bic.as_deref() {
        Some(bic) => x.path(&["DbtrAgt", "FinInstnId", "BICFI"], bic)?,
        None => x.path(&["DbtrAgt", "FinInstnId", "Othr", "Id"], "NOTPROVIDED")?,
    }
    x.leaf("ChrgBr", "SLEV")?;
    for item in &batch.items {
        let AccountNumber::Iban { iban, bic } = &item.account else {
            unreachable!("every item was checked to be paid to an IBAN above");
        };
        x.open("CdtTrfTxInf")?;
        x.path(&["PmtId", "EndToEndId"], &item.end_to_end)?;
        x.open("Amt")?;
        x.event(Event::Start(
            BytesStart::new("InstdAmt").with_attributes([("Ccy", batch.currency.code())]),
        ))?;
        x.event(Event::Text(BytesText::new(&item.amount.amount_string())))?;
        x.close("InstdAmt")?;
        x.close("Amt")?;
        if let Some(bic) = bic {
            x.path(&["CdtrAgt", "FinInstnId", "BICFI"], bic)?;
        }
        x.path(&["Cdtr", "Nm"], &latin(&item.holder, 70))?;
        x.path(&["CdtrAcct", "Id", "IBAN"], iban)?;
        x.path(
            &["RmtInf", "Ustrd"],
            &latin(&format!("Expenses {}", item.end_to_end), 140),
        )?;
        x.close("CdtTrfTxInf")?;
    }
    x.close("PmtInf")?;
    x.close("CstmrCdtTrfInitn")?;
    x.close("Document")?;
    let mut bytes = x.0.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

//! A plain CSV of a batch's payments, for a bank portal's upload form or a person.

use outlay_domain::{AccountNumber, PaymentBatch};

/// The batch as CSV: one row per payment.
pub fn render(batch: &PaymentBatch) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| e.to_string();
    w.write_record([
        "reference",
        "report_id",
        "payee",
        "iban",
        "bic",
        "routing_number",
        "account_number",
        "amount",
        "currency",
    ])
    .map_err(fail)?;
    for item in &batch.items {
        let (iban, bic, routing, account) = match &item.account {
            AccountNumber::Iban { iban, bic } => {
                (iban.as_str(), bic.as_deref().unwrap_or(""), "", "")
            }
            AccountNumber::Ach {
                routing_number,
                account_number,
            } => ("", "", routing_number.as_str(), account_number.as_str()),
        };
        w.write_record([
            item.end_to_end.as_str(),
            &item.report_id.to_string(),
            &cell(&item.holder),
            iban,
            bic,
            routing,
            account,
            &item.amount.amount_string(),
            batch.currency.code(),
        ])
        .map_err(fail)?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// Text for a spreadsheet cell: one that starts with a sign (or a tab or carriage return)
/// would be read as a formula, so it is quoted with a leading apostrophe.
pub fn cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

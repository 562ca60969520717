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
        // A leading sign would make a spreadsheet read the name as a formula.
        let payee = match item.holder.chars().next() {
            Some('=' | '+' | '-' | '@') => format!("'{}", item.holder),
            _ => item.holder.clone(),
        };
        w.write_record([
            item.end_to_end.as_str(),
            &item.report_id.to_string(),
            &payee,
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

//! Outlay's bank files: [`PaymentFiles`] for SEPA (pain.001.001.09), NACHA (PPD) and CSV, the
//! bank statements (camt.053, camt.054) that close the loop, and the journal for Xero,
//! QuickBooks Online and DATEV.
//! Every file is made from the batch alone, and dated by its `exported_at`, so that the same
//! batch always gives the same bytes.

mod camt;
mod csv;
mod ledger;
mod nacha;
mod sepa;

use outlay_app::PaymentFiles;
use outlay_domain::journal::{Journal, JournalFormat};
use outlay_domain::{FileFormat, PaymentBatch};

/// The bank files Outlay writes.
#[derive(Debug, Default, Clone, Copy)]
pub struct BankFiles;

impl PaymentFiles for BankFiles {
    fn render(&self, format: FileFormat, batch: &PaymentBatch) -> Result<Vec<u8>, String> {
        match format {
            FileFormat::Sepa => sepa::render(batch),
            FileFormat::Nacha => nacha::render(batch),
            FileFormat::Csv => csv::render(batch),
        }
    }

    fn read_statement(&self, xml: &[u8]) -> Result<Vec<outlay_domain::StatementEntry>, String> {
        camt::read(xml)
    }

    fn journal(&self, format: JournalFormat, journal: &Journal) -> Result<Vec<u8>, String> {
        match format {
            JournalFormat::Csv => ledger::plain(journal),
            JournalFormat::Xero => ledger::xero(journal),
            JournalFormat::Qbo => ledger::qbo(journal),
            JournalFormat::Datev => ledger::datev(journal),
        }
    }
}

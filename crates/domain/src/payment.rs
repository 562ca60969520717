//! Paying employees back: their bank details, and payment batches of approved reports that
//! finance exports as a bank file and settles by hand or from the bank's statement.
//!
//! A batch holds its reports (each report names the batch while it is in one, so no report is
//! in two batches or paid by hand meanwhile), and moves `draft` → `exported` → `paid`, or to
//! `failed`, which frees its unpaid reports. Whoever builds, exports or settles a batch pays
//! its reports, so [`crate::access::may_pay`] holds for each of them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use iban::IbanLike;
use serde::{Deserialize, Serialize};

use crate::expense::text_field;
use crate::{Currency, Money, ReportId, UserId};

crate::ids::id_type!(
    /// A payment batch's id.
    BatchId
);

/// Why bank details were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    /// Not an IBAN: its format, its country's length, or its ISO 13616 check digits.
    #[error("`{0}` is not a valid IBAN (ISO 13616: country, check digits, account)")]
    Iban(String),
    /// Not a BIC.
    #[error("`{0}` is not a BIC: 8 or 11 letters and digits, such as DEUTDEFF")]
    Bic(String),
    /// Not an ABA routing number.
    #[error("`{0}` is not a US routing number: 9 digits whose ABA check digit holds")]
    Routing(String),
    /// Not a US account number.
    #[error("the account number must be 4 to 17 digits")]
    Account,
    /// The holder's name.
    #[error("{0}")]
    Holder(String),
}

/// Where an employee is paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum AccountNumber {
    /// An IBAN, with the bank's BIC where given (SEPA needs none within the EEA).
    Iban {
        /// The IBAN, electronic form (no spaces).
        iban: String,
        /// The BIC.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bic: Option<String>,
    },
    /// A US account: ABA routing number and account number.
    Ach {
        /// The routing number.
        routing_number: String,
        /// The account number.
        account_number: String,
    },
}

impl AccountNumber {
    /// Checks an IBAN (spaces allowed, any case) and an optional BIC.
    pub fn iban(iban: &str, bic: Option<&str>) -> Result<Self, BankError> {
        let shown = || BankError::Iban(iban.chars().take(40).collect());
        let compact: String = iban
            .chars()
            .filter(|c| *c != ' ')
            .collect::<String>()
            .to_uppercase();
        let parsed: iban::Iban = compact.parse().map_err(|_| shown())?;
        let bic = match bic.map(str::trim).filter(|b| !b.is_empty()) {
            None => None,
            Some(b) => Some(parse_bic(b)?),
        };
        Ok(Self::Iban {
            iban: parsed.electronic_str().to_owned(),
            bic,
        })
    }

    /// Checks a US routing number (its ABA check digit) and account number.
    pub fn ach(routing_number: &str, account_number: &str) -> Result<Self, BankError> {
        let routing = routing_number.trim();
        let digits: Vec<u32> = routing.chars().filter_map(|c| c.to_digit(10)).collect();
        let weights = [3, 7, 1, 3, 7, 1, 3, 7, 1];
        let valid = routing.len() == 9
            && digits.len() == 9
            && digits.iter().zip(weights).map(|(d, w)| d * w).sum::<u32>() % 10 == 0
            && digits.iter().any(|d| *d != 0);
        if !valid {
            return Err(BankError::Routing(routing.chars().take(20).collect()));
        }
        let account = account_number.trim();
        if !(4..=17).contains(&account.len()) || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BankError::Account);
        }
        Ok(Self::Ach {
            routing_number: routing.to_owned(),
            account_number: account.to_owned(),
        })
    }

    /// The account for people and the audit trail, all but the last four characters hidden.
    pub fn masked(&self) -> String {
        let tail = |s: &str| {
            s.chars()
                .skip(s.chars().count().saturating_sub(4))
                .collect::<String>()
        };
        match self {
            Self::Iban { iban, .. } => format!("{} **** {}", &iban[..2], tail(iban)),
            Self::Ach { account_number, .. } => format!("ACH **** {}", tail(account_number)),
        }
    }
}

/// A BIC (ISO 9362): bank (4 letters), country (2 letters), location (2), branch (3, optional).
fn parse_bic(s: &str) -> Result<String, BankError> {
    let b = s.to_uppercase();
    let ok = (b.len() == 8 || b.len() == 11)
        && b.bytes().all(|c| c.is_ascii_alphanumeric())
        && b[..6].bytes().all(|c| c.is_ascii_uppercase());
    if ok {
        Ok(b)
    } else {
        Err(BankError::Bic(s.chars().take(20).collect()))
    }
}

/// An employee's bank details. Only the employee and finance see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankAccount {
    /// Whose.
    pub user_id: UserId,
    /// The account holder's name, as the bank knows it.
    pub holder: String,
    /// The account.
    pub number: AccountNumber,
    /// Bumped on every change.
    pub version: i64,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl BankAccount {
    /// Checks the holder's name: 1 to 70 characters (what SEPA carries).
    pub fn holder(name: &str) -> Result<String, BankError> {
        text_field("holder", name, true, 70).map_err(|e| BankError::Holder(e.to_string()))
    }

    /// What the audit trail keeps: the holder and the masked account.
    pub fn audited(&self) -> serde_json::Value {
        serde_json::json!({
            "user_id": self.user_id,
            "holder": self.holder,
            "account": self.number.masked(),
            "version": self.version,
        })
    }
}

/// Where a batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    /// Built; no file yet.
    Draft,
    /// Its file was made; the bank has it, or will.
    Exported,
    /// Every item is paid.
    Paid,
    /// The bank refused it; its unpaid reports are free again.
    Failed,
}

impl BatchState {
    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Exported => "exported",
            Self::Paid => "paid",
            Self::Failed => "failed",
        }
    }
}

/// The file formats a batch is exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// ISO 20022 pain.001.001.09 SEPA credit transfer.
    Sepa,
    /// NACHA PPD credits.
    Nacha,
    /// A plain CSV any bank portal can take.
    Csv,
}

impl FileFormat {
    /// Parses `sepa`, `nacha` or `csv`.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Sepa, Self::Nacha, Self::Csv]
            .into_iter()
            .find(|f| f.as_str() == s)
    }

    /// The name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Sepa => "sepa",
            Self::Nacha => "nacha",
            Self::Csv => "csv",
        }
    }
}

/// One payment of a batch: a report's total to its owner's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItem {
    /// The report.
    pub report_id: ReportId,
    /// Its owner.
    pub owner_id: UserId,
    /// The account holder.
    pub holder: String,
    /// The account, as it was when the batch was built.
    pub account: AccountNumber,
    /// The amount.
    pub amount: Money,
    /// The reference the bank carries end to end (and back on the statement).
    pub end_to_end: String,
    /// Set once the bank has paid it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid: Option<crate::Payment>,
}

/// The company's account that pays, and what each file format needs of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PayingAccount {
    /// The company's name, as the bank knows it.
    pub name: String,
    /// For SEPA: the company's IBAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    /// For SEPA: its bank's BIC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
    /// For NACHA: the company's bank (immediate destination), a routing number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ach_bank_routing: Option<String>,
    /// For NACHA: the bank's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ach_bank_name: Option<String>,
    /// For NACHA: the company identification the bank assigned (10 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ach_company_id: Option<String>,
}

impl PayingAccount {
    /// Checks the name, and each account detail given.
    pub fn validate(&self) -> Result<(), BankError> {
        BankAccount::holder(&self.name)?;
        if let Some(iban) = &self.iban {
            AccountNumber::iban(iban, self.bic.as_deref())?;
        } else if let Some(bic) = &self.bic {
            parse_bic(bic)?;
        }
        if let Some(routing) = &self.ach_bank_routing {
            AccountNumber::ach(routing, "0000")?;
        }
        if let Some(id) = &self.ach_company_id
            && (id.is_empty() || id.len() > 10 || !id.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(BankError::Holder(
                "the ACH company identification is 1 to 10 letters and digits".into(),
            ));
        }
        if self
            .ach_bank_name
            .as_ref()
            .is_some_and(|n| n.chars().count() > 23)
        {
            return Err(BankError::Holder(
                "the ACH bank's name is at most 23 characters".into(),
            ));
        }
        Ok(())
    }

    /// The same account with its IBAN and BIC in electronic form, and its ACH details trimmed.
    pub fn normalised(mut self) -> Result<Self, BankError> {
        let trim = |v: &mut Option<String>| {
            *v = v
                .as_deref()
                .map(str::trim)
                .map(str::to_owned)
                .filter(|s| !s.is_empty());
        };
        trim(&mut self.ach_bank_routing);
        trim(&mut self.ach_company_id);
        trim(&mut self.ach_bank_name);
        if let Some(iban) = &self.iban
            && let AccountNumber::Iban { iban, bic } =
                AccountNumber::iban(iban, self.bic.as_deref())?
        {
            self.iban = Some(iban);
            self.bic = bic;
        }
        Ok(self)
    }
}

/// A payment batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentBatch {
    /// Its id.
    pub id: BatchId,
    /// Where it is.
    pub state: BatchState,
    /// The currency of every item.
    pub currency: Currency,
    /// The payments, in the order they were asked for.
    pub items: Vec<BatchItem>,
    /// The company's paying account when the batch was built.
    pub payer: PayingAccount,
    /// Who built it.
    pub created_by: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When its files were first made: every file of the batch says this time, so that the
    /// same batch always gives the same file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_at: Option<DateTime<Utc>>,
    /// The SHA-256 of each file made, by format.
    #[serde(default)]
    pub files: BTreeMap<FileFormat, String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Bumped on every change.
    pub version: i64,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl PaymentBatch {
    /// The sum of its items.
    pub fn total(&self) -> Option<Money> {
        let mut items = self.items.iter().map(|i| i.amount);
        let first = items.next()?;
        items.try_fold(first, |a, b| a.checked_add(b)).ok()
    }

    /// What the audit trail keeps of the batch: everything but the accounts, which are
    /// masked.
    pub fn audited(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(items) = value["items"].as_array_mut() {
            for (v, item) in items.iter_mut().zip(&self.items) {
                v["account"] = serde_json::Value::String(item.account.masked());
            }
        }
        if let Some(payer) = value["payer"].as_object_mut() {
            for key in ["iban", "ach_bank_routing"] {
                if let Some(serde_json::Value::String(s)) = payer.get_mut(key) {
                    let tail: String = s
                        .chars()
                        .skip(s.chars().count().saturating_sub(4))
                        .collect();
                    *s = format!("**** {tail}");
                }
            }
        }
        value
    }

    /// The message id files carry: the batch's id without hyphens (35 characters at most).
    pub fn message_id(&self) -> String {
        self.id.as_uuid().simple().to_string()
    }
}

/// The end-to-end reference of a report's payment, which the bank carries to the employee and
/// back on the statement: `OL` and the last 13 hexadecimal digits of the report id (random in
/// a UUID v7), 15 characters, so that it fits NACHA's individual id as well as SEPA's 35.
pub fn end_to_end(report: ReportId) -> String {
    let hex = report.as_uuid().simple().to_string().to_uppercase();
    format!("OL{}", &hex[hex.len() - 13..])
}

/// One entry of a bank statement (camt.053) or notification (camt.054), as the bank says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementEntry {
    /// The end-to-end reference of the transfer, if the bank carried it back.
    pub end_to_end: Option<String>,
    /// The amount.
    pub amount: Money,
    /// Money out of the account (a payment made); `false` for money in.
    pub debit: bool,
    /// Booked (`BOOK`), not pending or informational.
    pub booked: bool,
    /// A return of an earlier transfer (return information, or a reversal), with its reason.
    pub returned: Option<String>,
    /// The bank's reference for the entry.
    pub bank_reference: String,
}

/// What a statement entry says about a batch's payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reconciled {
    /// The entry pays this item: its reference and amount match, and it is booked.
    Matched {
        /// The batch.
        batch_id: BatchId,
        /// The report paid.
        report_id: ReportId,
    },
    /// The reference is a batch's, but the amount is not the item's.
    AmountOff {
        /// The report.
        report_id: ReportId,
        /// What the batch paid.
        expected: Money,
    },
    /// No exported batch has this reference (or the entry has none).
    UnknownReference,
    /// The bank returned the payment.
    Returned {
        /// The report, if the reference is known.
        report_id: Option<ReportId>,
        /// Why, as the bank coded it.
        reason: String,
    },
    /// The item is paid already: the entry is not paid twice.
    AlreadyPaid {
        /// The report.
        report_id: ReportId,
    },
    /// Not a booked payment out (money in, or pending): nothing to do.
    Ignored,
}

/// What `entry` says about the items of `batches` (exported or paid ones): the one rule of
/// matching a statement to payments.
pub fn reconcile(entry: &StatementEntry, batches: &[PaymentBatch]) -> Reconciled {
    let item = entry.end_to_end.as_deref().and_then(|reference| {
        batches
            .iter()
            .filter(|b| matches!(b.state, BatchState::Exported | BatchState::Paid))
            .find_map(|b| {
                b.items
                    .iter()
                    .find(|i| i.end_to_end == reference)
                    .map(|i| (b, i))
            })
    });
    if let Some(reason) = &entry.returned {
        return Reconciled::Returned {
            report_id: item.map(|(_, i)| i.report_id),
            reason: reason.clone(),
        };
    }
    if !entry.debit || !entry.booked {
        return Reconciled::Ignored;
    }
    match item {
        None => Reconciled::UnknownReference,
        Some((_, i)) if i.amount != entry.amount => Reconciled::AmountOff {
            report_id: i.report_id,
            expected: i.amount,
        },
        Some((_, i)) if i.paid.is_some() => Reconciled::AlreadyPaid {
            report_id: i.report_id,
        },
        Some((b, i)) => Reconciled::Matched {
            batch_id: b.id,
            report_id: i.report_id,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_are_checked_by_their_check_digits_and_kept_in_electronic_form() {
        let a =
            AccountNumber::iban("de89 3704 0044 0532 0130 00", Some("cobadeffxxx")).expect("valid");
        assert_eq!(
            a,
            AccountNumber::Iban {
                iban: "DE89370400440532013000".into(),
                bic: Some("COBADEFFXXX".into())
            }
        );
        assert_eq!(a.masked(), "DE **** 3000");
        for bad in [
            "DE89370400440532013001",
            "DE8937040044053201300",
            "XX89370400440532013000",
            "",
        ] {
            assert!(
                matches!(AccountNumber::iban(bad, None), Err(BankError::Iban(_))),
                "{bad}"
            );
        }
        for bad in ["COBA", "COBADEF", "1OBADEFF", "COBADEFFXX", "COBA-EFF"] {
            assert!(
                matches!(
                    AccountNumber::iban("DE89370400440532013000", Some(bad)),
                    Err(BankError::Bic(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn us_routing_numbers_need_their_aba_check_digit() {
        let a = AccountNumber::ach("021000021", "123456789").expect("valid");
        assert_eq!(a.masked(), "ACH **** 6789");
        for bad in [
            "021000022",
            "02100002",
            "0210000210",
            "000000000",
            "02100002a",
        ] {
            assert!(
                matches!(AccountNumber::ach(bad, "1234"), Err(BankError::Routing(_))),
                "{bad}"
            );
        }
        for bad in ["123", "123456789012345678", "12 34", "12a4"] {
            assert_eq!(
                AccountNumber::ach("021000021", bad),
                Err(BankError::Account),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_end_to_end_reference_fits_nacha_and_sepa() {
        let id = ReportId::from_uuid(uuid::Uuid::from_u128(
            0x0190_0000_0000_7000_8abc_def0_1234_5678,
        ));
        let reference = end_to_end(id);
        assert_eq!(reference.len(), 15);
        assert!(reference.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(reference, "OLCDEF012345678");
    }
}

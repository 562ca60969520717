//! What a receipt says, as a reader found it: the merchant, the date, the total, the currency
//! and the tax, each with a confidence and the text it came from. A reading only suggests:
//! the employee accepts fields into the expense, and which fields were accepted as read is
//! kept, so that accuracy can be measured from real use. A reading also gives the signals
//! finance looks for, each with its evidence.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Currency, Expense, ExpenseId, Money, ReceiptId, UserId};

/// Who read a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reader {
    /// The structured invoice a PDF carries (ZUGFeRD, Factur-X, XRechnung): exact.
    Einvoice,
    /// Tesseract OCR and Outlay's extraction rules, on one machine.
    Tesseract,
    /// Amazon Textract's `AnalyzeExpense`, on AWS.
    Textract,
}

/// Where a reading is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadingState {
    /// Waiting for a reader, off the request path.
    Pending,
    /// Read; `fields` holds what was found.
    Done,
    /// Could not be read (the reason is in `error`).
    Failed,
}

/// One value read off a receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field<T> {
    /// The value.
    pub value: T,
    /// How sure the reader is, from 0 to 1 (an e-invoice is 1).
    pub confidence: f64,
    /// The text it came from (a line of the receipt, an XML element), at most 200 characters.
    pub source: String,
}

impl<T> Field<T> {
    /// A value with its confidence (clamped to 0–1) and source (cut to 200 characters).
    pub fn new(value: T, confidence: f64, source: &str) -> Self {
        Self {
            value,
            confidence: if confidence.is_finite() {
                confidence.clamp(0.0, 1.0)
            } else {
                0.0
            },
            source: source.trim().chars().take(200).collect(),
        }
    }
}

/// What a reader found; any of it may be missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadFields {
    /// Who was paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant: Option<Field<String>>,
    /// The day of the receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Field<NaiveDate>>,
    /// What was paid in all, as an exact decimal (`"23.40"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Field<Decimal>>,
    /// The currency of the total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Field<Currency>>,
    /// The tax (VAT) in the total, as an exact decimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<Field<Decimal>>,
}

impl ReadFields {
    /// Whether nothing at all was found.
    pub fn is_empty(&self) -> bool {
        self.merchant.is_none()
            && self.date.is_none()
            && self.total.is_none()
            && self.currency.is_none()
            && self.tax.is_none()
    }

    /// The fields found, by name.
    pub fn found(&self) -> Vec<FieldName> {
        FieldName::ALL
            .into_iter()
            .filter(|f| match f {
                FieldName::Merchant => self.merchant.is_some(),
                FieldName::Date => self.date.is_some(),
                FieldName::Total => self.total.is_some(),
                FieldName::Currency => self.currency.is_some(),
                FieldName::Tax => self.tax.is_some(),
            })
            .collect()
    }

    /// The total as money, in the read currency or else `fallback`; `None` when there is no
    /// total, or it does not fit the currency (too many decimals, zero).
    pub fn total_money(&self, fallback: Currency) -> Option<Money> {
        let currency = self.currency.as_ref().map_or(fallback, |c| c.value);
        money(self.total.as_ref()?.value, currency)
    }

    /// The tax as money in `currency`.
    pub fn tax_money(&self, currency: Currency) -> Option<Money> {
        money(self.tax.as_ref()?.value, currency)
    }
}

/// An exact decimal as money of `currency`, if it is one.
fn money(value: Decimal, currency: Currency) -> Option<Money> {
    Money::parse(&value.normalize().to_string(), currency).ok()
}

/// A field of a reading, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldName {
    /// The merchant.
    Merchant,
    /// The date.
    Date,
    /// The total.
    Total,
    /// The currency.
    Currency,
    /// The tax.
    Tax,
}

impl FieldName {
    /// Every field, in the order people read them.
    pub const ALL: [FieldName; 5] = [
        Self::Merchant,
        Self::Date,
        Self::Total,
        Self::Currency,
        Self::Tax,
    ];

    /// The name on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Merchant => "merchant",
            Self::Date => "date",
            Self::Total => "total",
            Self::Currency => "currency",
            Self::Tax => "tax",
        }
    }
}

/// A receipt's reading, kept beside the receipt under its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The receipt read.
    pub receipt_id: ReceiptId,
    /// Its expense.
    pub expense_id: ExpenseId,
    /// The receipt's owner.
    pub owner_id: UserId,
    /// Pending, done or failed.
    pub state: ReadingState,
    /// Who read it, once read.
    pub reader: Option<Reader>,
    /// What was found.
    pub fields: ReadFields,
    /// Why it failed.
    pub error: Option<String>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not before this time (a retry waits).
    pub not_before: DateTime<Utc>,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When it was read.
    pub read_at: Option<DateTime<Utc>>,
    /// The fields the employee accepted into the expense as read.
    #[serde(default)]
    pub accepted: Vec<FieldName>,
    /// When they last accepted some.
    pub accepted_at: Option<DateTime<Utc>>,
    /// Bumped on every change.
    pub version: i64,
}

/// How often a reader is tried before the reading is given up as failed.
pub const MAX_READ_ATTEMPTS: u32 = 3;

impl Reading {
    /// A reading waiting for a reader.
    pub fn pending(
        receipt_id: ReceiptId,
        expense_id: ExpenseId,
        owner_id: UserId,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            receipt_id,
            expense_id,
            owner_id,
            state: ReadingState::Pending,
            reader: None,
            fields: ReadFields::default(),
            error: None,
            attempts: 0,
            not_before: now,
            created_at: now,
            read_at: None,
            accepted: vec![],
            accepted_at: None,
            version: 1,
        }
    }

    /// What a reader found. Nothing at all is a failed reading: there is nothing to suggest.
    pub fn read(&mut self, reader: Reader, fields: ReadFields, now: DateTime<Utc>) {
        if fields.is_empty() {
            self.state = ReadingState::Failed;
            self.error = Some("nothing could be read from the receipt".into());
        } else {
            self.state = ReadingState::Done;
            self.error = None;
        }
        self.reader = Some(reader);
        self.fields = fields;
        self.read_at = Some(now);
        self.version += 1;
    }

    /// A reader takes it: one more attempt, and nobody else's until `lease` has passed (so a
    /// reader that never answers, or takes its process down, costs an attempt too).
    pub fn claim(&mut self, now: DateTime<Utc>, lease: chrono::TimeDelta) {
        self.attempts += 1;
        self.not_before = now + lease;
        self.version += 1;
    }

    /// Whether every attempt has been used.
    pub fn exhausted(&self) -> bool {
        self.attempts >= MAX_READ_ATTEMPTS
    }

    /// The attempt failed: try again later, with a growing pause, or give up once every
    /// attempt of [`MAX_READ_ATTEMPTS`] was used.
    pub fn attempt_failed(&mut self, error: &str, now: DateTime<Utc>) {
        if self.exhausted() {
            self.give_up(error, now);
            return;
        }
        self.error = Some(error.chars().take(300).collect());
        self.not_before = now + chrono::TimeDelta::seconds(30 * i64::from(self.attempts.max(1)));
        self.version += 1;
    }

    /// It cannot be read (no reader takes it, the file is gone): failed, for good.
    pub fn give_up(&mut self, error: &str, now: DateTime<Utc>) {
        self.state = ReadingState::Failed;
        self.error = Some(error.chars().take(300).collect());
        self.read_at = Some(now);
        self.version += 1;
    }

    /// Records that `fields` were accepted into the expense as read.
    pub fn accept(&mut self, fields: &[FieldName], now: DateTime<Utc>) {
        for f in fields {
            if !self.accepted.contains(f) {
                self.accepted.push(*f);
            }
        }
        self.accepted.sort();
        self.accepted_at = Some(now);
        self.version += 1;
    }

    /// The signals that the expense and its receipt disagree, each with its evidence. A draft
    /// still holds placeholders, so it has none.
    pub fn flags(&self, expense: &Expense) -> Vec<Flag> {
        let mut out = Vec::new();
        if self.state != ReadingState::Done || expense.draft {
            return out;
        }
        let claimed = expense.details.amount();
        if let Some(total) = &self.fields.total {
            let read_currency = self.fields.currency.as_ref().map(|c| c.value);
            let read = self.fields.total_money(claimed.currency());
            let differs = match (read_currency, read) {
                (Some(c), _) if c != claimed.currency() => true,
                (_, Some(read)) => read != claimed,
                (_, None) => true,
            };
            if differs {
                let shown = match read_currency {
                    Some(c) => format!("{} {c}", total.value.normalize()),
                    None => total.value.normalize().to_string(),
                };
                out.push(Flag {
                    kind: FlagKind::TotalDiffers,
                    evidence: format!(
                        "the receipt reads {shown} (\"{}\"); the expense claims {}",
                        total.source,
                        claimed.grouped()
                    ),
                });
            }
        }
        if let Some(date) = &self.fields.date {
            let days = (expense.details.date() - date.value).num_days().abs();
            if days > FAR_DAYS {
                out.push(Flag {
                    kind: FlagKind::DateFar,
                    evidence: format!(
                        "the receipt is dated {} (\"{}\"), {days} days from the claimed {}",
                        date.value,
                        date.source,
                        expense.details.date()
                    ),
                });
            }
        }
        out
    }
}

/// How many days a receipt's date may be from the claimed date before it is flagged.
pub const FAR_DAYS: i64 = 7;

/// Something finance should look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// What it is.
    pub kind: FlagKind,
    /// What shows it, for people.
    pub evidence: String,
}

/// The kinds of [`Flag`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// The same file is attached to another expense.
    DuplicateFile,
    /// The receipt's total is not the amount claimed.
    TotalDiffers,
    /// The receipt's date is more than [`FAR_DAYS`] from the claimed date.
    DateFar,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_claim_is_an_attempt_and_the_last_failure_gives_up() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let id = |n| uuid::Uuid::from_u128(n);
        let mut r = Reading::pending(
            ReceiptId::from_uuid(id(1)),
            ExpenseId::from_uuid(id(2)),
            UserId::from_uuid(id(3)),
            now,
        );
        for attempt in 1..MAX_READ_ATTEMPTS {
            r.claim(now, chrono::TimeDelta::minutes(5));
            assert_eq!(r.attempts, attempt);
            r.attempt_failed("down", now);
            assert_eq!(r.state, ReadingState::Pending);
            assert!(r.not_before > now);
        }
        // A claim that never answers still counts.
        r.claim(now, chrono::TimeDelta::minutes(5));
        assert!(r.exhausted());
        r.attempt_failed("down", now);
        assert_eq!(r.state, ReadingState::Failed);
        assert_eq!(r.error.as_deref(), Some("down"));
    }
}

//! The accounting journal of reimbursements: balanced double-entry postings, in the base
//! currency, for the general ledger (Xero, QuickBooks Online, DATEV).
//!
//! When a report is approved, its cost is accrued: each expense's net debits the expense
//! account of its category, per cost centre it is charged to; the tax the company reclaims
//! debits input tax; the total credits employee payables. When it is paid, payables are
//! debited and the bank credited. Every entry balances to the cent by construction: the
//! parts are split by [`crate::org::apportion`], as cost centres are.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::{Currency, Expense, Report};

/// A general ledger account: its code (what DATEV and Xero take) and its name (what
/// QuickBooks Online takes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlAccount {
    /// Its code in the chart of accounts: 1 to 20 letters, digits, `.`, `-` or `:`.
    pub code: String,
    /// Its name in the chart of accounts (QuickBooks writes a sub-account `Parent:Sub`).
    pub name: String,
}

impl GlAccount {
    fn new(code: &str, name: &str) -> Self {
        Self {
            code: code.to_owned(),
            name: name.to_owned(),
        }
    }

    fn validate(&self, what: &str) -> Result<(), LedgerError> {
        let code_ok = (1..=20).contains(&self.code.len())
            && self.code.starts_with(|c: char| c.is_ascii_alphanumeric())
            && self
                .code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
        if !code_ok {
            return Err(LedgerError(format!(
                "{what}: the code must be 1 to 20 letters, digits, `.`, `-` or `:`, starting with a letter or digit"
            )));
        }
        let name = self.name.as_str();
        if name.trim() != name
            || name.is_empty()
            || name.chars().count() > 100
            || name.chars().any(char::is_control)
        {
            return Err(LedgerError(format!(
                "{what}: the name must be 1 to 100 characters, on one line, without spaces around it"
            )));
        }
        Ok(())
    }
}

/// The general ledger accounts the journal posts to, kept by finance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlAccounts {
    /// The expense account of each category; a category not named here posts to `expense`.
    #[serde(default)]
    pub by_category: BTreeMap<String, GlAccount>,
    /// The expense account of any other category.
    pub expense: GlAccount,
    /// Input tax (VAT) receivable.
    pub input_tax: GlAccount,
    /// What the company owes its employees.
    pub payables: GlAccount,
    /// The bank account reimbursements are paid from.
    pub bank: GlAccount,
    /// Cash advanced to employees, until their expenses or a repayment settle it.
    pub advances: GlAccount,
}

impl Default for GlAccounts {
    /// A small chart after Germany's SKR03, which fits most: 4900 other operating expenses,
    /// 1576 input tax, 1740 payables to staff, 1200 bank, 1530 advances to staff.
    fn default() -> Self {
        Self {
            by_category: BTreeMap::new(),
            expense: GlAccount::new("4900", "Other operating expenses"),
            input_tax: GlAccount::new("1576", "Input tax"),
            payables: GlAccount::new("1740", "Payables to employees"),
            bank: GlAccount::new("1200", "Bank"),
            advances: GlAccount::new("1530", "Advances to employees"),
        }
    }
}

impl GlAccounts {
    /// The expense account of a category.
    pub fn expense_of(&self, category: &str) -> &GlAccount {
        self.by_category.get(category).unwrap_or(&self.expense)
    }
}

/// DATEV's identification of the books an export goes into, from the company's tax
/// adviser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Datev {
    /// The adviser's number (Beraternummer), 1001 to 9999999.
    pub consultant: u32,
    /// The client's number (Mandantennummer), 1 to 99999.
    pub client: u32,
    /// The month the fiscal year begins in, 1 to 12.
    #[serde(default = "january")]
    pub fiscal_year_start_month: u32,
    /// The chart of accounts (Kontenrahmen): `03` (SKR03) or `04` (SKR04).
    #[serde(default = "skr03")]
    pub chart: String,
}

fn january() -> u32 {
    1
}

fn skr03() -> String {
    "03".into()
}

impl Datev {
    /// The first day of the fiscal year that holds `day`.
    pub fn fiscal_year_start(&self, day: NaiveDate) -> NaiveDate {
        let month = self.fiscal_year_start_month;
        let year = if day.month() >= month {
            day.year()
        } else {
            day.year() - 1
        };
        NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(day)
    }
}

/// How the company's books take the journal, kept by finance: the accounts, and what the
/// accounting systems' imports need besides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// The accounts.
    pub accounts: GlAccounts,
    /// The name of the tax rate Xero's journal import puts on every line (the journal posts
    /// tax on its own lines); Xero's default is `No VAT`, `Tax Exempt` or `BAS Excluded` by
    /// region.
    #[serde(default = "no_vat")]
    pub xero_tax_rate: String,
    /// DATEV's numbers, needed for a DATEV export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datev: Option<Datev>,
}

fn no_vat() -> String {
    "No VAT".into()
}

impl Default for Ledger {
    fn default() -> Self {
        Self {
            accounts: GlAccounts::default(),
            xero_tax_rate: no_vat(),
            datev: None,
        }
    }
}

/// A ledger that cannot be kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LedgerError(pub String);

impl Ledger {
    /// Whether it is the ledger a new company starts with.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The same, with the spaces around codes and names taken away.
    pub fn trimmed(mut self) -> Self {
        let a = &mut self.accounts;
        for acc in [
            &mut a.expense,
            &mut a.input_tax,
            &mut a.payables,
            &mut a.bank,
            &mut a.advances,
        ]
        .into_iter()
        .chain(a.by_category.values_mut())
        {
            acc.code = acc.code.trim().to_owned();
            acc.name = acc.name.trim().to_owned();
        }
        self.xero_tax_rate = self.xero_tax_rate.trim().to_owned();
        self
    }

    /// Checks every account, that the categories named are `categories`, and DATEV's numbers.
    pub fn validate<'a>(
        &self,
        categories: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), LedgerError> {
        let a = &self.accounts;
        a.expense.validate("the expense account")?;
        a.input_tax.validate("the input tax account")?;
        a.payables.validate("the payables account")?;
        a.bank.validate("the bank account")?;
        a.advances.validate("the advances account")?;
        let known: std::collections::BTreeSet<&str> = categories.into_iter().collect();
        for (category, account) in &a.by_category {
            if !known.contains(category.as_str()) {
                return Err(LedgerError(format!(
                    "`{category}` is not a category of the policy"
                )));
            }
            account.validate(&format!("the account of `{category}`"))?;
        }
        let tax = self.xero_tax_rate.trim();
        if tax.is_empty() || tax.len() > 50 || tax.chars().any(char::is_control) {
            return Err(LedgerError(
                "the Xero tax rate must be 1 to 50 characters".into(),
            ));
        }
        if let Some(d) = &self.datev {
            if !(1001..=9_999_999).contains(&d.consultant) {
                return Err(LedgerError(
                    "DATEV's consultant number is 1001 to 9999999".into(),
                ));
            }
            if !(1..=99_999).contains(&d.client) {
                return Err(LedgerError("DATEV's client number is 1 to 99999".into()));
            }
            if !(1..=12).contains(&d.fiscal_year_start_month) {
                return Err(LedgerError(
                    "the fiscal year starts in a month, 1 to 12".into(),
                ));
            }
            if !matches!(d.chart.as_str(), "03" | "04") {
                return Err(LedgerError(
                    "DATEV's chart of accounts is `03` (SKR03) or `04` (SKR04)".into(),
                ));
            }
        }
        Ok(())
    }
}

/// One line of an entry: a debit or a credit (in minor units of the entry's currency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalLine {
    /// The account.
    pub account: GlAccount,
    /// The cost centre, for expense lines.
    pub cost_centre: Option<String>,
    /// The debit.
    pub debit: i64,
    /// The credit.
    pub credit: i64,
    /// What it is, for people.
    pub memo: String,
}

/// A balanced entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The day it is posted on.
    pub date: NaiveDate,
    /// The report (and what happened to it) it posts.
    pub reference: String,
    /// What it is, for people.
    pub narration: String,
    /// The currency of every line.
    pub currency: Currency,
    /// The lines.
    pub lines: Vec<JournalLine>,
}

impl JournalEntry {
    /// Whether its debits equal its credits.
    pub fn balances(&self) -> bool {
        let debit: i128 = self.lines.iter().map(|l| i128::from(l.debit)).sum();
        let credit: i128 = self.lines.iter().map(|l| i128::from(l.credit)).sum();
        debit == credit
    }
}

/// An entry's reference: the first 16 hex digits of the report's id and what happened to it
/// (`A` approved, `P` paid), short enough for every system's document number (QuickBooks
/// takes 21 characters, DATEV's Belegfeld 1 36 of a few).
fn reference(report: &Report, what: char) -> String {
    let id = report.id.as_uuid().simple().to_string();
    format!("{}-{what}", &id[..16])
}

/// The accrual of an approved `report` of `expenses` on `date`: expense lines per category and
/// cost centre (net of reclaimable tax), input tax, and payables. `None` when an expense has
/// no amount in the base currency, or the report has no total.
pub fn accrual(
    report: &Report,
    expenses: &[Expense],
    policy: &crate::Policy,
    accounts: &GlAccounts,
    home: Option<&str>,
    date: NaiveDate,
) -> Option<JournalEntry> {
    let total = report.total?;
    let mut debits: BTreeMap<(String, Option<String>), (GlAccount, i64)> = BTreeMap::new();
    let mut tax = 0_i64;
    for e in expenses {
        let base = e.base_amount?;
        let reclaimed = e
            .reclaimable_tax(policy)
            .and_then(|(_, base)| base)
            .map_or(0, |t| t.minor())
            .min(base.minor());
        tax += reclaimed;
        let account = accounts.expense_of(e.details.category()).clone();
        // The net, split over the cost centres as the gross is.
        let net = base.minor() - reclaimed;
        let charged = e.charged(home);
        let parts: Vec<(Option<String>, i64)> = if charged.is_empty() {
            vec![(None, net)]
        } else {
            let weights: Vec<i64> = charged.iter().map(|(_, m)| *m).collect();
            crate::org::apportion(net, &weights)
                .into_iter()
                .zip(charged)
                .map(|(part, (centre, _))| (Some(centre).filter(|c| !c.is_empty()), part))
                .collect()
        };
        for (centre, part) in parts {
            debits
                .entry((account.code.clone(), centre))
                .or_insert_with(|| (account.clone(), 0))
                .1 += part;
        }
    }
    let mut lines: Vec<JournalLine> = debits
        .into_iter()
        .filter(|(_, (_, amount))| *amount != 0)
        .map(|((_, cost_centre), (account, debit))| JournalLine {
            account,
            cost_centre,
            debit,
            credit: 0,
            memo: report.title.clone(),
        })
        .collect();
    if tax > 0 {
        lines.push(JournalLine {
            account: accounts.input_tax.clone(),
            cost_centre: None,
            debit: tax,
            credit: 0,
            memo: format!("Input tax, {}", report.title),
        });
    }
    let posted: i64 = lines.iter().map(|l| l.debit).sum();
    lines.push(JournalLine {
        account: accounts.payables.clone(),
        cost_centre: None,
        debit: 0,
        credit: posted,
        memo: format!("Owed to the employee, {}", report.title),
    });
    // The report's total is the sum of its expenses' base amounts; what was posted is that.
    debug_assert_eq!(posted, total.minor(), "the lines are the report's total");
    Some(JournalEntry {
        date,
        reference: reference(report, 'A'),
        narration: format!("Expenses approved: {}", report.title),
        currency: total.currency(),
        lines,
    })
}

/// The payment of a paid `report` on `date`: payables debited, the bank credited, by what was
/// paid (the total less what cash advances settled). `None` when nothing was paid.
pub fn payment(report: &Report, accounts: &GlAccounts, date: NaiveDate) -> Option<JournalEntry> {
    let total = report.total?;
    let paid = report.payable().filter(|p| *p > 0)?;
    let paid_as = report.payment.as_ref().map_or("", |p| p.reference.as_str());
    Some(two_lines(
        date,
        reference(report, 'P'),
        format!("Expenses paid: {} ({paid_as})", report.title),
        total.currency(),
        paid,
        (&accounts.payables, report.title.clone()),
        (&accounts.bank, paid_as.to_owned()),
    ))
}

/// An entry of one debit and one credit of `minor`.
fn two_lines(
    date: NaiveDate,
    reference: String,
    narration: String,
    currency: Currency,
    minor: i64,
    (debit, debit_memo): (&GlAccount, String),
    (credit, credit_memo): (&GlAccount, String),
) -> JournalEntry {
    JournalEntry {
        date,
        reference,
        narration,
        currency,
        lines: vec![
            JournalLine {
                account: debit.clone(),
                cost_centre: None,
                debit: minor,
                credit: 0,
                memo: debit_memo,
            },
            JournalLine {
                account: credit.clone(),
                cost_centre: None,
                debit: 0,
                credit: minor,
                memo: credit_memo,
            },
        ],
    }
}

fn advance_reference(advance: &crate::advance::Advance, what: char, n: usize) -> String {
    let id = advance.id.as_uuid().simple().to_string();
    if n == 0 {
        format!("{}-{what}", &id[..16])
    } else {
        format!("{}-{what}{n}", &id[..16])
    }
}

/// The entries of a cash advance, each with its day (in the company's zone, by `day`): its
/// payout (advances to employees debited, the bank credited, at the payout's base amount),
/// each report that settled part of it (payables debited, advances credited) and each
/// repayment (the bank debited, advances credited).
pub fn advance_entries(
    advance: &crate::advance::Advance,
    accounts: &GlAccounts,
    day: impl Fn(chrono::DateTime<chrono::Utc>) -> NaiveDate,
) -> Vec<JournalEntry> {
    let mut entries = vec![];
    let what = &advance.purpose;
    if let (Some(payout), Some(base)) = (&advance.payout, advance.payout_base) {
        entries.push(two_lines(
            day(payout.at),
            advance_reference(advance, 'V', 0),
            format!("Cash advance paid out: {what} ({})", payout.note),
            base.currency(),
            base.minor(),
            (&accounts.advances, what.clone()),
            (&accounts.bank, payout.note.clone()),
        ));
    }
    for (n, a) in advance.applied.iter().enumerate() {
        entries.push(two_lines(
            day(a.act.at),
            advance_reference(advance, 'S', n + 1),
            format!("Cash advance settled by a report: {what}"),
            a.base.currency(),
            a.base.minor(),
            (&accounts.payables, a.report_id.to_string()),
            (&accounts.advances, what.clone()),
        ));
    }
    for (n, r) in advance.repaid.iter().enumerate() {
        entries.push(two_lines(
            day(r.act.at),
            advance_reference(advance, 'R', n + 1),
            format!("Cash advance paid back: {what} ({})", r.act.note),
            r.base.currency(),
            r.base.minor(),
            (&accounts.bank, r.act.note.clone()),
            (&accounts.advances, what.clone()),
        ));
    }
    entries
}

/// The journal of a period, as its files are made from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub to: NaiveDate,
    /// The base currency every entry is in.
    pub currency: Currency,
    /// The entries, by date and reference.
    pub entries: Vec<JournalEntry>,
    /// The company's ledger.
    pub ledger: Ledger,
    /// When it was made (DATEV's header says so).
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The longest period one journal covers.
pub const MAX_JOURNAL_DAYS: i64 = 366;

/// The formats a journal is exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalFormat {
    /// One row per line, with every field.
    Csv,
    /// Xero's manual journal import.
    Xero,
    /// QuickBooks Online's journal entry import.
    Qbo,
    /// DATEV's Buchungsstapel (EXTF).
    Datev,
}

impl JournalFormat {
    /// Parses `csv`, `xero`, `qbo` or `datev`.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Csv, Self::Xero, Self::Qbo, Self::Datev]
            .into_iter()
            .find(|f| f.as_str() == s)
    }

    /// The name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xero => "xero",
            Self::Qbo => "qbo",
            Self::Datev => "datev",
        }
    }
}

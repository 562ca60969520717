//! The accounting journal of reimbursements: balanced double-entry postings, in the base
//! currency, for the general ledger (Xero, QuickBooks Online, DATEV).
//!
//! When a report is approved, its cost is accrued: each expense's net debits the expense
//! account of its category, per cost centre it is charged to; the tax the company reclaims
//! debits input tax; the total credits employee payables. When it is paid, payables are
//! debited and the bank credited. Every entry balances to the cent by construction: the
//! parts are split by [`crate::org::apportion`], as cost centres are.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{Currency, Expense, Report};

/// The general ledger accounts the journal posts to, kept by finance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlAccounts {
    /// The expense account of each category; a category not named here posts to `expense`.
    #[serde(default)]
    pub by_category: BTreeMap<String, String>,
    /// The expense account of any other category.
    pub expense: String,
    /// Input tax (VAT) receivable.
    pub input_tax: String,
    /// What the company owes its employees.
    pub payables: String,
    /// The bank account reimbursements are paid from.
    pub bank: String,
}

impl Default for GlAccounts {
    /// A small chart that fits most: 6000 expenses, 1576 input tax, 2100 payables, 1200 bank.
    fn default() -> Self {
        Self {
            by_category: BTreeMap::new(),
            expense: "6000".into(),
            input_tax: "1576".into(),
            payables: "2100".into(),
            bank: "1200".into(),
        }
    }
}

/// One line of an entry: a debit or a credit (in minor units of the entry's currency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalLine {
    /// The account.
    pub account: String,
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
    let mut debits: BTreeMap<(String, Option<String>), i64> = BTreeMap::new();
    let mut tax = 0_i64;
    for e in expenses {
        let base = e.base_amount?;
        let reclaimed = e
            .reclaimable_tax(policy)
            .and_then(|(_, base)| base)
            .map_or(0, |t| t.minor())
            .min(base.minor());
        tax += reclaimed;
        let account = accounts
            .by_category
            .get(e.details.category())
            .unwrap_or(&accounts.expense)
            .clone();
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
            *debits.entry((account.clone(), centre)).or_default() += part;
        }
    }
    let mut lines: Vec<JournalLine> = debits
        .into_iter()
        .filter(|(_, amount)| *amount != 0)
        .map(|((account, cost_centre), debit)| JournalLine {
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
        reference: format!("{}-A", report.id.as_uuid().simple()),
        narration: format!("Expenses approved: {}", report.title),
        currency: total.currency(),
        lines,
    })
}

/// The payment of a paid `report` on `date`: payables debited, the bank credited.
pub fn payment(report: &Report, accounts: &GlAccounts, date: NaiveDate) -> Option<JournalEntry> {
    let total = report.total?;
    let reference = report.payment.as_ref().map_or("", |p| p.reference.as_str());
    Some(JournalEntry {
        date,
        reference: format!("{}-P", report.id.as_uuid().simple()),
        narration: format!("Expenses paid: {} ({reference})", report.title),
        currency: total.currency(),
        lines: vec![
            JournalLine {
                account: accounts.payables.clone(),
                cost_centre: None,
                debit: total.minor(),
                credit: 0,
                memo: report.title.clone(),
            },
            JournalLine {
                account: accounts.bank.clone(),
                cost_centre: None,
                debit: 0,
                credit: total.minor(),
                memo: reference.to_owned(),
            },
        ],
    })
}

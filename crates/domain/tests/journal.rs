//! The journal balances: any report's accrual, whatever its expenses' splits and taxes, and
//! its payment, debit exactly what they credit, and the accrual credits the report's total.

use chrono::{DateTime, NaiveDate, Utc};
use outlay_domain::journal::{GlAccounts, accrual, payment};
use outlay_domain::{
    Allocation, CategoryRule, Currency, Expense, ExpenseDetails, ExpenseId, Money, Report,
    ReportId, Severity, Split, Tax, UserId,
};
use proptest::prelude::*;

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::parse("USD").expect("USD")).expect("positive")
}

fn policy() -> outlay_domain::Policy {
    let mut p = outlay_domain::Policy {
        version: 1,
        base_currency: Currency::parse("USD").expect("USD"),
        senior_threshold: usd(100_000),
        categories: vec![],
        receipt_required_from: None,
        receipt_severity: Severity::Hard,
        max_age_days: None,
        duplicates: None,
        allowed_currencies: vec![],
        time_zone: outlay_domain::TimeZone::UTC,
        calendar: Default::default(),
        reminders: None,
        org: Default::default(),
        allowances: Default::default(),
        paying_account: None,
        ledger: Default::default(),
    };
    for (name, reclaimable) in [("travel", true), ("meals", false)] {
        p.categories.push(CategoryRule {
            name: name.into(),
            limit: None,
            limit_severity: Severity::Soft,
            tax_reclaimable: reclaimable,
        });
    }
    p
}

fn expense(n: u128, minor: i64, travel: bool, tax_rate: i64, weights: &[i64]) -> Expense {
    let at: DateTime<Utc> = DateTime::from_timestamp(1_780_000_000, 0).expect("valid");
    let amount = usd(minor);
    let day = NaiveDate::from_ymd_opt(2026, 6, 1).expect("a date");
    let category = if travel { "travel" } else { "meals" };
    // Splits over cost centres in proportion to `weights`, summing to the amount.
    let of: i64 = weights.iter().sum();
    let mut parts: Vec<i64> = weights.iter().map(|w| minor * w / of).collect();
    parts[0] += minor - parts.iter().sum::<i64>();
    let splits: Vec<Split> = parts
        .iter()
        .enumerate()
        .filter(|(_, p)| **p > 0)
        .map(|(i, p)| Split {
            cost_centre: format!("CC{i}"),
            amount: usd(*p),
        })
        .collect();
    Expense {
        id: ExpenseId::from_uuid(uuid::Uuid::from_u128(n)),
        owner_id: UserId::from_uuid(uuid::Uuid::from_u128(2)),
        details: ExpenseDetails::new(day, "Shop", category, "", amount).expect("valid"),
        base_amount: Some(amount),
        exchange_rate: Some("1".into()),
        report_id: None,
        justification: None,
        rejection: None,
        allocation: (weights.len() > 1).then_some(Allocation {
            splits,
            project: None,
        }),
        claim: None,
        tax: Some(Tax::new(rust_decimal::Decimal::from(tax_rate), amount, None).expect("a tax")),
        draft: false,
        version: 1,
        created_at: at,
        updated_at: at,
    }
}

proptest! {
    #[test]
    fn every_entry_balances_to_the_cent(
        lines in prop::collection::vec(
            (1_i64..10_000_000, any::<bool>(), 0_i64..30, prop::collection::vec(1_i64..100, 1..4)),
            1..8,
        ),
    ) {
        let expenses: Vec<Expense> = lines
            .iter()
            .enumerate()
            .map(|(n, (minor, travel, rate, weights))| expense(n as u128 + 10, *minor, *travel, *rate, weights))
            .collect();
        let total: i64 = expenses.iter().map(|e| e.details.amount().minor()).sum();
        let at: DateTime<Utc> = DateTime::from_timestamp(1_780_000_000, 0).expect("valid");
        let mut report = Report::draft(ReportId::from_uuid(uuid::Uuid::from_u128(1)), UserId::from_uuid(uuid::Uuid::from_u128(2)), "Trip".into(), String::new(), Some(usd(total)), at);
        let day = NaiveDate::from_ymd_opt(2026, 6, 2).expect("a date");
        let accounts = GlAccounts::default();
        let entry = accrual(&report, &expenses, &policy(), &accounts, Some("HOME"), day).expect("an entry");
        prop_assert!(entry.balances(), "{entry:#?}");
        let payables: i64 = entry.lines.iter().filter(|l| l.account == accounts.payables).map(|l| l.credit).sum();
        prop_assert_eq!(payables, total);
        // Only travel's tax is reclaimed; nothing is posted negative.
        let reclaimable: i64 = expenses.iter().filter(|e| e.details.category() == "travel").map(|e| e.tax.as_ref().map_or(0, Tax::minor)).sum();
        let input_tax: i64 = entry.lines.iter().filter(|l| l.account == accounts.input_tax).map(|l| l.debit).sum();
        prop_assert_eq!(input_tax, reclaimable);
        prop_assert!(entry.lines.iter().all(|l| l.debit >= 0 && l.credit >= 0));
        report.payment = None;
        let paid = payment(&report, &accounts, day).expect("an entry");
        prop_assert!(paid.balances());
    }
}

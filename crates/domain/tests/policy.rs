//! Every policy rule, with hard and soft outcomes.

use chrono::{DateTime, NaiveDate, Utc};
use outlay_domain::{
    CategoryRule, Currency, Expense, ExpenseDetails, ExpenseId, Facts, Money, Policy, Severity,
    UserId,
};

fn usd(s: &str) -> Money {
    Money::parse(s, Currency::parse("USD").expect("USD")).expect("valid")
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).expect("valid")
}

fn policy() -> Policy {
    Policy {
        version: 1,
        base_currency: Currency::parse("USD").expect("USD"),
        senior_threshold: usd("1000.00"),
        categories: vec![
            CategoryRule {
                name: "meals".into(),
                limit: Some(usd("100.00")),
                limit_severity: Severity::Soft,
                tax_reclaimable: false,
            },
            CategoryRule {
                name: "lodging".into(),
                limit: Some(usd("300.00")),
                limit_severity: Severity::Hard,
                tax_reclaimable: false,
            },
            CategoryRule {
                name: "travel".into(),
                limit: None,
                limit_severity: Severity::Soft,
                tax_reclaimable: false,
            },
        ],
        receipt_required_from: Some(usd("75.00")),
        receipt_severity: Severity::Hard,
        max_age_days: Some(90),
        duplicates: Some(Severity::Soft),
        allowed_currencies: vec![],
        time_zone: outlay_domain::TimeZone::UTC,
        calendar: Default::default(),
        reminders: None,
        org: Default::default(),
        allowances: Default::default(),
        paying_account: None,
        ledger: Default::default(),
    }
}

fn expense(category: &str, amount: &str, days_ago: u64) -> Expense {
    let at: DateTime<Utc> = DateTime::from_timestamp(1_780_000_000, 0).expect("valid");
    let amount = usd(amount);
    Expense {
        id: ExpenseId::from_uuid(uuid::Uuid::from_u128(1)),
        owner_id: UserId::from_uuid(uuid::Uuid::from_u128(2)),
        details: ExpenseDetails::new(
            today() - chrono::Days::new(days_ago),
            "Cafe",
            category,
            "",
            amount,
        )
        .expect("valid"),
        base_amount: Some(amount),
        exchange_rate: Some("1".into()),
        report_id: None,
        justification: None,
        rejection: None,
        allocation: None,
        claim: None,
        tax: None,
        draft: false,
        version: 1,
        created_at: at,
        updated_at: at,
    }
}

fn facts(receipts: usize, duplicate: bool) -> Facts {
    Facts {
        today: today(),
        receipts,
        duplicate,
    }
}

fn rules(p: &Policy, e: &Expense, f: Facts) -> Vec<(String, Severity)> {
    p.evaluate(e, &f)
        .into_iter()
        .map(|v| (v.rule, v.severity))
        .collect()
}

#[test]
fn a_clean_expense_breaks_nothing() {
    assert!(rules(&policy(), &expense("meals", "20.00", 1), facts(0, false)).is_empty());
}

#[test]
fn category_limits_are_soft_or_hard_as_configured() {
    assert_eq!(
        rules(&policy(), &expense("meals", "100.01", 1), facts(1, false)),
        [("category_limit".into(), Severity::Soft)]
    );
    assert_eq!(
        rules(&policy(), &expense("meals", "100.00", 1), facts(1, false)),
        []
    );
    assert_eq!(
        rules(&policy(), &expense("lodging", "300.01", 1), facts(1, false)),
        [("category_limit".into(), Severity::Hard)]
    );
}

#[test]
fn a_receipt_is_required_from_the_amount() {
    assert_eq!(
        rules(&policy(), &expense("travel", "75.00", 1), facts(0, false)),
        [("receipt_required".into(), Severity::Hard)]
    );
    assert_eq!(
        rules(&policy(), &expense("travel", "74.99", 1), facts(0, false)),
        []
    );
    assert_eq!(
        rules(&policy(), &expense("travel", "500.00", 1), facts(1, false)),
        []
    );
    let mut soft = policy();
    soft.receipt_severity = Severity::Soft;
    assert_eq!(
        rules(&soft, &expense("travel", "75.00", 1), facts(0, false)),
        [("receipt_required".into(), Severity::Soft)]
    );
}

#[test]
fn old_and_future_expenses_are_hard_violations() {
    assert_eq!(
        rules(&policy(), &expense("travel", "5.00", 91), facts(0, false)),
        [("too_old".into(), Severity::Hard)]
    );
    assert_eq!(
        rules(&policy(), &expense("travel", "5.00", 90), facts(0, false)),
        []
    );
    let mut future = expense("travel", "5.00", 0);
    future.details = ExpenseDetails::new(
        today() + chrono::Days::new(1),
        "Cafe",
        "travel",
        "",
        usd("5.00"),
    )
    .expect("valid");
    assert_eq!(
        rules(&policy(), &future, facts(0, false)),
        [("future_date".into(), Severity::Hard)]
    );
}

#[test]
fn duplicates_are_flagged_with_the_configured_severity() {
    assert_eq!(
        rules(&policy(), &expense("travel", "5.00", 1), facts(0, true)),
        [("duplicate".into(), Severity::Soft)]
    );
    let mut hard = policy();
    hard.duplicates = Some(Severity::Hard);
    assert_eq!(
        rules(&hard, &expense("travel", "5.00", 1), facts(0, true)),
        [("duplicate".into(), Severity::Hard)]
    );
    hard.duplicates = None;
    assert_eq!(
        rules(&hard, &expense("travel", "5.00", 1), facts(0, true)),
        []
    );
}

#[test]
fn currencies_and_rates_are_checked() {
    let mut p = policy();
    p.allowed_currencies = vec![
        Currency::parse("USD").expect("USD"),
        Currency::parse("EUR").expect("EUR"),
    ];
    let mut gbp = expense("travel", "5.00", 1);
    gbp.details = ExpenseDetails::new(
        today(),
        "Cafe",
        "travel",
        "",
        Money::parse("5.00", Currency::parse("GBP").expect("GBP")).expect("valid"),
    )
    .expect("valid");
    gbp.base_amount = None;
    assert_eq!(
        rules(&p, &gbp, facts(0, false)),
        [
            ("currency_not_allowed".into(), Severity::Hard),
            ("exchange_rate_missing".into(), Severity::Hard)
        ]
    );
}

#[test]
fn soft_violations_block_only_without_a_justification() {
    let p = policy();
    let mut e = expense("meals", "150.00", 1);
    let v = p.evaluate(&e, &facts(1, false));
    assert_eq!(p.blocking(&e, &v).len(), 1);
    e.justification = Some("Client dinner for four".into());
    assert!(p.blocking(&e, &v).is_empty());
    let hard = p.evaluate(&e, &facts(0, false));
    assert_eq!(
        p.blocking(&e, &hard)
            .iter()
            .map(|v| v.rule.as_str())
            .collect::<Vec<_>>(),
        ["receipt_required"]
    );
}

//! Cash advances: who may do what to one, and that nettings and repayments never settle more
//! than was paid out, nor reduce a report below nothing.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use outlay_domain::advance::{Advance, AdvanceError, AdvanceId, AdvanceState};
use outlay_domain::{Currency, Money, Report, ReportId, ReportState, Role, User, UserId};
use proptest::prelude::*;

fn user(n: u128, roles: &[Role], manager: Option<u128>) -> User {
    User {
        id: UserId::from_uuid(uuid::Uuid::from_u128(n)),
        email: outlay_domain::Email::parse(&format!("u{n}@example.com")).expect("valid email"),
        name: format!("User {n}"),
        roles: roles.iter().copied().chain([Role::Employee]).collect(),
        manager_id: manager.map(|m| UserId::from_uuid(uuid::Uuid::from_u128(m))),
        active: true,
        version: 1,
        controllers: BTreeSet::new(),
        signed_out_at: None,
        time_zone: None,
        delegation: None,
        home_cost_centre: None,
    }
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::parse("USD").expect("USD")).expect("positive")
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).expect("a time")
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 7, 1).expect("a day")
}

/// Owner 1 (managed by 2), manager 2 (also finance, to test the duties), payer 3.
fn cast() -> (User, User, User) {
    (
        user(1, &[], Some(2)),
        user(2, &[Role::Manager, Role::Finance], None),
        user(3, &[Role::Finance], None),
    )
}

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::parse("EUR").expect("EUR")).expect("positive")
}

/// An advance of `amount` euro cents, paid out at 1.10 dollars a euro.
fn paid_out(amount: i64) -> Advance {
    let (owner, manager, payer) = cast();
    let a = Advance::request(
        AdvanceId::from_uuid(uuid::Uuid::from_u128(9)),
        &owner,
        eur(amount),
        "Trip",
        now(),
    )
    .expect("a request");
    let a = a
        .decide(&manager, &owner, true, "", now())
        .expect("approved");
    a.pay_out(
        &payer,
        &owner,
        "ADV-1",
        usd(amount * 11 / 10 + 1),
        day(),
        now(),
    )
    .expect("paid out")
}

fn approved_report(n: u128, total: i64) -> Report {
    let (owner, _, _) = cast();
    let mut r = Report::draft(
        ReportId::from_uuid(uuid::Uuid::from_u128(100 + n)),
        owner.id,
        "Report".into(),
        String::new(),
        Some(usd(total)),
        now(),
    );
    r.state = ReportState::Approved;
    r
}

#[test]
fn the_owner_never_decides_nor_pays_and_the_approver_never_pays() {
    let (owner, manager, payer) = cast();
    let a = Advance::request(
        AdvanceId::from_uuid(uuid::Uuid::from_u128(9)),
        &owner,
        usd(10_000),
        "Trip",
        now(),
    )
    .expect("a request");
    assert_eq!(a.approver_id, Some(manager.id));
    assert!(matches!(
        a.decide(&owner, &owner, true, "", now()),
        Err(AdvanceError::Forbidden(_))
    ));
    assert!(
        matches!(
            a.decide(&payer, &owner, true, "", now()),
            Err(AdvanceError::Forbidden(_))
        ),
        "finance decides only for someone without a manager"
    );
    let approved = a
        .decide(&manager, &owner, true, "", now())
        .expect("approved");
    assert!(
        matches!(
            approved.pay_out(&manager, &owner, "X", usd(10_000), day(), now()),
            Err(AdvanceError::Forbidden(_))
        ),
        "the approver, though finance, may not pay it out"
    );
    assert!(matches!(
        approved.pay_out(&owner, &owner, "X", usd(10_000), day(), now()),
        Err(AdvanceError::Forbidden(_))
    ));
    assert!(
        matches!(
            a.pay_out(&payer, &owner, "X", usd(10_000), day(), now()),
            Err(AdvanceError::NotNow(_))
        ),
        "not before it is approved"
    );
}

proptest! {
    #[test]
    fn nettings_and_repayments_never_settle_more_than_was_paid_out(
        amount in 1_i64..1_000_000,
        steps in prop::collection::vec((any::<bool>(), 1_i64..500_000), 1..12),
    ) {
        let (owner, _, payer) = cast();
        let mut a = paid_out(amount);
        for (n, (net, minor)) in steps.into_iter().enumerate() {
            let before = a.outstanding();
            if net {
                let report = approved_report(n as u128, minor);
                                match a.apply_to(&payer, &owner, &report, now()) {
                    Ok((next, settled)) => {
                        let applied = settled.advance_applied.expect("netted").minor();
                        prop_assert!(applied <= minor, "a report is never reduced below nothing");
                        prop_assert_eq!(settled.payable(), Some(minor - applied));
                        let netted = next.applied.last().expect("recorded").amount.minor();
                        prop_assert_eq!(next.outstanding(), before - netted);
                        a = next;
                    }
                                        // Nothing outstanding, or a report worth less than a cent of euros.
                    Err(e) => prop_assert!(before == 0 || minor < 2, "{e}"),
                }
            } else {
                match a.repay(&payer, &owner, eur(minor), "IN", now()) {
                    Ok(next) => {
                        prop_assert!(minor <= before);
                        a = next;
                    }
                                        // More than is outstanding, or worth less than a cent in dollars.
                    Err(e) => prop_assert!(minor > before || before == 0 || minor * 11 / 10 == 0, "{e}"),
                }
            }
            prop_assert!(a.outstanding() >= 0);
            prop_assert_eq!(a.state == AdvanceState::Settled, a.outstanding() == 0);
            let settled: i64 = a.applied.iter().map(|x| x.amount.minor()).sum::<i64>()
                + a.repaid.iter().map(|x| x.amount.minor()).sum::<i64>();
                        prop_assert_eq!(settled + a.outstanding(), amount);
            // The advances account clears: once settled, the credits are the payout's debit.
            if a.state == AdvanceState::Settled {
                let credited: i64 = a.applied.iter().map(|x| x.base.minor()).sum::<i64>()
                    + a.repaid.iter().map(|x| x.base.minor()).sum::<i64>();
                prop_assert_eq!(Some(credited), a.payout_base.map(|b| b.minor()));
            }
        }
    }
}

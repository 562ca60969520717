//! The report state machine: scenarios, and properties over random command sequences.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use outlay_domain::delegation::{given_back, stand_in};
use outlay_domain::escalation::escalate;
use outlay_domain::{
    Approver, Command, Currency, Delegation, Level, Money, Outcome, Refusal, Report, ReportId,
    ReportState, Role, Route, RuleStep, User, UserId, access, decide,
};
use proptest::prelude::*;

fn id(n: u128) -> UserId {
    UserId::from_uuid(uuid::Uuid::from_u128(n))
}

fn user(n: u128, roles: &[Role]) -> User {
    User {
        id: id(n),
        email: outlay_domain::Email::parse(&format!("u{n}@example.com")).expect("valid email"),
        name: format!("User {n}"),
        roles: roles.iter().copied().chain([Role::Employee]).collect(),
        manager_id: None,
        active: true,
        version: 1,
        controllers: BTreeSet::new(),
        signed_out_at: None,
        time_zone: None,
        delegation: None,
        home_cost_centre: None,
    }
}

fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::parse("USD").expect("USD")).expect("valid amount")
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000, 0).expect("valid time")
}

/// The cast: owner 1, manager 2, senior 3, finance 4 and 5, outsider 6.
struct World {
    owner: User,
    manager: User,
    senior: User,
    finance: User,
    payer: User,
    outsider: User,
}

fn world() -> World {
    World {
        owner: user(1, &[]),
        manager: user(2, &[Role::Manager]),
        senior: user(3, &[Role::Manager]),
        finance: user(4, &[Role::Finance]),
        payer: user(5, &[Role::Finance]),
        outsider: user(6, &[]),
    }
}

fn draft() -> Report {
    Report::draft(
        ReportId::from_uuid(uuid::Uuid::from_u128(99)),
        id(1),
        "Trip".into(),
        "Customer visit".into(),
        Some(usd("1500.00")),
        now(),
    )
}

fn submit(total: &str) -> Command {
    Command::Submit(Route {
        manager: Some(Approver::of(&world().manager)),
        senior: Some(Approver::of(&world().senior)),
        total: usd(total),
        senior_threshold: usd("1000.00"),
        rules: vec![],
        policy_version: 1,
    })
}

fn approve() -> Command {
    Command::Approve { comment: None }
}

fn reject_line(remaining: &str, lines_left: usize) -> Command {
    Command::RejectLine {
        reason: "Personal, not business".into(),
        remaining: (lines_left > 0).then(|| usd(remaining)),
        lines_left,
        senior_threshold: usd("1000.00"),
    }
}

/// The owner of every report here.
fn owner() -> User {
    user(1, &[])
}

fn run(report: &Report, actor: &User, command: Command) -> Report {
    decide(actor, &owner(), report, command, now()).expect("transition allowed")
}

#[test]
fn a_report_over_the_threshold_goes_through_every_level_and_is_paid() {
    let w = world();
    // GIVEN a draft over the senior threshold
    let r = run(&draft(), &w.owner, submit("1500.00"));
    assert_eq!(r.state, ReportState::PendingManager);
    // WHEN manager, senior and finance approve and the payer pays
    let r = run(&r, &w.manager, approve());
    assert_eq!(r.state, ReportState::PendingSenior);
    let r = run(&r, &w.senior, approve());
    assert_eq!(r.state, ReportState::PendingFinance);
    let r = run(&r, &w.finance, approve());
    assert_eq!(r.state, ReportState::Approved);
    let r = run(
        &r,
        &w.payer,
        Command::Pay {
            reference: "TX-1".into(),
        },
    );
    // THEN it is paid, after five versions
    assert_eq!(r.state, ReportState::Paid);
    assert_eq!(r.version, 6);
    assert_eq!(r.payment.map(|p| p.by), Some(id(5)));
}

#[test]
fn a_report_under_the_threshold_skips_the_senior() {
    let w = world();
    let r = run(&draft(), &w.owner, submit("999.99"));
    let r = run(&r, &w.manager, approve());
    assert_eq!(r.state, ReportState::PendingFinance);
    assert_eq!(
        r.steps.iter().map(|s| s.level).collect::<Vec<_>>(),
        [Level::Manager, Level::Finance]
    );
}

#[test]
fn an_owner_without_a_manager_goes_straight_to_finance() {
    let w = world();
    let route = Route {
        manager: None,
        senior: None,
        total: usd("5000.00"),
        senior_threshold: usd("1000.00"),
        rules: vec![],
        policy_version: 1,
    };
    let r = run(&draft(), &w.owner, Command::Submit(route));
    assert_eq!(r.state, ReportState::PendingFinance);
    // The finance step says why no manager decides first.
    assert_eq!(
        r.steps[0].reason,
        "finance approves every report; the submitter has no active manager to decide first; \
         total 5,000.00 USD is over the senior threshold of 1,000.00 USD, and there is no active \
         manager above the manager to decide it"
    );
}

#[test]
fn every_step_says_why_it_exists() {
    let w = world();
    let r = run(&draft(), &w.owner, submit("1350.00"));
    let reasons: Vec<&str> = r.steps.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "User 2 is the submitter's manager",
            "total 1,350.00 USD is over the senior threshold of 1,000.00 USD; User 3 is the \
             manager's manager",
            "finance approves every report",
        ]
    );
}

#[test]
fn a_rejection_carries_its_reason_and_the_owner_can_resubmit() {
    let w = world();
    let r = run(&draft(), &w.owner, submit("100.00"));
    let r = run(
        &r,
        &w.manager,
        Command::Reject {
            reason: "Missing hotel bill".into(),
        },
    );
    assert_eq!(r.state, ReportState::Rejected);
    assert_eq!(r.rejection_reason.as_deref(), Some("Missing hotel bill"));
    let r = run(&r, &w.owner, submit("100.00"));
    assert_eq!(r.state, ReportState::PendingManager);
    assert_eq!(r.submissions, 2);
    assert!(
        r.steps.iter().all(|s| s.decision.is_none()),
        "a new submission starts afresh"
    );
}

#[test]
fn withdrawal_is_only_before_the_first_decision() {
    let w = world();
    let r = run(&draft(), &w.owner, submit("1500.00"));
    assert_eq!(
        run(&r, &w.owner, Command::Withdraw).state,
        ReportState::Draft
    );
    let r = run(&r, &w.manager, approve());
    assert!(matches!(
        decide(&w.owner, &owner(), &r, Command::Withdraw, now()),
        Err(Refusal::WrongState { .. })
    ));
}

#[test]
fn segregation_of_duties_holds_for_everyone() {
    let w = world();
    // The owner cannot approve their own report, even holding every role.
    let mut mighty = w.owner.clone();
    mighty.roles = Role::ALL.into_iter().collect();
    let r = run(&draft(), &w.owner, submit("100.00"));
    assert!(matches!(
        decide(&mighty, &owner(), &r, approve(), now()),
        Err(Refusal::Forbidden(_))
    ));
    // A manager who also holds finance cannot give the finance approval after their own.
    let mut manager_finance = w.manager.clone();
    manager_finance.roles.insert(Role::Finance);
    let r = run(&r, &manager_finance, approve());
    assert!(matches!(
        decide(&manager_finance, &owner(), &r, approve(), now()),
        Err(Refusal::Forbidden(_))
    ));
    // The finance approver cannot also pay.
    let r = run(&r, &w.finance, approve());
    assert!(matches!(
        decide(
            &w.finance,
            &owner(),
            &r,
            Command::Pay {
                reference: "X".into()
            },
            now()
        ),
        Err(Refusal::Forbidden(_))
    ));
    // An outsider is no approver; a manager who is not this step's approver is out of turn.
    let r2 = run(&draft(), &w.owner, submit("1500.00"));
    assert!(matches!(
        decide(&w.outsider, &owner(), &r2, approve(), now()),
        Err(Refusal::Forbidden(_))
    ));
    assert!(matches!(
        decide(&w.senior, &owner(), &r2, approve(), now()),
        Err(Refusal::WrongState { .. })
    ));
}

#[test]
fn the_payer_decided_no_step_of_any_submission() {
    let w = world();
    // GIVEN the payer rejected a first submission as finance, and others approved the second
    let r = run(&draft(), &w.owner, submit("100.00"));
    let r = run(&r, &w.manager, approve());
    let r = run(
        &r,
        &w.payer,
        Command::Reject {
            reason: "Receipt unreadable".into(),
        },
    );
    let r = run(&r, &w.owner, submit("100.00"));
    let r = run(&r, &w.manager, approve());
    let r = run(&r, &w.finance, approve());
    // WHEN the payer pays THEN it is refused: they decided a step of the report before
    assert!(matches!(
        decide(
            &w.payer,
            &w.owner,
            &r,
            Command::Pay {
                reference: "TX".into()
            },
            now()
        ),
        Err(Refusal::Forbidden(_))
    ));
}

#[test]
fn nobody_decides_or_pays_for_an_account_they_control_or_that_controls_them() {
    let w = world();
    // GIVEN an admin owner who set up a manager and a payer (created them, or set a password)
    let mut admin = owner();
    admin.roles.insert(Role::Admin);
    let mut puppet_manager = w.manager.clone();
    puppet_manager.controlled_by(&admin);
    let mut puppet_payer = w.payer.clone();
    puppet_payer.controlled_by(&puppet_manager);
    assert!(
        puppet_payer.controllers.contains(&admin.id),
        "control is transitive"
    );
    let r = run(&draft(), &admin, submit("100.00"));
    // WHEN the puppet manager approves THEN segregation of duties refuses it
    assert!(matches!(
        decide(&puppet_manager, &admin, &r, approve(), now()),
        Err(Refusal::Forbidden(m)) if m.contains("segregation of duties")
    ));
    assert!(matches!(
        decide(
            &puppet_manager,
            &admin,
            &r,
            Command::Reject { reason: "x".into() },
            now()
        ),
        Err(Refusal::Forbidden(_))
    ));
    // AND a manager whose puppet re-pointed the owner is refused the other way round
    let mut repointed = admin.clone();
    repointed.controlled_by(&w.manager);
    assert!(matches!(
        decide(&w.manager, &repointed, &r, approve(), now()),
        Err(Refusal::Forbidden(_))
    ));
    // AND the puppet payer cannot pay once independent people approved
    let r = run(&r, &w.manager, approve());
    let r = run(&r, &w.finance, approve());
    assert!(matches!(
        decide(
            &puppet_payer,
            &admin,
            &r,
            Command::Pay {
                reference: "TX".into()
            },
            now()
        ),
        Err(Refusal::Forbidden(_))
    ));
    // AND an independent payer can
    assert!(
        decide(
            &w.payer,
            &admin,
            &r,
            Command::Pay {
                reference: "TX".into()
            },
            now()
        )
        .is_ok()
    );
}

#[test]
fn a_reject_needs_a_reason_and_a_payment_a_reference() {
    let w = world();
    let r = run(&draft(), &w.owner, submit("100.00"));
    assert!(matches!(
        decide(
            &w.manager,
            &owner(),
            &r,
            Command::Reject {
                reason: "   ".into()
            },
            now()
        ),
        Err(Refusal::Invalid(_))
    ));
}

#[test]
fn a_step_waits_in_working_days_and_is_escalated_once_to_someone_who_may_take_it_over() {
    use outlay_domain::escalation::{Nudge, due};
    use outlay_domain::{Reminders, WorkingCalendar};
    let w = world();
    let r = run(&draft(), &w.owner, submit("10.00"));
    let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 12, d).expect("a day");
    let calendar = WorkingCalendar {
        holidays: vec![day(8)],
        ..WorkingCalendar::default()
    };
    // Friday the 4th to Friday the 11th: five weekdays less a holiday.
    assert_eq!(calendar.working_days_between(day(4), day(11)), 4);
    let rules = Reminders {
        remind_after_days: 2,
        escalate_after_days: 4,
    };
    assert_eq!(due(&r, day(4), day(8), &calendar, &rules), None);
    assert_eq!(due(&r, day(4), day(9), &calendar, &rules), None);
    assert_eq!(
        due(&r, day(4), day(10), &calendar, &rules),
        Some(Nudge::Remind)
    );
    assert_eq!(
        due(&r, day(4), day(14), &calendar, &rules),
        Some(Nudge::Escalate)
    );
    // The owner never takes it over; the senior does, once, and both may decide it.
    assert!(escalate(&r, 0, &w.owner, &w.owner).is_none());
    let mut up = r.clone();
    up.steps[0] = escalate(&r, 0, &w.owner, &w.senior).expect("the senior takes it over");
    assert!(escalate(&up, 0, &w.owner, &w.senior).is_none(), "once");
    assert_eq!(
        access::queue_keys(&up).queue,
        Some(access::Queue::Approver(w.senior.id))
    );
    assert!(access::may_decide(&w.senior, &w.owner, &up).is_ok());
    assert!(access::may_decide(&w.manager, &w.owner, &up).is_ok());
    assert_eq!(
        due(&up, day(4), day(30), &calendar, &rules),
        Some(Nudge::Remind),
        "not escalated again"
    );
}

#[test]
fn whoever_set_someone_elses_delegation_never_stands_in_through_it() {
    let w = world();
    let r = run(&draft(), &w.owner, submit("10.00"));
    // GIVEN the senior (the manager's manager) set the manager's delegation to the owner's
    // colleague who may not decide it (the owner themselves): the fallback would be the senior
    let mut away = w.manager.clone();
    let today = now().date_naive();
    away.delegation = Some(Delegation {
        delegate_id: w.owner.id,
        from: today,
        until: today,
        set_by: Some(w.senior.id),
    });
    // THEN the step stays with the manager; set by anyone else, the senior would take it
    assert!(
        stand_in(
            &r,
            0,
            &w.owner,
            &away,
            Some(&w.owner),
            Some(&w.senior),
            today
        )
        .is_none()
    );
    away.delegation.as_mut().expect("set").set_by = None;
    let taken = stand_in(
        &r,
        0,
        &w.owner,
        &away,
        Some(&w.owner),
        Some(&w.senior),
        today,
    );
    assert_eq!(taken.and_then(|s| s.approver_id), Some(w.senior.id));
}

#[test]
fn nobody_takes_a_role_step_who_approves_another_step_of_the_report() {
    let w = world();
    let dan = user(7, &[Role::Manager]);
    // GIVEN a route of the manager, any manager (a rule), then Dan by name (another rule)
    let Command::Submit(mut route) = submit("10.00") else {
        unreachable!("submit() submits")
    };
    route.rules = vec![
        RuleStep {
            approver: None,
            role: Some(Role::Manager),
            reason: "any manager".into(),
        },
        RuleStep {
            approver: Some(Approver::of(&dan)),
            role: None,
            reason: "Dan's cost centre".into(),
        },
    ];
    let r = run(&draft(), &w.owner, Command::Submit(route));
    let r = run(&r, &w.manager, approve());
    assert_eq!(r.state, ReportState::PendingReview);
    // THEN Dan, who decides the next step, and the manager, who decided the first, may not
    // take the role's step; the senior may
    assert!(matches!(
        access::may_decide(&dan, &w.owner, &r),
        Err(access::Denied::Forbidden(_))
    ));
    assert!(access::may_decide(&w.manager, &w.owner, &r).is_err());
    assert!(!access::queue_keys(&r).barred.contains(&w.senior.id));
    let r = run(&r, &w.senior, approve());
    let r = run(&r, &dan, approve());
    assert_eq!(r.state, ReportState::PendingFinance);
}

#[test]
fn a_rejected_line_leaves_the_report_at_its_step_and_drops_a_senior_step_no_longer_needed() {
    let w = world();
    // GIVEN a report of 1,500.00 waiting for the manager, with a senior step to come
    let r = run(&draft(), &w.owner, submit("1500.00"));
    assert_eq!(r.steps.len(), 3);
    // WHEN the manager rejects a line of 600.00
    let r = run(&r, &w.manager, reject_line("900.00", 1));
    // THEN it still waits for the manager, totals 900.00, and needs no senior any more
    assert_eq!(r.state, ReportState::PendingManager);
    assert_eq!(r.total, Some(usd("900.00")));
    let levels: Vec<Level> = r.steps.iter().map(|s| s.level).collect();
    assert_eq!(levels, [Level::Manager, Level::Finance]);
    // AND nobody but the current step's approver takes a line out
    for who in [&w.owner, &w.senior, &w.finance, &w.outsider] {
        assert!(decide(who, &w.owner, &r, reject_line("100.00", 1), now()).is_err());
    }
}

#[test]
fn a_line_rejection_judges_the_senior_step_by_the_threshold_of_the_submission() {
    let w = world();
    // GIVEN 1,500.00 submitted when senior approval was needed above 1,000.00
    let r = run(&draft(), &w.owner, submit("1500.00"));
    // WHEN the threshold has since been raised to 2,000.00 and a line of 300.00 goes
    let later = Command::RejectLine {
        reason: "Not business".into(),
        remaining: Some(usd("1200.00")),
        lines_left: 1,
        senior_threshold: usd("2000.00"),
    };
    let r = run(&r, &w.manager, later);
    // THEN 1,200.00 still needs the senior, as the route it was submitted on said; and the
    // manager who took the line out may not pay it
    assert!(r.steps.iter().any(|s| s.level == Level::Senior));
    assert!(r.deciders.contains(&w.manager.id));
}

#[test]
fn a_senior_step_already_decided_or_at_hand_stays_when_a_line_goes() {
    let w = world();
    let r = run(&draft(), &w.owner, submit("1500.00"));
    let r = run(&r, &w.manager, approve());
    // GIVEN the senior's step is the current one WHEN the senior rejects a line
    let r = run(&r, &w.senior, reject_line("900.00", 1));
    // THEN the senior still decides it
    assert_eq!(r.state, ReportState::PendingSenior);
    assert_eq!(r.steps.len(), 3);
    // AND once approved, a line rejected at finance undoes no decision
    let r = run(&r, &w.senior, approve());
    let r = run(&r, &w.finance, reject_line("100.00", 1));
    assert_eq!(r.state, ReportState::PendingFinance);
    assert!(r.steps[..2].iter().all(|s| s.decision.is_some()));
}

#[test]
fn a_report_whose_last_line_is_rejected_is_rejected() {
    let w = world();
    let r = run(&draft(), &w.owner, submit("10.00"));
    let r = run(&r, &w.manager, reject_line("0.00", 0));
    assert_eq!(r.state, ReportState::Rejected);
    assert_eq!(
        r.rejection_reason.as_deref(),
        Some("every line was rejected; the last one: Personal, not business")
    );
    // AND the owner may change and resubmit it
    assert!(access::may_edit(&w.owner, &r).is_ok());
}

/// One of two payment batches.
fn batch(second: bool) -> outlay_domain::BatchId {
    outlay_domain::BatchId::from_uuid(uuid::Uuid::from_u128(if second { 0xB2 } else { 0xB1 }))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random actors issuing random commands never break the workflow's invariants.
    #[test]
    fn the_workflow_invariants_hold_for_any_sequence(
        steps in prop::collection::vec((0_usize..7, 0_usize..13, any::<bool>()), 1..40),
        manager_is_finance in any::<bool>(),
    ) {
        let mut w = world();
        if manager_is_finance {
            w.manager.roles.insert(Role::Finance);
        }
        // Dan, a manager outside the line who stands in for the manager when she is away.
        let dan = user(7, &[Role::Manager]);
        let cast = [&w.owner, &w.manager, &w.senior, &w.finance, &w.payer, &w.outsider, &dan];
        let today = now().date_naive();
        let mut report = draft();
        // The report's lines, in the base currency: the draft's 1,500.00, in three.
        let mut lines = vec![usd("1000.00"), usd("300.00"), usd("200.00")];
        let sum = |lines: &[Money]| {
            lines.iter().copied().reduce(|t, l| t.checked_add(l).expect("small sums"))
        };
        for (who, what, big) in steps {
            if lines.is_empty() {
                // Every line was rejected: the owner would have to add one before anything else.
                break;
            }
            // The manager goes away (to Dan, or to the senior when `big`), or comes back: the
            // current step is handed over or given back, as the application would.
            // The current step has waited too long: it is escalated to the senior (the
            // manager's manager), or to Dan when `big`, if they may take it over.
            if what == 9 {
                if let Some(i) = report.current_index() {
                    let to = if big { &dan } else { &w.senior };
                    if let Some(step) = escalate(&report, i, &w.owner, to) {
                        prop_assert!(step.decision.is_none());
                        prop_assert_ne!(step.escalated_to, Some(report.owner_id));
                        report.steps[i] = step;
                        report.version += 1;
                    }
                }
                continue;
            }
            if (7..=8).contains(&what) {
                let mut away = w.manager.clone();
                let to = if big { &w.senior } else { &dan };
                away.delegation = Some(Delegation {
                    delegate_id: to.id,
                    from: today,
                    until: today,
                    set_by: None,
                });
                if let Some(i) = report.current_index() {
                    let moved = if what == 7 {
                        stand_in(&report, i, &w.owner, &away, Some(to), Some(&w.senior), today)
                    } else {
                        given_back(&report, i)
                    };
                    if let Some(step) = moved {
                        prop_assert!(step.decision.is_none());
                        prop_assert_ne!(step.approver_id, Some(report.owner_id));
                        report.steps[i] = step;
                        report.version += 1;
                    }
                }
                continue;
            }
            let command = match what {
                // A submission with routing rules: Dan for a cost centre, one for the owner's
                // own (never their step), one with nobody (a finance note), and the manager
                // again (one step covers both).
                0 if who % 2 == 0 => {
                    let Command::Submit(mut route) = submit(&sum(&lines).expect("some lines").amount_string()) else {
                        unreachable!("submit() submits")
                    };
                    route.rules = vec![
                        // Any manager but whoever approves another step: before Dan's own
                        // step, so Dan must not take it.
                        RuleStep { approver: None, role: Some(Role::Manager), reason: "a manager's eye".into() },
                        RuleStep { approver: Some(Approver::of(&dan)), role: None, reason: "lines charged to DAN".into() },
                        RuleStep { approver: Some(Approver::of(&w.owner)), role: None, reason: "own cost centre".into() },
                        RuleStep { approver: None, role: None, reason: "nobody".into() },
                        RuleStep { approver: Some(Approver::of(&w.manager)), role: None, reason: "manager's centre".into() },
                    ];
                    Command::Submit(route)
                }
                0 => submit(&sum(&lines).expect("some lines").amount_string()),
                1 => Command::Withdraw,
                2 => approve(),
                3 => Command::Reject { reason: "No".into() },
                4 => Command::Pay { reference: "TX".into() },
                // Payment batches: two of them, so that a report held by one is offered to
                // the other, released by the wrong one, and settled by either.
                10 => Command::Hold(batch(big)),
                11 => Command::Release(batch(big)),
                12 => Command::Settle { batch: batch(big), reference: "ACH-1".into() },
                5 => Command::RejectLine {
                    reason: if big { "Not business".into() } else { String::new() },
                    remaining: sum(&lines[1..]),
                    lines_left: lines.len() - 1,
                    senior_threshold: usd("1000.00"),
                },
                _ => Command::Reject { reason: String::new() },
            };
            let takes_line = matches!(command, Command::RejectLine { .. });
            let settles = match &command {
                Command::Settle { batch, .. } => Some(*batch),
                _ => None,
            };
            let is_submit = matches!(command, Command::Submit(_));
            let before = report.clone();
            match decide(cast[who], &w.owner, &report, command, now()) {
                Ok(next) => {
                    prop_assert_eq!(next.version, before.version + 1);
                    report = next;
                    if takes_line {
                        lines.remove(0);
                    }
                }
                Err(_) => {
                    // A refusal changes nothing.
                    prop_assert_eq!(&report, &before);
                }
            }
            // A report's total is the sum of its lines, whatever was taken out.
            if !lines.is_empty() {
                prop_assert_eq!(report.total, sum(&lines));
            }
            // A decided step is never undone, short of a new submission.
            if !is_submit {
                for s in before.steps.iter().filter(|s| s.decision.is_some()) {
                    prop_assert!(report.steps.contains(s), "decided step {:?} undone", s.level);
                }
            }
            // An approver is never the owner, nor anyone not independent of the owner, and
            // nobody decides two steps of one submission, whoever they stood in for.
            let mut deciders = BTreeSet::new();
            for s in &report.steps {
                if let Some(d) = &s.decision {
                    prop_assert_ne!(d.by, report.owner_id);
                    let by = cast.iter().find(|u| u.id == d.by).expect("one of the cast");
                    prop_assert!(by.independent_of(&w.owner));
                    prop_assert!(deciders.insert(d.by), "{} decided two steps", by.name);
                }
            }
            // Paid (and approved) imply every level approved, finance included.
            if matches!(report.state, ReportState::Paid | ReportState::Approved) {
                prop_assert!(report.steps.iter().all(|s| s.decision.as_ref().is_some_and(|d| d.outcome == Outcome::Approved)));
                prop_assert!(report.steps.iter().any(|s| s.level == Level::Finance));
            }
            // A report held by a batch is paid by that batch alone, and only an approved
            // report is held; whoever holds it may pay it.
            if report.state == ReportState::Paid && before.state != ReportState::Paid {
                prop_assert_eq!(before.batch_id, settles, "paid by hand while held, or by another batch");
            }
            if report.batch_id.is_some() {
                prop_assert!(matches!(report.state, ReportState::Approved | ReportState::Paid));
                if before.batch_id.is_none() {
                    prop_assert_ne!(cast[who].id, report.owner_id);
                    prop_assert!(!report.deciders.contains(&cast[who].id), "an approver put it in a batch");
                }
            }
            if let Some(p) = &report.payment {
                prop_assert_ne!(p.by, report.owner_id);
                prop_assert!(!report.deciders.contains(&p.by), "the payer decided a step, in this or an earlier submission");
            }
            // The actions `access` offers are exactly the commands the state machine accepts.
            for actor in cast {
                let offered = access::actions(actor, &w.owner, &report);
                for (action, command) in [
                    (access::Action::Submit, submit("10.00")),
                    (access::Action::Withdraw, Command::Withdraw),
                    (access::Action::Approve, approve()),
                    (access::Action::Reject, Command::Reject { reason: "No".into() }),
                    (access::Action::RejectLine, reject_line("10.00", 1)),
                    (access::Action::Pay, Command::Pay { reference: "TX".into() }),
                ] {
                    let accepted = decide(actor, &w.owner, &report, command, now()).is_ok();
                    prop_assert_eq!(offered.contains(&action), accepted, "{:?} by {}", action, actor.name);
                }
                // The queue keys put the report where exactly its deciders look.
                let keys = access::queue_keys(&report);
                let in_queue = access::queues_of(actor).into_iter().any(|q| {
                    keys.queue == Some(q) && (!q.is_shared() || !keys.barred.contains(&actor.id))
                });
                let decides = access::may_decide(actor, &w.owner, &report).is_ok();
                // An escalated step waits with the one it was escalated to; its approver may
                // still decide it, from the notice rather than the queue.
                let escalated_from = report
                    .current_step()
                    .is_some_and(|s| s.escalated_to.is_some() && s.approver_id == Some(actor.id));
                prop_assert_eq!(in_queue || (decides && escalated_from), decides, "queue of {}", actor.name);
                // Whoever may act sees the report.
                if !offered.is_empty() {
                    prop_assert_eq!(access::sight(actor, &report), access::Sight::Visible);
                }
            }
            // A pending state names the level of its current step.
            if let Some(step) = report.current_step() {
                prop_assert_eq!(step.level.pending_state(), report.state);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// From an approved report, any sequence of batch holds, releases, settlements and
    /// payments by hand, by anyone, pays it at most once: by hand only while no batch holds
    /// it, by a batch only the one that holds it, and never by its owner or an approver.
    #[test]
    fn a_report_is_paid_once_by_hand_or_by_the_batch_that_holds_it(
        steps in prop::collection::vec((0_usize..6, 0_usize..4, any::<bool>()), 1..30),
    ) {
        let w = world();
        let cast = [&w.owner, &w.manager, &w.senior, &w.finance, &w.payer, &w.outsider];
        let mut report = run(&draft(), &w.owner, submit("1500.00"));
        for approver in [&w.manager, &w.senior, &w.finance] {
            report = run(&report, approver, approve());
        }
        prop_assert_eq!(report.state, ReportState::Approved);
        let mut payments = 0;
        for (who, what, second) in steps {
            let command = match what {
                0 => Command::Hold(batch(second)),
                1 => Command::Release(batch(second)),
                2 => Command::Settle { batch: batch(second), reference: "ACH-1".into() },
                _ => Command::Pay { reference: "TX".into() },
            };
            let by_hand = matches!(command, Command::Pay { .. });
            let before = report.clone();
            match decide(cast[who], &w.owner, &report, command, now()) {
                Ok(next) => report = next,
                Err(_) => prop_assert_eq!(&report, &before),
            }
            if report.state == ReportState::Paid && before.state != ReportState::Paid {
                payments += 1;
                let payer = report.payment.as_ref().expect("a payment").by;
                prop_assert_ne!(payer, report.owner_id);
                prop_assert!(!report.deciders.contains(&payer), "an approver paid it");
                if by_hand {
                    prop_assert_eq!(before.batch_id, None, "paid by hand while a batch held it");
                } else {
                    prop_assert_eq!(before.batch_id, Some(batch(second)), "paid by a batch that did not hold it");
                }
            }
            if before.state == ReportState::Paid {
                prop_assert_eq!(&report, &before, "a paid report changed");
            }
            if report.batch_id != before.batch_id && report.batch_id.is_some() {
                prop_assert_ne!(cast[who].id, report.owner_id);
                prop_assert!(!report.deciders.contains(&cast[who].id), "an approver put it in a batch");
            }
        }
        prop_assert!(payments <= 1);
    }
}

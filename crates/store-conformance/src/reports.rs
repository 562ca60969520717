//! Reports: the lists by scope and state, in order, and versions.

use crate::fixtures::*;
use crate::prelude::*;

/// Reports: mine (newest first), the approvals queue (oldest submission first, finance
/// without its own and its approved ones), all (no drafts), state filters and versions.
pub async fn report_queries_follow_scope_state_and_order(store: Fresh) {
    let s: &dyn Store = store.as_ref();
    // 1 reports to 2 (manager); 3 is finance; 4 is finance and approved report 13 as manager.
    for u in [
        user(2, &[Role::Manager], None),
        user(1, &[], Some(2)),
        user(3, &[Role::Finance], None),
        user(4, &[Role::Finance, Role::Manager], None),
    ] {
        commit(s, put_user(&u)).await;
    }
    let step = |level, approver: Option<u128>, by: Option<u128>| Step {
        decision: by.map(|b| Decision {
            by: uid(b),
            outcome: Outcome::Approved,
            at: at(1),
            note: None,
        }),
        ..Step::new(level, approver.map(uid), "")
    };
    let mut pending_manager = report(11, 1, ReportState::PendingManager, 20);
    pending_manager.steps = vec![
        step(Level::Manager, Some(2), None),
        step(Level::Finance, None, None),
    ];
    let mut pending_finance = report(12, 1, ReportState::PendingFinance, 10);
    pending_finance.steps = vec![
        step(Level::Manager, Some(2), Some(2)),
        step(Level::Finance, None, None),
    ];
    let mut approved_by_4 = report(13, 1, ReportState::PendingFinance, 5);
    approved_by_4.steps = vec![
        step(Level::Manager, Some(4), Some(4)),
        step(Level::Finance, None, None),
    ];
    let mut finance_own = report(14, 3, ReportState::PendingFinance, 1);
    finance_own.steps = vec![step(Level::Finance, None, None)];
    let draft = report(15, 1, ReportState::Draft, 0);
    for r in [
        &pending_manager,
        &pending_finance,
        &approved_by_4,
        &finance_own,
        &draft,
    ] {
        commit(
            s,
            Change::one(
                Write::PutReport {
                    report: r.clone(),
                    expected_version: None,
                },
                audit("report.create", r.id),
            ),
        )
        .await;
    }
    let ids = |page: outlay_app::Page<Report>| {
        page.items
            .iter()
            .map(|r| r.id.as_uuid().as_u128())
            .collect::<Vec<_>>()
    };
    let all = PageRequest {
        limit: 50,
        cursor: None,
    };
    let query = |scope, state| ReportQuery { scope, state };

    assert_eq!(
        ids(s
            .reports(&query(ReportScope::Mine(uid(1)), None), &all)
            .await
            .expect("a page")),
        [15, 13, 12, 11]
    );
    assert_eq!(
        ids(s
            .reports(
                &query(ReportScope::Mine(uid(1)), Some(ReportState::Draft)),
                &all
            )
            .await
            .expect("a page")),
        [15]
    );
    assert_eq!(
        ids(s
            .reports(
                &query(
                    ReportScope::Approvals {
                        user: uid(2),
                        shared: vec![]
                    },
                    None
                ),
                &all
            )
            .await
            .expect("a page")),
        [11]
    );
    assert_eq!(
        ids(s
            .reports(
                &query(
                    ReportScope::Approvals {
                        user: uid(3),
                        shared: vec![outlay_domain::access::Queue::Finance]
                    },
                    None
                ),
                &all
            )
            .await
            .expect("a page")),
        [13, 12],
        "finance's queue: oldest submission first, never their own"
    );
    assert_eq!(
        ids(s
            .reports(
                &query(
                    ReportScope::Approvals {
                        user: uid(4),
                        shared: vec![outlay_domain::access::Queue::Finance]
                    },
                    None
                ),
                &all
            )
            .await
            .expect("a page")),
        [14, 12],
        "never a report they approved at an earlier level"
    );
    assert_eq!(
        ids(s
            .reports(&query(ReportScope::All, None), &all)
            .await
            .expect("a page")),
        [14, 13, 12, 11]
    );

    // Paging the queue one at a time gives the same order.
    let mut cursor = None;
    let mut seen = vec![];
    loop {
        let page = s
            .reports(
                &query(
                    ReportScope::Approvals {
                        user: uid(3),
                        shared: vec![outlay_domain::access::Queue::Finance],
                    },
                    None,
                ),
                &PageRequest { limit: 1, cursor },
            )
            .await
            .expect("a page");
        seen.extend(ids(page.clone()));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, [13, 12]);

    // Versions guard updates.
    let mut next = pending_manager.clone();
    next.steps[0] = step(Level::Manager, Some(2), Some(2));
    next.state = ReportState::PendingFinance;
    next.version = 2;
    let update = |v| {
        Change::one(
            Write::PutReport {
                report: next.clone(),
                expected_version: Some(v),
            },
            audit("report.approve", next.id),
        )
    };
    commit(s, update(1)).await;
    conflict(s, update(1), "a second update from the same version").await;
    assert_eq!(
        s.report(next.id).await.expect("read").map(|r| r.version),
        Some(2)
    );
    assert!(
        ids(s
            .reports(
                &query(
                    ReportScope::Approvals {
                        user: uid(2),
                        shared: vec![]
                    },
                    None
                ),
                &all
            )
            .await
            .expect("a page"))
        .is_empty()
    );

    // A routing rule's step for anyone with the manager role waits in that role's queue:
    // every manager takes it from there but whoever approved an earlier step.
    let mut for_managers = report(16, 1, ReportState::PendingReview, 30);
    for_managers.steps = vec![
        step(Level::Manager, Some(2), Some(2)),
        Step {
            role: Some(Role::Manager),
            ..Step::new(Level::Rule, None, "")
        },
        step(Level::Finance, None, None),
    ];
    commit(
        s,
        Change::one(
            Write::PutReport {
                report: for_managers.clone(),
                expected_version: None,
            },
            audit("report.create", for_managers.id),
        ),
    )
    .await;
    let queue_of = |user, shared| {
        query(
            ReportScope::Approvals {
                user: uid(user),
                shared,
            },
            None,
        )
    };
    use outlay_domain::access::Queue;
    assert_eq!(
        ids(s
            .reports(
                &queue_of(4, vec![Queue::Finance, Queue::Role(Role::Manager)]),
                &all
            )
            .await
            .expect("a page")),
        [14, 12, 11, 16],
        "finance's queue and the managers', merged oldest first"
    );
    assert!(
        ids(s
            .reports(&queue_of(2, vec![Queue::Role(Role::Manager)]), &all)
            .await
            .expect("a page"))
        .is_empty(),
        "not for the manager who approved the step before"
    );
}

//! Changes: all or nothing, only if what they read is unchanged, one at a time under
//! concurrency, and idempotency records written with them.

use crate::fixtures::*;
use crate::prelude::*;

/// Guards: a change commits only if every user, expense, report and the policy it was decided
/// on are still as read; otherwise nothing of it is written.
pub async fn a_change_commits_only_if_what_it_read_is_unchanged(store: Fresh) {
    let s: &dyn Store = store.as_ref();
    // GIVEN a user, an expense in a draft report, and no stored policy
    let u = user(1, &[], None);
    commit(s, put_user(&u)).await;
    let r = report(300, 1, ReportState::Draft, 0);
    let mut e = expense(100, 1);
    e.report_id = Some(r.id);
    commit(
        s,
        Change {
            guards: vec![Guard::Policy(None)],
            writes: vec![
                Write::PutReport {
                    report: r.clone(),
                    expected_version: None,
                },
                Write::PutExpense {
                    expense: e.clone(),
                    expected_version: None,
                },
            ],
            audit: vec![audit("report.create", r.id)],
            ..Change::default()
        },
    )
    .await;
    let note = |n: u128| Notification {
        id: uuid::Uuid::from_u128(n),
        user_id: u.id,
        report_id: None,
        event: "test".into(),
        title: "t".into(),
        body: "b".into(),
        created_at: at(n as i64),
        read_at: None,
    };
    let guarded = |guards: Vec<Guard>, n: u128| {
        Change::one(Write::AddNotification(note(n)), audit("note", n)).guarded(guards)
    };
    let read = vec![
        Guard::user(&u),
        Guard::expense(&e),
        Guard::report(&r),
        Guard::Policy(None),
    ];
    // WHEN everything read is unchanged THEN it commits
    commit(s, guarded(read.clone(), 1)).await;
    // WHEN any one of them changed in the meantime THEN nothing is written
    let mut moved = e.clone();
    moved.version = 2;
    commit(
        s,
        Change::one(
            Write::PutExpense {
                expense: moved,
                expected_version: Some(1),
            },
            audit("expense.update", e.id),
        ),
    )
    .await;
    conflict(s, guarded(read.clone(), 2), "a guard on a changed expense").await;
    let mut read = vec![Guard::user(&u), Guard::report(&r), Guard::Policy(None)];
    read.push(Guard::Expense {
        id: e.id,
        version: 2,
    });
    commit(s, guarded(read.clone(), 3)).await;
    let policy = outlay_app::default_policy();
    commit(
        s,
        Change::one(Write::PutPolicy(policy.clone()), audit("policy", "p")),
    )
    .await;
    conflict(
        s,
        guarded(read, 4),
        "a guard on a policy that was stored since",
    )
    .await;
    let now = vec![Guard::Policy(Some(Box::new(policy.clone())))];
    commit(s, guarded(now, 5)).await;
    let mut other = policy;
    other.max_age_days = Some(1);
    conflict(
        s,
        guarded(vec![Guard::Policy(Some(Box::new(other)))], 6),
        "a guard on another policy",
    )
    .await;
    conflict(
        s,
        guarded(
            vec![Guard::User {
                id: u.id,
                version: 7,
            }],
            7,
        ),
        "a guard on a user's old version",
    )
    .await;
    conflict(
        s,
        guarded(
            vec![Guard::Report {
                id: r.id,
                version: 9,
            }],
            8,
        ),
        "a guard on a report's other version",
    )
    .await;
    conflict(
        s,
        guarded(
            vec![Guard::User {
                id: uid(99),
                version: 1,
            }],
            9,
        ),
        "a guard on a user that does not exist",
    )
    .await;
    // AND a guard on an entity the change also writes is covered by the write's own condition
    let mut renamed = u.clone();
    renamed.name = "Renamed".into();
    renamed.version = 2;
    commit(
        s,
        Change::one(
            Write::PutUser {
                user: renamed,
                password_hash: None,
                expected_version: Some(1),
            },
            audit("user.update", u.id),
        )
        .guarded([Guard::user(&u)]),
    )
    .await;
    let page = s
        .notifications(
            u.id,
            &PageRequest {
                limit: 10,
                cursor: None,
            },
        )
        .await
        .expect("read");
    let mut ids: Vec<u128> = page.items.iter().map(|n| n.id.as_u128()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [1, 3, 5],
        "exactly the changes whose guards held were written"
    );
}

/// A change with one failing write leaves no trace: no writes, no audit events.
pub async fn a_change_commits_whole_or_not_at_all(store: Fresh) {
    let s: &dyn Store = store.as_ref();
    let u = user(1, &[], None);
    commit(s, put_user(&u)).await;
    let e = expense(10, 1);
    let mut stale = expense(11, 1);
    stale.version = 5;
    let change = Change {
        guards: vec![],
        writes: vec![
            Write::PutExpense {
                expense: e.clone(),
                expected_version: None,
            },
            Write::PutExpense {
                expense: stale,
                expected_version: Some(4),
            },
        ],
        audit: vec![audit("expense.create", e.id), audit("expense.update", "11")],
        idempotency: None,
        outbox: vec![],
    };
    conflict(s, change, "a change with a stale write").await;
    assert_eq!(
        s.expense(e.id).await.expect("read"),
        None,
        "the first write was rolled back"
    );
    assert_eq!(
        s.audit_page(0, 100).await.expect("read").len(),
        1,
        "no audit event was appended"
    );
}

/// Many changes at once (which a store may write together, as SQLite's group commit does): each
/// commits whole or not at all on its own, a failing one spoils none of the others, and the
/// audit chain holds exactly the events of those that committed.
pub async fn concurrent_changes_commit_or_fail_each_on_its_own(store: Fresh) {
    let u = user(1, &[], None);
    commit(store.as_ref(), put_user(&u)).await;
    // GIVEN 48 changes at once, every third of them doomed by a stale second write
    let doomed = |n: u128| n.is_multiple_of(3);
    let tasks: Vec<_> = (100..148u128)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let e = expense(n, 1);
                let mut writes = vec![Write::PutExpense {
                    expense: e.clone(),
                    expected_version: None,
                }];
                if doomed(n) {
                    let mut stale = expense(n + 1000, 1);
                    stale.version = 5;
                    writes.push(Write::PutExpense {
                        expense: stale,
                        expected_version: Some(4),
                    });
                }
                let change = Change {
                    guards: vec![Guard::user(&user(1, &[], None))],
                    writes,
                    audit: vec![audit("expense.create", e.id)],
                    idempotency: None,
                    outbox: vec![],
                };
                (n, store.commit(change).await)
            })
        })
        .collect();
    // WHEN they have all been answered
    let mut committed = 0;
    for task in tasks {
        let (n, result) = task.await.expect("the task ran");
        let id = ExpenseId::from_uuid(uuid::Uuid::from_u128(n));
        let stored = store.expense(id).await.expect("read");
        // THEN each doomed change failed alone and left nothing; every other one is there
        if doomed(n) {
            assert!(
                matches!(result, Err(StoreError::Conflict(_))),
                "change {n}: {result:?}"
            );
            assert_eq!(stored, None, "change {n}'s first write was rolled back");
        } else {
            assert!(result.is_ok(), "change {n}: {result:?}");
            assert!(
                stored.is_some(),
                "change {n} was acknowledged but not stored"
            );
            committed += 1;
        }
    }
    // AND the chain holds the user's event and one per committed change, verifiably
    let events = store.audit_page(0, 1000).await.expect("read");
    assert_eq!(
        events.len(),
        1 + committed,
        "one event per committed change"
    );
    let mut v = ChainVerifier::default();
    for e in &events {
        v.push(e).expect("each event verifies");
    }
}

/// The idempotency record commits with its change; a second use of the key conflicts and
/// writes nothing.
pub async fn idempotency_records_are_written_with_their_change_once(store: Fresh) {
    let s: &dyn Store = store.as_ref();
    commit(s, put_user(&user(1, &[], None))).await;
    let record = IdempotencyRecord {
        user_id: uid(1),
        key: "k1".into(),
        fingerprint: "f".into(),
        response: "{\"a\":1}".into(),
        created_at: at(5),
    };
    let mut change = Change::one(
        Write::PutExpense {
            expense: expense(20, 1),
            expected_version: None,
        },
        audit("expense.create", 20),
    );
    change.idempotency = Some(record.clone());
    commit(s, change).await;
    assert_eq!(
        s.idempotency(uid(1), "k1").await.expect("read"),
        Some(record.clone())
    );
    assert_eq!(
        s.idempotency(uid(2), "k1").await.expect("read"),
        None,
        "keys are per user"
    );
    let mut again = Change::one(
        Write::PutExpense {
            expense: expense(21, 1),
            expected_version: None,
        },
        audit("expense.create", 21),
    );
    again.idempotency = Some(record);
    conflict(s, again, "a reused idempotency key").await;
    assert_eq!(
        s.expense(ExpenseId::from_uuid(uuid::Uuid::from_u128(21)))
            .await
            .expect("read"),
        None
    );
}

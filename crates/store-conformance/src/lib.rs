//! The store conformance suite: the behaviour every [`Store`] must have, written once and run
//! against each adapter (SQLite always; PostgreSQL and DynamoDB where their servers run).
//!
//! Each check takes a fresh, empty store and panics with a message on the first difference.

pub mod moto;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use outlay_app::{
    Change, Channel, Guard, IdempotencyRecord, Notification, Outbox, OutboxMessage, PageRequest,
    ReportQuery, ReportScope, Store, StoreError, Write,
};
use outlay_domain::{
    AuditRecord, ChainVerifier, Currency, Decision, Email, Expense, ExpenseDetails, ExpenseId,
    Level, Money, Outcome, Report, ReportId, ReportState, Role, Step, User, UserId,
};

/// A store with its outbox, as every adapter provides.
pub trait FullStore: Store + Outbox {}
impl<T: Store + Outbox> FullStore for T {}

/// A future answering a fresh store.
pub type FreshStore =
    std::pin::Pin<Box<dyn std::future::Future<Output = Arc<dyn FullStore>> + Send>>;

/// Makes a fresh empty store for each check.
pub type Fresh<'a> = &'a (dyn Fn() -> FreshStore + Sync);

/// Runs every check, each on a fresh store.
pub async fn run_all(fresh: Fresh<'_>) {
    users_are_unique_by_email_and_versioned(fresh().await).await;
    a_change_commits_whole_or_not_at_all(fresh().await).await;
    audit_events_form_a_verifiable_chain(fresh().await).await;
    idempotency_records_are_written_with_their_change_once(fresh().await).await;
    expenses_page_newest_first_and_honour_versions(fresh().await).await;
    report_queries_follow_scope_state_and_order(fresh().await).await;
    the_policy_round_trips(fresh().await).await;
    receipts_rates_and_duplicates(fresh().await).await;
    notifications_and_the_outbox(fresh().await).await;
    shared_secrets_are_written_once(fresh().await).await;
    a_change_commits_only_if_what_it_read_is_unchanged(fresh().await).await;
    concurrent_changes_commit_or_fail_each_on_its_own(fresh().await).await;
}

/// Guards: a change commits only if every user, expense, report and the policy it was decided
/// on are still as read; otherwise nothing of it is written.
pub async fn a_change_commits_only_if_what_it_read_is_unchanged(store: Arc<dyn FullStore>) {
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

/// The first secret stored under a name is the one every later caller gets.
pub async fn shared_secrets_are_written_once(store: Arc<dyn FullStore>) {
    let first = store
        .shared_secret("session-key", &[1; 32])
        .await
        .expect("stores a secret");
    assert_eq!(first, vec![1; 32]);
    let again = store
        .shared_secret("session-key", &[2; 32])
        .await
        .expect("reads the secret");
    assert_eq!(
        again,
        vec![1; 32],
        "a second candidate does not replace the first"
    );
    let other = store
        .shared_secret("upload-key", &[3; 16])
        .await
        .expect("stores another secret");
    assert_eq!(other, vec![3; 16]);
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_760_000_000 + seconds, 0).expect("a valid time")
}

fn uid(n: u128) -> UserId {
    UserId::from_uuid(uuid::Uuid::from_u128(n))
}

fn user(n: u128, roles: &[Role], manager: Option<u128>) -> User {
    User {
        id: uid(n),
        email: Email::parse(&format!("user{n}@example.com")).expect("valid"),
        name: format!("User {n}"),
        roles: roles.iter().copied().chain([Role::Employee]).collect(),
        manager_id: manager.map(uid),
        active: true,
        version: 1,
        controllers: Default::default(),
        signed_out_at: None,
    }
}

fn audit(action: &str, id: impl ToString) -> AuditRecord {
    AuditRecord {
        at: at(0),
        actor_id: None,
        action: action.into(),
        entity_kind: action.split('.').next().unwrap_or("x").into(),
        entity_id: id.to_string(),
        source: Some("test".into()),
        before: None,
        after: Some("{}".into()),
    }
}

fn put_user(u: &User) -> Change {
    Change::one(
        Write::PutUser {
            user: u.clone(),
            password_hash: Some(format!("hash-{}", u.id)),
            expected_version: None,
        },
        audit("user.create", u.id),
    )
}

fn usd(s: &str) -> Money {
    Money::parse(s, Currency::parse("USD").expect("USD")).expect("valid amount")
}

fn expense(n: u128, owner: u128) -> Expense {
    Expense {
        id: ExpenseId::from_uuid(uuid::Uuid::from_u128(n)),
        owner_id: uid(owner),
        details: ExpenseDetails::new(at(0).date_naive(), "Cafe", "meals", "", usd("10.00"))
            .expect("valid"),
        base_amount: Some(usd("10.00")),
        exchange_rate: Some("1".into()),
        report_id: None,
        justification: None,
        version: 1,
        created_at: at(n as i64),
        updated_at: at(n as i64),
    }
}

fn report(n: u128, owner: u128, state: ReportState, submitted: i64) -> Report {
    Report {
        id: ReportId::from_uuid(uuid::Uuid::from_u128(n)),
        owner_id: uid(owner),
        title: format!("Report {n}"),
        purpose: String::new(),
        state,
        version: 1,
        total: Some(usd("10.00")),
        steps: vec![],
        submissions: u32::from(state != ReportState::Draft),
        submitted_at: (state != ReportState::Draft).then(|| at(submitted)),
        rejection_reason: None,
        payment: None,
        deciders: BTreeSet::new(),
        created_at: at(0),
        updated_at: at(0),
    }
}

async fn commit(store: &dyn Store, change: Change) {
    store.commit(change).await.expect("the change commits");
}

async fn conflict(store: &dyn Store, change: Change, what: &str) {
    match store.commit(change).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("{what}: expected a conflict, got {other:?}"),
    }
}

/// Users: by id and email, unique emails, optimistic versions, password hashes kept.
pub async fn users_are_unique_by_email_and_versioned(store: Arc<dyn FullStore>) {
    let s: &dyn Store = store.as_ref();
    let u = user(1, &[Role::Manager], None);
    commit(s, put_user(&u)).await;
    assert_eq!(s.user(u.id).await.expect("read"), Some(u.clone()));
    assert_eq!(
        s.user_by_email(&u.email).await.expect("read"),
        Some(u.clone())
    );
    assert_eq!(
        s.password_hash(u.id).await.expect("read"),
        Some(format!("hash-{}", u.id))
    );
    let mut twin = user(2, &[], None);
    twin.email = u.email.clone();
    conflict(s, put_user(&twin), "a second user with the same email").await;
    assert_eq!(s.user(twin.id).await.expect("read"), None);

    let mut renamed = u.clone();
    renamed.name = "Renamed".into();
    renamed.version = 2;
    let update = |expected| {
        Change::one(
            Write::PutUser {
                user: renamed.clone(),
                password_hash: None,
                expected_version: Some(expected),
            },
            audit("user.update", u.id),
        )
    };
    conflict(s, update(7), "an update from a stale version").await;
    commit(s, update(1)).await;
    assert_eq!(
        s.user(u.id).await.expect("read").map(|u| u.name),
        Some("Renamed".into())
    );
    assert_eq!(
        s.password_hash(u.id).await.expect("read"),
        Some(format!("hash-{}", u.id)),
        "a missing hash keeps the old one"
    );

    for n in 3..8 {
        commit(s, put_user(&user(n, &[], None))).await;
    }
    let first = s
        .users(&PageRequest {
            limit: 4,
            cursor: None,
        })
        .await
        .expect("a page");
    assert_eq!(first.items.len(), 4);
    let rest = s
        .users(&PageRequest {
            limit: 4,
            cursor: first.next_cursor.clone(),
        })
        .await
        .expect("a page");
    assert_eq!(rest.items.len(), 2);
    assert_eq!(rest.next_cursor, None);
    let emails: Vec<_> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|u| u.email.as_str().to_owned())
        .collect();
    let mut sorted = emails.clone();
    sorted.sort();
    assert_eq!(emails, sorted, "users are listed by email");
}

/// A change with one failing write leaves no trace: no writes, no audit events.
pub async fn a_change_commits_whole_or_not_at_all(store: Arc<dyn FullStore>) {
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
pub async fn concurrent_changes_commit_or_fail_each_on_its_own(store: Arc<dyn FullStore>) {
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

/// Events are numbered from 1, chained, verifiable, and found by entity.
pub async fn audit_events_form_a_verifiable_chain(store: Arc<dyn FullStore>) {
    let s: &dyn Store = store.as_ref();
    for n in 1..=5 {
        commit(s, put_user(&user(n, &[], None))).await;
    }
    let events = s.audit_page(0, 3).await.expect("a page");
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    let rest = s.audit_page(3, 100).await.expect("a page");
    assert_eq!(rest.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);
    let mut v = ChainVerifier::default();
    for e in events.iter().chain(&rest) {
        v.push(e).expect("each event verifies");
    }
    assert_eq!(v.checked(), 5);
    let of_3 = s.audit_of("user", &uid(3).to_string()).await.expect("read");
    assert_eq!(of_3.len(), 1);
    assert_eq!(of_3[0].record, audit("user.create", uid(3)));
}

/// The idempotency record commits with its change; a second use of the key conflicts and
/// writes nothing.
pub async fn idempotency_records_are_written_with_their_change_once(store: Arc<dyn FullStore>) {
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

/// Expenses: newest first, paged, attached to reports, versioned updates and deletes.
pub async fn expenses_page_newest_first_and_honour_versions(store: Arc<dyn FullStore>) {
    let s: &dyn Store = store.as_ref();
    commit(s, put_user(&user(1, &[], None))).await;
    commit(s, put_user(&user(2, &[], None))).await;
    for n in 100..105 {
        commit(
            s,
            Change::one(
                Write::PutExpense {
                    expense: expense(n, 1),
                    expected_version: None,
                },
                audit("expense.create", n),
            ),
        )
        .await;
    }
    commit(
        s,
        Change::one(
            Write::PutExpense {
                expense: expense(200, 2),
                expected_version: None,
            },
            audit("expense.create", 200),
        ),
    )
    .await;
    let page = s
        .expenses_of_owner(
            uid(1),
            &PageRequest {
                limit: 3,
                cursor: None,
            },
        )
        .await
        .expect("a page");
    let ids: Vec<u128> = page
        .items
        .iter()
        .map(|e| e.id.as_uuid().as_u128())
        .collect();
    assert_eq!(ids, [104, 103, 102]);
    let next = s
        .expenses_of_owner(
            uid(1),
            &PageRequest {
                limit: 3,
                cursor: page.next_cursor,
            },
        )
        .await
        .expect("a page");
    assert_eq!(
        next.items
            .iter()
            .map(|e| e.id.as_uuid().as_u128())
            .collect::<Vec<_>>(),
        [101, 100]
    );
    assert_eq!(next.next_cursor, None);
    assert!(matches!(
        s.expenses_of_owner(
            uid(1),
            &PageRequest {
                limit: 3,
                cursor: Some("not a cursor".into())
            }
        )
        .await,
        Err(StoreError::BadCursor)
    ));

    let r = report(300, 1, ReportState::Draft, 0);
    let mut attached = expense(100, 1);
    attached.report_id = Some(r.id);
    attached.version = 2;
    commit(
        s,
        Change {
            guards: vec![],
            writes: vec![
                Write::PutReport {
                    report: r.clone(),
                    expected_version: None,
                },
                Write::PutExpense {
                    expense: attached.clone(),
                    expected_version: Some(1),
                },
            ],
            audit: vec![audit("report.create", r.id)],
            idempotency: None,
            outbox: vec![],
        },
    )
    .await;
    assert_eq!(
        s.expenses_of_report(r.id).await.expect("read"),
        vec![attached.clone()]
    );
    assert_eq!(s.report(r.id).await.expect("read"), Some(r));
    let delete = |v| {
        Change::one(
            Write::DeleteExpense {
                id: attached.id,
                expected_version: v,
            },
            audit("expense.delete", 100),
        )
    };
    conflict(s, delete(1), "a delete from a stale version").await;
    commit(s, delete(2)).await;
    assert_eq!(s.expense(attached.id).await.expect("read"), None);
}

/// Reports: mine (newest first), the approvals queue (oldest submission first, finance
/// without its own and its approved ones), all (no drafts), state filters and versions.
pub async fn report_queries_follow_scope_state_and_order(store: Arc<dyn FullStore>) {
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
        level,
        approver_id: approver.map(uid),
        decision: by.map(|b| Decision {
            by: uid(b),
            outcome: Outcome::Approved,
            at: at(1),
            note: None,
        }),
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
    let finance_own = report(14, 3, ReportState::PendingFinance, 1);
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
                        finance: false
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
                        finance: true
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
                        finance: true
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
                        finance: true,
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
                        finance: false
                    },
                    None
                ),
                &all
            )
            .await
            .expect("a page"))
        .is_empty()
    );
}

/// The policy is absent at first, then what was put.
pub async fn the_policy_round_trips(store: Arc<dyn FullStore>) {
    let s: &dyn Store = store.as_ref();
    assert_eq!(s.policy().await.expect("read"), None);
    let mut policy = outlay_app::default_policy();
    commit(
        s,
        Change::one(
            Write::PutPolicy(policy.clone()),
            audit("policy.create", "company"),
        ),
    )
    .await;
    assert_eq!(s.policy().await.expect("read"), Some(policy.clone()));
    policy.max_age_days = Some(30);
    commit(
        s,
        Change::one(
            Write::PutPolicy(policy.clone()),
            audit("policy.update", "company"),
        ),
    )
    .await;
    assert_eq!(s.policy().await.expect("read"), Some(policy));
}

/// Receipts by expense, duplicate detection, and rates by nearest earlier day.
pub async fn receipts_rates_and_duplicates(store: Arc<dyn FullStore>) {
    let s: &dyn Store = store.as_ref();
    commit(s, put_user(&user(1, &[], None))).await;
    let e = expense(30, 1);
    commit(
        s,
        Change::one(
            Write::PutExpense {
                expense: e.clone(),
                expected_version: None,
            },
            audit("expense.create", 30),
        ),
    )
    .await;
    let mut receipt = outlay_domain::Receipt {
        id: outlay_domain::ReceiptId::from_uuid(uuid::Uuid::from_u128(40)),
        expense_id: e.id,
        owner_id: uid(1),
        state: outlay_domain::ReceiptState::Pending,
        content_type: outlay_domain::ReceiptType::Png,
        size: 10,
        sha256: None,
        filename: "r.png".into(),
        created_at: at(1),
    };
    commit(
        s,
        Change::one(
            Write::PutReceipt {
                receipt: receipt.clone(),
                expected: None,
            },
            audit("receipt.attach", 40),
        ),
    )
    .await;
    receipt.state = outlay_domain::ReceiptState::Stored;
    receipt.sha256 = Some("ab".into());
    let complete = Change::one(
        Write::PutReceipt {
            receipt: receipt.clone(),
            expected: Some(outlay_domain::ReceiptState::Pending),
        },
        audit("receipt.attach", 40),
    );
    commit(s, complete.clone()).await;
    // A second completion of the same upload finds it no longer pending.
    conflict(
        s,
        complete,
        "a receipt update based on a state it no longer has",
    )
    .await;
    assert_eq!(
        s.receipt(receipt.id).await.expect("read"),
        Some(receipt.clone())
    );
    assert_eq!(
        s.receipts_of_expense(e.id).await.expect("read"),
        vec![receipt.clone()]
    );
    // A page's receipts at once: in the order asked, repeats and expenses without any included
    let none = ExpenseId::from_uuid(uuid::Uuid::from_u128(99));
    assert_eq!(
        s.receipts_of_expenses(&[none, e.id, e.id])
            .await
            .expect("read"),
        vec![vec![], vec![receipt.clone()], vec![receipt.clone()]]
    );
    assert!(s.receipts_of_expenses(&[]).await.expect("read").is_empty());
    commit(
        s,
        Change::one(
            Write::DeleteReceipt(receipt.id),
            audit("receipt.delete", 40),
        ),
    )
    .await;
    assert!(s.receipts_of_expense(e.id).await.expect("read").is_empty());

    assert!(
        !s.has_duplicate(&e).await.expect("read"),
        "an expense is no duplicate of itself"
    );
    let mut twin = expense(31, 1);
    twin.details =
        ExpenseDetails::new(e.details.date(), "  CAFE ", "meals", "", usd("10.00")).expect("valid");
    commit(
        s,
        Change::one(
            Write::PutExpense {
                expense: twin.clone(),
                expected_version: None,
            },
            audit("expense.create", 31),
        ),
    )
    .await;
    assert!(s.has_duplicate(&e).await.expect("read"));
    assert!(s.has_duplicate(&twin).await.expect("read"));
    let mut other_day = expense(32, 1);
    other_day.details = ExpenseDetails::new(
        e.details.date().succ_opt().expect("a day"),
        "Cafe",
        "meals",
        "",
        usd("10.00"),
    )
    .expect("valid");
    assert!(!s.has_duplicate(&other_day).await.expect("read"));
    assert_eq!(
        s.have_duplicates(&[other_day.clone(), e.clone(), twin.clone()])
            .await
            .expect("read"),
        vec![false, true, true],
        "the duplicates of a page at once, in its order"
    );

    let eur = Currency::parse("EUR").expect("EUR");
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 3, d).expect("a day");
    let rate = |d: u32, r: &str| outlay_domain::ExchangeRate {
        date: day(d),
        currency: eur,
        rate: outlay_domain::Rate::parse(r).expect("a rate"),
    };
    commit(
        s,
        Change::one(
            Write::PutRates(vec![rate(1, "1.1"), rate(5, "1.2")]),
            audit("exchange_rates.put", "USD"),
        ),
    )
    .await;
    commit(
        s,
        Change::one(
            Write::PutRates(vec![rate(5, "1.25")]),
            audit("exchange_rates.put", "USD"),
        ),
    )
    .await;
    assert_eq!(
        s.rate_on_or_before(eur, day(4)).await.expect("read"),
        Some(rate(1, "1.1"))
    );
    assert_eq!(
        s.rate_on_or_before(eur, day(9)).await.expect("read"),
        Some(rate(5, "1.25")),
        "the same day is replaced"
    );
    assert_eq!(
        s.rate_on_or_before(
            eur,
            chrono::NaiveDate::from_ymd_opt(2026, 2, 28).expect("a day")
        )
        .await
        .expect("read"),
        None
    );
    assert_eq!(
        s.rates(10).await.expect("read"),
        vec![rate(5, "1.25"), rate(1, "1.1")]
    );
}

/// In-app notifications with read marks; outbox messages due, delivered, retried and dead.
pub async fn notifications_and_the_outbox(store: Arc<dyn FullStore>) {
    let s: &dyn Store = store.as_ref();
    let o: &dyn Outbox = store.as_ref();
    commit(s, put_user(&user(1, &[Role::Finance], None))).await;
    commit(s, put_user(&user(2, &[], None))).await;
    assert_eq!(
        s.users_with_role(Role::Finance)
            .await
            .expect("read")
            .iter()
            .map(|u| u.id)
            .collect::<Vec<_>>(),
        [uid(1)]
    );
    // A role granted and taken, and a holder deactivated, show in the next read.
    let update = |u: User| {
        let mut next = u.clone();
        next.version += 1;
        Change::one(
            Write::PutUser {
                user: next,
                password_hash: None,
                expected_version: Some(u.version),
            },
            audit("user.update", u.id),
        )
    };
    commit(s, update(user(2, &[Role::Finance, Role::Admin], None))).await;
    commit(s, update(user(1, &[], None))).await;
    let holders = |role| async move {
        s.users_with_role(role)
            .await
            .expect("read")
            .iter()
            .map(|u| u.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(holders(Role::Finance).await, [uid(2)]);
    assert_eq!(holders(Role::Admin).await, [uid(2)]);
    let mut inactive = user(2, &[Role::Finance, Role::Admin], None);
    inactive.version = 2;
    inactive.active = false;
    commit(s, update(inactive)).await;
    assert!(holders(Role::Finance).await.is_empty());
    let mut regranted = user(1, &[Role::Finance], None);
    regranted.version = 2;
    commit(s, update(regranted)).await;
    assert_eq!(holders(Role::Finance).await, [uid(1)]);
    let note = |n: u128| Notification {
        id: uuid::Uuid::from_u128(n),
        user_id: uid(1),
        report_id: None,
        event: "report.submitted".into(),
        title: format!("note {n}"),
        body: String::new(),
        created_at: at(n as i64),
        read_at: None,
    };
    let message = |n: u128, after: i64| OutboxMessage {
        id: uuid::Uuid::from_u128(n),
        channel: Channel::Email,
        recipient: "a@example.com".into(),
        subject: format!("m{n}"),
        body: String::new(),
        digest: false,
        created_at: at(0),
        deliver_after: at(after),
        attempts: 0,
    };
    let change = Change {
        writes: vec![
            Write::AddNotification(note(1)),
            Write::AddNotification(note(2)),
        ],
        outbox: vec![message(10, 0), message(11, 100)],
        ..Change::default()
    };
    commit(s, change).await;
    let page = s
        .notifications(
            uid(1),
            &PageRequest {
                limit: 10,
                cursor: None,
            },
        )
        .await
        .expect("read");
    assert_eq!(
        page.items
            .iter()
            .map(|n| n.title.as_str())
            .collect::<Vec<_>>(),
        ["note 2", "note 1"]
    );
    assert_eq!(s.unread_notifications(uid(1)).await.expect("read"), 2);
    assert_eq!(s.unread_notifications(uid(2)).await.expect("read"), 0);
    let read = Write::ReadNotifications {
        user: uid(1),
        ids: Some(vec![uuid::Uuid::from_u128(1)]),
        at: at(5),
    };
    commit(
        s,
        Change {
            writes: vec![read],
            ..Change::default()
        },
    )
    .await;
    assert_eq!(s.unread_notifications(uid(1)).await.expect("read"), 1);

    assert_eq!(
        o.due(at(50), 10)
            .await
            .expect("read")
            .iter()
            .map(|m| m.subject.as_str())
            .collect::<Vec<_>>(),
        ["m10"]
    );
    assert_eq!(o.stats().await.expect("read").pending, 2);
    o.failed(uuid::Uuid::from_u128(10), 1, Some(at(200)), "refused")
        .await
        .expect("recorded");
    assert!(
        o.due(at(150), 10)
            .await
            .expect("read")
            .iter()
            .all(|m| m.subject != "m10"),
        "waits for its retry"
    );
    let due = o.due(at(250), 10).await.expect("read");
    assert_eq!(
        due.iter()
            .map(|m| (m.subject.as_str(), m.attempts))
            .collect::<Vec<_>>(),
        [("m11", 0), ("m10", 1)]
    );
    o.delivered(&[uuid::Uuid::from_u128(11)], at(251))
        .await
        .expect("recorded");
    o.failed(uuid::Uuid::from_u128(10), 2, None, "gave up")
        .await
        .expect("recorded");
    assert!(o.due(at(10_000), 10).await.expect("read").is_empty());
    let stats = o.stats().await.expect("read");
    assert_eq!((stats.pending, stats.dead, stats.oldest), (0, 1, None));
}

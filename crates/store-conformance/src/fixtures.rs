//! The small builders and assertions every check uses.

use crate::prelude::*;

pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_760_000_000 + seconds, 0).expect("a valid time")
}

pub(crate) fn uid(n: u128) -> UserId {
    UserId::from_uuid(uuid::Uuid::from_u128(n))
}

pub(crate) fn user(n: u128, roles: &[Role], manager: Option<u128>) -> User {
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
        time_zone: None,
        delegation: None,
        home_cost_centre: None,
    }
}

pub(crate) fn audit(action: &str, id: impl ToString) -> AuditRecord {
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

pub(crate) fn put_user(u: &User) -> Change {
    Change::one(
        Write::PutUser {
            user: u.clone(),
            password_hash: Some(format!("hash-{}", u.id)),
            expected_version: None,
        },
        audit("user.create", u.id),
    )
}

pub(crate) fn usd(s: &str) -> Money {
    Money::parse(s, Currency::parse("USD").expect("USD")).expect("valid amount")
}

pub(crate) fn expense(n: u128, owner: u128) -> Expense {
    Expense {
        id: ExpenseId::from_uuid(uuid::Uuid::from_u128(n)),
        owner_id: uid(owner),
        details: ExpenseDetails::new(at(0).date_naive(), "Cafe", "meals", "", usd("10.00"))
            .expect("valid"),
        base_amount: Some(usd("10.00")),
        exchange_rate: Some("1".into()),
        report_id: None,
        justification: None,
        rejection: None,
        allocation: None,
        claim: None,
        tax: None,
        draft: false,
        version: 1,
        created_at: at(n as i64),
        updated_at: at(n as i64),
    }
}

pub(crate) fn report(n: u128, owner: u128, state: ReportState, submitted: i64) -> Report {
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
        policy_version: None,
        senior_threshold: None,
        batch_id: None,
        advance_applied: None,
        created_at: at(0),
        updated_at: at(0),
    }
}

pub(crate) async fn commit(store: &dyn Store, change: Change) {
    store.commit(change).await.expect("the change commits");
}

pub(crate) async fn conflict(store: &dyn Store, change: Change, what: &str) {
    match store.commit(change).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("{what}: expected a conflict, got {other:?}"),
    }
}

//! Users, the holders of each role, and the shared secrets.

use crate::fixtures::*;
use crate::prelude::*;

/// Users: by id and email, unique emails, optimistic versions, password hashes kept.
pub async fn users_are_unique_by_email_and_versioned(store: Fresh) {
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
    renamed.time_zone = Some(outlay_domain::TimeZone::parse("Asia/Kolkata").expect("a zone"));
    let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 12, d).expect("a day");
    renamed.delegation = Some(outlay_domain::Delegation {
        delegate_id: user(3, &[], None).id,
        from: day(20),
        until: day(31),
        set_by: Some(user(4, &[], None).id),
    });
    renamed.home_cost_centre = Some("ENG-2".into());
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
        s.user(u.id).await.expect("read"),
        Some(renamed.clone()),
        "the new name, time zone and delegation, read back whole"
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

/// The first secret stored under a name is the one every later caller gets.
pub async fn shared_secrets_are_written_once(store: Fresh) {
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

/// The holders of a role: a role granted or taken, and a holder deactivated, show in the next
/// read.
pub async fn role_holders_follow_grants_and_deactivation(store: Fresh) {
    let s: &dyn Store = store.as_ref();
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
}

//! What the PostgreSQL store promises beyond the conformance suite: the audit trail is
//! append-only in the database itself, for the application's role and for the tables' owner;
//! the application's role can do everything else a change needs; migrations run twice harmlessly.

use outlay_app::{Change, Store, Write};
use outlay_domain::{AuditRecord, ChainVerifier, Email, Role, User, UserId};
use outlay_store_postgres::PgStore;
use outlay_test_support::postgres::PgDatabase;
use sqlx::Connection;

fn at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_750_000_000, 0).expect("a time")
}

fn new_user(n: u128) -> Change {
    let user = User {
        id: UserId::from_uuid(uuid::Uuid::from_u128(n)),
        email: Email::parse(&format!("u{n}@example.com")).expect("an email"),
        name: format!("User {n}"),
        roles: [Role::Employee].into(),
        manager_id: None,
        active: true,
        version: 1,
        controllers: Default::default(),
        signed_out_at: None,
        time_zone: None,
        delegation: None,
        home_cost_centre: None,
    };
    Change::one(
        Write::PutUser {
            user,
            password_hash: None,
            expected_version: None,
        },
        AuditRecord {
            at: at(),
            actor_id: None,
            action: "user.create".into(),
            entity_kind: "user".into(),
            entity_id: n.to_string(),
            source: None,
            before: None,
            after: Some("{}".into()),
        },
    )
}

/// The error text of a statement that must fail.
async fn refused(conn: &mut sqlx::PgConnection, sql: &str) -> String {
    match sqlx::query(sql).execute(&mut *conn).await {
        Ok(done) => panic!("`{sql}` was allowed ({} rows)", done.rows_affected()),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: `bash .ci/run` runs it (cargo test -- --include-ignored)"]
async fn the_audit_trail_is_append_only_for_the_application_role_and_the_owner() {
    let db = PgDatabase::create("the append-only audit trail").await;
    PgStore::open(&db.url)
        .await
        .expect("migrated")
        .pool()
        .close()
        .await;

    // The application signs in as a login role that is a member of `outlay_app`.
    let login = format!(
        "outlay_t_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let mut owner = sqlx::PgConnection::connect(&db.url)
        .await
        .expect("connects");
    sqlx::query(&format!("CREATE ROLE {login} LOGIN IN ROLE outlay_app"))
        .execute(&mut owner)
        .await
        .expect("the login role is created");
    let app_url = db.url.replacen("postgres@", &format!("{login}@"), 1);
    assert_ne!(app_url, db.url, "the test URL names the user postgres");

    // Everything a change needs works as the application's role.
    let store = PgStore::connect(&app_url)
        .await
        .expect("connects as the app");
    store.commit(new_user(1)).await.expect("a change commits");
    store
        .commit(new_user(2))
        .await
        .expect("a second change commits");
    let events = store.audit_page(0, 10).await.expect("read");
    assert_eq!(events.len(), 2);
    let mut verifier = ChainVerifier::default();
    for e in &events {
        verifier.push(e).expect("the chain verifies");
    }

    // The application's role may read and append, never rewrite.
    let mut app = sqlx::PgConnection::connect(&app_url)
        .await
        .expect("connects");
    for sql in [
        "UPDATE audit_events SET action = 'user.delete' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 2",
        "TRUNCATE audit_events",
    ] {
        let e = refused(&mut app, sql).await;
        assert!(e.contains("permission denied"), "{sql}: {e}");
    }
    // The tables' owner is refused by the triggers.
    for sql in [
        "UPDATE audit_events SET action = 'user.delete' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 2",
        "TRUNCATE audit_events",
    ] {
        let e = refused(&mut owner, sql).await;
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    // Nor move the chain's head, or append an event that does not follow it.
    let e = refused(&mut app, "UPDATE audit_head SET seq = 0, hash = NULL").await;
    assert!(e.contains("permission denied"), "{e}");
    let forged = format!(
        "INSERT INTO audit_events (seq, at, action, entity_kind, entity_id, prev_hash, hash)
         VALUES ({}, now(), 'user.delete', 'user', '1', '{}', 'x')",
        events.len() + 2,
        events.last().expect("an event").hash
    );
    let e = refused(&mut app, &forged).await;
    assert!(e.contains("does not follow the head"), "{e}");
    let forked = format!(
        "INSERT INTO audit_events (seq, at, action, entity_kind, entity_id, prev_hash, hash)
         VALUES ({}, now(), 'user.delete', 'user', '1', '{}', 'x')",
        events.len() + 1,
        events[0].hash
    );
    let e = refused(&mut app, &forked).await;
    assert!(e.contains("does not follow the head"), "{e}");
    store
        .commit(new_user(3))
        .await
        .expect("the chain goes on after the refusals");
    let still = store.audit_page(0, 10).await.expect("read");
    assert_eq!(&still[..2], &events[..], "nothing of the trail changed");
    assert_eq!(still.len(), 3);

    store.pool().close().await;
    let _ = app.close().await;
    sqlx::query(&format!("DROP ROLE {login}"))
        .execute(&mut owner)
        .await
        .expect("the login role is dropped");
    // Migrating again changes nothing and fails nothing.
    PgStore::open(&db.url).await.expect("migrated again");
}

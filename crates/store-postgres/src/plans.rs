//! Every list query reads through an index, so a page costs the same at any size of the table.
//! Each is EXPLAINed on a migrated database with sequential scans turned off: a plan that still
//! scans a table has no index it could use.

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::reads::{
    ALL_REPORTS, ALL_REPORTS_IN_STATE, EXPENSES_OF_OWNER, NOTIFICATIONS_OF_USER, RATES,
    REPORTS_DECIDED_BY, REPORTS_OF_OWNER, approvals,
};

/// The plan of `$sql` with these parameters, one line per node.
macro_rules! explain {
    ($conn:expr, $sql:expr $(, $bind:expr)*) => {{
        let text = format!("EXPLAIN {}", $sql);
        let rows = sqlx::query(&text)
            $(.bind($bind))*
            .fetch_all(&mut $conn)
            .await
            .expect("explained");
        rows.iter()
            .map(|r| sqlx::Row::get::<String, _>(r, 0))
            .collect::<Vec<_>>()
            .join("\n")
    }};
}

#[tokio::test]
#[ignore = "needs PostgreSQL: `bash .ci/run` runs it (cargo test -- --include-ignored)"]
async fn every_list_query_reads_through_an_index_and_scans_no_table() {
    let db = outlay_test_support::postgres::PgDatabase::create("the query plans").await;
    crate::PgStore::open(&db.url)
        .await
        .expect("migrated")
        .pool()
        .close()
        .await;
    let mut conn = PgConnection::connect(&db.url).await.expect("connects");
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut conn)
        .await
        .expect("set");
    let (user, id) = (uuid::Uuid::nil(), uuid::Uuid::max());
    let at = chrono::DateTime::UNIX_EPOCH;
    let state: Option<&str> = None;
    let cases = [
        (
            "my expenses",
            explain!(conn, EXPENSES_OF_OWNER, user, id, 51_i64),
            "expenses_by_owner",
        ),
        (
            "my reports",
            explain!(conn, REPORTS_OF_OWNER, user, state, id, 51_i64),
            "reports_by_owner",
        ),
        (
            "all reports",
            explain!(conn, ALL_REPORTS, id, 51_i64),
            "reports_pkey",
        ),
        (
            "all reports in one state",
            explain!(conn, ALL_REPORTS_IN_STATE, "paid", id, 51_i64),
            "reports_by_state_and_id",
        ),
        (
            "the reports I decided",
            explain!(conn, REPORTS_DECIDED_BY, user, state, id, 51_i64),
            "report_deciders_pkey",
        ),
        (
            "my approvals",
            explain!(
                conn,
                approvals(2),
                user.to_string(),
                state,
                at,
                user,
                51_i64,
                user,
                "finance",
                "role:manager"
            ),
            "reports_by_queue",
        ),
        (
            "my notifications",
            explain!(conn, NOTIFICATIONS_OF_USER, user, id, 51_i64),
            "notifications_by_user",
        ),
        (
            "exchange rates",
            explain!(conn, RATES, 51_i64),
            "exchange_rates_by_day",
        ),
    ];
    for (what, plan, index) in cases {
        assert!(plan.contains(index), "{what} does not use {index}:\n{plan}");
        assert!(!plan.contains("Seq Scan"), "{what} scans a table:\n{plan}");
        println!("{what}:\n{plan}\n");
    }
    let _ = conn.close().await;
}

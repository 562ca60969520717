//! `EXPLAIN QUERY PLAN` of the list queries: each reads through an index and none scans a
//! table, so a page costs the same at any size of the table.

use sqlx::Row;

use crate::SqliteStore;
use crate::reads::{
    ALL_REPORTS, ALL_REPORTS_IN_STATE, AUDIT_OF_ENTITY, AUDIT_PAGE, EXPENSES_OF_OWNER,
    EXPENSES_OF_REPORT, HAVE_DUPLICATES, NOTIFICATIONS_OF_USER, RATES, RECEIPTS_OF_EXPENSES,
    REPORTS_DECIDED_BY, REPORTS_OF_OWNER, USERS, USERS_WITH_ROLE, approvals,
};

/// The plan's steps, one line each, with its parameters bound to `binds`.
async fn plan(store: &SqliteStore, sql: &str, binds: &[&str]) -> Vec<String> {
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    let mut query = sqlx::query(&explain);
    for b in binds {
        query = query.bind(*b);
    }
    query
        .fetch_all(&store.reader)
        .await
        .expect("explained")
        .iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect()
}

#[tokio::test]
async fn every_list_query_reads_through_an_index_and_scans_no_table() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&dir.path().join("outlay.db"))
        .await
        .expect("opens");
    sqlx::query("ANALYZE")
        .execute(&store.writer)
        .await
        .expect("analysed");
    // A finance user who is also a manager: their own queue, finance's and the managers'.
    let approvals = approvals(2);
    let cases: [(&str, &str, &[&str], &[&str]); 15] = [
        (
            "my expenses",
            EXPENSES_OF_OWNER,
            &["u", "z", "51"],
            &["expenses_by_owner"],
        ),
        (
            "a report's expenses",
            EXPENSES_OF_REPORT,
            &["r"],
            &["expenses_by_report"],
        ),
        (
            "a page's receipts",
            RECEIPTS_OF_EXPENSES,
            &["[\"e\"]"],
            &["receipts_by_expense"],
        ),
        (
            "a page's duplicates",
            HAVE_DUPLICATES,
            &["[[\"e\",\"u\",\"2026-01-01\",\"1.00\",\"USD\",\"m\"]]"],
            &["expenses_duplicates"],
        ),
        (
            "my reports",
            REPORTS_OF_OWNER,
            &["u", "draft", "z", "51"],
            &["reports_by_owner"],
        ),
        (
            "all reports",
            ALL_REPORTS,
            &["z", "51"],
            &["sqlite_autoindex_reports_1"],
        ),
        (
            "all reports in one state",
            ALL_REPORTS_IN_STATE,
            &["paid", "z", "51"],
            &["reports_by_state_and_id"],
        ),
        (
            "the reports I decided",
            REPORTS_DECIDED_BY,
            &["u", "paid", "z", "51"],
            &[
                "d USING PRIMARY KEY (user_id=? AND report_id<?)",
                "sqlite_autoindex_reports_1 (id=?)",
            ],
        ),
        (
            "my approvals",
            &approvals,
            &[
                "u",
                "pending_finance",
                "",
                "",
                "51",
                "finance",
                "role:manager",
            ],
            &[
                "reports_by_queue (queue=? AND",
                "reports_by_queue (queue=? AND",
                "reports_by_queue (queue=? AND",
            ],
        ),
        (
            "users",
            USERS,
            &["a@example.com", "51"],
            &["sqlite_autoindex_users_2"],
        ),
        (
            "the holders of a role",
            USERS_WITH_ROLE,
            &["finance"],
            &[
                "r USING PRIMARY KEY (role=?)",
                "sqlite_autoindex_users_1 (id=?)",
            ],
        ),
        (
            "an entity's audit trail",
            AUDIT_OF_ENTITY,
            &["report", "r"],
            &["audit_by_entity"],
        ),
        (
            "the audit trail",
            AUDIT_PAGE,
            &["0", "51"],
            &["USING INTEGER PRIMARY KEY (rowid>?)"],
        ),
        ("exchange rates", RATES, &["51"], &["exchange_rates_by_day"]),
        (
            "my notifications",
            NOTIFICATIONS_OF_USER,
            &["u", "z", "51"],
            &["notifications_by_user"],
        ),
    ];
    for (what, sql, binds, indexes) in cases {
        let steps = plan(&store, sql, binds).await;
        let text = steps.join(" | ");
        for index in indexes {
            assert!(text.contains(index), "{what} does not use {index}: {text}");
        }
        for step in &steps {
            // `SCAN (subquery-N)` reads a subquery's own bounded rows, `SCAN json_each
            // VIRTUAL TABLE` a bound JSON array; any other scan reads a whole table.
            let scans_a_table = step.starts_with("SCAN ")
                && !step.starts_with("SCAN (")
                && !step.contains("VIRTUAL TABLE")
                && !step.contains("USING INDEX")
                && !step.contains("USING COVERING INDEX")
                && !step.contains("USING PRIMARY KEY");
            assert!(!scans_a_table, "{what} scans a table: {text}");
        }
        // A sort is bounded only where it sorts pages already cut to the limit (the approvals
        // queue merges its parts) or a small set (the holders of one role); elsewhere it
        // would sort every row that matches, at any size of the table.
        let sorts = steps
            .iter()
            .filter(|s| s.starts_with("USE TEMP B-TREE"))
            .count();
        let bounded_sorts = match what {
            "my approvals" | "the holders of a role" => 1,
            _ => 0,
        };
        assert!(sorts <= bounded_sorts, "{what} sorts {sorts} times: {text}");
        println!("{what}: {text}");
    }
}

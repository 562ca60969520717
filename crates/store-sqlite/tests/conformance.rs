//! The store conformance suite against SQLite, and SQLite's own durability settings.

use std::sync::Arc;

use outlay_store_sqlite::SqliteStore;

/// A fresh store in a database file of its own; the directory goes when the process ends.
async fn fresh() -> outlay_store_conformance::Fresh {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"));
    let path = dir.path().join(format!("{}.sqlite", uuid::Uuid::now_v7()));
    Arc::new(SqliteStore::open(&path).await.expect("the store opens"))
}

outlay_store_conformance::conformance_tests!(fresh);

#[tokio::test]
async fn the_database_is_durable_and_checked() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("outlay.db");
    let store = SqliteStore::open(&path).await.expect("the store opens");
    assert_eq!(store.integrity_check().await.expect("checked"), "ok");
    store.close().await;
    // Reopening runs the migrations again harmlessly and keeps WAL with full sync.
    let _again = SqliteStore::open(&path).await.expect("the store reopens");
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        path.display()
    ))
    .await
    .expect("connects");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .expect("read");
    assert_eq!(mode, "wal");
}

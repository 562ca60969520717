//! The store conformance suite against SQLite, and SQLite's own durability settings.

use std::sync::Arc;

use outlay_store_sqlite::SqliteStore;

#[tokio::test]
async fn sqlite_passes_the_store_conformance_suite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().to_owned();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let fresh = move || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = root.join(format!("db-{n}.sqlite"));
        Box::pin(async move {
            Arc::new(SqliteStore::open(&path).await.expect("the store opens"))
                as Arc<dyn outlay_store_conformance::FullStore>
        }) as outlay_store_conformance::FreshStore
    };
    outlay_store_conformance::run_all(&fresh).await;
}

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

//! The store conformance suite against PostgreSQL, each check in a database of its own.

use std::sync::Arc;

use outlay_store_postgres::PgStore;
use outlay_test_support::postgres::PgDatabase;

/// A store on a database of its own. The database outlives the test: `.ci/run` drops the
/// run's databases when it ends.
async fn fresh() -> outlay_store_conformance::Fresh {
    let db = PgDatabase::create("the PostgreSQL conformance suite").await;
    // Migrated by the owner; every check then runs as the application's login, so the suite
    // also proves that the role `outlay_app` may do everything a store must.
    PgStore::open(&db.url)
        .await
        .expect("the store migrates")
        .pool()
        .close()
        .await;
    let store = PgStore::connect(&db.app_login().await)
        .await
        .expect("the application connects");
    store.check_schema().await.expect("the schema is current");
    std::mem::forget(db);
    Arc::new(store)
}

outlay_store_conformance::conformance_tests!(
    #[ignore = "needs PostgreSQL: `bash .ci/run` runs it (cargo test -- --include-ignored)"]
    fresh
);

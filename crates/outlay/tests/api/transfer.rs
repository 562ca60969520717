//! Moving a deployment between stores: an export of SQLite, imported into PostgreSQL, exported
//! and imported into DynamoDB (moto), exports the same bytes as the first; each import checks
//! the audit chain, and a broken export is refused before anything is written.

use outlay_app::AppError;
use outlay_bootstrap::Built;

use crate::helpers::spawn_app;

async fn export(built: &Built) -> Vec<u8> {
    let mut out = vec![];
    built
        .app
        .export_all(&mut out)
        .await
        .expect("the export is written");
    out
}

/// A fresh deployment on `store` in `dir`, built as `outlay import` builds it, signing
/// checkpoints with the audit key file `audit_key` (moved with the data), or one of its own.
async fn empty(
    store: &str,
    dir: &std::path::Path,
    url: Option<String>,
    audit_key: Option<std::path::PathBuf>,
) -> Built {
    let mut settings = outlay_bootstrap::Settings::load(&outlay_bootstrap::Overrides {
        addr: None,
        data_dir: Some(dir.to_owned()),
    })
    .expect("settings");
    settings.store = store.into();
    settings.database_url = url.map(outlay_bootstrap::Secret);
    settings.audit_key_file = audit_key;
    outlay_bootstrap::build(&settings).await.expect("built")
}

#[cfg(feature = "aws")]
#[tokio::test]
#[ignore = "needs PostgreSQL and moto_server: `bash .ci/run` runs it (cargo test -- --include-ignored)"]
async fn an_export_moves_from_sqlite_to_postgres_to_dynamodb_unchanged() {
    use crate::helpers::days_ago;
    use axum::http::{Method, StatusCode};
    use serde_json::json;

    crate::sqlite_only!("it starts from SQLite itself");
    // GIVEN a SQLite deployment with a bit of everything: paid and pending reports, receipts,
    // rates, read and unread notifications, and a checkpointed audit chain.
    let app = spawn_app().await;
    let paid = app.report("employee", &["120.00", "30.00"]).await;
    app.must("employee", &paid, "submit", json!({})).await;
    app.must("manager", &paid, "approve", json!({"comment": "ok"}))
        .await;
    app.must("finance", &paid, "approve", json!({})).await;
    app.must("payer", &paid, "pay", json!({"reference": "TX-1"}))
        .await;
    let pending = app.report("employee", &["12.50"]).await;
    app.must("employee", &pending, "submit", json!({})).await;
    let rates = json!({"rates": [{"date": days_ago(3), "currency": "EUR", "rate": "1.1"}]});
    let r = app
        .call(
            Method::PUT,
            "/api/v1/exchange-rates",
            Some("finance"),
            Some(rates),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // Documents: Eve's bank details, and a batch holding an approved report.
    let bank = json!({"holder": "Eve Employee", "iban": "DE89370400440532013000"});
    let r = app
        .call(
            Method::PUT,
            "/api/v1/me/bank-account",
            Some("employee"),
            Some(bank),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let held = app.report("employee", &["44.00"]).await;
    app.must("employee", &held, "submit", json!({})).await;
    app.must("manager", &held, "approve", json!({})).await;
    app.must("finance", &held, "approve", json!({})).await;
    let r = app
        .post(
            "payer",
            "/api/v1/payment-batches",
            json!({"report_ids": [held]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = app
        .post("employee", "/api/v1/notifications/read", json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("admin", "/api/v1/audit/verify").await.body["ok"],
        true
    );
    let first = export(&app.built).await;
    let text = String::from_utf8(first.clone()).expect("UTF-8");
    for kind in [
        "header",
        "user",
        "policy",
        "rate",
        "report",
        "expense",
        "receipt",
        "document",
        "notification",
        "audit",
        "checkpoint",
    ] {
        assert!(
            text.contains(&format!("{{\"kind\":\"{kind}\"")),
            "the export holds a {kind}"
        );
    }

    // WHEN it is imported into PostgreSQL, exported, and imported into DynamoDB
    let db = outlay_test_support::postgres::PgDatabase::create("the export round trip").await;
    outlay_store_postgres::PgStore::open(&db.url)
        .await
        .expect("`outlay migrate`")
        .pool()
        .close()
        .await;
    let pg_dir = tempfile::tempdir().expect("a directory");
    // The audit key moves with the data: PostgreSQL checks the checkpoints' signatures.
    let key = app.dir.path().join("audit-key.pem");
    let pg = empty(
        "postgres",
        pg_dir.path(),
        Some(db.app_login().await),
        Some(key),
    )
    .await;
    let imported = pg
        .app
        .import_all(first.as_slice())
        .await
        .expect("PostgreSQL takes the export");
    assert!(imported.checkpoints_verified >= 1, "{imported:?}");
    assert!(
        imported.checkpoints_of_other_keys.is_empty(),
        "{imported:?}"
    );
    let second = export(&pg).await;
    assert!(
        pg.app.verify_audit(None).await.expect("verified").ok,
        "the chain verifies after the import"
    );

    let aws_dir = tempfile::tempdir().expect("a directory");
    let mut settings = outlay_bootstrap::Settings::load(&outlay_bootstrap::Overrides {
        addr: None,
        data_dir: Some(aws_dir.path().to_owned()),
    })
    .expect("settings");
    let stack = crate::aws::AwsStack::start(&mut settings).await;
    let dynamo = outlay_bootstrap::build_with_config(&settings, stack.config.clone())
        .await
        .expect("built on moto");
    // KMS signs there: the file key's checkpoints are held to their events and named.
    let imported = dynamo
        .app
        .import_all(second.as_slice())
        .await
        .expect("DynamoDB takes the export");
    assert_eq!(imported.checkpoints_verified, 0, "{imported:?}");
    assert_eq!(imported.checkpoints_of_other_keys.len(), 1, "{imported:?}");
    let third = export(&dynamo).await;

    // THEN every export is the first, byte for byte
    assert_eq!(
        String::from_utf8(second).expect("UTF-8"),
        text,
        "SQLite → PostgreSQL"
    );
    assert_eq!(
        String::from_utf8(third).expect("UTF-8"),
        text,
        "PostgreSQL → DynamoDB"
    );

    // AND an import into a store that holds data is refused
    let again = pg.app.import_all(first.as_slice()).await;
    assert!(matches!(again, Err(AppError::Conflict(_))), "{again:?}");
}

#[tokio::test]
async fn a_broken_export_is_refused_before_anything_is_written() {
    crate::sqlite_only!("it imports into SQLite");
    let app = spawn_app().await;
    app.report("employee", &["10.00"]).await;
    // A checkpoint in the log.
    assert_eq!(
        app.get("admin", "/api/v1/audit/verify").await.body["ok"],
        true
    );
    let text = String::from_utf8(export(&app.built).await).expect("UTF-8");
    // One audit event's record changed: its hash no longer follows.
    let tampered = text.replacen(
        "\"action\":\"report.create\"",
        "\"action\":\"report.delete\"",
        1,
    );
    assert_ne!(tampered, text);
    let dir = tempfile::tempdir().expect("a directory");
    let target = empty(
        "sqlite",
        dir.path(),
        None,
        Some(app.dir.path().join("audit-key.pem")),
    )
    .await;
    let refused = target.app.import_all(tampered.as_bytes()).await;
    match refused {
        Err(AppError::BadInput(m)) => assert!(m.contains("audit chain breaks"), "{m}"),
        other => panic!("a broken chain is refused: {other:?}"),
    }
    // A checkpoint whose signature was changed, by the key this deployment holds, is refused.
    let forged = forge_signature(&text);
    assert_ne!(forged, text);
    match target.app.import_all(forged.as_bytes()).await {
        Err(AppError::BadInput(m)) => assert!(m.contains("does not verify"), "{m}"),
        other => panic!("a forged checkpoint is refused: {other:?}"),
    }
    let nothing = export(&target).await;
    assert_eq!(
        String::from_utf8(nothing).expect("UTF-8").lines().count(),
        1,
        "nothing was written: the export is its header alone"
    );
    // The untouched export loads.
    target
        .app
        .import_all(text.as_bytes())
        .await
        .expect("the intact export loads");
    assert_eq!(
        String::from_utf8(export(&target).await).expect("UTF-8"),
        text
    );
}

/// The export with its first checkpoint's signature replaced by another valid-looking one.
fn forge_signature(text: &str) -> String {
    text.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("JSON");
            if v["kind"] == "checkpoint" {
                let sig = v["checkpoint"]["signature"].as_str().expect("a signature");
                let mut bytes: Vec<char> = sig.chars().collect();
                let i = bytes.len() / 2;
                bytes[i] = if bytes[i] == 'A' { 'B' } else { 'A' };
                v["checkpoint"]["signature"] = bytes.into_iter().collect::<String>().into();
                serde_json::to_string(&v).expect("JSON")
            } else {
                l.to_owned()
            }
        })
        .map(|l| l + "\n")
        .collect()
}

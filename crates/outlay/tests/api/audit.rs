//! The audit chain: it verifies when honest, and a direct edit of the file is caught and named.

use axum::http::StatusCode;
use serde_json::json;
use sqlx::Connection;

use crate::helpers::spawn_app;

async fn connect(app: &crate::helpers::TestApp) -> sqlx::SqliteConnection {
    let url = format!("sqlite://{}", app.dir.path().join("outlay.db").display());
    sqlx::SqliteConnection::connect(&url)
        .await
        .expect("the database opens")
}

fn verify_cli(dir: &std::path::Path) -> (i32, serde_json::Value) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_outlay"))
        .args(["audit", "verify", "--data-dir"])
        .arg(dir)
        .env("OUTLAY_LOG", "warn")
        .output()
        .expect("the binary runs");
    let body = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), body)
}

#[tokio::test]
async fn an_honest_chain_verifies_and_an_edited_event_is_named() {
    crate::local_only!("it edits the SQLite file directly");
    // GIVEN a report that went through the workflow
    let app = spawn_app().await;
    let r = app.report("employee", &["1500.00"]).await;
    app.must("employee", &r, "submit", json!({})).await;
    app.must("manager", &r, "approve", json!({})).await;
    let v = app.get("admin", "/api/v1/audit/verify").await;
    assert_eq!(v.status, StatusCode::OK);
    assert_eq!(v.body["ok"], true);
    let events = v.body["events"].as_u64().expect("a count");
    assert!(
        events >= 10,
        "seed, expense, report and transitions are all audited: {events}"
    );
    let (code, cli) = verify_cli(app.dir.path());
    assert_eq!((code, &cli["ok"]), (0, &json!(true)), "{cli}");

    // WHEN the application's connection tries to rewrite history, the triggers refuse
    let mut db = connect(&app).await;
    let update = sqlx::query("UPDATE audit_events SET action = 'x' WHERE seq = 1")
        .execute(&mut db)
        .await;
    assert!(update.is_err(), "audit rows cannot be updated");
    let delete = sqlx::query("DELETE FROM audit_events WHERE seq = 1")
        .execute(&mut db)
        .await;
    assert!(delete.is_err(), "audit rows cannot be deleted");

    // AND an attacker with the file drops the triggers and edits event 5
    sqlx::query("DROP TRIGGER audit_events_no_update")
        .execute(&mut db)
        .await
        .expect("dropped");
    sqlx::query("UPDATE audit_events SET after = '{\"forged\":true}' WHERE seq = 5")
        .execute(&mut db)
        .await
        .expect("edited");
    db.close().await.expect("closed");

    // THEN both the API and the command line name event 5
    let v = app.get("admin", "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], false, "{:?}", v.body);
    assert_eq!(v.body["broken_event"]["seq"], 5);
    assert_eq!(v.body["events"], 4);
    let (code, cli) = verify_cli(app.dir.path());
    assert_eq!(code, 1);
    assert_eq!(cli["broken"]["seq"], 5, "{cli}");
}

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

/// Runs the `outlay` binary; answers its exit code and its standard output as JSON.
fn cli(args: &[&str]) -> (i32, serde_json::Value) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_outlay"))
        .args(args)
        .env("OUTLAY_LOG", "warn")
        .output()
        .expect("the binary runs");
    let body = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), body)
}

fn verify_cli(dir: &std::path::Path) -> (i32, serde_json::Value) {
    cli(&[
        "audit",
        "verify",
        "--data-dir",
        dir.to_str().expect("a path"),
    ])
}

#[tokio::test]
async fn an_honest_chain_verifies_and_an_edited_event_is_named() {
    crate::sqlite_only!("it edits the SQLite file directly");
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

/// Every audit row, as the chain holds it.
async fn events(db: &mut sqlx::SqliteConnection) -> Vec<outlay_domain::AuditEvent> {
    use sqlx::Row;
    let rows = sqlx::query("SELECT * FROM audit_events ORDER BY seq")
        .fetch_all(&mut *db)
        .await
        .expect("read");
    rows.iter()
        .map(|r| outlay_domain::AuditEvent {
            seq: r.get("seq"),
            record: outlay_domain::AuditRecord {
                at: chrono::DateTime::parse_from_rfc3339(r.get::<&str, _>("at"))
                    .expect("a time")
                    .to_utc(),
                actor_id: r.get("actor_id"),
                action: r.get("action"),
                entity_kind: r.get("entity_kind"),
                entity_id: r.get("entity_id"),
                source: r.get("source"),
                before: r.get("before"),
                after: r.get("after"),
            },
            prev_hash: r.get("prev_hash"),
            hash: r.get("hash"),
        })
        .collect()
}

async fn without_triggers(app: &crate::helpers::TestApp) -> sqlx::SqliteConnection {
    let mut db = connect(app).await;
    for t in ["audit_events_no_update", "audit_events_no_delete"] {
        sqlx::query(&format!("DROP TRIGGER {t}"))
            .execute(&mut db)
            .await
            .expect("dropped");
    }
    db
}

fn checkpoint_lines(app: &crate::helpers::TestApp) -> usize {
    std::fs::read_to_string(app.dir.path().join("audit-checkpoints.jsonl"))
        .map_or(0, |t| t.lines().count())
}

#[tokio::test]
async fn every_verification_checkpoints_a_new_head_once() {
    // GIVEN some history
    let app = spawn_app().await;
    let r = app.report("employee", &["20.00"]).await;
    // WHEN the admin verifies twice
    let first = app.get("admin", "/api/v1/audit/verify").await;
    assert_eq!(first.body["ok"], true, "{:?}", first.body);
    let head = first.body["events"].as_i64().expect("a count");
    assert_eq!(first.body["checkpointed_seq"], head, "{:?}", first.body);
    let fingerprint = first.body["key"].as_str().expect("a key").to_owned();
    assert_eq!(fingerprint.len(), 64);
    let second = app.get("admin", "/api/v1/audit/verify").await;
    // THEN the second holds the chain to the first's checkpoint and signs nothing new
    assert_eq!(second.body["checkpoints"], 1, "{:?}", second.body);
    assert!(second.body.get("checkpointed_seq").is_none());
    // AND a new head is checkpointed by the next verification, which holds both
    app.must("employee", &r, "submit", json!({})).await;
    let third = app.get("admin", "/api/v1/audit/verify").await;
    assert!(third.body["checkpointed_seq"].as_i64() > Some(head));
    let fourth = app.get("admin", "/api/v1/audit/verify").await;
    assert_eq!(
        (
            &fourth.body["ok"],
            &fourth.body["checkpoints"],
            &fourth.body["key"]
        ),
        (&json!(true), &json!(2), &json!(fingerprint))
    );
    // AND the periodic checkpoint (the dispatcher's) has nothing new to sign
    let periodic = app.built.app.checkpoint_audit().await.expect("checked");
    assert!(periodic.ok && periodic.signed.is_none(), "{periodic:?}");
    // AND nobody else may verify
    assert_eq!(
        app.get("finance", "/api/v1/audit/verify").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn entries_of_the_checkpoint_log_that_the_key_did_not_sign_are_set_aside_and_named() {
    crate::local_only!("it writes to the local checkpoint log directly");
    // GIVEN a checkpointed history
    let app = spawn_app().await;
    app.report("employee", &["20.00"]).await;
    let first = app.get("admin", "/api/v1/audit/verify").await;
    assert_eq!(first.body["ok"], true, "{:?}", first.body);
    // WHEN someone appends a garbage line and a checkpoint with a signature of nothing
    let log = app.dir.path().join("audit-checkpoints.jsonl");
    let mut forged: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&log)
            .expect("the log")
            .lines()
            .next()
            .expect("a checkpoint"),
    )
    .expect("JSON");
    forged["seq"] = json!(1);
    let lines = format!("not a checkpoint\n{forged}\n");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, lines.as_bytes()))
        .expect("appended");
    // THEN verification still holds the chain to the real checkpoint, and names both entries
    let v = app.get("admin", "/api/v1/audit/verify").await;
    assert_eq!(
        (&v.body["ok"], &v.body["checkpoints"]),
        (&json!(true), &json!(1)),
        "{:?}",
        v.body
    );
    assert_eq!(
        v.body["set_aside"],
        json!([
            format!("line 2 of {} is not a checkpoint", log.display()),
            format!(
                "checkpoint 2 (seq 1) is not signed by the audit key {}",
                v.body["key"].as_str().expect("a key")
            ),
        ])
    );
    // AND the admin's audit page shows them
    let (_, session) = app
        .form_login("admin@example.com", outlay_bootstrap::DEMO_PASSWORD, &[])
        .await;
    let page = app
        .page("/admin/audit/verify", &session.expect("signed in"))
        .await;
    let html = page.body.as_str().unwrap_or_default();
    assert!(
        html.contains("did not sign") && html.contains("checkpoint 2 (seq 1)"),
        "{html}"
    );
}

#[tokio::test]
async fn cutting_events_off_the_end_is_caught_by_the_last_checkpoint() {
    crate::sqlite_only!("it edits the SQLite file directly");
    // GIVEN a checkpointed history
    let app = spawn_app().await;
    let r = app.report("employee", &["20.00"]).await;
    app.must("employee", &r, "submit", json!({})).await;
    let end = app.audit_events().await as i64;
    // WHEN an attacker with the file drops the triggers and deletes the last three events
    let mut db = without_triggers(&app).await;
    sqlx::query("DELETE FROM audit_events WHERE seq > ?")
        .bind(end - 3)
        .execute(&mut db)
        .await
        .expect("deleted");
    db.close().await.expect("closed");
    // THEN the API and the command line name the checkpoint and the chain's end
    let v = app.get("admin", "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], false, "{:?}", v.body);
    let reason = format!("checkpoint 1 at seq {end}, chain ends at {}", end - 3);
    assert!(
        v.body["broken_event"]["reason"]
            .as_str()
            .is_some_and(|m| m.starts_with(&reason)),
        "{:?}",
        v.body
    );
    let (code, cli) = verify_cli(app.dir.path());
    assert_eq!(code, 1, "{cli}");
    // AND the periodic checkpoint, which reads only from its last checkpoint on, sees it too
    let periodic = app.built.app.checkpoint_audit().await.expect("checked");
    assert!(!periodic.ok && periodic.signed.is_none(), "{periodic:?}");
    // AND new events chained onto the shortened tail, and a checkpoint of the new head, do not
    // hide it: the periodic checkpoint refuses to sign, and verify names the rewritten event
    let lines = checkpoint_lines(&app);
    for _ in 0..2 {
        app.report("employee", &["5.00"]).await;
    }
    let periodic = app.built.app.checkpoint_audit().await.expect("checked");
    assert!(!periodic.ok && periodic.signed.is_none(), "{periodic:?}");
    assert_eq!(checkpoint_lines(&app), lines, "nothing was signed");
    let v = app.get("admin", "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], false, "{:?}", v.body);
    assert_eq!(v.body["broken_event"]["seq"], end, "{:?}", v.body);
    assert!(
        v.body["broken_event"]["reason"]
            .as_str()
            .is_some_and(|m| m.starts_with(&format!("event {end} differs from checkpoint 1"))),
        "{:?}",
        v.body
    );
}

#[tokio::test]
async fn rewriting_an_event_and_rehashing_the_rest_is_caught_by_the_checkpoint() {
    crate::sqlite_only!("it edits the SQLite file directly");
    // GIVEN a checkpointed history
    let app = spawn_app().await;
    let r = app.report("employee", &["20.00"]).await;
    app.must("employee", &r, "submit", json!({})).await;
    let end = app.audit_events().await as i64;
    // WHEN an attacker edits event 5 and re-hashes every event after it, so that the chain
    // holds together on its own
    let mut db = without_triggers(&app).await;
    let mut prev: Option<outlay_domain::AuditEvent> = None;
    for mut e in events(&mut db).await {
        if e.seq == 5 {
            e.record.after = Some("{\"forged\":true}".into());
        }
        if e.seq >= 5 {
            let p = prev.as_ref().expect("event 4");
            let sealed = outlay_domain::audit::seal(Some((&p.hash, p.seq)), e.record.clone());
            sqlx::query("UPDATE audit_events SET after = ?, prev_hash = ?, hash = ? WHERE seq = ?")
                .bind(&sealed.record.after)
                .bind(&sealed.prev_hash)
                .bind(&sealed.hash)
                .bind(e.seq)
                .execute(&mut db)
                .await
                .expect("rewritten");
            e = sealed;
        }
        prev = Some(e);
    }
    db.close().await.expect("closed");
    // THEN the chain alone would pass, but the checkpoint at its old head does not
    let v = app.get("admin", "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], false, "{:?}", v.body);
    assert_eq!(v.body["broken_event"]["seq"], end, "{:?}", v.body);
    assert_eq!(
        v.body["broken_event"]["reason"],
        format!(
            "event {end} differs from checkpoint 1: the chain was rewritten at or after event 1"
        )
    );
}

#[tokio::test]
async fn an_exported_bundle_verifies_offline_and_any_edit_to_it_is_caught() {
    crate::sqlite_only!("it runs the command line on the data directory");
    let app = spawn_app().await;
    let r = app.report("employee", &["20.00"]).await;
    app.must("employee", &r, "submit", json!({})).await;
    let bundle = app.dir.path().join("bundle.jsonl");
    // WHEN the operator exports the bundle
    let dir = app.dir.path().to_str().expect("a path").to_owned();
    let path = bundle.to_str().expect("a path").to_owned();
    let (code, exported) = cli(&["audit", "export", "--data-dir", &dir, "--out", &path]);
    assert_eq!(code, 0, "{exported}");
    // THEN it verifies with nothing but itself, naming the key it was checked against
    let (code, offline) = cli(&["audit", "verify", "--bundle", &path]);
    assert_eq!(code, 0, "{offline}");
    assert_eq!(offline["events"], exported["events"]);
    assert_eq!(offline["key"], exported["key"]);
    assert!(offline["checkpoints"].as_u64() >= Some(1), "{offline}");
    // AND an edited event, or events cut from the end, fail it
    let text = std::fs::read_to_string(&bundle).expect("written");
    let edited = text.replacen("\"report.submit\"", "\"report.forged\"", 1);
    assert_ne!(edited, text);
    std::fs::write(&bundle, &edited).expect("edited");
    let (code, v) = cli(&["audit", "verify", "--bundle", &path]);
    assert_eq!((code, &v["ok"]), (1, &json!(false)), "{v}");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&bundle, lines[..lines.len() - 2].join("\n")).expect("cut");
    let (code, v) = cli(&["audit", "verify", "--bundle", &path]);
    assert_eq!(code, 1, "{v}");
    assert!(
        v["broken"]["reason"]
            .as_str()
            .is_some_and(|m| m.contains("chain ends at")),
        "{v}"
    );
}

#[cfg(feature = "aws")]
#[tokio::test]
async fn on_dynamodb_verify_holds_the_events_to_the_chain_head_and_the_locked_log() {
    use aws_sdk_dynamodb::types::AttributeValue;
    if crate::helpers::backend() != "aws" {
        eprintln!("DynamoDB backend only: it edits DynamoDB and the S3 checkpoint log directly");
        return;
    }
    // GIVEN a checkpointed history (KMS signed it, S3 keeps it) and events after it
    let app = spawn_app().await;
    app.audit_events().await;
    app.report("employee", &["5.00"]).await;
    let stack = app.aws.as_ref().expect("the AWS stack");
    let events = app
        .built
        .app
        .store()
        .audit_page(0, 10_000)
        .await
        .expect("read");
    let end = events.last().expect("events").seq;
    // WHEN the last event's item is deleted (as the role could, but for its IAM deny)
    aws_sdk_dynamodb::Client::new(&stack.config)
        .delete_item()
        .table_name("outlay-test")
        .key("pk", AttributeValue::S("AUDIT".into()))
        .key("sk", AttributeValue::S(format!("{end:020}")))
        .send()
        .await
        .expect("deleted");
    // THEN verify reads AUDIT#HEAD and names the gap
    let v = app.get("admin", "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], false, "{:?}", v.body);
    let reason = v.body["broken_event"]["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains(&format!("head is at seq {end}, chain ends at {}", end - 1)),
        "{reason}"
    );

    // AND a checkpoint forged into the bucket (not signed by the KMS key) and an object that
    // is no checkpoint at all are set aside and named, not fatal: the locked bucket keeps them
    // for years
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&stack.config)
            .force_path_style(true)
            .build(),
    );
    let forged = json!({"seq": 1, "hash": "00", "at": "2026-01-01T00:00:00Z",
        "key": v.body["key"], "signature": "MEQCIA=="});
    for (key, body) in [
        (
            "00000000000000000001-0000000000000.json",
            forged.to_string(),
        ),
        (
            "00000000000000000002-0000000000000.json",
            "not json".to_owned(),
        ),
    ] {
        s3.put_object()
            .bucket(crate::aws::AUDIT_BUCKET)
            .key(format!("checkpoints/{key}"))
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
            .body(body.into_bytes().into())
            .send()
            .await
            .expect("put");
    }
    let v = app.get("admin", "/api/v1/audit/verify").await;
    let set_aside = v.body["set_aside"].to_string();
    assert!(
        set_aside.contains("is not signed by the audit key")
            && set_aside.contains("00000000000000000002-0000000000000.json (version"),
        "{:?}",
        v.body
    );
    let reason = v.body["broken_event"]["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains(&format!("head is at seq {end}")),
        "{reason}"
    );
}

#[tokio::test]
async fn the_admins_event_browser_narrows_the_chain_newest_first_and_pages_back() {
    crate::local_only!("the local sign-in form; AWS signs in on Cognito's hosted UI");
    let app = crate::helpers::spawn_app().await;
    let report = app.report("employee", &["10.00", "11.00"]).await;
    app.must("employee", &report, "submit", serde_json::json!({}))
        .await;
    let (_, admin) = app
        .form_login("admin@example.com", outlay_bootstrap::DEMO_PASSWORD, &[])
        .await;
    let admin = admin.expect("an admin session");
    let seqs = |html: &str| -> Vec<i64> {
        html.split("<li value=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap_or("").parse().expect("a seq"))
            .collect()
    };
    let page = app
        .page(
            "/admin/audit?entity_kind=expense&action=expense.create",
            &admin,
        )
        .await;
    assert_eq!(page.status, axum::http::StatusCode::OK);
    let html = page.body.as_str().expect("html").to_owned();
    let expenses = seqs(&html);
    assert_eq!(expenses.len(), 2, "two expenses created: {expenses:?}");
    assert!(expenses[0] > expenses[1], "newest first");
    assert!(!html.contains("<strong>report.create</strong>"));

    let page = app.page("/admin/audit?action=report.", &admin).await;
    let html = page.body.as_str().expect("html").to_owned();
    assert_eq!(seqs(&html).len(), 2, "created and submitted");
    assert!(html.contains("<strong>report.submit</strong>"));
    assert!(
        html.contains("&quot;state&quot;: &quot;pending_manager&quot;")
            || html.contains("\"state\": \"pending_manager\""),
        "the state after, shown"
    );

    let eve = app.user_id("employee").await;
    let all = seqs(
        app.page(&format!("/admin/audit?actor={eve}"), &admin)
            .await
            .body
            .as_str()
            .expect("html"),
    );
    assert!(all.len() >= 4, "{all:?}");
    let older = seqs(
        app.page(
            &format!("/admin/audit?actor={eve}&before={}", all[1]),
            &admin,
        )
        .await
        .body
        .as_str()
        .expect("html"),
    );
    assert_eq!(
        older,
        all[2..].to_vec(),
        "the page before an event starts below it"
    );

    let bad = app.page("/admin/audit?from=yesterday", &admin).await;
    assert_eq!(bad.status, axum::http::StatusCode::BAD_REQUEST);
    let (_, employee) = app
        .form_login("employee@example.com", outlay_bootstrap::DEMO_PASSWORD, &[])
        .await;
    let refused = app
        .page("/admin/audit", &employee.expect("a session"))
        .await;
    assert_eq!(refused.status, axum::http::StatusCode::FORBIDDEN);
}

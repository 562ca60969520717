//! Crash safety: the real binary is killed with SIGKILL in the middle of a burst of
//! submissions. After a restart, everything that was acknowledged is there, the database and
//! the audit chain are intact, and the outbox delivers what was committed, once.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection;
use tokio::sync::Mutex;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start(command: &str, dir: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_outlay"))
        .args([
            command,
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir)
        .env("OUTLAY_LOG", "warn")
        .env("OUTLAY_DISPATCH_INTERVAL_MS", "50")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts")
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not become healthy");
}

async fn login(client: &reqwest::Client, base: &str, who: &str) -> String {
    let r: Value = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"email": format!("{who}@example.com"), "password": "demo-password"}))
        .send()
        .await
        .expect("login answers")
        .json()
        .await
        .expect("JSON");
    r["access_token"].as_str().expect("a token").to_owned()
}

/// What the server acknowledged with a 2xx before it died.
#[derive(Default)]
struct Acknowledged {
    expenses: BTreeSet<String>,
    reports: BTreeSet<String>,
    submitted: BTreeSet<String>,
}

/// Creates an expense and a report and submits it, recording each acknowledged step.
async fn one_submission(
    client: reqwest::Client,
    base: String,
    token: String,
    n: usize,
    acked: Arc<Mutex<Acknowledged>>,
) {
    let auth = format!("Bearer {token}");
    let day = chrono::Utc::now().date_naive().to_string();
    let body = json!({"date": day, "merchant": format!("Shop {n}"), "category": "office", "amount": format!("{}.{:02}", 10 + n, n % 100), "currency": "USD"});
    let Ok(r) = client
        .post(format!("{base}/api/v1/expenses"))
        .header("authorization", &auth)
        .json(&body)
        .send()
        .await
    else {
        return;
    };
    if !r.status().is_success() {
        return;
    }
    let Ok(expense) = r.json::<Value>().await else {
        return;
    };
    let expense = expense["id"].as_str().unwrap_or_default().to_owned();
    acked.lock().await.expenses.insert(expense.clone());
    let report = json!({"title": format!("Burst {n}"), "expense_ids": [expense]});
    let Ok(r) = client
        .post(format!("{base}/api/v1/reports"))
        .header("authorization", &auth)
        .json(&report)
        .send()
        .await
    else {
        return;
    };
    if !r.status().is_success() {
        return;
    }
    let Ok(report) = r.json::<Value>().await else {
        return;
    };
    let report = report["id"].as_str().unwrap_or_default().to_owned();
    acked.lock().await.reports.insert(report.clone());
    let Ok(r) = client
        .post(format!("{base}/api/v1/reports/{report}/submit"))
        .header("authorization", &auth)
        .json(&json!({}))
        .send()
        .await
    else {
        return;
    };
    if r.status().is_success() {
        acked.lock().await.submitted.insert(report);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sigkill_mid_burst_loses_nothing_acknowledged_and_breaks_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a client");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start("demo", dir.path(), port);
    wait_healthy(&client, &base).await;
    let token = login(&client, &base, "employee").await;

    // GIVEN a burst of concurrent submissions
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let mut tasks = Vec::new();
    for n in 0..200 {
        tasks.push(tokio::spawn(one_submission(
            client.clone(),
            base.clone(),
            token.clone(),
            n,
            acked.clone(),
        )));
    }
    // WHEN the server is killed once some have been acknowledged
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().await.submitted.len() < 20 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().expect("SIGKILL");
    server.wait().expect("reaped");
    for t in tasks {
        let _ = t.await;
    }
    let acked = std::mem::take(&mut *acked.lock().await);
    eprintln!(
        "killed after {} expenses, {} reports and {} submissions were acknowledged",
        acked.expenses.len(),
        acked.reports.len(),
        acked.submitted.len()
    );
    assert!(
        acked.submitted.len() >= 20,
        "the burst was under way: {} submitted",
        acked.submitted.len()
    );
    assert!(
        acked.submitted.len() < 200,
        "the kill came mid-burst ({} of 200 submissions acknowledged)",
        acked.submitted.len()
    );

    // THEN after a restart every acknowledged write is there
    let mut server = start("serve", dir.path(), port);
    wait_healthy(&client, &base).await;
    let token = login(&client, &base, "employee").await;
    let get = |path: String| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let r = client
                .get(path)
                .header("authorization", format!("Bearer {token}"))
                .send()
                .await
                .expect("answers");
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    for e in &acked.expenses {
        assert_eq!(
            get(format!("{base}/api/v1/expenses/{e}")).await.0,
            200,
            "acknowledged expense {e}"
        );
    }
    for r in &acked.reports {
        let (status, body) = get(format!("{base}/api/v1/reports/{r}")).await;
        assert_eq!(status, 200, "acknowledged report {r}");
        if acked.submitted.contains(r) {
            assert_eq!(
                body["state"], "pending_manager",
                "acknowledged submission {r}"
            );
        }
    }

    // AND the database is intact and the audit chain verifies
    let db = dir.path().join("outlay.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("connects");
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .expect("checked");
    assert_eq!(verdict, "ok");
    let admin = login(&client, &base, "admin").await;
    let verify: Value = client
        .get(format!("{base}/api/v1/audit/verify"))
        .header("authorization", format!("Bearer {admin}"))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(verify["ok"], true, "{verify}");

    // AND the outbox delivers every committed message exactly once
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE delivered_at IS NULL")
                .fetch_one(&mut conn)
                .await
                .expect("counted");
        if pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} messages still undelivered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let committed: Vec<String> = sqlx::query_scalar("SELECT id FROM outbox ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .expect("listed");
    let submitted_in_db: i64 =
        sqlx::query_scalar("SELECT count(*) FROM reports WHERE state = 'pending_manager'")
            .fetch_one(&mut conn)
            .await
            .expect("counted");
    assert_eq!(
        committed.len() as i64,
        submitted_in_db,
        "one email to the manager per committed submission"
    );
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("mail"))
        .expect("the mail folder")
        .filter_map(Result::ok)
        .map(|f| {
            f.file_name()
                .to_string_lossy()
                .trim_end_matches(".eml")
                .to_owned()
        })
        .filter(|n| !n.starts_with('.'))
        .collect();
    files.sort();
    assert_eq!(
        files, committed,
        "one mail file per committed message, no more, no fewer"
    );
    server.kill().expect("stopped");
    let _ = server.wait();
}

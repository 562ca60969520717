//! Notifications: one in-app and one email per event per recipient, delivered through the
//! outbox at least once, even past a failing mail server; signed webhooks; daily digests.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use outlay_bootstrap::Secret;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::Mutex;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
struct Mail {
    to: String,
    data: String,
}

/// A small SMTP server on loopback that refuses its first `refuse` connections.
async fn smtp_server(refuse: usize) -> (u16, Arc<Mutex<Vec<Mail>>>, Arc<Mutex<usize>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let port = listener.local_addr().expect("an address").port();
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(Mutex::new(0));
    let (inbox2, refused2) = (inbox.clone(), refused.clone());
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let (inbox, refused) = (inbox2.clone(), refused2.clone());
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                {
                    let mut n = refused.lock().await;
                    if *n < refuse {
                        *n += 1;
                        let _ = write.write_all(b"421 4.3.2 try again later\r\n").await;
                        return;
                    }
                }
                let _ = write.write_all(b"220 test ESMTP\r\n").await;
                let mut lines = BufReader::new(read).lines();
                let mut to = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250 test\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        to = line[8..].trim().trim_matches(['<', '>']).to_owned();
                        b"250 ok\r\n"
                    } else if upper.starts_with("DATA") {
                        let _ = write.write_all(b"354 go ahead\r\n").await;
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        inbox.lock().await.push(Mail {
                            to: to.clone(),
                            data,
                        });
                        b"250 queued\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, inbox, refused)
}

/// Runs the dispatcher until the outbox is empty (or a deadline passes).
async fn drain(app: &TestApp) {
    for _ in 0..200 {
        app.built.dispatch_once().await.expect("a dispatcher pass");
        let pending = outlay_app::Outbox::stats(app.built.store.as_ref())
            .await
            .expect("stats")
            .pending;
        if pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the outbox did not drain");
}

async fn in_app(app: &TestApp, who: &str) -> Vec<Value> {
    let r = app.get(who, "/api/v1/notifications").await;
    assert_eq!(r.status, StatusCode::OK);
    r.body["items"].as_array().expect("items").clone()
}

/// A report over the threshold, all the way to paid; and another, rejected.
async fn two_reports(app: &TestApp) -> (String, String) {
    let paid = app.report("employee", &["1500.00"]).await;
    app.must("employee", &paid, "submit", json!({})).await;
    app.must("manager", &paid, "approve", json!({})).await;
    app.must("senior", &paid, "approve", json!({})).await;
    app.must("finance", &paid, "approve", json!({})).await;
    app.must("payer", &paid, "pay", json!({"reference": "TX-77"}))
        .await;
    let rejected = app.report("employee", &["20.00"]).await;
    app.must("employee", &rejected, "submit", json!({})).await;
    app.must(
        "manager",
        &rejected,
        "reject",
        json!({"reason": "Wrong cost centre"}),
    )
    .await;
    (paid, rejected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_recipient_gets_exactly_one_in_app_and_one_email_per_event_even_when_smtp_fails_twice()
{
    crate::local_only!("it runs its own SMTP server");
    // GIVEN a mail server that refuses the first two connections
    let (port, inbox, refused) = smtp_server(2).await;
    let app = spawn_app_with(|s| {
        s.smtp_url = Some(Secret(format!("smtp://127.0.0.1:{port}")));
        s.retry_base_ms = 20;
    })
    .await;
    // WHEN two reports go through the workflow and the outbox is delivered
    two_reports(&app).await;
    drain(&app).await;

    // THEN the server refused twice and still got exactly one email per event and recipient
    assert_eq!(*refused.lock().await, 2);
    let mails = inbox.lock().await.clone();
    let mut per_recipient = std::collections::BTreeMap::<String, usize>::new();
    for m in &mails {
        *per_recipient.entry(m.to.clone()).or_default() += 1;
    }
    let expected = [
        ("employee@example.com", 2), // paid, rejected
        ("finance@example.com", 1),  // the finance step
        ("manager@example.com", 2),  // two submissions
        ("payer@example.com", 2),    // the finance step, and ready to pay
        ("senior@example.com", 1),   // the senior step
    ];
    assert_eq!(
        per_recipient
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        expected
    );
    let mut ids: Vec<String> = mails
        .iter()
        .filter_map(|m| {
            m.data
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
                .map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), mails.len(), "every email has its own Message-ID");
    let rejection = mails
        .iter()
        .find(|m| m.data.contains("rejected"))
        .expect("the rejection email");
    assert!(
        rejection.data.contains("Wrong cost centre"),
        "the reason is in the email"
    );

    // AND the same counts in-app, with unread counts
    for (who, n) in expected {
        let user = who.trim_end_matches("@example.com");
        assert_eq!(
            in_app(&app, user).await.len(),
            n,
            "{user}'s in-app notifications"
        );
    }
    let employee = app.get("employee", "/api/v1/notifications").await;
    assert_eq!(employee.body["unread"], 2);
    let events: Vec<&str> = employee.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|n| n["event"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(events, ["report.rejected", "report.paid"]);
    let read = app
        .post("employee", "/api/v1/notifications/read", json!({}))
        .await;
    assert_eq!(read.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("employee", "/api/v1/notifications").await.body["unread"],
        0
    );
    // Nothing is delivered twice by later passes.
    app.built.dispatch_once().await.expect("a pass");
    assert_eq!(inbox.lock().await.len(), mails.len());
}

#[tokio::test]
async fn without_smtp_emails_are_written_once_each_to_the_mail_folder() {
    crate::local_only!("it reads the local mail folder");
    let app = spawn_app().await;
    two_reports(&app).await;
    drain(&app).await;
    drain(&app).await;
    let files: Vec<_> = std::fs::read_dir(app.dir.path().join("mail"))
        .expect("the mail folder")
        .filter_map(Result::ok)
        .collect();
    assert_eq!(files.len(), 8, "one .eml per email");
    assert!(
        files
            .iter()
            .all(|f| f.file_name().to_string_lossy().ends_with(".eml"))
    );
    let text = app.metrics().await;
    assert!(text.contains("outlay_outbox_backlog 0"), "{text}");
    assert!(text.contains("outlay_transitions_total"));
}

#[tokio::test]
async fn the_webhook_gets_each_event_signed() {
    crate::local_only!("on AWS events go to SNS");
    let received: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::default();
    let store = received.clone();
    let hook = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let store = store.clone();
            async move {
                store.lock().await.push((headers, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let port = listener.local_addr().expect("an address").port();
    tokio::spawn(async move { axum::serve(listener, hook).await });
    let app = spawn_app_with(|s| {
        s.webhook_url = Some(format!("http://127.0.0.1:{port}/hook"));
        s.webhook_secret = Some(Secret("hook-secret".into()));
    })
    .await;
    let r = app.report("employee", &["20.00"]).await;
    app.must("employee", &r, "submit", json!({})).await;
    drain(&app).await;
    let calls = received.lock().await.clone();
    assert_eq!(calls.len(), 1);
    let (headers, body) = &calls[0];
    let payload: Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(payload["event"], "report.submitted");
    assert_eq!(payload["report_id"], r.as_str());
    let signature = headers["x-outlay-signature"].to_str().expect("ASCII");
    let t: i64 = signature
        .trim_start_matches("t=")
        .split(',')
        .next()
        .and_then(|t| t.parse().ok())
        .expect("a timestamp");
    assert_eq!(signature, outlay_notify::signature(b"hook-secret", t, body));
    assert_ne!(
        signature,
        outlay_notify::signature(b"another-secret", t, body)
    );
    assert!(headers.contains_key("x-outlay-delivery"));
}

#[tokio::test]
async fn with_a_daily_digest_approvers_are_not_mailed_per_report_but_owners_still_are() {
    crate::local_only!("it reads the local mail folder");
    let hour = (chrono::Utc::now() + chrono::TimeDelta::hours(2))
        .format("%H")
        .to_string();
    let app = spawn_app_with(|s| s.approver_digest_hour = hour.parse().ok()).await;
    let r = app.report("employee", &["20.00"]).await;
    app.must("employee", &r, "submit", json!({})).await;
    app.built.dispatch_once().await.expect("a pass");
    let mail = app.dir.path().join("mail");
    let count = || std::fs::read_dir(&mail).map(|d| d.count()).unwrap_or(0);
    assert_eq!(count(), 0, "the manager's email waits for the digest");
    assert_eq!(
        in_app(&app, "manager").await.len(),
        1,
        "in-app is immediate"
    );
    app.must("manager", &r, "reject", json!({"reason": "No"}))
        .await;
    app.built.dispatch_once().await.expect("a pass");
    assert_eq!(count(), 1, "the owner hears of the rejection at once");
    let stats = outlay_app::Outbox::stats(app.built.store.as_ref())
        .await
        .expect("stats");
    assert_eq!(stats.pending, 1, "one approver email waits for the digest");
}

#[tokio::test]
async fn the_outbox_delivers_everything_through_the_deployments_mailer() {
    // GIVEN a full workflow (SMTP or a mail folder locally; SES and SNS on AWS)
    let app = spawn_app().await;
    two_reports(&app).await;
    let before = outlay_app::Outbox::stats(app.built.store.as_ref())
        .await
        .expect("stats");
    assert!(
        before.pending >= 8,
        "the transitions queued their emails: {before:?}"
    );
    // WHEN the dispatcher runs THEN nothing is left, and nothing was given up
    drain(&app).await;
    let after = outlay_app::Outbox::stats(app.built.store.as_ref())
        .await
        .expect("stats");
    assert_eq!((after.pending, after.dead), (0, 0));
}

//! Receipts by email: a known user's message becomes draft expenses, one per receipt; unknown
//! senders and messages that failed the receiving checks are dropped; the same file twice is
//! flagged; on one machine, messages arrive in a maildir.

use axum::http::StatusCode;
use base64::Engine;

use crate::helpers::{TestApp, spawn_app_with};

const FACTUR_X: &[u8] = include_bytes!("../fixtures/factur-x.pdf");

/// A forwarded message with `results` as the receiving server's `Authentication-Results`, a
/// text part, the Factur-X invoice and a file that is not a receipt.
fn message(from: &str, results: &str) -> Vec<u8> {
    let pdf = base64::engine::general_purpose::STANDARD.encode(FACTUR_X);
    let lines: Vec<&str> = pdf
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "Authentication-Results: mx.outlay.test; {results}\r\n\
From: {from}\r\nTo: receipts@outlay.test\r\nSubject: Fwd: taxi\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe taxi to the airport.\r\n\
--b1\r\nContent-Type: application/pdf; name=\"taxi.pdf\"\r\n\
Content-Disposition: attachment; filename=\"taxi.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
{}\r\n\
--b1\r\nContent-Type: text/calendar; name=\"trip.ics\"\r\n\
Content-Disposition: attachment; filename=\"trip.ics\"\r\n\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n\
--b1--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

/// No OCR (the invoice is an e-invoice), and the test server's results trusted.
fn receiving(s: &mut outlay_bootstrap::Settings) {
    s.ocr = "off".into();
    s.mail_authserv_id = Some("mx.outlay.test".into());
}

const PASSED: &str = "spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com";

async fn drafts(app: &TestApp, who: &str) -> usize {
    let mine = app.get(who, "/api/v1/expenses?limit=100").await;
    mine.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["draft"] == true)
        .count()
}

#[tokio::test]
async fn a_known_senders_receipts_become_drafts_and_strangers_are_dropped() {
    let app = spawn_app_with(receiving).await;
    let mail = &app.built.app;
    // WHEN Eve forwards an invoice (address case aside, as mail clients write it)
    let taken = mail
        .receive_email(&message("Eve <EMPLOYEE@example.com>", PASSED))
        .await
        .expect("taken");
    // THEN the PDF is a draft of hers, the calendar file is skipped
    assert_eq!(taken.dropped, None);
    assert_eq!(taken.expenses.len(), 1);
    assert_eq!(taken.skipped, 1);
    assert_eq!(drafts(&app, "employee").await, 1);
    mail.read_receipts(10).await.expect("read");
    let expense = taken.expenses[0].to_string();
    let e = app
        .get("employee", &format!("/api/v1/expenses/{expense}"))
        .await;
    assert_eq!(e.status, StatusCode::OK, "{}", e.body);
    let receipt = e.body["receipts"][0]["id"]
        .as_str()
        .expect("a receipt")
        .to_owned();
    let reading = app
        .get("employee", &format!("/api/v1/receipts/{receipt}/reading"))
        .await;
    assert_eq!(
        reading.body["fields"]["total"]["value"], "129.03",
        "{}",
        reading.body
    );
    // WHEN the very same message is taken twice (an event delivered again)
    let twice = mail
        .receive_email(&message("Eve <EMPLOYEE@example.com>", PASSED))
        .await
        .expect("taken");
    // THEN it made its draft once
    assert_eq!(twice.expenses, taken.expenses);
    assert_eq!(drafts(&app, "employee").await, 1);
    // WHEN the same invoice comes again in another message
    let again = mail
        .receive_email(&message("employee@example.com", PASSED))
        .await
        .expect("taken");
    assert_eq!(again.expenses.len(), 1);
    let e = app
        .get(
            "employee",
            &format!("/api/v1/expenses/{}", again.expenses[0]),
        )
        .await;
    let receipt = e.body["receipts"][0]["id"]
        .as_str()
        .expect("a receipt")
        .to_owned();
    let reading = app
        .get("employee", &format!("/api/v1/receipts/{receipt}/reading"))
        .await;
    // THEN it is flagged as the same file
    let kinds: Vec<&str> = reading.body["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["duplicate_file"], "{}", reading.body);
    // AND strangers, failed checks and forged headers are dropped, making nothing
    let before = drafts(&app, "employee").await;
    for (raw, why) in [
        (
            // Authenticated, but nobody here.
            message("mallory@evil.test", "spf=pass smtp.mailfrom=evil.test"),
            "not a user",
        ),
        (
            message(
                "employee@example.com",
                "spf=pass smtp.mailfrom=example.com; dkim=fail header.d=example.com",
            ),
            "ok",
        ),
        (
            message(
                "employee@example.com",
                "spf=softfail smtp.mailfrom=example.com; dkim=fail header.d=example.com",
            ),
            "authentication",
        ),
        (
            // A pass for the sender's own domain says nothing of the From it wrote.
            message(
                "employee@example.com",
                "spf=pass smtp.mailfrom=evil.test; dkim=pass header.d=evil.test",
            ),
            "authentication",
        ),
        (
            // A sender's own "pass" below the receiving server's "fail" does not count.
            [
                b"Authentication-Results: mx.outlay.test; dkim=fail header.d=example.com\r\n"
                    .as_slice(),
                &message("employee@example.com", PASSED),
            ]
            .concat(),
            "authentication",
        ),
        (
            // No result at all: not authenticated.
            message("employee@example.com", PASSED)
                .splitn(2, |b| *b == b'\n')
                .nth(1)
                .expect("the rest")
                .to_vec(),
            "authentication",
        ),
        (b"not a message at all".to_vec(), "not an email"),
    ] {
        let outcome = mail.receive_email(&raw).await.expect("an outcome");
        if why == "ok" {
            // SPF for the sender's domain passed, though DKIM failed: that is enough.
            assert_eq!(outcome.dropped, None);
            assert_eq!(outcome.expenses.len(), 1);
            continue;
        }
        let dropped = outcome.dropped.unwrap_or_default();
        assert!(dropped.contains(why), "{why}: {dropped}");
        assert!(outcome.expenses.is_empty());
    }
    assert_eq!(drafts(&app, "employee").await, before + 1);
    let huge = vec![b'a'; outlay_app::mail::MAX_MAIL_BYTES + 1];
    let outcome = mail.receive_email(&huge).await.expect("an outcome");
    assert!(outcome.dropped.is_some_and(|d| d.contains("larger")));
}

#[tokio::test]
async fn messages_dropped_into_the_mail_folder_are_taken_once() {
    let folder = tempfile::tempdir().expect("a folder");
    let dir = folder.path().to_owned();
    let app = spawn_app_with(|s| {
        receiving(s);
        s.mail_dir = Some(dir.clone());
    })
    .await;
    std::fs::create_dir_all(dir.join("new")).expect("new/");
    std::fs::write(
        dir.join("new/1.eml"),
        message("manager@example.com", PASSED),
    )
    .expect("written");
    std::fs::write(dir.join("new/2.eml"), message("nobody@example.com", PASSED)).expect("written");
    assert_eq!(app.built.read_mail_dir_once().await.expect("a pass"), 2);
    assert_eq!(drafts(&app, "manager").await, 1);
    // Taken messages are seen; a dropped one is also trashed; nothing is taken twice.
    let mut cur: Vec<String> = std::fs::read_dir(dir.join("cur"))
        .expect("cur/")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    cur.sort();
    assert_eq!(cur, ["1.eml:2,S", "2.eml:2,ST"]);
    assert_eq!(app.built.read_mail_dir_once().await.expect("a pass"), 0);
    assert_eq!(drafts(&app, "manager").await, 1);
}

#[cfg(feature = "aws")]
#[tokio::test]
async fn a_message_ses_wrote_to_the_bucket_is_taken_once_and_deleted() {
    let app = spawn_app_with(receiving).await;
    let Some(stack) = app.aws.as_ref() else {
        // Without the AWS backend there is no bucket, and an S3 event is refused, not ignored.
        let refused = app.built.receive_s3_mail("outlay-inbound", "mail/1").await;
        assert!(refused.is_err_and(|e| e.to_string().contains("OUTLAY_MAIL_BUCKET")));
        return;
    };
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&stack.config)
            .force_path_style(true)
            .build(),
    );
    let bucket = crate::aws::INBOUND_BUCKET;
    s3.put_object()
        .bucket(bucket)
        .key("mail/m1 x")
        .body(message("employee@example.com", PASSED).into())
        .send()
        .await
        .expect("SES wrote it");
    // The event as S3 sends it: the key URL-encoded.
    let event = serde_json::json!({"Records": [{"eventSource": "aws:s3",
        "s3": {"bucket": {"name": bucket}, "object": {"key": "mail/m1+x"}}}]});
    let objects = outlay_bootstrap::lambda::s3_objects(&event).expect("an S3 event");
    assert_eq!(objects, [(bucket.to_owned(), "mail/m1 x".to_owned())]);
    let taken = app
        .built
        .receive_s3_mail(bucket, "mail/m1 x")
        .await
        .expect("taken")
        .expect("it was there");
    assert_eq!(taken.expenses.len(), 1);
    assert_eq!(drafts(&app, "employee").await, 1);
    // Deleted once taken: the same event again is nothing.
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("a listing");
    assert_eq!(listed.key_count(), Some(0));
    let again = app
        .built
        .receive_s3_mail(bucket, "mail/m1 x")
        .await
        .expect("no error");
    assert_eq!(again, None);
    assert_eq!(drafts(&app, "employee").await, 1);
    // Only the inbound bucket's mail/ is read.
    assert!(
        app.built
            .receive_s3_mail("outlay-receipts", "mail/m1 x")
            .await
            .is_err()
    );
    assert!(
        app.built
            .receive_s3_mail(bucket, "receipts/x")
            .await
            .is_err()
    );
}

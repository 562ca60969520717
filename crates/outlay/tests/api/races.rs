//! Races: real concurrent requests through the router, many rounds each, and the invariants
//! that must hold whatever the interleaving. A command commits only if what it read to decide
//! is unchanged, so of two requests that each read what the other writes, one loses.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, png, spawn_app};
use crate::receipts::{bare_expense, download, put_upload};

/// How many rounds each race runs.
const ROUNDS: usize = 50;

/// Two requests at the same moment, from two tasks.
pub(crate) async fn race<A, B>(a: A, b: B) -> (A::Output, B::Output)
where
    A: std::future::Future + Send + 'static,
    B: std::future::Future + Send + 'static,
    A::Output: Send + 'static,
    B::Output: Send + 'static,
{
    let a = tokio::spawn(a);
    let b = tokio::spawn(b);
    (
        a.await.expect("the first request completes"),
        b.await.expect("the second request completes"),
    )
}

fn money(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("an amount: {v}"));
    let (whole, cents) = s.split_once('.').unwrap_or((s, "00"));
    whole.parse::<i64>().expect("whole units") * 100 + cents.parse::<i64>().expect("cents")
}

/// The invariants of a report as its owner sees it: a submitted one's stored total is the sum
/// of its expenses' base amounts, its steps match that total and the owner's reporting line,
/// no expense breaks a hard rule, and every step was decided by someone other than the owner.
pub(crate) async fn check_report(app: &TestApp, owner: &str, id: &str) -> Value {
    let r = app.get(owner, &format!("/api/v1/reports/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let report = r.body;
    if report["state"] == "draft" || report["state"] == "rejected" {
        return report;
    }
    let expenses = report["expenses"].as_array().expect("expenses");
    let sum: i64 = expenses.iter().map(|e| money(&e["base_amount"])).sum();
    assert_eq!(
        money(&report["total"]),
        sum,
        "the stored total is the sum of the expenses: {report}"
    );
    let levels: Vec<&str> = report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["level"].as_str().expect("a level"))
        .collect();
    // The demo employee reports to the manager, who reports to the senior; above 1,000.00
    // the senior decides too.
    let expected = if sum > 100_000 {
        vec!["manager", "senior", "finance"]
    } else {
        vec!["manager", "finance"]
    };
    assert_eq!(levels, expected, "the steps fit the total {sum}: {report}");
    for e in expenses {
        for v in e["violations"].as_array().expect("violations") {
            assert_ne!(
                v["severity"], "hard",
                "a submitted expense breaks a hard rule: {e}"
            );
        }
    }
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_and_an_edit_of_one_of_its_expenses_never_both_commit() {
    let app = Arc::new(spawn_app().await);
    let mut both = 0;
    for round in 0..ROUNDS {
        // GIVEN a draft with one 10.00 expense and no receipt (receipts are required from 75.00)
        let e = bare_expense(&app, "employee", "10.00").await;
        let r = app
            .post(
                "employee",
                "/api/v1/reports",
                json!({"title": format!("Round {round}"), "purpose": "", "expense_ids": [e]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let report = r.body["id"].as_str().expect("an id").to_owned();
        // WHEN the owner submits it and raises the expense to 5,000.00 at the same moment
        let (a, b) = (app.clone(), app.clone());
        let (rep, exp) = (report.clone(), e.clone());
        let (submit, patch) = race(
            async move { a.act("employee", &rep, "submit", json!({})).await },
            async move {
                b.call(
                    axum::http::Method::PATCH,
                    &format!("/api/v1/expenses/{exp}"),
                    Some("employee"),
                    Some(json!({"amount": "5000.00"})),
                    &[],
                )
                .await
            },
        )
        .await;
        // THEN at most one of them commits, and the report is consistent either way
        if submit.status == StatusCode::OK && patch.status == StatusCode::OK {
            both += 1;
        }
        for s in [submit.status, patch.status] {
            assert!(
                [
                    StatusCode::OK,
                    StatusCode::CONFLICT,
                    StatusCode::UNPROCESSABLE_ENTITY
                ]
                .contains(&s),
                "round {round}: {s}: {:?} {:?}",
                submit.body,
                patch.body
            );
        }
        let after = check_report(&app, "employee", &report).await;
        if submit.status == StatusCode::OK {
            // No expense of a submitted report changed after its submission.
            assert_eq!(
                after["expenses"], submit.body["expenses"],
                "round {round}: an expense changed under a pending report"
            );
        }
    }
    assert_eq!(both, 0, "a submission and an edit both committed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_and_the_removal_of_a_needed_receipt_never_both_commit() {
    let app = Arc::new(spawn_app().await);
    for round in 0..ROUNDS {
        // GIVEN a draft whose 100.00 expense needs its one receipt
        let e = bare_expense(&app, "employee", "100.00").await;
        let up = app.upload("employee", &e, "image/png", png()).await;
        assert_eq!(up.status, StatusCode::CREATED, "{:?}", up.body);
        let receipt = up.body["id"].as_str().expect("an id").to_owned();
        let r = app
            .post(
                "employee",
                "/api/v1/reports",
                json!({"title": "Hotel", "purpose": "", "expense_ids": [e]}),
            )
            .await;
        let report = r.body["id"].as_str().expect("an id").to_owned();
        // WHEN the owner submits it and deletes the receipt at the same moment
        let (a, b) = (app.clone(), app.clone());
        let (rep, rec) = (report.clone(), receipt.clone());
        let (submit, delete) = race(
            async move { a.act("employee", &rep, "submit", json!({})).await },
            async move {
                b.call(
                    axum::http::Method::DELETE,
                    &format!("/api/v1/receipts/{rec}"),
                    Some("employee"),
                    None,
                    &[],
                )
                .await
            },
        )
        .await;
        // THEN a submitted report still has the receipt its expense needs
        let after = check_report(&app, "employee", &report).await;
        if submit.status == StatusCode::OK {
            assert_ne!(
                delete.status,
                StatusCode::NO_CONTENT,
                "round {round}: both committed"
            );
            let receipts = after["expenses"][0]["receipts"]
                .as_array()
                .expect("receipts");
            assert_eq!(receipts.len(), 1, "round {round}: {after}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_reporting_line_changes_that_close_a_loop_never_both_commit() {
    let app = Arc::new(spawn_app().await);
    let mut ids = Vec::new();
    for n in 0..2 * ROUNDS {
        let r = app
            .post(
                "admin",
                "/api/v1/users",
                json!({"email": format!("line{n}@example.com"), "name": format!("Line {n}"), "roles": ["manager"]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        ids.push(r.body["id"].as_str().expect("an id").to_owned());
    }
    for (round, pair) in ids.chunks(2).enumerate() {
        let (x, y) = (pair[0].clone(), pair[1].clone());
        // WHEN x is put under y and y under x at the same moment
        let patch = |app: Arc<TestApp>, who: String, manager: String| async move {
            app.call(
                axum::http::Method::PATCH,
                &format!("/api/v1/users/{who}"),
                Some("admin"),
                Some(json!({"manager_id": manager})),
                &[],
            )
            .await
            .status
        };
        let (a, b) = race(
            patch(app.clone(), x.clone(), y.clone()),
            patch(app.clone(), y.clone(), x.clone()),
        )
        .await;
        // THEN at most one commits, and the reporting line has no loop
        assert!(
            !(a == StatusCode::OK && b == StatusCode::OK),
            "round {round}: both changes committed"
        );
        let manager_of = |id: &str| {
            let app = app.clone();
            let id = id.to_owned();
            async move {
                let users = app.get("admin", "/api/v1/users?limit=100").await;
                let mut next = None;
                let mut cursor = users.body;
                loop {
                    for u in cursor["items"].as_array().expect("users") {
                        if u["id"] == id.as_str() {
                            next = u["manager_id"].as_str().map(str::to_owned);
                        }
                    }
                    match cursor["next_cursor"].as_str() {
                        Some(c) => {
                            cursor = app
                                .get("admin", &format!("/api/v1/users?limit=100&cursor={c}"))
                                .await
                                .body;
                        }
                        None => break,
                    }
                }
                next
            }
        };
        let (mx, my) = (manager_of(&x).await, manager_of(&y).await);
        assert!(
            !(mx.as_deref() == Some(y.as_str()) && my.as_deref() == Some(x.as_str())),
            "round {round}: x and y report to each other"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stored_receipt_is_always_the_bytes_whose_hash_was_recorded() {
    let app = Arc::new(spawn_app().await);
    // Two valid PNGs of the same size: the signed URL fits either.
    let first = png();
    let mut second = png();
    let n = second.len();
    second[n - 1] ^= 0x01; // the last byte of the IEND chunk's CRC: still a PNG by its magic
    assert_eq!(first.len(), second.len());
    let e = bare_expense(&app, "employee", "80.00").await;
    for round in 0..ROUNDS {
        // GIVEN a two-step upload whose first bytes arrived
        let start = app
            .post(
                "employee",
                &format!("/api/v1/expenses/{e}/receipt-uploads"),
                json!({"filename": "bill.png", "content_type": "image/png", "size": first.len()}),
            )
            .await;
        assert_eq!(start.status, StatusCode::CREATED, "{:?}", start.body);
        let receipt = start.body["receipt_id"].as_str().expect("an id").to_owned();
        let url = start.body["upload_url"].as_str().expect("a URL").to_owned();
        assert!(
            put_upload(&app, &url, "image/png", first.clone())
                .await
                .is_success()
        );
        // WHEN it is completed twice while other bytes are PUT to the same URL
        let complete = |app: Arc<TestApp>, receipt: String| async move {
            app.post(
                "employee",
                &format!("/api/v1/receipts/{receipt}/complete"),
                json!({}),
            )
            .await
        };
        let (a, b) = (app.clone(), second.clone());
        let url2 = url.clone();
        let ((one, two), _) = race(
            {
                let (app, receipt) = (app.clone(), receipt.clone());
                async move {
                    race(
                        complete(app.clone(), receipt.clone()),
                        complete(app, receipt),
                    )
                    .await
                }
            },
            async move { put_upload(&a, &url2, "image/png", b).await },
        )
        .await;
        // THEN one completion (at least) succeeds, and what is stored hashes to the record
        let ok: Vec<&crate::helpers::Resp> = [&one, &two]
            .into_iter()
            .filter(|r| r.status == StatusCode::OK)
            .collect();
        assert!(
            !ok.is_empty(),
            "round {round}: {:?} {:?}",
            one.body,
            two.body
        );
        let (status, bytes, _) = download(&app, "employee", &receipt).await;
        assert_eq!(status, StatusCode::OK, "round {round}");
        let stored = app.get("employee", &format!("/api/v1/expenses/{e}")).await;
        let recorded = stored.body["receipts"]
            .as_array()
            .expect("receipts")
            .iter()
            .find(|r| r["id"] == receipt.as_str())
            .map(|r| r["sha256"].as_str().expect("a hash").to_owned())
            .expect("the receipt is listed");
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            recorded,
            "round {round}: the stored bytes are not the ones hashed"
        );
        for r in ok {
            assert_eq!(r.body["sha256"], recorded.as_str(), "round {round}");
        }
    }
}

/// Every actor pressing every button on a few reports at once: whatever wins, the workflow's
/// invariants hold, and the payer never decided a step of the report in any submission.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_decisions_by_everyone_keep_every_invariant() {
    let app = Arc::new(spawn_app().await);
    for who in ["employee", "manager", "senior", "finance", "payer"] {
        app.token(who).await;
    }
    // On moto every request of a round is served one at a time (scripts/moto-serial.py), so
    // the AWS run takes fewer rounds of this, the widest race; each pairwise race above runs
    // its full ROUNDS on both backends.
    let rounds = if crate::helpers::on_aws() { 20 } else { ROUNDS };
    for round in 0..rounds {
        // Distinct amounts, so that no expense is a duplicate of an earlier round's.
        let amount = if round % 2 == 0 {
            format!("{}.00", 1500 + round)
        } else {
            format!("{}.00", 10 + round)
        };
        let report = app.report("employee", &[&amount]).await;
        app.must("employee", &report, "submit", json!({})).await;
        // A few waves of everyone acting at once until the report is paid or stuck.
        for _wave in 0..6 {
            let mut tasks = Vec::new();
            for (who, action, body) in [
                ("manager", "approve", json!({})),
                ("senior", "approve", json!({})),
                ("finance", "approve", json!({})),
                ("payer", "approve", json!({})),
                ("finance", "reject", json!({"reason": "Check the date"})),
                ("payer", "reject", json!({"reason": "Check the amount"})),
                ("payer", "pay", json!({"reference": format!("TX-{round}")})),
                (
                    "finance",
                    "pay",
                    json!({"reference": format!("TX-{round}")}),
                ),
                ("employee", "submit", json!({})),
                ("employee", "withdraw", json!({})),
            ] {
                let app = app.clone();
                let report = report.clone();
                tasks.push(tokio::spawn(async move {
                    app.act(who, &report, action, body).await.status
                }));
            }
            for t in tasks {
                let status = t.await.expect("the request completes");
                assert!(
                    [
                        StatusCode::OK,
                        StatusCode::CONFLICT,
                        StatusCode::FORBIDDEN,
                        StatusCode::UNPROCESSABLE_ENTITY
                    ]
                    .contains(&status),
                    "round {round}: {status}"
                );
            }
            let now = check_report(&app, "employee", &report).await;
            if now["state"] == "paid" {
                break;
            }
        }
        let after = check_report(&app, "employee", &report).await;
        if after["state"] == "paid" {
            let payer = after["payment"]["by"].as_str().expect("a payer").to_owned();
            let history = app
                .get("employee", &format!("/api/v1/reports/{report}/history"))
                .await;
            for event in history.body["events"].as_array().expect("events") {
                let action = event["action"].as_str().unwrap_or_default();
                if matches!(action, "report.approve" | "report.reject") {
                    assert_ne!(
                        event["actor_id"].as_str(),
                        Some(payer.as_str()),
                        "round {round}: the payer decided a step: {event}"
                    );
                }
            }
        }
    }
}

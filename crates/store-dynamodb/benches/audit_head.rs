//! How the single audit-chain head behaves under concurrent writers.
//!
//! Each round runs `writers` tasks that each commit 25 changes as fast as they can, against
//! moto on loopback, in two shapes: a change that appends an audit event (so it moves the one
//! head item, as every transition does) and, for comparison, a change of the same size that
//! touches only its own item (a notification). It prints changes per second, the median and
//! 99th percentile commit latency, how many transactions had to be retried because the head
//! moved under them, and how many changes failed (moto answers HTTP 500 under many concurrent
//! transactions; DynamoDB does not).
//!
//! moto is one Python process, so absolute numbers say little about DynamoDB; the ratio between
//! the two shapes and the retry counts are what this measures.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use outlay_app::notify::Notification;
use outlay_app::{Change, Write};
use outlay_domain::{AuditRecord, UserId};
use outlay_store_dynamodb::DynamoStore;
use outlay_test_support::moto::Moto;

const PER_WRITER: usize = 25;

/// Audit events whose change the store acknowledged.
static ACKNOWLEDGED: AtomicUsize = AtomicUsize::new(0);

fn audited(n: usize) -> Change {
    Change {
        audit: vec![AuditRecord {
            at: Utc::now(),
            actor_id: None,
            action: "bench.append".into(),
            entity_kind: "bench".into(),
            entity_id: n.to_string(),
            source: Some("bench".into()),
            before: None,
            after: Some(format!("{{\"n\":{n}}}")),
        }],
        ..Change::default()
    }
}

fn unaudited(_: usize) -> Change {
    Change {
        writes: vec![Write::AddNotification(Notification {
            id: uuid::Uuid::now_v7(),
            user_id: UserId::from_uuid(uuid::Uuid::from_u128(1)),
            report_id: None,
            event: "bench".into(),
            title: "bench".into(),
            body: "bench".into(),
            created_at: Utc::now(),
            read_at: None,
        })],
        ..Change::default()
    }
}

async fn round(store: &Arc<DynamoStore>, writers: usize, make: fn(usize) -> Change) -> String {
    let retries_before = store.head_retries();
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(PER_WRITER);
                let mut failed = 0;
                for i in 0..PER_WRITER {
                    let change = make(w * PER_WRITER + i);
                    let events = change.audit.len();
                    let t = Instant::now();
                    match outlay_app::Store::commit(store.as_ref(), change).await {
                        Ok(()) => {
                            latencies.push(t.elapsed());
                            ACKNOWLEDGED.fetch_add(events, Ordering::Relaxed);
                        }
                        // moto itself gives way (HTTP 500) under many concurrent transactions.
                        Err(_) => failed += 1,
                    }
                }
                (latencies, failed)
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (l, f) = t.await.expect("the writer finishes");
        latencies.extend(l);
        failed += f;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    format!(
        "{:>5.0} changes/s  p50 {:>6.1} ms  p99 {:>7.1} ms  head retries {:>4}  failed {failed}",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        store.head_retries() - retries_before,
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let moto = Moto::start("the audit-head benchmark");
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto.url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "test"),
        ))
        .build();
    let store = Arc::new(DynamoStore::new(
        outlay_store_dynamodb::Client::new(&config),
        "outlay-bench",
    ));
    store.create_table().await.expect("the table");
    // Warm up connections and moto.
    round(&store, 2, audited).await;
    println!("writers  shape              result");
    for writers in [1, 2, 4] {
        println!(
            "{writers:>7}  audit event       {}",
            round(&store, writers, audited).await
        );
        println!(
            "{writers:>7}  no audit event    {}",
            round(&store, writers, unaudited).await
        );
    }
    let verified = verify(&store).await;
    assert!(verified.is_ok(), "the chain verifies: {verified:?}");
    println!(
        "the chain verifies: {verified:?} events in it, {} acknowledged",
        ACKNOWLEDGED.load(Ordering::Relaxed)
    );
    // Beyond this, moto's transactions stop being atomic (it answers HTTP 500 part-way), so
    // the chain is only reported, not required, after this round.
    println!(
        "{:>7}  audit event       {}",
        8,
        round(&store, 8, audited).await
    );
    println!(
        "{:>7}  no audit event    {}",
        8,
        round(&store, 8, unaudited).await
    );
    println!(
        "after 8 writers on moto, the chain: {:?} events in it, {} acknowledged",
        verify(&store).await,
        ACKNOWLEDGED.load(Ordering::Relaxed)
    );
}

async fn verify(store: &DynamoStore) -> Result<u64, outlay_domain::BrokenEvent> {
    let events = outlay_app::Store::audit_page(store, 0, 10_000)
        .await
        .expect("the chain reads");
    let mut chain = outlay_domain::ChainVerifier::default();
    for event in &events {
        chain.push(event)?;
    }
    Ok(chain.checked())
}

//! The store conformance suite against DynamoDB (moto server on loopback).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use outlay_store_conformance::moto::Moto;
use outlay_store_dynamodb::DynamoStore;

fn client(url: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

#[tokio::test]
async fn dynamodb_passes_the_store_conformance_suite() {
    let Some(moto) = Moto::start("dynamodb_passes_the_store_conformance_suite") else {
        return;
    };
    let url = moto.url.clone();
    let counter = Arc::new(AtomicUsize::new(0));
    let fresh = move || {
        let (url, n) = (url.clone(), counter.fetch_add(1, Ordering::SeqCst));
        Box::pin(async move {
            let store = DynamoStore::new(client(&url), format!("outlay-{n}"));
            store.create_table().await.expect("the table is created");
            Arc::new(store) as Arc<dyn outlay_store_conformance::FullStore>
        }) as outlay_store_conformance::FreshStore
    };
    outlay_store_conformance::run_all(&fresh).await;
}

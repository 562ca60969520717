//! The store conformance suite against DynamoDB (moto server on loopback).

use std::sync::Arc;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use outlay_store_dynamodb::DynamoStore;
use outlay_test_support::moto::Moto;

fn client(url: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A fresh table of its own, in the moto server all the checks share.
async fn fresh() -> outlay_store_conformance::Fresh {
    let moto = Moto::shared("the DynamoDB conformance suite");
    let table = format!("outlay-{}", uuid::Uuid::new_v4().simple());
    let store = DynamoStore::new(client(&moto.url), table);
    store.create_table().await.expect("the table is created");
    Arc::new(store)
}

outlay_store_conformance::conformance_tests!(
    #[ignore = "needs moto_server: `bash .ci/run` runs it (cargo test -- --include-ignored)"]
    fresh
);

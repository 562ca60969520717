//! S3 receipts against moto: objects, moves, and presigned upload and download URLs.
#![cfg(feature = "s3")]

use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use outlay_app::BlobStore;
use outlay_blobs::S3Blobs;
use outlay_test_support::moto::Moto;

#[tokio::test]
#[ignore = "needs moto_server: `bash .ci/run` runs it (cargo test -- --include-ignored)"]
async fn receipts_live_in_s3_and_presigned_urls_carry_them() {
    let moto = Moto::start("receipts_live_in_s3_and_presigned_urls_carry_them");
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&moto.url)
        .force_path_style(true)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    client
        .create_bucket()
        .bucket("receipts")
        .send()
        .await
        .expect("a bucket");
    let blobs = S3Blobs::new(client, "receipts");

    // GIVEN a file uploaded to a presigned URL, for its exact type and size
    let pdf = b"%PDF-1.4\n%%EOF\n".to_vec();
    let url = blobs
        .upload_url(
            "quarantine/r1",
            "application/pdf",
            pdf.len() as u64,
            Duration::from_secs(60),
        )
        .await
        .expect("presigned")
        .expect("S3 signs its own URLs");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(
        url.contains("content-length") && url.contains("content-type"),
        "type and size are signed: {url}"
    );
    let put = reqwest::Client::new()
        .put(&url)
        .header("content-type", "application/pdf")
        .body(pdf.clone())
        .send()
        .await
        .expect("uploaded");
    assert!(put.status().is_success(), "{}", put.status());

    // WHEN it is promoted out of quarantine
    assert_eq!(
        blobs.get("quarantine/r1").await.expect("read"),
        Some(pdf.clone())
    );
    blobs
        .rename("quarantine/r1", "receipts/r1")
        .await
        .expect("moved");
    assert_eq!(blobs.get("quarantine/r1").await.expect("read"), None);

    // THEN a presigned download answers it as an attachment
    let url = blobs
        .download_url(
            "receipts/r1",
            "hotel.pdf",
            "application/pdf",
            Duration::from_secs(60),
        )
        .await
        .expect("presigned")
        .expect("a URL");
    assert!(
        url.contains("response-content-disposition=attachment"),
        "{url}"
    );
    let got = reqwest::get(&url).await.expect("downloaded");
    assert!(got.status().is_success());
    assert_eq!(got.bytes().await.expect("bytes").to_vec(), pdf);
    blobs
        .put("receipts/r2", b"x".to_vec())
        .await
        .expect("stored");
    blobs.delete("receipts/r2").await.expect("deleted");
    assert_eq!(blobs.get("receipts/r2").await.expect("read"), None);
}

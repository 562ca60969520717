//! Receipts in S3, with presigned URLs for the two-step upload (signed for the exact content
//! type and length, into `quarantine/`) and for downloads (as attachments, for a minute).

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use outlay_app::BlobStore;

/// Receipts in one S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Blobs {
    client: Client,
    bucket: String,
}

impl S3Blobs {
    /// Uses `bucket` through an SDK client.
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

fn context<E: std::error::Error + Send + Sync + 'static>(
    e: aws_sdk_s3::error::SdkError<E>,
    what: String,
) -> anyhow::Error {
    anyhow::anyhow!("{what}: {}", aws_sdk_s3::error::DisplayErrorContext(e))
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| context(e, format!("Failed to store {key}")))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => Ok(Some(
                object
                    .body
                    .collect()
                    .await
                    .context("Failed to read a receipt")?
                    .into_bytes()
                    .to_vec(),
            )),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(context(e, format!("Failed to read {key}"))),
        }
    }

    async fn rename(&self, from: &str, to: &str) -> anyhow::Result<()> {
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!("{}/{from}", self.bucket))
            .key(to)
            .send()
            .await
            .map_err(|e| context(e, format!("Failed to copy {from} to {to}")))?;
        self.delete(from).await
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| context(e, format!("Failed to delete {key}")))?;
        Ok(())
    }

    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_in: Duration,
    ) -> anyhow::Result<Option<String>> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(i64::try_from(size).context("size too large")?)
            .presigned(PresigningConfig::expires_in(expires_in).context("Invalid expiry")?)
            .await
            .map_err(|e| context(e, "Failed to presign an upload".into()))?;
        Ok(Some(request.uri().to_owned()))
    }

    async fn download_url(
        &self,
        key: &str,
        filename: &str,
        content_type: &str,
        expires_in: Duration,
    ) -> anyhow::Result<Option<String>> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!("attachment; filename=\"{filename}\""))
            .response_content_type(content_type)
            .presigned(PresigningConfig::expires_in(expires_in).context("Invalid expiry")?)
            .await
            .map_err(|e| context(e, "Failed to presign a download".into()))?;
        Ok(Some(request.uri().to_owned()))
    }
}

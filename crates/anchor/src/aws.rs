//! The anchor on AWS: checkpoints signed by a KMS key (`ECC_NIST_P256`, `ECDSA_SHA_256`; the
//! function may only `kms:Sign` and `kms:GetPublicKey`) and kept in an S3 bucket with Object
//! Lock in compliance mode. Nobody, the account root included, can delete or shorten a locked
//! version before its retention ends; a new version under the same key leaves the old one in
//! place, so the log reads every version, not only the latest.

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;
use outlay_app::{AuditSigner, CheckpointEntries, CheckpointLog};
use outlay_domain::Checkpoint;

/// Signs with an asymmetric KMS key.
pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    key_id: String,
    public: tokio::sync::OnceCell<Vec<u8>>,
}

impl KmsSigner {
    /// Signs with `key_id` (an id, ARN or alias of an `ECC_NIST_P256` `SIGN_VERIFY` key).
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
            public: tokio::sync::OnceCell::new(),
        }
    }
}

#[async_trait]
impl AuditSigner for KmsSigner {
    async fn public_key(&self) -> anyhow::Result<Vec<u8>> {
        let der = self
            .public
            .get_or_try_init(|| async {
                let out = self
                    .client
                    .get_public_key()
                    .key_id(&self.key_id)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "Failed to read the audit key's public key: {}",
                            aws_sdk_kms::error::DisplayErrorContext(e)
                        )
                    })?;
                out.public_key
                    .map(Blob::into_inner)
                    .context("KMS returned no public key")
            })
            .await?;
        Ok(der.clone())
    }

    async fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "Failed to sign an audit checkpoint: {}",
                    aws_sdk_kms::error::DisplayErrorContext(e)
                )
            })?;
        out.signature
            .map(Blob::into_inner)
            .context("KMS returned no signature")
    }
}

/// Checkpoints as objects `checkpoints/<seq, 20 digits>-<signed at, ms>.json` in a bucket
/// with Object Lock (compliance mode, default retention set on the bucket).
pub struct S3Log {
    client: aws_sdk_s3::Client,
    bucket: String,
}

const PREFIX: &str = "checkpoints/";

impl S3Log {
    /// The log in `bucket`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

fn s3_error<E: std::error::Error + Send + Sync + 'static>(
    e: aws_sdk_s3::error::SdkError<E>,
    what: &str,
) -> anyhow::Error {
    anyhow::anyhow!("{what}: {}", aws_sdk_s3::error::DisplayErrorContext(e))
}

#[async_trait]
impl CheckpointLog for S3Log {
    async fn append(&self, checkpoint: &Checkpoint) -> anyhow::Result<()> {
        let key = format!(
            "{PREFIX}{:020}-{:013}.json",
            checkpoint.seq,
            checkpoint.at.timestamp_millis()
        );
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            // Object Lock buckets take a write only with an integrity checksum.
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .body(ByteStream::from(serde_json::to_vec(checkpoint)?))
            .send()
            .await
            .map_err(|e| s3_error(e, "Failed to store an audit checkpoint"))?;
        Ok(())
    }

    async fn checkpoints(&self) -> anyhow::Result<CheckpointEntries> {
        // Every version of every key: overwriting a key cannot hide what it held.
        let mut versions = Vec::new();
        let (mut key_marker, mut version_marker) = (None, None);
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(PREFIX)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .map_err(|e| s3_error(e, "Failed to list the audit checkpoints"))?;
            for v in page.versions() {
                if let (Some(key), Some(id)) = (v.key(), v.version_id()) {
                    let modified = v.last_modified().map(|t| (t.secs(), t.subsec_nanos()));
                    versions.push((key.to_owned(), modified, id.to_owned()));
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
            if key_marker.is_none() {
                break;
            }
        }
        versions.sort();
        // The versions are read 16 at a time: one after another, a few thousand of them would
        // take longer than API Gateway waits.
        let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
        let mut reads = tokio::task::JoinSet::new();
        for (n, (key, _, version)) in versions.into_iter().enumerate() {
            let (client, bucket, limit) = (self.client.clone(), self.bucket.clone(), limit.clone());
            reads.spawn(async move {
                let _slot = limit.acquire_owned().await?;
                let object = client
                    .get_object()
                    .bucket(bucket)
                    .key(&key)
                    .version_id(&version)
                    .send()
                    .await
                    .map_err(|e| s3_error(e, "Failed to read an audit checkpoint"))?;
                let bytes = object
                    .body
                    .collect()
                    .await
                    .context("Failed to read an audit checkpoint")?
                    .into_bytes();
                let entry = serde_json::from_slice::<Checkpoint>(&bytes)
                    .map_err(|_| format!("{key} (version {version}) is not a checkpoint"));
                anyhow::Ok((n, entry))
            });
        }
        let mut read = Vec::new();
        while let Some(done) = reads.join_next().await {
            read.push(done.context("A checkpoint read failed")??);
        }
        read.sort_by_key(|(n, _)| *n);
        let mut out = CheckpointEntries::default();
        for (_, entry) in read {
            match entry {
                Ok(cp) => out.checkpoints.push(cp),
                Err(note) => out.unreadable.push(note),
            }
        }
        Ok(out)
    }
}

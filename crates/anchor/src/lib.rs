//! The audit chain's anchor outside the database: who signs checkpoints and where they are
//! kept.
//!
//! | | signer | log |
//! |---|---|---|
//! | one machine | [`KeyFile`]: a P-256 key in a PKCS#8 PEM file (0600) | [`FileLog`]: JSON lines, appended and synced |
//! | AWS | `KmsSigner`: an `ECC_NIST_P256` KMS key; the private key never leaves KMS | `S3Log`: a bucket with Object Lock in compliance mode; every version is read |

#[cfg(feature = "aws")]
mod aws;

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use async_trait::async_trait;
use outlay_app::{AuditSigner, CheckpointEntries, CheckpointLog};
use outlay_domain::Checkpoint;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};

#[cfg(feature = "aws")]
pub use aws::{KmsSigner, S3Log};

/// A signing key kept in a file, apart from the database.
pub struct KeyFile {
    key: SigningKey,
    public: Vec<u8>,
}

impl KeyFile {
    /// The key in a PKCS#8 PEM document.
    pub fn from_pem(pem: &[u8]) -> anyhow::Result<Self> {
        let key = std::str::from_utf8(pem)
            .ok()
            .and_then(|pem| SigningKey::from_pkcs8_pem(pem).ok())
            .context("not a P-256 PKCS#8 key")?;
        let public = key
            .verifying_key()
            .to_public_key_der()
            .map_err(|e| anyhow::anyhow!("Failed to encode the audit public key: {e}"))?
            .into_vec();
        Ok(Self { key, public })
    }

    /// A new random key, as a PKCS#8 PEM document to keep (0600, away from the database).
    pub fn generate_pem() -> anyhow::Result<Vec<u8>> {
        let rng = ring::rand::SystemRandom::new();
        // A random 32-byte string is a valid scalar but for a chance of about 2^-32.
        for _ in 0..8 {
            let mut bytes = [0_u8; 32];
            ring::rand::SecureRandom::fill(&rng, &mut bytes)
                .map_err(|_| anyhow::anyhow!("Failed to generate the audit key"))?;
            if let Ok(key) = SigningKey::from_slice(&bytes) {
                let pem = key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| anyhow::anyhow!("Failed to encode the audit key: {e}"))?;
                return Ok(pem.as_bytes().to_vec());
            }
        }
        anyhow::bail!("Failed to generate the audit key")
    }
}

#[async_trait]
impl AuditSigner for KeyFile {
    async fn public_key(&self) -> anyhow::Result<Vec<u8>> {
        Ok(self.public.clone())
    }

    async fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let signature: Signature = self.key.sign(message);
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

/// Checkpoints as JSON lines in a file, only ever appended to and synced after each line.
pub struct FileLog {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl FileLog {
    /// The log at `path` (created on the first append).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: tokio::sync::Mutex::new(()),
        }
    }
}

#[async_trait]
impl CheckpointLog for FileLog {
    async fn append(&self, checkpoint: &Checkpoint) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(checkpoint)?;
        line.push(b'\n');
        let _one_at_a_time = self.lock.lock().await;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&path)
                .with_context(|| format!("Failed to open {}", path.display()))?;
            file.write_all(&line)?;
            file.sync_data()?;
            Ok(())
        })
        .await?
    }

    async fn checkpoints(&self) -> anyhow::Result<CheckpointEntries> {
        let text = match tokio::fs::read_to_string(&self.path).await {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(CheckpointEntries::default());
            }
            Err(e) => {
                return Err(e).with_context(|| format!("Failed to read {}", self.path.display()));
            }
        };
        let mut entries = CheckpointEntries::default();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(line) {
                Ok(cp) => entries.checkpoints.push(cp),
                Err(_) => entries.unreadable.push(format!(
                    "line {} of {} is not a checkpoint",
                    i + 1,
                    self.path.display()
                )),
            }
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use outlay_domain::CheckpointKey;

    use super::*;

    #[tokio::test]
    async fn a_key_signs_what_its_public_key_verifies_and_the_log_keeps_every_line() {
        let dir = tempfile::tempdir().expect("a folder");
        let pem = KeyFile::generate_pem().expect("generated");
        let signer = KeyFile::from_pem(&pem).expect("parsed");
        let again = KeyFile::from_pem(&pem).expect("parsed again");
        assert_eq!(signer.public, again.public, "the same key after a restart");
        assert_ne!(
            KeyFile::from_pem(&KeyFile::generate_pem().expect("another"))
                .expect("parsed")
                .public,
            signer.public
        );

        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("a time");
        let key = CheckpointKey::from_der(&signer.public_key().await.expect("key")).expect("P-256");
        let der = again
            .sign(&Checkpoint::message(3, "ab", at))
            .await
            .expect("signed");
        let cp = Checkpoint::signed(3, "ab", at, key.fingerprint().to_owned(), &der);
        assert!(key.signed(&cp));
        let log = FileLog::new(dir.path().join("checkpoints.jsonl"));
        assert!(
            log.checkpoints()
                .await
                .expect("empty")
                .checkpoints
                .is_empty()
        );
        log.append(&cp).await.expect("appended");
        log.append(&cp).await.expect("appended");
        let read = log.checkpoints().await.expect("read");
        assert_eq!(read.checkpoints, vec![cp.clone(), cp]);
        assert!(read.unreadable.is_empty());
    }

    #[tokio::test]
    async fn a_line_that_is_not_a_checkpoint_is_named_and_the_others_still_read() {
        // GIVEN a log with a good checkpoint, a garbage line, then another checkpoint
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("checkpoints.jsonl");
        let log = FileLog::new(&path);
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("a time");
        let cp = Checkpoint::signed(1, "ab", at, "k".into(), b"sig");
        log.append(&cp).await.expect("appended");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"{\"seq\": \"garbage\n"))
            .expect("written");
        log.append(&cp).await.expect("appended");
        // WHEN it is read
        let read = log.checkpoints().await.expect("read, not refused");
        // THEN both checkpoints are there and the bad line is named
        assert_eq!(read.checkpoints, vec![cp.clone(), cp]);
        assert_eq!(read.unreadable.len(), 1);
        assert!(
            read.unreadable[0].starts_with("line 2 of"),
            "{:?}",
            read.unreadable
        );
    }

    #[test]
    fn a_key_file_that_is_not_a_key_is_refused() {
        let err = KeyFile::from_pem(b"not a key").err().expect("refused");
        assert!(err.to_string().contains("not a P-256 PKCS#8 key"), "{err}");
    }
}

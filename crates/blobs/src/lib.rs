//! Receipt files behind the [`BlobStore`] port, on the `object_store` crate.
//!
//! On one machine the files live under `<data-dir>/receipts`. `object_store` writes each file
//! to a temporary name and renames it into place; this adapter then `fsync`s the file and its
//! folder, so that a receipt acknowledged to a client survives a power cut like the database
//! row that points to it.

#[cfg(feature = "s3")]
mod s3;

#[cfg(feature = "s3")]
pub use s3::S3Blobs;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{ObjectStore, PutPayload};
use outlay_app::BlobStore;

/// Receipts in a folder on the local disk.
#[derive(Debug, Clone)]
pub struct LocalBlobs {
    root: PathBuf,
    store: Arc<LocalFileSystem>,
}

impl LocalBlobs {
    /// Uses (creating) the folder `root`.
    pub fn open(root: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(root)
            .with_context(|| format!("Failed to create {}", root.display()))?;
        let store = LocalFileSystem::new_with_prefix(root)
            .with_context(|| format!("Failed to open the receipt folder {}", root.display()))?;
        Ok(Self {
            root: root.to_owned(),
            store: Arc::new(store),
        })
    }

    fn key(key: &str) -> anyhow::Result<Key> {
        Key::parse(key).with_context(|| format!("Invalid blob key {key}"))
    }

    /// Flushes a file and its folder to the disk.
    async fn sync(&self, key: &str) -> anyhow::Result<()> {
        let file = self.root.join(key);
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::File::open(&file)?.sync_all()?;
            if let Some(dir) = file.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        })
        .await
        .context("Failed to join the sync task")?
        .context("Failed to sync a receipt to disk")
    }
}

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.store
            .put(&Self::key(key)?, PutPayload::from(bytes))
            .await
            .with_context(|| format!("Failed to store {key}"))?;
        self.sync(key).await
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match self.store.get(&Self::key(key)?).await {
            Ok(found) => Ok(Some(
                found
                    .bytes()
                    .await
                    .with_context(|| format!("Failed to read {key}"))?
                    .to_vec(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context(format!("Failed to read {key}"))),
        }
    }

    async fn rename(&self, from: &str, to: &str) -> anyhow::Result<()> {
        self.store
            .rename(&Self::key(from)?, &Self::key(to)?)
            .await
            .with_context(|| format!("Failed to move {from} to {to}"))?;
        self.sync(to).await
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.store.delete(&Self::key(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(anyhow::Error::new(e).context(format!("Failed to delete {key}"))),
        }
    }

    async fn upload_url(
        &self,
        _: &str,
        _: &str,
        _: u64,
        _: Duration,
    ) -> anyhow::Result<Option<String>> {
        // The local disk has no URL of its own: Outlay receives the upload itself.
        Ok(None)
    }

    async fn download_url(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: Duration,
    ) -> anyhow::Result<Option<String>> {
        // Outlay serves local files itself, after the same authorisation.
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_round_trip_move_and_disappear() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let blobs = LocalBlobs::open(&dir.path().join("receipts")).expect("opens");
        assert_eq!(blobs.get("quarantine/a").await.expect("reads"), None);
        blobs
            .put("quarantine/a", b"%PDF-1.7".to_vec())
            .await
            .expect("stored");
        blobs
            .rename("quarantine/a", "receipts/a")
            .await
            .expect("moved");
        assert_eq!(blobs.get("quarantine/a").await.expect("reads"), None);
        assert_eq!(
            blobs.get("receipts/a").await.expect("reads"),
            Some(b"%PDF-1.7".to_vec())
        );
        assert!(
            dir.path().join("receipts/receipts/a").exists(),
            "files live under the folder"
        );
        blobs.delete("receipts/a").await.expect("deleted");
        blobs
            .delete("receipts/a")
            .await
            .expect("deleting twice is fine");
        assert_eq!(blobs.get("receipts/a").await.expect("reads"), None);
        assert!(
            blobs
                .upload_url("k", "image/png", 1, Duration::from_secs(1))
                .await
                .expect("answers")
                .is_none()
        );
    }
}

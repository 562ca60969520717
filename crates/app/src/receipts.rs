//! Receipts: direct and two-step uploads, checked by size and magic bytes, stored under keys
//! the server chooses, and served only to those who may see the expense's report.
//!
//! Two-step uploads on one machine use an upload URL of Outlay itself, signed with HMAC-SHA256
//! over the receipt id, size, content type and expiry; a store with its own signed URLs (S3)
//! hands out those instead, and the same `complete` call then checks what arrived.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use outlay_domain::receipt::safe_filename;
use outlay_domain::{
    Expense, ExpenseId, MAX_RECEIPT_BYTES, Receipt, ReceiptId, ReceiptState, ReceiptType,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{App, AppError, Caller, Change, Guard, Idempotency, Result, Write};

/// How long an upload URL stays valid.
const UPLOAD_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Where a two-step upload goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadTicket {
    /// The pending receipt.
    pub receipt: Receipt,
    /// An absolute URL from the blob store (S3), if it signs its own.
    pub upload_url: Option<String>,
    /// Otherwise Outlay's own path, with its signature, to PUT the bytes to.
    pub upload_path: Option<String>,
    /// When the URL stops working.
    pub expires_at: DateTime<Utc>,
}

/// A receipt's content, for download: its bytes, or a short-lived URL to them.
#[derive(Debug, Clone)]
pub struct ReceiptFile {
    /// The receipt.
    pub receipt: Receipt,
    /// The bytes, when Outlay serves them itself.
    pub bytes: Vec<u8>,
    /// A presigned download URL, when the blob store gives one (then `bytes` is empty).
    pub url: Option<String>,
}

/// How long a download URL stays valid.
const DOWNLOAD_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Where a receipt's checked bytes live: named by their hash too, so that bytes which were not
/// checked (a second upload to the same signed URL, a racing `complete`) can never take the
/// place of the ones whose SHA-256 the record holds.
pub(crate) fn stored_key(id: ReceiptId, sha256: &str) -> String {
    format!("receipts/{id}/{sha256}")
}

/// Where receipts were kept before they were named by their hash.
fn legacy_key(id: ReceiptId) -> String {
    format!("receipts/{id}")
}

fn quarantine_key(id: ReceiptId) -> String {
    format!("quarantine/{id}")
}

pub(crate) fn declared_type(content_type: &str) -> Result<ReceiptType> {
    ReceiptType::from_mime(content_type).ok_or_else(|| {
        AppError::UnsupportedMedia(format!(
            "receipts must be image/jpeg, image/png or application/pdf, not `{}`",
            content_type.chars().take(60).collect::<String>()
        ))
    })
}

fn check_size(size: u64) -> Result<()> {
    if size == 0 {
        return Err(AppError::BadInput("the receipt is empty".into()));
    }
    if size > MAX_RECEIPT_BYTES {
        return Err(AppError::TooLarge(format!(
            "a receipt may be at most {MAX_RECEIPT_BYTES} bytes (10 MB)"
        )));
    }
    Ok(())
}

/// Checks the content really is the declared type, and answers its SHA-256.
pub(crate) fn check_content(kind: ReceiptType, bytes: &[u8]) -> Result<String> {
    check_size(bytes.len() as u64)?;
    if ReceiptType::sniff(bytes) != Some(kind) {
        // A supported type whose bytes say otherwise: the request is well-formed, its file is not.
        return Err(AppError::Unprocessable(format!(
            "the file's content is not {}",
            kind.mime()
        )));
    }
    Ok(hex::encode(Sha256::digest(bytes)))
}

impl App {
    fn sign_upload(
        &self,
        id: ReceiptId,
        size: u64,
        content_type: &str,
        expires: i64,
    ) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.upload_key)
            .expect("HMAC takes keys of any length");
        mac.update(format!("{id}\n{size}\n{content_type}\n{expires}").as_bytes());
        mac
    }

    /// The caller's expense, if it can still take receipts, and the guards of a change to its
    /// receipts: the caller and the report still being editable.
    async fn receiving_expense(
        &self,
        caller: &Caller,
        id: ExpenseId,
    ) -> Result<(Expense, Vec<Guard>)> {
        let expense = self.expense(caller, id).await?;
        let report = self.ensure_editable(&expense).await?;
        let guards = std::iter::once(Guard::user(&caller.user))
            .chain(report.as_ref().map(Guard::report))
            .collect();
        Ok((expense, guards))
    }

    /// A change to an expense's stored receipts, which the policy counts: the expense gets a
    /// new version with it, so that a submission that counted them cannot commit beside it.
    fn touching(&self, expense: &Expense, mut change: Change, guards: Vec<Guard>) -> Change {
        let mut touched = expense.clone();
        touched.version += 1;
        touched.updated_at = self.clock.now();
        change.writes.push(Write::PutExpense {
            expense: touched,
            expected_version: Some(expense.version),
        });
        change.guarded(guards)
    }

    /// Checks a file sent whole (its declared type, size and magic bytes) and stores it under
    /// its hash: the record of a receipt of `expense`, for the caller's change to commit.
    pub(crate) async fn store_file(
        &self,
        expense: ExpenseId,
        caller: &Caller,
        content_type: &str,
        filename: Option<&str>,
        bytes: Vec<u8>,
    ) -> Result<Receipt> {
        let kind = declared_type(content_type)?;
        let sha256 = check_content(kind, &bytes)?;
        let receipt = Receipt {
            id: ReceiptId::from_uuid(self.ids.new_id()),
            expense_id: expense,
            owner_id: caller.user.id,
            state: ReceiptState::Stored,
            content_type: kind,
            size: bytes.len() as u64,
            sha256: Some(sha256.clone()),
            filename: safe_filename(filename, kind),
            created_at: self.clock.now(),
        };
        self.blobs
            .put(&stored_key(receipt.id, &sha256), bytes)
            .await?;
        metrics::counter!("outlay_receipts_stored_total").increment(1);
        metrics::counter!("outlay_receipt_bytes_total").increment(receipt.size);
        Ok(receipt)
    }

    /// Attaches a file sent in the request body to one of the caller's expenses.
    pub async fn attach_receipt(
        &self,
        caller: &Caller,
        expense_id: ExpenseId,
        content_type: &str,
        filename: Option<&str>,
        bytes: Vec<u8>,
        idem: Option<&Idempotency>,
    ) -> Result<Receipt> {
        let attached = self
            .once(caller.user.id, idem, async || {
                let (expense, guards) = self.receiving_expense(caller, expense_id).await?;
                let receipt = self
                    .store_file(expense.id, caller, content_type, filename, bytes)
                    .await?;
                let audit = self.audit_record(
                    Some(caller),
                    "receipt.attach",
                    "expense",
                    expense.id,
                    None::<&Receipt>,
                    Some(&receipt),
                )?;
                let mut change = Change::one(
                    Write::PutReceipt {
                        receipt: receipt.clone(),
                        expected: None,
                    },
                    audit,
                );
                change.writes.extend(self.stored_receipt_writes(&receipt)?);
                Ok((receipt, self.touching(&expense, change, guards)))
            })
            .await?;
        if idem.is_some() && self.store.receipt(attached.id).await?.is_none() {
            return Err(crate::idempotency::gone("receipt", attached.id));
        }
        Ok(attached)
    }

    /// Starts a two-step upload: a pending receipt and a short-lived URL to PUT the file to.
    pub async fn start_upload(
        &self,
        caller: &Caller,
        expense_id: ExpenseId,
        filename: Option<&str>,
        content_type: &str,
        size: u64,
    ) -> Result<UploadTicket> {
        let (expense, guards) = self.receiving_expense(caller, expense_id).await?;
        let kind = declared_type(content_type)?;
        check_size(size)?;
        let now = self.clock.now();
        let receipt = Receipt {
            id: ReceiptId::from_uuid(self.ids.new_id()),
            expense_id: expense.id,
            owner_id: caller.user.id,
            state: ReceiptState::Pending,
            content_type: kind,
            size,
            sha256: None,
            filename: safe_filename(filename, kind),
            created_at: now,
        };
        let expires_at =
            now + chrono::TimeDelta::from_std(UPLOAD_TTL).unwrap_or(chrono::TimeDelta::minutes(15));
        let upload_url = self
            .blobs
            .upload_url(&quarantine_key(receipt.id), kind.mime(), size, UPLOAD_TTL)
            .await?;
        let upload_path = upload_url.is_none().then(|| {
            let expires = expires_at.timestamp();
            let signature = hex::encode(
                self.sign_upload(receipt.id, size, kind.mime(), expires)
                    .finalize()
                    .into_bytes(),
            );
            format!(
                "/api/v1/receipt-uploads/{}?expires={expires}&signature={signature}",
                receipt.id
            )
        });
        let audit = self.audit_record(
            Some(caller),
            "receipt.upload_started",
            "expense",
            expense.id,
            None::<&Receipt>,
            Some(&receipt),
        )?;
        // A pending upload counts for no rule, so the expense itself does not change yet.
        self.store
            .commit(
                Change::one(
                    Write::PutReceipt {
                        receipt: receipt.clone(),
                        expected: None,
                    },
                    audit,
                )
                .guarded(guards),
            )
            .await?;
        Ok(UploadTicket {
            receipt,
            upload_url,
            upload_path,
            expires_at,
        })
    }

    /// Checks a two-step upload's signed URL for `size` bytes of `content_type`, before the
    /// bytes are read. The signature is the credential: it names the receipt, its exact size
    /// and type, and an expiry.
    pub async fn authorize_upload(
        &self,
        id: ReceiptId,
        expires: i64,
        signature: &str,
        content_type: &str,
        size: u64,
    ) -> Result<()> {
        let refused = || AppError::Forbidden("the upload URL is invalid or has expired".into());
        let signature = hex::decode(signature).map_err(|_| refused())?;
        let mime = content_type.split(';').next().unwrap_or("").trim();
        self.sign_upload(id, size, mime, expires)
            .verify_slice(&signature)
            .map_err(|_| refused())?;
        if expires < self.clock.now().timestamp() {
            return Err(refused());
        }
        let receipt = self.store.receipt(id).await?.ok_or_else(refused)?;
        if receipt.state != ReceiptState::Pending {
            return Err(AppError::Conflict(
                "this receipt is already complete".into(),
            ));
        }
        check_size(size)
    }

    /// Receives the bytes of a two-step upload at Outlay's own signed URL (checked again for
    /// the bytes that actually arrived).
    pub async fn accept_upload(
        &self,
        id: ReceiptId,
        expires: i64,
        signature: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<()> {
        self.authorize_upload(id, expires, signature, content_type, bytes.len() as u64)
            .await?;
        self.blobs.put(&quarantine_key(id), bytes).await?;
        Ok(())
    }

    /// Completes a two-step upload: checks the size, the magic bytes and the hash of what
    /// arrived, then moves it out of quarantine.
    pub async fn complete_upload(&self, caller: &Caller, id: ReceiptId) -> Result<Receipt> {
        let before = match self.store.receipt(id).await? {
            Some(r) if r.owner_id == caller.user.id => r,
            _ => return Err(AppError::NotFound("receipt")),
        };
        if before.state == ReceiptState::Stored {
            return Ok(before);
        }
        let (expense, guards) = self.receiving_expense(caller, before.expense_id).await?;
        let bytes = self
            .blobs
            .get(&quarantine_key(id))
            .await?
            .ok_or_else(|| AppError::Conflict("the file has not been uploaded yet".into()))?;
        if bytes.len() as u64 != before.size {
            return Err(AppError::BadInput(format!(
                "the upload has {} bytes, not the {} declared",
                bytes.len(),
                before.size
            )));
        }
        let sha256 = match check_content(before.content_type, &bytes) {
            Ok(sha) => sha,
            Err(e) => {
                self.blobs.delete(&quarantine_key(id)).await.ok();
                return Err(e);
            }
        };
        // The bytes just checked are the ones kept, under their own hash: the signed URL may
        // still be open, and anything PUT to the quarantine after this read stays there.
        self.blobs.put(&stored_key(id, &sha256), bytes).await?;
        let mut receipt = before.clone();
        receipt.state = ReceiptState::Stored;
        receipt.sha256 = Some(sha256);
        let audit = self.audit_record(
            Some(caller),
            "receipt.attach",
            "expense",
            receipt.expense_id,
            Some(&before),
            Some(&receipt),
        )?;
        // Only one `complete` of the same upload commits: the record must still be pending.
        let mut change = Change::one(
            Write::PutReceipt {
                receipt: receipt.clone(),
                expected: Some(ReceiptState::Pending),
            },
            audit,
        );
        change.writes.extend(self.stored_receipt_writes(&receipt)?);
        self.store
            .commit(self.touching(&expense, change, guards))
            .await?;
        self.blobs.delete(&quarantine_key(id)).await.ok();
        metrics::counter!("outlay_receipts_stored_total").increment(1);
        metrics::counter!("outlay_receipt_bytes_total").increment(before.size);
        Ok(receipt)
    }

    /// A stored receipt's file, for its owner and for those who may see its report.
    pub async fn receipt_file(&self, caller: &Caller, id: ReceiptId) -> Result<ReceiptFile> {
        let receipt = self.visible_receipt(caller, id).await?;
        let key = stored_key(id, receipt.sha256.as_deref().unwrap_or_default());
        let mime = receipt.content_type.mime();
        if let Some(url) = self
            .blobs
            .download_url(&key, &receipt.filename, mime, DOWNLOAD_TTL)
            .await?
        {
            return Ok(ReceiptFile {
                receipt,
                bytes: vec![],
                url: Some(url),
            });
        }
        let bytes = match self.blobs.get(&key).await? {
            Some(b) => b,
            None => self
                .blobs
                .get(&legacy_key(id))
                .await?
                .ok_or(AppError::NotFound("receipt"))?,
        };
        Ok(ReceiptFile {
            receipt,
            bytes,
            url: None,
        })
    }

    /// Removes a receipt from an expense that is not in a submitted report.
    pub async fn delete_receipt(&self, caller: &Caller, id: ReceiptId) -> Result<()> {
        let receipt = match self.store.receipt(id).await? {
            Some(r) if r.owner_id == caller.user.id => r,
            _ => return Err(AppError::NotFound("receipt")),
        };
        let (expense, guards) = self.receiving_expense(caller, receipt.expense_id).await?;
        let audit = self.audit_record(
            Some(caller),
            "receipt.delete",
            "expense",
            receipt.expense_id,
            Some(&receipt),
            None::<&Receipt>,
        )?;
        let mut change = Change::one(Write::DeleteReceipt(id), audit);
        change.writes.extend(self.reading_deletes(id).await?);
        self.store
            .commit(self.touching(&expense, change, guards))
            .await?;
        self.forget_blob(&receipt).await;
        Ok(())
    }

    /// Deletes a receipt's files after its record is gone; a leftover file is harmless.
    pub(crate) async fn forget_blob(&self, receipt: &Receipt) {
        let stored = receipt
            .sha256
            .as_deref()
            .map(|sha| stored_key(receipt.id, sha));
        let others = [quarantine_key(receipt.id), legacy_key(receipt.id)];
        for key in stored.into_iter().chain(others) {
            if let Err(e) = self.blobs.delete(&key).await {
                tracing::warn!(error = %e, %key, "could not delete a receipt file");
            }
        }
    }

    pub(crate) async fn visible_receipt(&self, caller: &Caller, id: ReceiptId) -> Result<Receipt> {
        let receipt = match self.store.receipt(id).await? {
            Some(r) if r.state == ReceiptState::Stored => r,
            _ => return Err(AppError::NotFound("receipt")),
        };
        if receipt.owner_id == caller.user.id {
            return Ok(receipt);
        }
        let report = match self
            .store
            .expense(receipt.expense_id)
            .await?
            .and_then(|e| e.report_id)
        {
            Some(r) => self.store.report(r).await?,
            None => None,
        };
        match report {
            Some(r) if self.can_see(&caller.user, &r).await? => Ok(receipt),
            _ => Err(AppError::NotFound("receipt")),
        }
    }
}

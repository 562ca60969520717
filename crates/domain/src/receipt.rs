//! Receipts: files attached to an expense, recognised by their content, never their name.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ExpenseId, UserId};

/// The largest receipt accepted, in bytes (10 MB).
pub const MAX_RECEIPT_BYTES: u64 = 10 * 1024 * 1024;

crate::ids::id_type!(
    /// Identifies a receipt.
    ReceiptId
);

/// The file types a receipt may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReceiptType {
    /// `image/jpeg`.
    #[serde(rename = "image/jpeg")]
    Jpeg,
    /// `image/png`.
    #[serde(rename = "image/png")]
    Png,
    /// `application/pdf`.
    #[serde(rename = "application/pdf")]
    Pdf,
}

impl ReceiptType {
    /// The media type.
    pub fn mime(&self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Pdf => "application/pdf",
        }
    }

    /// The file extension used for downloads.
    pub fn extension(&self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Pdf => "pdf",
        }
    }

    /// The type a client declares (`Content-Type`, parameters ignored).
    pub fn from_mime(mime: &str) -> Option<Self> {
        match mime
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "image/jpeg" | "image/jpg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            "application/pdf" => Some(Self::Pdf),
            _ => None,
        }
    }

    /// The type the content really is, by its magic bytes.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        infer::get(head).and_then(|t| Self::from_mime(t.mime_type()))
    }
}

/// Where a receipt is in its upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptState {
    /// An upload URL was handed out; the bytes are not checked yet.
    Pending,
    /// Checked and attached.
    Stored,
}

impl ReceiptState {
    /// The snake_case name used on the wire and in storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Stored => "stored",
        }
    }
}

/// A receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Its id, which is also its storage key.
    pub id: ReceiptId,
    /// The expense it belongs to.
    pub expense_id: ExpenseId,
    /// The uploader, who owns the expense.
    pub owner_id: UserId,
    /// Pending or stored.
    pub state: ReceiptState,
    /// The checked (or, while pending, declared) type.
    pub content_type: ReceiptType,
    /// Size in bytes (declared while pending).
    pub size: u64,
    /// SHA-256 of the content, hex, once stored.
    pub sha256: Option<String>,
    /// A safe file name for downloads.
    pub filename: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// Makes a client's file name safe for a `Content-Disposition` header: ASCII letters, digits,
/// `.`, `-` and `_` only, at most 100 characters, with the extension of the real type.
pub fn safe_filename(name: Option<&str>, kind: ReceiptType) -> String {
    let base = name.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let stem: String = base
        .rsplit_once('.')
        .map_or(base, |(s, _)| s)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(90)
        .collect();
    let stem = stem.trim_matches('_');
    let stem = if stem.is_empty() { "receipt" } else { stem };
    format!("{stem}.{}", kind.extension())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_known_by_their_magic_bytes() {
        assert_eq!(
            ReceiptType::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(ReceiptType::Png)
        );
        assert_eq!(
            ReceiptType::sniff(b"\xff\xd8\xff\xe0\0\x10JFIF\0"),
            Some(ReceiptType::Jpeg)
        );
        assert_eq!(ReceiptType::sniff(b"%PDF-1.7\n"), Some(ReceiptType::Pdf));
        assert_eq!(ReceiptType::sniff(b"#!/bin/sh\necho hi\n"), None);
        assert_eq!(ReceiptType::sniff(b"GIF89a"), None, "GIFs are not receipts");
    }

    #[test]
    fn file_names_are_made_safe() {
        assert_eq!(
            safe_filename(Some("../../etc/passwd"), ReceiptType::Pdf),
            "passwd.pdf"
        );
        assert_eq!(
            safe_filename(Some("Hotel \"bill\".exe.png"), ReceiptType::Png),
            "Hotel__bill__exe.png"
        );
        assert_eq!(
            safe_filename(Some("a\r\nb.jpg"), ReceiptType::Jpeg),
            "a__b.jpg"
        );
        assert_eq!(safe_filename(None, ReceiptType::Jpeg), "receipt.jpg");
        assert_eq!(safe_filename(Some("…"), ReceiptType::Pdf), "receipt.pdf");
    }

    #[test]
    fn a_state_is_stored_as_the_api_names_it() {
        for state in [ReceiptState::Pending, ReceiptState::Stored] {
            assert_eq!(
                serde_json::to_value(state).expect("JSON"),
                serde_json::Value::from(state.as_str())
            );
        }
    }
}

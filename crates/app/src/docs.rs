//! Documents, typed: the entities kept whole under a kind and an id ([`Doc`]), read and
//! written as their domain types.

use outlay_domain::advance::Advance;
use outlay_domain::{BankAccount, PaymentBatch};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{App, AppError, Doc, DocKind, Guard, Page, PageRequest, Result, Write};

/// A domain type kept as a [`Doc`].
pub trait Document: Serialize + DeserializeOwned {
    /// Its kind.
    const KIND: DocKind;
    /// Its id.
    fn doc_id(&self) -> String;
    /// Its version.
    fn doc_version(&self) -> i64;
}

impl Document for BankAccount {
    const KIND: DocKind = DocKind::BankAccount;
    fn doc_id(&self) -> String {
        self.user_id.to_string()
    }
    fn doc_version(&self) -> i64 {
        self.version
    }
}

impl Document for PaymentBatch {
    const KIND: DocKind = DocKind::PaymentBatch;
    fn doc_id(&self) -> String {
        self.id.to_string()
    }
    fn doc_version(&self) -> i64 {
        self.version
    }
}

impl Document for Advance {
    const KIND: DocKind = DocKind::Advance;
    fn doc_id(&self) -> String {
        self.id.to_string()
    }
    fn doc_version(&self) -> i64 {
        self.version
    }
}

fn decode<T: Document>(doc: &Doc) -> Result<T> {
    serde_json::from_str(&doc.body).map_err(|e| {
        AppError::Internal(anyhow::Error::new(e).context(format!(
            "Failed to decode the stored {} {}",
            doc.kind.as_str(),
            doc.id
        )))
    })
}

/// The write that stores `value`, inserting it when `expected_version` is `None`.
pub fn put<T: Document>(value: &T, expected_version: Option<i64>) -> Result<Write> {
    Ok(Write::PutDoc {
        doc: Doc {
            kind: T::KIND,
            id: value.doc_id(),
            version: value.doc_version(),
            body: serde_json::to_string(value).map_err(|e| AppError::Internal(e.into()))?,
        },
        expected_version,
    })
}

/// The guard that `value` is still as read (or, for `None`, that none is stored under `id`).
pub fn guard<T: Document>(id: &str, value: Option<&T>) -> Guard {
    Guard::Doc {
        kind: T::KIND,
        id: id.to_owned(),
        version: value.map(Document::doc_version),
    }
}

impl App {
    /// The document of type `T` stored under `id`.
    pub(crate) async fn load<T: Document>(&self, id: &str) -> Result<Option<T>> {
        self.store
            .doc(T::KIND, id)
            .await?
            .map(|d| decode(&d))
            .transpose()
    }

    /// A page of the documents of type `T`, newest first.
    /// Every document of type `T`, newest id first.
    pub(crate) async fn load_all<T: Document>(&self) -> Result<Vec<T>> {
        let docs =
            crate::change::all_pages(|p| async move { self.store.docs(T::KIND, &p).await }).await?;
        docs.iter().map(decode).collect()
    }

    pub(crate) async fn load_page<T: Document>(&self, page: &PageRequest) -> Result<Page<T>> {
        let p = self.store.docs(T::KIND, page).await?;
        Ok(Page {
            items: p.items.iter().map(decode).collect::<Result<_>>()?,
            next_cursor: p.next_cursor,
        })
    }
}

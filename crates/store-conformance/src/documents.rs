//! Documents: kept whole under a kind and an id, versioned, listed newest first.

use outlay_app::{Doc, DocKind};

use crate::fixtures::*;
use crate::prelude::*;

fn doc(kind: DocKind, id: &str, version: i64, note: &str) -> Doc {
    Doc {
        kind,
        id: id.to_owned(),
        version,
        body: serde_json::json!({"id": id, "note": note}).to_string(),
    }
}

fn put(d: &Doc, expected_version: Option<i64>) -> Change {
    Change::one(
        Write::PutDoc {
            doc: d.clone(),
            expected_version,
        },
        audit("doc.put", 1),
    )
}

fn body(d: &Doc) -> serde_json::Value {
    serde_json::from_str(&d.body).expect("a document body is JSON")
}

/// A document is inserted once, updated only from the version read, guarded like any entity,
/// and listed with its kind alone, newest id first, page by page.
pub async fn documents_are_versioned_guarded_and_listed_by_kind(store: Fresh) {
    let s: &dyn Store = store.as_ref();
    // GIVEN nothing
    assert_eq!(
        s.doc(DocKind::PaymentBatch, "b1").await.expect("read"),
        None
    );
    // WHEN a document is inserted
    let first = doc(DocKind::PaymentBatch, "b1", 1, "new");
    commit(s, put(&first, None)).await;
    // THEN it reads back as written, and a second insert of the same id conflicts
    let read = s
        .doc(DocKind::PaymentBatch, "b1")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!((read.id.as_str(), read.version), ("b1", 1));
    assert_eq!(body(&read), body(&first));
    assert!(matches!(
        s.commit(put(&first, None)).await,
        Err(StoreError::Conflict(_))
    ));
    // AND an update from a stale version conflicts, from the current one succeeds
    let second = doc(DocKind::PaymentBatch, "b1", 2, "exported");
    assert!(matches!(
        s.commit(put(&second, Some(7))).await,
        Err(StoreError::Conflict(_))
    ));
    commit(s, put(&second, Some(1))).await;
    let read = s.doc(DocKind::PaymentBatch, "b1").await.expect("read");
    assert_eq!(
        read.map(|d| (d.version, body(&d)["note"].clone())),
        Some((2, "exported".into()))
    );
    // AND a guard on a document holds only while it is as read (or absent, as read)
    let guarded = |version| {
        Change::one(
            Write::PutDoc {
                doc: doc(DocKind::BankAccount, "u9", 1, "other"),
                expected_version: None,
            },
            audit("doc.put", 9),
        )
        .guarded([Guard::Doc {
            kind: DocKind::PaymentBatch,
            id: "b1".into(),
            version,
        }])
    };
    assert!(matches!(
        s.commit(guarded(Some(1))).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.commit(guarded(None)).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.doc(DocKind::BankAccount, "u9").await.expect("read"), None);
    commit(s, guarded(Some(2))).await;
    let absent = Change::one(
        Write::PutDoc {
            doc: doc(DocKind::BankAccount, "u10", 1, "absent"),
            expected_version: None,
        },
        audit("doc.put", 10),
    )
    .guarded([Guard::Doc {
        kind: DocKind::PaymentBatch,
        id: "b-none".into(),
        version: None,
    }]);
    commit(s, absent).await;

    // Listing: a kind's documents only, newest (greatest) id first, in pages.
    for id in ["b3", "b2", "b5", "b4"] {
        commit(s, put(&doc(DocKind::PaymentBatch, id, 1, "more"), None)).await;
    }
    let mut ids = Vec::new();
    let mut req = PageRequest {
        limit: 2,
        cursor: None,
    };
    loop {
        let page = s.docs(DocKind::PaymentBatch, &req).await.expect("a page");
        assert!(page.items.len() <= 2);
        ids.extend(page.items.into_iter().map(|d| d.id));
        match page.next_cursor {
            Some(c) => req.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(ids, ["b5", "b4", "b3", "b2", "b1"]);
    let accounts = s
        .docs(
            DocKind::BankAccount,
            &PageRequest {
                limit: 10,
                cursor: None,
            },
        )
        .await
        .expect("a page");
    let ids: Vec<&str> = accounts.items.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["u9", "u10"]);

    // Deleting: only from the version read, and then it is gone from reads and lists.
    let delete = |version| {
        Change::one(
            Write::DeleteDoc {
                kind: DocKind::PaymentBatch,
                id: "b4".into(),
                expected_version: version,
            },
            audit("doc.delete", 4),
        )
    };
    let stale = s.commit(delete(2)).await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    commit(s, delete(1)).await;
    assert_eq!(
        s.doc(DocKind::PaymentBatch, "b4").await.expect("read"),
        None
    );
    assert!(matches!(
        s.commit(delete(1)).await,
        Err(StoreError::Conflict(_))
    ));
    let left = s
        .docs(
            DocKind::PaymentBatch,
            &PageRequest {
                limit: 10,
                cursor: None,
            },
        )
        .await
        .expect("a page");
    let ids: Vec<&str> = left.items.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["b5", "b3", "b2", "b1"]);
}

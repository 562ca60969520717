//! Expenses: pages, versions and deletion.

use crate::fixtures::*;
use crate::prelude::*;

/// Expenses: newest first, paged, attached to reports, versioned updates and deletes.
pub async fn expenses_page_newest_first_and_honour_versions(store: Fresh) {
    let s: &dyn Store = store.as_ref();
    commit(s, put_user(&user(1, &[], None))).await;
    commit(s, put_user(&user(2, &[], None))).await;
    for n in 100..105 {
        commit(
            s,
            Change::one(
                Write::PutExpense {
                    expense: expense(n, 1),
                    expected_version: None,
                },
                audit("expense.create", n),
            ),
        )
        .await;
    }
    commit(
        s,
        Change::one(
            Write::PutExpense {
                expense: expense(200, 2),
                expected_version: None,
            },
            audit("expense.create", 200),
        ),
    )
    .await;
    let page = s
        .expenses_of_owner(
            uid(1),
            &PageRequest {
                limit: 3,
                cursor: None,
            },
        )
        .await
        .expect("a page");
    let ids: Vec<u128> = page
        .items
        .iter()
        .map(|e| e.id.as_uuid().as_u128())
        .collect();
    assert_eq!(ids, [104, 103, 102]);
    let next = s
        .expenses_of_owner(
            uid(1),
            &PageRequest {
                limit: 3,
                cursor: page.next_cursor,
            },
        )
        .await
        .expect("a page");
    assert_eq!(
        next.items
            .iter()
            .map(|e| e.id.as_uuid().as_u128())
            .collect::<Vec<_>>(),
        [101, 100]
    );
    assert_eq!(next.next_cursor, None);
    assert!(matches!(
        s.expenses_of_owner(
            uid(1),
            &PageRequest {
                limit: 3,
                cursor: Some("not a cursor".into())
            }
        )
        .await,
        Err(StoreError::BadCursor)
    ));

    let r = report(300, 1, ReportState::Draft, 0);
    let mut attached = expense(100, 1);
    attached.report_id = Some(r.id);
    attached.version = 2;
    commit(
        s,
        Change {
            guards: vec![],
            writes: vec![
                Write::PutReport {
                    report: r.clone(),
                    expected_version: None,
                },
                Write::PutExpense {
                    expense: attached.clone(),
                    expected_version: Some(1),
                },
            ],
            audit: vec![audit("report.create", r.id)],
            idempotency: None,
            outbox: vec![],
        },
    )
    .await;
    assert_eq!(
        s.expenses_of_report(r.id).await.expect("read"),
        vec![attached.clone()]
    );
    assert_eq!(s.report(r.id).await.expect("read"), Some(r));
    let delete = |v| {
        Change::one(
            Write::DeleteExpense {
                id: attached.id,
                expected_version: v,
            },
            audit("expense.delete", 100),
        )
    };
    conflict(s, delete(1), "a delete from a stale version").await;
    commit(s, delete(2)).await;
    assert_eq!(s.expense(attached.id).await.expect("read"), None);
}

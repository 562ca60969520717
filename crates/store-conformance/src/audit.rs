//! The audit trail: a chain that verifies.

use crate::fixtures::*;
use crate::prelude::*;

/// Events are numbered from 1, chained, verifiable, and found by entity.
pub async fn audit_events_form_a_verifiable_chain(store: Fresh) {
    let s: &dyn Store = store.as_ref();
    assert_eq!(s.audit_last_seq().await.expect("read"), 0, "no event yet");
    for n in 1..=5 {
        commit(s, put_user(&user(n, &[], None))).await;
    }
    assert_eq!(
        s.audit_last_seq().await.expect("read"),
        5,
        "the newest event"
    );
    let events = s.audit_page(0, 3).await.expect("a page");
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    let rest = s.audit_page(3, 100).await.expect("a page");
    assert_eq!(rest.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);
    let mut v = ChainVerifier::default();
    for e in events.iter().chain(&rest) {
        v.push(e).expect("each event verifies");
    }
    assert_eq!(v.checked(), 5);
    let of_3 = s.audit_of("user", &uid(3).to_string()).await.expect("read");
    assert_eq!(of_3.len(), 1);
    assert_eq!(of_3[0].record, audit("user.create", uid(3)));
}

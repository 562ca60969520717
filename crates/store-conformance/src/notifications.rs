//! In-app notifications and the outbox.

use crate::fixtures::*;
use crate::prelude::*;

/// In-app notifications with read marks; outbox messages due, delivered, retried and dead.
pub async fn notifications_and_the_outbox(store: Fresh) {
    let s: &dyn Store = store.as_ref();
    let o: &dyn Outbox = store.as_ref();
    commit(s, put_user(&user(1, &[Role::Finance], None))).await;
    let note = |n: u128| Notification {
        id: uuid::Uuid::from_u128(n),
        user_id: uid(1),
        report_id: None,
        event: "report.submitted".into(),
        title: format!("note {n}"),
        body: String::new(),
        created_at: at(n as i64),
        read_at: None,
    };
    let message = |n: u128, after: i64| OutboxMessage {
        id: uuid::Uuid::from_u128(n),
        channel: Channel::Email,
        recipient: "a@example.com".into(),
        subject: format!("m{n}"),
        body: String::new(),
        digest: false,
        created_at: at(0),
        deliver_after: at(after),
        attempts: 0,
    };
    let change = Change {
        writes: vec![
            Write::AddNotification(note(1)),
            Write::AddNotification(note(2)),
        ],
        outbox: vec![message(10, 0), message(11, 180)],
        ..Change::default()
    };
    commit(s, change).await;
    let page = s
        .notifications(
            uid(1),
            &PageRequest {
                limit: 10,
                cursor: None,
            },
        )
        .await
        .expect("read");
    assert_eq!(
        page.items
            .iter()
            .map(|n| n.title.as_str())
            .collect::<Vec<_>>(),
        ["note 2", "note 1"]
    );
    assert_eq!(s.unread_notifications(uid(1)).await.expect("read"), 2);
    assert_eq!(s.unread_notifications(uid(2)).await.expect("read"), 0);
    let read = Write::ReadNotifications {
        user: uid(1),
        ids: Some(vec![uuid::Uuid::from_u128(1)]),
        at: at(5),
    };
    commit(
        s,
        Change {
            writes: vec![read],
            ..Change::default()
        },
    )
    .await;
    assert_eq!(s.unread_notifications(uid(1)).await.expect("read"), 1);

    assert_eq!(
        o.due(at(50), 10)
            .await
            .expect("read")
            .iter()
            .map(|m| m.subject.as_str())
            .collect::<Vec<_>>(),
        ["m10"]
    );
    assert_eq!(o.stats().await.expect("read").pending, 2);
    o.failed(uuid::Uuid::from_u128(10), 1, Some(at(200)), "refused")
        .await
        .expect("recorded");
    assert!(
        o.due(at(150), 10)
            .await
            .expect("read")
            .iter()
            .all(|m| m.subject != "m10"),
        "waits for its retry"
    );
    let due = o.due(at(250), 10).await.expect("read");
    assert_eq!(
        due.iter()
            .map(|m| (m.subject.as_str(), m.attempts))
            .collect::<Vec<_>>(),
        [("m11", 0), ("m10", 1)]
    );
    o.delivered(&[uuid::Uuid::from_u128(11)], at(251))
        .await
        .expect("recorded");
    o.failed(uuid::Uuid::from_u128(10), 2, None, "gave up")
        .await
        .expect("recorded");
    assert!(o.due(at(10_000), 10).await.expect("read").is_empty());
    let stats = o.stats().await.expect("read");
    assert_eq!((stats.pending, stats.dead, stats.oldest), (0, 1, None));
}

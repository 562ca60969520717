//! `outlay migrate` on DynamoDB: the table is created if missing, and reports waiting for
//! finance that were stored before their queue keys were kept get them.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use outlay_app::{Change, PageRequest, ReportQuery, ReportScope, Store, Write};
use outlay_domain::{
    AuditRecord, Currency, Email, Level, Money, Report, ReportId, ReportState, Role, Step, User,
    UserId,
};
use outlay_store_dynamodb::DynamoStore;
use outlay_test_support::moto::Moto;

fn client(url: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

fn uid(n: u128) -> UserId {
    UserId::from_uuid(uuid::Uuid::from_u128(n))
}

fn at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_750_000_000, 0).expect("a time")
}

fn audit(action: &str) -> AuditRecord {
    AuditRecord {
        at: at(),
        actor_id: None,
        action: action.into(),
        entity_kind: "test".into(),
        entity_id: "1".into(),
        source: None,
        before: None,
        after: None,
    }
}

fn finance_user(n: u128) -> User {
    User {
        id: uid(n),
        email: Email::parse(&format!("f{n}@example.com")).expect("an email"),
        name: format!("Finance {n}"),
        roles: [Role::Employee, Role::Finance].into(),
        manager_id: None,
        active: true,
        version: 1,
        controllers: BTreeSet::new(),
        signed_out_at: None,
        time_zone: None,
        delegation: None,
        home_cost_centre: None,
    }
}

#[tokio::test]
#[ignore = "needs moto_server: `bash .ci/run` runs it (cargo test -- --include-ignored)"]
async fn migrate_fills_in_the_finance_queue_keys_of_older_reports() {
    let moto = Moto::start("the DynamoDB migration");
    let dynamodb = client(&moto.url);
    let store = DynamoStore::new(dynamodb.clone(), "outlay-migrate".to_owned());
    store.ensure_table().await.expect("the table is created");
    store
        .ensure_table()
        .await
        .expect("and found the second time");

    // A finance user's own report waits for finance, as an older version stored it: without
    // `barred`.
    for u in [finance_user(1), finance_user(2)] {
        store
            .commit(Change::one(
                Write::PutUser {
                    user: u,
                    password_hash: None,
                    expected_version: None,
                },
                audit("user.create"),
            ))
            .await
            .expect("a user");
    }
    let usd = Currency::parse("USD").expect("USD");
    let mut report = Report::draft(
        ReportId::from_uuid(uuid::Uuid::from_u128(9)),
        uid(1),
        "Trip".into(),
        String::new(),
        Some(Money::parse("10.00", usd).expect("money")),
        at(),
    );
    report.state = ReportState::PendingFinance;
    report.submissions = 1;
    report.submitted_at = Some(at());
    report.steps = vec![Step::new(Level::Finance, None, "")];
    store
        .commit(Change::one(
            Write::PutReport {
                report: report.clone(),
                expected_version: None,
            },
            audit("report.submit"),
        ))
        .await
        .expect("a report");
    dynamodb
        .update_item()
        .table_name("outlay-migrate")
        .key("pk", AttributeValue::S(format!("REPORT#{}", report.id)))
        .key("sk", AttributeValue::S("REPORT".into()))
        .update_expression("REMOVE barred")
        .send()
        .await
        .expect("the item made old");
    let queue = |user: u128| {
        let store = &store;
        async move {
            store
                .reports(
                    &ReportQuery {
                        scope: ReportScope::Approvals {
                            user: uid(user),
                            shared: vec![outlay_domain::access::Queue::Finance],
                        },
                        state: None,
                    },
                    &PageRequest {
                        limit: 50,
                        cursor: None,
                    },
                )
                .await
                .expect("a page")
                .items
                .len()
        }
    };
    assert_eq!(queue(1).await, 1, "the old item shows in its owner's queue");

    store.ensure_table().await.expect("migrated");
    assert_eq!(queue(1).await, 0, "never in its owner's queue");
    assert_eq!(queue(2).await, 1, "in the other finance user's");
}

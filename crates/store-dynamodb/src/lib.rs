//! The DynamoDB adapter of Outlay's [`Store`](outlay_app::Store) port: one table.
//!
//! Access patterns (`pk`/`sk` on the table; `gsi1`..`gsi4` are sparse, overloaded indexes):
//!
//! | what | key |
//! |---|---|
//! | user by id | `USER#<id>` / `USER` |
//! | user by email (and its uniqueness) | `EMAIL#<email>` / `EMAIL` → the user id |
//! | users by email | gsi1 `USERS` / `<email>` |
//! | expense by id | `EXPENSE#<id>` / `EXPENSE` |
//! | an owner's expenses, newest first | gsi1 `OWNER#<id>#EXPENSES` / `<expense id>` |
//! | expenses of a report | gsi2 `REPORT#<id>#EXPENSES` / `<expense id>` |
//! | duplicates | gsi3 `DUP#<owner>#<date>#<amount>#<currency>#<merchant>` / `<expense id>` |
//! | report by id | `REPORT#<id>` / `REPORT` |
//! | my reports, newest first | gsi1 `OWNER#<id>#REPORTS` / `<report id>` |
//! | approvals queue of a manager | gsi2 `QUEUE#<user id>` / `<submitted at>\|<id>` |
//! | finance queue | gsi2 `QUEUE#FINANCE` / `<submitted at>\|<id>` |
//! | reports by state | gsi3 `STATE#<state>` / `<report id>` |
//! | every submitted report | gsi4 `SUBMITTED` / `<report id>` |
//! | reports a user decided | `DECIDED#<user id>` / `<report id>` |
//! | audit events, in chain order | `AUDIT` / `<seq, 20 digits>`; the chain head `AUDIT#HEAD` / `HEAD` |
//! | audit events of an entity | gsi1 `AUDIT#<kind>#<id>` / `<seq>` |
//! | idempotency keys | `IDEM#<user>#<key>` / `IDEM` |
//! | shared secrets (session and signing keys of every instance) | `SECRET#<name>` / `SECRET` |
//! | policy | `SETTINGS` / `POLICY` |
//! | rates of a currency by day | `RATES#<currency>` / `<date>`; newest first gsi1 `RATES` / `<date>#<currency>` |
//! | receipts of an expense | `RECEIPT#<id>` / `RECEIPT`; gsi2 `EXPENSE#<id>#RECEIPTS` / `<receipt id>` |
//! | a user's notifications, newest first | `NOTE#<user id>` / `<notification id>` |
//! | outbox, due first | `OUTBOX#<id>` / `OUTBOX`; gsi2 `OUTBOX#PENDING` (or `OUTBOX#DEAD`) / `<deliver after>\|<id>` |
//!
//! Every change is one `TransactWriteItems`: its writes (with version conditions), its audit
//! events and its idempotency record. No request path scans the table. Cursors are the last
//! item's index sort key, so a page continues with a key condition (`<` or `>`), the same
//! position that `LastEvaluatedKey` would carry, without exposing table keys to clients.
//!
//! The audit chain has **one global head** item, updated under a condition in every
//! transaction that appends events. That serialises changes through one item (a DynamoDB item
//! takes about 1,000 writes a second; conflicting transactions are retried here with backoff),
//! which is far above an expense system's write rate, and it keeps the chain a single total
//! order that `audit verify` can check without merging. Per-report chains anchored by a global
//! head would remove the contention but make verification and ordering across reports harder;
//! that trade is only worth it at thousands of transitions a second. Measured with
//! `cargo bench -p outlay-store-dynamodb --bench audit_head`; the figures are in `docs/aws.md`.

mod commit;
mod items;
mod outbox;
mod reads;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;

pub use aws_sdk_dynamodb::Client;
pub use items::{ATTRIBUTES, INDEXES};

/// Outlay's data in one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Arc<Client>,
    table: String,
    head_retries: Arc<AtomicU64>,
}

impl DynamoStore {
    /// Uses `table` through an SDK client.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client: Arc::new(client),
            table: table.into(),
            head_retries: Arc::default(),
        }
    }

    /// How many transactions this store retried because another one moved the audit chain's
    /// head first (also counted as `outlay_audit_head_retries_total`).
    pub fn head_retries(&self) -> u64 {
        self.head_retries.load(Ordering::Relaxed)
    }

    /// Uses `table` with the default AWS configuration (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...).
    pub async fn from_env(table: &str) -> anyhow::Result<Self> {
        let config = aws_config::load_from_env().await;
        Ok(Self::new(Client::new(&config), table))
    }

    /// Creates the table if it does not exist, and brings older items up to the current
    /// layout (`outlay migrate`).
    pub async fn ensure_table(&self) -> anyhow::Result<()> {
        self.ensure_table_exists().await?;
        let filled = self.backfill_queue_keys().await?;
        if filled > 0 {
            tracing::info!(
                reports = filled,
                "wrote the finance queue keys of older reports"
            );
        }
        Ok(())
    }

    async fn ensure_table_exists(&self) -> anyhow::Result<()> {
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                self.create_table().await
            }
            Err(e) => Err(anyhow::Error::new(e).context("Failed to describe the table")),
        }
    }

    /// Creates the table as the CloudFormation template declares it (for tests and local
    /// stacks; in AWS the template creates it).
    pub async fn create_table(&self) -> anyhow::Result<()> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
            Projection, ProjectionType, ScalarAttributeType,
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        let mut request = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?);
        for a in ATTRIBUTES {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(a)
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            );
        }
        for (name, pk, sk) in INDEXES {
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(name)
                    .key_schema(key(pk, KeyType::Hash)?)
                    .key_schema(key(sk, KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()?,
            );
        }
        request.send().await.context("Failed to create the table")?;
        Ok(())
    }
}

//! The outbox as the dispatcher sees it, on DynamoDB.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outlay_app::{Outbox, OutboxMessage, OutboxStats, StoreResult};

use crate::DynamoStore;
use crate::items::{body, get_n, get_s, key, n, s, time};
use crate::reads::{Query, unavailable};

impl DynamoStore {
    async fn set(
        &self,
        id: uuid::Uuid,
        expression: &str,
        values: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
    ) -> StoreResult<()> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("OUTBOX#{id}"), "OUTBOX")))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)");
        for (k, v) in values {
            request = request.expression_attribute_values(k, v);
        }
        request.send().await.map_err(|e| {
            unavailable(
                aws_sdk_dynamodb::error::DisplayErrorContext(e),
                "update the outbox",
            )
        })?;
        Ok(())
    }
}

#[async_trait]
impl Outbox for DynamoStore {
    async fn due(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxMessage>> {
        let mut q = Query::on(Some("gsi2"), "OUTBOX#PENDING".into(), true);
        q.sk = Some(("<=", format!("{}|~", time(now))));
        let (items, _) = self.query(&q, limit as usize).await?;
        items
            .iter()
            .take(limit as usize)
            .map(|i| {
                let mut m: OutboxMessage = body(i)?;
                m.attempts = u32::try_from(get_n(i, "attempts").unwrap_or(0)).unwrap_or(u32::MAX);
                Ok(m)
            })
            .collect::<anyhow::Result<_>>()
            .map_err(Into::into)
    }

    async fn delivered(&self, ids: &[uuid::Uuid], at: DateTime<Utc>) -> StoreResult<()> {
        for id in ids {
            self.set(
                *id,
                "SET delivered_at = :t REMOVE gsi2pk, gsi2sk",
                vec![(":t", s(time(at)))],
            )
            .await?;
        }
        Ok(())
    }

    async fn failed(
        &self,
        id: uuid::Uuid,
        attempts: u32,
        retry_at: Option<DateTime<Utc>>,
        error: &str,
    ) -> StoreResult<()> {
        let error: String = error.chars().take(500).collect();
        match retry_at {
            Some(at) => {
                let values = vec![
                    (":a", n(i64::from(attempts))),
                    (":e", s(error)),
                    (":k", s(format!("{}|{id}", time(at)))),
                ];
                self.set(
                    id,
                    "SET attempts = :a, last_error = :e, gsi2sk = :k",
                    values,
                )
                .await
            }
            None => {
                let values = vec![
                    (":a", n(i64::from(attempts))),
                    (":e", s(error)),
                    (":p", s("OUTBOX#DEAD")),
                    (":t", s(time(Utc::now()))),
                ];
                self.set(
                    id,
                    "SET attempts = :a, last_error = :e, gsi2pk = :p, dead_at = :t",
                    values,
                )
                .await
            }
        }
    }

    async fn stats(&self) -> StoreResult<OutboxStats> {
        let (pending, _) = self
            .query(
                &Query::on(Some("gsi2"), "OUTBOX#PENDING".into(), true),
                usize::MAX / 2,
            )
            .await?;
        let (dead, _) = self
            .query(
                &Query::on(Some("gsi2"), "OUTBOX#DEAD".into(), true),
                usize::MAX / 2,
            )
            .await?;
        let oldest = pending
            .iter()
            .filter_map(|i| get_s(i, "created_at"))
            .min()
            .map(DateTime::parse_from_rfc3339)
            .transpose()
            .map_err(anyhow::Error::from)?
            .map(|t| t.with_timezone(&Utc));
        Ok(OutboxStats {
            pending: pending.len() as u64,
            dead: dead.len() as u64,
            oldest,
        })
    }
}

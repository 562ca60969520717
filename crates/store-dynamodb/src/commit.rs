//! Committing a change as one `TransactWriteItems`: writes under version conditions, the
//! audit events chained after the global head (itself updated under a condition), the outbox
//! and the idempotency record. A lost race on the head is retried; any other failed condition
//! is a conflict and nothing is written.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
use outlay_app::{Change, Guard, STALE, StoreError, StoreResult, Write};
use outlay_domain::audit;

use crate::DynamoStore;
use crate::items::{self, Item, get_n, get_s, key, n, s, seq_key};
use crate::reads::{Query, unavailable};

/// DynamoDB's limit on the items of one transaction.
const MAX_ITEMS: usize = 100;

/// A transaction item and the message to give if its condition fails.
struct Op {
    item: TransactWriteItem,
    conflict: &'static str,
}

fn build_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(anyhow::anyhow!("Failed to build a DynamoDB request: {e}"))
}

/// Expression values as the SDK wants them (`None` when there are none).
fn values(values: Vec<(&str, AttributeValue)>) -> Option<HashMap<String, AttributeValue>> {
    (!values.is_empty()).then(|| values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

impl DynamoStore {
    fn put(
        &self,
        item: Item,
        condition: Option<&str>,
        vals: Vec<(&str, AttributeValue)>,
        conflict: &'static str,
    ) -> StoreResult<Op> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values(values(vals))
            .build()
            .map_err(build_err)?;
        Ok(Op {
            item: TransactWriteItem::builder().put(put).build(),
            conflict,
        })
    }

    fn update(
        &self,
        key: Item,
        expression: &str,
        condition: Option<&str>,
        vals: Vec<(&str, AttributeValue)>,
        conflict: &'static str,
    ) -> StoreResult<Op> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(expression)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values(values(vals))
            .build()
            .map_err(build_err)?;
        Ok(Op {
            item: TransactWriteItem::builder().update(update).build(),
            conflict,
        })
    }

    fn delete(
        &self,
        key: Item,
        condition: Option<&str>,
        vals: Vec<(&str, AttributeValue)>,
        conflict: &'static str,
    ) -> StoreResult<Op> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values(values(vals))
            .build()
            .map_err(build_err)?;
        Ok(Op {
            item: TransactWriteItem::builder().delete(delete).build(),
            conflict,
        })
    }

    /// A `ConditionCheck` of one guard: the item is as the use case read it.
    fn guard(&self, guard: &Guard) -> StoreResult<(Item, Op)> {
        let (key, condition, vals) = match guard {
            Guard::User { id, version } => (
                key(format!("USER#{id}"), "USER"),
                "version = :v",
                vec![(":v", n(*version))],
            ),
            Guard::Expense { id, version } => (
                key(format!("EXPENSE#{id}"), "EXPENSE"),
                "version = :v",
                vec![(":v", n(*version))],
            ),
            Guard::Report { id, version } => (
                key(format!("REPORT#{id}"), "REPORT"),
                "version = :v",
                vec![(":v", n(*version))],
            ),
            Guard::Doc {
                kind,
                id,
                version: Some(v),
            } => (
                key(format!("DOC#{}", kind.as_str()), id.as_str()),
                "version = :v",
                vec![(":v", n(*v))],
            ),
            Guard::Doc {
                kind,
                id,
                version: None,
            } => (
                key(format!("DOC#{}", kind.as_str()), id.as_str()),
                "attribute_not_exists(pk)",
                vec![],
            ),
            Guard::Policy(None) => (
                key("SETTINGS", "POLICY"),
                "attribute_not_exists(pk)",
                vec![],
            ),
            Guard::Policy(Some(policy)) => {
                let item = items::item("SETTINGS".into(), "POLICY", policy.as_ref(), vec![])?;
                (
                    key("SETTINGS", "POLICY"),
                    "body = :b",
                    vec![(":b", item["body"].clone())],
                )
            }
        };
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .condition_expression(condition)
            .set_expression_attribute_values(values(vals))
            .build()
            .map_err(build_err)?;
        Ok((
            key,
            Op {
                item: TransactWriteItem::builder().condition_check(check).build(),
                conflict: STALE,
            },
        ))
    }

    /// The condition checks of the change's guards, but for items that the change also writes
    /// (a transaction names an item once; a write carries its own version condition).
    fn guard_ops(&self, change: &Change, writes: &[Op]) -> StoreResult<Vec<Op>> {
        let written: Vec<Item> = writes.iter().filter_map(|o| op_key(&o.item)).collect();
        let mut seen: Vec<Item> = Vec::new();
        let mut ops = Vec::new();
        for g in &change.guards {
            let (key, op) = self.guard(g)?;
            if written.contains(&key) || seen.contains(&key) {
                continue;
            }
            seen.push(key);
            ops.push(op);
        }
        Ok(ops)
    }

    /// The operations of the change's writes, outbox and idempotency record (not the audit).
    async fn ops(&self, change: &Change) -> StoreResult<Vec<Op>> {
        let mut ops = Vec::new();
        let versioned = |v: Option<i64>| match v {
            None => (Some("attribute_not_exists(pk)"), vec![]),
            Some(v) => (Some("version = :v"), vec![(":v", n(v))]),
        };
        for write in &change.writes {
            match write {
                Write::PutUser {
                    user,
                    password_hash,
                    expected_version: None,
                } => {
                    ops.push(self.put(
                        items::user_item(user, password_hash.as_deref())?,
                        Some("attribute_not_exists(pk)"),
                        vec![],
                        "this user already exists",
                    )?);
                    let mut link = key(format!("EMAIL#{}", user.email), "EMAIL");
                    link.insert("user_id".into(), s(user.id.to_string()));
                    ops.push(self.put(
                        link,
                        Some("attribute_not_exists(pk)"),
                        vec![],
                        "a user with this email already exists",
                    )?);
                }
                Write::PutUser {
                    user,
                    password_hash,
                    expected_version: Some(v),
                } => {
                    let item = items::user_item(user, None)?;
                    let mut sets = vec![
                        "body = :body",
                        "gsi1sk = :email",
                        "#roles = :roles",
                        "active = :active",
                        "version = :nv",
                    ];
                    let mut values_list = vec![
                        (":body", item["body"].clone()),
                        (":email", item["gsi1sk"].clone()),
                        (":roles", item["roles"].clone()),
                        (":active", item["active"].clone()),
                        (":nv", n(user.version)),
                        (":v", n(*v)),
                    ];
                    if let Some(h) = password_hash {
                        sets.push("password_hash = :ph");
                        values_list.push((":ph", s(h)));
                    }
                    let expression = format!("SET {}", sets.join(", "));
                    // Named, so that the expression never meets a reserved word.
                    let update = Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(format!("USER#{}", user.id), "USER")))
                        .update_expression(&expression)
                        .condition_expression("version = :v")
                        .set_expression_attribute_values(values(values_list))
                        .expression_attribute_names("#roles", "roles")
                        .build()
                        .map_err(build_err)?;
                    ops.push(Op {
                        item: TransactWriteItem::builder().update(update).build(),
                        conflict: STALE,
                    });
                }
                Write::PutExpense {
                    expense,
                    expected_version,
                } => {
                    let (cond, values) = versioned(*expected_version);
                    ops.push(self.put(items::expense_item(expense)?, cond, values, STALE)?);
                }
                Write::DeleteExpense {
                    id,
                    expected_version,
                } => {
                    ops.push(self.delete(
                        key(format!("EXPENSE#{id}"), "EXPENSE"),
                        Some("version = :v"),
                        vec![(":v", n(*expected_version))],
                        STALE,
                    )?);
                }
                Write::PutReport {
                    report,
                    expected_version,
                } => {
                    let (cond, values) = versioned(*expected_version);
                    ops.push(self.put(items::report_item(report)?, cond, values, STALE)?);
                    for decider in &report.deciders {
                        let mut mark = key(format!("DECIDED#{decider}"), report.id.to_string());
                        mark.insert("report_id".into(), s(report.id.to_string()));
                        ops.push(self.put(mark, None, vec![], STALE)?);
                    }
                }
                Write::DeleteReport(report) => {
                    ops.push(self.delete(
                        key(format!("REPORT#{}", report.id), "REPORT"),
                        Some("version = :v"),
                        vec![(":v", n(report.version))],
                        STALE,
                    )?);
                    for decider in &report.deciders {
                        ops.push(self.delete(
                            key(format!("DECIDED#{decider}"), report.id.to_string()),
                            None,
                            vec![],
                            STALE,
                        )?);
                    }
                }
                Write::PutPolicy(policy) => {
                    // The item is named once per transaction, so the change's guard on the
                    // policy (what it read) becomes the put's own condition.
                    let read = change.guards.iter().find_map(|g| match g {
                        Guard::Policy(p) => Some(p),
                        _ => None,
                    });
                    let (cond, vals) = match read {
                        None => (None, vec![]),
                        Some(None) => (Some("attribute_not_exists(pk)"), vec![]),
                        Some(Some(p)) => {
                            let item =
                                items::item("SETTINGS".into(), "POLICY", p.as_ref(), vec![])?;
                            (Some("body = :b"), vec![(":b", item["body"].clone())])
                        }
                    };
                    ops.push(self.put(
                        items::item("SETTINGS".into(), "POLICY", policy, vec![])?,
                        cond,
                        vals,
                        STALE,
                    )?);
                }
                Write::PutReceipt { receipt, expected } => {
                    let mut more = vec![
                        (
                            "gsi2pk",
                            s(format!("EXPENSE#{}#RECEIPTS", receipt.expense_id)),
                        ),
                        ("gsi2sk", s(receipt.id.to_string())),
                        ("receipt_state", s(state_name(&receipt.state))),
                    ];
                    // The receipts of one file, on the index the expenses' duplicates use too
                    // (their keys never start with FILE#).
                    if let Some(sha) = &receipt.sha256 {
                        more.push(("gsi3pk", s(format!("FILE#{sha}"))));
                        more.push(("gsi3sk", s(receipt.id.to_string())));
                    }
                    let item =
                        items::item(format!("RECEIPT#{}", receipt.id), "RECEIPT", receipt, more)?;
                    let (cond, vals) = match expected {
                        None => ("attribute_not_exists(pk)", vec![]),
                        Some(state) => ("receipt_state = :st", vec![(":st", s(state_name(state)))]),
                    };
                    ops.push(self.put(
                        item,
                        Some(cond),
                        vals,
                        "this receipt was changed in the meantime",
                    )?);
                }
                Write::DeleteReceipt(id) => ops.push(self.delete(
                    key(format!("RECEIPT#{id}"), "RECEIPT"),
                    None,
                    vec![],
                    STALE,
                )?),
                Write::PutRates(rates) => {
                    for r in rates {
                        let mut item = key(format!("RATES#{}", r.currency), r.date.to_string());
                        item.insert("rate".into(), s(r.rate.to_string()));
                        item.insert("currency".into(), s(r.currency.code()));
                        item.insert("gsi1pk".into(), s("RATES"));
                        item.insert("gsi1sk".into(), s(format!("{}#{}", r.date, r.currency)));
                        ops.push(self.put(item, None, vec![], STALE)?);
                    }
                }
                Write::DeleteDoc {
                    kind,
                    id,
                    expected_version,
                } => ops.push(self.delete(
                    key(format!("DOC#{}", kind.as_str()), id.as_str()),
                    Some("version = :v"),
                    vec![(":v", n(*expected_version))],
                    STALE,
                )?),
                Write::PutDoc {
                    doc,
                    expected_version,
                } => {
                    let (cond, values) = versioned(*expected_version);
                    let mut item = key(format!("DOC#{}", doc.kind.as_str()), doc.id.as_str());
                    item.insert("version".into(), n(doc.version));
                    item.insert("body".into(), s(doc.body.clone()));
                    ops.push(self.put(item, cond, values, STALE)?);
                }
                Write::AddNotification(note) => {
                    let item = items::item(
                        format!("NOTE#{}", note.user_id),
                        &note.id.to_string(),
                        note,
                        vec![],
                    )?;
                    ops.push(self.put(
                        item,
                        Some("attribute_not_exists(pk)"),
                        vec![],
                        "this notification already exists",
                    )?);
                }
                Write::ReadNotifications { user, ids, at } => {
                    let ids: Vec<String> = match ids {
                        Some(ids) => ids.iter().map(ToString::to_string).collect(),
                        None => {
                            let mut q = Query::on(None, format!("NOTE#{user}"), false);
                            q.filter = Some(("attribute_not_exists(read_at)", vec![]));
                            self.query(&q, MAX_ITEMS)
                                .await?
                                .0
                                .iter()
                                .filter_map(|i| get_s(i, "sk").map(str::to_owned))
                                .collect()
                        }
                    };
                    for id in ids {
                        ops.push(self.update(
                            key(format!("NOTE#{user}"), id),
                            "SET read_at = if_not_exists(read_at, :t)",
                            Some("attribute_exists(pk)"),
                            vec![(":t", s(items::time(*at)))],
                            "no such notification",
                        )?);
                    }
                }
            }
        }
        for m in &change.outbox {
            let more = vec![
                ("created_at", s(items::time(m.created_at))),
                ("attempts", n(0)),
                ("gsi2pk", s("OUTBOX#PENDING")),
                (
                    "gsi2sk",
                    s(format!("{}|{}", items::time(m.deliver_after), m.id)),
                ),
            ];
            ops.push(self.put(
                items::item(format!("OUTBOX#{}", m.id), "OUTBOX", m, more)?,
                Some("attribute_not_exists(pk)"),
                vec![],
                "this message is already in the outbox",
            )?);
        }
        if let Some(i) = &change.idempotency {
            let mut item = key(format!("IDEM#{}#{}", i.user_id, i.key), "IDEM");
            item.insert("fingerprint".into(), s(&i.fingerprint));
            item.insert("response".into(), s(&i.response));
            item.insert("created_at".into(), s(items::time(i.created_at)));
            ops.push(self.put(
                item,
                Some("attribute_not_exists(pk)"),
                vec![],
                "this Idempotency-Key is being used by another request",
            )?);
        }
        Ok(ops)
    }

    /// The audit events sealed after the current head, and the head's update.
    async fn audit_ops(&self, change: &Change) -> StoreResult<(Vec<Op>, Option<usize>)> {
        if change.audit.is_empty() {
            return Ok((vec![], None));
        }
        let head = self.get("AUDIT#HEAD".into(), "HEAD").await?;
        let (mut prev_hash, mut prev_seq) = match &head {
            Some(h) => (
                get_s(h, "hash").unwrap_or_default().to_owned(),
                get_n(h, "seq").unwrap_or(0),
            ),
            None => (audit::GENESIS_HASH.to_owned(), 0),
        };
        let first = head.is_none();
        let old_seq = prev_seq;
        let mut ops = Vec::new();
        for record in &change.audit {
            let event = audit::seal(
                (prev_seq > 0).then_some((prev_hash.as_str(), prev_seq)),
                record.clone(),
            );
            let r = &event.record;
            let mut item = key("AUDIT", seq_key(event.seq));
            let mut add = |k: &str, v: Option<&str>| {
                if let Some(v) = v {
                    item.insert(k.to_owned(), s(v));
                }
            };
            add("at", Some(&items::time(r.at)));
            add("actor_id", r.actor_id.as_deref());
            add("action", Some(&r.action));
            add("entity_kind", Some(&r.entity_kind));
            add("entity_id", Some(&r.entity_id));
            add("source", r.source.as_deref());
            add("before", r.before.as_deref());
            add("after", r.after.as_deref());
            add("prev_hash", Some(&event.prev_hash));
            add("hash", Some(&event.hash));
            item.insert("seq".into(), n(event.seq));
            item.insert(
                "gsi1pk".into(),
                s(format!("AUDIT#{}#{}", r.entity_kind, r.entity_id)),
            );
            item.insert("gsi1sk".into(), s(seq_key(event.seq)));
            ops.push(self.put(
                item,
                Some("attribute_not_exists(pk)"),
                vec![],
                "the audit chain moved on",
            )?);
            prev_hash = event.hash;
            prev_seq = event.seq;
        }
        let mut head_item = key("AUDIT#HEAD", "HEAD");
        head_item.insert("seq".into(), n(prev_seq));
        head_item.insert("hash".into(), s(&prev_hash));
        let (cond, values) = if first {
            ("attribute_not_exists(pk)", vec![])
        } else {
            ("seq = :old", vec![(":old", n(old_seq))])
        };
        let index = ops.len();
        ops.push(self.put(head_item, Some(cond), values, "the audit chain moved on")?);
        Ok((ops, Some(index)))
    }
}

/// What a cancelled transaction means.
enum Outcome {
    /// Someone else appended to the audit chain first: try again.
    Retry,
    /// A condition failed: nothing was written.
    Conflict(&'static str),
}

/// The key of the item a transaction item names.
fn op_key(item: &TransactWriteItem) -> Option<Item> {
    let keys = |i: &Item| {
        let mut k = Item::new();
        for name in ["pk", "sk"] {
            k.insert(name.to_owned(), i.get(name)?.clone());
        }
        Some(k)
    };
    if let Some(p) = item.put() {
        return keys(p.item());
    }
    if let Some(u) = item.update() {
        return keys(u.key());
    }
    if let Some(d) = item.delete() {
        return keys(d.key());
    }
    item.condition_check().and_then(|c| keys(c.key()))
}

/// A receipt state's wire name.
fn state_name(state: &outlay_domain::ReceiptState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub(crate) async fn commit(store: &DynamoStore, change: Change) -> StoreResult<()> {
    let mut ops = store.ops(&change).await?;
    let guards = store.guard_ops(&change, &ops)?;
    ops.extend(guards);
    for attempt in 0..20_u32 {
        let (audit, head_index) = store.audit_ops(&change).await?;
        let head_index = head_index.map(|i| i + ops.len());
        let total = ops.len() + audit.len();
        if total > MAX_ITEMS {
            return Err(StoreError::Conflict(format!(
                "this change has {total} parts; DynamoDB takes at most {MAX_ITEMS} in one transaction"
            )));
        }
        let items: Vec<TransactWriteItem> =
            ops.iter().chain(&audit).map(|o| o.item.clone()).collect();
        let messages: Vec<&'static str> = ops.iter().chain(&audit).map(|o| o.conflict).collect();
        if items.is_empty() {
            return Ok(());
        }
        let result = store
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        let outcome = match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                let reasons = cancelled.cancellation_reasons();
                let failed = reasons
                    .iter()
                    .position(|r| r.code() == Some("ConditionalCheckFailed"));
                match failed {
                    Some(i)
                        if Some(i) == head_index
                            || messages.get(i) == Some(&"the audit chain moved on") =>
                    {
                        Outcome::Retry
                    }
                    Some(i) => Outcome::Conflict(messages.get(i).copied().unwrap_or(STALE)),
                    None if reasons
                        .iter()
                        .any(|r| r.code() == Some("TransactionConflict")) =>
                    {
                        Outcome::Retry
                    }
                    None => {
                        return Err(unavailable(
                            aws_sdk_dynamodb::error::DisplayErrorContext(error),
                            "commit a change",
                        ));
                    }
                }
            }
            Some(TransactWriteItemsError::TransactionInProgressException(_)) => Outcome::Retry,
            _ => {
                return Err(unavailable(
                    aws_sdk_dynamodb::error::DisplayErrorContext(error),
                    "commit a change",
                ));
            }
        };
        match outcome {
            Outcome::Conflict(message) => return Err(StoreError::Conflict(message.to_owned())),
            Outcome::Retry => {
                let wait = Duration::from_millis(5 * u64::from(attempt + 1))
                    + Duration::from_micros(u64::from(uuid::Uuid::new_v4().as_u128() as u16));
                tracing::debug!(attempt, "the audit head moved; retrying the transaction");
                store
                    .head_retries
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                metrics::counter!("outlay_audit_head_retries_total").increment(1);
                tokio::time::sleep(wait).await;
            }
        }
    }
    Err(StoreError::Unavailable(anyhow::anyhow!(
        "the audit chain is too busy; try again"
    )))
}

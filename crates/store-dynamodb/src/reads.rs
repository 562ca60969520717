//! The store's queries, and its [`Store`] implementation.

use std::collections::HashMap;

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use chrono::NaiveDate;
use outlay_app::{
    Change, Doc, DocKind, IdempotencyRecord, Notification, Page, PageRequest, ReportQuery,
    ReportScope, Store, StoreError, StoreResult,
};
use outlay_domain::{
    AuditEvent, AuditRecord, Currency, Email, ExchangeRate, Expense, ExpenseId, Policy, Rate,
    Receipt, ReceiptId, Report, ReportId, ReportState, Role, User, UserId,
};

use crate::DynamoStore;
use crate::items::{self, Item, body, get_n, get_s, key, s, seq_key};

/// One query: a partition, an optional sort-key condition, an optional filter.
pub(crate) struct Query<'a> {
    pub index: Option<&'a str>,
    pub pk: String,
    /// `(operator, value)` on the sort key, such as `("<", cursor)`.
    pub sk: Option<(&'a str, String)>,
    pub forward: bool,
    pub filter: Option<(&'a str, Vec<(&'a str, AttributeValue)>)>,
}

impl Query<'_> {
    pub fn on(index: Option<&str>, pk: String, forward: bool) -> Query<'_> {
        Query {
            index,
            pk,
            sk: None,
            forward,
            filter: None,
        }
    }

    fn names(&self) -> (&'static str, &'static str) {
        match self.index {
            Some("gsi1") => ("gsi1pk", "gsi1sk"),
            Some("gsi2") => ("gsi2pk", "gsi2sk"),
            Some("gsi3") => ("gsi3pk", "gsi3sk"),
            Some("gsi4") => ("gsi4pk", "gsi4sk"),
            _ => ("pk", "sk"),
        }
    }
}

pub(crate) fn unavailable(e: impl std::fmt::Display, what: &str) -> StoreError {
    StoreError::Unavailable(anyhow::anyhow!("Failed to {what}: {e}"))
}

impl DynamoStore {
    /// Writes `barred` (who may not take a report from the finance queue, by the domain's
    /// queue keys) onto the reports waiting for finance that were stored before it was kept:
    /// the finance queue filters on it. Answers how many it wrote.
    pub(crate) async fn backfill_queue_keys(&self) -> anyhow::Result<usize> {
        let waiting = Query::on(
            Some("gsi3"),
            format!(
                "STATE#{}",
                outlay_domain::ReportState::PendingFinance.as_str()
            ),
            true,
        );
        let (items, _) = self.query(&waiting, 10_000_000).await?;
        let mut written = 0;
        for item in items.iter().filter(|i| !i.contains_key("barred")) {
            let report: Report = body(item)?;
            let barred = outlay_domain::access::queue_keys(&report)
                .barred
                .iter()
                .map(|u| s(u.to_string()))
                .collect();
            let done = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(items::key(format!("REPORT#{}", report.id), "REPORT")))
                .update_expression("SET barred = :b")
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(barred)")
                .expression_attribute_values(":b", AttributeValue::L(barred))
                .send()
                .await;
            match done {
                Ok(_) => written += 1,
                // Rewritten (with its keys) since it was read: nothing to fill in.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) => {}
                Err(e) => {
                    return Err(
                        anyhow::Error::new(e).context("Failed to fill in a report's queue keys")
                    );
                }
            }
        }
        Ok(written)
    }

    /// Runs a query until `want` items match (or the partition ends). Answers the items and
    /// whether more may follow.
    pub(crate) async fn query(&self, q: &Query<'_>, want: usize) -> StoreResult<(Vec<Item>, bool)> {
        let (pk_name, sk_name) = q.names();
        let mut condition = "#pk = :pk".to_owned();
        let mut values: HashMap<String, AttributeValue> = HashMap::from([(":pk".into(), s(&q.pk))]);
        let mut names: HashMap<String, String> = HashMap::from([("#pk".into(), pk_name.into())]);
        if let Some((op, value)) = &q.sk {
            condition.push_str(&format!(" AND #sk {op} :sk"));
            values.insert(":sk".into(), s(value));
            names.insert("#sk".into(), sk_name.into());
        }
        if let Some((filter, extra)) = &q.filter {
            for (k, v) in extra {
                values.insert((*k).to_owned(), v.clone());
            }
            if filter.contains("#state") {
                names.insert("#state".into(), "state".into());
            }
        }
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page_size = i32::try_from((want + 1 - out.len()).clamp(1, 1000)).unwrap_or(1000);
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(q.index.map(str::to_owned))
                .key_condition_expression(&condition)
                .set_expression_attribute_values(Some(values.clone()))
                .set_expression_attribute_names(Some(names.clone()))
                .scan_index_forward(q.forward)
                // The table itself reads consistently (an index cannot): the audit walk and the
                // read-set guards must see every write that came before.
                .consistent_read(q.index.is_none())
                .limit(page_size)
                .set_exclusive_start_key(start.take());
            if let Some((filter, _)) = &q.filter {
                request = request.filter_expression(*filter);
            }
            let output = request.send().await.map_err(|e| {
                unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e), "query")
            })?;
            out.extend(output.items().iter().cloned());
            match output.last_evaluated_key() {
                Some(k) if out.len() <= want => start = Some(k.clone()),
                Some(_) => return Ok((out, true)),
                None => {
                    let more = out.len() > want;
                    return Ok((out, more));
                }
            }
        }
    }

    /// A page of items from one query, with the sort key of the last as the next cursor.
    async fn page<T>(
        &self,
        q: Query<'_>,
        req: &PageRequest,
        map: impl Fn(&Item) -> anyhow::Result<T>,
    ) -> StoreResult<Page<T>> {
        let (_, sk_name) = q.names();
        let (items, _) = self.query(&q, req.limit as usize).await?;
        let more = items.len() > req.limit as usize;
        let taken = &items[..items.len().min(req.limit as usize)];
        let next_cursor = if more {
            taken
                .last()
                .and_then(|i| get_s(i, sk_name))
                .map(outlay_app::encode_cursor)
        } else {
            None
        };
        let items = taken.iter().map(map).collect::<anyhow::Result<Vec<T>>>()?;
        Ok(Page { items, next_cursor })
    }

    pub(crate) async fn get(&self, pk: String, sk: &str) -> StoreResult<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                unavailable(
                    aws_sdk_dynamodb::error::DisplayErrorContext(e),
                    "read an item",
                )
            })?;
        Ok(output.item().cloned())
    }

    async fn all(&self, q: Query<'_>) -> StoreResult<Vec<Item>> {
        Ok(self.query(&q, usize::MAX / 2).await?.0)
    }

    async fn reports_page(&self, q: Query<'_>, req: &PageRequest) -> StoreResult<Page<Report>> {
        self.page(q, req, body).await
    }
}

fn audit_event(item: &Item) -> anyhow::Result<AuditEvent> {
    let at = get_s(item, "at").context("an audit event has no time")?;
    Ok(AuditEvent {
        seq: get_n(item, "seq").context("an audit event has no seq")?,
        record: AuditRecord {
            at: chrono::DateTime::parse_from_rfc3339(at)?.with_timezone(&chrono::Utc),
            actor_id: get_s(item, "actor_id").map(str::to_owned),
            action: get_s(item, "action").unwrap_or_default().to_owned(),
            entity_kind: get_s(item, "entity_kind").unwrap_or_default().to_owned(),
            entity_id: get_s(item, "entity_id").unwrap_or_default().to_owned(),
            source: get_s(item, "source").map(str::to_owned),
            before: get_s(item, "before").map(str::to_owned),
            after: get_s(item, "after").map(str::to_owned),
        },
        prev_hash: get_s(item, "prev_hash").unwrap_or_default().to_owned(),
        hash: get_s(item, "hash").unwrap_or_default().to_owned(),
    })
}

fn state_filter(
    state: Option<ReportState>,
) -> Option<(&'static str, Vec<(&'static str, AttributeValue)>)> {
    state.map(|st| ("#state = :state", vec![(":state", s(st.as_str()))]))
}

#[async_trait]
impl Store for DynamoStore {
    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        Ok(self
            .get(format!("USER#{id}"), "USER")
            .await?
            .as_ref()
            .map(body)
            .transpose()?)
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let Some(link) = self.get(format!("EMAIL#{email}"), "EMAIL").await? else {
            return Ok(None);
        };
        let id = get_s(&link, "user_id").and_then(|i| UserId::parse(i).ok());
        match id {
            Some(id) => self.user(id).await,
            None => Ok(None),
        }
    }

    async fn password_hash(&self, id: UserId) -> StoreResult<Option<String>> {
        Ok(self
            .get(format!("USER#{id}"), "USER")
            .await?
            .and_then(|i| get_s(&i, "password_hash").map(str::to_owned)))
    }

    async fn users(&self, req: &PageRequest) -> StoreResult<Page<User>> {
        let mut q = Query::on(Some("gsi1"), "USERS".into(), true);
        q.sk = req.after()?.map(|c| (">", c));
        self.page(q, req, body).await
    }

    async fn expense(&self, id: ExpenseId) -> StoreResult<Option<Expense>> {
        Ok(self
            .get(format!("EXPENSE#{id}"), "EXPENSE")
            .await?
            .as_ref()
            .map(body)
            .transpose()?)
    }

    async fn expenses_of_owner(
        &self,
        owner: UserId,
        req: &PageRequest,
    ) -> StoreResult<Page<Expense>> {
        let mut q = Query::on(Some("gsi1"), format!("OWNER#{owner}#EXPENSES"), false);
        q.sk = req.after()?.map(|c| ("<", c));
        self.page(q, req, body).await
    }

    async fn expenses_of_report(&self, report: ReportId) -> StoreResult<Vec<Expense>> {
        let items = self
            .all(Query::on(
                Some("gsi2"),
                format!("REPORT#{report}#EXPENSES"),
                true,
            ))
            .await?;
        Ok(items.iter().map(body).collect::<anyhow::Result<_>>()?)
    }

    async fn report(&self, id: ReportId) -> StoreResult<Option<Report>> {
        Ok(self
            .get(format!("REPORT#{id}"), "REPORT")
            .await?
            .as_ref()
            .map(body)
            .transpose()?)
    }

    async fn reports(&self, query: &ReportQuery, req: &PageRequest) -> StoreResult<Page<Report>> {
        let after = req.after()?;
        match &query.scope {
            ReportScope::Mine(owner) => {
                let mut q = Query::on(Some("gsi1"), format!("OWNER#{owner}#REPORTS"), false);
                q.sk = after.map(|c| ("<", c));
                q.filter = state_filter(query.state);
                self.reports_page(q, req).await
            }
            ReportScope::All => {
                let mut q = match query.state {
                    Some(ReportState::Draft) => {
                        return Ok(Page {
                            items: vec![],
                            next_cursor: None,
                        });
                    }
                    Some(st) => Query::on(Some("gsi3"), format!("STATE#{}", st.as_str()), false),
                    None => Query::on(Some("gsi4"), "SUBMITTED".into(), false),
                };
                q.sk = after.map(|c| ("<", c));
                self.reports_page(q, req).await
            }
            ReportScope::DecidedBy(user) => {
                let mut q = Query::on(None, format!("DECIDED#{user}"), false);
                q.sk = after.map(|c| ("<", c));
                let marks = self
                    .page(q, req, |i| {
                        Ok(get_s(i, "sk").unwrap_or_default().to_owned())
                    })
                    .await?;
                let mut items = Vec::new();
                for id in &marks.items {
                    let id = ReportId::parse(id).map_err(anyhow::Error::from)?;
                    if let Some(r) = self.report(id).await?
                        && query.state.is_none_or(|st| st == r.state)
                    {
                        items.push(r);
                    }
                }
                Ok(Page {
                    items,
                    next_cursor: marks.next_cursor,
                })
            }
            ReportScope::Approvals { user, shared } => {
                let want = req.limit as usize;
                let mut mine = Query::on(Some("gsi2"), format!("QUEUE#{user}"), true);
                mine.sk = after.clone().map(|c| (">", c));
                let (mut items, mut more) = self.query(&mine, want).await?;
                for queue in shared {
                    let mut fin = Query::on(Some("gsi2"), crate::items::queue_pk(queue), true);
                    fin.sk = after.clone().map(|c| (">", c));
                    fin.filter = Some((
                        "NOT contains(barred, :me)",
                        vec![(":me", s(user.to_string()))],
                    ));
                    let (f, m) = self.query(&fin, want).await?;
                    items.extend(f);
                    more |= m;
                }
                items.sort_by(|a, b| get_s(a, "gsi2sk").cmp(&get_s(b, "gsi2sk")));
                let mut reports: Vec<(String, Report)> = items
                    .iter()
                    .map(|i| {
                        Ok((
                            get_s(i, "gsi2sk").unwrap_or_default().to_owned(),
                            body::<Report>(i)?,
                        ))
                    })
                    .collect::<anyhow::Result<_>>()?;
                reports.retain(|(_, r)| query.state.is_none_or(|st| st == r.state));
                more |= reports.len() > want;
                reports.truncate(want);
                let next_cursor = if more {
                    reports.last().map(|(k, _)| outlay_app::encode_cursor(k))
                } else {
                    None
                };
                Ok(Page {
                    items: reports.into_iter().map(|(_, r)| r).collect(),
                    next_cursor,
                })
            }
        }
    }

    async fn shared_secret(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        let pk = format!("SECRET#{name}");
        let value = |item: Option<Item>| match item.as_ref().and_then(|i| i.get("value")) {
            Some(AttributeValue::B(b)) => Some(b.as_ref().to_vec()),
            _ => None,
        };
        // Every start after the first finds it: one read.
        if let Some(secret) = value(self.get(pk.clone(), "SECRET").await?) {
            return Ok(secret);
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(pk.clone()))
            .item("sk", AttributeValue::S("SECRET".into()))
            .item("value", AttributeValue::B(candidate.to_vec().into()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        if let Err(e) = put
            && !e
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception())
        {
            return Err(unavailable(
                aws_sdk_dynamodb::error::DisplayErrorContext(e),
                "store a secret",
            ));
        }
        value(self.get(pk, "SECRET").await?)
            .ok_or_else(|| anyhow::anyhow!("the secret {name} is missing or malformed").into())
    }

    async fn policy(&self) -> StoreResult<Option<Policy>> {
        Ok(self
            .get("SETTINGS".into(), "POLICY")
            .await?
            .as_ref()
            .map(body)
            .transpose()?)
    }

    async fn idempotency(&self, user: UserId, key: &str) -> StoreResult<Option<IdempotencyRecord>> {
        let Some(item) = self.get(format!("IDEM#{user}#{key}"), "IDEM").await? else {
            return Ok(None);
        };
        let created = get_s(&item, "created_at").unwrap_or_default();
        Ok(Some(IdempotencyRecord {
            user_id: user,
            key: key.to_owned(),
            fingerprint: get_s(&item, "fingerprint").unwrap_or_default().to_owned(),
            response: get_s(&item, "response").unwrap_or_default().to_owned(),
            created_at: chrono::DateTime::parse_from_rfc3339(created)
                .map_err(anyhow::Error::from)?
                .with_timezone(&chrono::Utc),
        }))
    }

    async fn audit_of(&self, entity_kind: &str, entity_id: &str) -> StoreResult<Vec<AuditEvent>> {
        let items = self
            .all(Query::on(
                Some("gsi1"),
                format!("AUDIT#{entity_kind}#{entity_id}"),
                true,
            ))
            .await?;
        Ok(items
            .iter()
            .map(audit_event)
            .collect::<anyhow::Result<_>>()?)
    }

    async fn audit_last_seq(&self) -> StoreResult<i64> {
        // The head item names the newest event.
        Ok(self.audit_head().await?.map_or(0, |(seq, _)| seq))
    }

    async fn audit_page(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        let mut q = Query::on(None, "AUDIT".into(), true);
        q.sk = Some((">", seq_key(after_seq)));
        let (items, _) = self.query(&q, limit as usize).await?;
        Ok(items
            .iter()
            .take(limit as usize)
            .map(audit_event)
            .collect::<anyhow::Result<_>>()?)
    }

    async fn audit_head(&self) -> StoreResult<Option<(i64, String)>> {
        let Some(head) = self.get("AUDIT#HEAD".into(), "HEAD").await? else {
            return Ok(None);
        };
        match (get_n(&head, "seq"), get_s(&head, "hash")) {
            (Some(seq), Some(hash)) => Ok(Some((seq, hash.to_owned()))),
            _ => Err(anyhow::anyhow!("the audit head item has no seq or hash").into()),
        }
    }

    async fn users_with_role(&self, role: Role) -> StoreResult<Vec<User>> {
        let items = self
            .all(Query::on(Some("gsi1"), "USERS".into(), true))
            .await?;
        let users: Vec<User> = items.iter().map(body).collect::<anyhow::Result<_>>()?;
        Ok(users
            .into_iter()
            .filter(|u| u.active && u.has(role))
            .collect())
    }

    async fn receipt(&self, id: ReceiptId) -> StoreResult<Option<Receipt>> {
        Ok(self
            .get(format!("RECEIPT#{id}"), "RECEIPT")
            .await?
            .as_ref()
            .map(body)
            .transpose()?)
    }

    async fn receipts_of_expense(&self, expense: ExpenseId) -> StoreResult<Vec<Receipt>> {
        let items = self
            .all(Query::on(
                Some("gsi2"),
                format!("EXPENSE#{expense}#RECEIPTS"),
                true,
            ))
            .await?;
        Ok(items.iter().map(body).collect::<anyhow::Result<_>>()?)
    }

    async fn receipts_of_file(&self, sha256: &str) -> StoreResult<Vec<Receipt>> {
        let items = self
            .all(Query::on(Some("gsi3"), format!("FILE#{sha256}"), true))
            .await?;
        let receipts: Vec<Receipt> = items.iter().map(body).collect::<anyhow::Result<_>>()?;
        Ok(receipts
            .into_iter()
            .filter(|r| r.state == outlay_domain::ReceiptState::Stored)
            .collect())
    }

    async fn has_duplicate(&self, expense: &Expense) -> StoreResult<bool> {
        let (items, _) = self
            .query(&Query::on(Some("gsi3"), items::dup_key(expense), true), 2)
            .await?;
        Ok(items
            .iter()
            .any(|i| get_s(i, "gsi3sk") != Some(expense.id.to_string().as_str())))
    }

    async fn rate_on_or_before(
        &self,
        currency: Currency,
        date: NaiveDate,
    ) -> StoreResult<Option<ExchangeRate>> {
        let mut q = Query::on(None, format!("RATES#{currency}"), false);
        q.sk = Some(("<=", date.to_string()));
        let (items, _) = self.query(&q, 1).await?;
        Ok(items.first().map(|i| rate(currency, i)).transpose()?)
    }

    async fn rates(&self, limit: u32) -> StoreResult<Vec<ExchangeRate>> {
        let (items, _) = self
            .query(
                &Query::on(Some("gsi1"), "RATES".into(), false),
                limit as usize,
            )
            .await?;
        items
            .iter()
            .take(limit as usize)
            .map(|i| {
                let currency = Currency::parse(get_s(i, "currency").unwrap_or_default())?;
                rate(currency, i)
            })
            .collect::<anyhow::Result<_>>()
            .map_err(Into::into)
    }

    async fn notifications(
        &self,
        user: UserId,
        req: &PageRequest,
    ) -> StoreResult<Page<Notification>> {
        let mut q = Query::on(None, format!("NOTE#{user}"), false);
        q.sk = req.after()?.map(|c| ("<", c));
        self.page(q, req, |i| {
            let mut n: Notification = body(i)?;
            n.read_at = get_s(i, "read_at")
                .map(chrono::DateTime::parse_from_rfc3339)
                .transpose()?
                .map(|t| t.with_timezone(&chrono::Utc));
            Ok(n)
        })
        .await
    }

    async fn unread_notifications(&self, user: UserId) -> StoreResult<u64> {
        let mut count = 0_u64;
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .filter_expression("attribute_not_exists(read_at)")
                .expression_attribute_values(":pk", s(format!("NOTE#{user}")))
                .select(Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| {
                    unavailable(
                        aws_sdk_dynamodb::error::DisplayErrorContext(e),
                        "count notifications",
                    )
                })?;
            count += u64::try_from(output.count()).unwrap_or(0);
            match output.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return Ok(count),
            }
        }
    }

    async fn doc(&self, kind: DocKind, id: &str) -> StoreResult<Option<Doc>> {
        self.get(format!("DOC#{}", kind.as_str()), id)
            .await?
            .as_ref()
            .map(|i| doc(kind, i))
            .transpose()
    }

    async fn docs(&self, kind: DocKind, req: &PageRequest) -> StoreResult<Page<Doc>> {
        let mut q = Query::on(None, format!("DOC#{}", kind.as_str()), false);
        q.sk = req.after()?.map(|c| ("<", c));
        self.page(q, req, |i| Ok(doc(kind, i)?)).await
    }

    async fn commit(&self, change: Change) -> StoreResult<()> {
        crate::commit::commit(self, change).await
    }
}

fn rate(currency: Currency, item: &Item) -> anyhow::Result<ExchangeRate> {
    Ok(ExchangeRate {
        date: get_s(item, "sk").context("a rate has no day")?.parse()?,
        currency,
        rate: Rate::parse(get_s(item, "rate").context("a rate has no value")?)?,
    })
}

/// A document item (`sk` the id, `version`, `body`) of `kind`.
fn doc(kind: DocKind, item: &crate::items::Item) -> StoreResult<Doc> {
    let missing = || StoreError::Unavailable(anyhow::anyhow!("a document item is incomplete"));
    Ok(Doc {
        kind,
        id: get_s(item, "sk").ok_or_else(missing)?.to_owned(),
        version: get_n(item, "version").ok_or_else(missing)?,
        body: get_s(item, "body").ok_or_else(missing)?.to_owned(),
    })
}

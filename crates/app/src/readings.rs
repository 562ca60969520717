//! Receipts that fill in the expense: a file becomes a draft expense whose receipt is read
//! off the request path (the pending reading is the job, taken by the dispatcher on one
//! machine and by the scheduled function on AWS), and the employee accepts what was read.

use std::sync::Arc;

use async_trait::async_trait;
use outlay_domain::reading::{FieldName, Flag, Reading, ReadingState};
use outlay_domain::{Expense, ExpenseDetails, ExpenseId, Money, Receipt, ReceiptId, ReceiptType};
use serde::{Deserialize, Serialize};

use crate::docs::{self, Document};
use crate::expenses::ExpensePatch;
use crate::ports::{Read, ReceiptReader};
use crate::{
    App, AppError, Caller, Change, DocKind, ExpenseInfo, Guard, Idempotency, Result, Write,
};

/// How long a claimed reading is the claimer's before another worker may try it.
const READ_LEASE: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// Queue entries looked at per page, and pages per pass at most.
const QUEUE_PAGE: u32 = 50;
const QUEUE_PAGES: usize = 20;

/// What a draft expense says until its receipt is read and accepted.
pub const DRAFT_MERCHANT: &str = "Receipt being read";

impl Document for Reading {
    const KIND: DocKind = DocKind::Reading;
    fn doc_id(&self) -> String {
        self.receipt_id.to_string()
    }
    fn doc_version(&self) -> i64 {
        self.version
    }
}

/// A reading waiting for a reader: the queue's entry, removed when the reading ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadingJob {
    /// The receipt to read.
    pub receipt_id: ReceiptId,
    /// Its version (always 1: a job is made and removed, never changed).
    pub version: i64,
}

impl Document for ReadingJob {
    const KIND: DocKind = DocKind::ReadingJob;
    fn doc_id(&self) -> String {
        self.receipt_id.to_string()
    }
    fn doc_version(&self) -> i64 {
        self.version
    }
}

/// Readers tried in order: the first that reads a file answers for it.
pub struct ReaderChain(pub Vec<Arc<dyn ReceiptReader>>);

#[async_trait]
impl ReceiptReader for ReaderChain {
    async fn read(&self, kind: ReceiptType, bytes: &[u8]) -> anyhow::Result<Option<Read>> {
        for reader in &self.0 {
            if let Some(read) = reader.read(kind, bytes).await? {
                return Ok(Some(read));
            }
        }
        Ok(None)
    }
}

/// A receipt's reading as its viewers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadingInfo {
    /// The reading.
    pub reading: Reading,
    /// What it says against its expense, with evidence.
    pub flags: Vec<Flag>,
}

/// What one pass of the reading queue did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadPass {
    /// Readings done (something was read).
    pub done: usize,
    /// Readings given up (nothing read, or failing every attempt).
    pub failed: usize,
    /// Attempts that failed and wait to be tried again.
    pub retried: usize,
}

impl App {
    /// The writes that come with a stored receipt: its pending reading and its place in the
    /// reading queue.
    pub(crate) fn stored_receipt_writes(&self, receipt: &Receipt) -> Result<Vec<Write>> {
        let reading = Reading::pending(
            receipt.id,
            receipt.expense_id,
            receipt.owner_id,
            self.clock.now(),
        );
        let job = ReadingJob {
            receipt_id: receipt.id,
            version: 1,
        };
        Ok(vec![docs::put(&reading, None)?, docs::put(&job, None)?])
    }

    /// The other expenses that hold the same file as `receipt`, which `caller` may hear of:
    /// their own, and, for finance, anyone's (an approver learns nothing of the owner's other
    /// expenses this way).
    async fn same_file(&self, caller: &Caller, receipt: &Receipt) -> Result<Vec<Flag>> {
        let Some(sha) = &receipt.sha256 else {
            return Ok(vec![]);
        };
        let finance = caller.user.has(outlay_domain::Role::Finance);
        let mut out = Vec::new();
        let others = self.store.receipts_of_file(sha).await?;
        for other in others.iter().filter(|r| r.expense_id != receipt.expense_id) {
            if other.owner_id != caller.user.id && !finance {
                continue;
            }
            let Some(expense) = self.store.expense(other.expense_id).await? else {
                continue;
            };
            let whose = if other.owner_id == receipt.owner_id {
                "the same employee's".to_owned()
            } else {
                match self.store.user(other.owner_id).await? {
                    Some(u) => format!("{}'s", u.name),
                    None => "another employee's".to_owned(),
                }
            };
            out.push(Flag {
                kind: outlay_domain::reading::FlagKind::DuplicateFile,
                evidence: format!(
                    "the same file (SHA-256 {}…) is attached to {whose} expense {} of {}, {} ({})",
                    &sha[..sha.len().min(12)],
                    expense.details.merchant(),
                    expense.details.date(),
                    expense.details.amount().grouped(),
                    expense.id
                ),
            });
        }
        Ok(out)
    }

    /// A new draft expense holding `bytes` as its receipt, whose reading is queued.
    pub async fn expense_from_receipt(
        &self,
        caller: &Caller,
        content_type: &str,
        filename: Option<&str>,
        bytes: Vec<u8>,
        idem: Option<&Idempotency>,
    ) -> Result<ExpenseInfo> {
        let created = self
            .once(caller.user.id, idem, async || {
                let policy = self.policy_or_default().await?;
                let category = if policy.category("other").is_some() {
                    "other".to_owned()
                } else {
                    policy
                        .categories
                        .first()
                        .map(|c| c.name.clone())
                        .unwrap_or_else(|| "other".into())
                };
                let now = self.clock.now();
                // Placeholders until the reading is accepted: the draft rule keeps it out of
                // any submission meanwhile.
                let placeholder = Money::from_minor(1, policy.base_currency)
                    .map_err(|e| AppError::Internal(e.into()))?;
                let details = ExpenseDetails::new(
                    now.date_naive(),
                    DRAFT_MERCHANT,
                    &category,
                    "",
                    placeholder,
                )?;
                let mut expense = Expense {
                    id: ExpenseId::from_uuid(self.ids.new_id()),
                    owner_id: caller.user.id,
                    details,
                    base_amount: None,
                    exchange_rate: None,
                    report_id: None,
                    justification: None,
                    rejection: None,
                    allocation: None,
                    claim: None,
                    tax: None,
                    draft: true,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                };
                self.convert(&policy, &mut expense).await?;
                let receipt = self
                    .store_file(expense.id, caller, content_type, filename, bytes)
                    .await?;
                let mut change = Change::one(
                    Write::PutExpense {
                        expense: expense.clone(),
                        expected_version: None,
                    },
                    self.audit_record(
                        Some(caller),
                        "expense.create_from_receipt",
                        "expense",
                        expense.id,
                        None::<&Expense>,
                        Some(&expense),
                    )?,
                );
                change.writes.push(Write::PutReceipt {
                    receipt: receipt.clone(),
                    expected: None,
                });
                change.writes.extend(self.stored_receipt_writes(&receipt)?);
                change.audit.push(self.audit_record(
                    Some(caller),
                    "receipt.attach",
                    "expense",
                    expense.id,
                    None::<&Receipt>,
                    Some(&receipt),
                )?);
                // Described as it will be once committed: holding its receipt.
                let today = outlay_domain::latest_today(now);
                let info = Self::described(&policy, today, expense, vec![receipt], false);
                Ok((info, change.guarded([Guard::user(&caller.user)])))
            })
            .await?;
        if idem.is_some() && self.store.expense(created.expense.id).await?.is_none() {
            return Err(crate::idempotency::gone("expense", created.expense.id));
        }
        Ok(created)
    }

    /// A receipt's reading, for whoever may see the receipt.
    pub async fn reading(&self, caller: &Caller, id: ReceiptId) -> Result<ReadingInfo> {
        let receipt = self.visible_receipt(caller, id).await?;
        let reading = self
            .load::<Reading>(&id.to_string())
            .await?
            .ok_or(AppError::NotFound("reading"))?;
        let expense = self.store.expense(receipt.expense_id).await?;
        let flags = self
            .flags(caller, &receipt, &reading, expense.as_ref())
            .await?;
        Ok(ReadingInfo { reading, flags })
    }

    /// What a receipt's reading says against its expense's claim, and the same file elsewhere
    /// that `caller` may hear of: the one composition of a receipt's flags.
    async fn flags(
        &self,
        caller: &Caller,
        receipt: &Receipt,
        reading: &Reading,
        expense: Option<&Expense>,
    ) -> Result<Vec<Flag>> {
        let mut flags = self.same_file(caller, receipt).await?;
        if let Some(expense) = expense {
            flags.extend(reading.flags(expense));
        }
        Ok(flags)
    }

    /// What the read receipts of a report's expenses say against their claims (as
    /// [`App::reading`]'s flags), by expense, for whoever may see the report: the approver's
    /// receipt checks. A reading that cannot be decoded is logged and passed over, so that it
    /// never keeps the report from its approvers.
    pub async fn report_checks(
        &self,
        caller: &Caller,
        id: outlay_domain::ReportId,
    ) -> Result<Vec<(ExpenseId, Vec<Flag>)>> {
        self.visible_report(caller, id).await?;
        let expenses = self.store.expenses_of_report(id).await?;
        let ids: Vec<ExpenseId> = expenses.iter().map(|e| e.id).collect();
        let receipts = self.store.receipts_of_expenses(&ids).await?;
        let mut checks = Vec::with_capacity(expenses.len());
        for (expense, receipts) in expenses.iter().zip(receipts) {
            let mut flags = Vec::new();
            let stored = receipts
                .iter()
                .filter(|r| r.state == outlay_domain::ReceiptState::Stored);
            for receipt in stored {
                let reading = match self.load::<Reading>(&receipt.id.to_string()).await {
                    Ok(Some(reading)) => reading,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(receipt = %receipt.id, error = %e, "a reading could not be read");
                        continue;
                    }
                };
                flags.extend(self.flags(caller, receipt, &reading, Some(expense)).await?);
            }
            checks.push((expense.id, flags));
        }
        Ok(checks)
    }

    /// Copies `fields` of a receipt's reading into the caller's expense (all it found, when
    /// none are named), confirming the draft. `receipt` picks the receipt; by default the
    /// newest one that was read.
    pub async fn accept_reading(
        &self,
        caller: &Caller,
        id: ExpenseId,
        fields: &[FieldName],
        receipt: Option<ReceiptId>,
    ) -> Result<ExpenseInfo> {
        let before = self.expense(caller, id).await?;
        let report = self.ensure_editable(&before).await?;
        let receipts = self.store.receipts_of_expense(id).await?;
        let mut chosen = None;
        for r in receipts.iter().rev() {
            if receipt.is_some_and(|want| want != r.id) {
                continue;
            }
            if let Some(reading) = self.load::<Reading>(&r.id.to_string()).await?
                && (reading.state == ReadingState::Done || receipt.is_some())
            {
                chosen = Some(reading);
                break;
            }
        }
        let Some(mut reading) = chosen else {
            return Err(match receipt {
                // A receipt named in the body that is not this expense's is a wrong value.
                Some(_) => AppError::Unprocessable(
                    "receipt_id names no receipt of this expense that was read".into(),
                ),
                None => AppError::Conflict("none of this expense's receipts has been read".into()),
            });
        };
        if reading.state != ReadingState::Done {
            return Err(AppError::Conflict(match reading.state {
                ReadingState::Pending => {
                    "the receipt is still being read; try again shortly".into()
                }
                _ => "the receipt could not be read; enter the details yourself".into(),
            }));
        }
        let found = reading.fields.found();
        let fields: Vec<FieldName> = if fields.is_empty() {
            found.clone()
        } else {
            fields.to_vec()
        };
        if let Some(missing) = fields.iter().find(|f| !found.contains(f)) {
            return Err(AppError::Unprocessable(format!(
                "the reading found no {}",
                missing.as_str()
            )));
        }
        let read = &reading.fields;
        let has = |f: FieldName| fields.contains(&f);
        let mut patch = ExpensePatch::default();
        if has(FieldName::Merchant) {
            patch.merchant = read.merchant.as_ref().map(|f| f.value.clone());
        }
        if has(FieldName::Date) {
            patch.date = read.date.as_ref().map(|f| f.value.to_string());
        }
        if has(FieldName::Total) {
            patch.amount = read.total.as_ref().map(|f| f.value.normalize().to_string());
        }
        if has(FieldName::Currency) {
            patch.currency = read.currency.as_ref().map(|f| f.value.code().to_owned());
        }
        if has(FieldName::Tax) {
            let gross = read
                .total_money(before.details.amount().currency())
                .filter(|_| has(FieldName::Total))
                .unwrap_or(before.details.amount());
            let tax = read.tax_money(gross.currency()).ok_or_else(|| {
                AppError::Unprocessable("the read tax does not fit the amount's currency".into())
            })?;
            let rate = outlay_domain::Tax::implied_rate(gross, tax)
                .map_err(|e| AppError::Unprocessable(e.to_string()))?;
            patch.tax_rate = Some(rate.to_string());
            patch.tax_amount = Some(tax.amount_string());
        }
        let policy = self.policy_or_default().await?;
        let expense = self.patched(&policy, &before, patch).await?;
        reading.accept(&fields, self.clock.now());
        let mut change = Change::one(
            Write::PutExpense {
                expense: expense.clone(),
                expected_version: Some(before.version),
            },
            self.audit_record(
                Some(caller),
                "expense.accept_reading",
                "expense",
                id,
                Some(&before),
                Some(&expense),
            )?,
        );
        change
            .writes
            .push(docs::put(&reading, Some(reading.version - 1))?);
        let guards =
            std::iter::once(Guard::user(&caller.user)).chain(report.as_ref().map(Guard::report));
        self.store.commit(change.guarded(guards)).await?;
        self.describe(&policy, expense).await
    }

    /// One pass over the reading queue: up to `limit` readings whose time has come are
    /// claimed, read and stored. A reading that fails waits and is tried again, up to
    /// [`outlay_domain::reading::MAX_READ_ATTEMPTS`] attempts in all.
    pub async fn read_receipts(&self, limit: u32) -> Result<ReadPass> {
        let mut pass = ReadPass::default();
        let mut taken = 0;
        let mut cursor = None;
        // Jobs that wait for a retry are passed over, page by page, for a bounded number.
        for _ in 0..QUEUE_PAGES {
            let jobs = self
                .load_page::<ReadingJob>(&crate::PageRequest {
                    limit: QUEUE_PAGE,
                    cursor: cursor.take(),
                })
                .await?;
            for job in jobs.items {
                if taken >= limit {
                    return Ok(pass);
                }
                if self.read_one(&job, &mut pass).await? {
                    taken += 1;
                }
            }
            match jobs.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(pass)
    }

    /// Reads one queued receipt if its time has come; answers whether it was taken.
    async fn read_one(&self, job: &ReadingJob, pass: &mut ReadPass) -> Result<bool> {
        let id = job.receipt_id.to_string();
        let now = self.clock.now();
        let Some(reading) = self.load::<Reading>(&id).await? else {
            self.drop_job(job).await;
            return Ok(false);
        };
        if reading.state != ReadingState::Pending {
            self.drop_job(job).await;
            return Ok(false);
        }
        if reading.not_before > now {
            return Ok(false);
        }
        let mut claimed = reading.clone();
        if reading.exhausted() {
            // Every attempt was claimed and none answered (a reader that hung or crashed).
            claimed.give_up("the reader never answered", now);
        } else {
            claimed.claim(now, READ_LEASE);
        }
        // Claimed at the version read: of several workers, one reads it.
        match self
            .store
            .commit(Change::one(
                docs::put(&claimed, Some(reading.version))?,
                self.audit_record(
                    None,
                    "receipt.read_claimed",
                    "expense",
                    reading.expense_id,
                    Some(&reading),
                    Some(&claimed),
                )?,
            ))
            .await
        {
            Ok(()) => {}
            Err(crate::StoreError::Conflict(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        let before = claimed.clone();
        let mut reading = claimed;
        if reading.state == ReadingState::Pending {
            let file = match self.store.receipt(job.receipt_id).await? {
                Some(r) => self
                    .blobs
                    .get(&crate::receipts::stored_key(
                        r.id,
                        r.sha256.as_deref().unwrap_or(""),
                    ))
                    .await?
                    .map(|bytes| (r.content_type, bytes)),
                None => None,
            };
            match file {
                None => reading.give_up("the receipt is gone", now),
                Some((kind, bytes)) => {
                    let started = std::time::Instant::now();
                    match self.reader.read(kind, &bytes).await {
                        Ok(Some(read)) => reading.read(read.reader, read.fields, self.clock.now()),
                        Ok(None) => reading.give_up("no reader here reads this kind of file", now),
                        Err(e) => {
                            tracing::warn!(error = %e, receipt = %id, "a receipt reader failed");
                            reading.attempt_failed("the reader failed", self.clock.now());
                        }
                    }
                    metrics::histogram!("outlay_receipt_read_seconds")
                        .record(started.elapsed().as_secs_f64());
                }
            }
        }
        match reading.state {
            ReadingState::Done => pass.done += 1,
            ReadingState::Failed => pass.failed += 1,
            ReadingState::Pending => pass.retried += 1,
        }
        let mut change = Change::one(
            docs::put(&reading, Some(before.version))?,
            self.audit_record(
                None,
                "receipt.read",
                "expense",
                reading.expense_id,
                Some(&before),
                Some(&reading),
            )?,
        );
        if reading.state != ReadingState::Pending {
            change.writes.push(Write::DeleteDoc {
                kind: DocKind::ReadingJob,
                id: id.clone(),
                expected_version: job.version,
            });
        }
        // The receipt may have been deleted meanwhile, and its reading with it.
        match self.store.commit(change).await {
            Ok(()) | Err(crate::StoreError::Conflict(_)) => Ok(true),
            Err(e) => Err(e.into()),
        }
    }

    /// The writes that remove a receipt's reading and its place in the queue, with the
    /// receipt: what was read of a deleted receipt does not outlive it.
    pub(crate) async fn reading_deletes(&self, receipt: ReceiptId) -> Result<Vec<Write>> {
        let id = receipt.to_string();
        let mut writes = Vec::new();
        for kind in [DocKind::Reading, DocKind::ReadingJob] {
            if let Some(doc) = self.store.doc(kind, &id).await? {
                writes.push(Write::DeleteDoc {
                    kind,
                    id: id.clone(),
                    expected_version: doc.version,
                });
            }
        }
        Ok(writes)
    }

    async fn drop_job(&self, job: &ReadingJob) {
        let write = Write::DeleteDoc {
            kind: DocKind::ReadingJob,
            id: job.receipt_id.to_string(),
            expected_version: job.version,
        };
        let change = match self.audit_record(
            None,
            "receipt.read_dropped",
            "receipt",
            job.receipt_id,
            Some(job),
            None::<&ReadingJob>,
        ) {
            Ok(audit) => Change::one(write, audit),
            Err(_) => return,
        };
        if let Err(e) = self.store.commit(change).await {
            tracing::warn!(error = %e, "could not drop a finished reading job");
        }
    }
}

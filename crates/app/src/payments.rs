//! Paying employees back: their bank details, the company's paying account, and payment
//! batches that finance builds from approved reports, exports as a bank file and settles.
//!
//! Trust rules, each enforced here under the change's guards:
//! - only the employee sets their bank details; they and finance read them; every change is
//!   audited (masked) and told to the employee;
//! - a batch holds its reports ([`Command::Hold`]), so no report is in two batches or paid by
//!   hand meanwhile; whoever builds, exports or settles it must be allowed to pay every report
//!   ([`outlay_domain::access::may_pay`]), so the payer is never an approver;
//! - the first export fixes the batch's `exported_at`, and every file is made from the batch
//!   alone: concurrent exports commit once and answer the same bytes, whose SHA-256 is audited.

use outlay_domain::{
    AccountNumber, BankAccount, BatchId, BatchItem, BatchState, Command, FileFormat, Money,
    PayingAccount, PaymentBatch, Report, ReportId, Role, decide,
};
use sha2::{Digest, Sha256};

use crate::docs::{self, Document};
use crate::{App, AppError, Caller, Change, Guard, Page, PageRequest, Result, Write, require};

/// The most reports one batch holds: building it holds them all in one change, and a DynamoDB
/// transaction writes at most 100 items (each report takes up to about nine: the report, its
/// deciders' list marks, its owner's and bank details' guards, its audit event).
pub const MAX_BATCH_REPORTS: usize = 10;

/// Bank details as sent: an IBAN (and BIC), or a US routing and account number.
#[derive(Debug, Clone)]
pub struct BankInput {
    /// The account holder's name.
    pub holder: String,
    /// An IBAN.
    pub iban: Option<String>,
    /// Its bank's BIC.
    pub bic: Option<String>,
    /// A US routing number.
    pub routing_number: Option<String>,
    /// A US account number.
    pub account_number: Option<String>,
}

impl BankInput {
    fn parse(&self) -> Result<(String, AccountNumber)> {
        let holder = BankAccount::holder(&self.holder)?;
        let number = match (&self.iban, &self.routing_number, &self.account_number) {
            (Some(iban), None, None) => AccountNumber::iban(iban, self.bic.as_deref())?,
            (None, Some(routing), Some(account)) if self.bic.is_none() => {
                AccountNumber::ach(routing, account)?
            }
            _ => {
                return Err(AppError::Unprocessable(
                    "send an iban (and bic), or a routing_number and an account_number".into(),
                ));
            }
        };
        Ok((holder, number))
    }
}

/// A batch and what it pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFile {
    /// The batch after the export.
    pub batch: PaymentBatch,
    /// The file.
    pub bytes: Vec<u8>,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// `e`, said of report `id`.
fn about(id: ReportId, e: AppError) -> AppError {
    match e {
        AppError::Forbidden(m) => AppError::Forbidden(format!("report {id}: {m}")),
        AppError::Conflict(m) => AppError::Conflict(format!("report {id}: {m}")),
        AppError::BadInput(m) => AppError::BadInput(format!("report {id}: {m}")),
        other => other,
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl App {
    /// The bank details of `user`: their own, or anyone's for finance.
    pub async fn bank_account(
        &self,
        caller: &Caller,
        user: outlay_domain::UserId,
    ) -> Result<Option<BankAccount>> {
        if caller.user.id != user && !caller.user.has(Role::Finance) {
            return Err(AppError::NotFound("bank account"));
        }
        self.load(&user.to_string()).await
    }

    /// Sets the caller's own bank details: audited (masked) and told to them.
    pub async fn put_bank_account(
        &self,
        caller: &Caller,
        input: &BankInput,
    ) -> Result<BankAccount> {
        let (holder, number) = input.parse()?;
        let id = caller.user.id.to_string();
        let before: Option<BankAccount> = self.load(&id).await?;
        let account = BankAccount {
            user_id: caller.user.id,
            holder,
            number,
            version: before.as_ref().map_or(1, |b| b.version + 1),
            updated_at: self.clock.now(),
        };
        if before
            .as_ref()
            .is_some_and(|b| (&b.holder, &b.number) == (&account.holder, &account.number))
        {
            return Ok(before.expect("checked above"));
        }
        let audit = self.audit_record(
            Some(caller),
            "bank_account.update",
            "bank_account",
            &id,
            before.as_ref().map(BankAccount::audited).as_ref(),
            Some(&account.audited()),
        )?;
        let mut change = Change::one(
            docs::put(&account, before.as_ref().map(Document::doc_version))?,
            audit,
        )
        .guarded([Guard::user(&caller.user)]);
        self.tell(
            &caller.user,
            "bank_account.changed",
            format!(
                "Your bank details were changed: reimbursements now go to {}. If you did not do this, tell finance at once.",
                account.number.masked()
            ),
            None,
            false,
            &mut change,
        );
        self.store.commit(change).await?;
        Ok(account)
    }

    /// The company's paying account (finance).
    pub async fn paying_account(&self, caller: &Caller) -> Result<Option<PayingAccount>> {
        require(caller, Role::Finance)?;
        Ok(self.policy_or_default().await?.paying_account)
    }

    /// Replaces the company's paying account (finance), checked with the rest of the policy.
    pub async fn put_paying_account(
        &self,
        caller: &Caller,
        account: PayingAccount,
    ) -> Result<PayingAccount> {
        require(caller, Role::Finance)?;
        let account = account.normalised()?;
        let (before, stored) = self.policy_as_stored().await?;
        let mut policy = before.clone();
        policy.paying_account = Some(account);
        let saved = self.replace_policy(caller, policy, before, stored).await?;
        Ok(saved.paying_account.unwrap_or_default())
    }

    /// Builds a draft batch of approved reports (finance, allowed to pay each of them).
    pub async fn create_batch(
        &self,
        caller: &Caller,
        report_ids: &[ReportId],
    ) -> Result<PaymentBatch> {
        require(caller, Role::Finance)?;
        let unique: std::collections::BTreeSet<_> = report_ids.iter().collect();
        if report_ids.is_empty() || report_ids.len() > MAX_BATCH_REPORTS {
            return Err(AppError::BadInput(format!(
                "a batch holds 1 to {MAX_BATCH_REPORTS} reports"
            )));
        }
        if unique.len() != report_ids.len() {
            return Err(AppError::Unprocessable("a report is named twice".into()));
        }
        let (policy, stored) = self.policy_as_stored().await?;
        let payer = policy.paying_account.clone().ok_or_else(|| {
            AppError::Unprocessable(
                "the company's paying account is not set: finance sets it first".into(),
            )
        })?;
        let now = self.clock.now();
        let batch_id = BatchId::from_uuid(self.ids.new_id());
        let mut change =
            Change::default().guarded([Guard::user(&caller.user), Guard::policy(stored)]);
        let mut items = Vec::new();
        for id in report_ids {
            let (report, owner) = self.report_and_owner(*id).await?;
            let next = decide(&caller.user, &owner, &report, Command::Hold(batch_id), now)
                .map_err(|e| about(report.id, e.into()))?;
            // What is left to pay once cash advances settled part of it.
            let total = report.total.ok_or_else(|| {
                AppError::Unprocessable(format!("report {id} has no total in the base currency"))
            })?;
            let amount = report
                .payable()
                .and_then(|p| Money::from_minor(p, total.currency()).ok())
                .ok_or_else(|| {
                    AppError::Unprocessable(format!(
                        "report {id} has nothing left to pay: cash advances settled all of it; mark it paid by hand"
                    ))
                })?;
            let account: BankAccount =
                self.load(&owner.id.to_string()).await?.ok_or_else(|| {
                    AppError::Unprocessable(format!(
                        "{} has no bank details; they add them in their settings",
                        owner.name
                    ))
                })?;
            change.guards.push(Guard::user(&owner));
            change
                .guards
                .push(docs::guard(&account.doc_id(), Some(&account)));
            items.push(BatchItem {
                report_id: report.id,
                owner_id: owner.id,
                holder: account.holder.clone(),
                account: account.number.clone(),
                amount,
                end_to_end: outlay_domain::payment::end_to_end(report.id),
                paid: None,
            });
            change.audit.push(self.audit_record(
                Some(caller),
                "report.hold",
                "report",
                report.id,
                Some(&report),
                Some(&next),
            )?);
            change.writes.push(Write::PutReport {
                report: next,
                expected_version: Some(report.version),
            });
        }
        let currency = items[0].amount.currency();
        if items.iter().any(|i| i.amount.currency() != currency) {
            return Err(AppError::Unprocessable(
                "a batch pays one currency; these reports are in several".into(),
            ));
        }
        let batch = PaymentBatch {
            id: batch_id,
            state: BatchState::Draft,
            currency,
            items,
            payer,
            created_by: caller.user.id,
            created_at: now,
            exported_at: None,
            files: Default::default(),
            failure: None,
            version: 1,
            updated_at: now,
        };
        change.writes.insert(0, docs::put(&batch, None)?);
        change.audit.insert(
            0,
            self.audit_record(
                Some(caller),
                "payment_batch.create",
                "payment_batch",
                batch.id,
                None::<&serde_json::Value>,
                Some(&batch.audited()),
            )?,
        );
        self.store.commit(change).await?;
        Ok(batch)
    }

    /// Finance's batches, newest first.
    pub async fn batches(&self, caller: &Caller, page: &PageRequest) -> Result<Page<PaymentBatch>> {
        require(caller, Role::Finance)?;
        self.load_page(page).await
    }

    /// One batch (finance).
    pub async fn batch(&self, caller: &Caller, id: BatchId) -> Result<PaymentBatch> {
        require(caller, Role::Finance)?;
        self.load(&id.to_string())
            .await?
            .ok_or(AppError::NotFound("payment batch"))
    }

    /// A report and its owner, as stored now.
    pub(crate) async fn report_and_owner(
        &self,
        id: ReportId,
    ) -> Result<(Report, outlay_domain::User)> {
        let report = self
            .store
            .report(id)
            .await?
            .ok_or(AppError::NotFound("report"))?;
        let owner = self
            .store
            .user(report.owner_id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        Ok((report, owner))
    }

    /// The reports of a batch as stored now, each checked to be one the caller may pay (in
    /// any state: a file of a paid batch is still a file that pays it): the guards of any
    /// change the batch makes to them.
    async fn held(
        &self,
        caller: &Caller,
        batch: &PaymentBatch,
    ) -> Result<Vec<(Report, outlay_domain::User)>> {
        let mut out = Vec::new();
        for item in &batch.items {
            let (report, owner) = self.report_and_owner(item.report_id).await?;
            outlay_domain::access::may_handle_payment(&caller.user, &owner, &report).map_err(
                |d| {
                    about(
                        report.id,
                        match d {
                            outlay_domain::access::Denied::Forbidden(m) => {
                                AppError::Forbidden(m.into())
                            }
                            outlay_domain::access::Denied::NotNow => {
                                AppError::Conflict("it is not approved".into())
                            }
                        },
                    )
                },
            )?;
            out.push((report, owner));
        }
        Ok(out)
    }

    /// The batch as a bank file. The first file of a draft batch exports it (fixing its
    /// `exported_at`); any later call, or a concurrent one, answers the same bytes. Each
    /// format's first file is audited with its SHA-256.
    pub async fn export_batch(
        &self,
        caller: &Caller,
        id: BatchId,
        format: FileFormat,
    ) -> Result<BatchFile> {
        require(caller, Role::Finance)?;
        // Two rounds: a concurrent export that commits first is read back on the second.
        for _ in 0..3 {
            let batch = self.batch(caller, id).await?;
            // Whoever takes a file of the batch, even again, is someone who may pay it.
            let held = self.held(caller, &batch).await?;
            if let Some(sha) = batch.files.get(&format) {
                let bytes = self.render(format, &batch)?;
                let made = sha256(&bytes);
                if &made != sha {
                    return Err(AppError::Internal(anyhow::anyhow!(
                        "batch {id}'s {} file no longer hashes to {sha}",
                        format.as_str()
                    )));
                }
                return Ok(BatchFile {
                    batch,
                    bytes,
                    sha256: made,
                });
            }
            if !matches!(batch.state, BatchState::Draft | BatchState::Exported) {
                return Err(AppError::Conflict(format!(
                    "this batch is {}: no new file is made of it",
                    batch.state.as_str()
                )));
            }
            let mut next = batch.clone();
            next.exported_at.get_or_insert(self.clock.now());
            if next.state == BatchState::Draft {
                next.state = BatchState::Exported;
            }
            let bytes = self.render(format, &next)?;
            let sha = sha256(&bytes);
            next.files.insert(format, sha.clone());
            next.version += 1;
            next.updated_at = self.clock.now();
            let audit = self.audit_record(
                Some(caller),
                "payment_batch.export",
                "payment_batch",
                id,
                Some(&serde_json::json!({"state": batch.state, "files": batch.files})),
                Some(&serde_json::json!({"state": next.state, "format": format, "sha256": sha, "files": next.files})),
            )?;
            let change = Change::one(docs::put(&next, Some(batch.version))?, audit)
                .guarded([Guard::user(&caller.user)])
                .guarded(
                    held.iter()
                        .flat_map(|(r, o)| [Guard::report(r), Guard::user(o)]),
                );
            match self.store.commit(change).await {
                Ok(()) => {
                    return Ok(BatchFile {
                        batch: next,
                        bytes,
                        sha256: sha,
                    });
                }
                Err(crate::StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Conflict(crate::STALE.into()))
    }

    fn render(&self, format: FileFormat, batch: &PaymentBatch) -> Result<Vec<u8>> {
        self.files
            .render(format, batch)
            .map_err(AppError::Unprocessable)
    }

    /// Marks the batch's unpaid reports paid with `reference` (finance, allowed to pay each),
    /// one at a time: if one cannot be, those before it stay paid and settling again goes on.
    pub async fn settle_batch(
        &self,
        caller: &Caller,
        id: BatchId,
        reference: &str,
    ) -> Result<PaymentBatch> {
        require(caller, Role::Finance)?;
        let mut batch = self.batch(caller, id).await?;
        if batch.state != BatchState::Exported {
            return Err(AppError::Conflict(format!(
                "a batch is settled once exported; this one is {}",
                batch.state.as_str()
            )));
        }
        let unpaid: Vec<ReportId> = batch
            .items
            .iter()
            .filter(|i| i.paid.is_none())
            .map(|i| i.report_id)
            .collect();
        for report_id in unpaid {
            batch = self
                .settle_item(caller, &batch, report_id, reference)
                .await?;
        }
        Ok(batch)
    }

    /// Marks one item of `batch` paid with the bank's `reference`: its report through the
    /// state machine's `Settle` (the caller must be allowed to pay it) and the batch's item, in
    /// one change on both versions; the batch is paid once every item is. Answers the batch.
    pub(crate) async fn settle_item(
        &self,
        caller: &Caller,
        batch: &PaymentBatch,
        report_id: ReportId,
        reference: &str,
    ) -> Result<PaymentBatch> {
        let now = self.clock.now();
        let (report, owner) = self.report_and_owner(report_id).await?;
        let paid = decide(
            &caller.user,
            &owner,
            &report,
            Command::Settle {
                batch: batch.id,
                reference: reference.to_owned(),
            },
            now,
        )
        .map_err(|e| about(report_id, e.into()))?;
        let mut next = batch.clone();
        for item in next.items.iter_mut().filter(|i| i.report_id == report_id) {
            item.paid = paid.payment.clone();
        }
        if next.items.iter().all(|i| i.paid.is_some()) {
            next.state = BatchState::Paid;
        }
        next.version += 1;
        next.updated_at = now;
        let mut change =
            Change::default().guarded([Guard::user(&caller.user), Guard::user(&owner)]);
        change.audit.push(self.audit_record(
            Some(caller),
            "payment_batch.settle",
            "payment_batch",
            batch.id,
            Some(&serde_json::json!({"state": batch.state})),
            Some(&serde_json::json!({"state": next.state, "report_id": report_id, "reference": reference.trim()})),
        )?);
        change.audit.push(self.audit_record(
            Some(caller),
            "report.settle",
            "report",
            report.id,
            Some(&report),
            Some(&paid),
        )?);
        self.tell(
            &owner,
            "report.paid",
            format!(
                "Your report \"{}\" was paid: {}",
                report.title,
                reference.trim()
            ),
            Some(report.id),
            false,
            &mut change,
        );
        change.writes.push(docs::put(&next, Some(batch.version))?);
        change.writes.push(Write::PutReport {
            report: paid,
            expected_version: Some(report.version),
        });
        self.store.commit(change).await?;
        Ok(next)
    }

    /// Marks the batch failed: its unpaid reports are free to be paid again (finance).
    pub async fn fail_batch(
        &self,
        caller: &Caller,
        id: BatchId,
        reason: &str,
    ) -> Result<PaymentBatch> {
        require(caller, Role::Finance)?;
        let reason = outlay_domain::expense::text_field("reason", reason, true, 500)?;
        let batch = self.batch(caller, id).await?;
        if !matches!(batch.state, BatchState::Draft | BatchState::Exported) {
            return Err(AppError::Conflict(format!(
                "this batch is {}",
                batch.state.as_str()
            )));
        }
        let now = self.clock.now();
        let mut change = Change::default().guarded([Guard::user(&caller.user)]);
        for item in batch.items.iter().filter(|i| i.paid.is_none()) {
            let (report, owner) = self.report_and_owner(item.report_id).await?;
            let freed = decide(&caller.user, &owner, &report, Command::Release(id), now)?;
            change.audit.push(self.audit_record(
                Some(caller),
                "report.release",
                "report",
                report.id,
                Some(&report),
                Some(&freed),
            )?);
            change.writes.push(Write::PutReport {
                report: freed,
                expected_version: Some(report.version),
            });
        }
        let mut next = batch.clone();
        next.state = BatchState::Failed;
        next.failure = Some(reason);
        next.version += 1;
        next.updated_at = now;
        change
            .writes
            .insert(0, docs::put(&next, Some(batch.version))?);
        change.audit.insert(
            0,
            self.audit_record(
                Some(caller),
                "payment_batch.fail",
                "payment_batch",
                id,
                Some(&serde_json::json!({"state": batch.state})),
                Some(&serde_json::json!({"state": next.state, "failure": next.failure})),
            )?,
        );
        self.store.commit(change).await?;
        Ok(next)
    }
}

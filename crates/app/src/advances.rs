//! Cash advances: requested by an employee, decided by their manager (or finance), paid out by
//! finance, then settled by the employee's reports (their reimbursement is netted) and by
//! repayments. The rules are [`outlay_domain::advance`]'s; every change is audited, commits on
//! the versions it read, and is told to whom it concerns.

use chrono::{NaiveDate, TimeDelta};
use outlay_domain::advance::{Advance, AdvanceError, AdvanceId};
use outlay_domain::{Currency, Money, ReportId, Role, User};

use crate::change::all_pages;
use crate::docs;
use crate::{App, AppError, Caller, Change, Guard, Result, Write, require};

impl From<AdvanceError> for AppError {
    fn from(e: AdvanceError) -> Self {
        match e {
            AdvanceError::Forbidden(m) => AppError::Forbidden(m.to_owned()),
            AdvanceError::NotNow(m) => AppError::Conflict(m.to_owned()),
            AdvanceError::Invalid(m) => AppError::Unprocessable(m),
        }
    }
}

/// The longest an advance may stay open before its owner is reminded, in days.
pub const MAX_DUE_DAYS: u32 = 365;

/// How often an overdue advance's owner is reminded, in days.
const REMIND_EVERY_DAYS: i64 = 7;

fn money(amount: &str, currency: &str) -> Result<Money> {
    let currency =
        Currency::parse(currency.trim()).map_err(|e| AppError::Unprocessable(e.to_string()))?;
    Money::parse(amount.trim(), currency).map_err(|e| AppError::Unprocessable(e.to_string()))
}

impl App {
    /// An advance, if the caller may see it: its owner, its approver, or finance.
    pub async fn advance(&self, caller: &Caller, id: AdvanceId) -> Result<Advance> {
        let advance: Advance = self
            .load(&id.to_string())
            .await?
            .ok_or(AppError::NotFound("advance"))?;
        if visible(caller, &advance) {
            Ok(advance)
        } else {
            Err(AppError::NotFound("advance"))
        }
    }

    /// The advances the caller may see, newest first: their own, those they decide, and all
    /// of them for finance.
    pub async fn advances(&self, caller: &Caller) -> Result<Vec<Advance>> {
        let mut all: Vec<Advance> = self.load_all().await?;
        all.retain(|a| visible(caller, a));
        Ok(all)
    }

    /// The name of each advance's owner, by id, for the pages.
    pub async fn owner_names(
        &self,
        advances: &[Advance],
    ) -> Result<std::collections::BTreeMap<outlay_domain::UserId, String>> {
        let mut names = std::collections::BTreeMap::new();
        for a in advances {
            if let std::collections::btree_map::Entry::Vacant(e) = names.entry(a.owner_id) {
                let name = self.store.user(a.owner_id).await?.map(|u| u.name);
                e.insert(name.unwrap_or_default());
            }
        }
        Ok(names)
    }

    /// The reports an advance may be settled against (finance): its owner's approved reports,
    /// not in a payment batch, with something left to pay.
    pub async fn settleable_reports(
        &self,
        caller: &Caller,
        advance: &Advance,
    ) -> Result<Vec<outlay_domain::Report>> {
        require(caller, Role::Finance)?;
        let query = &crate::ReportQuery {
            scope: crate::ReportScope::Mine(advance.owner_id),
            state: Some(outlay_domain::ReportState::Approved),
        };
        let reports = all_pages(|p| async move { self.store.reports(query, &p).await }).await?;
        Ok(reports
            .into_iter()
            .filter(|r| r.batch_id.is_none() && r.payable().is_some_and(|p| p > 0))
            .collect())
    }

    /// The caller asks for an advance of `amount` in `currency`.
    pub async fn request_advance(
        &self,
        caller: &Caller,
        amount: &str,
        currency: &str,
        purpose: &str,
    ) -> Result<Advance> {
        let amount = money(amount, currency)?;
        let now = self.clock.now();
        let advance = Advance::request(
            AdvanceId::from_uuid(self.ids.new_id()),
            &caller.user,
            amount,
            purpose,
            now,
        )?;
        let mut change = Change::one(
            docs::put(&advance, None)?,
            self.audit_record(
                Some(caller),
                "advance.request",
                "advance",
                advance.id,
                None::<&Advance>,
                Some(&advance),
            )?,
        )
        .guarded([Guard::user(&caller.user)]);
        let subject = format!(
            "{} asks for a cash advance of {} {}: {}",
            caller.user.name,
            amount.amount_string(),
            amount.currency(),
            advance.purpose
        );
        match advance.approver_id {
            Some(id) => {
                if let Some(manager) = self.store.user(id).await? {
                    self.tell(
                        &manager,
                        "advance.requested",
                        subject,
                        None,
                        true,
                        &mut change,
                    );
                }
            }
            None => {
                for f in self.store.users_with_role(Role::Finance).await? {
                    if f.id != caller.user.id {
                        self.tell(
                            &f,
                            "advance.requested",
                            subject.clone(),
                            None,
                            true,
                            &mut change,
                        );
                    }
                }
            }
        }
        self.store.commit(change).await?;
        Ok(advance)
    }

    /// Its owner and the advance, as stored now.
    async fn advance_and_owner(&self, id: AdvanceId) -> Result<(Advance, User)> {
        let advance: Advance = self
            .load(&id.to_string())
            .await?
            .ok_or(AppError::NotFound("advance"))?;
        let owner = self
            .store
            .user(advance.owner_id)
            .await?
            .ok_or(AppError::NotFound("advance"))?;
        Ok((advance, owner))
    }

    /// Commits `next` in place of `before` (on its version and the actor's and owner's),
    /// audited as `action`, telling the owner `subject`.
    async fn commit_advance(
        &self,
        caller: &Caller,
        owner: &User,
        (before, next): (&Advance, &Advance),
        action: &str,
        subject: Option<String>,
        mut extra: Change,
    ) -> Result<()> {
        extra
            .writes
            .insert(0, docs::put(next, Some(before.version))?);
        extra.audit.insert(
            0,
            self.audit_record(
                Some(caller),
                action,
                "advance",
                next.id,
                Some(before),
                Some(next),
            )?,
        );
        extra.guards.push(Guard::user(&caller.user));
        extra.guards.push(Guard::user(owner));
        if let Some(subject) = subject {
            self.tell(owner, action, subject, None, false, &mut extra);
        }
        self.store.commit(extra).await?;
        Ok(())
    }

    /// Its owner cancels a request nobody decided yet.
    pub async fn cancel_advance(&self, caller: &Caller, id: AdvanceId) -> Result<Advance> {
        let (advance, owner) = self.visible_advance(caller, id).await?;
        let next = advance.cancel(&caller.user, self.clock.now())?;
        self.commit_advance(
            caller,
            &owner,
            (&advance, &next),
            "advance.cancel",
            None,
            Change::default(),
        )
        .await?;
        Ok(next)
    }

    async fn visible_advance(&self, caller: &Caller, id: AdvanceId) -> Result<(Advance, User)> {
        let (advance, owner) = self.advance_and_owner(id).await?;
        if !visible(caller, &advance) {
            return Err(AppError::NotFound("advance"));
        }
        Ok((advance, owner))
    }

    /// Its approver approves it, or rejects it with a reason.
    pub async fn decide_advance(
        &self,
        caller: &Caller,
        id: AdvanceId,
        approve: bool,
        note: &str,
    ) -> Result<Advance> {
        let (advance, owner) = self.visible_advance(caller, id).await?;
        let next = advance.decide(&caller.user, &owner, approve, note, self.clock.now())?;
        let (action, subject) = if approve {
            (
                "advance.approve",
                format!("Your cash advance was approved: {}", advance.purpose),
            )
        } else {
            (
                "advance.reject",
                format!(
                    "Your cash advance was rejected: {} ({})",
                    advance.purpose,
                    note.trim()
                ),
            )
        };
        self.commit_advance(
            caller,
            &owner,
            (&advance, &next),
            action,
            Some(subject),
            Change::default(),
        )
        .await?;
        Ok(next)
    }

    /// Finance pays it out with the bank's `reference`; it is due to be settled within
    /// `due_days` (1 to 365, 30 when not given), after which its owner is reminded.
    pub async fn pay_out_advance(
        &self,
        caller: &Caller,
        id: AdvanceId,
        reference: &str,
        due_days: Option<u32>,
    ) -> Result<Advance> {
        require(caller, Role::Finance)?;
        let due_days = due_days.unwrap_or(30);
        if !(1..=MAX_DUE_DAYS).contains(&due_days) {
            return Err(AppError::Unprocessable(format!(
                "an advance is due within 1 to {MAX_DUE_DAYS} days"
            )));
        }
        let (advance, owner) = self.advance_and_owner(id).await?;
        // Who and when first: a missing rate is worth saying only to whom it matters.
        advance.may_handle_money(&caller.user, &owner)?;
        if advance.state != outlay_domain::advance::AdvanceState::Approved {
            return Err(AppError::Conflict(
                "only an approved advance is paid out".into(),
            ));
        }
        let (policy, stored) = self.policy_as_stored().await?;
        let today = policy.time_zone.day(self.clock.now());
        let (base, _) = self
            .to_base(&policy, advance.amount, today)
            .await?
            .ok_or_else(|| {
                AppError::Unprocessable(format!(
                    "no exchange rate of {} to {} for {today}: finance adds one first",
                    advance.amount.currency(),
                    policy.base_currency
                ))
            })?;
        // The rate and base currency read are the policy's as stored.
        let change = Change::default().guarded([Guard::policy(stored)]);
        let due_on = today + TimeDelta::days(i64::from(due_days));
        let next = advance.pay_out(
            &caller.user,
            &owner,
            reference,
            base,
            due_on,
            self.clock.now(),
        )?;
        let subject = format!(
            "Your cash advance of {} {} was paid out ({}); settle it with your reports by {due_on}",
            advance.amount.amount_string(),
            advance.amount.currency(),
            reference.trim()
        );
        self.commit_advance(
            caller,
            &owner,
            (&advance, &next),
            "advance.pay_out",
            Some(subject),
            change,
        )
        .await?;
        Ok(next)
    }

    /// Finance settles what is outstanding against an approved, unpaid report of its owner:
    /// the report's payment is that much less, in the base currency at today's rate.
    pub async fn settle_advance(
        &self,
        caller: &Caller,
        id: AdvanceId,
        report_id: ReportId,
    ) -> Result<(Advance, outlay_domain::Report)> {
        require(caller, Role::Finance)?;
        let (advance, owner) = self.advance_and_owner(id).await?;
        advance.may_handle_money(&caller.user, &owner)?;
        let report = self
            .store
            .report(report_id)
            .await?
            .ok_or_else(|| AppError::Unprocessable("no such report".into()))?;
        // The netting is valued at the payout's rate; the report and its owner are read once,
        // and the commit is guarded on both (and on the advance).
        let mut change = Change::default();
        let (next, settled) = advance.apply_to(&caller.user, &owner, &report, self.clock.now())?;
        change.audit.push(self.audit_record(
            Some(caller),
            "report.advance_applied",
            "report",
            report.id,
            Some(&report),
            Some(&settled),
        )?);
        change.writes.push(Write::PutReport {
            report: settled.clone(),
            expected_version: Some(report.version),
        });
        let applied = next.applied.last().map(|a| a.base).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("a netting records what it applied"))
        })?;
        let subject = format!(
            "{} {} of your cash advance ({}) was settled by your report {}: it pays that much less",
            applied.amount_string(),
            applied.currency(),
            advance.purpose,
            report.title
        );
        self.commit_advance(
            caller,
            &owner,
            (&advance, &next),
            "advance.settle",
            Some(subject),
            change,
        )
        .await?;
        Ok((next, settled))
    }

    /// Finance records that its owner paid back `amount` (in the advance's currency).
    pub async fn repay_advance(
        &self,
        caller: &Caller,
        id: AdvanceId,
        amount: &str,
        reference: &str,
    ) -> Result<Advance> {
        require(caller, Role::Finance)?;
        let (advance, owner) = self.advance_and_owner(id).await?;
        let amount = money(amount, advance.amount.currency().code())?;
        let change = Change::default();
        let next = advance.repay(&caller.user, &owner, amount, reference, self.clock.now())?;
        let subject = format!(
            "Your repayment of {} {} for your cash advance ({}) was recorded",
            amount.amount_string(),
            amount.currency(),
            advance.purpose
        );
        self.commit_advance(
            caller,
            &owner,
            (&advance, &next),
            "advance.repay",
            Some(subject),
            change,
        )
        .await?;
        Ok(next)
    }

    /// Reminds the owner of every advance past its day with something outstanding, at most
    /// once a week each; answers how many were reminded. Each reminder is recorded on the
    /// advance in the commit that sends it, so a second sweep sends nothing twice.
    pub(crate) async fn remind_overdue_advances(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        today: NaiveDate,
    ) -> Result<usize> {
        let mut sent = 0;
        for advance in self.load_all::<Advance>().await? {
            if !advance.is_overdue(today, now, REMIND_EVERY_DAYS) {
                continue;
            }
            let Some(owner) = self.store.user(advance.owner_id).await? else {
                continue;
            };
            let mut next = advance.clone();
            next.reminded_at = Some(now);
            next.version += 1;
            let mut change = Change::one(
                docs::put(&next, Some(advance.version))?,
                self.audit_record(
                    None,
                    "advance.remind",
                    "advance",
                    advance.id,
                    Some(&advance),
                    Some(&next),
                )?,
            );
            let outstanding = outlay_domain::allowance::minor_string(
                advance.outstanding(),
                advance.amount.currency(),
            );
            self.tell(
                &owner,
                "advance.overdue",
                format!(
                    "Your cash advance ({}) was due to be settled by {}: {outstanding} {} is outstanding. Submit your expenses or pay it back.",
                    advance.purpose,
                    advance.due_on.map(|d| d.to_string()).unwrap_or_default(),
                    advance.amount.currency()
                ),
                None,
                false,
                &mut change,
            );
            match self.store.commit(change).await {
                Ok(()) => sent += 1,
                // Changed since it was read: the next sweep looks again.
                Err(crate::StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(sent)
    }
}

/// Who may see an advance: its owner, its approver, finance.
fn visible(caller: &Caller, a: &Advance) -> bool {
    a.owner_id == caller.user.id
        || a.approver_id == Some(caller.user.id)
        || caller.user.has(Role::Finance)
}

//! Reports: building them, who may see them, the approval transitions and their history.

use std::collections::BTreeSet;

use outlay_domain::access;
use outlay_domain::expense::text_field;
use outlay_domain::{
    AuditEvent, Command, Expense, ExpenseId, Money, Report, ReportId, ReportState, Role, User,
    decide,
};
use serde::{Deserialize, Serialize};

use crate::lists::{ListFilter, ListParams, ReportSearch};
use crate::{
    App, AppError, Caller, Change, ExpenseInfo, Guard, Idempotency, Page, PageRequest, ReportQuery,
    ReportScope, Result, Write, check_version,
};

/// A new report: a title, a purpose and some of the caller's unreported expenses.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// Short title.
    pub title: String,
    /// Business purpose.
    pub purpose: String,
    /// The expenses to include (1 to 100, the caller's, in no other report).
    pub expense_ids: Vec<ExpenseId>,
}

/// A report with its expenses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportDetails {
    /// The report.
    pub report: Report,
    /// Its expenses, oldest first, with their receipts and violations.
    pub expenses: Vec<ExpenseInfo>,
    /// What the caller may do to it now.
    pub actions: Vec<access::Action>,
}

/// A transition asked of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send for approval.
    Submit,
    /// Take back before anyone decided.
    Withdraw,
    /// Approve the current step, with an optional comment.
    Approve(Option<String>),
    /// Reject the current step, with a reason.
    Reject(String),
    /// Mark paid, with a reference.
    Pay(String),
}

impl Action {
    /// The transition's name, as in metrics (`submit`, `approve`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Withdraw => "withdraw",
            Action::Approve(_) => "approve",
            Action::Reject(_) => "reject",
            Action::Pay(_) => "pay",
        }
    }
}

/// The total of `expenses` in the base currency, if every one has a base amount.
pub(crate) fn total<'a>(expenses: impl IntoIterator<Item = &'a Expense>) -> Result<Option<Money>> {
    let mut sum: Option<Money> = None;
    for e in expenses {
        let Some(base) = e.base_amount else {
            return Ok(None);
        };
        sum = Some(match sum {
            None => base,
            Some(s) => s
                .checked_add(base)
                .map_err(|e| AppError::Unprocessable(e.to_string()))?,
        });
    }
    Ok(sum)
}

impl App {
    /// Creates a draft report from some of the caller's expenses.
    pub async fn create_report(
        &self,
        caller: &Caller,
        new: NewReport,
        idem: Option<&Idempotency>,
    ) -> Result<ReportDetails> {
        self.once(caller.user.id, idem, async || {
            let title = text_field("title", &new.title, true, 200)?;
            let purpose = text_field("purpose", &new.purpose, false, 2000)?;
            let ids: BTreeSet<ExpenseId> = new.expense_ids.iter().copied().collect();
            if ids.is_empty() || ids.len() > 100 || ids.len() != new.expense_ids.len() {
                return Err(AppError::BadInput(
                    "expense_ids must list 1 to 100 distinct expenses".into(),
                ));
            }
            let now = self.clock.now();
            let id = ReportId::from_uuid(self.ids.new_id());
            let mut expenses = Vec::with_capacity(ids.len());
            let mut writes = Vec::with_capacity(ids.len() + 1);
            for expense_id in &new.expense_ids {
                let mut e = self.expense(caller, *expense_id).await?;
                if let Some(other) = e.report_id {
                    return Err(AppError::Conflict(format!(
                        "expense {expense_id} is already in report {other}"
                    )));
                }
                writes.push(Write::PutExpense {
                    expense: e.clone(),
                    expected_version: Some(e.version),
                });
                e.file_in(Some(id));
                e.version += 1;
                e.updated_at = now;
                expenses.push(e);
            }
            // The writes were pushed with the old expenses for their versions; put the new ones in.
            for (w, e) in writes.iter_mut().zip(&expenses) {
                if let Write::PutExpense { expense, .. } = w {
                    *expense = e.clone();
                }
            }
            let report = Report::draft(id, caller.user.id, title, purpose, total(&expenses)?, now);
            writes.insert(
                0,
                Write::PutReport {
                    report: report.clone(),
                    expected_version: None,
                },
            );
            let audit = self.audit_record(
                Some(caller),
                "report.create",
                "report",
                id,
                None::<&Report>,
                Some(&report),
            )?;
            let change = Change {
                writes,
                audit: vec![audit],
                ..Change::default()
            };
            let expenses = self.describe_all(expenses).await?;
            let actions = access::actions(&caller.user, &caller.user, &report);
            Ok((
                ReportDetails {
                    report,
                    expenses,
                    actions,
                },
                change,
            ))
        })
        .await
    }

    /// A report the caller may see, with its expenses.
    pub async fn report(&self, caller: &Caller, id: ReportId) -> Result<ReportDetails> {
        let report = self.visible_report(caller, id).await?;
        let expenses = self.store.expenses_of_report(id).await?;
        let owner = if report.owner_id == caller.user.id {
            caller.user.clone()
        } else {
            self.user_or_gone(report.owner_id).await?
        };
        Ok(ReportDetails {
            actions: access::actions(&caller.user, &owner, &report),
            report,
            expenses: self.describe_all(expenses).await?,
        })
    }

    pub(crate) async fn describe_all(&self, expenses: Vec<Expense>) -> Result<Vec<ExpenseInfo>> {
        let policy = self.policy_or_default().await?;
        self.describe_many(&policy, expenses).await
    }

    /// Searches reports: the caller's own (`mine`), those waiting for the caller's decision
    /// (`approvals`), those the caller decided a step of (`decided`), or, for finance, every
    /// submitted report (`all`); narrowed and ordered by `params`.
    pub async fn list_reports(
        &self,
        caller: &Caller,
        scope: &str,
        params: &ListParams,
        page: &PageRequest,
    ) -> Result<Page<Report>> {
        let search = self.report_search(caller, scope, params).await?;
        Ok(self.store.find_reports(&search, page).await?)
    }

    /// The search `scope` and `params` ask for, if the caller may make it.
    pub(crate) async fn report_search(
        &self,
        caller: &Caller,
        scope: &str,
        params: &ListParams,
    ) -> Result<ReportSearch> {
        let user = &caller.user;
        let scope = match scope {
            "mine" => ReportScope::Mine(user.id),
            "approvals" => ReportScope::Approvals {
                user: user.id,
                shared: access::queues_of(user)
                    .into_iter()
                    .filter(access::Queue::is_shared)
                    .collect(),
            },
            "all" => {
                crate::require(caller, Role::Finance)?;
                ReportScope::All
            }
            "decided" => ReportScope::DecidedBy(user.id),
            other => {
                return Err(AppError::BadInput(format!(
                    "scope `{}` is not one of mine, approvals, decided, all",
                    other.chars().take(20).collect::<String>()
                )));
            }
        };
        let state = params
            .state
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                ReportState::parse(s).ok_or_else(|| {
                    AppError::BadInput(format!(
                        "state `{}` is not a report state",
                        s.chars().take(20).collect::<String>()
                    ))
                })
            })
            .transpose()?;
        let base = self.policy_or_default().await?.base_currency;
        Ok(ReportSearch {
            query: ReportQuery { scope, state },
            filter: ListFilter::parse(params, base)?,
            sort: params.sort()?,
        })
    }

    /// Applies a transition, checked by the domain's state machine, with its audit event, in
    /// one transaction guarded by the report's version.
    pub async fn transition(
        &self,
        caller: &Caller,
        id: ReportId,
        action: Action,
        expected_version: Option<i64>,
        idem: Option<&Idempotency>,
    ) -> Result<ReportDetails> {
        let kind = action.name();
        let details: ReportDetails = self
            .once(caller.user.id, idem, async || {
                let report = self.visible_report(caller, id).await?;
                check_version(expected_version, report.version)?;
                let mut expenses = self.store.expenses_of_report(id).await?;
                let owner = self.user_or_gone(report.owner_id).await?;
                // The read set: the caller's and the owner's accounts (roles, independence),
                // every expense as read, and for a submission the reporting line and the
                // policy that picked the steps. The report itself is written under its version.
                let mut change = Change::default();
                change.guards.push(Guard::user(&caller.user));
                change.guards.push(Guard::user(&owner));
                change.guards.extend(expenses.iter().map(Guard::expense));
                let command = match action {
                    Action::Submit => {
                        let (policy, stored) = self.policy_as_stored().await?;
                        change.guards.push(Guard::policy(stored));
                        if report.owner_id == caller.user.id && report.state.is_editable() {
                            self.prepare_submission(&policy, &mut expenses, &mut change)
                                .await?;
                        }
                        let (route, line) = self.route(&owner, &expenses, &policy).await?;
                        change.guards.extend(line.iter().map(Guard::user));
                        Command::Submit(route)
                    }
                    Action::Withdraw => Command::Withdraw,
                    Action::Approve(comment) => Command::Approve { comment },
                    Action::Reject(reason) => Command::Reject { reason },
                    Action::Pay(reference) => Command::Pay { reference },
                };
                let name = command.name();
                let mut next = decide(&caller.user, &owner, &report, command, self.clock.now())?;
                if name == "submit" {
                    next.total = total(&expenses)?;
                }
                if matches!(name, "submit" | "approve") {
                    self.stand_in_if_away(&mut next, &owner, &mut change)
                        .await?;
                }
                change.audit.push(self.audit_record(
                    Some(caller),
                    &format!("report.{name}"),
                    "report",
                    id,
                    Some(&report),
                    Some(&next),
                )?);
                change.writes.push(Write::PutReport {
                    report: next.clone(),
                    expected_version: Some(report.version),
                });
                self.notices(caller, &owner, &report, &next, &mut change)
                    .await?;
                let expenses = self.describe_all(expenses).await?;
                Ok((
                    ReportDetails {
                        actions: access::actions(&caller.user, &owner, &next),
                        report: next,
                        expenses,
                    },
                    change,
                ))
            })
            .await?;
        metrics::counter!("outlay_transitions_total", "kind" => kind, "to" => details.report.state.as_str())
            .increment(1);
        Ok(details)
    }

    /// Before a submission: converts expenses that still lack a base amount (a rate may have
    /// arrived since), then refuses the submission if any expense breaks a hard rule or a soft
    /// one without a justification.
    async fn prepare_submission(
        &self,
        policy: &outlay_domain::Policy,
        expenses: &mut [Expense],
        change: &mut Change,
    ) -> Result<()> {
        let now = self.clock.now();
        for e in expenses.iter_mut().filter(|e| e.base_amount.is_none()) {
            let version = e.version;
            self.convert(policy, e).await?;
            if e.base_amount.is_some() {
                e.version += 1;
                e.updated_at = now;
                change.writes.push(Write::PutExpense {
                    expense: e.clone(),
                    expected_version: Some(version),
                });
            }
        }
        let mut blocking = Vec::new();
        for info in self.describe_many(policy, expenses.to_vec()).await? {
            let e = &info.expense;
            blocking.extend(
                policy
                    .blocking(e, &info.violations)
                    .into_iter()
                    .map(|v| (e.id, v.clone())),
            );
        }
        if blocking.is_empty() {
            Ok(())
        } else {
            Err(AppError::PolicyViolations(blocking))
        }
    }

    /// The report's audit events, oldest first. Where each request came from (a client
    /// address) is personal data for admins only; the others see who and what.
    pub async fn report_history(&self, caller: &Caller, id: ReportId) -> Result<Vec<AuditEvent>> {
        self.visible_report(caller, id).await?;
        let mut events = self.store.audit_of("report", &id.to_string()).await?;
        if !caller.user.has(Role::Admin) {
            for e in &mut events {
                e.record.source = None;
            }
        }
        Ok(events)
    }

    /// The report, if `caller` may see it; otherwise "not found", so that its existence does
    /// not leak.
    pub(crate) async fn visible_report(&self, caller: &Caller, id: ReportId) -> Result<Report> {
        let report = self
            .store
            .report(id)
            .await?
            .ok_or(AppError::NotFound("report"))?;
        if self.can_see(&caller.user, &report).await? {
            Ok(report)
        } else {
            Err(AppError::NotFound("report"))
        }
    }

    /// Whether `user` may see `report` ([`access::sight`]); the owner's reporting line is read
    /// only when the answer depends on it.
    pub(crate) async fn can_see(&self, user: &User, report: &Report) -> Result<bool> {
        let sight = access::sight(user, report);
        if sight != access::Sight::IfInLine {
            return Ok(sight.given(user.id, &access::Line::default()));
        }
        let owner = self.store.user(report.owner_id).await?;
        let (manager, senior) = self.line_above(owner.as_ref()).await?;
        let line = access::Line {
            manager: manager.map(|m| m.id),
            senior: senior.map(|s| s.id),
        };
        Ok(sight.given(user.id, &line))
    }

    /// A report's owner, who must exist.
    pub(crate) async fn user_or_gone(&self, id: outlay_domain::UserId) -> Result<User> {
        self.store.user(id).await?.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("the owner {id} of a report is gone"))
        })
    }
}

//! Policy dry runs: finance tries a proposed policy on recent expenses and open reports, and
//! sees what would change, before saving it. Nothing is written.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use outlay_domain::{ExpenseId, Policy, ReportId, ReportState, Role, Step, UserId, Violation};

use crate::lists::{ExpenseScope, ExpenseSearch, ListFilter, Sort};
use crate::{App, AppError, Caller, ExpenseInfo, ReportQuery, ReportScope, Result, require};

/// The most days a dry run looks back.
pub const MAX_PREVIEW_DAYS: u32 = 366;
/// The most expenses, and the most open reports, one dry run replays.
pub const MAX_PREVIEW_ITEMS: usize = 5_000;

/// How one expense's violations would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViolationChange {
    /// The expense.
    pub expense_id: ExpenseId,
    /// Its owner.
    pub owner_id: UserId,
    /// Its report.
    pub report_id: Option<ReportId>,
    /// Where it was spent, for people.
    pub merchant: String,
    /// Violations it would have that it has not now.
    pub added: Vec<Violation>,
    /// Violations it has now that it would not.
    pub removed: Vec<Violation>,
}

/// How an open report's route would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteChange {
    /// The report.
    pub report_id: ReportId,
    /// Its title.
    pub title: String,
    /// Its route under the policy in force.
    pub before: Vec<Step>,
    /// Its route under the proposed one.
    pub after: Vec<Step>,
}

/// What a proposed policy would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyPreview {
    /// The version in force, compared against.
    pub current_version: u32,
    /// How many days were replayed.
    pub days: u32,
    /// How many expenses were replayed.
    pub expenses_checked: usize,
    /// How many open reports were replayed.
    pub reports_checked: usize,
    /// Whether there was more than [`MAX_PREVIEW_ITEMS`] to replay, and the rest was not.
    pub truncated: bool,
    /// The expenses whose violations would change.
    pub violations: Vec<ViolationChange>,
    /// The open reports whose route would change.
    pub routes: Vec<RouteChange>,
}

impl App {
    /// Replays the expenses of submitted reports dated in the last `days` days, and the
    /// reports waiting for a decision, under `proposed` (finance), keeping the cost centres,
    /// projects and rules in force as saving it would. Writes nothing.
    pub async fn preview_policy(
        &self,
        caller: &Caller,
        mut proposed: Policy,
        days: u32,
    ) -> Result<PolicyPreview> {
        require(caller, Role::Finance)?;
        if !(1..=MAX_PREVIEW_DAYS).contains(&days) {
            return Err(AppError::BadInput(format!(
                "days must be 1 to {MAX_PREVIEW_DAYS}"
            )));
        }
        let current = self.policy_or_default().await?;
        proposed.keep_apart(&current);
        proposed.version = current.version;
        proposed.validate()?;
        let today = outlay_domain::latest_today(self.clock.now());
        let search = &ExpenseSearch {
            scope: ExpenseScope::Submitted,
            reported: None,
            filter: ListFilter {
                from: today.checked_sub_signed(TimeDelta::days(i64::from(days))),
                ..ListFilter::default()
            },
            sort: Sort::Natural,
        };
        let (expenses, mut truncated) = up_to(MAX_PREVIEW_ITEMS, |p| async move {
            self.store.find_expenses(search, &p).await
        })
        .await?;
        let expenses_checked = expenses.len();
        let now_infos = self.describe_many(&current, expenses.clone()).await?;
        let then_infos = self.describe_many(&proposed, expenses).await?;
        let violations = now_infos
            .into_iter()
            .zip(then_infos)
            .filter_map(|(now, then)| changed(now, then))
            .collect();

        let mut open = vec![];
        for state in ReportState::ALL.into_iter().filter(ReportState::is_pending) {
            let query = &ReportQuery {
                scope: ReportScope::All,
                state: Some(state),
            };
            let left = MAX_PREVIEW_ITEMS.saturating_sub(open.len());
            let (some, more) =
                up_to(left, |p| async move { self.store.reports(query, &p).await }).await?;
            open.extend(some);
            truncated |= more;
        }
        let mut owners = BTreeMap::new();
        let mut routes = vec![];
        for report in &open {
            let owner = match owners.get(&report.owner_id) {
                Some(o) => o,
                None => {
                    let o = self.user_or_gone(report.owner_id).await?;
                    owners.entry(report.owner_id).or_insert(o)
                }
            };
            let lines = self.store.expenses_of_report(report.id).await?;
            let (Ok((before, _)), Ok((after, _))) = (
                self.route(owner, &lines, &current).await,
                self.route(owner, &lines, &proposed).await,
            ) else {
                continue;
            };
            let (before, after) = (before.plan(owner.id), after.plan(owner.id));
            let who = |steps: &[Step]| -> Vec<_> {
                steps.iter().map(|s| (s.level, s.approver_id)).collect()
            };
            if who(&before) != who(&after) {
                routes.push(RouteChange {
                    report_id: report.id,
                    title: report.title.clone(),
                    before,
                    after,
                });
            }
        }
        Ok(PolicyPreview {
            current_version: current.version,
            days,
            expenses_checked,
            reports_checked: open.len(),
            truncated,
            violations,
            routes,
        })
    }
}

/// At most `max` items of a paged list, a largest page at a time, and whether there were more.
async fn up_to<T, F, Fut>(max: usize, mut page: F) -> Result<(Vec<T>, bool)>
where
    F: FnMut(crate::PageRequest) -> Fut,
    Fut: std::future::Future<Output = crate::StoreResult<crate::Page<T>>>,
{
    let mut req = crate::PageRequest {
        limit: crate::PageRequest::MAX,
        cursor: None,
    };
    let mut out = vec![];
    loop {
        let p = page(req.clone()).await?;
        out.extend(p.items);
        if out.len() > max {
            out.truncate(max);
            return Ok((out, true));
        }
        match p.next_cursor {
            Some(c) if out.len() < max => req.cursor = Some(c),
            Some(_) => return Ok((out, true)),
            None => return Ok((out, false)),
        }
    }
}

/// The change between an expense's violations now and under the proposed policy, if any.
fn changed(now: ExpenseInfo, then: ExpenseInfo) -> Option<ViolationChange> {
    let added: Vec<Violation> = then
        .violations
        .iter()
        .filter(|v| !now.violations.contains(v))
        .cloned()
        .collect();
    let removed: Vec<Violation> = now
        .violations
        .iter()
        .filter(|v| !then.violations.contains(v))
        .cloned()
        .collect();
    if added.is_empty() && removed.is_empty() {
        return None;
    }
    let e = now.expense;
    Some(ViolationChange {
        expense_id: e.id,
        owner_id: e.owner_id,
        report_id: e.report_id,
        merchant: e.details.merchant().to_owned(),
        added,
        removed,
    })
}

//! Who decides a report: the route of a submission, from the owner's reporting line and the
//! policy, and its explanation before and after submission. The steps and their reasons are
//! the domain's ([`outlay_domain::Route::plan`]); this reads what they are planned from.

use outlay_domain::{Expense, Policy, ReportId, Route, Step, User};
use serde::{Deserialize, Serialize};

use crate::reports::total;
use crate::{App, AppError, Caller, Result};

/// A report's route, as `GET /reports/{id}/route` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutePlan {
    /// Whether these are the steps the report would get if it were submitted now (a draft or a
    /// rejected report), rather than those of its current submission.
    pub planned: bool,
    /// The steps in order, each with why it exists and, once submitted, its decision.
    pub steps: Vec<Step>,
}

impl App {
    /// The route of a report the caller may see: for a draft or a rejected report, the steps
    /// a submission would get now; otherwise those of its current submission, as decided so far.
    pub async fn report_route(&self, caller: &Caller, id: ReportId) -> Result<RoutePlan> {
        let report = self.visible_report(caller, id).await?;
        if !report.state.is_editable() {
            return Ok(RoutePlan {
                planned: false,
                steps: report.steps,
            });
        }
        let expenses = self.store.expenses_of_report(id).await?;
        let owner = if report.owner_id == caller.user.id {
            caller.user.clone()
        } else {
            self.user_or_gone(report.owner_id).await?
        };
        let policy = self.policy_or_default().await?;
        let (route, _) = self.route(&owner, &expenses, &policy).await?;
        Ok(RoutePlan {
            planned: true,
            steps: route.plan(owner.id),
        })
    }

    /// The owner's manager and the manager's manager, as stored.
    pub(crate) async fn line_above(
        &self,
        owner: Option<&User>,
    ) -> Result<(Option<User>, Option<User>)> {
        let manager = match owner.and_then(|o| o.manager_id) {
            Some(m) => self.store.user(m).await?,
            None => None,
        };
        let senior = match manager.as_ref().and_then(|m| m.manager_id) {
            Some(s) => self.store.user(s).await?,
            None => None,
        };
        Ok((manager, senior))
    }

    /// Who decides a submission now: the levels of the reporting line that have an active
    /// manager in them, and the total that picks the senior level; with the managers read.
    pub(crate) async fn route(
        &self,
        owner: &User,
        expenses: &[Expense],
        policy: &Policy,
    ) -> Result<(Route, Vec<User>)> {
        let (manager, senior) = self.line_above(Some(owner)).await?;
        let total = total(expenses)?.ok_or_else(|| {
            AppError::Unprocessable(format!(
                "every expense needs an amount in the base currency {}: add an exchange rate for the other currencies first",
                policy.base_currency
            ))
        })?;
        let route = Route::through(
            manager.as_ref(),
            senior.as_ref(),
            total,
            policy.senior_threshold,
        );
        Ok((route, manager.into_iter().chain(senior).collect()))
    }
}

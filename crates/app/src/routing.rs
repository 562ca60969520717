//! Who decides a report: the route of a submission, from the owner's reporting line and the
//! policy, and its explanation before and after submission. The steps and their reasons are
//! the domain's ([`outlay_domain::Route::plan`]); this reads what they are planned from.

use outlay_domain::rules::{Hit, hits};
use outlay_domain::{
    Approver, CostCentreMatch, Expense, Money, Policy, ReportId, Route, RoutingRule, RuleApprover,
    RuleStep, Step, User, UserId,
};
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
        let mut route = Route::through(
            manager.as_ref(),
            senior.as_ref(),
            total,
            policy.senior_threshold,
        );
        let mut read: Vec<User> = manager.into_iter().chain(senior).collect();
        route.rules = self.rule_steps(owner, expenses, policy, &mut read).await?;
        self.eligible_roles(owner, &mut route).await?;
        route.policy_version = policy.version;
        Ok((route, read))
    }

    /// Keeps a rule's role step only if someone may take it: an active holder of the role,
    /// independent of `owner`, who is not the owner nor anyone the route names for another
    /// step (they are barred from it). Otherwise the step is left out and finance is told,
    /// rather than a report waiting for nobody.
    async fn eligible_roles(&self, owner: &User, route: &mut Route) -> Result<()> {
        let named: Vec<UserId> = route
            .manager
            .iter()
            .chain(&route.senior)
            .chain(route.rules.iter().filter_map(|r| r.approver.as_ref()))
            .map(|a| a.id)
            .collect();
        for rule in &mut route.rules {
            let Some(role) = rule.role else {
                continue;
            };
            let holders = self.store.users_with_role(role).await?;
            let eligible = holders.iter().any(|u| {
                u.active && u.id != owner.id && u.independent_of(owner) && !named.contains(&u.id)
            });
            if !eligible {
                rule.role = None;
            }
        }
        Ok(())
    }

    /// The steps the policy's routing rules add for a report of `owner`'s `expenses`, with
    /// their approvers read (and added to `read`, which guards the submission).
    async fn rule_steps(
        &self,
        owner: &User,
        expenses: &[Expense],
        policy: &Policy,
        read: &mut Vec<User>,
    ) -> Result<Vec<RuleStep>> {
        let org = &policy.org;
        let home = owner.home_cost_centre.as_deref();
        let mut out = vec![];
        for hit in hits(&org.routing_rules, expenses, home) {
            let rule = &org.routing_rules[hit.rule];
            if let RuleApprover::Role(role) = rule.approver {
                // Someone must be able to take it: or finance is told (see `eligible_roles`).
                let what = describe(rule, &hit, None, home, policy);
                out.push(RuleStep {
                    approver: None,
                    role: Some(role),
                    reason: format!(
                        "{what}; anyone with the {role} role approves (rule \"{}\")",
                        rule.name
                    ),
                });
                continue;
            }
            let named: Vec<(Option<UserId>, Option<&str>)> = match &rule.approver {
                RuleApprover::Role(_) => vec![],
                RuleApprover::User(id) => vec![(Some(*id), None)],
                RuleApprover::CostCentreOwner => hit
                    .cost_centres
                    .iter()
                    .map(|code| {
                        (
                            org.cost_centre(code).and_then(|c| c.owner_id),
                            Some(code.as_str()),
                        )
                    })
                    .collect(),
            };
            for (id, centre) in named {
                let user = match id {
                    Some(id) => self.store.user(id).await?,
                    None => None,
                };
                let approver = user.as_ref().filter(|u| u.active).map(Approver::of);
                let who = match (&approver, centre) {
                    (Some(a), Some(_)) => format!(", owned by {}", a.name),
                    (Some(a), None) => format!("; {} approves", a.name),
                    (None, _) => String::new(),
                };
                let what = describe(rule, &hit, centre, home, policy);
                out.push(RuleStep {
                    approver,
                    role: None,
                    reason: format!("{what}{who} (rule \"{}\")", rule.name),
                });
                read.extend(user);
            }
        }
        Ok(out)
    }
}

/// What a rule matched, for people: "lines in software charged to cost centre ENG-2 for
/// project APOLLO totalling 1,200.00 USD, over 500.00 USD". `centre` is the cost centre whose
/// owner the step is for, if it is for one.
fn describe(
    rule: &RoutingRule,
    hit: &Hit,
    centre: Option<&str>,
    home: Option<&str>,
    policy: &Policy,
) -> String {
    let mut out = String::from("lines");
    if let Some(c) = &rule.category {
        out.push_str(&format!(" in {c}"));
    }
    let charged = centre.or(match &rule.cost_centre {
        Some(CostCentreMatch::Code(c)) => Some(c.as_str()),
        _ => None,
    });
    if let Some(c) = charged {
        out.push_str(&format!(" charged to cost centre {c}"));
    }
    if rule.cost_centre == Some(CostCentreMatch::OtherThanHome) {
        out.push_str(&format!(
            ", outside the submitter's home cost centre {}",
            home.unwrap_or("(none)")
        ));
    }
    if let Some(p) = &rule.project {
        out.push_str(&format!(" for project {p}"));
    }
    if let Some(over) = rule.over {
        let total = Money::from_minor(hit.total, policy.base_currency)
            .map_or_else(|_| "nothing".to_owned(), |t| t.grouped());
        out.push_str(&format!(" totalling {total}, over {}", over.grouped()));
    }
    out
}

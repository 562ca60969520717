//! Routing: the approval steps a submission gets, in a defined order, each with the reason it
//! exists. The state machine ([`crate::workflow::decide`]) plans a submission's steps here, and
//! the application asks the same function to explain a draft's route before it is submitted.
//!
//! The order of steps: the submitter's manager, then the manager's manager when the total is
//! over the senior threshold, then one step per routing rule matched (in the rules' order; a
//! rule that names several cost centre owners adds one step each), then finance.
//!
//! Nobody decides a report of their own, nor two steps of one: a level with nobody in it, or
//! only the submitter, is left out; a rule's approver who already decides a step is not asked
//! twice (that step says it covers the rule too); a rule whose approver is missing, inactive or
//! the submitter adds no step, and the finance step says so, so that finance decides it
//! knowingly. Finance is never left out.

use crate::{Level, Money, Role, Step, User, UserId};

/// Someone a step can be assigned to, with the name its reason shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    /// Their id.
    pub id: UserId,
    /// Their name, as the reason of their step shows it.
    pub name: String,
}

impl Approver {
    /// The approver that `user` is.
    pub fn of(user: &User) -> Self {
        Self {
            id: user.id,
            name: user.name.clone(),
        }
    }
}

/// What routes a submission: computed by the application from the reporting line and policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The owner's manager, if there is an active one with the manager role.
    pub manager: Option<Approver>,
    /// The manager's manager, likewise.
    pub senior: Option<Approver>,
    /// The report's total in the base currency.
    pub total: Money,
    /// Totals strictly above this need the senior level.
    pub senior_threshold: Money,
    /// The steps routing rules add, in order.
    pub rules: Vec<RuleStep>,
    /// The version of the policy the route was computed under.
    pub policy_version: u32,
}

/// A step a routing rule asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleStep {
    /// Who decides it: `None` when the approver the rule names is missing or inactive, or
    /// when it is a role's.
    pub approver: Option<Approver>,
    /// The role whose holders decide it, for a rule that names a role (with someone active
    /// holding it).
    pub role: Option<Role>,
    /// Why ("lines charged to cost centre ENG-2, owned by Lee (rule: engineering spend)").
    pub reason: String,
}

impl Route {
    /// The route of a report totalling `total`, through the owner's `manager` and the
    /// manager's manager `senior` as stored: a level counts only with an active manager in it.
    pub fn through(
        manager: Option<&User>,
        senior: Option<&User>,
        total: Money,
        senior_threshold: Money,
    ) -> Self {
        let present = |u: Option<&User>| {
            u.filter(|u| u.active && u.has(Role::Manager))
                .map(Approver::of)
        };
        Self {
            manager: present(manager),
            senior: present(senior),
            total,
            senior_threshold,
            rules: vec![],
            policy_version: 0,
        }
    }

    /// The steps of a submission by `owner`, undecided, in order, each with its reason. Nobody
    /// is the approver of a step of their own report.
    pub fn plan(&self, owner: UserId) -> Vec<Step> {
        let step = Step::new;
        let present = |a: &Option<Approver>| a.clone().filter(|a| a.id != owner);
        let manager = present(&self.manager);
        let senior =
            present(&self.senior).filter(|s| manager.as_ref().is_none_or(|m| m.id != s.id));
        let over = self.total.minor() > self.senior_threshold.minor();
        let over_text = format!(
            "total {} is over the senior threshold of {}",
            self.total.grouped(),
            self.senior_threshold.grouped()
        );
        let mut steps = Vec::with_capacity(3);
        let mut finance = String::from("finance approves every report");
        match &manager {
            Some(m) => steps.push(step(
                Level::Manager,
                Some(m.id),
                format!("{} is the submitter's manager", m.name),
            )),
            None => finance.push_str("; the submitter has no active manager to decide first"),
        }
        match (&senior, over) {
            (Some(s), true) => steps.push(step(
                Level::Senior,
                Some(s.id),
                format!("{over_text}; {} is the manager's manager", s.name),
            )),
            (None, true) => finance.push_str(&format!(
                "; {over_text}, and there is no active manager above the manager to decide it"
            )),
            (_, false) => {}
        }
        for rule in &self.rules {
            if let Some(role) = rule.role {
                match steps.iter_mut().find(|s| s.role == Some(role)) {
                    Some(earlier) => {
                        earlier.reason.push_str("; also ");
                        earlier.reason.push_str(&rule.reason);
                    }
                    None => steps.push(Step {
                        role: Some(role),
                        ..step(Level::Rule, None, rule.reason.clone())
                    }),
                }
                continue;
            }
            match &rule.approver {
                None => finance.push_str(&format!(
                    "; {}, but its approver is missing or inactive",
                    rule.reason
                )),
                Some(a) if a.id == owner => finance.push_str(&format!(
                    "; {}, but that approver is the submitter",
                    rule.reason
                )),
                Some(a) => match steps.iter_mut().find(|s| s.approver_id == Some(a.id)) {
                    Some(earlier) => {
                        earlier.reason.push_str("; also ");
                        earlier.reason.push_str(&rule.reason);
                    }
                    None => steps.push(step(Level::Rule, Some(a.id), rule.reason.clone())),
                },
            }
        }
        steps.push(step(Level::Finance, None, finance));
        steps
    }
}

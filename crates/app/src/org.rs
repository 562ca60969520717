//! Cost centres, projects and routing rules as finance (or an admin) keeps them: each change
//! is checked with the whole policy and committed under its guard ([`App::change_org`]).

use outlay_domain::org::parse_code;
use outlay_domain::policy::Organisation;
use outlay_domain::{
    CostCentre, CostCentreMatch, Money, Project, Role, RoutingRule, RuleApprover, UserId,
};

use crate::{App, AppError, Caller, Result};

/// A cost centre as sent.
#[derive(Debug, Clone)]
pub struct CostCentreInput {
    /// Its name.
    pub name: String,
    /// Who approves spend charged to it.
    pub owner_id: Option<UserId>,
    /// Whether expenses may be charged to it.
    pub active: bool,
}

/// A project as sent.
#[derive(Debug, Clone)]
pub struct ProjectInput {
    /// Its name.
    pub name: String,
    /// The customer, if any.
    pub customer: Option<String>,
    /// Whether it is billed on.
    pub billable: bool,
    /// Its budget, a decimal in the base currency.
    pub budget: Option<String>,
}

/// A routing rule as sent.
#[derive(Debug, Clone)]
pub struct RuleInput {
    /// What it is for.
    pub name: String,
    /// The lines' category.
    pub category: Option<String>,
    /// A cost centre's code, or `other_than_home`.
    pub cost_centre: Option<String>,
    /// A project's code.
    pub project: Option<String>,
    /// An amount in the base currency that the matching lines must exceed.
    pub over: Option<String>,
    /// `cost_centre_owner`, `user` or `role`.
    pub approver: String,
    /// The user, for `user`.
    pub approver_id: Option<UserId>,
    /// The role (`manager`, `finance`, `admin`), for `role`.
    pub approver_role: Option<String>,
}

/// An optional text as sent: absent is `None`; present, it must say something.
fn given(field: &str, s: Option<String>) -> Result<Option<String>> {
    match s.map(|s| s.trim().to_owned()) {
        Some(s) if s.is_empty() => Err(AppError::BadInput(format!(
            "{field} is empty; leave it out (or null) for none"
        ))),
        other => Ok(other),
    }
}

/// Fails unless the caller keeps the cost centres, projects and routing rules: finance or an
/// admin. The one statement of who does; adapters may ask it before reading their input.
pub fn may_keep_org(caller: &Caller) -> Result<()> {
    if caller.user.has(Role::Finance) || caller.user.has(Role::Admin) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "cost centres, projects and routing rules are kept by finance or an admin".into(),
        ))
    }
}

impl App {
    /// The cost centres, projects and routing rules; everyone may read them (the expense form
    /// offers the cost centres and projects, and a route is explained by its rules).
    pub async fn organisation(&self, _caller: &Caller) -> Result<Organisation> {
        Ok(self.policy_or_default().await?.org)
    }

    /// Adds or changes the cost centre `code`.
    pub async fn put_cost_centre(
        &self,
        caller: &Caller,
        code: &str,
        input: CostCentreInput,
    ) -> Result<CostCentre> {
        let code =
            parse_code("cost centre", code).map_err(|e| AppError::BadInput(e.to_string()))?;
        let centre = CostCentre {
            code: code.clone(),
            name: input.name.trim().to_owned(),
            owner_id: input.owner_id,
            active: input.active,
        };
        let kept = centre.clone();
        self.change_org(caller, move |org| {
            match org.cost_centres.iter_mut().find(|c| c.code == code) {
                Some(c) => *c = centre,
                None => org.cost_centres.push(centre),
            }
        })
        .await?;
        Ok(kept)
    }

    /// Adds or changes the project `code`.
    pub async fn put_project(
        &self,
        caller: &Caller,
        code: &str,
        input: ProjectInput,
    ) -> Result<Project> {
        let code = parse_code("project", code).map_err(|e| AppError::BadInput(e.to_string()))?;
        let base = self.policy_or_default().await?.base_currency;
        let project = Project {
            code: code.clone(),
            name: input.name.trim().to_owned(),
            customer: given("customer", input.customer)?,
            billable: input.billable,
            budget: given("budget", input.budget)?
                .map(|b| Money::parse(&b, base))
                .transpose()?,
        };
        let kept = project.clone();
        self.change_org(caller, move |org| {
            match org.projects.iter_mut().find(|p| p.code == code) {
                Some(p) => *p = project,
                None => org.projects.push(project),
            }
        })
        .await?;
        Ok(kept)
    }

    /// Replaces the routing rules, in order.
    pub async fn put_routing_rules(
        &self,
        caller: &Caller,
        inputs: Vec<RuleInput>,
    ) -> Result<Vec<RoutingRule>> {
        let base = self.policy_or_default().await?.base_currency;
        let mut rules = Vec::with_capacity(inputs.len());
        for r in inputs {
            let cost_centre = match given("cost_centre", r.cost_centre)?.as_deref() {
                None => None,
                Some("other_than_home") => Some(CostCentreMatch::OtherThanHome),
                Some(code) => Some(CostCentreMatch::Code(
                    parse_code("cost centre", code)
                        .map_err(|e| AppError::BadInput(e.to_string()))?,
                )),
            };
            let approver = match (
                r.approver.as_str(),
                r.approver_id,
                r.approver_role.as_deref(),
            ) {
                ("cost_centre_owner", None, None) => RuleApprover::CostCentreOwner,
                ("user", Some(id), None) => RuleApprover::User(id),
                ("role", None, Some(role)) => RuleApprover::Role(Role::parse(role)?),
                (kind, _, _) if !["cost_centre_owner", "user", "role"].contains(&kind) => {
                    return Err(AppError::BadInput(format!(
                        "approver `{}` is not one of cost_centre_owner, user, role",
                        kind.chars().take(30).collect::<String>()
                    )));
                }
                // Well-formed, but what goes with the kind is missing or extra.
                _ => {
                    return Err(AppError::Unprocessable(
                        "approver is `cost_centre_owner` alone, `user` with an approver_id, or `role` with an approver_role".into(),
                    ));
                }
            };
            rules.push(RoutingRule {
                name: r.name.trim().to_owned(),
                category: given("category", r.category)?.map(|c| c.to_lowercase()),
                cost_centre,
                project: given("project", r.project)?
                    .map(|p| parse_code("project", &p))
                    .transpose()
                    .map_err(|e| AppError::BadInput(e.to_string()))?,
                over: given("over", r.over)?
                    .map(|o| Money::parse(&o, base))
                    .transpose()?,
                approver,
            });
        }
        let kept = rules.clone();
        self.change_org(caller, move |org| org.routing_rules = rules)
            .await?;
        Ok(kept)
    }
}

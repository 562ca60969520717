//! `/api/v1/cost-centres`, `/api/v1/projects` and `/api/v1/routing-rules`: what spend is
//! charged to, and the conditions that add approval steps. Everyone reads them; finance or an
//! admin changes them.

use axum::Json;
use axum::extract::{Path, State};
use outlay_app::{CostCentreInput, ProjectInput, RuleInput};
use outlay_domain::{CostCentre, CostCentreMatch, Project, RoutingRule, RuleApprover, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ErrorBody, Result};
use crate::extract::{Auth, JsonBody};

/// A cost centre.
#[derive(Debug, Serialize, ToSchema)]
pub struct CostCentreView {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Who approves spend charged to it (when a routing rule says so).
    pub owner_id: Option<String>,
    /// Whether expenses may be charged to it.
    pub active: bool,
}

impl From<CostCentre> for CostCentreView {
    fn from(c: CostCentre) -> Self {
        Self {
            code: c.code,
            name: c.name,
            owner_id: c.owner_id.map(|o| o.to_string()),
            active: c.active,
        }
    }
}

/// A cost centre as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CostCentreRequest {
    /// Its name.
    #[schema(schema_with = crate::apidoc::text_200)]
    pub name: String,
    /// Who approves spend charged to it.
    #[schema(schema_with = crate::apidoc::id_or_null)]
    pub owner_id: Option<String>,
    /// Whether expenses may be charged to it (default true).
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// A project.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectView {
    /// Its code.
    #[schema(schema_with = crate::apidoc::code)]
    pub code: String,
    /// Its name.
    #[schema(schema_with = crate::apidoc::text_200)]
    pub name: String,
    /// The customer it is for.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub customer: Option<String>,
    /// Whether its spend is billed on.
    #[serde(default)]
    pub billable: bool,
    /// Its budget in the base currency.
    #[schema(schema_with = crate::apidoc::amount_or_null)]
    pub budget: Option<String>,
}

impl From<Project> for ProjectView {
    fn from(p: Project) -> Self {
        Self {
            code: p.code,
            name: p.name,
            customer: p.customer,
            billable: p.billable,
            budget: p.budget.map(|b| b.amount_string()),
        }
    }
}

/// A project as sent; its code is the path's.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectRequest {
    /// Its name.
    #[schema(schema_with = crate::apidoc::text_200)]
    pub name: String,
    /// The customer it is for.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub customer: Option<String>,
    /// Whether its spend is billed on.
    #[serde(default)]
    pub billable: bool,
    /// Its budget in the base currency.
    #[schema(schema_with = crate::apidoc::amount_or_null)]
    pub budget: Option<String>,
}

/// A routing rule: every condition given must hold; the step goes to `approver`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleView {
    /// What it is for; shown in the reason of its step.
    #[schema(schema_with = crate::apidoc::text_200)]
    pub name: String,
    /// The lines' category.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    pub category: Option<String>,
    /// A cost centre's code, or `other_than_home`: charges outside the owner's home one.
    #[schema(schema_with = crate::apidoc::code_or_null)]
    pub cost_centre: Option<String>,
    /// A project's code.
    #[schema(schema_with = crate::apidoc::code_or_null)]
    pub project: Option<String>,
    /// The matching lines must total more than this (base currency).
    #[schema(schema_with = crate::apidoc::amount_or_null)]
    pub over: Option<String>,
    /// `cost_centre_owner` (the owner of each cost centre charged), `user`, or `role`
    /// (anyone holding it but the submitter and whoever approved an earlier step).
    #[schema(schema_with = crate::apidoc::rule_approver)]
    pub approver: String,
    /// The approver, for `user`.
    #[schema(schema_with = crate::apidoc::id_or_null)]
    pub approver_id: Option<String>,
    /// The role, for `role`: `manager`, `finance` or `admin`.
    #[serde(default)]
    #[schema(schema_with = crate::apidoc::rule_role_or_null)]
    pub approver_role: Option<String>,
}

impl From<RoutingRule> for RuleView {
    fn from(r: RoutingRule) -> Self {
        let (approver, approver_id, approver_role) = match r.approver {
            RuleApprover::CostCentreOwner => ("cost_centre_owner", None, None),
            RuleApprover::User(u) => ("user", Some(u.to_string()), None),
            RuleApprover::Role(role) => ("role", None, Some(role.as_str().to_owned())),
        };
        Self {
            name: r.name,
            category: r.category,
            cost_centre: r.cost_centre.map(|c| match c {
                CostCentreMatch::Code(c) => c,
                CostCentreMatch::OtherThanHome => "other_than_home".into(),
            }),
            project: r.project,
            over: r.over.map(|o| o.amount_string()),
            approver: approver.into(),
            approver_id,
            approver_role,
        }
    }
}

/// A list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Items<T> {
    /// The items, in order.
    pub items: Vec<T>,
}

fn user_id(field: &str, raw: Option<String>) -> Result<Option<UserId>> {
    raw.map(|r| UserId::parse(&r).map_err(|e| ApiError::BadRequest(format!("{field}: {e}"))))
        .transpose()
}

/// The cost centres.
#[utoipa::path(get, path = "/cost-centres", tag = "organisation", security(("bearer" = [])),
    responses((status = 200, body = Items<CostCentreView>)))]
async fn list_cost_centres(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<Items<CostCentreView>>> {
    let org = state.app.organisation(&caller).await?;
    Ok(Json(Items {
        items: org.cost_centres.into_iter().map(Into::into).collect(),
    }))
}

/// Adds or changes a cost centre (finance or an admin).
#[utoipa::path(put, path = "/cost-centres/{code}", tag = "organisation", security(("bearer" = [])), request_body = CostCentreRequest,
    params(("code" = String, Path, description = "The cost centre's code", pattern = "^[A-Za-z0-9_-]{1,20}$", max_length = 20)),
    responses((status = 200, body = CostCentreView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "The policy changed meanwhile", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_cost_centre(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    body: JsonBody<CostCentreRequest>,
) -> Result<Json<CostCentreView>> {
    outlay_app::may_keep_org(&caller)?;
    let r = body.value;
    let input = CostCentreInput {
        name: r.name,
        owner_id: user_id("owner_id", r.owner_id)?,
        active: r.active,
    };
    Ok(Json(
        state
            .app
            .put_cost_centre(&caller, &code, input)
            .await?
            .into(),
    ))
}

/// The projects.
#[utoipa::path(get, path = "/projects", tag = "organisation", security(("bearer" = [])),
    responses((status = 200, body = Items<ProjectView>)))]
async fn list_projects(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<Items<ProjectView>>> {
    let org = state.app.organisation(&caller).await?;
    Ok(Json(Items {
        items: org.projects.into_iter().map(Into::into).collect(),
    }))
}

/// Adds or changes a project (finance or an admin).
#[utoipa::path(put, path = "/projects/{code}", tag = "organisation", security(("bearer" = [])), request_body = ProjectRequest,
    params(("code" = String, Path, description = "The project's code", pattern = "^[A-Za-z0-9_-]{1,20}$", max_length = 20)),
    responses((status = 200, body = ProjectView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_project(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    body: JsonBody<ProjectRequest>,
) -> Result<Json<ProjectView>> {
    outlay_app::may_keep_org(&caller)?;
    let r = body.value;
    let input = ProjectInput {
        name: r.name,
        customer: r.customer,
        billable: r.billable,
        budget: r.budget,
    };
    Ok(Json(
        state.app.put_project(&caller, &code, input).await?.into(),
    ))
}

/// The routing rules, in order.
#[utoipa::path(get, path = "/routing-rules", tag = "organisation", security(("bearer" = [])),
    responses((status = 200, body = Items<RuleView>)))]
async fn list_rules(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<Items<RuleView>>> {
    let org = state.app.organisation(&caller).await?;
    Ok(Json(Items {
        items: org.routing_rules.into_iter().map(Into::into).collect(),
    }))
}

/// Replaces the routing rules (finance or an admin). Each adds one approval step, after the
/// manager's and the senior's and before finance's, in this order.
#[utoipa::path(put, path = "/routing-rules", tag = "organisation", security(("bearer" = [])), request_body = Items<RuleView>,
    responses((status = 200, body = Items<RuleView>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, description = "A rule names what does not exist", body = ErrorBody)))]
async fn put_rules(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<Items<RuleView>>,
) -> Result<Json<Items<RuleView>>> {
    outlay_app::may_keep_org(&caller)?;
    let mut inputs = vec![];
    for r in body.value.items {
        inputs.push(RuleInput {
            name: r.name,
            category: r.category,
            cost_centre: r.cost_centre,
            project: r.project,
            over: r.over,
            approver: r.approver,
            approver_id: user_id("approver_id", r.approver_id)?,
            approver_role: r.approver_role,
        });
    }
    let rules = state.app.put_routing_rules(&caller, inputs).await?;
    Ok(Json(Items {
        items: rules.into_iter().map(Into::into).collect(),
    }))
}

/// The organisation routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_cost_centres))
        .routes(routes!(put_cost_centre))
        .routes(routes!(list_projects))
        .routes(routes!(put_project))
        .routes(routes!(list_rules, put_rules))
}

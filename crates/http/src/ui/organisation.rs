//! Finance's (and admins') organisation page: cost centres, projects and the routing rules
//! editor. Each form is one use case; the rules are saved as a whole, in the order shown.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use maud::html;
use outlay_app::{CostCentreInput, ProjectInput, RuleInput};
use outlay_domain::{CostCentreMatch, Role, RuleApprover, UserId};
use serde::Deserialize;

use super::{CsrfForm, ErrorPage, Session, csrf, message, page, url};
use crate::AppState;

/// The organisation routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/organisation", get(show))
        .route("/organisation/cost-centres", post(save_centre))
        .route("/organisation/projects", post(save_project))
        .route("/organisation/rules", post(save_rules))
}

/// How many empty rows the rules editor adds for new rules.
const NEW_RULES: usize = 1;

async fn show(State(state): State<AppState>, session: Session) -> Result<Response, ErrorPage> {
    outlay_app::may_keep_org(&session.caller)?;
    let app = &state.app;
    let (org, people, categories) = (tokio::try_join!(
        app.organisation(&session.caller),
        app.people(&session.caller),
        app.categories()
    ))?;
    let mut people: Vec<(UserId, String)> =
        people.into_iter().map(|(id, p)| (id, p.name)).collect();
    people.sort_by(|a, b| a.1.cmp(&b.1));
    let name = |id: Option<UserId>| {
        id.and_then(|id| people.iter().find(|p| p.0 == id))
            .map_or_else(|| "—".to_owned(), |p| p.1.clone())
    };
    let empty = outlay_domain::RoutingRule {
        name: String::new(),
        category: None,
        cost_centre: None,
        project: None,
        over: None,
        approver: RuleApprover::CostCentreOwner,
    };
    let rows: Vec<&outlay_domain::RoutingRule> = org
        .routing_rules
        .iter()
        .chain(std::iter::repeat_n(&empty, NEW_RULES))
        .collect();
    let body = html! {
        section #cost-centres {
            h2 { "Cost centres" }
            div.table-wrap { table.cards {
                thead { tr { th scope="col" { "Code" } th scope="col" { "Name" } th scope="col" { "Owner (approves)" } th scope="col" { "Open" } } }
                tbody { @for c in &org.cost_centres { tr {
                    td data-label="Code" { (c.code) } td data-label="Name" { (c.name) }
                    td data-label="Owner" { (name(c.owner_id)) } td data-label="Open" { @if c.active { "yes" } @else { "closed" } }
                } } }
            } }
            form.card method="post" action=(url(&state, "/organisation/cost-centres")) {
                (csrf(&session))
                h3 { "Add or change a cost centre" }
                div.grid {
                    label { "Code" input type="text" name="code" required maxlength="20" pattern="[A-Za-z0-9_\\-]{1,20}"; }
                    label { "Name" input type="text" name="name" required maxlength="200"; }
                    label { "Owner"
                        select name="owner_id" { option value="" { "Nobody" } @for (id, n) in &people { option value=(id) { (n) } } }
                    }
                }
                label.check { input type="checkbox" name="active" value="on" checked; "Open for expenses" }
                button type="submit" { "Save cost centre" }
            }
        }
        section #projects {
            h2 { "Projects" }
            div.table-wrap { table.cards {
                thead { tr { th scope="col" { "Code" } th scope="col" { "Name" } th scope="col" { "Customer" } th scope="col" { "Billable" } th.num scope="col" { "Budget" } } }
                tbody { @for p in &org.projects { tr {
                    td data-label="Code" { (p.code) } td data-label="Name" { (p.name) }
                    td data-label="Customer" { (p.customer.as_deref().unwrap_or("—")) }
                    td data-label="Billable" { @if p.billable { "yes" } @else { "no" } }
                    td.num data-label="Budget" { (p.budget.map_or_else(|| "—".to_owned(), |b| b.grouped())) }
                } } }
            } }
            form.card method="post" action=(url(&state, "/organisation/projects")) {
                (csrf(&session))
                h3 { "Add or change a project" }
                div.grid {
                    label { "Code" input type="text" name="code" required maxlength="20" pattern="[A-Za-z0-9_\\-]{1,20}"; }
                    label { "Name" input type="text" name="name" required maxlength="200"; }
                    label { "Customer" input type="text" name="customer" maxlength="200"; }
                    label { "Budget" input type="text" name="budget" inputmode="decimal" pattern="[0-9]+(\\.[0-9]+)?"; }
                }
                label.check { input type="checkbox" name="billable" value="on"; "Billable to the customer" }
                button type="submit" { "Save project" }
            }
        }
        section #rules {
            h2 { "Routing rules" }
            p { "Each rule that a report matches adds one approval step, after the manager's and the senior's and before finance's, in this order. Every condition you fill in must hold. Nobody approves their own report or two steps of one; a rule whose approver is missing goes to finance with a note." }
            form method="post" action=(url(&state, "/organisation/rules")) {
                (csrf(&session))
                @for (i, r) in rows.iter().enumerate() {
                    @let n = i + 1;
                    fieldset.card.rule {
                        legend { @if r.name.is_empty() { "New rule" } @else { (format!("Rule {n}: {}", r.name)) } }
                        div.grid {
                            label { "Name" input type="text" name="rule_name" value=(r.name) maxlength="200"; }
                            label { "Category"
                                select name="rule_category" { option value="" { "Any" }
                                    @for c in &categories { option value=(c) selected[r.category.as_deref() == Some(c.as_str())] { (c) } } }
                            }
                            label { "Cost centre"
                                select name="rule_cost_centre" { option value="" { "Any" }
                                    option value="other_than_home" selected[r.cost_centre == Some(CostCentreMatch::OtherThanHome)] { "Other than the submitter's home" }
                                    @for c in &org.cost_centres { option value=(c.code) selected[r.cost_centre == Some(CostCentreMatch::Code(c.code.clone()))] { (c.code) " · " (c.name) } } }
                            }
                            label { "Project"
                                select name="rule_project" { option value="" { "Any" }
                                    @for p in &org.projects { option value=(p.code) selected[r.project.as_deref() == Some(p.code.as_str())] { (p.code) " · " (p.name) } } }
                            }
                            label { "Over (base currency)" input type="text" name="rule_over" value=(r.over.map(|o| o.amount_string()).unwrap_or_default()) inputmode="decimal" pattern="[0-9]+(\\.[0-9]+)?"; }
                            label { "Approved by"
                                select name="rule_approver" {
                                    option value="cost_centre_owner" selected[r.approver == RuleApprover::CostCentreOwner] { "The cost centre's owner" }
                                    @for role in [Role::Manager, Role::Finance, Role::Admin] {
                                        option value=(format!("role:{role}")) selected[r.approver == RuleApprover::Role(role)] { (format!("Anyone with the {role} role")) }
                                    }
                                    @for (id, n) in &people { option value=(id) selected[r.approver == RuleApprover::User(*id)] { (n) } }
                                }
                            }
                        }
                        @if !r.name.is_empty() { label.check { input type="checkbox" name="rule_remove" value=(n); "Remove this rule" } }
                    }
                }
                p.hint { "Leave a new rule's name empty to add none. To reorder, remove a rule and add it again." }
                button type="submit" { "Save rules" }
            }
        }
    };
    Ok(page(&state, &session, "Organisation", body).await)
}

#[derive(Deserialize)]
struct CentreForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    owner_id: String,
    active: Option<String>,
}
super::csrf_token!(CentreForm);

async fn save_centre(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<CentreForm>,
) -> Response {
    let input = CostCentreInput {
        name: f.name,
        owner_id: UserId::parse(&f.owner_id).ok(),
        active: f.active.is_some(),
    };
    match state
        .app
        .put_cost_centre(&session.caller, &f.code, input)
        .await
    {
        Ok(c) => session.done(
            &state,
            "/organisation",
            &format!("Cost centre {} saved.", c.code),
        ),
        Err(e) => session.back(&state, "/organisation", &message(&e), None::<&()>),
    }
}

#[derive(Deserialize)]
struct ProjectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    budget: String,
    billable: Option<String>,
}
super::csrf_token!(ProjectForm);

async fn save_project(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<ProjectForm>,
) -> Response {
    let input = ProjectInput {
        name: f.name,
        customer: Some(f.customer).filter(|c| !c.trim().is_empty()),
        billable: f.billable.is_some(),
        budget: Some(f.budget).filter(|b| !b.trim().is_empty()),
    };
    match state.app.put_project(&session.caller, &f.code, input).await {
        Ok(p) => session.done(
            &state,
            "/organisation",
            &format!("Project {} saved.", p.code),
        ),
        Err(e) => session.back(&state, "/organisation", &message(&e), None::<&()>),
    }
}

#[derive(Deserialize)]
struct RulesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    rule_name: Vec<String>,
    #[serde(default)]
    rule_category: Vec<String>,
    #[serde(default)]
    rule_cost_centre: Vec<String>,
    #[serde(default)]
    rule_project: Vec<String>,
    #[serde(default)]
    rule_over: Vec<String>,
    #[serde(default)]
    rule_approver: Vec<String>,
    #[serde(default)]
    rule_remove: Vec<usize>,
}
super::csrf_token!(RulesForm);

async fn save_rules(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<RulesForm>,
) -> Response {
    let at = |v: &[String], i: usize| v.get(i).cloned().filter(|s| !s.trim().is_empty());
    let mut rules = vec![];
    for (i, name) in f.rule_name.iter().enumerate() {
        if name.trim().is_empty() || f.rule_remove.contains(&(i + 1)) {
            continue;
        }
        let approver = at(&f.rule_approver, i).unwrap_or_default();
        let user = UserId::parse(&approver).ok();
        let role = approver.strip_prefix("role:").map(str::to_owned);
        rules.push(RuleInput {
            name: name.clone(),
            category: at(&f.rule_category, i),
            cost_centre: at(&f.rule_cost_centre, i),
            project: at(&f.rule_project, i),
            over: at(&f.rule_over, i),
            approver: if user.is_some() {
                "user".into()
            } else if role.is_some() {
                "role".into()
            } else {
                approver
            },
            approver_id: user,
            approver_role: role,
        });
    }
    match state.app.put_routing_rules(&session.caller, rules).await {
        Ok(r) => session.done(
            &state,
            "/organisation",
            &format!("{} routing rule(s) saved.", r.len()),
        ),
        Err(e) => session.back(&state, "/organisation", &message(&e), None::<&()>),
    }
}

//! Admin pages: users (create, roles, manager, deactivate) and the audit verification.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use outlay_app::{NewUser, PageRequest, UserPatch};
use outlay_domain::{Role, User, UserId};
use serde::Deserialize;

use super::{CsrfForm, ErrorPage, Session, csrf, message, page, url};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users).post(create))
        .route("/admin/users/{id}", get(edit).post(update))
        .route(
            "/admin/users/{id}/delegation",
            axum::routing::post(set_delegation),
        )
        .route(
            "/admin/users/{id}/delegation/end",
            axum::routing::post(end_delegation),
        )
        .route("/admin/audit", get(audit))
        .route("/admin/audit/verify", get(verify))
}

fn admin_only(session: &Session) -> Result<(), ErrorPage> {
    if session.has(Role::Admin) {
        Ok(())
    } else {
        Err(ErrorPage(
            StatusCode::FORBIDDEN,
            "This page is for administrators.".into(),
        ))
    }
}

async fn all_users(state: &AppState, session: &Session) -> Result<Vec<User>, ErrorPage> {
    let mut page_req = PageRequest {
        limit: PageRequest::MAX,
        cursor: None,
    };
    let mut out = Vec::new();
    loop {
        let page = state.app.list_users(&session.caller, &page_req).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => page_req.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

fn user_fields(users: &[User], user: Option<&User>) -> Markup {
    let has = |r: Role| user.is_some_and(|u| u.has(r));
    html! {
        fieldset.roles {
            legend { "Roles (everyone is an employee)" }
            @for r in [Role::Manager, Role::Finance, Role::Admin] {
                label.check { input type="checkbox" name="roles" value=(r.as_str()) checked[has(r)]; (r.as_str()) }
            }
        }
        label { "Reports to"
            select name="manager_id" {
                option value="" { "nobody" }
                @for u in users.iter().filter(|u| user.is_none_or(|me| me.id != u.id)) {
                    option value=(u.id) selected[user.and_then(|me| me.manager_id) == Some(u.id)] { (u.name) " <" (u.email) ">" }
                }
            }
        }
    }
}

async fn users_page(state: &AppState, session: &Session) -> Result<Response, ErrorPage> {
    admin_only(session)?;
    let users = (all_users(state, session).await)?;
    let name_of = |id: Option<UserId>| {
        id.and_then(|id| users.iter().find(|u| u.id == id))
            .map_or("—".to_owned(), |u| u.name.clone())
    };
    let body = html! {
        section {
            h2 { "New user" }
            form.card method="post" action=(url(state, "/admin/users")) {
                (csrf(session))
                div.grid {
                    label { "Email" input type="email" name="email" required; }
                    label { "Name" input type="text" name="name" maxlength="200" required; }
                    label { "Password (12 characters or more)" input type="password" name="password" minlength="12" autocomplete="new-password" required; }
                }
                (user_fields(&users, None))
                button type="submit" { "Create user" }
            }
        }
        section {
            h2 { "Users" }
            div.table-wrap { table {
                thead { tr { th { "Name" } th { "Email" } th { "Roles" } th { "Reports to" } th { "Status" } } }
                tbody {
                    @for u in &users {
                        tr {
                            td { a href=(url(state, &format!("/admin/users/{}", u.id))) { (u.name) } }
                            td { (u.email) }
                            td { (u.roles.iter().map(Role::as_str).collect::<Vec<_>>().join(", ")) }
                            td { (name_of(u.manager_id)) }
                            td { @if u.active { "active" } @else { span.warn { "deactivated" } } }
                        }
                    }
                }
            } }
        }
    };
    Ok(page(state, session, "Users", body).await)
}

async fn users(State(state): State<AppState>, session: Session) -> Result<Response, ErrorPage> {
    users_page(&state, &session).await
}

#[derive(Deserialize)]
struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    manager_id: String,
    #[serde(default)]
    active: Option<String>,
    /// Present when the form offered it.
    home_cost_centre: Option<String>,
}
super::csrf_token!(UserForm);

fn roles_of(f: &UserForm) -> Vec<Role> {
    f.roles.iter().filter_map(|r| Role::parse(r).ok()).collect()
}

async fn create(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<UserForm>,
) -> Response {
    let new = NewUser {
        email: f.email.clone(),
        name: f.name.clone(),
        password: Some(f.password.clone()),
        roles: roles_of(&f),
        manager_id: UserId::parse(&f.manager_id).ok(),
    };
    match state.app.create_user(Some(&session.caller), new).await {
        Ok(_) => Redirect::to(&url(&state, "/admin/users")).into_response(),
        Err(e) => session.back(&state, "/admin/users", &message(&e), None::<&()>),
    }
}

async fn edit_page(state: &AppState, session: &Session, id: &str) -> Result<Response, ErrorPage> {
    admin_only(session)?;
    let users = (all_users(state, session).await)?;
    let Some(user) = UserId::parse(id)
        .ok()
        .and_then(|id| users.iter().find(|u| u.id == id))
    else {
        return Err(ErrorPage(
            StatusCode::NOT_FOUND,
            "There is no such user.".into(),
        ));
    };
    let centres = state.app.organisation(&session.caller).await?.cost_centres;
    let delegates = state.app.possible_delegates(&session.caller).await?;
    let action = format!("/admin/users/{}/delegation", user.id);
    let body = html! {
        form.card method="post" action=(url(state, &format!("/admin/users/{}", user.id))) {
            (csrf(session))
            p { (user.email) }
            label { "Name" input type="text" name="name" value=(user.name) maxlength="200" required; }
            label { "New password (leave empty to keep)" input type="password" name="password" minlength="12" autocomplete="new-password"; }
            (user_fields(&users, Some(user)))
            @if !centres.is_empty() && user.id != session.caller.user.id {
                label { "Home cost centre"
                    select name="home_cost_centre" {
                        option value="" { "None" }
                        @for c in &centres {
                            option value=(c.code) selected[user.home_cost_centre.as_deref() == Some(c.code.as_str())] { (c.code) " · " (c.name) }
                        }
                    }
                }
            }
            label.check { input type="checkbox" name="active" value="on" checked[user.active]; "Active (may sign in)" }
            button type="submit" { "Save" }
        }
        @if user.id != session.caller.user.id {
            (super::notifications::out_of_office(state, session, user, &delegates, &action, &user.name))
        }
    };
    Ok(page(state, session, &user.name, body).await)
}

async fn edit(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, ErrorPage> {
    edit_page(&state, &session, &id).await
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, f): CsrfForm<UserForm>,
) -> Result<Response, ErrorPage> {
    let Ok(user_id) = UserId::parse(&id) else {
        return Err(ErrorPage(
            StatusCode::NOT_FOUND,
            "There is no such user.".into(),
        ));
    };
    let own = user_id == session.caller.user.id;
    let patch = UserPatch {
        name: Some(f.name.clone()),
        password: Some(f.password.clone()).filter(|p| !p.is_empty()),
        // An admin editing themselves keeps their powers; the use case refuses changing them.
        roles: (!own).then(|| roles_of(&f)),
        manager_id: (!own).then(|| UserId::parse(&f.manager_id).ok()),
        active: (!own).then_some(f.active.is_some()),
        home_cost_centre: f
            .home_cost_centre
            .clone()
            .filter(|_| !own)
            .map(|c| Some(c).filter(|c| !c.is_empty())),
    };
    Ok(
        match state
            .app
            .update_user(&session.caller, user_id, patch, None)
            .await
        {
            Ok(_) => Redirect::to(&url(&state, "/admin/users")).into_response(),
            Err(e) => session.back(
                &state,
                &format!("/admin/users/{user_id}"),
                &message(&e),
                None::<&()>,
            ),
        },
    )
}

/// The audit browser's query string.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
struct AuditQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entity_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entity_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before: Option<i64>,
}

impl AuditQuery {
    /// The filter it asks for, or what is wrong with it.
    fn filter(&self) -> Result<outlay_app::AuditFilter, String> {
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| v.chars().take(100).collect::<String>())
        };
        let day = |name: &str, v: &Option<String>| {
            text(v)
                .map(|d| {
                    chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                        .map_err(|_| format!("{name} must be a date (YYYY-MM-DD)"))
                })
                .transpose()
        };
        Ok(outlay_app::AuditFilter {
            actor: text(&self.actor),
            entity_kind: text(&self.entity_kind),
            entity_id: text(&self.entity_id),
            action: text(&self.action),
            from: day("from", &self.from)?,
            to: day("to", &self.to)?,
        })
    }
}

/// The kinds of entity the trail records.
const ENTITY_KINDS: [&str; 7] = [
    "report",
    "expense",
    "receipt",
    "user",
    "policy",
    "rates",
    "notification",
];

/// An event's before or after state, indented for reading.
fn pretty(json: Option<&str>) -> String {
    json.map_or_else(
        || "—".to_owned(),
        |j| {
            serde_json::from_str::<serde_json::Value>(j)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|_| j.to_owned())
        },
    )
}

async fn audit(
    State(state): State<AppState>,
    session: Session,
    axum::extract::Query(q): axum::extract::Query<AuditQuery>,
) -> Result<Response, ErrorPage> {
    admin_only(&session)?;
    let filter = match q.filter() {
        Ok(f) => f,
        Err(why) => {
            return Err(ErrorPage(
                StatusCode::BAD_REQUEST,
                format!("This search is not valid: {why}."),
            ));
        }
    };
    let (found, people) = (tokio::try_join!(
        state
            .app
            .audit_events(&session.caller, &filter, q.before, 50),
        state.app.people(&session.caller)
    ))?;
    let who = |actor: Option<&str>| match actor {
        None => "the system".to_owned(),
        Some(a) => UserId::parse(a)
            .ok()
            .and_then(|id| people.get(&id))
            .map_or_else(|| a.to_owned(), |p| p.name.clone()),
    };
    let mut people_list: Vec<(String, String)> = people
        .iter()
        .map(|(id, p)| (id.to_string(), p.name.clone()))
        .collect();
    people_list.sort_by(|a, b| a.1.cmp(&b.1));
    let older = found.next_before.map(|b| {
        let next = AuditQuery {
            before: Some(b),
            ..q.clone()
        };
        format!(
            "{}?{}",
            url(&state, "/admin/audit"),
            serde_urlencoded::to_string(&next).unwrap_or_default()
        )
    });
    let browser = html! {
        section {
            h2 { "Events" }
            form.search role="search" method="get" action=(url(&state, "/admin/audit")) {
                label { "Actor"
                    select name="actor" {
                        option value="" { "Anyone" }
                        option value="system" selected[q.actor.as_deref() == Some("system")] { "The system" }
                        @for (id, name) in &people_list { option value=(id) selected[q.actor.as_deref() == Some(id.as_str())] { (name) } }
                    }
                }
                label { "Entity"
                    select name="entity_kind" {
                        option value="" { "Any" }
                        @for k in ENTITY_KINDS { option value=(k) selected[q.entity_kind.as_deref() == Some(k)] { (k) } }
                    }
                }
                label { "Entity id" input type="text" name="entity_id" value=(q.entity_id.clone().unwrap_or_default()) maxlength="100"; }
                label { "Action" input type="text" name="action" value=(q.action.clone().unwrap_or_default()) maxlength="100" placeholder="report.approve, or report."; }
                label { "From" input type="date" name="from" value=(q.from.clone().unwrap_or_default()); }
                label { "To" input type="date" name="to" value=(q.to.clone().unwrap_or_default()); }
                div.search-actions { button type="submit" { "Search" } a href=(url(&state, "/admin/audit")) { "Clear" } }
            }
            @if found.events.is_empty() { p.empty { "No event matches." } } @else {
                ol.events reversed {
                    @for e in &found.events {
                        li value=(e.seq) {
                            details {
                                summary {
                                    "#" (e.seq) " · " (session.when(e.record.at)) " · " strong { (e.record.action) } " by " (who(e.record.actor_id.as_deref()))
                                    " · " (e.record.entity_kind) " " code { (e.record.entity_id) }
                                }
                                @if e.record.entity_kind == "report" { p { a href=(url(&state, &format!("/reports/{}", e.record.entity_id))) { "Open the report" } } }
                                div.diff {
                                    div { h3 { "Before" } pre { (pretty(e.record.before.as_deref())) } }
                                    div { h3 { "After" } pre { (pretty(e.record.after.as_deref())) } }
                                }
                                @if let Some(src) = &e.record.source { p.just { "From " (src) } }
                            }
                        }
                    }
                }
            }
            @if let Some(href) = older { nav.pager aria-label="Pages" { a rel="next" href=(href) { "Older events »" } } }
        }
    };
    let body = html! {
        p { "Every change is an event in a SHA-256 hash chain, newest first here. "
            a href=(url(&state, "/admin/audit/verify")) { "Verify the whole chain now" } "." }
        (browser)
    };
    Ok(page(&state, &session, "Audit trail", body).await)
}

/// Recomputes the whole chain and holds it to the signed checkpoints (admin).
async fn verify(State(state): State<AppState>, session: Session) -> Result<Response, ErrorPage> {
    admin_only(&session)?;
    let v = (state.app.verify_audit(Some(&session.caller)).await)?;
    let body = html! {
        p { "Every change is an event in a SHA-256 hash chain. This page recomputes the whole chain now. "
            a href=(url(&state, "/admin/audit")) { "Browse the events" } "." }
        @if v.ok {
            p.ok.big role="status" { "The audit trail is intact: " (v.events) " events verified." }
        } @else {
            p.error.big role="alert" {
                "The audit trail has been tampered with. "
                @if let Some(b) = &v.broken { "The first bad event is number " (b.seq) ": " (b.reason) ". " }
                (v.events) " events before it verified."
            }
        }
        @if !v.set_aside.is_empty() {
            div.error role="alert" {
                p { "The checkpoint log holds entries that the audit key did not sign. They were set aside; find out who wrote them:" }
                ul { @for note in &v.set_aside { li { (note) } } }
            }
        }
    };
    Ok(page(&state, &session, "Audit verification", body).await)
}

/// Sets someone else's out of office (an admin; never to themselves), audited.
async fn set_delegation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, f): CsrfForm<super::notifications::DelegationForm>,
) -> Result<Response, ErrorPage> {
    delegation(&state, &session, &id, &f, true).await
}

/// Ends someone else's out of office (an admin).
async fn end_delegation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, f): CsrfForm<super::notifications::DelegationForm>,
) -> Result<Response, ErrorPage> {
    delegation(&state, &session, &id, &f, false).await
}

async fn delegation(
    state: &AppState,
    session: &Session,
    id: &str,
    f: &super::notifications::DelegationForm,
    set: bool,
) -> Result<Response, ErrorPage> {
    admin_only(session)?;
    let user = UserId::parse(id)
        .map_err(|_| ErrorPage(StatusCode::NOT_FOUND, "There is no such user.".into()))?;
    let back = format!("/admin/users/{user}");
    Ok(super::notifications::delegation_form(state, session, user, f, set, &back).await)
}

//! The in-app notifications page, and the user's own settings.

use super::*;

pub(crate) async fn notifications(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, ErrorPage> {
    let (page_items, unread) = state
        .app
        .notifications(
            &session.caller,
            &outlay_app::PageRequest {
                limit: 100,
                cursor: None,
            },
        )
        .await?;
    let body = html! {
        p { (unread) " unread." }
        @if unread > 0 {
            form method="post" action=(url(&state, "/notifications")) {
                (csrf(&session))
                button type="submit" { "Mark all as read" }
            }
        }
        @if page_items.items.is_empty() { p.empty { "Nothing yet." } }
        ul.notes {
            @for n in &page_items.items {
                li class=(if n.read_at.is_none() { "unread" } else { "" }) {
                    @if let Some(r) = n.report_id { a href=(url(&state, &format!("/reports/{r}"))) { (n.title) } } @else { (n.title) }
                    " " small { (session.when(n.created_at)) }
                }
            }
        }
    };
    Ok(page(&state, &session, "Notifications", body).await)
}

pub(crate) async fn read_notifications(
    State(state): State<AppState>,
    CsrfForm(session, _): CsrfForm<CsrfOnly>,
) -> Result<Response, ErrorPage> {
    state.app.read_notifications(&session.caller, None).await?;
    Ok(Redirect::to(&url(&state, "/notifications")).into_response())
}

/// The user's own settings: the zone they read times in, and, for approvers, who decides for
/// them while they are away.
pub(crate) async fn settings(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, ErrorPage> {
    let company = state.app.policy(&session.caller).await?.time_zone;
    let default_label = format!("The company's ({company})");
    let me = &session.caller.user;
    let delegates = if me.has(outlay_domain::Role::Manager) {
        state.app.possible_delegates(&session.caller).await?
    } else {
        vec![]
    };
    let today = session.today();
    let body = html! {
        form.card method="post" action=(url(&state, "/settings")) {
            (csrf(&session))
            input type="hidden" name="version" value=(session.caller.user.version);
            label { "Your time zone: every time is shown in it"
                (zone_select("time_zone", session.caller.user.time_zone, Some(&default_label)))
            }
            p { "Now: " (session.when(chrono::Utc::now())) }
            button type="submit" { "Save" }
        }
        @if me.has(outlay_domain::Role::Manager) {
            section.card #away {
                h2 { "Out of office" }
                @if let Some(d) = &me.delegation {
                    p.ok role="status" { "From " (d.from) " to " (d.until) ", "
                        strong { (delegates.iter().find(|(id, _)| *id == d.delegate_id).map_or("your delegate", |(_, n)| n.as_str())) }
                        " decides the reports waiting for you." }
                    form method="post" action=(url(&state, "/settings/delegation/end")) {
                        (csrf(&session))
                        input type="hidden" name="version" value=(me.version);
                        button.secondary type="submit" { "End it now" }
                    }
                } @else {
                    p { "While you are away, someone else decides the reports waiting for you. They go back to you when it ends." }
                }
                form method="post" action=(url(&state, "/settings/delegation")) {
                    (csrf(&session))
                    input type="hidden" name="version" value=(me.version);
                    label { "Who decides for you"
                        select name="delegate_id" required {
                            option value="" { "Choose a manager" }
                            @for (id, n) in &delegates { option value=(id) selected[me.delegation.as_ref().is_some_and(|d| d.delegate_id == *id)] { (n) } }
                        }
                    }
                    label { "From" input type="date" name="from" required min=(today) value=(me.delegation.as_ref().map_or(today, |d| d.from)); }
                    label { "Until (included)" input type="date" name="until" required min=(today) value=(me.delegation.as_ref().map_or(today, |d| d.until)); }
                    button type="submit" { @if me.delegation.is_some() { "Change" } @else { "Set out of office" } }
                }
            }
        }
    };
    Ok(page(&state, &session, "Settings", body).await)
}

#[derive(Deserialize)]
pub(crate) struct SettingsForm {
    #[serde(default)]
    csrf: String,
    version: Option<i64>,
    #[serde(default)]
    time_zone: String,
}
csrf_token!(SettingsForm);

pub(crate) async fn save_settings(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<SettingsForm>,
) -> Response {
    let zone = match f.time_zone.trim() {
        "" => Ok(None),
        name => outlay_domain::TimeZone::parse(name).map(Some),
    };
    let result = match zone {
        Ok(zone) => state
            .app
            .set_time_zone(&session.caller, zone, f.version)
            .await
            .map_err(|e| message(&e)),
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(_) => session.done(&state, "/settings", "Settings saved."),
        Err(why) => session.back(&state, "/settings", &why, None::<&()>),
    }
}

#[derive(Deserialize)]
pub(crate) struct DelegationForm {
    #[serde(default)]
    csrf: String,
    version: Option<i64>,
    #[serde(default)]
    delegate_id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}
csrf_token!(DelegationForm);

/// Sets the caller's out of office.
pub(crate) async fn save_delegation(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<DelegationForm>,
) -> Response {
    let date = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let input = match (
        outlay_domain::UserId::parse(&f.delegate_id),
        date(&f.from),
        date(&f.until),
    ) {
        (Ok(delegate_id), Some(from), Some(until)) => Ok(outlay_app::DelegationInput {
            delegate_id,
            from,
            until,
        }),
        (Err(_), _, _) => Err("Choose who decides for you.".to_owned()),
        _ => Err("Give the first and the last day.".to_owned()),
    };
    let me = session.caller.user.id;
    let result = match input {
        Ok(i) => state
            .app
            .set_delegation(&session.caller, me, Some(i), f.version)
            .await
            .map_err(|e| message(&e)),
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => session.done(&state, "/settings", "Out of office saved."),
        Err(why) => session.back(&state, "/settings", &why, None::<&()>),
    }
}

/// Ends the caller's out of office.
pub(crate) async fn end_delegation(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<DelegationForm>,
) -> Response {
    let me = session.caller.user.id;
    match state
        .app
        .set_delegation(&session.caller, me, None, f.version)
        .await
    {
        Ok(_) => session.done(
            &state,
            "/settings",
            "Out of office ended; your reports are back with you.",
        ),
        Err(e) => session.back(&state, "/settings", &message(&e), None::<&()>),
    }
}

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
    // Anyone may have steps to decide (routing rules name people), so anyone may name a stand-in.
    let delegates = state.app.possible_delegates(&session.caller).await?;
    let bank = state.app.bank_account(&session.caller, me.id).await?;
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
        (out_of_office(&state, &session, me, &delegates, "/settings/delegation", "you"))
        (super::batches::bank_section(&state, &session, bank.as_ref()))
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

impl DelegationForm {
    /// The delegation the form asks for, or what is missing.
    pub(crate) fn input(&self) -> Result<outlay_app::DelegationInput, String> {
        let date = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        match (
            outlay_domain::UserId::parse(&self.delegate_id),
            date(&self.from),
            date(&self.until),
        ) {
            (Ok(delegate_id), Some(from), Some(until)) => Ok(outlay_app::DelegationInput {
                delegate_id,
                from,
                until,
            }),
            (Err(_), _, _) => Err("Choose who decides.".to_owned()),
            _ => Err("Give the first and the last day.".to_owned()),
        }
    }

    /// The version of the user the form was drawn from.
    pub(crate) fn version(&self) -> Option<i64> {
        self.version
    }
}

/// The out-of-office section for `user`: who decides for them and when, posted to `action`
/// (and `action/end`); `whom` is "you" or their name.
pub(crate) fn out_of_office(
    state: &AppState,
    session: &Session,
    user: &outlay_domain::User,
    delegates: &[(outlay_domain::UserId, String)],
    action: &str,
    whom: &str,
) -> maud::Markup {
    let today = session.today();
    html! {
        section.card #away {
            h2 { "Out of office" }
            @if let Some(d) = &user.delegation {
                p.ok role="status" { "From " (d.from) " to " (d.until) ", "
                    strong { (delegates.iter().find(|(id, _)| *id == d.delegate_id).map_or("the delegate", |(_, n)| n.as_str())) }
                    " decides the reports waiting for " (whom) "." }
                form method="post" action=(url(state, &format!("{action}/end"))) {
                    (csrf(session))
                    input type="hidden" name="version" value=(user.version);
                    button.secondary type="submit" { "End it now" }
                }
            } @else {
                p { "While away, someone else decides the reports waiting for " (whom) ". They go back when it ends." }
            }
            form method="post" action=(url(state, action)) {
                (csrf(session))
                input type="hidden" name="version" value=(user.version);
                label { "Who decides"
                    select name="delegate_id" required {
                        option value="" { "Choose a manager" }
                        @for (id, n) in delegates.iter().filter(|(id, _)| *id != user.id) { option value=(id) selected[user.delegation.as_ref().is_some_and(|d| d.delegate_id == *id)] { (n) } }
                    }
                }
                label { "From" input type="date" name="from" required min=(today) value=(user.delegation.as_ref().map_or(today, |d| d.from)); }
                label { "Until (included)" input type="date" name="until" required min=(today) value=(user.delegation.as_ref().map_or(today, |d| d.until)); }
                button type="submit" { @if user.delegation.is_some() { "Change" } @else { "Set out of office" } }
            }
        }
    }
}

/// Sets (`set`) or ends the out of office of `of` (the caller's own, or an admin's for someone
/// else), then back to `back`.
pub(crate) async fn delegation_form(
    state: &AppState,
    session: &Session,
    of: outlay_domain::UserId,
    f: &DelegationForm,
    set: bool,
    back: &str,
) -> Response {
    let input = if set { f.input().map(Some) } else { Ok(None) };
    let result = match input {
        Ok(i) => state
            .app
            .set_delegation(&session.caller, of, i, f.version())
            .await
            .map_err(|e| message(&e)),
        Err(e) => Err(e),
    };
    match result {
        Ok(_) if set => session.done(state, back, "Out of office saved."),
        Ok(_) => session.done(state, back, "Out of office ended; the reports are back."),
        Err(why) => session.back(state, back, &why, None::<&()>),
    }
}

/// Sets the caller's out of office.
pub(crate) async fn save_delegation(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<DelegationForm>,
) -> Response {
    let me = session.caller.user.id;
    delegation_form(&state, &session, me, &f, true, "/settings").await
}

/// Ends the caller's out of office.
pub(crate) async fn end_delegation(
    State(state): State<AppState>,
    CsrfForm(session, f): CsrfForm<DelegationForm>,
) -> Response {
    let me = session.caller.user.id;
    delegation_form(&state, &session, me, &f, false, "/settings").await
}

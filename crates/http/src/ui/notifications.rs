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

/// The user's own settings: the zone they read times in.
pub(crate) async fn settings(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, ErrorPage> {
    let company = state.app.policy(&session.caller).await?.time_zone;
    let default_label = format!("The company's ({company})");
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

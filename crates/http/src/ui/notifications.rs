//! The in-app notifications page.

use super::*;

pub(crate) async fn notifications(State(state): State<AppState>, session: Session) -> Response {
    let (page_items, unread) = match state
        .app
        .notifications(
            &session.caller,
            &outlay_app::PageRequest {
                limit: 100,
                cursor: None,
            },
        )
        .await
    {
        Ok(x) => x,
        Err(e) => return ErrorPage::from(e).into_response(),
    };
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
                    " " small { (when(n.created_at)) }
                }
            }
        }
    };
    page(&state, &session, "Notifications", body).await
}

pub(crate) async fn read_notifications(
    State(state): State<AppState>,
    CsrfForm(session, _): CsrfForm<CsrfOnly>,
) -> Response {
    match state.app.read_notifications(&session.caller, None).await {
        Ok(()) => Redirect::to(&url(&state, "/notifications")).into_response(),
        Err(e) => ErrorPage::from(e).into_response(),
    }
}

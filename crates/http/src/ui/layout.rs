//! The page around every screen, and the small pieces pages share (money, times, badges, alerts).

use super::*;

/// A whole page, with the navigation for the session's roles.
pub(crate) async fn page(
    state: &AppState,
    session: &Session,
    title: &str,
    body: Markup,
) -> Response {
    let unread = state
        .app
        .notifications(
            &session.caller,
            &outlay_app::PageRequest {
                limit: 1,
                cursor: None,
            },
        )
        .await
        .map_or(0, |(_, n)| n);
    let u = |p: &str| url(state, p);
    let nav: Vec<(&str, String, bool)> = vec![
        ("Expenses", u("/expenses"), true),
        ("Reports", u("/reports"), true),
        ("Approvals", u("/approvals"), true),
        ("Advances", u("/advances"), true),
        ("Team", u("/team"), session.has(Role::Manager)),
        ("Payments", u("/payments"), session.has(Role::Finance)),
        ("Journal", u("/journal"), session.has(Role::Finance)),
        ("Spend", u("/spend"), session.has(Role::Finance)),
        ("Policy", u("/policy"), session.has(Role::Finance)),
        ("Rates", u("/rates"), session.has(Role::Finance)),
        (
            "Organisation",
            u("/organisation"),
            session.has(Role::Finance) || session.has(Role::Admin),
        ),
        ("Users", u("/admin/users"), session.has(Role::Admin)),
        ("Audit", u("/admin/audit"), session.has(Role::Admin)),
    ];
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Outlay" }
                link rel="stylesheet" href=(u("/assets/app.css"));
                script type="module" src=(u("/assets/app.js")) {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href=(u("/expenses")) { "Outlay" }
                    nav aria-label="Main" {
                        @for (label, href, shown) in &nav {
                            @if *shown { a href=(href) { (label) } }
                        }
                        a href=(u("/notifications")) {
                            "Notifications"
                            @if unread > 0 { " " span.badge aria-label=(format!("{unread} unread")) { (unread) } }
                        }
                    }
                    form.logout method="post" action=(u("/logout")) {
                        input type="hidden" name="csrf" value=(session.csrf);
                        a.who href=(u("/settings")) title="Your settings" { (session.caller.user.name) }
                        button.link type="submit" { "Sign out" }
                    }
                }
                main #main {
                    h1 { (title) }
                    @match session.flash_message() {
                        Some((m, true)) => { p.ok role="status" { (m) } }
                        Some((m, false)) => { (alert(Some(m))) }
                        None => {}
                    }
                    (body)
                }
            }
        }
    };
    let mut response = markup.into_response();
    for c in &session.cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A page without the navigation (signing in, errors, hand-overs): `refresh` moves the
/// browser on to that URL by itself; `class` is the body's class.
pub(crate) fn plain_page(
    state: &AppState,
    title: &str,
    refresh: Option<&str>,
    class: &str,
    content: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(target) = refresh {
                    meta http-equiv="refresh" content=(format!("0;url={target}"));
                }
                title { (title) " · Outlay" }
                link rel="stylesheet" href=(url(state, "/assets/app.css"));
            }
            body class=(class) { main #main { (content) } }
        }
    }
}

/// An amount for people, or a dash.
pub(crate) fn money(m: Option<Money>) -> String {
    m.map_or_else(
        || "—".to_owned(),
        |m| format!("{} {}", m.amount_string(), m.currency()),
    )
}

/// A report state as a badge.
pub(crate) fn state_badge(s: ReportState) -> Markup {
    html! { span class=(format!("state state-{}", s.as_str())) { (s.as_str().replace('_', " ")) } }
}

/// A hidden CSRF field.
pub(crate) fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// An error message next to a form.
pub(crate) fn alert(error: Option<&str>) -> Markup {
    html! { @if let Some(e) = error { p.error role="alert" { (e) } } }
}

/// A choice of time zone, `current` selected; with `default_label`, a first choice that means
/// "the company's" (an empty value).
pub(crate) fn zone_select(
    name: &str,
    current: Option<outlay_domain::TimeZone>,
    default_label: Option<&str>,
) -> Markup {
    html! {
        select name=(name) {
            @if let Some(label) = default_label { option value="" selected[current.is_none()] { (label) } }
            @for z in outlay_domain::TimeZone::all() {
                option value=(z.name()) selected[current == Some(z)] { (z.name()) }
            }
        }
    }
}

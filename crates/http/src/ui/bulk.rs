//! Acting on several reports at once: each its own command, checked and audited on its own,
//! so that one refusal undoes none of the others, and the page says what became of each.

use super::*;
use outlay_app::Action;
use outlay_domain::ReportId;

/// The most reports one bulk action takes.
pub(crate) const MAX_BULK: usize = 100;

/// Runs `action` on each selected report (at most [`MAX_BULK`], each once), and answers how
/// many went through, with each refusal named by its report; `Err` when the selection itself
/// cannot be taken.
pub(crate) async fn each_report(
    state: &AppState,
    session: &Session,
    ids: &[String],
    action: impl Fn() -> Action,
) -> Result<(usize, Vec<String>), String> {
    if ids.is_empty() {
        return Err("Select at least one report.".into());
    }
    if ids.len() > MAX_BULK {
        return Err(format!(
            "Select at most {MAX_BULK} reports at once; {} were selected.",
            ids.len()
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    let (mut done, mut failed) = (0, Vec::new());
    for raw in ids {
        let Ok(id) = ReportId::parse(raw) else {
            failed.push("one selection is not a report".to_owned());
            continue;
        };
        if !seen.insert(id) {
            continue;
        }
        match state
            .app
            .transition(&session.caller, id, action(), None, None)
            .await
        {
            Ok(_) => done += 1,
            Err(e) => {
                let name = state
                    .app
                    .report(&session.caller, id)
                    .await
                    .map_or_else(|_| id.to_string(), |d| d.report.title);
                failed.push(format!("“{name}”: {}", message(&e)));
            }
        }
    }
    Ok((done, failed))
}

/// Back to `path`, saying what a bulk action did.
pub(crate) fn outcome(
    state: &AppState,
    session: &Session,
    path: &str,
    result: Result<(usize, Vec<String>), String>,
    done: impl Fn(usize) -> String,
) -> Response {
    match result {
        Err(why) => session.back(state, path, &why, None::<&()>),
        Ok((n, failed)) if failed.is_empty() => session.done(state, path, &done(n)),
        Ok((n, failed)) => {
            let error = format!(
                "{} {} could not be: {}",
                done(n),
                failed.len(),
                failed.join("; ")
            );
            session.back(state, path, &error, None::<&()>)
        }
    }
}

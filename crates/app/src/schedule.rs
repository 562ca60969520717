//! The approvals sweep: what changes with the calendar rather than with a request. Delegations
//! start and end on their days, so steps move to the stand-in and back. The dispatcher runs it
//! on one machine and on AWS (the outbox's EventBridge schedule); running it twice in a row
//! moves and sends nothing the second time.

use serde::Serialize;

use crate::change::all_pages;
use crate::{App, Change, Result, Write};

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sweep {
    /// Delegations past their last day, ended.
    pub delegations_ended: usize,
    /// Steps moved to a stand-in or back.
    pub steps_moved: usize,
}

impl App {
    /// One sweep over every user with a delegation, now.
    pub async fn sweep_approvals(&self) -> Result<Sweep> {
        self.sweep_approvals_as_of(self.clock.now()).await
    }

    /// One sweep as the calendar stands at `now`: the dispatcher's is the clock's; a test's
    /// may be days ahead, to see delegations start and end.
    pub async fn sweep_approvals_as_of(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Sweep> {
        let today = self.policy_or_default().await?.time_zone.day(now);
        let users = all_pages(|page| async move { self.store.users(&page).await }).await?;
        let mut done = Sweep::default();
        for user in users.into_iter().filter(|u| u.delegation.is_some()) {
            let previous = user.delegation.clone();
            let mut user = user;
            if previous.as_ref().is_some_and(|d| d.until < today) {
                let mut ended = user.clone();
                ended.delegation = None;
                ended.version += 1;
                let audit = self.audit_record(
                    None,
                    "user.delegation.end",
                    "user",
                    user.id,
                    Some(&user),
                    Some(&ended),
                )?;
                let write = Write::PutUser {
                    user: ended.clone(),
                    password_hash: None,
                    expected_version: Some(user.version),
                };
                match self.store.commit(Change::one(write, audit)).await {
                    Ok(()) => done.delegations_ended += 1,
                    // Changed meanwhile (a new delegation, say): the next sweep looks again.
                    Err(crate::StoreError::Conflict(_)) => continue,
                    Err(e) => return Err(e.into()),
                }
                user = ended;
            }
            done.steps_moved += self
                .move_steps(None, &user, previous.as_ref(), today)
                .await?;
        }
        Ok(done)
    }
}

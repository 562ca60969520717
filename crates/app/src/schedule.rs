//! The approvals sweep: what changes with the calendar rather than with a request. Delegations
//! start and end on their days, so steps move to the stand-in and back; steps that wait too
//! many working days are reminded, then escalated ([`outlay_domain::escalation`]); owners of
//! cash advances past their day are reminded ([`outlay_domain::advance`]). The
//! dispatcher runs it on one machine and on AWS (the outbox's EventBridge schedule); each
//! reminder and escalation is recorded on its step in the same commit as its notices, so
//! running the sweep twice sends nothing twice.

use chrono::{DateTime, Utc};
use outlay_domain::escalation::{Nudge, due, escalate};
use outlay_domain::{Report, ReportState, User};
use serde::Serialize;

use crate::change::all_pages;
use crate::{App, Change, Guard, ReportQuery, ReportScope, Result, Write};

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sweep {
    /// Delegations past their last day, ended.
    pub delegations_ended: usize,
    /// Steps moved to a stand-in or back.
    pub steps_moved: usize,
    /// Steps whose approver (or finance) was reminded.
    pub reminders_sent: usize,
    /// Steps escalated to the approver's manager.
    pub steps_escalated: usize,
    /// Owners of overdue cash advances reminded.
    pub advances_reminded: usize,
}

impl App {
    /// One sweep over every user with a delegation, now.
    pub async fn sweep_approvals(&self) -> Result<Sweep> {
        self.sweep_approvals_as_of(self.clock.now()).await
    }

    /// One sweep as the calendar stands at `now`: the dispatcher's is the clock's; a test's
    /// may be days ahead, to see delegations start and end.
    pub async fn sweep_approvals_as_of(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Sweep> {
        let policy = self.policy_or_default().await?;
        let today = policy.time_zone.day(now);
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
        // The reports waiting now, read once for both passes; one whose step moved back is
        // nudged, if it is due, by the next sweep (its version changed).
        let mut pending = self.pending_reports().await?;
        let mut kept = Vec::with_capacity(pending.len());
        for report in pending.drain(..) {
            match self.restore_stand_in(&report, today).await? {
                0 => kept.push(report),
                moved => done.steps_moved += moved,
            }
        }
        self.nudge_waiting(&policy, &kept, now, &mut done).await?;
        done.advances_reminded = self.remind_overdue_advances(now, today).await?;
        Ok(done)
    }

    /// Every report waiting for a decision, whatever its state.
    async fn pending_reports(&self) -> Result<Vec<Report>> {
        let mut out = vec![];
        for state in ReportState::ALL.into_iter().filter(ReportState::is_pending) {
            let query = &ReportQuery {
                scope: ReportScope::All,
                state: Some(state),
            };
            out.extend(
                all_pages(|page| async move { self.store.reports(query, &page).await }).await?,
            );
        }
        Ok(out)
    }

    /// Gives back the current step of `report` if a stand-in holds it for someone whose
    /// delegation no longer names them today: wherever the step waits now (escalated, say),
    /// and whether or not an earlier move back lost a race. Answers how many moved (0 or 1).
    async fn restore_stand_in(&self, report: &Report, today: chrono::NaiveDate) -> Result<usize> {
        let Some(index) = report.current_index() else {
            return Ok(0);
        };
        let Some(for_id) = report.steps[index].stand_in.as_ref().map(|s| s.for_id) else {
            return Ok(0);
        };
        let Some(away) = self.store.user(for_id).await? else {
            return Ok(0);
        };
        let stand_ins = self.stand_ins_of(&away).await?;
        let read: Vec<&User> = stand_ins.iter().collect();
        self.restore(None, report, index, &away, &read, today).await
    }

    /// Reminds and escalates the steps that have waited too long, as the policy says.
    async fn nudge_waiting(
        &self,
        policy: &outlay_domain::Policy,
        pending: &[Report],
        now: DateTime<Utc>,
        done: &mut Sweep,
    ) -> Result<()> {
        let Some(rules) = policy.reminders else {
            return Ok(());
        };
        let zone = policy.time_zone;
        let today = zone.day(now);
        for report in pending {
            let (Some(index), Some(since)) = (report.current_index(), report.current_since())
            else {
                continue;
            };
            let Some(nudge) = due(report, zone.day(since), today, &policy.calendar, &rules) else {
                continue;
            };
            let waited = policy.calendar.working_days_between(zone.day(since), today);
            let (escalated, reminded) = self.nudge(report, index, nudge, waited, now).await?;
            done.steps_escalated += usize::from(escalated);
            done.reminders_sent += usize::from(reminded);
        }
        Ok(())
    }

    /// Escalates (or, failing that, reminds) step `index` of `report`; answers whether it was
    /// escalated and whether reminded. A report that changed meanwhile is left for next time.
    async fn nudge(
        &self,
        report: &Report,
        index: usize,
        nudge: Nudge,
        waited: u32,
        now: DateTime<Utc>,
    ) -> Result<(bool, bool)> {
        let Some(owner) = self.store.user(report.owner_id).await? else {
            return Ok((false, false));
        };
        let step = &report.steps[index];
        let approver = match step.approver_id {
            Some(a) => self.store.user(a).await?,
            None => None,
        };
        let mut change = Change::default();
        change.guards.push(Guard::user(&owner));
        let mut next = report.clone();
        let title = &report.title;
        let mut escalated = false;
        if nudge == Nudge::Escalate
            && let Some(approver) = &approver
            && let Some(m) = approver.manager_id
            && let Some(to) = self.store.user(m).await?
            && let Some(up) = escalate(report, index, &owner, &to)
        {
            change.guards.push(Guard::user(approver));
            change.guards.push(Guard::user(&to));
            next.steps[index] = up;
            self.tell(
                &to,
                "report.escalated",
                format!(
                    "Report \"{title}\" waits for your approval: escalated from {} after {waited} working days",
                    approver.name
                ),
                Some(report.id),
                false,
                &mut change,
            );
            self.tell(
                approver,
                "report.escalated",
                format!("Report \"{title}\" was escalated to {} after {waited} working days; you may still decide it", to.name),
                Some(report.id),
                false,
                &mut change,
            );
            escalated = true;
        }
        let reminded = !escalated && step.reminded_at.is_none();
        if reminded {
            let who = match (&approver, step.role) {
                (Some(a), _) => vec![a.clone()],
                (None, Some(role)) => self.eligible_holders(role, &owner, report).await?,
                (None, None) => self.eligible_finance(&owner, report).await?,
            };
            for u in &who {
                self.tell(
                    u,
                    "report.reminder",
                    format!("Reminder: report \"{title}\" has waited {waited} working days for your approval"),
                    Some(report.id),
                    true,
                    &mut change,
                );
            }
        }
        if !escalated && !reminded {
            return Ok((false, false));
        }
        next.steps[index].reminded_at.get_or_insert(now);
        next.version += 1;
        next.updated_at = now;
        change.audit.push(self.audit_record(
            None,
            if escalated {
                "report.escalated"
            } else {
                "report.reminded"
            },
            "report",
            report.id,
            Some(report),
            Some(&next),
        )?);
        change.writes.push(Write::PutReport {
            report: next,
            expected_version: Some(report.version),
        });
        match self.store.commit(change).await {
            Ok(()) => Ok((escalated, reminded)),
            Err(crate::StoreError::Conflict(_)) => Ok((false, false)),
            Err(e) => Err(e.into()),
        }
    }
}

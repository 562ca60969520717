//! Out of office: setting and ending a delegation, and moving approval steps to the stand-in
//! and back. Which steps move, and to whom, is the domain's ([`outlay_domain::delegation`]);
//! this reads what it decides on and commits each move with its guards.

use chrono::NaiveDate;
use outlay_domain::delegation::{given_back, stand_in};
use outlay_domain::{Delegation, Report, Role, User, UserId};

use crate::change::all_pages;
use crate::{
    App, AppError, Caller, Change, Guard, ReportQuery, ReportScope, Result, Write, check_version,
};

/// A delegation asked for: who decides, from and until which day (both included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegationInput {
    /// The delegate.
    pub delegate_id: UserId,
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub until: NaiveDate,
}

impl App {
    /// Today, in the company's time zone: the calendar that delegations are set in.
    pub(crate) async fn company_today(&self) -> Result<NaiveDate> {
        let zone = self.policy_or_default().await?.time_zone;
        Ok(zone.day(self.clock.now()))
    }

    /// Who the caller may name as their delegate: the other active managers, by name.
    pub async fn possible_delegates(&self, caller: &Caller) -> Result<Vec<(UserId, String)>> {
        let mut out: Vec<(UserId, String)> = self
            .store
            .users_with_role(Role::Manager)
            .await?
            .into_iter()
            .filter(|u| u.active && u.id != caller.user.id)
            .map(|u| (u.id, u.name))
            .collect();
        out.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(out)
    }

    /// Sets (`Some`) or ends (`None`) the delegation of `of`: the caller's own, or, for an
    /// admin, anyone else's, though never to the admin. Audited and told to both people; the
    /// steps waiting for the user move to the delegate now if it covers today.
    pub async fn set_delegation(
        &self,
        caller: &Caller,
        of: UserId,
        input: Option<DelegationInput>,
        expected_version: Option<i64>,
    ) -> Result<User> {
        if of != caller.user.id {
            crate::require(caller, Role::Admin)?;
            if input
                .as_ref()
                .is_some_and(|i| i.delegate_id == caller.user.id)
            {
                return Err(AppError::Forbidden(
                    "segregation of duties: an admin does not make themselves someone's delegate"
                        .into(),
                ));
            }
        }
        let before = self
            .store
            .user(of)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        check_version(expected_version, before.version)?;
        let today = self.company_today().await?;
        let mut change = Change::default();
        if of != caller.user.id {
            // Decided on: the admin's role, read with their account.
            change.guards.push(Guard::user(&caller.user));
        }
        let mut user = before.clone();
        let delegate = match &input {
            Some(i) => {
                let delegate =
                    self.store.user(i.delegate_id).await?.ok_or_else(|| {
                        AppError::Unprocessable("the delegate is not a user".into())
                    })?;
                let mut delegation = Delegation::new(&before, &delegate, i.from, i.until, today)?;
                if of != caller.user.id {
                    delegation.set_by = Some(caller.user.id);
                }
                user.delegation = Some(delegation);
                change.guards.push(Guard::user(&delegate));
                Some(delegate)
            }
            None => {
                user.delegation = None;
                match &before.delegation {
                    Some(d) => self.store.user(d.delegate_id).await?,
                    None => return Ok(before),
                }
            }
        };
        user.version += 1;
        change.audit.push(self.audit_record(
            Some(caller),
            if input.is_some() {
                "user.delegation.set"
            } else {
                "user.delegation.end"
            },
            "user",
            user.id,
            Some(&before),
            Some(&user),
        )?);
        change.writes.push(Write::PutUser {
            user: user.clone(),
            password_hash: None,
            expected_version: Some(before.version),
        });
        if let Some(delegate) = &delegate {
            let (to_user, to_delegate) = match &user.delegation {
                Some(d) => (
                    format!(
                        "From {} to {}, {} decides the reports waiting for you",
                        d.from, d.until, delegate.name
                    ),
                    format!(
                        "From {} to {}, you decide the reports waiting for {}",
                        d.from, d.until, user.name
                    ),
                ),
                None => (
                    format!("{} no longer decides for you", delegate.name),
                    format!("You no longer decide for {}", user.name),
                ),
            };
            self.tell(&user, "delegation", to_user, None, false, &mut change);
            self.tell(
                delegate,
                "delegation",
                to_delegate,
                None,
                false,
                &mut change,
            );
        }
        self.store.commit(change).await?;
        self.move_steps(Some(caller), &user, before.delegation.as_ref(), today)
            .await?;
        Ok(user)
    }

    /// Moves the steps of `away`'s that are current now: to the stand-in while their
    /// delegation covers `today`, and back to them from whoever stood in (under `previous`
    /// or the current delegation) once it does not. Each report moves in its own change,
    /// guarded by its version and the accounts read; a report that changed meanwhile is left
    /// for the next run. Answers how many moved.
    pub(crate) async fn move_steps(
        &self,
        actor: Option<&Caller>,
        away: &User,
        previous: Option<&Delegation>,
        today: NaiveDate,
    ) -> Result<usize> {
        let stand_ins = self.stand_ins_of(away).await?;
        let read: Vec<&User> = stand_ins.iter().collect();
        let named = |id: Option<UserId>| stand_ins.iter().find(|u| Some(u.id) == id);
        let delegate = named(away.delegation.as_ref().map(|d| d.delegate_id));
        let fallback = named(away.manager_id);
        let mut moved = 0;
        // Back first: from every queue a stand-in for `away` may hold a step in.
        let mut holders: Vec<UserId> = previous
            .map(|d| d.delegate_id)
            .into_iter()
            .chain(away.delegation.as_ref().map(|d| d.delegate_id))
            .chain(away.manager_id)
            .collect();
        holders.sort_unstable();
        holders.dedup();
        for holder in holders {
            for report in self.queue_of(holder).await? {
                let Some(index) = report.current_index() else {
                    continue;
                };
                if report.steps[index]
                    .stand_in
                    .as_ref()
                    .is_none_or(|s| s.for_id != away.id)
                {
                    continue;
                }
                moved += self
                    .restore(actor, &report, index, away, &read, today)
                    .await?;
            }
        }
        // Then over: the steps waiting for `away` themselves.
        if away.delegation.as_ref().is_some_and(|d| d.covers(today)) {
            for report in self.queue_of(away.id).await? {
                let Some(index) = report.current_index() else {
                    continue;
                };
                let owner = self.user_or_gone(report.owner_id).await?;
                if let Some(next) =
                    stand_in(&report, index, &owner, away, delegate, fallback, today)
                {
                    moved += self
                        .move_step(actor, &report, index, next, &owner, away, &read)
                        .await?;
                }
            }
        }
        Ok(moved)
    }

    /// Step `index` of `report`, which someone decides for `away`, where it belongs now: with
    /// the stand-in `away`'s delegation names today (among `read`: the delegate and the
    /// fallback), or back with `away`. Answers 1 if it moved.
    pub(crate) async fn restore(
        &self,
        actor: Option<&Caller>,
        report: &Report,
        index: usize,
        away: &User,
        read: &[&User],
        today: NaiveDate,
    ) -> Result<usize> {
        let Some(as_assigned) = given_back(report, index) else {
            return Ok(0);
        };
        let owner = self.user_or_gone(report.owner_id).await?;
        let mut unmoved = report.clone();
        unmoved.steps[index] = as_assigned.clone();
        let named = |id: Option<UserId>| read.iter().copied().find(|u| Some(u.id) == id);
        let wanted = stand_in(
            &unmoved,
            index,
            &owner,
            away,
            named(away.delegation.as_ref().map(|d| d.delegate_id)),
            named(away.manager_id),
            today,
        )
        .unwrap_or(as_assigned);
        if wanted.approver_id == report.steps[index].approver_id {
            return Ok(0);
        }
        self.move_step(actor, report, index, wanted, &owner, away, read)
            .await
    }

    /// The delegate and the fallback (the manager) of `away`, as stored.
    pub(crate) async fn stand_ins_of(&self, away: &User) -> Result<Vec<User>> {
        let mut out = vec![];
        if let Some(d) = &away.delegation {
            out.extend(self.store.user(d.delegate_id).await?);
        }
        if let Some(m) = away.manager_id {
            out.extend(self.store.user(m).await?);
        }
        Ok(out)
    }

    /// Hands the current step of `next` (a report just submitted or moved on to its next step)
    /// to a stand-in if its approver is away today, within `change`: the accounts read are
    /// guarded, and the approver is told. The new approver hears of it as the step's approver.
    pub(crate) async fn stand_in_if_away(
        &self,
        next: &mut Report,
        owner: &User,
        change: &mut Change,
    ) -> Result<()> {
        let Some(index) = next.current_index() else {
            return Ok(());
        };
        let Some(approver) = next.steps[index].approver_id else {
            return Ok(());
        };
        let Some(away) = self.store.user(approver).await? else {
            return Ok(());
        };
        change.guards.push(Guard::user(&away));
        let Some(delegation) = &away.delegation else {
            return Ok(());
        };
        let today = self.company_today().await?;
        let delegate = self.store.user(delegation.delegate_id).await?;
        let fallback = match away.manager_id {
            Some(m) => self.store.user(m).await?,
            None => None,
        };
        change
            .guards
            .extend(delegate.iter().chain(&fallback).map(Guard::user));
        if let Some(step) = stand_in(
            next,
            index,
            owner,
            &away,
            delegate.as_ref(),
            fallback.as_ref(),
            today,
        ) {
            let to = [&delegate, &fallback]
                .into_iter()
                .flatten()
                .find(|u| step.approver_id == Some(u.id))
                .map_or_else(String::new, |u| u.name.clone());
            next.steps[index] = step;
            self.tell(
                &away,
                "report.step_moved",
                format!("Report \"{}\" went to {to} while you are away", next.title),
                Some(next.id),
                true,
                change,
            );
        }
        Ok(())
    }

    /// The reports in `user`'s own approvals queue (not the finance queue).
    async fn queue_of(&self, user: UserId) -> Result<Vec<Report>> {
        let query = ReportQuery {
            scope: ReportScope::Approvals {
                user,
                shared: vec![],
            },
            state: None,
        };
        let query = &query;
        Ok(all_pages(|page| async move { self.store.reports(query, &page).await }).await?)
    }

    /// Commits the current step of `report` as `step`, with its audit event and notices to the
    /// new approver and to `away`. Answers 1 if it moved, 0 if the report changed meanwhile.
    #[expect(
        clippy::too_many_arguments,
        reason = "a move and everyone it was decided on"
    )]
    pub(crate) async fn move_step(
        &self,
        actor: Option<&Caller>,
        report: &Report,
        index: usize,
        step: outlay_domain::Step,
        owner: &User,
        away: &User,
        read: &[&User],
    ) -> Result<usize> {
        let mut next = report.clone();
        next.steps[index] = step;
        next.version += 1;
        next.updated_at = self.clock.now();
        // The new approver as read when the move was decided, and guarded as read.
        let Some(to) = std::iter::once(away)
            .chain(read.iter().copied())
            .find(|u| next.steps[index].approver_id == Some(u.id))
            .cloned()
        else {
            return Ok(0);
        };
        let mut change = Change::default();
        change.guards.push(Guard::user(away));
        change.guards.push(Guard::user(owner));
        change.guards.extend(read.iter().map(|u| Guard::user(u)));
        change.audit.push(self.audit_record(
            actor,
            "report.step_moved",
            "report",
            report.id,
            Some(report),
            Some(&next),
        )?);
        change.writes.push(Write::PutReport {
            report: next.clone(),
            expected_version: Some(report.version),
        });
        let total = next
            .total
            .map_or_else(|| "no total".to_owned(), |t| t.grouped());
        let for_whom = if to.id == away.id {
            String::new()
        } else {
            format!(" (for {})", away.name)
        };
        self.tell(
            &to,
            "report.step_moved",
            format!(
                "Report \"{}\" ({total}) waits for your approval{for_whom}",
                next.title
            ),
            Some(next.id),
            true,
            &mut change,
        );
        if to.id != away.id {
            self.tell(
                away,
                "report.step_moved",
                format!(
                    "Report \"{}\" went to {} while you are away",
                    next.title, to.name
                ),
                Some(next.id),
                true,
                &mut change,
            );
        }
        match self.store.commit(change).await {
            Ok(()) => Ok(1),
            Err(crate::StoreError::Conflict(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

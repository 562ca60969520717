//! The accounting journal: the ledger accounts finance keeps, and the balanced entries of a
//! period, as files for the company's accounting system.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use outlay_domain::journal::{
    Journal, JournalEntry, JournalFormat, Ledger, MAX_JOURNAL_DAYS, accrual, payment,
};
use outlay_domain::{Report, ReportId, ReportState, Role, UserId};

use crate::change::all_pages;
use crate::{App, AppError, Caller, ReportQuery, ReportScope, Result, require};

impl App {
    /// The ledger accounts (finance).
    pub async fn ledger(&self, caller: &Caller) -> Result<Ledger> {
        require(caller, Role::Finance)?;
        Ok(*self.policy_or_default().await?.ledger)
    }

    /// Replaces the ledger accounts (finance), checked with the rest of the policy: every
    /// category it maps is one of the policy's.
    pub async fn put_ledger(&self, caller: &Caller, ledger: Ledger) -> Result<Ledger> {
        require(caller, Role::Finance)?;
        let (before, stored) = self.policy_as_stored().await?;
        let mut policy = before.clone();
        policy.ledger = Box::new(ledger.trimmed());
        let saved = self.replace_policy(caller, policy, before, stored).await?;
        Ok(*saved.ledger)
    }

    /// The journal of the days `from` to `to` (finance): each report approved in the period
    /// is accrued on the day of its last approval, and each paid in the period is paid on the
    /// day of its payment, both days in the company's time zone.
    pub async fn journal(
        &self,
        caller: &Caller,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Journal> {
        require(caller, Role::Finance)?;
        if to < from {
            return Err(AppError::Unprocessable(
                "the period ends before it starts".into(),
            ));
        }
        if (to - from).num_days() >= MAX_JOURNAL_DAYS {
            return Err(AppError::Unprocessable(format!(
                "a journal covers at most {MAX_JOURNAL_DAYS} days"
            )));
        }
        let policy = self.policy_or_default().await?;
        let zone = policy.time_zone;
        let within = |day: NaiveDate| (from..=to).contains(&day);
        // A report paid between the two reads is in both: it is kept once, as last read.
        let mut reports: BTreeMap<ReportId, Report> = BTreeMap::new();
        for state in [ReportState::Approved, ReportState::Paid] {
            let query = &ReportQuery {
                scope: ReportScope::All,
                state: Some(state),
            };
            for r in all_pages(|p| async move { self.store.reports(query, &p).await }).await? {
                match reports.get(&r.id) {
                    Some(kept) if kept.version >= r.version => {}
                    _ => {
                        reports.insert(r.id, r);
                    }
                }
            }
        }
        let mut homes: BTreeMap<UserId, Option<String>> = BTreeMap::new();
        let accounts = &policy.ledger.accounts;
        let mut entries: Vec<JournalEntry> = Vec::new();
        for report in reports.values() {
            if let Some(day) = report
                .approved_at()
                .map(|t| zone.day(t))
                .filter(|d| within(*d))
            {
                if let std::collections::btree_map::Entry::Vacant(e) = homes.entry(report.owner_id)
                {
                    let home = self
                        .store
                        .user(report.owner_id)
                        .await?
                        .and_then(|u| u.home_cost_centre);
                    e.insert(home);
                }
                let home = homes.get(&report.owner_id).and_then(Option::as_deref);
                let expenses = self.store.expenses_of_report(report.id).await?;
                entries.extend(accrual(report, &expenses, &policy, accounts, home, day));
            }
            let paid = report.payment.as_ref().map(|p| zone.day(p.at));
            if let Some(day) = paid.filter(|d| within(*d)) {
                entries.extend(payment(report, accounts, day));
            }
        }
        for advance in self.load_all::<outlay_domain::advance::Advance>().await? {
            entries.extend(
                outlay_domain::journal::advance_entries(&advance, accounts, |t| zone.day(t))
                    .into_iter()
                    .filter(|e| within(e.date)),
            );
        }
        entries.sort_by(|a, b| (a.date, &a.reference).cmp(&(b.date, &b.reference)));
        Ok(Journal {
            from,
            to,
            currency: policy.base_currency,
            entries,
            ledger: *policy.ledger,
            created_at: self.clock.now(),
        })
    }

    /// The journal of a period as a file of `format` (finance). Refused, with a message for
    /// people, when the ledger does not suit the format (DATEV needs its numbers and numeric
    /// accounts of one length, and a period within one fiscal year).
    pub async fn journal_file(
        &self,
        caller: &Caller,
        from: NaiveDate,
        to: NaiveDate,
        format: JournalFormat,
    ) -> Result<Vec<u8>> {
        let journal = self.journal(caller, from, to).await?;
        self.files
            .journal(format, &journal)
            .map_err(AppError::Unprocessable)
    }
}

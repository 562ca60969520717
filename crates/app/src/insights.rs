//! Views across reports: the people directory, finance's spend overview and the export.

use std::collections::BTreeMap;

use outlay_domain::access;
use outlay_domain::{Currency, Money, Report, ReportState, Role, User, UserId};

use crate::{App, Caller, PageRequest, ReportQuery, ReportScope, Result, require};

/// Someone's name and email, as shown next to what they did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
}

/// Spend in one month and category, in the base currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendRow {
    /// `YYYY-MM` of the expense date.
    pub month: String,
    /// The policy category.
    pub category: String,
    /// The total.
    pub total: Money,
}

/// Finance's spend overview: approved and paid expenses by month and category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spend {
    /// The base currency.
    pub currency: Currency,
    /// By month, then category.
    pub rows: Vec<SpendRow>,
}

impl App {
    /// Everyone's name and email, for showing who did what. Colleagues' names are not secret
    /// inside a company; nothing else about them is shown.
    pub async fn people(&self, _caller: &Caller) -> Result<BTreeMap<UserId, Person>> {
        let mut out = BTreeMap::new();
        let mut page = PageRequest {
            limit: PageRequest::MAX,
            cursor: None,
        };
        loop {
            let users = self.store.users(&page).await?;
            for u in users.items {
                out.insert(
                    u.id,
                    Person {
                        name: u.name,
                        email: u.email.to_string(),
                    },
                );
            }
            match users.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// The approved reports waiting for payment (finance), each with why the caller may not pay
    /// it, if they may not ([`access::may_pay`]).
    pub async fn payables(&self, caller: &Caller) -> Result<Vec<(Report, Option<&'static str>)>> {
        let approved = self
            .all_reports(caller, Some(ReportState::Approved))
            .await?;
        let mut owners: BTreeMap<UserId, Option<User>> = BTreeMap::new();
        let mut out = Vec::with_capacity(approved.len());
        for report in approved {
            let owner = match owners.get(&report.owner_id) {
                Some(o) => o.clone(),
                None => {
                    let o = self.store.user(report.owner_id).await?;
                    owners.insert(report.owner_id, o.clone());
                    o
                }
            };
            let refusal = match owner {
                Some(owner) => match access::may_pay(&caller.user, &owner, &report) {
                    Ok(()) => None,
                    Err(access::Denied::Forbidden(why)) => Some(why),
                    Err(access::Denied::NotNow) => Some("it is not approved"),
                },
                None => Some("its owner is gone"),
            };
            out.push((report, refusal));
        }
        Ok(out)
    }

    /// Every submitted report, optionally in one state (finance), walking all pages.
    pub async fn all_reports(
        &self,
        caller: &Caller,
        state: Option<ReportState>,
    ) -> Result<Vec<Report>> {
        require(caller, Role::Finance)?;
        let query = ReportQuery {
            scope: ReportScope::All,
            state,
        };
        let mut page = PageRequest {
            limit: PageRequest::MAX,
            cursor: None,
        };
        let mut out = Vec::new();
        loop {
            let reports = self.store.reports(&query, &page).await?;
            out.extend(reports.items);
            match reports.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Approved and paid spend by month and category, in the base currency (finance).
    pub async fn spend(&self, caller: &Caller) -> Result<Spend> {
        let currency = self.policy_or_default().await?.base_currency;
        let mut sums: BTreeMap<(String, String), i64> = BTreeMap::new();
        for state in [ReportState::Approved, ReportState::Paid] {
            for report in self.all_reports(caller, Some(state)).await? {
                for e in self.store.expenses_of_report(report.id).await? {
                    let Some(base) = e.base_amount.filter(|b| b.currency() == currency) else {
                        continue;
                    };
                    let key = (
                        e.details.date().format("%Y-%m").to_string(),
                        e.details.category().to_owned(),
                    );
                    let sum = sums.entry(key).or_default();
                    *sum = sum.saturating_add(base.minor());
                }
            }
        }
        let rows = sums
            .into_iter()
            .filter_map(|((month, category), minor)| {
                Money::from_minor(minor, currency)
                    .ok()
                    .map(|total| SpendRow {
                        month,
                        category,
                        total,
                    })
            })
            .collect();
        Ok(Spend { currency, rows })
    }
}

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
    /// The sum of the rows; `None`: nothing.
    pub total: Option<Money>,
    /// The same spend by cost centre (`""`: charged to none), by code.
    pub by_cost_centre: Vec<(String, Money)>,
    /// The spend charged to projects, by code.
    pub by_project: Vec<(String, Money)>,
    /// The reports behind the rows, newest first.
    pub reports: Vec<Report>,
}

/// What some expenses are charged to, in minor units of the base currency: by cost centre
/// (`""`: none known) and by project. The one place the spend view and the CSV export add
/// charges up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Charges {
    /// By cost centre code.
    pub cost_centres: BTreeMap<String, i64>,
    /// By project code.
    pub projects: BTreeMap<String, i64>,
}

impl Charges {
    /// Adds `e`, whose owner's home cost centre is `home`.
    pub fn add(&mut self, e: &outlay_domain::Expense, home: Option<&str>) {
        let mut charged = e.charged(home);
        if charged.is_empty() {
            charged.extend(e.base_amount.map(|b| (String::new(), b.minor())));
        }
        for (centre, minor) in charged {
            let sum = self.cost_centres.entry(centre).or_default();
            *sum = sum.saturating_add(minor);
        }
        if let (Some(p), Some(base)) = (e.project(), e.base_amount) {
            let sum = self.projects.entry(p.to_owned()).or_default();
            *sum = sum.saturating_add(base.minor());
        }
    }

    /// `map` as amounts of `currency`, leaving out what is not positive.
    pub fn money(map: &BTreeMap<String, i64>, currency: Currency) -> Vec<(String, Money)> {
        map.iter()
            .filter_map(|(k, v)| Money::from_minor(*v, currency).ok().map(|m| (k.clone(), m)))
            .collect()
    }
}

/// What the spend overview is narrowed to; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpendFilter {
    /// The first day spent (the expense's date).
    pub from: Option<chrono::NaiveDate>,
    /// The last day, inclusive.
    pub to: Option<chrono::NaiveDate>,
    /// One employee.
    pub owner_id: Option<UserId>,
    /// One category.
    pub category: Option<String>,
}

/// One person of a manager's team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Who.
    pub user: User,
    /// 1 for a direct report, 2 for one of theirs.
    pub depth: u8,
    /// Their reports that are not finished and that the manager may see: waiting for a
    /// decision, rejected, or back to draft after a submission.
    pub open: Vec<Report>,
    /// What was approved or paid to them this calendar year, in the base currency (reports
    /// whose total is known); `None`: nothing.
    pub spend_this_year: Option<Money>,
}

/// A manager's team: the people who report to them, directly or through one of their own
/// managers (the reporting line [`access::sight`] lets a manager see), with what is open and
/// what they spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// By depth, then name.
    pub members: Vec<Member>,
    /// The sum of the members' spend this year.
    pub spend_this_year: Option<Money>,
}

impl App {
    /// The caller's team (managers).
    pub async fn team(&self, caller: &Caller) -> Result<Team> {
        require(caller, Role::Manager)?;
        let users = crate::change::all_pages(|p| async move { self.store.users(&p).await }).await?;
        let currency = self.policy_or_default().await?.base_currency;
        let me = caller.user.id;
        let direct: Vec<&User> = users.iter().filter(|u| u.manager_id == Some(me)).collect();
        let mut people: Vec<(u8, &User)> = direct.iter().map(|u| (1, *u)).collect();
        for d in &direct {
            people.extend(
                users
                    .iter()
                    .filter(|u| u.manager_id == Some(d.id) && u.id != me)
                    .map(|u| (2, u)),
            );
        }
        people.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
        let year = self.clock.now().format("%Y").to_string();
        let mut members = Vec::with_capacity(people.len());
        let mut total = 0_i64;
        for (depth, user) in people {
            let line = access::Line {
                manager: user.manager_id,
                senior: if depth == 1 { None } else { Some(me) },
            };
            let query = ReportQuery {
                scope: ReportScope::Mine(user.id),
                state: None,
            };
            let query = &query;
            let reports =
                crate::change::all_pages(|p| async move { self.store.reports(query, &p).await })
                    .await?;
            let mut spent = 0_i64;
            let mut open = Vec::new();
            for r in reports {
                match r.state {
                    ReportState::Approved | ReportState::Paid => {
                        let this_year = r
                            .submitted_at
                            .is_some_and(|t| t.format("%Y").to_string() == year);
                        if let Some(t) = r.total.filter(|t| this_year && t.currency() == currency) {
                            spent = spent.saturating_add(t.minor());
                        }
                    }
                    // What the manager may open: never a draft that was not submitted.
                    _ if access::sight(&caller.user, &r).given(me, &line) => open.push(r),
                    _ => {}
                }
            }
            total = total.saturating_add(spent);
            members.push(Member {
                user: user.clone(),
                depth,
                open,
                spend_this_year: Money::from_minor(spent, currency).ok(),
            });
        }
        Ok(Team {
            members,
            spend_this_year: Money::from_minor(total, currency).ok(),
        })
    }

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
                _ if report.batch_id.is_some() => Some("a payment batch pays it"),
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

    /// The home cost centre of `user`, read once per `cache`.
    pub(crate) async fn home_of(
        &self,
        cache: &mut BTreeMap<UserId, Option<String>>,
        user: UserId,
    ) -> Result<Option<String>> {
        if let Some(home) = cache.get(&user) {
            return Ok(home.clone());
        }
        let home = self
            .store
            .user(user)
            .await?
            .and_then(|u| u.home_cost_centre);
        cache.insert(user, home.clone());
        Ok(home)
    }

    /// Approved and paid spend by month and category, in the base currency, narrowed by
    /// `filter`, with the reports behind it (finance).
    pub async fn spend(&self, caller: &Caller, filter: &SpendFilter) -> Result<Spend> {
        let currency = self.policy_or_default().await?.base_currency;
        let mut sums: BTreeMap<(String, String), i64> = BTreeMap::new();
        let mut charges = Charges::default();
        let mut homes: BTreeMap<UserId, Option<String>> = BTreeMap::new();
        let mut reports = Vec::new();
        for state in [ReportState::Approved, ReportState::Paid] {
            for report in self.all_reports(caller, Some(state)).await? {
                if filter.owner_id.is_some_and(|o| o != report.owner_id) {
                    continue;
                }
                let home = self.home_of(&mut homes, report.owner_id).await?;
                let mut counted = false;
                for e in self.store.expenses_of_report(report.id).await? {
                    let Some(base) = e.base_amount.filter(|b| b.currency() == currency) else {
                        continue;
                    };
                    let day = e.details.date();
                    if filter.from.is_some_and(|d| day < d)
                        || filter.to.is_some_and(|d| day > d)
                        || filter
                            .category
                            .as_deref()
                            .is_some_and(|c| c != e.details.category())
                    {
                        continue;
                    }
                    let key = (
                        day.format("%Y-%m").to_string(),
                        e.details.category().to_owned(),
                    );
                    let sum = sums.entry(key).or_default();
                    *sum = sum.saturating_add(base.minor());
                    charges.add(&e, home.as_deref());
                    counted = true;
                }
                if counted {
                    reports.push(report);
                }
            }
        }
        reports.sort_by_key(|r| std::cmp::Reverse(r.id));
        let total = sums.values().fold(0_i64, |a, b| a.saturating_add(*b));
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
        Ok(Spend {
            currency,
            rows,
            total: Money::from_minor(total, currency).ok(),
            by_cost_centre: Charges::money(&charges.cost_centres, currency),
            by_project: Charges::money(&charges.projects, currency),
            reports,
        })
    }
}

//! The demo company of PRODUCT.md: six users in a reporting line and the standard policy.

use anyhow::Context;
use outlay_app::{App, NewUser};
use outlay_domain::{Email, Role};

/// The password every demo user shares.
pub const DEMO_PASSWORD: &str = "demo-password";

/// The demo password in force: `OUTLAY_DEMO_PASSWORD` (for identity providers with a stricter
/// password policy, such as the Cognito pool of the template), or [`DEMO_PASSWORD`].
pub fn demo_password() -> String {
    std::env::var("OUTLAY_DEMO_PASSWORD").unwrap_or_else(|_| DEMO_PASSWORD.to_owned())
}

/// The demo users: email, name, roles, and whom they report to.
pub const DEMO_USERS: [(&str, &str, &[Role], Option<&str>); 6] = [
    ("senior@example.com", "Sam Senior", &[Role::Manager], None),
    (
        "manager@example.com",
        "Mia Manager",
        &[Role::Manager],
        Some("senior@example.com"),
    ),
    (
        "employee@example.com",
        "Eve Employee",
        &[],
        Some("manager@example.com"),
    ),
    ("finance@example.com", "Fay Finance", &[Role::Finance], None),
    ("payer@example.com", "Pat Payer", &[Role::Finance], None),
    ("admin@example.com", "Ada Admin", &[Role::Admin], None),
];

/// Seeds the demo company into an empty database; does nothing if it is already there.
pub async fn seed_demo(app: &App) -> anyhow::Result<()> {
    app.ensure_policy().await?;
    for (email, name, roles, manager) in DEMO_USERS {
        let store = app.store();
        if store.user_by_email(&Email::parse(email)?).await?.is_some() {
            continue;
        }
        let manager_id = match manager {
            Some(m) => store.user_by_email(&Email::parse(m)?).await?.map(|u| u.id),
            None => None,
        };
        app.create_user(
            None,
            NewUser {
                email: email.into(),
                name: name.into(),
                password: Some(demo_password()),
                roles: roles.to_vec(),
                manager_id,
            },
        )
        .await?;
    }
    seed_organisation(app).await?;
    seed_payments(app).await
}

/// A demo user, as the caller of a use case that seeds the company.
async fn demo_caller(app: &App, email: &str) -> anyhow::Result<outlay_app::Caller> {
    let user = app
        .store()
        .user_by_email(&Email::parse(email)?)
        .await?
        .with_context(|| format!("the demo user {email}"))?;
    Ok(outlay_app::Caller {
        user,
        source: None,
        session: None,
    })
}

/// The demo company's paying account (for SEPA and NACHA files), kept by Fay Finance. Employees
/// add their own bank details. Does nothing if the paying account is set.
async fn seed_payments(app: &App) -> anyhow::Result<()> {
    let policy = app.store().policy().await?;
    if policy.and_then(|p| p.paying_account).is_some() {
        return Ok(());
    }
    let finance = demo_caller(app, "finance@example.com").await?;
    let account = outlay_domain::PayingAccount {
        name: "Outlay Demo Inc".into(),
        iban: Some("DE89370400440532013000".into()),
        bic: Some("COBADEFFXXX".into()),
        ach_bank_routing: Some("021000021".into()),
        ach_bank_name: Some("JPMORGAN CHASE".into()),
        ach_company_id: Some("1234567890".into()),
    };
    app.put_paying_account(&finance, account).await?;
    Ok(())
}

/// The demo company's cost centres, project and routing rule, kept by Fay Finance, and Eve
/// Employee's home cost centre, set by Ada Admin: engineering (owned by Mia Manager) and
/// marketing (owned by Sam Senior); spend charged outside one's home cost centre goes to that
/// cost centre's owner. Does nothing if there are cost centres already.
async fn seed_organisation(app: &App) -> anyhow::Result<()> {
    use outlay_app::{CostCentreInput, ProjectInput, RuleInput, UserPatch};
    let store = app.store();
    if !store
        .policy()
        .await?
        .unwrap_or_else(outlay_app::default_policy)
        .org
        .cost_centres
        .is_empty()
    {
        return Ok(());
    }
    let finance = demo_caller(app, "finance@example.com").await?;
    let admin = demo_caller(app, "admin@example.com").await?;
    let (manager, senior) = (
        demo_caller(app, "manager@example.com").await?.user,
        demo_caller(app, "senior@example.com").await?.user,
    );
    for (code, name, owner) in [
        ("ENG", "Engineering", manager.id),
        ("MKT", "Marketing", senior.id),
    ] {
        let centre = CostCentreInput {
            name: name.into(),
            owner_id: Some(owner),
            active: true,
        };
        app.put_cost_centre(&finance, code, centre).await?;
    }
    let project = ProjectInput {
        name: "Apollo rollout".into(),
        customer: Some("Acme Corp".into()),
        billable: true,
        budget: Some("50000.00".into()),
    };
    app.put_project(&finance, "APOLLO", project).await?;
    let rule = RuleInput {
        name: "Spend charged to another team".into(),
        category: None,
        cost_centre: Some("other_than_home".into()),
        project: None,
        over: None,
        approver: "cost_centre_owner".into(),
        approver_id: None,
        approver_role: None,
    };
    app.put_routing_rules(&finance, vec![rule]).await?;
    let employee = demo_caller(app, "employee@example.com").await?.user;
    let home = UserPatch {
        home_cost_centre: Some(Some("ENG".into())),
        ..UserPatch::default()
    };
    app.update_user(&admin, employee.id, home, None).await?;
    Ok(())
}

/// How much `outlay demo --seed-volume` adds: a few weeks of a real company's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Volume {
    /// Employees added under the demo managers.
    pub employees: usize,
    /// Expenses across them.
    pub expenses: usize,
    /// Reports, of five expenses each (the rest stay loose).
    pub reports: usize,
}

impl Default for Volume {
    fn default() -> Self {
        Self {
            employees: 24,
            expenses: 2_000,
            reports: 300,
        }
    }
}

/// Gives the demo company `volume`'s worth of history, through the use cases as people would
/// (every step checked, audited and notified): employees under Mia Manager and Sam Senior, their
/// expenses over the last months, and reports in every state, decided by the demo managers and
/// finance and paid by Pat Payer. Does nothing if it was seeded before.
pub async fn seed_volume(app: &App, volume: Volume) -> anyhow::Result<()> {
    use outlay_app::{Action, Caller, ExpenseInput, NewReport};
    seed_demo(app).await?;
    let store = app.store();
    let email = |n: usize| format!("staff{n:03}@example.com");
    if store
        .user_by_email(&Email::parse(&email(0))?)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let demo = |who: &str| {
        let store = store.clone();
        let who = who.to_owned();
        async move {
            let user = store
                .user_by_email(&Email::parse(&format!("{who}@example.com"))?)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no demo user {who}"))?;
            anyhow::Ok(Caller {
                user,
                source: None,
                session: None,
            })
        }
    };
    let (manager, senior, finance, payer) = (
        demo("manager").await?,
        demo("senior").await?,
        demo("finance").await?,
        demo("payer").await?,
    );
    const FIRST: [&str; 12] = [
        "Ana", "Ben", "Chloe", "Dev", "Emma", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Kira",
        "Luca",
    ];
    const LAST: [&str; 8] = [
        "Novak", "Okafor", "Petrov", "Quinn", "Rossi", "Sato", "Tanaka", "Weber",
    ];
    let mut staff = Vec::with_capacity(volume.employees);
    for n in 0..volume.employees {
        // Every fourth reports to Sam Senior, the others to Mia Manager.
        let boss = if n % 4 == 3 { &senior } else { &manager };
        let user = app
            .create_user(
                None,
                NewUser {
                    email: email(n),
                    name: format!("{} {}", FIRST[n % FIRST.len()], LAST[n % LAST.len()]),
                    password: Some(demo_password()),
                    roles: vec![],
                    manager_id: Some(boss.user.id),
                },
            )
            .await?;
        staff.push((
            Caller {
                user,
                source: None,
                session: None,
            },
            boss,
        ));
    }
    const MERCHANTS: [(&str, &str); 12] = [
        ("Lufthansa", "travel"),
        ("Deutsche Bahn", "travel"),
        ("Uber", "travel"),
        ("Pret A Manger", "meals"),
        ("Blue Bottle Coffee", "meals"),
        ("Trattoria Roma", "meals"),
        ("Hilton", "lodging"),
        ("Premier Inn", "lodging"),
        ("Staples", "office"),
        ("IKEA", "office"),
        ("GitHub", "software"),
        ("JetBrains", "software"),
    ];
    let today = chrono::Utc::now().date_naive();
    let currency = app.policy(&manager).await?.base_currency;
    // Each employee's expenses, oldest first, so that their reports group neighbouring days.
    let mut expenses: Vec<Vec<outlay_domain::ExpenseId>> = vec![Vec::new(); staff.len()];
    for n in 0..volume.expenses {
        let who = n % staff.len();
        let (merchant, category) = MERCHANTS[(n / staff.len() * 5 + who) % MERCHANTS.len()];
        // Recent enough for the policy's age limit, below its receipt threshold, and distinct.
        let days_ago = 85 - (n * 85 / volume.expenses.max(1)) as i64;
        let cents = 500 + (n * 3_137) % 6_900;
        let info = app
            .create_expense(
                &staff[who].0,
                ExpenseInput {
                    date: (today - chrono::Duration::days(days_ago)).to_string(),
                    merchant: merchant.into(),
                    category: category.into(),
                    amount: format!("{}.{:02}", cents / 100, cents % 100),
                    currency: currency.code().into(),
                    description: Some(format!("{category} for project {}", n % 17 + 1)),
                    justification: None,
                    allocation: Default::default(),
                    claim: None,
                    tax_rate: None,
                    tax_amount: None,
                },
                None,
            )
            .await?;
        expenses[who].push(info.expense.id);
    }
    let mut cursor = vec![0usize; staff.len()];
    for r in 0..volume.reports {
        let who = r % staff.len();
        let ids: Vec<_> = expenses[who]
            .iter()
            .skip(cursor[who])
            .take(5)
            .copied()
            .collect();
        if ids.is_empty() {
            continue;
        }
        cursor[who] += ids.len();
        let (employee, boss) = &staff[who];
        let month = [
            "Client visit",
            "Team offsite",
            "Conference",
            "Sales trip",
            "Office",
        ][r % 5];
        let details = app
            .create_report(
                employee,
                NewReport {
                    title: format!("{month} #{}", r + 1),
                    purpose: format!("{month} for project {}", r % 17 + 1),
                    expense_ids: ids,
                },
                None,
            )
            .await?;
        let id = details.report.id;
        // Of every ten: one draft, one waiting for its manager, one for finance, one approved,
        // one rejected, five paid.
        let stage = r % 10;
        if stage == 0 {
            continue;
        }
        app.transition(employee, id, Action::Submit, None, None)
            .await?;
        match stage {
            1 => continue,
            4 => {
                app.transition(
                    boss,
                    id,
                    Action::Reject("Please split the hotel and the meals.".into()),
                    None,
                    None,
                )
                .await?;
                continue;
            }
            _ => {}
        }
        app.transition(boss, id, Action::Approve(None), None, None)
            .await?;
        if stage == 2 {
            continue;
        }
        app.transition(&finance, id, Action::Approve(None), None, None)
            .await?;
        if stage == 3 {
            continue;
        }
        app.transition(
            &payer,
            id,
            Action::Pay(format!("BATCH-{:04}", r / 10)),
            None,
            None,
        )
        .await?;
    }
    Ok(())
}

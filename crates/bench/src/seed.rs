//! The bulk generator of the list benchmark: a company of any size, written through the store
//! port (`Store::commit`) as valid domain data. Every report is built by the domain's own
//! workflow (`workflow::decide`: submitted on its owner's route, approved by the manager and
//! finance, paid by another finance user), so the stores' index columns come from the same
//! code as in production. Audit events are left out: the lists never read them.
//!
//! The generated company grows with the table: one employee per 100 reports, one manager per
//! 1,000, and of every 20 reports 16 are paid, 1 waits for finance, 1 for its manager and 2
//! are drafts. The demo users' own lists stay the same size at any size of the table: Eve
//! Employee's 60 loose expenses and 20 reports waiting for Mia Manager.

use std::collections::BTreeSet;

use anyhow::{Context, bail};
use chrono::{Duration, Utc};
use outlay_app::{Change, Store, Write};
use outlay_domain::workflow::{Command, decide};
use outlay_domain::{Approver, Route};
use outlay_domain::{
    Email, Expense, ExpenseDetails, ExpenseId, Money, Policy, Report, ReportId, ReportState, Role,
    User, UserId,
};
use outlay_store_sqlite::SqliteStore;

/// Reports written per change (one savepoint each, about 2,000 rows).
const CHUNK: u64 = 1_000;

/// The people the generator needs from the demo company.
struct Demo {
    employee: User,
    manager: User,
    finance: User,
    payer: User,
    policy: Policy,
}

impl Demo {
    async fn load(store: &SqliteStore) -> anyhow::Result<Self> {
        let user = |who: &'static str| async move {
            store
                .user_by_email(&Email::parse(&format!("{who}@example.com"))?)
                .await?
                .with_context(|| format!("no demo user {who}: start `outlay demo` on it first"))
        };
        Ok(Self {
            employee: user("employee").await?,
            manager: user("manager").await?,
            finance: user("finance").await?,
            payer: user("payer").await?,
            policy: store.policy().await?.context("no policy")?,
        })
    }
}

/// Grows the database at `db` (already holding the demo company) from `from` reports to `to`,
/// and gives the demo employee their fixed lists when `from` is 0.
pub async fn grow(db: &std::path::Path, from: u64, to: u64) -> anyhow::Result<()> {
    let store = SqliteStore::open(db).await?;
    let demo = Demo::load(&store).await?;
    if from == 0 {
        store.commit(demo_lists(&demo)?).await?;
    }
    let mut start = from;
    while start < to {
        let end = (start + CHUNK).min(to);
        store.commit(company(&demo, start, end)?).await?;
        start = end;
    }
    store.close().await;
    Ok(())
}

/// Eve Employee's 60 loose expenses and 20 reports waiting for Mia Manager.
fn demo_lists(demo: &Demo) -> anyhow::Result<Change> {
    let mut change = Change::default();
    for n in 0..60 {
        let e = expense(&demo.employee, n, &demo.policy)?;
        change.writes.push(Write::PutExpense {
            expense: e,
            expected_version: None,
        });
    }
    let line = Line {
        manager: &demo.manager,
        finance: &demo.finance,
        payer: &demo.payer,
    };
    for n in 0..20 {
        change.writes.extend(report(
            &demo.employee,
            &line,
            ReportState::PendingManager,
            n,
            &demo.policy,
        )?);
    }
    Ok(change)
}

/// Reports `start..end` of the generated company, with the users they need first.
fn company(demo: &Demo, start: u64, end: u64) -> anyhow::Result<Change> {
    let mut change = Change::default();
    let managers: Vec<User> = (start.div_ceil(1_000)..end.div_ceil(1_000))
        .map(manager)
        .collect::<anyhow::Result<_>>()?;
    let employees: Vec<User> = (start.div_ceil(100)..end.div_ceil(100))
        .map(employee)
        .collect::<anyhow::Result<_>>()?;
    for u in managers.iter().chain(&employees) {
        change.writes.push(Write::PutUser {
            user: u.clone(),
            password_hash: None,
            expected_version: None,
        });
    }
    for n in start..end {
        let owner = employee(n / 100)?;
        let approver = manager(n / 1_000)?;
        let state = match n % 20 {
            0..=15 => ReportState::Paid,
            16 => ReportState::PendingFinance,
            17 => ReportState::PendingManager,
            _ => ReportState::Draft,
        };
        let line = Line {
            manager: &approver,
            finance: &demo.finance,
            payer: &demo.payer,
        };
        change
            .writes
            .extend(report(&owner, &line, state, n, &demo.policy)?);
    }
    Ok(change)
}

/// Who decides a generated report's steps.
struct Line<'a> {
    manager: &'a User,
    finance: &'a User,
    payer: &'a User,
}

/// A generated user's id, the same in every chunk: `kind` (1 a manager, 2 an employee) and
/// their number, as a version 8 (custom) UUID.
fn user_id(kind: u8, n: u64) -> UserId {
    let mut bytes = [0u8; 16];
    bytes[0] = kind;
    bytes[8..].copy_from_slice(&n.to_be_bytes());
    UserId::from_uuid(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

fn manager(m: u64) -> anyhow::Result<User> {
    user(
        user_id(1, m),
        &format!("manager{m}"),
        &[Role::Manager],
        None,
    )
}

fn employee(e: u64) -> anyhow::Result<User> {
    user(
        user_id(2, e),
        &format!("employee{e}"),
        &[],
        Some(user_id(1, e / 10)),
    )
}

fn user(id: UserId, name: &str, roles: &[Role], manager: Option<UserId>) -> anyhow::Result<User> {
    Ok(User {
        id,
        email: Email::parse(&format!("{name}@bench.example.com"))?,
        name: format!("Bench {name}"),
        roles: outlay_domain::user::normalise_roles(roles.iter().copied()),
        manager_id: manager,
        active: true,
        version: 1,
        controllers: BTreeSet::new(),
        signed_out_at: None,
        time_zone: None,
        delegation: None,
        home_cost_centre: None,
    })
}

/// The `n`th expense of `owner`, in the base currency, on a day of the last 60.
fn expense(owner: &User, n: u64, policy: &Policy) -> anyhow::Result<Expense> {
    let now = Utc::now();
    let amount = Money::from_minor(1_000 + (n % 9_000) as i64, policy.base_currency)?;
    let date = (now - Duration::days((n % 60) as i64)).date_naive();
    let category = policy
        .categories
        .first()
        .map(|c| c.name.clone())
        .context("the policy has no category")?;
    Ok(Expense {
        id: ExpenseId::from_uuid(uuid::Uuid::now_v7()),
        owner_id: owner.id,
        details: ExpenseDetails::new(
            date,
            &format!("Bench Merchant {}", n % 50),
            &category,
            "generated for the list benchmark",
            amount,
        )?,
        base_amount: Some(amount),
        exchange_rate: None,
        report_id: None,
        justification: None,
        rejection: None,
        allocation: None,
        claim: None,
        tax: None,
        draft: false,
        version: 1,
        created_at: now,
        updated_at: now,
    })
}

/// A report of `owner` with one expense, walked by the workflow to `state`: its writes.
fn report(
    owner: &User,
    line: &Line<'_>,
    state: ReportState,
    n: u64,
    policy: &Policy,
) -> anyhow::Result<[Write; 2]> {
    let now = Utc::now();
    let id = ReportId::from_uuid(uuid::Uuid::now_v7());
    let mut expense = expense(owner, n, policy)?;
    expense.report_id = Some(id);
    let draft = Report::draft(
        id,
        owner.id,
        format!("Trip {n}"),
        "generated for the list benchmark".into(),
        expense.base_amount,
        now,
    );
    let route = Route {
        manager: Some(Approver::of(line.manager)),
        senior: None,
        total: expense.base_amount.context("a base amount")?,
        senior_threshold: policy.senior_threshold,
        rules: vec![],
        policy_version: 1,
    };
    let mut steps: Vec<(&User, Command)> = Vec::new();
    if state != ReportState::Draft {
        steps.push((owner, Command::Submit(route)));
    }
    if matches!(state, ReportState::PendingFinance | ReportState::Paid) {
        steps.push((line.manager, Command::Approve { comment: None }));
    }
    if state == ReportState::Paid {
        steps.push((line.finance, Command::Approve { comment: None }));
        steps.push((
            line.payer,
            Command::Pay {
                reference: format!("BENCH-{n}"),
            },
        ));
    }
    let mut report = draft;
    for (actor, command) in steps {
        report = decide(actor, owner, &report, command, now)
            .map_err(|refusal| anyhow::anyhow!("the workflow refused the seed: {refusal}"))?;
    }
    if report.state != state {
        bail!(
            "the seed walked a report to {} instead of {state}",
            report.state
        );
    }
    Ok([
        Write::PutReport {
            report,
            expected_version: None,
        },
        Write::PutExpense {
            expense,
            expected_version: None,
        },
    ])
}

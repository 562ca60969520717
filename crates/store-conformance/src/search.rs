//! Searches: every store finds what `ListFilter::matches` says, in the order asked, across
//! pages, whatever it does inside (SQL, or the default walk in memory).

use outlay_app::lists::{ExpenseScope, ExpenseSearch, ListFilter, Listed, ReportSearch, Sort};

use crate::fixtures::*;
use crate::prelude::*;

/// Every item of a search, two a page.
async fn walk<T, F, Fut>(mut page: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = outlay_app::StoreResult<outlay_app::Page<T>>>,
{
    let mut req = PageRequest {
        limit: 2,
        cursor: None,
    };
    let mut out = Vec::new();
    loop {
        let p = page(req.clone()).await.expect("a page");
        assert!(p.items.len() <= 2);
        out.extend(p.items);
        match p.next_cursor {
            Some(c) => req.cursor = Some(c),
            None => return out,
        }
    }
}

/// The filters every search is tried with.
fn filters() -> Vec<ListFilter> {
    let day = |d: i64| at(d * 86_400).date_naive();
    vec![
        ListFilter::default(),
        ListFilter {
            q: Some("hotel".into()),
            ..ListFilter::default()
        },
        ListFilter {
            q: Some("ada".into()),
            ..ListFilter::default()
        },
        ListFilter {
            q: Some("50%".into()),
            ..ListFilter::default()
        },
        // Case is folded for ASCII letters only, alike in every store.
        ListFilter {
            q: Some("café".into()),
            ..ListFilter::default()
        },
        ListFilter {
            q: Some("élodie".into()),
            ..ListFilter::default()
        },
        ListFilter {
            from: Some(day(2)),
            to: Some(day(5)),
            ..ListFilter::default()
        },
        ListFilter {
            category: Some("travel".into()),
            min_minor: Some(2_000),
            ..ListFilter::default()
        },
        ListFilter {
            max_minor: Some(3_000),
            owner_id: Some(uid(1)),
            ..ListFilter::default()
        },
    ]
}

const SORTS: [Sort; 5] = [
    Sort::Natural,
    Sort::DateAsc,
    Sort::DateDesc,
    Sort::AmountAsc,
    Sort::AmountDesc,
];

/// Searches answer as the one statement says, in the order asked, page after page: the
/// owner's expenses, finance's view of submitted expenses, and every scope of reports.
pub async fn searches_find_what_the_filter_says_in_the_order_asked(store: Fresh) {
    let s: &dyn Store = store.as_ref();
    let mut ada = user(1, &[Role::Manager], None);
    ada.name = "Ada Lovelace".into();
    let mut bob = user(2, &[], Some(1));
    bob.name = "Bob Hotel".into();
    let fin = user(3, &[Role::Finance], None);
    for u in [&ada, &bob, &fin] {
        commit(s, put_user(u)).await;
    }
    // Expenses of both, on different days, amounts, categories and words; one without a base
    // amount.
    let specs: [(u128, u128, &str, &str, i64, &str); 9] = [
        (101, 1, "Grand Hotel", "travel", 1, "25.00"),
        (102, 1, "50% Off Store", "office", 2, "9.99"),
        (103, 2, "Cafe", "meals", 3, "12.50"),
        (104, 2, "hotel bar", "meals", 4, "30.00"),
        (105, 1, "Airline", "travel", 5, "250.00"),
        (106, 2, "Taxi", "travel", 6, "20.00"),
        (107, 1, "Books", "office", 3, "30.00"),
        (108, 2, "Train", "travel", 2, "45.00"),
        (109, 2, "Café Élodie", "meals", 5, "7.00"),
    ];
    let mut expenses = Vec::new();
    for (n, owner, merchant, category, days, amount) in specs {
        let mut e = expense(n, owner);
        e.details = ExpenseDetails::new(
            at(days * 86_400).date_naive(),
            merchant,
            category,
            "for the team",
            usd(amount),
        )
        .expect("valid");
        e.base_amount = (n != 106).then(|| usd(amount));
        expenses.push(e);
    }
    // Reports: Ada's draft (101, 102), Ada's submitted (105, 107) waiting for finance, Bob's
    // submitted (103, 104) waiting for Ada, Bob's paid (108).
    let mut reports = Vec::new();
    for (n, owner, state, title, members, days) in [
        (
            201_u128,
            1_u128,
            ReportState::Draft,
            "Hotel draft",
            &[101_u128, 102][..],
            1_i64,
        ),
        (
            202,
            1,
            ReportState::PendingFinance,
            "Flights",
            &[105, 107],
            5,
        ),
        (
            203,
            2,
            ReportState::PendingManager,
            "Team lunch",
            &[103, 104],
            4,
        ),
        (204, 2, ReportState::Paid, "Train home", &[108], 2),
    ] {
        let mut r = report(n, owner, state, days * 86_400);
        r.title = title.into();
        r.purpose = "customer visit".into();
        let mine: Vec<&mut Expense> = expenses
            .iter_mut()
            .filter(|e| members.contains(&e.id.as_uuid().as_u128()))
            .collect();
        let mut total = 0;
        for e in mine {
            e.report_id = Some(r.id);
            total += e.base_amount.map_or(0, |m| m.minor());
        }
        r.total = Money::from_minor(total, usd("1.00").currency()).ok();
        if state == ReportState::PendingManager {
            r.steps = vec![Step::new(Level::Manager, Some(uid(1)), "")];
        }
        if state == ReportState::PendingFinance {
            r.steps = vec![Step::new(Level::Finance, None, "")];
        }
        reports.push(r);
    }
    let mut change = Change::default();
    for r in &reports {
        change.writes.push(Write::PutReport {
            report: r.clone(),
            expected_version: None,
        });
    }
    for e in &expenses {
        change.writes.push(Write::PutExpense {
            expense: e.clone(),
            expected_version: None,
        });
    }
    change.audit.push(audit("report.seed", "all"));
    commit(s, change).await;

    let name = |id: UserId| {
        [&ada, &bob, &fin]
            .into_iter()
            .find(|u| u.id == id)
            .map_or(String::new(), |u| u.name.clone())
    };
    for filter in filters() {
        for sort in SORTS {
            for (scope, reported) in [
                (ExpenseScope::Owner(uid(1)), None),
                (ExpenseScope::Owner(uid(2)), Some(true)),
                (ExpenseScope::Owner(uid(1)), Some(false)),
                (ExpenseScope::Submitted, None),
            ] {
                let search = ExpenseSearch {
                    scope,
                    reported,
                    filter: filter.clone(),
                    sort,
                };
                let search = &search;
                let got: Vec<ExpenseId> =
                    walk(|p| async move { s.find_expenses(search, &p).await })
                        .await
                        .iter()
                        .map(|e| e.id)
                        .collect();
                let submitted: Vec<ReportId> = reports
                    .iter()
                    .filter(|r| r.state != ReportState::Draft)
                    .map(|r| r.id)
                    .collect();
                let mut want: Vec<&Expense> = expenses
                    .iter()
                    .filter(|e| match scope {
                        ExpenseScope::Owner(o) => e.owner_id == o,
                        ExpenseScope::Submitted => {
                            e.report_id.is_some_and(|r| submitted.contains(&r))
                        }
                    })
                    .filter(|e| reported.is_none_or(|r| e.report_id.is_some() == r))
                    .filter(|e| filter.matches(&Listed::expense(e, &name(e.owner_id))))
                    .collect();
                order(&mut want, sort, |e| {
                    (
                        e.details.date(),
                        e.base_amount.map(|m| m.minor()),
                        e.id.to_string(),
                    )
                });
                let want: Vec<ExpenseId> = want.iter().map(|e| e.id).collect();
                assert_eq!(
                    got, want,
                    "expenses {scope:?} {reported:?} {filter:?} {sort:?}"
                );
            }
            for (scope, visible) in [
                (ReportScope::Mine(uid(1)), vec![201, 202]),
                (ReportScope::All, vec![202, 203, 204]),
                (
                    ReportScope::Approvals {
                        user: uid(1),
                        shared: vec![],
                    },
                    vec![203],
                ),
                (
                    ReportScope::Approvals {
                        user: uid(3),
                        shared: vec![outlay_domain::access::Queue::Finance],
                    },
                    vec![202],
                ),
            ] {
                let search = ReportSearch {
                    query: ReportQuery {
                        scope: scope.clone(),
                        state: None,
                    },
                    filter: filter.clone(),
                    sort,
                };
                let search = &search;
                let got: Vec<ReportId> = walk(|p| async move { s.find_reports(search, &p).await })
                    .await
                    .iter()
                    .map(|r| r.id)
                    .collect();
                let mut want: Vec<&Report> = reports
                    .iter()
                    .filter(|r| visible.contains(&r.id.as_uuid().as_u128()))
                    .filter(|r| {
                        let categories: Vec<&str> = expenses
                            .iter()
                            .filter(|e| e.report_id == Some(r.id))
                            .map(|e| e.details.category())
                            .collect();
                        filter.matches(&Listed::report(r, &name(r.owner_id), categories))
                    })
                    .collect();
                if sort == Sort::Natural && matches!(scope, ReportScope::Approvals { .. }) {
                    want.sort_by_key(|r| (r.submitted_at, r.id));
                } else {
                    order(&mut want, sort, |r| {
                        (
                            outlay_app::lists::report_day(r),
                            r.total.map(|m| m.minor()),
                            r.id.to_string(),
                        )
                    });
                }
                let want: Vec<ReportId> = want.iter().map(|r| r.id).collect();
                assert_eq!(got, want, "reports {scope:?} {filter:?} {sort:?}");
            }
        }
    }
}

/// Orders `items` as `sort` says, the natural order being newest (largest id) first.
fn order<T>(
    items: &mut [&T],
    sort: Sort,
    key: impl Fn(&T) -> (chrono::NaiveDate, Option<i64>, String),
) {
    items.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        match sort {
            Sort::Natural => kb.2.cmp(&ka.2),
            Sort::DateAsc => (ka.0, &ka.2).cmp(&(kb.0, &kb.2)),
            Sort::DateDesc => (kb.0, &kb.2).cmp(&(ka.0, &ka.2)),
            Sort::AmountAsc => (ka.1, &ka.2).cmp(&(kb.1, &kb.2)),
            Sort::AmountDesc => (kb.1, &kb.2).cmp(&(ka.1, &ka.2)),
        }
    });
}

//! Searching the lists: `GET /expenses` and `GET /reports` narrowed by text, days, category,
//! state, employee and amount, ordered by day or amount, and paged, each answer checked against
//! what the test itself computes from the items it made.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, days_ago, spawn_app};

/// Every item of a list, walking its pages `limit` at a time.
async fn walk(app: &TestApp, who: &str, path: &str, limit: u32) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            None => format!("{path}{sep}limit={limit}"),
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
        };
        let r = app.get(who, &url).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {:?}", r.body);
        let items = r.body["items"].as_array().expect("items").clone();
        assert!(items.len() <= limit as usize);
        out.extend(items);
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// An expense as made here: id, merchant, category, days ago, amount in cents.
struct Made {
    id: String,
    merchant: &'static str,
    category: &'static str,
    days_ago: i64,
    cents: i64,
}

#[tokio::test]
async fn expense_searches_narrow_order_and_page_as_asked() {
    let app = spawn_app().await;
    let specs: [(&str, &str, i64, i64); 9] = [
        ("Hilton Berlin", "travel", 3, 5_000),
        ("hilton garden", "travel", 10, 1_250),
        ("Pret A Manger", "meals", 1, 899),
        ("50% Off Store", "office", 2, 4_000),
        ("500 Office Supplies", "office", 20, 7_400),
        ("Uber", "travel", 5, 1_250),
        ("Blue Bottle", "meals", 30, 450),
        ("GitHub", "software", 8, 2_100),
        ("Staples", "office", 15, 6_000),
    ];
    let mut made = vec![];
    for (merchant, category, ago, cents) in specs {
        let r = app
            .post(
                "employee",
                "/api/v1/expenses",
                json!({"date": days_ago(ago), "merchant": merchant, "category": category,
                       "amount": format!("{}.{:02}", cents / 100, cents % 100), "currency": "USD",
                       "description": format!("{category} spend")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        made.push(Made {
            id: r.body["id"].as_str().expect("an id").to_owned(),
            merchant,
            category,
            days_ago: ago,
            cents,
        });
    }
    // Another employee's expense never shows in Eve's list.
    let other = app
        .post(
            "manager",
            "/api/v1/expenses",
            json!({"date": days_ago(1), "merchant": "Hilton Paris", "category": "travel",
                   "amount": "20.00", "currency": "USD"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED);

    let expect = |keep: &dyn Fn(&Made) -> bool| -> Vec<String> {
        // Newest first: the ids are time-ordered, so the last made comes first.
        made.iter()
            .rev()
            .filter(|m| keep(m))
            .map(|m| m.id.clone())
            .collect()
    };
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            "q=HILTON".into(),
            expect(&|m| m.merchant.to_lowercase().contains("hilton")),
        ),
        // `%` is a character like any other, not a wildcard.
        ("q=50%25".into(), expect(&|m| m.merchant.contains("50%"))),
        // The owner's name is searched too.
        ("q=eve%20employee".into(), expect(&|_| true)),
        ("q=meals%20spend".into(), expect(&|m| m.category == "meals")),
        (
            "category=office".into(),
            expect(&|m| m.category == "office"),
        ),
        (
            format!("from={}&to={}", days_ago(10), days_ago(3)),
            expect(&|m| (3..=10).contains(&m.days_ago)),
        ),
        (
            "min_amount=12.50&max_amount=50".into(),
            expect(&|m| (1_250..=5_000).contains(&m.cents)),
        ),
        (
            "category=travel&max_amount=12.5&q=u".into(),
            expect(&|m| {
                m.category == "travel"
                    && m.cents <= 1_250
                    && m.merchant.to_lowercase().contains('u')
            }),
        ),
    ];
    for (query, expected) in &cases {
        let got = ids(&walk(&app, "employee", &format!("/api/v1/expenses?{query}"), 2).await);
        assert_eq!(&got, expected, "{query}");
    }

    // Orders: by day and by amount, either way, ties by id, across pages of two.
    let by = |key: &dyn Fn(&Made) -> (i64, String), desc: bool| -> Vec<String> {
        let mut v: Vec<(i64, String)> = made.iter().map(key).collect();
        v.sort();
        if desc {
            v.reverse();
        }
        v.into_iter().map(|(_, id)| id).collect()
    };
    let day = |m: &Made| (-m.days_ago, m.id.clone());
    let amount = |m: &Made| (m.cents, m.id.clone());
    for (sort, expected) in [
        ("date", by(&day, false)),
        ("-date", by(&day, true)),
        ("amount", by(&amount, false)),
        ("-amount", by(&amount, true)),
    ] {
        let got = ids(&walk(
            &app,
            "employee",
            &format!("/api/v1/expenses?sort={sort}"),
            2,
        )
        .await);
        assert_eq!(got, expected, "sort={sort}");
    }

    // In a report or not.
    let in_report = [made[0].id.clone(), made[2].id.clone()];
    let r = app
        .post(
            "employee",
            "/api/v1/reports",
            json!({"title": "Berlin", "purpose": "", "expense_ids": in_report}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let report = r.body["id"].as_str().expect("an id").to_owned();
    let reported = ids(&walk(&app, "employee", "/api/v1/expenses?state=reported", 5).await);
    assert_eq!(reported, expect(&|m| in_report.contains(&m.id)));
    let loose = ids(&walk(&app, "employee", "/api/v1/expenses?state=unreported", 5).await);
    assert_eq!(loose, expect(&|m| !in_report.contains(&m.id)));

    // Bad parameters are refused with a reason; finance's scope is finance's.
    for (query, needle) in [
        ("from=2026-02-30", "from must be a date"),
        ("to=", "to must not be empty"),
        ("min_amount=-1", "min_amount"),
        ("sort=price", "sort"),
        ("state=paid", "state"),
        ("owner_id=nobody", "owner_id"),
        ("scope=team", "scope"),
        ("colour=red", "colour"),
    ] {
        let r = app
            .get("employee", &format!("/api/v1/expenses?{query}"))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {:?}", r.body);
        assert!(r.message().contains(needle), "{query}: {}", r.message());
    }
    // Well-formed but crossed bounds: 422.
    for (query, needle) in [
        ("from=2026-02-02&to=2026-02-01", "from must not be after to"),
        (
            "min_amount=5&max_amount=4",
            "min_amount must not be above max_amount",
        ),
    ] {
        let r = app
            .get("employee", &format!("/api/v1/expenses?{query}"))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {:?}",
            r.body
        );
        assert!(r.message().contains(needle), "{query}: {}", r.message());
    }
    let q = "x".repeat(101);
    let r = app
        .get("employee", &format!("/api/v1/expenses?q={q}"))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app.get("employee", "/api/v1/expenses?scope=all").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Finance sees the expenses of submitted reports only: none while the report is a draft.
    let r = app
        .get("finance", "/api/v1/expenses?scope=all&q=berlin")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["items"], json!([]));
    app.must("employee", &report, "submit", json!({})).await;
    let eve = app.user_id("employee").await;
    let got = ids(&walk(
        &app,
        "finance",
        &format!("/api/v1/expenses?scope=all&owner_id={eve}"),
        1,
    )
    .await);
    let mut expected = in_report.to_vec();
    expected.sort();
    expected.reverse();
    assert_eq!(got, expected);
}

/// Creates a report of `who`'s titled `title` from new expenses of `amounts` (USD, travel,
/// `days` ago); answers its id.
async fn report(app: &TestApp, who: &str, title: &str, category: &str, amounts: &[&str]) -> String {
    let mut ids = vec![];
    for a in amounts {
        let r = app
            .post(
                who,
                "/api/v1/expenses",
                json!({"date": days_ago(2), "merchant": "Somewhere", "category": category,
                       "amount": a, "currency": "USD"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        ids.push(r.body["id"].as_str().expect("an id").to_owned());
    }
    let r = app
        .post(
            who,
            "/api/v1/reports",
            json!({"title": title, "purpose": "Customer visit", "expense_ids": ids}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn report_searches_narrow_every_scope_and_finance_exports_what_it_found() {
    let app = spawn_app().await;
    let offsite = report(
        &app,
        "employee",
        "Berlin offsite",
        "travel",
        &["20.00", "30.00"],
    )
    .await;
    let dinner = report(&app, "employee", "Client dinner", "meals", &["60.00"]).await;
    let draft = report(&app, "employee", "Berlin follow-up", "travel", &["5.00"]).await;
    let mia = report(
        &app,
        "manager",
        "Berlin board meeting",
        "travel",
        &["40.00"],
    )
    .await;
    for (who, id) in [
        ("employee", &offsite),
        ("employee", &dinner),
        ("manager", &mia),
    ] {
        app.must(who, id, "submit", json!({})).await;
    }
    app.must("manager", &dinner, "approve", json!({})).await;

    // The owner's own list: drafts included, narrowed and ordered.
    let mine = ids(&walk(&app, "employee", "/api/v1/reports?q=BERLIN", 1).await);
    assert_eq!(mine, vec![draft.clone(), offsite.clone()]);
    let mine = ids(&walk(&app, "employee", "/api/v1/reports?sort=-amount", 2).await);
    assert_eq!(mine, vec![dinner.clone(), offsite.clone(), draft.clone()]);
    let mine = ids(&walk(&app, "employee", "/api/v1/reports?category=meals", 2).await);
    assert_eq!(mine, vec![dinner.clone()]);
    let mine = ids(&walk(&app, "employee", "/api/v1/reports?state=draft", 2).await);
    assert_eq!(mine, vec![draft.clone()]);

    // Mia's queue, searched by the employee's name.
    let queue = ids(&walk(&app, "manager", "/api/v1/reports?scope=approvals&q=eve", 1).await);
    assert_eq!(queue, vec![offsite.clone()]);
    let eve = app.user_id("employee").await;
    let queue = ids(&walk(
        &app,
        "senior",
        &format!("/api/v1/reports?scope=approvals&owner_id={eve}"),
        1,
    )
    .await);
    assert!(queue.is_empty(), "{queue:?}");

    // Finance: every submitted report (no drafts), by any filter.
    let all = ids(&walk(&app, "finance", "/api/v1/reports?scope=all&q=berlin", 1).await);
    assert_eq!(all, vec![mia.clone(), offsite.clone()]);
    let all = ids(&walk(
        &app,
        "finance",
        &format!("/api/v1/reports?scope=all&owner_id={eve}&sort=amount"),
        1,
    )
    .await);
    assert_eq!(all, vec![offsite.clone(), dinner.clone()]);
    let all = ids(&walk(
        &app,
        "finance",
        "/api/v1/reports?scope=all&min_amount=45&max_amount=60",
        1,
    )
    .await);
    assert_eq!(all, vec![dinner.clone(), offsite.clone()]);
    let today = days_ago(0);
    let all = ids(&walk(
        &app,
        "finance",
        &format!("/api/v1/reports?scope=all&from={today}&state=pending_finance"),
        1,
    )
    .await);
    assert_eq!(all, vec![dinner.clone()]);
    let r = app
        .get("employee", "/api/v1/reports?scope=all&q=berlin")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .get("finance", "/api/v1/reports?scope=all&sort=title")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // A cursor belongs to its search: a made-up one is refused.
    let r = app
        .get(
            "finance",
            "/api/v1/reports?scope=all&sort=amount&cursor=7a7a",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);

    // The CSV export holds exactly the reports the search finds.
    crate::local_only!("the local sign-in form; AWS signs in on Cognito's hosted UI");
    let (_, finance) = app
        .form_login("finance@example.com", outlay_bootstrap::DEMO_PASSWORD, &[])
        .await;
    let csv = app
        .page(
            "/reports.csv?q=berlin",
            &finance.expect("a finance session"),
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let text = csv.body.as_str().expect("text").to_owned();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(
        rows.iter().any(|r| r.starts_with(&mia)) && rows.iter().any(|r| r.starts_with(&offsite)),
        "{text}"
    );
}

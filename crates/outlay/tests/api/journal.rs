//! The accounting journal: the ledger accounts finance keeps, a period's entries that each
//! balance, and files for Xero, QuickBooks Online and DATEV that balance as the journal does.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, days_ago, spawn_app};

/// Cents of a decimal amount ("12.34", "-0.50", "12,34").
fn cents(s: &str) -> i64 {
    let s = s.replace(',', ".");
    let negative = s.starts_with('-');
    let (whole, frac) = s
        .trim_start_matches('-')
        .split_once('.')
        .unwrap_or((&s, "0"));
    let value = whole.parse::<i64>().expect("a whole part") * 100
        + format!("{frac:0<2}").parse::<i64>().expect("a fraction");
    if negative { -value } else { value }
}

/// A report of Eve's, rail at 19 % tax (travel: reclaimable) and a meal, approved by Mia and
/// Fay, then paid by hand by Pat.
async fn approved_and_paid(app: &TestApp) -> String {
    let mut ids = vec![];
    for body in [
        json!({"date": days_ago(1), "merchant": "Rail", "category": "travel",
               "amount": "59.50", "currency": "USD", "tax_rate": "19"}),
        json!({"date": days_ago(1), "merchant": "Bistro", "category": "meals",
               "amount": "40.00", "currency": "USD"}),
    ] {
        let r = app.post("employee", "/api/v1/expenses", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        ids.push(r.body["id"].clone());
    }
    let r = app
        .post(
            "employee",
            "/api/v1/reports",
            json!({"title": "Berlin", "expense_ids": ids}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().expect("an id").to_owned();
    app.must("employee", &id, "submit", json!({})).await;
    app.must("manager", &id, "approve", json!({})).await;
    app.must("finance", &id, "approve", json!({})).await;
    assert_eq!(
        app.must("payer", &id, "pay", json!({"reference": "TX-77"}))
            .await,
        "paid"
    );
    id
}

async fn put_ledger(app: &TestApp, who: &str, body: Value) -> crate::helpers::Resp {
    app.call(Method::PUT, "/api/v1/ledger", Some(who), Some(body), &[])
        .await
}

fn ledger() -> Value {
    let account = |code: &str, name: &str| json!({"code": code, "name": name});
    json!({
        "accounts": {
            "by_category": {"travel": account("4670", "Travel costs")},
            "expense": account("4900", "Other operating expenses"),
            "input_tax": account("1576", "Input tax 19%"),
            "payables": account("1740", "Payables to employees"),
            "bank": account("1200", "Bank"),
            "advances": account("1530", "Advances to employees"),
        },
        "xero_tax_rate": "Tax Exempt",
        "datev": {"consultant": 1001, "client": 1, "fiscal_year_start_month": 1, "chart": "03"},
    })
}

async fn file(app: &TestApp, query: &str) -> (StatusCode, Vec<u8>, String) {
    let r = app
        .call(
            Method::GET,
            &format!("/api/v1/journal?{query}"),
            Some("finance"),
            None,
            &[],
        )
        .await;
    let kind = r
        .headers
        .get("content-type")
        .map(|v| v.to_str().expect("ASCII").to_owned())
        .unwrap_or_default();
    let bytes = match &r.body {
        Value::String(s) => s.as_bytes().to_vec(),
        other => other.to_string().into_bytes(),
    };
    (r.status, bytes, kind)
}

/// Sums a column per key over CSV rows.
fn sums(
    text: &str,
    key: &str,
    value: impl Fn(&csv::StringRecord, &csv::StringRecord) -> i64,
) -> BTreeMap<String, i64> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("a header").clone();
    let at = headers
        .iter()
        .position(|h| h == key)
        .expect("the key column");
    let mut out = BTreeMap::new();
    for row in reader.records() {
        let row = row.expect("a row");
        *out.entry(row[at].to_owned()).or_insert(0) += value(&headers, &row);
    }
    out
}

fn column<'a>(headers: &csv::StringRecord, row: &'a csv::StringRecord, name: &str) -> &'a str {
    let at = headers.iter().position(|h| h == name).expect("the column");
    &row[at]
}

#[tokio::test]
async fn the_journal_posts_a_periods_approvals_and_payments_and_every_export_balances() {
    let app = spawn_app().await;
    let put = put_ledger(&app, "finance", ledger()).await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
    let id = approved_and_paid(&app).await;
    let period = format!("from={}&to={}", days_ago(2), days_ago(-2));

    let j = app
        .get("finance", &format!("/api/v1/journal?{period}"))
        .await;
    assert_eq!(j.status, StatusCode::OK, "{:?}", j.body);
    let entries = j.body["entries"].as_array().expect("entries");
    let short = &id.replace('-', "")[..16];
    let mine: Vec<&Value> = entries
        .iter()
        .filter(|e| {
            e["reference"]
                .as_str()
                .expect("a reference")
                .starts_with(short)
        })
        .collect();
    assert_eq!(mine.len(), 2, "accrued and paid: {mine:#?}");
    let mut debits = 0;
    for e in &entries[..] {
        let lines = e["lines"].as_array().expect("lines");
        let debit: i64 = lines
            .iter()
            .map(|l| cents(l["debit"].as_str().expect("a debit")))
            .sum();
        let credit: i64 = lines
            .iter()
            .map(|l| cents(l["credit"].as_str().expect("a credit")))
            .sum();
        assert_eq!(debit, credit, "{e:#?}");
        debits += debit;
    }
    assert_eq!(cents(j.body["total"].as_str().expect("a total")), debits);
    // The accrual: rail net 50.00 on travel's account, 9.50 input tax, the meal's 40.00 on
    // the other expenses' account, 99.50 owed to Eve.
    let accrual = mine
        .iter()
        .find(|e| e["reference"].as_str().expect("ref").ends_with("-A"))
        .expect("the accrual");
    let by_account: BTreeMap<String, (i64, i64)> = accrual["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .fold(BTreeMap::new(), |mut m, l| {
            let e = m
                .entry(l["account_code"].as_str().expect("a code").to_owned())
                .or_insert((0, 0));
            e.0 += cents(l["debit"].as_str().expect("debit"));
            e.1 += cents(l["credit"].as_str().expect("credit"));
            m
        });
    assert_eq!(by_account.get("4670"), Some(&(5000, 0)), "{by_account:?}");
    assert_eq!(by_account.get("1576"), Some(&(950, 0)));
    assert_eq!(by_account.get("4900"), Some(&(4000, 0)));
    assert_eq!(by_account.get("1740"), Some(&(0, 9950)));
    let paid = mine
        .iter()
        .find(|e| e["reference"].as_str().expect("ref").ends_with("-P"))
        .expect("the payment");
    assert!(
        paid["narration"]
            .as_str()
            .expect("narration")
            .contains("TX-77")
    );

    // Outside the period, nothing.
    let before = app
        .get(
            "finance",
            &format!("/api/v1/journal?from={}&to={}", days_ago(30), days_ago(20)),
        )
        .await;
    assert_eq!(before.body["entries"], json!([]), "{:?}", before.body);

    // Xero: a journal per narration, summing to zero; debits positive.
    let (status, xero, kind) = file(&app, &format!("{period}&format=xero")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/csv"), "{kind}");
    let xero = String::from_utf8(xero).expect("UTF-8");
    let journals = sums(&xero, "*Narration", |h, r| cents(column(h, r, "*Amount")));
    assert_eq!(journals.len(), entries.len(), "{xero}");
    assert!(journals.values().all(|s| *s == 0), "{journals:?}");
    assert!(xero.contains(",Tax Exempt,"), "{xero}");
    // QuickBooks Online: a journal per number, debits equal credits, accounts by name.
    let (status, qbo, _) = file(&app, &format!("{period}&format=qbo")).await;
    assert_eq!(status, StatusCode::OK);
    let qbo = String::from_utf8(qbo).expect("UTF-8");
    let journals = sums(&qbo, "Journal No", |h, r| {
        let side = |c: &str| match column(h, r, c) {
            "" => 0,
            v => cents(v),
        };
        side("Debits") - side("Credits")
    });
    assert_eq!(journals.len(), entries.len());
    assert!(journals.values().all(|s| *s == 0), "{journals:?}");
    assert!(qbo.contains("Travel costs"), "{qbo}");
    // The plain CSV: per reference, debits equal credits.
    let (status, plain, _) = file(&app, &format!("{period}&format=csv")).await;
    assert_eq!(status, StatusCode::OK);
    let plain = String::from_utf8(plain).expect("UTF-8");
    let journals = sums(&plain, "reference", |h, r| {
        cents(column(h, r, "debit")) - cents(column(h, r, "credit"))
    });
    assert!(journals.values().all(|s| *s == 0), "{journals:?}");
    // DATEV: the EXTF header, 125 columns a booking, and the bookings add up to the debits.
    let (status, datev, kind) = file(&app, &format!("{period}&format=datev")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&datev)
    );
    assert_eq!(kind, "text/csv; charset=windows-1252");
    let text = String::from_utf8_lossy(&datev).into_owned();
    let rows: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(
        rows[0].starts_with("\"EXTF\";700;21;\"Buchungsstapel\";13;"),
        "{}",
        rows[0]
    );
    assert_eq!(rows[0].split(';').count(), 31);
    let mut umsatz = 0;
    for row in &rows[2..] {
        let fields: Vec<&str> = row.split(';').collect();
        assert_eq!(fields.len(), 125, "{row}");
        umsatz += cents(fields[0]);
    }
    assert_eq!(umsatz, debits, "{text}");

    // DATEV needs its numbers.
    let mut without = ledger();
    without.as_object_mut().expect("an object").remove("datev");
    let put = put_ledger(&app, "finance", without).await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
    let (status, body, _) = file(&app, &format!("{period}&format=datev")).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        String::from_utf8_lossy(&body)
    );
}

#[tokio::test]
async fn only_finance_keeps_the_ledger_and_reads_the_journal_and_bad_periods_are_refused() {
    let app = spawn_app().await;
    for who in ["employee", "manager", "admin"] {
        assert_eq!(
            app.get(who, "/api/v1/ledger").await.status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
        let put = put_ledger(&app, who, ledger()).await;
        assert_eq!(put.status, StatusCode::FORBIDDEN, "{who}");
        let j = app
            .get(
                who,
                &format!("/api/v1/journal?from={}&to={}", days_ago(1), days_ago(0)),
            )
            .await;
        assert_eq!(j.status, StatusCode::FORBIDDEN, "{who}");
    }
    let default = app.get("finance", "/api/v1/ledger").await;
    assert_eq!(default.status, StatusCode::OK);
    assert_eq!(default.body["accounts"]["payables"]["code"], "1740");

    let mut unknown = ledger();
    unknown["accounts"]["by_category"]["yachts"] = json!({"code": "4999", "name": "Yachts"});
    let mut blank = ledger();
    blank["accounts"]["bank"]["code"] = json!("");
    let mut consultant = ledger();
    consultant["datev"]["consultant"] = json!(12);
    for (body, what) in [
        (unknown, "a category the policy lacks"),
        (blank, "an account without a code"),
        (consultant, "a consultant number out of range"),
        (json!({"accounts": 1}), "not a ledger"),
    ] {
        let r = put_ledger(&app, "finance", body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {:?}",
            r.body
        );
    }
    // Saving the rest of the policy keeps the ledger.
    let put = put_ledger(&app, "finance", ledger()).await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
    let mut policy = app.get("finance", "/api/v1/policy").await.body;
    policy.as_object_mut().expect("an object").remove("ledger");
    policy.as_object_mut().expect("an object").remove("version");
    let r = app
        .call(
            Method::PUT,
            "/api/v1/policy",
            Some("finance"),
            Some(policy),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let kept = app.get("finance", "/api/v1/ledger").await;
    assert_eq!(
        kept.body["accounts"]["by_category"]["travel"]["code"],
        "4670"
    );
    // Everyone reads the policy, but only finance its ledger and the company's bank account.
    let seen = app.get("employee", "/api/v1/policy").await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.body.get("ledger").is_none(), "{:?}", seen.body);
    assert!(seen.body.get("paying_account").is_none(), "{:?}", seen.body);
    let seen = app.get("finance", "/api/v1/policy").await;
    assert_eq!(
        seen.body["ledger"]["accounts"]["by_category"]["travel"]["code"],
        "4670"
    );
    // Dropping a category from the policy drops its account with it.
    let mut fewer = seen.body.clone();
    let categories = fewer["categories"].as_array_mut().expect("categories");
    categories.retain(|c| c["name"] != "travel");
    fewer.as_object_mut().expect("an object").remove("version");
    let r = app
        .call(
            Method::PUT,
            "/api/v1/policy",
            Some("finance"),
            Some(fewer),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let kept = app.get("finance", "/api/v1/ledger").await;
    assert!(
        kept.body["accounts"]["by_category"].get("travel").is_none(),
        "{:?}",
        kept.body
    );
    // A code that would start a formula is refused; spaces around a name are taken away.
    let mut sign = ledger();
    sign["accounts"]["bank"]["code"] = json!("-1200");
    let r = put_ledger(&app, "finance", sign).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let mut spaced = ledger();
    spaced["accounts"]["by_category"] = json!({});
    spaced["accounts"]["bank"]["name"] = json!("  Bank  ");
    let r = put_ledger(&app, "finance", spaced).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "trimmed on the way in: {:?}",
        r.body
    );
    assert_eq!(r.body["accounts"]["bank"]["name"], "Bank");

    for (query, what) in [
        (
            format!("from={}&to={}", days_ago(0), days_ago(1)),
            "backwards",
        ),
        ("from=2025-01-01&to=2026-03-01".to_owned(), "over 366 days"),
        ("from=2026-02-30&to=2026-03-01".to_owned(), "not a date"),
        (
            format!("from={}&to={}&format=pdf", days_ago(1), days_ago(0)),
            "an unknown format",
        ),
    ] {
        let r = app
            .get("finance", &format!("/api/v1/journal?{query}"))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {:?}",
            r.body
        );
    }
    let r = app.get("finance", "/api/v1/journal?from=2026-01-01").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "no end: {:?}", r.body);
}

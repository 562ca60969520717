//! The policy, receipts, exchange rates and duplicate detection.

use crate::fixtures::*;
use crate::prelude::*;

/// The policy is absent at first, then what was put.
pub async fn the_policy_round_trips(store: Fresh) {
    let s: &dyn Store = store.as_ref();
    assert_eq!(s.policy().await.expect("read"), None);
    let mut policy = outlay_app::default_policy();
    commit(
        s,
        Change::one(
            Write::PutPolicy(policy.clone()),
            audit("policy.create", "company"),
        ),
    )
    .await;
    assert_eq!(s.policy().await.expect("read"), Some(policy.clone()));
    policy.max_age_days = Some(30);
    commit(
        s,
        Change::one(
            Write::PutPolicy(policy.clone()),
            audit("policy.update", "company"),
        ),
    )
    .await;
    assert_eq!(s.policy().await.expect("read"), Some(policy));
}

/// Receipts by expense, duplicate detection, and rates by nearest earlier day.
pub async fn receipts_rates_and_duplicates(store: Fresh) {
    let s: &dyn Store = store.as_ref();
    commit(s, put_user(&user(1, &[], None))).await;
    let e = expense(30, 1);
    commit(
        s,
        Change::one(
            Write::PutExpense {
                expense: e.clone(),
                expected_version: None,
            },
            audit("expense.create", 30),
        ),
    )
    .await;
    let mut receipt = outlay_domain::Receipt {
        id: outlay_domain::ReceiptId::from_uuid(uuid::Uuid::from_u128(40)),
        expense_id: e.id,
        owner_id: uid(1),
        state: outlay_domain::ReceiptState::Pending,
        content_type: outlay_domain::ReceiptType::Png,
        size: 10,
        sha256: None,
        filename: "r.png".into(),
        created_at: at(1),
    };
    commit(
        s,
        Change::one(
            Write::PutReceipt {
                receipt: receipt.clone(),
                expected: None,
            },
            audit("receipt.attach", 40),
        ),
    )
    .await;
    receipt.state = outlay_domain::ReceiptState::Stored;
    receipt.sha256 = Some("ab".into());
    let complete = Change::one(
        Write::PutReceipt {
            receipt: receipt.clone(),
            expected: Some(outlay_domain::ReceiptState::Pending),
        },
        audit("receipt.attach", 40),
    );
    commit(s, complete.clone()).await;
    // A second completion of the same upload finds it no longer pending.
    conflict(
        s,
        complete,
        "a receipt update based on a state it no longer has",
    )
    .await;
    assert_eq!(
        s.receipt(receipt.id).await.expect("read"),
        Some(receipt.clone())
    );
    assert_eq!(
        s.receipts_of_expense(e.id).await.expect("read"),
        vec![receipt.clone()]
    );
    // A page's receipts at once: in the order asked, repeats and expenses without any included
    let none = ExpenseId::from_uuid(uuid::Uuid::from_u128(99));
    assert_eq!(
        s.receipts_of_expenses(&[none, e.id, e.id])
            .await
            .expect("read"),
        vec![vec![], vec![receipt.clone()], vec![receipt.clone()]]
    );
    assert!(s.receipts_of_expenses(&[]).await.expect("read").is_empty());
    // The receipts of one file: stored ones only, any expense's, oldest first.
    let mut same = receipt.clone();
    same.id = outlay_domain::ReceiptId::from_uuid(uuid::Uuid::from_u128(41));
    let mut waiting = receipt.clone();
    waiting.id = outlay_domain::ReceiptId::from_uuid(uuid::Uuid::from_u128(42));
    waiting.state = outlay_domain::ReceiptState::Pending;
    let mut other = receipt.clone();
    other.id = outlay_domain::ReceiptId::from_uuid(uuid::Uuid::from_u128(43));
    other.sha256 = Some("cd".into());
    for r in [&same, &waiting, &other] {
        commit(
            s,
            Change::one(
                Write::PutReceipt {
                    receipt: r.clone(),
                    expected: None,
                },
                audit("receipt.attach", 40),
            ),
        )
        .await;
    }
    assert_eq!(
        s.receipts_of_file("ab").await.expect("read"),
        vec![receipt.clone(), same.clone()]
    );
    assert!(s.receipts_of_file("ef").await.expect("read").is_empty());
    for r in [&same, &waiting, &other] {
        commit(
            s,
            Change::one(Write::DeleteReceipt(r.id), audit("receipt.delete", 40)),
        )
        .await;
    }
    commit(
        s,
        Change::one(
            Write::DeleteReceipt(receipt.id),
            audit("receipt.delete", 40),
        ),
    )
    .await;
    assert!(s.receipts_of_expense(e.id).await.expect("read").is_empty());

    assert!(
        !s.has_duplicate(&e).await.expect("read"),
        "an expense is no duplicate of itself"
    );
    let mut twin = expense(31, 1);
    twin.details =
        ExpenseDetails::new(e.details.date(), "  CAFE ", "meals", "", usd("10.00")).expect("valid");
    commit(
        s,
        Change::one(
            Write::PutExpense {
                expense: twin.clone(),
                expected_version: None,
            },
            audit("expense.create", 31),
        ),
    )
    .await;
    assert!(s.has_duplicate(&e).await.expect("read"));
    assert!(s.has_duplicate(&twin).await.expect("read"));
    let mut other_day = expense(32, 1);
    other_day.details = ExpenseDetails::new(
        e.details.date().succ_opt().expect("a day"),
        "Cafe",
        "meals",
        "",
        usd("10.00"),
    )
    .expect("valid");
    assert!(!s.has_duplicate(&other_day).await.expect("read"));
    assert_eq!(
        s.have_duplicates(&[other_day.clone(), e.clone(), twin.clone()])
            .await
            .expect("read"),
        vec![false, true, true],
        "the duplicates of a page at once, in its order"
    );

    let eur = Currency::parse("EUR").expect("EUR");
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 3, d).expect("a day");
    let rate = |d: u32, r: &str| outlay_domain::ExchangeRate {
        date: day(d),
        currency: eur,
        rate: outlay_domain::Rate::parse(r).expect("a rate"),
    };
    commit(
        s,
        Change::one(
            Write::PutRates(vec![rate(1, "1.1"), rate(5, "1.2")]),
            audit("exchange_rates.put", "USD"),
        ),
    )
    .await;
    commit(
        s,
        Change::one(
            Write::PutRates(vec![rate(5, "1.25")]),
            audit("exchange_rates.put", "USD"),
        ),
    )
    .await;
    assert_eq!(
        s.rate_on_or_before(eur, day(4)).await.expect("read"),
        Some(rate(1, "1.1"))
    );
    assert_eq!(
        s.rate_on_or_before(eur, day(9)).await.expect("read"),
        Some(rate(5, "1.25")),
        "the same day is replaced"
    );
    assert_eq!(
        s.rate_on_or_before(
            eur,
            chrono::NaiveDate::from_ymd_opt(2026, 2, 28).expect("a day")
        )
        .await
        .expect("read"),
        None
    );
    assert_eq!(
        s.rates(10).await.expect("read"),
        vec![rate(5, "1.25"), rate(1, "1.1")]
    );
}

//! The table's item shapes: keys, index attributes and the JSON body of each entity.

use std::collections::HashMap;

use anyhow::Context;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use outlay_domain::access::{self, Queue};
use outlay_domain::{Expense, Report, ReportState, User};

/// An item.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// The string attributes that are keys of the table or an index.
pub const ATTRIBUTES: [&str; 10] = [
    "pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk",
];

/// The global secondary indexes: name, partition key, sort key (all projecting everything).
pub const INDEXES: [(&str, &str, &str); 4] = [
    ("gsi1", "gsi1pk", "gsi1sk"),
    ("gsi2", "gsi2pk", "gsi2sk"),
    ("gsi3", "gsi3pk", "gsi3sk"),
    ("gsi4", "gsi4pk", "gsi4sk"),
];

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// An item with its keys, a JSON body and more attributes.
pub(crate) fn item<T: serde::Serialize>(
    pk: String,
    sk: &str,
    body: &T,
    more: Vec<(&str, AttributeValue)>,
) -> anyhow::Result<Item> {
    let mut item = key(pk, sk);
    item.insert(
        "body".into(),
        s(serde_json::to_string(body).context("Failed to encode an item")?),
    );
    for (k, v) in more {
        item.insert(k.to_owned(), v);
    }
    Ok(item)
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(crate) fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

pub(crate) fn body<T: serde::de::DeserializeOwned>(item: &Item) -> anyhow::Result<T> {
    let text = get_s(item, "body").context("An item has no body")?;
    serde_json::from_str(text).context("Failed to decode a stored item")
}

pub(crate) fn time(t: DateTime<Utc>) -> String {
    outlay_domain::audit::format_time(t)
}

pub(crate) fn user_item(user: &User, password_hash: Option<&str>) -> anyhow::Result<Item> {
    let mut more = vec![
        ("gsi1pk", s("USERS")),
        ("gsi1sk", s(user.email.as_str())),
        (
            "roles",
            AttributeValue::L(user.roles.iter().map(|r| s(r.as_str())).collect()),
        ),
        ("active", AttributeValue::Bool(user.active)),
        ("version", n(user.version)),
    ];
    if let Some(h) = password_hash {
        more.push(("password_hash", s(h)));
    }
    item(format!("USER#{}", user.id), "USER", user, more)
}

pub(crate) fn dup_key(e: &Expense) -> String {
    let d = &e.details;
    format!(
        "DUP#{}#{}#{}#{}#{}",
        e.owner_id,
        d.date(),
        d.amount().amount_string(),
        d.amount().currency(),
        d.merchant_key()
    )
}

pub(crate) fn expense_item(e: &Expense) -> anyhow::Result<Item> {
    let mut more = vec![
        ("version", n(e.version)),
        ("gsi1pk", s(format!("OWNER#{}#EXPENSES", e.owner_id))),
        ("gsi1sk", s(e.id.to_string())),
        ("gsi3pk", s(dup_key(e))),
        ("gsi3sk", s(e.id.to_string())),
    ];
    if let Some(r) = e.report_id {
        more.push(("gsi2pk", s(format!("REPORT#{r}#EXPENSES"))));
        more.push(("gsi2sk", s(e.id.to_string())));
    }
    item(format!("EXPENSE#{}", e.id), "EXPENSE", e, more)
}

/// The sort key of a report in a queue.
pub(crate) fn queue_sk(r: &Report) -> String {
    format!("{}|{}", r.submitted_at.map(time).unwrap_or_default(), r.id)
}

pub(crate) fn report_item(r: &Report) -> anyhow::Result<Item> {
    let keys = access::queue_keys(r);
    let barred = keys.barred.iter().map(|u| s(u.to_string())).collect();
    let mut more = vec![
        ("version", n(r.version)),
        ("state", s(r.state.as_str())),
        ("owner_id", s(r.owner_id.to_string())),
        ("barred", AttributeValue::L(barred)),
        ("gsi1pk", s(format!("OWNER#{}#REPORTS", r.owner_id))),
        ("gsi1sk", s(r.id.to_string())),
        ("gsi3pk", s(format!("STATE#{}", r.state.as_str()))),
        ("gsi3sk", s(r.id.to_string())),
    ];
    if r.state != ReportState::Draft {
        more.push(("gsi4pk", s("SUBMITTED")));
        more.push(("gsi4sk", s(r.id.to_string())));
    }
    // The queue keys are the domain's, as the relational stores' columns are.
    let queue = keys.queue.map(|q| queue_pk(&q));
    if let Some(q) = queue {
        more.push(("gsi2pk", s(q)));
        more.push(("gsi2sk", s(queue_sk(r))));
    }
    item(format!("REPORT#{}", r.id), "REPORT", r, more)
}

/// The partition key of a queue on `gsi2`.
pub(crate) fn queue_pk(q: &Queue) -> String {
    match q {
        Queue::Approver(a) => format!("QUEUE#{a}"),
        Queue::Finance => "QUEUE#FINANCE".to_owned(),
        Queue::Role(r) => format!("QUEUE#ROLE#{}", r.as_str().to_uppercase()),
    }
}

/// The audit sequence as a sortable key.
pub(crate) fn seq_key(seq: i64) -> String {
    format!("{seq:020}")
}

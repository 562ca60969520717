//! Reading bank statements: ISO 20022 camt.053 (account statement) and camt.054 (debit and
//! credit notification), any version from .02 on. Each entry (`Ntry`) yields one
//! [`StatementEntry`] per transaction detail (`TxDtls`), or one for the entry itself when it
//! has none, with the end-to-end reference the bank carried back.
//!
//! The XML is read with `roxmltree`, which resolves no external entities and no DTDs.

use outlay_domain::{Currency, Money, StatementEntry};
use roxmltree::{Document, Node};

/// The most entries one statement may hold.
const MAX_ENTRIES: usize = 10_000;

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn path<'a, 'i>(node: Node<'a, 'i>, names: &[&str]) -> Option<Node<'a, 'i>> {
    names.iter().try_fold(node, |n, name| child(n, name))
}

fn text(node: Option<Node<'_, '_>>) -> Option<String> {
    node.and_then(|n| n.text())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// An `Amt` element: its `Ccy` and decimal text.
fn amount(node: Node<'_, '_>) -> Result<Money, String> {
    let currency = node
        .attribute("Ccy")
        .ok_or("an amount has no currency (Ccy)")?;
    let currency = Currency::parse(currency).map_err(|e| e.to_string())?;
    let value = node.text().map(str::trim).unwrap_or_default();
    Money::parse(value, currency).map_err(|e| format!("amount `{value}`: {e}"))
}

/// The statement's entries.
pub fn read(xml: &[u8]) -> Result<Vec<StatementEntry>, String> {
    let xml = std::str::from_utf8(xml).map_err(|_| "the statement is not UTF-8 text")?;
    let doc = Document::parse(xml).map_err(|e| format!("the statement is not XML: {e}"))?;
    let root = doc.root_element();
    let namespace = root.tag_name().namespace().unwrap_or_default();
    if !(namespace.contains(":camt.053.") || namespace.contains(":camt.054.")) {
        return Err(format!(
            "this is not a camt.053 or camt.054 document (its namespace is `{namespace}`)"
        ));
    }
    let mut out = Vec::new();
    for entry in root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "Ntry")
    {
        let entry_amount = amount(child(entry, "Amt").ok_or("an entry has no amount")?)?;
        let debit = text(child(entry, "CdtDbtInd")).as_deref() == Some("DBIT");
        // `Sts` is a code (.02 to .07) or holds one (`Sts/Cd`, from .08).
        let status = text(child(entry, "Sts").and_then(|s| child(s, "Cd").or(Some(s))));
        let booked = status.as_deref() == Some("BOOK");
        let reversal = text(child(entry, "RvslInd")).as_deref() == Some("true");
        let bank_reference = text(child(entry, "AcctSvcrRef"))
            .or_else(|| text(child(entry, "NtryRef")))
            .unwrap_or_default();
        let details: Vec<Node<'_, '_>> = child(entry, "NtryDtls")
            .into_iter()
            .flat_map(|d| {
                d.children()
                    .filter(|c| c.is_element() && c.tag_name().name() == "TxDtls")
            })
            .collect();
        let return_reason = |tx: Option<Node<'_, '_>>| {
            tx.and_then(|t| child(t, "RtrInf")).map(|r| {
                text(path(r, &["Rsn", "Cd"]))
                    .or_else(|| text(path(r, &["Rsn", "Prtry"])))
                    .unwrap_or_else(|| "returned".into())
            })
        };
        if details.is_empty() {
            out.push(StatementEntry {
                end_to_end: None,
                amount: entry_amount,
                debit,
                booked,
                returned: reversal.then(|| "reversed".into()),
                bank_reference: bank_reference.clone(),
            });
        }
        for tx in &details {
            let tx_amount = child(*tx, "Amt")
                .or_else(|| path(*tx, &["AmtDtls", "TxAmt", "Amt"]))
                .map(amount)
                .transpose()?;
            let amount = match tx_amount {
                Some(a) => a,
                None if details.len() == 1 => entry_amount,
                None => return Err("a batched entry's transaction has no amount".into()),
            };
            let end_to_end =
                text(path(*tx, &["Refs", "EndToEndId"])).filter(|r| r != "NOTPROVIDED");
            let returned = return_reason(Some(*tx)).or_else(|| reversal.then(|| "reversed".into()));
            out.push(StatementEntry {
                end_to_end,
                amount,
                debit,
                booked,
                returned,
                bank_reference: text(path(*tx, &["Refs", "AcctSvcrRef"]))
                    .unwrap_or_else(|| bank_reference.clone()),
            });
        }
        if out.len() > MAX_ENTRIES {
            return Err(format!("a statement holds at most {MAX_ENTRIES} entries"));
        }
    }
    Ok(out)
}

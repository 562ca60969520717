//! E-invoices: the XML a PDF carries as an embedded file (ZUGFeRD 2, Factur-X, XRechnung),
//! as UN/CEFACT Cross Industry Invoice (CII) or OASIS UBL 2.1. What it says is exact, so every
//! field it gives has confidence 1.

use std::str::FromStr;

use chrono::NaiveDate;
use outlay_domain::Currency;
use outlay_domain::reading::{Field, ReadFields};
use rust_decimal::Decimal;

/// The most an embedded file may inflate to.
const MAX_XML_BYTES: usize = 8 * 1024 * 1024;

/// The most any object or cross-reference stream may inflate to while the PDF is loaded
/// (a receipt's are a few kilobytes).
const MAX_LOAD_BYTES: usize = 2 * 1024 * 1024;

const CII: &str = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100";
const RAM: &str =
    "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100";
const UDT: &str = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100";
const UBL_INVOICE: &str = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
const UBL_CREDIT: &str = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2";
const CBC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";
const CAC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";

/// The invoice embedded in a PDF, if it embeds one: `Ok(None)` for a PDF without one, an
/// error for bytes that are not a PDF lopdf can read.
pub fn read_pdf(pdf: &[u8]) -> anyhow::Result<Option<ReadFields>> {
    let options = lopdf::LoadOptions {
        max_decompressed_size: Some(MAX_LOAD_BYTES),
        ..Default::default()
    };
    let doc = lopdf::Document::load_mem_with_options(pdf, options)?;
    for object in doc.objects.values() {
        let lopdf::Object::Stream(stream) = object else {
            continue;
        };
        let embedded = stream
            .dict
            .get(b"Type")
            .and_then(lopdf::Object::as_name)
            .is_ok_and(|n| n == b"EmbeddedFile");
        if !embedded {
            continue;
        }
        let Ok(bytes) = stream
            .decompressed_content_with_limit(MAX_XML_BYTES)
            .or_else(|_| {
                // An unfiltered stream has nothing to decompress.
                if stream.dict.get(b"Filter").is_err() {
                    Ok(stream.content.clone())
                } else {
                    Err(())
                }
            })
        else {
            continue;
        };
        if let Some(fields) = read_xml(&bytes) {
            return Ok(Some(fields));
        }
    }
    Ok(None)
}

/// An invoice's fields from its XML (CII or UBL); `None` if it is neither.
pub fn read_xml(xml: &[u8]) -> Option<ReadFields> {
    let text = std::str::from_utf8(xml.strip_prefix(b"\xef\xbb\xbf").unwrap_or(xml)).ok()?;
    // roxmltree refuses DTDs by default, so no entity can expand or reach outside.
    let doc = roxmltree::Document::parse(text).ok()?;
    let root = doc.root_element();
    let ns = root.tag_name().namespace()?;
    let fields = match (ns, root.tag_name().name()) {
        (CII, "CrossIndustryInvoice") => cii(root),
        (UBL_INVOICE, "Invoice") | (UBL_CREDIT, "CreditNote") => ubl(root),
        _ => return None,
    };
    (!fields.is_empty()).then_some(fields)
}

fn child<'a>(
    node: roxmltree::Node<'a, 'a>,
    ns: &str,
    name: &str,
) -> Option<roxmltree::Node<'a, 'a>> {
    node.children().find(|c| {
        c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == Some(ns)
    })
}

/// The element at `path` (each step a child of the namespace given with it).
fn at<'a>(node: roxmltree::Node<'a, 'a>, path: &[(&str, &str)]) -> Option<roxmltree::Node<'a, 'a>> {
    path.iter()
        .try_fold(node, |n, (ns, name)| child(n, ns, name))
}

fn text<'a>(node: Option<roxmltree::Node<'a, 'a>>) -> Option<(&'a str, String)> {
    let node = node?;
    let value = node.text()?.trim();
    (!value.is_empty()).then(|| {
        (
            value,
            format!(
                "<{}>{value}</{}>",
                node.tag_name().name(),
                node.tag_name().name()
            ),
        )
    })
}

fn exact<T>(value: T, source: &str) -> Field<T> {
    Field::new(value, 1.0, source)
}

fn amount(node: Option<roxmltree::Node<'_, '_>>) -> Option<Field<Decimal>> {
    let (value, source) = text(node)?;
    let value = Decimal::from_str(value).ok()?;
    Some(exact(value, &source))
}

fn currency(node: Option<roxmltree::Node<'_, '_>>) -> Option<Field<Currency>> {
    let (value, source) = text(node)?;
    Some(exact(Currency::parse(value).ok()?, &source))
}

fn cii(root: roxmltree::Node<'_, '_>) -> ReadFields {
    let rsm = CII;
    let transaction = child(root, rsm, "SupplyChainTradeTransaction");
    let agreement = transaction.and_then(|t| child(t, RAM, "ApplicableHeaderTradeAgreement"));
    let settlement = transaction.and_then(|t| child(t, RAM, "ApplicableHeaderTradeSettlement"));
    let summation =
        settlement.and_then(|s| child(s, RAM, "SpecifiedTradeSettlementHeaderMonetarySummation"));
    let invoice_currency = settlement.and_then(|s| child(s, RAM, "InvoiceCurrencyCode"));
    let currency = currency(invoice_currency);
    // The tax total in the invoice's currency (a second one may be in the accounting currency).
    let code = currency.as_ref().map(|c| c.value.code());
    let tax = summation.and_then(|s| {
        s.children()
            .filter(|c| c.is_element() && c.tag_name().name() == "TaxTotalAmount")
            .find(|c| c.attribute("currencyID").is_none() || c.attribute("currencyID") == code)
    });
    let date = at(
        root,
        &[
            (rsm, "ExchangedDocument"),
            (RAM, "IssueDateTime"),
            (UDT, "DateTimeString"),
        ],
    )
    .and_then(|n| {
        let (value, source) = text(Some(n))?;
        let format = n.attribute("format").unwrap_or("102");
        let date = match format {
            "102" => NaiveDate::parse_from_str(value, "%Y%m%d").ok()?,
            _ => return None,
        };
        Some(exact(date, &source))
    });
    let merchant = agreement
        .and_then(|a| at(a, &[(RAM, "SellerTradeParty"), (RAM, "Name")]))
        .and_then(|n| text(Some(n)))
        .map(|(v, s)| exact(v.to_owned(), &s));
    ReadFields {
        merchant,
        date,
        total: amount(summation.and_then(|s| child(s, RAM, "GrandTotalAmount"))),
        currency,
        tax: amount(tax),
    }
}

fn ubl(root: roxmltree::Node<'_, '_>) -> ReadFields {
    let party = at(root, &[(CAC, "AccountingSupplierParty"), (CAC, "Party")]);
    let merchant = party
        .and_then(|p| {
            at(p, &[(CAC, "PartyLegalEntity"), (CBC, "RegistrationName")])
                .or_else(|| at(p, &[(CAC, "PartyName"), (CBC, "Name")]))
        })
        .and_then(|n| text(Some(n)))
        .map(|(v, s)| exact(v.to_owned(), &s));
    let date = text(child(root, CBC, "IssueDate"))
        .and_then(|(v, s)| Some(exact(NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?, &s)));
    let totals = child(root, CAC, "LegalMonetaryTotal");
    let currency = currency(child(root, CBC, "DocumentCurrencyCode"));
    ReadFields {
        merchant,
        date,
        total: amount(totals.and_then(|t| child(t, CBC, "TaxInclusiveAmount"))),
        currency,
        tax: amount(child(root, CAC, "TaxTotal").and_then(|t| child(t, CBC, "TaxAmount"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CII_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
  xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocument><ram:ID>R-1</ram:ID><ram:TypeCode>380</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">20261205</udt:DateTimeString></ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:ApplicableHeaderTradeAgreement>
      <ram:SellerTradeParty><ram:Name>Hotel Adler GmbH</ram:Name></ram:SellerTradeParty>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:TaxBasisTotalAmount>100.00</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="EUR">7.00</ram:TaxTotalAmount>
        <ram:GrandTotalAmount>107.00</ram:GrandTotalAmount>
        <ram:DuePayableAmount>107.00</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"#;

    #[test]
    fn a_cii_invoice_is_read_exactly() {
        let read = read_xml(CII_XML.as_bytes()).expect("a CII invoice");
        assert_eq!(
            read.merchant.as_ref().map(|f| f.value.as_str()),
            Some("Hotel Adler GmbH")
        );
        assert_eq!(
            read.date.map(|f| f.value),
            NaiveDate::from_ymd_opt(2026, 12, 5)
        );
        assert_eq!(
            read.total.as_ref().map(|f| f.value.to_string()).as_deref(),
            Some("107.00")
        );
        assert_eq!(read.total.map(|f| f.confidence), Some(1.0));
        assert_eq!(read.currency.map(|f| f.value.code()), Some("EUR"));
        assert_eq!(
            read.tax.map(|f| f.value.to_string()).as_deref(),
            Some("7.00")
        );
    }

    #[test]
    fn a_ubl_invoice_is_read_exactly() {
        let xml = r#"<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>X-9</cbc:ID><cbc:IssueDate>2026-11-30</cbc:IssueDate>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PartyName><cbc:Name>Bahn</cbc:Name></cac:PartyName>
    <cac:PartyLegalEntity><cbc:RegistrationName>DB Fernverkehr AG</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">11.18</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal><cbc:TaxExclusiveAmount currencyID="EUR">58.82</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">70.00</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="EUR">70.00</cbc:PayableAmount></cac:LegalMonetaryTotal>
</Invoice>"#;
        let read = read_xml(xml.as_bytes()).expect("a UBL invoice");
        assert_eq!(
            read.merchant.map(|f| f.value).as_deref(),
            Some("DB Fernverkehr AG")
        );
        assert_eq!(
            read.date.map(|f| f.value),
            NaiveDate::from_ymd_opt(2026, 11, 30)
        );
        assert_eq!(
            read.total.map(|f| f.value.to_string()).as_deref(),
            Some("70.00")
        );
        assert_eq!(
            read.tax.map(|f| f.value.to_string()).as_deref(),
            Some("11.18")
        );
    }

    #[test]
    fn other_xml_and_entities_are_not_read() {
        assert_eq!(read_xml(b"<a>1</a>"), None);
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">&a;</rsm:CrossIndustryInvoice>"#;
        assert_eq!(read_xml(bomb.as_bytes()), None);
        assert!(read_pdf(b"not a pdf").is_err());
    }
}

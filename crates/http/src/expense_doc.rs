//! The body of `POST /api/v1/expenses` as the API document states it: one of three shapes, a
//! receipt's, a mileage claim's or a per diem claim's, each with the fields it needs. The
//! handler reads all three as one [`crate::expenses::ExpenseRequest`]; these types only
//! describe them, so that clients (and schemathesis) see which fields go together.

#![allow(dead_code)] // the shapes of the wire, for the document

use serde::Deserialize;
use utoipa::ToSchema;

use crate::expenses::SplitRequest;

/// A new expense: a receipt's, a mileage claim or a per diem claim.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum NewExpense {
    /// A receipt's amount, as the employee says it.
    Receipt(ReceiptExpense),
    /// A trip, priced at the mileage rate of its day.
    Mileage(MileageExpense),
    /// A stay, priced from the per diem table.
    PerDiem(PerDiemExpense),
}

/// `receipt`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// A receipt's amount.
    Receipt,
}

/// `mileage`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MileageKind {
    /// A trip.
    Mileage,
}

/// `per_diem`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PerDiemKind {
    /// A stay.
    PerDiem,
}

/// A receipt's expense.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptExpense {
    /// `receipt`, or absent.
    kind: Option<ReceiptKind>,
    /// `YYYY-MM-DD`.
    #[schema(schema_with = crate::apidoc::date)]
    date: String,
    /// Where the money was spent.
    #[schema(schema_with = crate::apidoc::text_200)]
    merchant: String,
    /// A policy category (travel, meals, ...).
    #[schema(schema_with = crate::apidoc::category)]
    category: String,
    /// An exact decimal string such as `"123.45"`, with no more decimals than the currency has.
    #[schema(schema_with = crate::apidoc::amount)]
    amount: String,
    /// ISO 4217 code.
    #[schema(schema_with = crate::apidoc::currency)]
    currency: String,
    /// Free text.
    #[schema(schema_with = crate::apidoc::optional_text_2000)]
    description: Option<String>,
    /// Why a soft policy rule should be waived.
    #[schema(schema_with = crate::apidoc::optional_text_2000)]
    justification: Option<String>,
    /// The cost centres it is charged to, by percentage or amount, summing exactly to it;
    /// absent or empty: all of it to the owner's home cost centre.
    #[serde(default)]
    cost_centres: Vec<SplitRequest>,
    /// The project's code.
    #[schema(schema_with = crate::apidoc::code_or_null)]
    project: Option<String>,
    /// The tax (VAT) rate the receipt shows, in percent (`"19"`, `"7.5"`).
    #[schema(schema_with = crate::apidoc::percent_or_null)]
    tax_rate: Option<String>,
    /// The tax amount the receipt shows; computed from the rate (tax included in `amount`)
    /// when absent.
    #[schema(schema_with = crate::apidoc::amount_or_null)]
    tax_amount: Option<String>,
}

/// A mileage claim: `amount` is computed, at the rate of `vehicle` and `unit` on `date`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MileageExpense {
    /// `mileage`.
    kind: MileageKind,
    /// The trip's day.
    #[schema(schema_with = crate::apidoc::date)]
    date: String,
    /// A decimal of up to two places, above 0 and at most 100,000 (`12.5` or `"12.5"`).
    #[schema(schema_with = crate::allowances::distance)]
    distance: String,
    /// `km` or `mi`.
    #[schema(schema_with = crate::allowances::unit)]
    unit: String,
    /// `car`, `motorbike` or `bicycle`.
    #[schema(schema_with = crate::allowances::vehicle)]
    vehicle: String,
    /// Where the trip started.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    from: Option<String>,
    /// Where it went.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    to: Option<String>,
    /// What it is filed under; default `from` to `to`, or "Mileage by car".
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    merchant: Option<String>,
    /// Default `mileage`.
    #[schema(schema_with = crate::apidoc::category_or_null)]
    category: Option<String>,
    /// The trip's purpose.
    #[schema(schema_with = crate::apidoc::optional_text_2000)]
    description: Option<String>,
    /// Why a soft policy rule (a trip over the longest the policy allows) should be waived.
    #[schema(schema_with = crate::apidoc::optional_text_2000)]
    justification: Option<String>,
    /// The cost centres it is charged to.
    #[serde(default)]
    cost_centres: Vec<SplitRequest>,
    /// The project's code.
    #[schema(schema_with = crate::apidoc::code_or_null)]
    project: Option<String>,
}

/// A per diem claim: `amount` is computed, day by day, from the per diem table.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PerDiemExpense {
    /// `per_diem`.
    kind: PerDiemKind,
    /// The place's code in the per diem table (`DE`, `US`, `FR-Paris`).
    #[schema(schema_with = crate::apidoc::text_200)]
    country: String,
    /// When the stay started, as the traveller's local time (`2026-03-02T08:30`, an offset
    /// allowed).
    #[schema(schema_with = crate::apidoc::text_200)]
    from: String,
    /// When it ended.
    #[schema(schema_with = crate::apidoc::text_200)]
    until: String,
    /// The meals provided, by day.
    #[serde(default)]
    meals_provided: Vec<crate::allowances::MealsRequest>,
    /// The stay's first day, if sent, must be the day of `from`.
    #[schema(schema_with = crate::apidoc::date_or_null)]
    date: Option<String>,
    /// What it is filed under; default "Per diem" and the place.
    #[schema(schema_with = crate::apidoc::text_200_or_null)]
    merchant: Option<String>,
    /// Default `per_diem`.
    #[schema(schema_with = crate::apidoc::category_or_null)]
    category: Option<String>,
    /// The stay's purpose.
    #[schema(schema_with = crate::apidoc::optional_text_2000)]
    description: Option<String>,
    /// Why a soft policy rule should be waived.
    #[schema(schema_with = crate::apidoc::optional_text_2000)]
    justification: Option<String>,
    /// The cost centres it is charged to.
    #[serde(default)]
    cost_centres: Vec<SplitRequest>,
    /// The project's code.
    #[schema(schema_with = crate::apidoc::code_or_null)]
    project: Option<String>,
}

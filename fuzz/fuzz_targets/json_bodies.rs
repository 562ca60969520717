//! The API's JSON bodies: any bytes, as each request body type and as the policy, never
//! panic; a policy that parses validates without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outlay_http::{
    allowances, expenses, finance, notifications, payments, receipts, reports, token, users,
};

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<expenses::ExpenseRequest>(data);
    let _ = serde_json::from_slice::<expenses::ExpensePatchRequest>(data);
    let _ = serde_json::from_slice::<reports::ReportRequest>(data);
    let _ = serde_json::from_slice::<reports::RejectRequest>(data);
    let _ = serde_json::from_slice::<users::NewUserRequest>(data);
    let _ = serde_json::from_slice::<users::UserPatchRequest>(data);
    let _ = serde_json::from_slice::<finance::RatesRequest>(data);
    let _ = serde_json::from_slice::<notifications::ReadRequest>(data);
    let _ = serde_json::from_slice::<receipts::UploadRequest>(data);
    let _ = serde_json::from_slice::<token::TokenRequest>(data);
    let _ = serde_json::from_slice::<allowances::QuoteRequest>(data);
    let _ = serde_json::from_slice::<payments::BankAccountRequest>(data);
    let _ = serde_json::from_slice::<payments::BatchRequest>(data);
    let _ = serde_json::from_slice::<outlay_domain::PayingAccount>(data);
    if let Ok(tables) = serde_json::from_slice::<outlay_domain::Allowances>(data) {
        let _ = tables.validate();
    }
    if let Ok(policy) = serde_json::from_slice::<outlay_domain::Policy>(data) {
        let _ = policy.validate();
    }
});

//! The one error type of the use cases; each variant maps to one HTTP status.

use outlay_domain::{ExpenseError, IdError, MoneyError, PolicyError, Refusal, UserError};

use crate::ports::StoreError;

/// Why a use case did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input (400).
    #[error("{0}")]
    BadInput(String),
    /// No, or an invalid, credential (401).
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The caller may see the object but not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such object, or one the caller may not see (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Wrong state, stale version or a duplicate (409).
    #[error("{0}")]
    Conflict(String),
    /// Well-formed but refused by a business rule (422).
    #[error("{0}")]
    Unprocessable(String),
    /// A body or file larger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// A file type that is not accepted (415).
    #[error("{0}")]
    UnsupportedMedia(String),
    /// Submission blocked by the policy (422), naming each violation.
    #[error("the report breaks the expense policy: {}", .0.iter().map(|(_, v)| v.message.as_str()).collect::<Vec<_>>().join("; "))]
    PolicyViolations(Vec<(outlay_domain::ExpenseId, outlay_domain::Violation)>),
    /// Too many attempts (429); the client may try again after `retry_after` seconds.
    #[error("too many attempts; try again in {retry_after} seconds")]
    TooManyRequests {
        /// Seconds until the next attempt is let through.
        retry_after: u64,
    },
    /// The server is at capacity for this kind of work (503); try again after `retry_after`
    /// seconds.
    #[error("the server is busy; try again in {retry_after} seconds")]
    Busy {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// Anything else; logged, never shown (500).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The result of a use case.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => AppError::Conflict(m),
            // A cursor is opaque: one this server did not make is well-formed text it cannot use.
            StoreError::BadCursor => AppError::Unprocessable("the cursor is not valid".into()),
            StoreError::Unavailable(e) => AppError::Internal(e),
        }
    }
}

impl From<outlay_domain::BankError> for AppError {
    fn from(e: outlay_domain::BankError) -> Self {
        // Well-formed, but not an account a bank would take (check digits, say).
        AppError::Unprocessable(e.to_string())
    }
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Forbidden(m) => AppError::Forbidden(m.to_owned()),
            r @ (Refusal::WrongState { .. } | Refusal::InBatch(_)) => {
                AppError::Conflict(r.to_string())
            }
            Refusal::Invalid(m) => AppError::BadInput(m),
        }
    }
}

macro_rules! bad_input_from {
    ($($t:ty),*) => {$(
        impl From<$t> for AppError {
            fn from(e: $t) -> Self {
                AppError::BadInput(e.to_string())
            }
        }
    )*};
}
bad_input_from!(ExpenseError, UserError, IdError);

/// The document's syntax (400) against what is refused by a rule about its values (422): an
/// amount that is a plain decimal but zero, finer than the currency's minor unit, or too large.
impl From<MoneyError> for AppError {
    fn from(e: MoneyError) -> Self {
        match e {
            MoneyError::UnknownCurrency(_) | MoneyError::Malformed(_) => {
                AppError::BadInput(e.to_string())
            }
            MoneyError::Zero
            | MoneyError::TooManyDecimals { .. }
            | MoneyError::Overflow(_)
            | MoneyError::CurrencyMismatch(..) => AppError::Unprocessable(e.to_string()),
        }
    }
}

/// A well-formed policy that is not consistent (amounts outside the base currency, no or
/// repeated categories).
impl From<PolicyError> for AppError {
    fn from(e: PolicyError) -> Self {
        AppError::Unprocessable(e.to_string())
    }
}

/// A delegation that breaks its rules (a delegate who is no approver, days backwards).
impl From<outlay_domain::DelegationError> for AppError {
    fn from(e: outlay_domain::DelegationError) -> Self {
        AppError::Unprocessable(e.to_string())
    }
}

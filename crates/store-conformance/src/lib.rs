//! The store conformance suite: the behaviour every [`Store`] must have, written once and run
//! against each adapter (SQLite, PostgreSQL and DynamoDB in moto).
//!
//! Each check takes a fresh, empty store and panics with a message on the first difference.
//! [`conformance_tests!`] makes one `#[tokio::test]` per check for an adapter's test crate, so
//! that a failing check hides none of the others.

mod audit;
mod commits;
mod documents;
mod expenses;
mod fixtures;
mod notifications;
mod reports;
mod search;
mod settings;
mod users;

use std::sync::Arc;

use outlay_app::{Outbox, Store};

pub use audit::*;
pub use commits::*;
pub use documents::*;
pub use expenses::*;
pub use notifications::*;
pub use reports::*;
pub use search::*;
pub use settings::*;
pub use users::*;

/// What the checks use, in one place.
mod prelude {
    pub(crate) use std::collections::BTreeSet;

    pub(crate) use chrono::{DateTime, Utc};
    pub(crate) use outlay_app::{
        Change, Channel, Guard, IdempotencyRecord, Notification, Outbox, OutboxMessage,
        PageRequest, ReportQuery, ReportScope, Store, StoreError, Write,
    };
    pub(crate) use outlay_domain::{
        AuditRecord, ChainVerifier, Currency, Decision, Email, Expense, ExpenseDetails, ExpenseId,
        Level, Money, Outcome, Report, ReportId, ReportState, Role, Step, User, UserId,
    };

    pub(crate) use crate::Fresh;
}

/// A store with its outbox, as every adapter provides.
pub trait FullStore: Store + Outbox {}
impl<T: Store + Outbox> FullStore for T {}

/// The handle a check takes: a fresh, empty store.
pub type Fresh = Arc<dyn FullStore>;

/// One `#[tokio::test]` per check, each on the fresh store that `$fresh().await` answers (an
/// async function of the adapter's test crate). Attributes before `$fresh`, such as
/// `#[ignore = "needs ..."]`, go on every test.
///
/// ```ignore
/// outlay_store_conformance::conformance_tests!(fresh);
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($(#[$m:meta])* $fresh:path) => {
        $crate::conformance_tests!(@each [$(#[$m])*] $fresh:
            users_are_unique_by_email_and_versioned,
            role_holders_follow_grants_and_deactivation,
            shared_secrets_are_written_once,
            a_change_commits_whole_or_not_at_all,
            a_change_commits_only_if_what_it_read_is_unchanged,
            concurrent_changes_commit_or_fail_each_on_its_own,
            idempotency_records_are_written_with_their_change_once,
            audit_events_form_a_verifiable_chain,
            expenses_page_newest_first_and_honour_versions,
            report_queries_follow_scope_state_and_order,
            the_policy_round_trips,
            receipts_rates_and_duplicates,
            notifications_and_the_outbox,
            searches_find_what_the_filter_says_in_the_order_asked,
            documents_are_versioned_guarded_and_listed_by_kind,
        );
    };
    (@each $attrs:tt $fresh:path: $($check:ident),+ $(,)?) => {
        $( $crate::conformance_tests!(@one $attrs $fresh, $check); )+
    };
    (@one [$(#[$m:meta])*] $fresh:path, $check:ident) => {
        $(#[$m])*
        #[tokio::test]
        async fn $check() {
            $crate::$check($fresh().await).await;
        }
    };
}

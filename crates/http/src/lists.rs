//! The list parameters of the searchable lists (`GET /expenses`, `GET /reports`): the same
//! search on both, with each list's own scopes and states.

use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;

/// Declares a list's parameters: the shared search, and the list's own scope and state.
macro_rules! list_params {
    ($(#[$doc:meta])* $name:ident, scope: $scope_doc:literal, $scope:path, state: $state_doc:literal, $state:path) => {
        $(#[$doc])*
        #[derive(Debug, Default, Deserialize, IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            #[doc = $scope_doc]
            #[param(schema_with = $scope)]
            pub scope: Option<String>,
            #[doc = $state_doc]
            #[param(schema_with = $state)]
            pub state: Option<String>,
            /// Text the item contains, ASCII letters in any case: an expense's merchant or description, a report's title or purpose, or the employee's name (at most 100 characters).
            #[param(max_length = 100)]
            pub q: Option<String>,
            /// The first day, inclusive: an expense's date; the day a report was submitted (created, if never submitted), in UTC.
            #[param(value_type = Option<String>, format = Date)]
            pub from: Option<String>,
            /// The last day, inclusive.
            #[param(value_type = Option<String>, format = Date)]
            pub to: Option<String>,
            /// A policy category: the expense's, or one of the report's expenses'.
            #[param(max_length = 50)]
            pub category: Option<String>,
            /// The employee's user id (within what the scope shows).
            #[param(value_type = Option<String>, format = Uuid)]
            pub owner_id: Option<String>,
            /// The least amount in the base currency (an expense's base amount, a report's total); above `max_amount` is 422.
            #[param(schema_with = crate::apidoc::amount)]
            pub min_amount: Option<String>,
            /// The greatest amount in the base currency.
            #[param(schema_with = crate::apidoc::amount)]
            pub max_amount: Option<String>,
            /// `date`, `-date`, `amount` or `-amount` (a leading `-` is descending); the list's own order (newest first; the approvals queue oldest submission first) when absent.
            #[param(schema_with = crate::apidoc::sort)]
            pub sort: Option<String>,
            /// 1 to 100 (default 50).
            #[param(minimum = 1, maximum = 100)]
            pub limit: Option<u32>,
            /// The `next_cursor` of the previous page, with the same parameters.
            pub cursor: Option<String>,
        }

        impl $name {
            /// The parameters the use cases read. A parameter sent empty is refused: the
            /// document gives each a format an empty value does not have.
            pub fn search(&self) -> Result<outlay_app::ListParams, ApiError> {
                for (name, value) in [
                    ("scope", &self.scope),
                    ("state", &self.state),
                    ("from", &self.from),
                    ("to", &self.to),
                    ("owner_id", &self.owner_id),
                    ("min_amount", &self.min_amount),
                    ("max_amount", &self.max_amount),
                    ("sort", &self.sort),
                ] {
                    if value.as_deref() == Some("") {
                        return Err(ApiError::BadRequest(format!("{name} must not be empty")));
                    }
                }
                Ok(outlay_app::ListParams {
                    q: self.q.clone(),
                    from: self.from.clone(),
                    to: self.to.clone(),
                    category: self.category.clone(),
                    owner_id: self.owner_id.clone(),
                    min_amount: self.min_amount.clone(),
                    max_amount: self.max_amount.clone(),
                    sort: self.sort.clone(),
                    state: self.state.clone(),
                })
            }
        }
    };
}

list_params!(
    /// Which reports to list, narrowed and ordered.
    ReportListParams,
    scope: "`mine` (default), `approvals` (waiting for me, oldest first), `decided` (reports I decided a step of) or `all` (finance: every submitted report).",
    crate::apidoc::scope,
    state: "Only reports in this state.",
    crate::apidoc::report_state
);

list_params!(
    /// Which expenses to list, narrowed and ordered.
    ExpenseListParams,
    scope: "`mine` (default) or `all` (finance: every expense of a submitted report).",
    crate::apidoc::expense_scope,
    state: "`reported` (in a report) or `unreported`.",
    crate::apidoc::expense_state
);

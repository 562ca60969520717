//! The list parameters every searchable list takes (`GET /expenses`, `GET /reports`).

use serde::Deserialize;
use utoipa::IntoParams;

/// Which items to list, narrowed and ordered.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Reports: `mine` (default), `approvals` (waiting for me, oldest first), `decided` (reports I decided a step of) or `all` (finance: every submitted report). Expenses: `mine` (default) or `all` (finance: every expense in a submitted report).
    #[param(schema_with = crate::apidoc::scope)]
    pub scope: Option<String>,
    /// Reports: only those in this state. Expenses: `reported` or `unreported`.
    #[param(schema_with = crate::apidoc::list_state)]
    pub state: Option<String>,
    /// Text the item contains, any case: an expense's merchant or description, a report's title or purpose, or the employee's name (at most 100 characters).
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
    /// The least amount in the base currency (an expense's base amount, a report's total).
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

impl ListParams {
    /// The parameters the use cases read.
    pub fn search(&self) -> outlay_app::ListParams {
        outlay_app::ListParams {
            q: self.q.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            category: self.category.clone(),
            owner_id: self.owner_id.clone(),
            min_amount: self.min_amount.clone(),
            max_amount: self.max_amount.clone(),
            sort: self.sort.clone(),
            state: self.state.clone(),
        }
    }
}

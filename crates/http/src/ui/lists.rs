//! The search bar and the pager every list page shares. The search is the API's: the same
//! parameters, checked by the same use cases.

use super::*;
use outlay_app::ListParams;

/// A list page's query string: the search and where the page starts.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub(crate) struct ListQuery {
    /// The search.
    #[serde(flatten)]
    pub(crate) search: ListParams,
    /// The `next_cursor` of the page before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cursor: Option<String>,
}

impl ListQuery {
    /// The page this query asks for: 50 items after its cursor.
    pub(crate) fn page(&self) -> outlay_app::PageRequest {
        outlay_app::PageRequest {
            limit: 50,
            cursor: self.cursor.clone().filter(|c| !c.is_empty()),
        }
    }

    /// Whether anything narrows the list.
    pub(crate) fn is_searching(&self) -> bool {
        self.pairs().next().is_some()
    }

    /// The search's non-empty parameters.
    fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        let s = &self.search;
        [
            ("q", &s.q),
            ("from", &s.from),
            ("to", &s.to),
            ("category", &s.category),
            ("state", &s.state),
            ("owner_id", &s.owner_id),
            ("min_amount", &s.min_amount),
            ("max_amount", &s.max_amount),
            ("sort", &s.sort),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| (k, v)))
    }

    /// `path` with this search and `extra` fields.
    pub(crate) fn href_with(&self, state: &AppState, path: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = self.pairs().collect();
        pairs.extend_from_slice(extra);
        with_query(url(state, path), &pairs)
    }
}

/// A search's page, or, for a search the use case refused (a bad date, a stale cursor), an
/// empty page and why; other errors are the page's.
pub(crate) fn searched<T>(
    result: outlay_app::Result<outlay_app::Page<T>>,
) -> Result<(outlay_app::Page<T>, Option<String>), ErrorPage> {
    match result {
        Ok(page) => Ok((page, None)),
        Err(e @ (AppError::BadInput(_) | AppError::Unprocessable(_))) => Ok((
            outlay_app::Page {
                items: vec![],
                next_cursor: None,
            },
            Some(message(&e)),
        )),
        Err(e) => Err(ErrorPage::from(e)),
    }
}

/// What a list's search bar offers besides text, dates, amounts and order.
pub(crate) struct SearchOptions<'a> {
    /// The policy's categories.
    pub(crate) categories: &'a [String],
    /// The states to choose from (value, label).
    pub(crate) states: &'a [(&'a str, String)],
    /// The employees to choose from (id, name), where the list holds others' items.
    pub(crate) people: &'a [(String, String)],
    /// Hidden fields to keep (the scope of a page that shows several).
    pub(crate) keep: &'a [(&'a str, &'a str)],
}

/// The search bar: a GET form, so that a search is a link to share and the back button works.
pub(crate) fn search_bar(
    state: &AppState,
    path: &str,
    q: &ListQuery,
    opts: &SearchOptions<'_>,
) -> Markup {
    let s = &q.search;
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let sorts = [
        ("", "Newest first"),
        ("-date", "Date, newest"),
        ("date", "Date, oldest"),
        ("-amount", "Amount, largest"),
        ("amount", "Amount, smallest"),
    ];
    html! {
        form.search role="search" method="get" action=(url(state, path)) {
            @for (k, val) in opts.keep { input type="hidden" name=(k) value=(val); }
            label.wide { "Search" input type="search" name="q" value=(v(&s.q)) maxlength="100" placeholder="Merchant, title, employee…"; }
            label { "From" input type="date" name="from" value=(v(&s.from)); }
            label { "To" input type="date" name="to" value=(v(&s.to)); }
            @if !opts.categories.is_empty() {
                label { "Category"
                    select name="category" {
                        option value="" { "Any" }
                        @for c in opts.categories { option value=(c) selected[s.category.as_deref() == Some(c.as_str())] { (c) } }
                    }
                }
            }
            @if !opts.states.is_empty() {
                label { "State"
                    select name="state" {
                        option value="" { "Any" }
                        @for (val, label) in opts.states { option value=(val) selected[s.state.as_deref() == Some(*val)] { (label) } }
                    }
                }
            }
            @if !opts.people.is_empty() {
                label { "Employee"
                    select name="owner_id" {
                        option value="" { "Anyone" }
                        @for (id, name) in opts.people { option value=(id) selected[s.owner_id.as_deref() == Some(id.as_str())] { (name) } }
                    }
                }
            }
            label { "Min amount" input type="text" inputmode="decimal" name="min_amount" value=(v(&s.min_amount)) pattern="[0-9]+(\\.[0-9]+)?" size="8"; }
            label { "Max amount" input type="text" inputmode="decimal" name="max_amount" value=(v(&s.max_amount)) pattern="[0-9]+(\\.[0-9]+)?" size="8"; }
            label { "Sort"
                select name="sort" {
                    @for (val, label) in sorts { option value=(val) selected[s.sort.as_deref().unwrap_or("") == val] { (label) } }
                }
            }
            div.search-actions {
                button type="submit" { "Search" }
                @if q.is_searching() {
                    a href=(keep_href(state, path, opts.keep)) { "Clear" }
                }
            }
        }
    }
}

/// `path` with only the kept fields.
fn keep_href(state: &AppState, path: &str, keep: &[(&str, &str)]) -> String {
    with_query(url(state, path), keep)
}

/// `href` with `pairs` added to its query string.
fn with_query(href: String, pairs: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    if query.is_empty() {
        href
    } else if href.contains('?') {
        format!("{href}&{query}")
    } else {
        format!("{href}?{query}")
    }
}

/// A list page's response: 400 if its search was refused.
pub(crate) fn with_search_status(
    mut response: Response,
    search_error: &Option<String>,
) -> Response {
    if search_error.is_some() && response.status().is_success() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

/// The links to the first and the next page.
pub(crate) fn pager(
    state: &AppState,
    path: &str,
    q: &ListQuery,
    keep: &[(&str, &str)],
    next: Option<&str>,
) -> Markup {
    let next = next.map(|c| {
        let mut extra = keep.to_vec();
        extra.push(("cursor", c));
        q.href_with(state, path, &extra)
    });
    html! {
        @if q.cursor.is_some() || next.is_some() {
            nav.pager aria-label="Pages" {
                @if q.cursor.is_some() { a href=(q.href_with(state, path, keep)) { "« First page" } }
                @if let Some(href) = next { a rel="next" href=(href) { "Next page »" } }
            }
        }
    }
}

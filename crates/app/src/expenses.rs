//! Expenses: an employee records, edits and deletes their own, while not submitted.

use chrono::NaiveDate;
use outlay_domain::expense::text_field;
use outlay_domain::{
    Currency, Expense, ExpenseDetails, ExpenseId, Facts, Money, Policy, Receipt, ReceiptState,
    Report, Violation,
};
use serde::{Deserialize, Serialize};

use crate::lists::{ExpenseScope, ExpenseSearch, ListFilter, ListParams};
use crate::{
    App, AppError, Caller, Change, Guard, Idempotency, Page, PageRequest, Result, Write,
    check_version,
};

/// A new expense as the client sends it; checked by [`App::create_expense`].
#[derive(Debug, Clone)]
pub struct ExpenseInput {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Where.
    pub merchant: String,
    /// A policy category.
    pub category: String,
    /// A decimal string such as `"12.50"`.
    pub amount: String,
    /// An ISO 4217 code.
    pub currency: String,
    /// Free text.
    pub description: Option<String>,
    /// Why a soft policy rule may be waived.
    pub justification: Option<String>,
    /// The cost centres and project it is charged to; the default charges the owner's home
    /// cost centre.
    pub allocation: crate::AllocationInput,
    /// A mileage or per diem claim, whose amount is computed: `amount` and `currency` are then
    /// empty, and `date`, `merchant` and `category` may be (they default to the claim's).
    pub claim: Option<crate::ClaimInput>,
    /// The tax rate in percent the receipt shows (`"19"`); none for a claim.
    pub tax_rate: Option<String>,
    /// The tax amount the receipt shows; computed from the rate when absent.
    pub tax_amount: Option<String>,
}

/// An expense with its receipts and the policy rules it breaks now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpenseInfo {
    /// The expense.
    pub expense: Expense,
    /// Its receipts (stored ones, and uploads in progress).
    pub receipts: Vec<Receipt>,
    /// The policy rules it breaks, hard ones first.
    pub violations: Vec<Violation>,
    /// The version of the policy the violations were computed under.
    pub policy_version: u32,
    /// Whether the policy lets the company reclaim its tax (its category's is reclaimable).
    pub tax_reclaimable: bool,
    /// The tax the company reclaims, in the base currency (when it has a tax and a rate).
    pub reclaimable_tax: Option<Money>,
}

/// Changes to an expense; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ExpensePatch {
    /// New date.
    pub date: Option<String>,
    /// New merchant.
    pub merchant: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New amount (in the new or the current currency).
    pub amount: Option<String>,
    /// New currency.
    pub currency: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New justification.
    pub justification: Option<String>,
    /// A new cost centre split (empty: the owner's home cost centre).
    pub cost_centres: Option<Vec<crate::SplitInput>>,
    /// A new project (`Some(None)` clears it).
    pub project: Option<Option<String>>,
    /// A new tax rate (`""` removes the tax).
    pub tax_rate: Option<String>,
    /// A new tax amount; without it, the tax follows the rate and the amount.
    pub tax_amount: Option<String>,
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|_| s.len() == 10)
        .ok_or_else(|| {
            AppError::BadInput(format!(
                "date `{}` is not a YYYY-MM-DD date",
                s.chars().take(20).collect::<String>()
            ))
        })
}

fn parse_details(
    policy: &Policy,
    date: &str,
    merchant: &str,
    category: &str,
    description: &str,
    amount: &str,
    currency: &str,
) -> Result<ExpenseDetails> {
    let currency = Currency::parse(currency)?;
    let amount = Money::parse(amount, currency)?;
    let details = ExpenseDetails::new(parse_date(date)?, merchant, category, description, amount)?;
    if policy.category(details.category()).is_none() {
        let names: Vec<&str> = policy.categories.iter().map(|c| c.name.as_str()).collect();
        // The policy is data: a category it lacks is well-formed, just not one of this company's.
        return Err(AppError::Unprocessable(format!(
            "unknown category `{}`; use one of: {}",
            details.category(),
            names.join(", ")
        )));
    }
    Ok(details)
}

/// The details of an expense that claims `claim`: its amount, and the date, merchant and
/// category the claim gives where the input leaves them empty.
fn claimed(
    policy: &Policy,
    input: &ExpenseInput,
    claim: &crate::ClaimInput,
) -> Result<(ExpenseDetails, Option<outlay_domain::Claim>)> {
    if !input.amount.is_empty() || !input.currency.is_empty() {
        return Err(AppError::Unprocessable(
            "a mileage or per diem amount is computed from the rate tables: send no amount or currency"
                .into(),
        ));
    }
    let date = match input.date.as_str() {
        "" => None,
        d => Some(parse_date(d)?),
    };
    let priced = crate::allowances::price(policy, claim, date)?;
    if date.is_some_and(|d| d != priced.date) {
        return Err(AppError::Unprocessable(format!(
            "a stay's date is the day it started, {}",
            priced.date
        )));
    }
    let or = |given: &str, default: &str| {
        if given.trim().is_empty() {
            default.to_owned()
        } else {
            given.to_owned()
        }
    };
    let details = parse_details(
        policy,
        &priced.date.format("%Y-%m-%d").to_string(),
        &or(&input.merchant, &priced.label),
        &or(&input.category, priced.category),
        input.description.as_deref().unwrap_or(""),
        &priced.amount.amount_string(),
        priced.amount.currency().code(),
    )?;
    Ok((details, Some(priced.claim)))
}

/// The tax of an expense of `gross` at `rate` (a percentage; empty or absent: none), with the
/// receipt's tax `amount` where given.
fn tax(
    gross: Money,
    rate: Option<&str>,
    amount: Option<&str>,
) -> Result<Option<outlay_domain::Tax>> {
    let unprocessable = |e: outlay_domain::TaxError| AppError::Unprocessable(e.to_string());
    match (
        rate.map(str::trim).filter(|r| !r.is_empty()),
        amount.map(str::trim).filter(|a| !a.is_empty()),
    ) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(AppError::Unprocessable(
            "a tax amount needs its tax rate".into(),
        )),
        (Some(rate), amount) => {
            let rate = outlay_domain::Tax::parse_rate(rate).map_err(unprocessable)?;
            let amount = amount
                .map(|a| Money::parse(a, gross.currency()))
                .transpose()?;
            outlay_domain::Tax::new(rate, gross, amount)
                .map(Some)
                .map_err(unprocessable)
        }
    }
}

fn justification(j: Option<&str>) -> Result<Option<String>> {
    Ok(j.map(|j| text_field("justification", j, false, 2000))
        .transpose()?
        .filter(|j| !j.is_empty()))
}

impl App {
    /// Records a new expense for the caller.
    pub async fn create_expense(
        &self,
        caller: &Caller,
        input: ExpenseInput,
        idem: Option<&Idempotency>,
    ) -> Result<ExpenseInfo> {
        let created = self
            .once(caller.user.id, idem, async || {
                let policy = self.policy_or_default().await?;
                let (details, claim) = match &input.claim {
                    None => (
                        parse_details(
                            &policy,
                            &input.date,
                            &input.merchant,
                            &input.category,
                            input.description.as_deref().unwrap_or(""),
                            &input.amount,
                            &input.currency,
                        )?,
                        None,
                    ),
                    Some(claim) => {
                        if input.tax_rate.is_some() || input.tax_amount.is_some() {
                            return Err(AppError::Unprocessable(
                                "mileage and per diem carry no tax".into(),
                            ));
                        }
                        claimed(&policy, &input, claim)?
                    }
                };
                let tax = tax(
                    details.amount(),
                    input.tax_rate.as_deref(),
                    input.tax_amount.as_deref(),
                )?;
                let allocation =
                    crate::allocation::allocation(&policy, details.amount(), &input.allocation)?;
                let now = self.clock.now();
                let mut expense = Expense {
                    id: ExpenseId::from_uuid(self.ids.new_id()),
                    owner_id: caller.user.id,
                    details,
                    base_amount: None,
                    exchange_rate: None,
                    report_id: None,
                    justification: justification(input.justification.as_deref())?,
                    rejection: None,
                    allocation,
                    claim,
                    tax,
                    draft: false,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                };
                self.convert(&policy, &mut expense).await?;
                let audit = self.audit_record(
                    Some(caller),
                    "expense.create",
                    "expense",
                    expense.id,
                    None::<&Expense>,
                    Some(&expense),
                )?;
                let write = Write::PutExpense {
                    expense: expense.clone(),
                    expected_version: None,
                };
                let info = self.describe(&policy, expense).await?;
                Ok((
                    info,
                    Change::one(write, audit).guarded([Guard::user(&caller.user)]),
                ))
            })
            .await?;
        if idem.is_some() && self.store.expense(created.expense.id).await?.is_none() {
            return Err(crate::idempotency::gone("expense", created.expense.id));
        }
        Ok(created)
    }

    /// One of the caller's own expenses, with its receipts and violations.
    pub async fn get_expense(&self, caller: &Caller, id: ExpenseId) -> Result<ExpenseInfo> {
        let expense = self.expense(caller, id).await?;
        self.describe(&self.policy_or_default().await?, expense)
            .await
    }

    /// One of the caller's own expenses.
    pub(crate) async fn expense(&self, caller: &Caller, id: ExpenseId) -> Result<Expense> {
        match self.store.expense(id).await? {
            Some(e) if e.owner_id == caller.user.id => Ok(e),
            _ => Err(AppError::NotFound("expense")),
        }
    }

    /// Searches expenses: the caller's own (`mine`), or, for finance, every expense in a
    /// submitted report (`all`); narrowed and ordered by `params`.
    pub async fn list_expenses(
        &self,
        caller: &Caller,
        scope: &str,
        params: &ListParams,
        page: &PageRequest,
    ) -> Result<Page<ExpenseInfo>> {
        let scope = match scope {
            "mine" => ExpenseScope::Owner(caller.user.id),
            "all" => {
                crate::require(caller, outlay_domain::Role::Finance)?;
                ExpenseScope::Submitted
            }
            other => {
                return Err(AppError::BadInput(format!(
                    "scope `{}` is not one of mine, all",
                    other.chars().take(20).collect::<String>()
                )));
            }
        };
        let reported = match params.state.as_deref() {
            None | Some("") => None,
            Some("reported") => Some(true),
            Some("unreported") => Some(false),
            Some(other) => {
                return Err(AppError::BadInput(format!(
                    "state `{}` is not one of reported, unreported",
                    other.chars().take(20).collect::<String>()
                )));
            }
        };
        let policy = self.policy_or_default().await?;
        let search = ExpenseSearch {
            scope,
            reported,
            filter: ListFilter::parse(params, policy.base_currency)?,
            sort: params.sort()?,
        };
        let page = self.store.find_expenses(&search, page).await?;
        Ok(Page {
            items: self.describe_many(&policy, page.items).await?,
            next_cursor: page.next_cursor,
        })
    }

    /// An expense with its receipts and the rules it breaks today.
    pub(crate) async fn describe(&self, policy: &Policy, expense: Expense) -> Result<ExpenseInfo> {
        let mut one = self.describe_many(policy, vec![expense]).await?;
        Ok(one.pop().expect("one expense in, one out"))
    }

    /// [`App::describe`] for many expenses, with their receipts and duplicates read in one go.
    pub(crate) async fn describe_many(
        &self,
        policy: &Policy,
        expenses: Vec<Expense>,
    ) -> Result<Vec<ExpenseInfo>> {
        if expenses.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<ExpenseId> = expenses.iter().map(|e| e.id).collect();
        let receipts = self.store.receipts_of_expenses(&ids).await?;
        let duplicates = self.store.have_duplicates(&expenses).await?;
        // Judged on the latest calendar day anywhere, so that no one's today is in the future.
        let today = outlay_domain::latest_today(self.clock.now());
        Ok(expenses
            .into_iter()
            .zip(receipts)
            .zip(duplicates)
            .map(|((expense, receipts), duplicate)| {
                Self::described(policy, today, expense, receipts, duplicate)
            })
            .collect())
    }

    /// An expense described with its `receipts` and whether it has a `duplicate`, as the
    /// policy judges it on `today`.
    pub(crate) fn described(
        policy: &Policy,
        today: chrono::NaiveDate,
        expense: Expense,
        receipts: Vec<Receipt>,
        duplicate: bool,
    ) -> ExpenseInfo {
        let facts = Facts {
            today,
            receipts: receipts
                .iter()
                .filter(|r| r.state == ReceiptState::Stored)
                .count(),
            // Drafts share their placeholders, which are nobody's claim.
            duplicate: duplicate && !expense.draft,
        };
        let violations = policy.evaluate(&expense, &facts);
        let reclaimable = expense.reclaimable_tax(policy);
        ExpenseInfo {
            tax_reclaimable: policy
                .category(expense.details.category())
                .is_some_and(|c| c.tax_reclaimable),
            reclaimable_tax: reclaimable.and_then(|(_, base)| base),
            expense,
            receipts,
            violations,
            policy_version: policy.version,
        }
    }

    /// Converts the expense into the base currency at the rate of its own date (the nearest
    /// earlier rate, at most a week old), and records the rate used.
    pub(crate) async fn convert(&self, policy: &Policy, expense: &mut Expense) -> Result<()> {
        let amount = expense.details.amount();
        let converted = self.to_base(policy, amount, expense.details.date()).await?;
        expense.base_amount = converted.map(|(base, _)| base);
        expense.exchange_rate = converted.map(|(_, rate)| rate.to_string());
        Ok(())
    }

    /// `amount` in the policy's base currency at the rate of `day`, with the rate; `None`
    /// when no rate applies to that day.
    pub(crate) async fn to_base(
        &self,
        policy: &Policy,
        amount: outlay_domain::Money,
        day: chrono::NaiveDate,
    ) -> Result<Option<(outlay_domain::Money, outlay_domain::Rate)>> {
        if amount.currency() == policy.base_currency {
            return Ok(Some((amount, outlay_domain::Rate::one())));
        }
        match self.store.rate_on_or_before(amount.currency(), day).await? {
            Some(r) if r.applies_to(day) => {
                let base = outlay_domain::exchange::convert(amount, r.rate, policy.base_currency)
                    .map_err(|e| AppError::Unprocessable(e.to_string()))?;
                Ok(Some((base, r.rate)))
            }
            _ => Ok(None),
        }
    }

    /// Edits one of the caller's expenses while it is not in a submitted report.
    pub async fn update_expense(
        &self,
        caller: &Caller,
        id: ExpenseId,
        patch: ExpensePatch,
        expected_version: Option<i64>,
    ) -> Result<ExpenseInfo> {
        let before = self.expense(caller, id).await?;
        check_version(expected_version, before.version)?;
        let report = self.ensure_editable(&before).await?;
        let policy = self.policy_or_default().await?;
        let expense = self.patched(&policy, &before, patch).await?;
        let audit = self.audit_record(
            Some(caller),
            "expense.update",
            "expense",
            id,
            Some(&before),
            Some(&expense),
        )?;
        let write = Write::PutExpense {
            expense: expense.clone(),
            expected_version: Some(before.version),
        };
        // Decided on: the caller, and the report still being editable.
        let guards =
            std::iter::once(Guard::user(&caller.user)).chain(report.as_ref().map(Guard::report));
        self.store
            .commit(Change::one(write, audit).guarded(guards))
            .await?;
        self.describe(&policy, expense).await
    }

    /// `before` with `patch` applied, checked, and converted at its date's rate: the next
    /// version, confirmed by its owner (no longer a draft).
    pub(crate) async fn patched(
        &self,
        policy: &Policy,
        before: &Expense,
        patch: ExpensePatch,
    ) -> Result<Expense> {
        let d = &before.details;
        let changes = |new: &Option<String>, old: String| new.as_ref().is_some_and(|n| *n != old);
        if before.claim.is_some()
            && (changes(&patch.amount, d.amount().amount_string())
                || changes(&patch.currency, d.amount().currency().code().to_owned())
                || changes(&patch.date, d.date().format("%Y-%m-%d").to_string()))
        {
            return Err(AppError::Unprocessable(format!(
                "a {} expense's amount and date come from its claim; record the claim again to change them",
                before.kind().replace('_', " ")
            )));
        }
        let d = &before.details;
        let amount_string = d.amount().amount_string();
        let details = parse_details(
            policy,
            &patch
                .date
                .unwrap_or_else(|| d.date().format("%Y-%m-%d").to_string()),
            patch.merchant.as_deref().unwrap_or(d.merchant()),
            patch.category.as_deref().unwrap_or(d.category()),
            patch.description.as_deref().unwrap_or(d.description()),
            patch.amount.as_deref().unwrap_or(&amount_string),
            patch
                .currency
                .as_deref()
                .unwrap_or(d.amount().currency().code()),
        )?;
        let mut expense = before.clone();
        let amount = details.amount();
        expense.details = details;
        let asked = (patch.cost_centres.is_some() || patch.project.is_some()).then(|| {
            let kept = expense.allocation.clone().unwrap_or_default();
            crate::AllocationInput {
                cost_centres: patch.cost_centres.clone().unwrap_or_else(|| {
                    kept.splits
                        .iter()
                        .map(|s| crate::SplitInput {
                            cost_centre: s.cost_centre.clone(),
                            percent: None,
                            amount: Some(s.amount.amount_string()),
                        })
                        .collect()
                }),
                project: patch.project.clone().unwrap_or(kept.project),
            }
        });
        match &asked {
            Some(a) => expense.allocation = crate::allocation::allocation(policy, amount, a)?,
            None => {
                let splits = expense
                    .allocation
                    .as_ref()
                    .map_or(&[][..], |a| &a.splits[..]);
                let sum: i64 = splits.iter().map(|s| s.amount.minor()).sum();
                if !splits.is_empty()
                    && (sum != amount.minor() || splits[0].amount.currency() != amount.currency())
                {
                    return Err(AppError::Unprocessable(
                        "the cost centre split no longer sums to the amount: send the split again"
                            .into(),
                    ));
                }
            }
        }
        if patch.justification.is_some() {
            expense.justification = justification(patch.justification.as_deref())?;
        }
        // The tax follows a new rate, and a new amount or currency, unless the receipt's tax
        // amount is given.
        if patch.tax_rate.is_some()
            || patch.tax_amount.is_some()
            || (expense.tax.is_some() && amount != before.details.amount())
        {
            let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
            if before.claim.is_some() && (given(&patch.tax_rate) || given(&patch.tax_amount)) {
                return Err(AppError::Unprocessable(
                    "mileage and per diem carry no tax".into(),
                ));
            }
            let rate = patch
                .tax_rate
                .clone()
                .or_else(|| expense.tax.as_ref().map(|t| t.rate.to_string()));
            expense.tax = tax(amount, rate.as_deref(), patch.tax_amount.as_deref())?;
        }
        expense.draft = false;
        expense.version += 1;
        expense.updated_at = self.clock.now();
        self.convert(policy, &mut expense).await?;
        Ok(expense)
    }

    /// Deletes one of the caller's expenses while it is not in a submitted report. A report
    /// keeps at least one expense.
    pub async fn delete_expense(
        &self,
        caller: &Caller,
        id: ExpenseId,
        expected_version: Option<i64>,
    ) -> Result<()> {
        let expense = self.expense(caller, id).await?;
        check_version(expected_version, expense.version)?;
        let report = self.ensure_editable(&expense).await?;
        let mut writes = Vec::new();
        if let Some(report) = report {
            // The report's membership changes: the report changes with it (a new version
            // and total), so that a concurrent submission or deletion that counted its
            // expenses cannot also commit.
            let rest: Vec<Expense> = self
                .store
                .expenses_of_report(report.id)
                .await?
                .into_iter()
                .filter(|e| e.id != id)
                .collect();
            if rest.is_empty() {
                return Err(AppError::Conflict(
                    "this is the report's only expense; a report keeps at least one".into(),
                ));
            }
            let mut next = report.clone();
            next.total = crate::reports::total(&rest)?;
            next.version += 1;
            next.updated_at = self.clock.now();
            writes.push(Write::PutReport {
                report: next,
                expected_version: Some(report.version),
            });
        }
        let receipts = self.store.receipts_of_expense(id).await?;
        let audit = self.audit_record(
            Some(caller),
            "expense.delete",
            "expense",
            id,
            Some(&expense),
            None::<&Expense>,
        )?;
        let mut change = Change::one(
            Write::DeleteExpense {
                id,
                expected_version: expense.version,
            },
            audit,
        );
        change
            .writes
            .splice(0..0, receipts.iter().map(|r| Write::DeleteReceipt(r.id)));
        change.writes.extend(writes);
        for r in &receipts {
            change.writes.extend(self.reading_deletes(r.id).await?);
        }
        change.guards.push(Guard::user(&caller.user));
        self.store.commit(change).await?;
        for r in &receipts {
            self.forget_blob(r).await;
        }
        Ok(())
    }

    /// Refuses changes to an expense whose report is submitted, approved or paid; answers the
    /// report as read, for the change's guards.
    pub(crate) async fn ensure_editable(&self, expense: &Expense) -> Result<Option<Report>> {
        let Some(report_id) = expense.report_id else {
            return Ok(None);
        };
        let report = self
            .store
            .report(report_id)
            .await?
            .ok_or(AppError::NotFound("report"))?;
        if report.state.is_editable() {
            Ok(Some(report))
        } else {
            Err(AppError::Conflict(format!(
                "the expense is in a report that is {}; it cannot change until the report is rejected or withdrawn",
                report.state
            )))
        }
    }

    /// The stored policy. A store without one gets the built-in default, so a fresh install
    /// works before finance has configured anything.
    pub(crate) async fn policy_or_default(&self) -> Result<Policy> {
        Ok(self.policy_as_stored().await?.0)
    }

    /// The policy in force, and what is stored (`None`: nothing yet, the default applies), for
    /// a change that must not commit if the policy changed meanwhile.
    pub(crate) async fn policy_as_stored(&self) -> Result<(Policy, Option<Policy>)> {
        let stored = self.store.policy().await?;
        Ok((stored.clone().unwrap_or_else(crate::default_policy), stored))
    }
}

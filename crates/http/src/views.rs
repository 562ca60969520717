//! What the API answers: views of the domain's values, described for OpenAPI.

use chrono::{DateTime, NaiveDate, Utc};
use outlay_app::{ExpenseInfo, ReportDetails};
use outlay_domain::{AuditEvent, Receipt, Report, User, Violation};
use serde::Serialize;
use utoipa::ToSchema;

/// A user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Lower-case role names.
    pub roles: Vec<String>,
    /// Whom the user reports to.
    pub manager_id: Option<String>,
    /// Whether the user may sign in.
    pub active: bool,
    /// The IANA time zone the user reads times in; `null`: the company's.
    pub time_zone: Option<String>,
    /// Who decides the user's approval steps while they are away.
    pub delegation: Option<DelegationView>,
    /// The cost centre the user's expenses are charged to unless split.
    pub home_cost_centre: Option<String>,
    /// For `If-Match`.
    pub version: i64,
}

/// A delegation: from `from` to `until` (both included), `delegate_id` decides for the user.
#[derive(Debug, Serialize, ToSchema)]
pub struct DelegationView {
    /// The delegate.
    pub delegate_id: String,
    /// The first day.
    pub from: chrono::NaiveDate,
    /// The last day.
    pub until: chrono::NaiveDate,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.to_string(),
            name: u.name,
            roles: u.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            manager_id: u.manager_id.map(|m| m.to_string()),
            active: u.active,
            time_zone: u.time_zone.map(|z| z.name().to_owned()),
            delegation: u.delegation.map(|d| DelegationView {
                delegate_id: d.delegate_id.to_string(),
                from: d.from,
                until: d.until,
            }),
            home_cost_centre: u.home_cost_centre,
            version: u.version,
        }
    }
}

/// A policy violation of an expense.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViolationView {
    /// The expense that breaks the rule (in report and error views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expense_id: Option<String>,
    /// The rule (`receipt_required`, `category_limit`, `duplicate`, `too_old`, ...).
    pub rule: String,
    /// `hard` blocks submission; `soft` needs a justification.
    pub severity: String,
    /// What is wrong, for people.
    pub message: String,
}

/// An expense.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExpenseView {
    /// Id.
    pub id: String,
    /// The employee.
    pub owner_id: String,
    /// The report it is in.
    pub report_id: Option<String>,
    /// The day it was spent.
    pub date: NaiveDate,
    /// Where.
    pub merchant: String,
    /// Policy category.
    pub category: String,
    /// Free text.
    pub description: String,
    /// Amount as an exact decimal string.
    pub amount: String,
    /// ISO 4217 currency of `amount`.
    pub currency: String,
    /// Amount in the base currency, once a rate is known.
    pub base_amount: Option<String>,
    /// The base currency of `base_amount`.
    pub base_currency: Option<String>,
    /// The rate used (one unit of `currency` in base units).
    pub exchange_rate: Option<String>,
    /// The justification for soft violations.
    pub justification: Option<String>,
    /// Why an approver took it out of a report, until it joins another.
    pub rejection: Option<LineRejectionView>,
    /// The cost centre split, in the expense's currency; empty: all of it to the owner's home
    /// cost centre.
    pub cost_centres: Vec<SplitView>,
    /// The project it is charged to.
    pub project: Option<String>,
    /// `receipt`, `mileage` or `per_diem`.
    pub kind: String,
    /// The tax (VAT) rate in percent, if the receipt shows tax.
    pub tax_rate: Option<String>,
    /// The tax in `amount`, in its currency.
    pub tax_amount: Option<String>,
    /// Whether the company may reclaim the tax (the policy's rule for its category).
    pub tax_reclaimable: bool,
    /// `amount` less its tax.
    pub net_amount: String,
    /// A mileage claim, as priced.
    pub mileage: Option<crate::allowances::MileageView>,
    /// A per diem claim, as priced.
    pub per_diem: Option<crate::allowances::PerDiemView>,
    /// A per diem claim's days.
    pub breakdown: Option<Vec<crate::allowances::AllowanceDayView>>,
    /// Receipts attached.
    pub receipts: Vec<ReceiptView>,
    /// Made from a receipt (`POST /api/v1/receipts`) and not yet confirmed: its details are
    /// placeholders until what was read is accepted or the expense is edited.
    pub draft: bool,
    /// Policy violations.
    pub violations: Vec<ViolationView>,
    /// The version of the policy the violations were computed under.
    pub policy_version: u32,
    /// For `If-Match`.
    pub version: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// One cost centre of an expense's split.
#[derive(Debug, Serialize, ToSchema)]
pub struct SplitView {
    /// The cost centre's code.
    pub cost_centre: String,
    /// Its part, in the expense's currency.
    pub amount: String,
}

/// An approver's rejection of one line of a report.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineRejectionView {
    /// The report it was taken out of.
    pub report_id: String,
    /// Why.
    pub reason: String,
    /// Who rejected it.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl ViolationView {
    /// A violation, optionally naming its expense.
    pub fn new(v: Violation, expense_id: Option<String>) -> Self {
        Self {
            expense_id,
            rule: v.rule,
            severity: serde_plain(&v.severity),
            message: v.message,
        }
    }
}

/// A receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptView {
    /// Id; download at `/api/v1/receipts/{id}`.
    pub id: String,
    /// The expense.
    pub expense_id: String,
    /// `pending` (upload not completed) or `stored`.
    pub state: String,
    /// `image/jpeg`, `image/png` or `application/pdf`.
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256, hex, once stored.
    pub sha256: Option<String>,
    /// A safe file name.
    pub filename: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<Receipt> for ReceiptView {
    fn from(r: Receipt) -> Self {
        Self {
            id: r.id.to_string(),
            expense_id: r.expense_id.to_string(),
            state: serde_plain(&r.state),
            content_type: r.content_type.mime().to_owned(),
            size: r.size,
            sha256: r.sha256,
            filename: r.filename,
            created_at: r.created_at,
        }
    }
}

impl From<ExpenseInfo> for ExpenseView {
    fn from(info: ExpenseInfo) -> Self {
        let e = info.expense;
        let d = &e.details;
        let (mileage, per_diem, breakdown) = crate::allowances::claim_views(e.claim.as_ref());
        let tax_minor = e.tax.as_ref().map_or(0, outlay_domain::Tax::minor);
        Self {
            draft: e.draft,
            kind: e.kind().to_owned(),
            tax_rate: e.tax.as_ref().map(|t| t.rate.to_string()),
            tax_amount: e
                .tax
                .as_ref()
                .and_then(|t| t.amount)
                .map(|a| a.amount_string()),
            tax_reclaimable: info.tax_reclaimable,
            net_amount: outlay_domain::allowance::minor_string(
                d.amount().minor() - tax_minor,
                d.amount().currency(),
            ),
            mileage,
            per_diem,
            breakdown,
            policy_version: info.policy_version,
            id: e.id.to_string(),
            owner_id: e.owner_id.to_string(),
            report_id: e.report_id.map(|r| r.to_string()),
            date: d.date(),
            merchant: d.merchant().to_owned(),
            category: d.category().to_owned(),
            description: d.description().to_owned(),
            amount: d.amount().amount_string(),
            currency: d.amount().currency().code().to_owned(),
            base_amount: e.base_amount.map(|m| m.amount_string()),
            base_currency: e.base_amount.map(|m| m.currency().code().to_owned()),
            exchange_rate: e.exchange_rate,
            justification: e.justification,
            cost_centres: e
                .allocation
                .as_ref()
                .map(|a| {
                    a.splits
                        .iter()
                        .map(|s| SplitView {
                            cost_centre: s.cost_centre.clone(),
                            amount: s.amount.amount_string(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            project: e.allocation.as_ref().and_then(|a| a.project.clone()),
            rejection: e.rejection.map(|r| LineRejectionView {
                report_id: r.report_id.to_string(),
                reason: r.reason,
                by: r.by.to_string(),
                at: r.at,
            }),
            receipts: info.receipts.into_iter().map(ReceiptView::from).collect(),
            violations: info
                .violations
                .into_iter()
                .map(|v| ViolationView::new(v, None))
                .collect(),
            version: e.version,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// A decision on a step.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    /// Who.
    pub by: String,
    /// `approved` or `rejected`.
    pub outcome: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Comment or reason.
    pub note: Option<String>,
}

/// An approval step of the current submission.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepView {
    /// `manager`, `senior` or `finance`.
    pub level: String,
    /// The approver; absent for finance, which is a queue.
    pub approver_id: Option<String>,
    /// Why the step exists ("Mia Manager is the submitter's manager"); empty on steps planned
    /// before reasons were kept.
    pub reason: String,
    /// Set while the approver decides the step for someone away.
    pub stand_in: Option<StandInView>,
    /// Whom the step was escalated to after waiting too long; they may decide it too.
    pub escalated_to: Option<String>,
    /// When its approver was reminded that it waits.
    pub reminded_at: Option<DateTime<Utc>>,
    /// The decision, once made.
    pub decision: Option<DecisionView>,
}

/// A step decided for its approver, who is away.
#[derive(Debug, Serialize, ToSchema)]
pub struct StandInView {
    /// The approver the step was assigned to.
    pub for_id: String,
    /// Why it moved.
    pub note: String,
}

impl From<outlay_domain::Step> for StepView {
    fn from(s: outlay_domain::Step) -> Self {
        Self {
            level: serde_plain(&s.level),
            approver_id: s.approver_id.map(|a| a.to_string()),
            reason: s.reason,
            escalated_to: s.escalated_to.map(|e| e.to_string()),
            reminded_at: s.reminded_at,
            stand_in: s.stand_in.map(|x| StandInView {
                for_id: x.for_id.to_string(),
                note: x.note,
            }),
            decision: s.decision.map(|d| DecisionView {
                by: d.by.to_string(),
                outcome: serde_plain(&d.outcome),
                at: d.at,
                note: d.note,
            }),
        }
    }
}

/// A report's route: who decides it, in order, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteView {
    /// Whether these are the steps a submission would get now (a draft or rejected report),
    /// rather than those of the current submission.
    pub planned: bool,
    /// The steps in order.
    pub steps: Vec<StepView>,
}

impl From<outlay_app::RoutePlan> for RouteView {
    fn from(r: outlay_app::RoutePlan) -> Self {
        Self {
            planned: r.planned,
            steps: r.steps.into_iter().map(StepView::from).collect(),
        }
    }
}

/// A payment.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    /// The reference.
    pub reference: String,
    /// Who paid.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A report; lists leave out `expenses`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    /// Id.
    pub id: String,
    /// The employee reimbursed.
    pub owner_id: String,
    /// Title.
    pub title: String,
    /// Business purpose.
    pub purpose: String,
    /// `draft`, `pending_manager`, `pending_senior`, `pending_finance`, `approved`, `paid` or
    /// `rejected`.
    pub state: String,
    /// For `If-Match`.
    pub version: i64,
    /// Total in the base currency, once every expense has a base amount.
    pub total: Option<String>,
    /// The base currency of `total`.
    pub currency: Option<String>,
    /// The tax the company reclaims on its expenses, in the base currency (with `expenses`).
    pub tax_total: Option<String>,
    /// `total` less `tax_total` (with `expenses`).
    pub net_total: Option<String>,
    /// What cash advances of its owner settled of it, in the base currency.
    pub advance_applied: Option<String>,
    /// What its payment is: `total` less `advance_applied`.
    pub payable: Option<String>,
    /// The steps of the current submission.
    pub steps: Vec<StepView>,
    /// How many times it was submitted.
    pub submissions: u32,
    /// The version of the policy the current submission's route was computed under.
    pub policy_version: Option<u32>,
    /// When it was last submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Why it was last rejected, while rejected.
    pub rejection_reason: Option<String>,
    /// The payment, once paid.
    pub payment: Option<PaymentView>,
    /// Policy violations across its expenses.
    pub violations: Vec<ViolationView>,
    /// Its expenses (on a single report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expenses: Option<Vec<ExpenseView>>,
    /// What the caller may do to it now (on a single report): `submit`, `withdraw`, `approve`,
    /// `reject`, `reject_line`, `pay`, `edit`, `delete`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Report> for ReportView {
    fn from(r: Report) -> Self {
        let payable = r.payable_amount();
        Self {
            id: r.id.to_string(),
            owner_id: r.owner_id.to_string(),
            title: r.title,
            purpose: r.purpose,
            state: r.state.as_str().to_owned(),
            version: r.version,
            total: r.total.map(|t| t.amount_string()),
            currency: r.total.map(|t| t.currency().code().to_owned()),
            tax_total: None,
            net_total: None,
            advance_applied: r.advance_applied.map(|m| m.amount_string()),
            payable,
            steps: r.steps.into_iter().map(StepView::from).collect(),
            submissions: r.submissions,
            policy_version: r.policy_version,
            submitted_at: r.submitted_at,
            rejection_reason: r.rejection_reason,
            payment: r.payment.map(|p| PaymentView {
                reference: p.reference,
                by: p.by.to_string(),
                at: p.at,
            }),
            violations: vec![],
            expenses: None,
            actions: None,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl From<ReportDetails> for ReportView {
    fn from(d: ReportDetails) -> Self {
        let total = outlay_app::report_total(&d.expenses);
        let mut view = ReportView::from(d.report);
        // While a report can still change, its total follows its expenses.
        if let Some(t) = total {
            view.total = Some(t.amount_string());
            view.currency = Some(t.currency().code().to_owned());
            let tax: i64 = d
                .expenses
                .iter()
                .filter_map(|e| e.reclaimable_tax)
                .map(|m| m.minor())
                .sum();
            let money = |minor| outlay_domain::allowance::minor_string(minor, t.currency());
            view.tax_total = Some(money(tax));
            view.net_total = Some(money(t.minor() - tax));
        }
        view.violations = d
            .expenses
            .iter()
            .flat_map(|e| {
                e.violations
                    .iter()
                    .map(|v| ViolationView::new(v.clone(), Some(e.expense.id.to_string())))
            })
            .collect();
        view.expenses = Some(d.expenses.into_iter().map(ExpenseView::from).collect());
        view.actions = Some(d.actions.iter().map(serde_plain).collect());
        view
    }
}

/// The snake_case name of a unit enum, as serde writes it.
pub(crate) fn serde_plain<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// An audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    /// Position in the chain.
    pub seq: i64,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Who; absent for the system.
    pub actor_id: Option<String>,
    /// What (`report.submit`, ...).
    pub action: String,
    /// From where.
    pub source: Option<String>,
    /// The entity before.
    pub before: Option<serde_json::Value>,
    /// The entity after.
    pub after: Option<serde_json::Value>,
    /// The event's chain hash.
    pub hash: String,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        Self {
            seq: e.seq,
            at: e.record.at,
            actor_id: e.record.actor_id,
            action: e.record.action,
            source: e.record.source,
            before: parse(e.record.before),
            after: parse(e.record.after),
            hash: e.hash,
        }
    }
}

/// A page of items.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageView<T: ToSchema> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> PageView<T> {
    /// Maps a page of domain values.
    pub fn from_page<U>(page: outlay_app::Page<U>, f: impl FnMut(U) -> T) -> Self {
        let page = page.map(f);
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

//! Outlay's pure domain: money, users and roles, expenses, reports, the approval state
//! machine, policy and the audit hash chain. No IO, no async, no frameworks.

pub mod access;
pub mod advance;
pub mod allowance;
pub mod audit;
pub mod checkpoint;
pub mod delegation;
pub mod escalation;
pub mod exchange;
pub mod expense;
pub mod ids;
pub mod journal;
pub mod money;
pub mod org;
pub mod payment;
pub mod policy;
pub mod reading;
pub mod receipt;
pub mod report;
pub mod route;
pub mod rules;
pub mod tax;
pub mod user;
pub mod workflow;
pub mod zone;

pub use allowance::{
    AllowanceError, Allowances, Claim, DistanceUnit, MealsProvided, MileageRate, PerDiemRate,
    Vehicle,
};
pub use audit::{AuditEvent, AuditRecord, BrokenEvent, ChainVerifier};
pub use checkpoint::{AnchoredVerifier, Checkpoint, CheckpointKey};
pub use delegation::{Delegation, DelegationError, StandIn};
pub use escalation::{Reminders, WorkingCalendar};
pub use exchange::{ExchangeRate, Rate};
pub use expense::{Expense, ExpenseDetails, ExpenseError, LineRejection};
pub use ids::{ExpenseId, IdError, ReportId, UserId};
pub use money::{Currency, Money, MoneyError};
pub use org::{Allocation, CostCentre, OrgError, Project, Split};
pub use payment::{
    AccountNumber, BankAccount, BankError, BatchId, BatchItem, BatchState, FileFormat,
    PayingAccount, PaymentBatch, Reconciled, StatementEntry,
};
pub use policy::{CategoryRule, Facts, Policy, PolicyError, Severity, Violation};
pub use receipt::{MAX_RECEIPT_BYTES, Receipt, ReceiptId, ReceiptState, ReceiptType};
pub use report::{Decision, Level, Outcome, Payment, Report, ReportState, Step};
pub use route::{Approver, Route, RuleStep};
pub use rules::{CostCentreMatch, RoutingRule, RuleApprover};
pub use tax::{Tax, TaxError};
pub use user::{Email, Role, User, UserError};
pub use workflow::{Command, Refusal, decide};
pub use zone::{TimeZone, ZoneError, latest_today};

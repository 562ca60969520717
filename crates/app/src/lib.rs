//! Outlay's use cases and the ports they need.
//!
//! Every rule about who may do what is enforced here, per object, so the HTTP API, the web UI,
//! the command line and Lambda all get the same answers. Use cases build a [`Change`] and hand
//! it to the [`Store`], which commits it with its audit events in one transaction.

mod advances;
mod allocation;
mod allowances;
mod audit;
mod audit_browser;
mod auth;
pub mod change;
mod delegations;
pub mod docs;
mod drafts;
mod error;
mod expenses;
mod finance;
mod idempotency;
mod insights;
mod journal;
mod lines;
pub mod lists;
pub mod mail;
pub mod notify;
mod org;
mod payments;
pub mod ports;
mod preview;
mod readings;
mod receipts;
mod reports;
pub mod reports_csv;
mod routing;
mod schedule;
mod statements;
pub mod transfer;
mod users;

use std::sync::Arc;

use outlay_domain::{AuditRecord, User};
use serde::Serialize;

pub use allocation::{AllocationInput, SplitInput};
pub use allowances::{AllowancesDraft, ClaimInput, Priced, default_allowances};
pub use audit::{BUNDLE_FORMAT, BundleLine, Verification, verify_bundle};
pub use audit_browser::{AuditFilter, AuditPage};
pub use auth::{ADDRESS_BURST, ADDRESS_PERIOD, LOGIN_BURST, LOGIN_PERIOD};
pub use change::{
    Change, Doc, DocKind, Guard, IdempotencyRecord, Page, PageRequest, ReportQuery, ReportScope,
    Write,
};
pub use change::{decode_cursor, encode_cursor};
pub use delegations::DelegationInput;
pub use drafts::ReportPatch;
pub use error::{AppError, Result};
pub use expenses::{ExpenseInfo, ExpenseInput, ExpensePatch};
pub use finance::{CurrencyChoice, PolicyDraft};
pub use idempotency::Idempotency;
pub use insights::{Member, Person, Spend, SpendFilter, SpendRow, Team};
pub use lists::{ExpenseScope, ExpenseSearch, ListFilter, ListParams, ReportSearch, Sort};
pub use notify::{Channel, Delivery, Dispatched, Notification, NotifySettings, OutboxMessage};
pub use org::{CostCentreInput, ProjectInput, RuleInput, may_keep_org};
pub use payments::{BankInput, BatchFile, MAX_BATCH_REPORTS};
pub use ports::{
    AccessToken, AuditSigner, BlobStore, CheckpointEntries, CheckpointLog, Clock, HostedLogin,
    IdGen, IdentityAdmin, IdentityVerifier, Notifier, Outbox, OutboxStats, PasswordLogin,
    PaymentFiles, STALE, SessionInfo, SignInStart, Store, StoreError, StoreResult, SystemClock,
    UuidV7, Verified,
};
pub use preview::{PolicyPreview, RouteChange, ViolationChange};
pub use readings::{DRAFT_MERCHANT, ReadPass, ReaderChain, ReadingInfo, ReadingJob};
pub use receipts::{ReceiptFile, UploadTicket};
pub use reports::{Action, NewReport, ReportDetails};
pub use routing::RoutePlan;
pub use schedule::Sweep;
pub use statements::{EntryOutcome, MAX_STATEMENT_BYTES, StatementImport};

/// The total of some expenses in the base currency, if every one has a base amount.
pub fn report_total(expenses: &[ExpenseInfo]) -> Option<outlay_domain::Money> {
    reports::total(expenses.iter().map(|e| &e.expense))
        .ok()
        .flatten()
}
pub use users::{NewUser, UserPatch};

/// Who is calling, as established by a verified token (or the trusted command line).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user, read from the store on this request (so role changes apply at once).
    pub user: User,
    /// Where the request came from (client address), for the audit trail.
    pub source: Option<String>,
    /// The sign-in the token belongs to.
    pub session: Option<ports::SessionInfo>,
}

/// The adapters the use cases run on.
#[derive(Clone)]
pub struct Ports {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Receipt files.
    pub blobs: Arc<dyn BlobStore>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Ids.
    pub ids: Arc<dyn IdGen>,
    /// Local password login; `None` where an identity provider issues the tokens.
    pub login: Option<Arc<dyn PasswordLogin>>,
    /// Token verification.
    pub verifier: Arc<dyn IdentityVerifier>,
    /// The identity provider's user administration, where users sign in elsewhere (Cognito).
    pub identities: Option<Arc<dyn IdentityAdmin>>,
    /// Sign-in on the identity provider's hosted pages, for the web UI (Cognito).
    pub hosted: Option<Arc<dyn HostedLogin>>,
    /// The audit chain's anchor outside the store.
    pub anchor: Anchor,
    /// Bank files.
    pub files: Arc<dyn PaymentFiles>,
    /// Receipt readers, in the order they are tried.
    pub reader: Arc<dyn ports::ReceiptReader>,
    /// The reader of received email.
    pub mail: Arc<dyn ports::MailParser>,
}

/// Where the audit chain is anchored: the checkpoint signer and the checkpoint log.
#[derive(Clone)]
pub struct Anchor {
    /// Signs checkpoints.
    pub signer: Arc<dyn AuditSigner>,
    /// Keeps them.
    pub log: Arc<dyn CheckpointLog>,
}

/// The application: the use cases over their ports.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
    login: Option<Arc<dyn PasswordLogin>>,
    verifier: Arc<dyn IdentityVerifier>,
    identities: Option<Arc<dyn IdentityAdmin>>,
    hosted: Option<Arc<dyn HostedLogin>>,
    anchor: Anchor,
    files: Arc<dyn PaymentFiles>,
    reader: Arc<dyn ports::ReceiptReader>,
    mail: Arc<dyn ports::MailParser>,
    login_attempts: Arc<auth::LoginAttempts>,
    hashing: Arc<auth::HashingSlots>,
    notify: NotifySettings,
    upload_key: Arc<Vec<u8>>,
}

impl App {
    /// Wires the use cases to their adapters. `upload_key` signs Outlay's own upload URLs.
    pub fn new(ports: Ports, notify: NotifySettings, upload_key: Vec<u8>) -> Self {
        Self {
            store: ports.store,
            blobs: ports.blobs,
            clock: ports.clock,
            ids: ports.ids,
            login: ports.login,
            verifier: ports.verifier,
            identities: ports.identities,
            hosted: ports.hosted,
            anchor: ports.anchor,
            files: ports.files,
            reader: ports.reader,
            mail: ports.mail,
            login_attempts: Arc::default(),
            hashing: Arc::new(auth::HashingSlots::for_this_machine()),
            notify,
            upload_key: Arc::new(upload_key),
        }
    }

    /// The store, for operational checks such as readiness.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// An audit record of `action` on an entity by `caller` (or the system), with the entity
    /// before and after as JSON.
    fn audit_record(
        &self,
        caller: Option<&Caller>,
        action: &str,
        entity_kind: &str,
        entity_id: impl ToString,
        before: Option<&impl Serialize>,
        after: Option<&impl Serialize>,
    ) -> Result<AuditRecord> {
        Ok(AuditRecord {
            at: self.clock.now(),
            actor_id: caller.map(|c| c.user.id.to_string()),
            action: action.to_owned(),
            entity_kind: entity_kind.to_owned(),
            entity_id: entity_id.to_string(),
            source: caller.map_or(Some("cli".to_owned()), |c| c.source.clone()),
            before: to_json(before)?,
            after: to_json(after)?,
        })
    }
}

fn to_json(v: Option<&impl Serialize>) -> Result<Option<String>> {
    v.map(serde_json::to_string)
        .transpose()
        .map_err(|e| AppError::Internal(e.into()))
}

/// Fails unless the caller holds `role`.
pub fn require(caller: &Caller, role: outlay_domain::Role) -> Result<()> {
    if caller.user.has(role) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!("this needs the {role} role")))
    }
}

/// Fails with a 409 unless `expected` (from `If-Match`) is absent or equals `actual`.
fn check_version(expected: Option<i64>, actual: i64) -> Result<()> {
    match expected {
        Some(v) if v != actual => Err(AppError::Conflict(format!(
            "version {v} is stale; the current version is {actual}"
        ))),
        _ => Ok(()),
    }
}

/// The policy of a fresh installation and of the demo company: USD, senior approval above
/// 1,000.00, receipts from 75.00, meals up to 100.00 and lodging up to 300.00 (soft), nothing
/// older than 90 days, duplicates flagged.
pub fn default_policy() -> outlay_domain::Policy {
    use outlay_domain::{CategoryRule, Currency, Money, Policy, Severity};
    let usd = Currency::parse("USD").expect("USD is an ISO 4217 code");
    let money = |s: &str| Money::parse(s, usd).expect("a valid built-in amount");
    // Business spend whose VAT a company usually reclaims; meals and per diem it usually
    // cannot (entertainment and allowances), nor mileage (no invoice).
    let category = |name: &str, limit: Option<&str>| CategoryRule {
        name: name.to_owned(),
        limit: limit.map(money),
        limit_severity: Severity::Soft,
        tax_reclaimable: matches!(name, "travel" | "lodging" | "office" | "software"),
    };
    Policy {
        version: 1,
        base_currency: usd,
        senior_threshold: money("1000.00"),
        categories: vec![
            category("travel", None),
            category("meals", Some("100.00")),
            category("lodging", Some("300.00")),
            category("office", None),
            category("software", None),
            category("mileage", None),
            category("per_diem", None),
            category("other", None),
        ],
        receipt_required_from: Some(money("75.00")),
        receipt_severity: Severity::Hard,
        max_age_days: Some(90),
        duplicates: Some(Severity::Soft),
        allowed_currencies: vec![],
        time_zone: outlay_domain::TimeZone::UTC,
        calendar: Default::default(),
        reminders: None,
        org: Default::default(),
        allowances: allowances::default_allowances(),
        paying_account: None,
        ledger: Default::default(),
    }
}

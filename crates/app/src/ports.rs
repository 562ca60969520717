//! The narrow ports the use cases need; adapters implement them.

use async_trait::async_trait;
use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use outlay_domain::{
    AuditEvent, Checkpoint, Currency, Email, ExchangeRate, Expense, ExpenseId, Policy, Receipt,
    ReceiptId, Report, ReportId, Role, User, UserId,
};

use crate::change::{
    Change, Doc, DocKind, IdempotencyRecord, Page, PageRequest, ReportQuery, all_pages,
};
use crate::lists::{ExpenseScope, ExpenseSearch, Listed, ReportSearch, page_in_memory};
use crate::notify::{Delivery, Notification, OutboxMessage};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A version or uniqueness condition failed; nothing was written. The message is safe to
    /// show to the client.
    #[error("{0}")]
    Conflict(String),
    /// A pagination cursor the store did not make.
    #[error("bad cursor")]
    BadCursor,
    /// The store failed.
    #[error(transparent)]
    Unavailable(#[from] anyhow::Error),
}

/// What every store answers when a change's read set, or a version it wrote on, moved on.
pub const STALE: &str = "it was changed by someone else in the meantime; reload it and try again";

impl StoreError {
    /// The conflict of a change whose read set, or a version it wrote on, moved on.
    pub fn stale() -> Self {
        Self::Conflict(STALE.to_owned())
    }
}

/// The result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Persistence. Reads are plain; every change goes through [`Store::commit`], which writes
/// the change, its audit events (chained) and its idempotency record in one transaction.
#[async_trait]
pub trait Store: Send + Sync {
    /// A user by id.
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;
    /// A user by email.
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
    /// A user's password hash, if they have a local password.
    async fn password_hash(&self, id: UserId) -> StoreResult<Option<String>>;
    /// All users, by email.
    async fn users(&self, page: &PageRequest) -> StoreResult<Page<User>>;
    /// An expense by id.
    async fn expense(&self, id: ExpenseId) -> StoreResult<Option<Expense>>;
    /// An owner's expenses, newest first.
    async fn expenses_of_owner(
        &self,
        owner: UserId,
        page: &PageRequest,
    ) -> StoreResult<Page<Expense>>;
    /// The expenses of a report, oldest first.
    async fn expenses_of_report(&self, report: ReportId) -> StoreResult<Vec<Expense>>;
    /// A report by id.
    async fn report(&self, id: ReportId) -> StoreResult<Option<Report>>;
    /// Reports matching `query`, in the query's order.
    async fn reports(&self, query: &ReportQuery, page: &PageRequest) -> StoreResult<Page<Report>>;
    /// The company's policy.
    async fn policy(&self) -> StoreResult<Option<Policy>>;
    /// A stored idempotency record.
    async fn idempotency(&self, user: UserId, key: &str) -> StoreResult<Option<IdempotencyRecord>>;
    /// The audit events about one entity, oldest first.
    async fn audit_of(&self, entity_kind: &str, entity_id: &str) -> StoreResult<Vec<AuditEvent>>;
    /// Up to `limit` audit events after `after_seq`, in chain order.
    async fn audit_page(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditEvent>>;
    /// The chain's head (seq and hash) as the store keeps it for appending, if it keeps one
    /// apart from the events (DynamoDB's `AUDIT#HEAD`); `None` where the last event is the head.
    async fn audit_head(&self) -> StoreResult<Option<(i64, String)>>;
    /// The seq of the chain's newest event (0 when there is none).
    async fn audit_last_seq(&self) -> StoreResult<i64>;
    /// Active users holding `role`.
    async fn users_with_role(&self, role: Role) -> StoreResult<Vec<User>>;
    /// A receipt by id.
    async fn receipt(&self, id: ReceiptId) -> StoreResult<Option<Receipt>>;
    /// The receipts of an expense, oldest first.
    async fn receipts_of_expense(&self, expense: ExpenseId) -> StoreResult<Vec<Receipt>>;
    /// The stored receipts whose file has this SHA-256 (hex), any owner's, oldest first.
    async fn receipts_of_file(&self, sha256: &str) -> StoreResult<Vec<Receipt>>;
    /// Whether another expense of the same owner has the same date, amount, currency and
    /// merchant (case and surrounding spaces ignored).
    async fn has_duplicate(&self, expense: &Expense) -> StoreResult<bool>;
    /// The receipts of each of `expenses`, oldest first, in the order of `expenses`: a page's
    /// worth at once. The default asks [`Store::receipts_of_expense`] for each; a store that can
    /// answer in one query should.
    async fn receipts_of_expenses(&self, expenses: &[ExpenseId]) -> StoreResult<Vec<Vec<Receipt>>> {
        let mut out = Vec::with_capacity(expenses.len());
        for id in expenses {
            out.push(self.receipts_of_expense(*id).await?);
        }
        Ok(out)
    }
    /// [`Store::has_duplicate`] for each of `expenses`, in their order. The default asks for
    /// each; a store that can answer in one query should.
    async fn have_duplicates(&self, expenses: &[Expense]) -> StoreResult<Vec<bool>> {
        let mut out = Vec::with_capacity(expenses.len());
        for e in expenses {
            out.push(self.has_duplicate(e).await?);
        }
        Ok(out)
    }
    /// The latest rate of `currency` on or before `date`.
    async fn rate_on_or_before(
        &self,
        currency: Currency,
        date: NaiveDate,
    ) -> StoreResult<Option<ExchangeRate>>;
    /// The newest rates first, at most `limit`.
    async fn rates(&self, limit: u32) -> StoreResult<Vec<ExchangeRate>>;
    /// A user's in-app notifications, newest first.
    async fn notifications(
        &self,
        user: UserId,
        page: &PageRequest,
    ) -> StoreResult<Page<Notification>>;
    /// How many of a user's notifications are unread.
    async fn unread_notifications(&self, user: UserId) -> StoreResult<u64>;
    /// The expenses a search finds, in its order. The default walks the scope and applies
    /// [`ListFilter::matches`](crate::lists::ListFilter::matches) in memory; a store that can
    /// search in a query should.
    async fn find_expenses(
        &self,
        search: &ExpenseSearch,
        page: &PageRequest,
    ) -> StoreResult<Page<Expense>> {
        if let Some(owner) = search.plain_owner() {
            return self.expenses_of_owner(owner, page).await;
        }
        let candidates = match search.scope {
            ExpenseScope::Owner(owner) => {
                all_pages(|p| async move { self.expenses_of_owner(owner, &p).await }).await?
            }
            ExpenseScope::Submitted => {
                let all = ReportQuery {
                    scope: crate::ReportScope::All,
                    state: None,
                };
                let all = &all;
                let reports = all_pages(|p| async move { self.reports(all, &p).await }).await?;
                let mut out = Vec::new();
                for r in reports {
                    out.extend(self.expenses_of_report(r.id).await?);
                }
                out
            }
        };
        let names = owner_names(
            self,
            candidates.iter().map(|e| e.owner_id),
            search.filter.q.is_some(),
        )
        .await?;
        let found: Vec<Expense> = candidates
            .into_iter()
            .filter(|e| search.reported.is_none_or(|r| e.report_id.is_some() == r))
            .filter(|e| {
                let name = names.get(&e.owner_id).map_or("", String::as_str);
                search.filter.matches(&Listed::expense(e, name))
            })
            .collect();
        page_in_memory(
            found,
            search.sort,
            (|e| e.id.to_string(), true),
            |e| {
                (
                    e.details.date(),
                    e.base_amount.map(|m| m.minor()),
                    e.id.to_string(),
                )
            },
            page,
        )
    }
    /// The reports a search finds, in its order. The default walks the query's list and
    /// applies [`ListFilter::matches`](crate::lists::ListFilter::matches) in memory; a store that
    /// can search in a query should.
    async fn find_reports(
        &self,
        search: &ReportSearch,
        page: &PageRequest,
    ) -> StoreResult<Page<Report>> {
        if search.is_plain() {
            return self.reports(&search.query, page).await;
        }
        let query = &search.query;
        let candidates = all_pages(|p| async move { self.reports(query, &p).await }).await?;
        let names = owner_names(
            self,
            candidates.iter().map(|r| r.owner_id),
            search.filter.q.is_some(),
        )
        .await?;
        let mut found = Vec::new();
        for r in candidates {
            let expenses = match search.filter.category {
                Some(_) => self.expenses_of_report(r.id).await?,
                None => vec![],
            };
            let categories = expenses.iter().map(|e| e.details.category()).collect();
            let name = names.get(&r.owner_id).map_or("", String::as_str);
            if search.filter.matches(&Listed::report(&r, name, categories)) {
                found.push(r);
            }
        }
        let natural: fn(&Report) -> String = match query.scope {
            crate::ReportScope::Approvals { .. } => |r| {
                format!(
                    "{}|{}",
                    r.submitted_at
                        .map(outlay_domain::audit::format_time)
                        .unwrap_or_default(),
                    r.id
                )
            },
            _ => |r| r.id.to_string(),
        };
        let descending = !matches!(query.scope, crate::ReportScope::Approvals { .. });
        page_in_memory(
            found,
            search.sort,
            (natural, descending),
            |r| {
                (
                    crate::lists::report_day(r),
                    r.total.map(|m| m.minor()),
                    r.id.to_string(),
                )
            },
            page,
        )
    }
    /// A document by kind and id.
    async fn doc(&self, kind: DocKind, id: &str) -> StoreResult<Option<Doc>>;
    /// The documents of a kind, newest id (greatest) first.
    async fn docs(&self, kind: DocKind, page: &PageRequest) -> StoreResult<Page<Doc>>;
    /// Commits a change atomically: all of it, or (with an error) none of it.
    async fn commit(&self, change: Change) -> StoreResult<()>;
    /// The deployment's secret `name` (session and signing keys shared by every instance): the
    /// one stored, or `candidate` if none was; the first writer wins.
    async fn shared_secret(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>>;
}

/// The names of `owners` if `wanted` (for a text search); none otherwise.
async fn owner_names<S: Store + ?Sized>(
    store: &S,
    owners: impl Iterator<Item = UserId>,
    wanted: bool,
) -> StoreResult<std::collections::BTreeMap<UserId, String>> {
    let mut names = std::collections::BTreeMap::new();
    if wanted {
        let owners: std::collections::BTreeSet<UserId> = owners.collect();
        for id in owners {
            if let Some(u) = store.user(id).await? {
                names.insert(id, u.name);
            }
        }
    }
    Ok(names)
}

/// The outbox as the dispatcher sees it: messages committed with their transitions, handed
/// out for delivery and marked delivered, retried or dead.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Undelivered, live messages whose time has come, oldest first.
    async fn due(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxMessage>>;
    /// Marks messages delivered.
    async fn delivered(&self, ids: &[uuid::Uuid], at: DateTime<Utc>) -> StoreResult<()>;
    /// Records a failed attempt: retry at `retry_at`, or give up (`None`).
    async fn failed(
        &self,
        id: uuid::Uuid,
        attempts: u32,
        retry_at: Option<DateTime<Utc>>,
        error: &str,
    ) -> StoreResult<()>;
    /// Backlog figures for metrics.
    async fn stats(&self) -> StoreResult<OutboxStats>;
}

/// The outbox's backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// Messages waiting (including those waiting to retry).
    pub pending: u64,
    /// Messages given up on.
    pub dead: u64,
    /// When the oldest waiting message was created.
    pub oldest: Option<DateTime<Utc>>,
}

/// Signs audit checkpoints with a key the database does not hold (a key file; AWS KMS).
#[async_trait]
pub trait AuditSigner: Send + Sync {
    /// The public key, as a DER `SubjectPublicKeyInfo` of a P-256 key.
    async fn public_key(&self) -> anyhow::Result<Vec<u8>>;
    /// An ECDSA P-256 SHA-256 signature over `message`, DER.
    async fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>>;
}

/// Where checkpoints are kept: a log the application can append to and cannot rewrite (an
/// append-only file; an S3 bucket with Object Lock in compliance mode).
#[async_trait]
pub trait CheckpointLog: Send + Sync {
    /// Appends one checkpoint.
    async fn append(&self, checkpoint: &Checkpoint) -> anyhow::Result<()>;
    /// Every checkpoint ever appended, in the order they were appended, and where the log
    /// holds something that is not one.
    async fn checkpoints(&self) -> anyhow::Result<CheckpointEntries>;
}

/// What a checkpoint log holds.
#[derive(Debug, Clone, Default)]
pub struct CheckpointEntries {
    /// The entries that read as checkpoints (signed or not), in the order they were appended.
    pub checkpoints: Vec<Checkpoint>,
    /// Each entry that is not a checkpoint at all, named by where it is (a line, an object
    /// version). The log cannot be cleaned, so such entries are reported, not fatal.
    pub unreadable: Vec<String>,
}

/// Files: receipts, under keys the server chooses.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores bytes under `key`, replacing what was there.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()>;
    /// The bytes under `key`.
    async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>>;
    /// Moves `from` to `to`.
    async fn rename(&self, from: &str, to: &str) -> anyhow::Result<()>;
    /// Deletes `key` (no error if it is gone).
    async fn delete(&self, key: &str) -> anyhow::Result<()>;
    /// A URL the client can PUT the file to directly, signed for this exact type and size, if
    /// the store offers one (S3); `None` means Outlay receives the upload itself.
    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_in: std::time::Duration,
    ) -> anyhow::Result<Option<String>>;
    /// A short-lived URL that downloads `key` as an attachment named `filename`, if the store
    /// offers one (S3); `None` means Outlay serves the bytes itself. Only asked after the
    /// caller was authorised to see the receipt.
    async fn download_url(
        &self,
        key: &str,
        filename: &str,
        content_type: &str,
        expires_in: std::time::Duration,
    ) -> anyhow::Result<Option<String>>;
}

/// What a reader made of a receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// Who read it.
    pub reader: outlay_domain::reading::Reader,
    /// What it found (possibly nothing).
    pub fields: outlay_domain::reading::ReadFields,
}

/// Reads what a receipt says: an e-invoice's data, OCR, a managed service.
#[async_trait]
pub trait ReceiptReader: Send + Sync {
    /// Reads a receipt's checked file. `None`: this reader does not read such files (an
    /// e-invoice reader, a photo); an error: it failed, and may be tried again later.
    async fn read(
        &self,
        kind: outlay_domain::ReceiptType,
        bytes: &[u8],
    ) -> anyhow::Result<Option<Read>>;
}

/// Reads received email messages (RFC 5322, MIME).
pub trait MailParser: Send + Sync {
    /// The sender, the receiving checks and the attachments of a raw message; refused, with a
    /// reason for the log, when it is not one.
    fn parse(&self, raw: &[u8]) -> Result<crate::mail::InboundEmail, String>;
}

/// Delivers one notification (an email, or a webhook call).
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Delivers it; an error means "try again later".
    async fn deliver(&self, delivery: &Delivery) -> anyhow::Result<()>;
}

/// Bank and ledger files: a payment batch as the file a bank takes, a bank's statement read
/// back, and the journal as an accounting system imports it.
pub trait PaymentFiles: Send + Sync {
    /// The batch as a file of `format`. The same batch always gives the same bytes (the file
    /// says the batch's `exported_at`, not the time it is made). Refused, with a message for
    /// people, when the batch cannot be paid in this format (SEPA pays euros to IBANs, NACHA
    /// dollars to US accounts).
    fn render(
        &self,
        format: outlay_domain::FileFormat,
        batch: &outlay_domain::PaymentBatch,
    ) -> Result<Vec<u8>, String>;

    /// The entries of a bank statement (camt.053) or notification (camt.054); refused, with a
    /// message for people, when it is not one.
    fn read_statement(&self, xml: &[u8]) -> Result<Vec<outlay_domain::StatementEntry>, String>;

    /// A period's journal as a file of `format` for an accounting system; refused, with a
    /// message for people, when the journal's ledger does not suit the format.
    fn journal(
        &self,
        format: outlay_domain::journal::JournalFormat,
        journal: &outlay_domain::journal::Journal,
    ) -> Result<Vec<u8>, String>;
}

/// The current time.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // Microseconds are what every store keeps; truncating here keeps values equal after a
        // round trip through any of them.
        let now = Utc::now();
        chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::microseconds(1))
            .unwrap_or(now)
    }
}

/// New unique ids.
pub trait IdGen: Send + Sync {
    /// A new id; time-ordered ids keep lists cheap to page.
    fn new_id(&self) -> uuid::Uuid;
}

/// UUID v7: unique and ordered by creation time.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidV7;

impl IdGen for UuidV7 {
    fn new_id(&self) -> uuid::Uuid {
        uuid::Uuid::now_v7()
    }
}

/// A signed access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The token.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// A sign-in started on the identity provider's own pages: where to send the browser, and what
/// to keep (signed, in the browser) until it comes back.
#[derive(Debug, Clone)]
pub struct SignInStart {
    /// The provider's authorization URL, with the state and the PKCE challenge.
    pub url: String,
    /// The `state` the provider must send back.
    pub state: String,
    /// The PKCE code verifier, for the code exchange.
    pub verifier: String,
}

/// Sign-in through an identity provider's hosted pages: OAuth 2.0 authorization code with PKCE
/// (Cognito's hosted UI).
#[async_trait]
pub trait HostedLogin: Send + Sync {
    /// Starts a sign-in that comes back to `redirect_uri`.
    fn start(&self, redirect_uri: &str) -> anyhow::Result<SignInStart>;
    /// Exchanges the code the provider sent back for an access token.
    async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> anyhow::Result<AccessToken>;
    /// Where to send the browser to end the provider's session too, coming back to `logout_uri`.
    fn logout_url(&self, logout_uri: &str) -> String;
}

/// Local password login: hashing, checking and token issuing.
#[async_trait]
pub trait PasswordLogin: Send + Sync {
    /// Hashes a new password.
    async fn hash_password(&self, password: &str) -> anyhow::Result<String>;
    /// Checks a password against a hash. With no hash it still does the same work, so an
    /// unknown user takes as long as a wrong password.
    async fn verify_password(&self, password: &str, hash: Option<&str>) -> bool;
    /// Issues an access token for `user`: for a new sign-in (`session: None`), or renewing the
    /// token of an existing session, which keeps its id and start.
    fn issue_token(
        &self,
        user: &User,
        session: Option<&SessionInfo>,
    ) -> anyhow::Result<AccessToken>;
}

/// Checks access tokens (local or from an identity provider).
#[async_trait]
pub trait IdentityVerifier: Send + Sync {
    /// Who the token speaks for, if it is valid now.
    async fn verify(&self, token: &str) -> Result<Verified, &'static str>;
}

/// The sign-in a token belongs to: renewed tokens keep it, so that a sign-out ends it and the
/// web UI's CSRF token is bound to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Its id (random for local sign-ins; Cognito's `origin_jti`).
    pub id: String,
    /// When the user signed in.
    pub started_at: DateTime<Utc>,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The subject: the user's id.
    pub subject: String,
    /// The sign-in it belongs to, if the token says.
    pub session: Option<SessionInfo>,
    /// The roles the identity provider grants (Cognito groups); `None` when the directory's
    /// roles apply (local tokens carry none).
    pub roles: Option<Vec<outlay_domain::Role>>,
}

/// User administration in an external identity provider (Cognito): the users who sign in
/// there, and their groups. Where there is none, Outlay's own directory is all there is.
#[async_trait]
pub trait IdentityAdmin: Send + Sync {
    /// Creates the sign-in identity and answers its subject, which becomes the user's id.
    async fn create(
        &self,
        email: &Email,
        name: &str,
        password: Option<&str>,
        roles: &[outlay_domain::Role],
    ) -> anyhow::Result<UserId>;
    /// Makes the identity's groups exactly `roles`.
    async fn set_roles(&self, email: &Email, roles: &[outlay_domain::Role]) -> anyhow::Result<()>;
    /// Enables or disables signing in.
    async fn set_active(&self, email: &Email, active: bool) -> anyhow::Result<()>;
}

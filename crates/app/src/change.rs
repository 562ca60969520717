//! What a use case hands the store to commit, and the shapes of queries and pages.

use chrono::{DateTime, Utc};
use outlay_domain::{
    AuditRecord, ExchangeRate, Expense, ExpenseId, Policy, Receipt, ReceiptId, ReceiptState,
    Report, ReportId, ReportState, User, UserId,
};

use crate::notify::{Notification, OutboxMessage};
use serde::{Deserialize, Serialize};

/// One write of a change. `expected_version: None` means "insert; must not exist".
#[derive(Debug, Clone)]
pub enum Write {
    /// Inserts or updates a user; `password_hash: None` keeps the stored one.
    PutUser {
        /// The user.
        user: User,
        /// A new password hash.
        password_hash: Option<String>,
        /// The version the update is based on.
        expected_version: Option<i64>,
    },
    /// Inserts or updates an expense.
    PutExpense {
        /// The expense.
        expense: Expense,
        /// The version the update is based on.
        expected_version: Option<i64>,
    },
    /// Deletes an expense.
    DeleteExpense {
        /// Its id.
        id: ExpenseId,
        /// The version the deletion is based on.
        expected_version: i64,
    },
    /// Inserts or updates a report.
    PutReport {
        /// The report.
        report: Report,
        /// The version the update is based on.
        expected_version: Option<i64>,
    },
    /// Deletes a report as read (its expenses must have left it in the same change); the
    /// report's version is the condition, and its deciders name the marks to remove with it.
    DeleteReport(Report),
    /// Replaces the policy.
    PutPolicy(Policy),
    /// Inserts a receipt (`expected: None`), or updates it if its stored state is still
    /// `expected`.
    PutReceipt {
        /// The receipt.
        receipt: Receipt,
        /// The state the update is based on; `None` inserts.
        expected: Option<ReceiptState>,
    },
    /// Deletes a receipt's record.
    DeleteReceipt(ReceiptId),
    /// Inserts or replaces exchange rates.
    PutRates(Vec<ExchangeRate>),
    /// Adds an in-app notification.
    AddNotification(Notification),
    /// Inserts (`expected_version: None`) or updates a document.
    PutDoc {
        /// The document.
        doc: Doc,
        /// The version the update is based on.
        expected_version: Option<i64>,
    },
    /// Deletes a document stored at `expected_version`.
    DeleteDoc {
        /// Its kind.
        kind: DocKind,
        /// Its id.
        id: String,
        /// The version read.
        expected_version: i64,
    },
    /// Marks a user's notifications read (`ids: None` for all of them).
    ReadNotifications {
        /// Whose.
        user: UserId,
        /// Which; `None` for all.
        ids: Option<Vec<uuid::Uuid>>,
        /// When.
        at: DateTime<Utc>,
    },
}

/// Something a use case read to decide, which must be unchanged when its change commits: the
/// change's read set. A store commits a change only if every guard still holds, in the same
/// transaction as the writes (a version check per row, a `ConditionCheck` per item), so two
/// requests that each read what the other writes cannot both commit.
///
/// Writes carry their own version conditions; a guard on an entity that the same change also
/// writes is redundant, and stores may drop it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// The user is stored at this version.
    User {
        /// Its id.
        id: UserId,
        /// The version read.
        version: i64,
    },
    /// The expense is stored at this version.
    Expense {
        /// Its id.
        id: ExpenseId,
        /// The version read.
        version: i64,
    },
    /// The report is stored at this version.
    Report {
        /// Its id.
        id: ReportId,
        /// The version read.
        version: i64,
    },
    /// The stored policy is exactly this one; `None`: no policy is stored (the built-in
    /// default applied).
    Policy(Option<Box<Policy>>),
    /// The document is stored at this version; `None`: it is not stored.
    Doc {
        /// Its kind.
        kind: DocKind,
        /// Its id.
        id: String,
        /// The version read.
        version: Option<i64>,
    },
}

impl Guard {
    /// The user as read.
    pub fn user(u: &User) -> Self {
        Self::User {
            id: u.id,
            version: u.version,
        }
    }

    /// The expense as read.
    pub fn expense(e: &Expense) -> Self {
        Self::Expense {
            id: e.id,
            version: e.version,
        }
    }

    /// The policy as stored (`None`: nothing stored, the default applied).
    pub fn policy(stored: Option<Policy>) -> Self {
        Self::Policy(stored.map(Box::new))
    }

    /// The report as read.
    pub fn report(r: &Report) -> Self {
        Self::Report {
            id: r.id,
            version: r.version,
        }
    }
}

/// The kinds of [`Doc`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocKind {
    /// An employee's bank details, by user id.
    BankAccount,
    /// A payment batch, by batch id.
    PaymentBatch,
    /// A cash advance, by advance id.
    Advance,
    /// What a receipt says, as read, by receipt id.
    Reading,
    /// A receipt waiting to be read, by receipt id: the reading queue.
    ReadingJob,
}

impl DocKind {
    /// Every kind.
    pub const ALL: [DocKind; 5] = [
        Self::BankAccount,
        Self::PaymentBatch,
        Self::Advance,
        Self::Reading,
        Self::ReadingJob,
    ];

    /// The name stores keep it under.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::BankAccount => "bank_account",
            Self::PaymentBatch => "payment_batch",
            Self::Advance => "advance",
            Self::Reading => "reading",
            Self::ReadingJob => "reading_job",
        }
    }

    /// Parses the name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An entity the store keeps whole, as JSON, under its kind and id, with a version for
/// optimistic concurrency: what has no query of its own beyond its id and the list of its
/// kind (newest id first). Use cases read and write them typed ([`crate::docs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    /// The kind.
    pub kind: DocKind,
    /// The id, unique within the kind (at most 64 characters).
    pub id: String,
    /// Bumped on every change.
    pub version: i64,
    /// The entity as JSON.
    pub body: String,
}

/// A change: writes, their audit events and an idempotency record, committed as one.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// What the change was decided on; all of it must be unchanged for the change to commit.
    pub guards: Vec<Guard>,
    /// The writes, applied in order.
    pub writes: Vec<Write>,
    /// The audit events, appended to the chain in order.
    pub audit: Vec<AuditRecord>,
    /// The answer to remember for an `Idempotency-Key`.
    pub idempotency: Option<IdempotencyRecord>,
    /// Messages to deliver once committed (the transactional outbox).
    pub outbox: Vec<OutboxMessage>,
}

impl Change {
    /// A change with one write and its audit event.
    pub fn one(write: Write, audit: AuditRecord) -> Self {
        Self {
            guards: vec![],
            writes: vec![write],
            audit: vec![audit],
            idempotency: None,
            outbox: vec![],
        }
    }

    /// The same change, committed only if `guards` still hold too.
    #[must_use]
    pub fn guarded(mut self, guards: impl IntoIterator<Item = Guard>) -> Self {
        self.guards.extend(guards);
        self
    }
}

/// The first answer to a request that carried an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Whose key it is (keys are per user).
    pub user_id: UserId,
    /// The key.
    pub key: String,
    /// A hash of the request, so a key reused for another request is caught.
    pub fingerprint: String,
    /// The answer, as JSON.
    pub response: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Which reports to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportScope {
    /// The owner's own reports, newest first.
    Mine(UserId),
    /// What waits for this user's decision, oldest submission first: their own queue, and the
    /// shared queues they take from (finance's, their roles'), without the reports they are
    /// barred from there (their own, those they approved a step of).
    Approvals {
        /// The approver.
        user: UserId,
        /// The shared queues they take from ([`outlay_domain::access::queues_of`]).
        shared: Vec<outlay_domain::access::Queue>,
    },
    /// Every submitted report, newest first.
    All,
    /// Reports this user decided a step of (approved or rejected), newest first.
    DecidedBy(UserId),
}

/// A report query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    /// Whose reports.
    pub scope: ReportScope,
    /// Only this state.
    pub state: Option<ReportState>,
}

/// A page request: at most `limit` items after `cursor`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageRequest {
    /// 1 to 100.
    pub limit: u32,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

impl PageRequest {
    /// The largest page.
    pub const MAX: u32 = 100;

    /// Checks a client's page request (default 50 items).
    pub fn parse(limit: Option<u32>, cursor: Option<String>) -> crate::Result<Self> {
        let limit = limit.unwrap_or(50);
        if !(1..=Self::MAX).contains(&limit) {
            return Err(crate::AppError::BadInput(format!(
                "limit must be between 1 and {}",
                Self::MAX
            )));
        }
        Ok(Self {
            limit,
            cursor: cursor.filter(|c| !c.is_empty()),
        })
    }

    /// The sort key the cursor names, if there is a cursor.
    pub fn after(&self) -> Result<Option<String>, crate::StoreError> {
        self.cursor.as_deref().map(decode_cursor).transpose()
    }
}

/// A cursor is the hex of the last item's sort key, so that clients treat it as opaque.
pub fn encode_cursor(key: impl AsRef<[u8]>) -> String {
    hex::encode(key)
}

/// The sort key of a cursor [`encode_cursor`] made; anything else is [`StoreError::BadCursor`].
///
/// [`StoreError::BadCursor`]: crate::StoreError::BadCursor
pub fn decode_cursor(cursor: &str) -> Result<String, crate::StoreError> {
    hex::decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(crate::StoreError::BadCursor)
}

/// Every item of a paged list, a largest page at a time.
pub async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, crate::StoreError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = crate::StoreResult<Page<T>>>,
{
    let mut req = PageRequest {
        limit: PageRequest::MAX,
        cursor: None,
    };
    let mut out = vec![];
    loop {
        let p = page(req.clone()).await?;
        out.extend(p.items);
        match p.next_cursor {
            Some(c) => req.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// A page of items and the cursor of the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page of `items`, continuing after the last of them if `more` follow (a store fetches
    /// one item past the page to know).
    pub fn new(items: Vec<T>, more: bool, key: impl Fn(&T) -> String) -> Self {
        let next_cursor = if more {
            items.last().map(|i| encode_cursor(key(i)))
        } else {
            None
        };
        Self { items, next_cursor }
    }

    /// Maps the items.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

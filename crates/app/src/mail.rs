//! Receipts by email: an employee forwards a receipt to Outlay's address, and each attachment
//! that is a receipt becomes a draft expense of theirs, read like any other. Only a known,
//! active user's address is taken, and only a message that passed every check the receiving
//! side reported (SPF, DKIM, spam and virus verdicts); anything else is dropped with a log
//! entry. The same file twice is flagged as the same file, like any receipt.

use outlay_domain::{Email, ExpenseId, ReceiptType, UserId};
use sha2::Digest;

use crate::{App, Caller, Result};

/// The largest message taken, in bytes (25 MB; SES takes up to 40 MB, so it is checked here).
pub const MAX_MAIL_BYTES: usize = 25 * 1024 * 1024;

/// The most receipts one message makes; the rest of its attachments are skipped.
pub const MAX_MAIL_RECEIPTS: usize = 20;

/// A message as the mail parser read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEmail {
    /// The sender's address (`From`).
    pub from: String,
    /// The checks the receiving side reported, by name (`spf`, `dkim`, `spam`, `virus`), and
    /// whether each passed. A check not reported is not listed.
    pub checks: Vec<(String, bool)>,
    /// The attachments.
    pub attachments: Vec<MailAttachment>,
}

/// One attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    /// Its file name, if it has one.
    pub filename: Option<String>,
    /// Its declared media type (`application/pdf`).
    pub content_type: String,
    /// Its decoded bytes.
    pub bytes: Vec<u8>,
}

/// What became of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailOutcome {
    /// Whose it was, when it was taken.
    pub sender: Option<UserId>,
    /// The draft expenses made, one per receipt.
    pub expenses: Vec<ExpenseId>,
    /// Attachments that are not receipts, or were refused (too large, not what they say).
    pub skipped: usize,
    /// Why the whole message was dropped, if it was.
    pub dropped: Option<String>,
}

impl MailOutcome {
    fn dropped(why: &str) -> Self {
        Self {
            dropped: Some(why.to_owned()),
            ..Self::default()
        }
    }
}

/// The domain of an address, for logs (the address itself stays out of them).
fn domain(address: &str) -> &str {
    address.rsplit_once('@').map_or("?", |(_, d)| d)
}

impl App {
    /// Takes one received message (its raw bytes, RFC 5322): each receipt attached becomes a
    /// draft expense of the sender's. Store failures are errors, so that the message is tried
    /// again; everything else is an outcome.
    pub async fn receive_email(&self, raw: &[u8]) -> Result<MailOutcome> {
        if raw.len() > MAX_MAIL_BYTES {
            tracing::warn!(bytes = raw.len(), "an email was dropped: too large");
            return Ok(MailOutcome::dropped("the message is larger than 25 MB"));
        }
        let mail = match self.mail.parse(raw) {
            Ok(mail) => mail,
            Err(why) => {
                tracing::warn!(%why, "an email was dropped: not a message");
                return Ok(MailOutcome::dropped("not an email message"));
            }
        };
        let failed: Vec<&str> = mail
            .checks
            .iter()
            .filter(|(_, passed)| !passed)
            .map(|(name, _)| name.as_str())
            .collect();
        if !failed.is_empty() {
            tracing::warn!(
                domain = domain(&mail.from),
                ?failed,
                "an email was dropped: it failed the receiving checks"
            );
            return Ok(MailOutcome::dropped(&format!(
                "the message failed {}",
                failed.join(", ")
            )));
        }
        let user = match Email::parse(&mail.from) {
            Ok(email) => self.store.user_by_email(&email).await?,
            Err(_) => None,
        };
        let Some(user) = user.filter(|u| u.active) else {
            tracing::warn!(
                domain = domain(&mail.from),
                "an email was dropped: the sender is no active user"
            );
            return Ok(MailOutcome::dropped("the sender is not a user"));
        };
        let caller = Caller {
            user,
            source: Some("email".into()),
            session: None,
        };
        let mut outcome = MailOutcome {
            sender: Some(caller.user.id),
            ..MailOutcome::default()
        };
        let total = mail.attachments.len();
        outcome.skipped += total.saturating_sub(MAX_MAIL_RECEIPTS);
        // The same message taken again (an event delivered twice, a pass that failed halfway)
        // makes each of its drafts once: each attachment's key is the message's hash and its
        // place in it.
        let message = hex::encode(sha2::Sha256::digest(raw));
        for (n, attachment) in mail
            .attachments
            .into_iter()
            .take(MAX_MAIL_RECEIPTS)
            .enumerate()
        {
            let kind = ReceiptType::from_mime(&attachment.content_type)
                .or_else(|| ReceiptType::sniff(&attachment.bytes));
            let Some(kind) = kind else {
                outcome.skipped += 1;
                continue;
            };
            let idem = crate::Idempotency::parse(
                &format!("email-{message}-{n}"),
                "EMAIL",
                "/receipts",
                &attachment.bytes,
            )?;
            match self
                .expense_from_receipt(
                    &caller,
                    kind.mime(),
                    attachment.filename.as_deref(),
                    attachment.bytes,
                    Some(&idem),
                )
                .await
            {
                Ok(info) => outcome.expenses.push(info.expense.id),
                Err(crate::AppError::Internal(e)) => return Err(crate::AppError::Internal(e)),
                Err(e) => {
                    tracing::info!(error = %e, "an emailed attachment was not taken");
                    outcome.skipped += 1;
                }
            }
        }
        tracing::info!(
            expenses = outcome.expenses.len(),
            skipped = outcome.skipped,
            "receipts arrived by email"
        );
        Ok(outcome)
    }
}

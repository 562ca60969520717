//! Delivering notifications: email (SMTP with `lettre`, or `.eml` files in a mail folder for
//! demos) and a webhook signed with HMAC-SHA256. The dispatcher in `outlay-app` decides what
//! and when; this crate only carries messages, each under its idempotency key.

mod email;
mod webhook;

use async_trait::async_trait;
use outlay_app::{Channel, Delivery, Notifier};

pub use email::{Email, EmailTransport};
pub use webhook::{SIGNATURE_HEADER, Webhook, signature};

/// Every channel: email always, the webhook when configured.
#[derive(Clone)]
pub struct Notifiers {
    /// Email.
    pub email: Email,
    /// The webhook, if configured.
    pub webhook: Option<Webhook>,
}

#[async_trait]
impl Notifier for Notifiers {
    async fn deliver(&self, d: &Delivery) -> anyhow::Result<()> {
        match d.channel {
            Channel::Email => self.email.send(d).await,
            Channel::Webhook => match &self.webhook {
                Some(w) => w.send(d).await,
                // A message queued while a webhook was configured: nobody to tell now.
                None => Ok(()),
            },
        }
    }
}

//! Delivering notifications: email (SMTP with `lettre`, or `.eml` files in a mail folder for
//! demos) and a webhook signed with HMAC-SHA256. The dispatcher in `outlay-app` decides what
//! and when; this crate only carries messages, each under its idempotency key.

#[cfg(not(any(feature = "smtp", feature = "aws")))]
compile_error!("outlay-notify needs a way to send email: the `smtp` feature, `aws`, or both");

#[cfg(feature = "aws")]
mod aws;
#[cfg(feature = "smtp")]
mod email;
mod webhook;

#[cfg(feature = "aws")]
pub use aws::{Ses, Sns};

use async_trait::async_trait;
use outlay_app::{Channel, Delivery, Notifier};

#[cfg(feature = "smtp")]
pub use email::{Email, EmailTransport};
pub use webhook::{SIGNATURE_HEADER, Webhook, signature};

/// Where emails go.
#[derive(Clone)]
pub enum Mailer {
    /// SMTP, or a mail folder.
    #[cfg(feature = "smtp")]
    Smtp(Email),
    /// Amazon SES.
    #[cfg(feature = "aws")]
    Ses(Ses),
}

/// Where integration events go.
#[derive(Clone)]
pub enum Events {
    /// A signed webhook.
    Webhook(Webhook),
    /// An SNS topic.
    #[cfg(feature = "aws")]
    Sns(Sns),
}

/// Every channel: email always, integration events when configured.
#[derive(Clone)]
pub struct Notifiers {
    /// Email.
    pub email: Mailer,
    /// Integration events, if configured.
    pub events: Option<Events>,
}

#[async_trait]
impl Notifier for Notifiers {
    async fn deliver(&self, d: &Delivery) -> anyhow::Result<()> {
        match (d.channel, &self.email, &self.events) {
            #[cfg(feature = "smtp")]
            (Channel::Email, Mailer::Smtp(e), _) => e.send(d).await,
            #[cfg(feature = "aws")]
            (Channel::Email, Mailer::Ses(e), _) => e.send(d).await,
            (Channel::Webhook, _, Some(Events::Webhook(w))) => w.send(d).await,
            #[cfg(feature = "aws")]
            (Channel::Webhook, _, Some(Events::Sns(s))) => s.send(d).await,
            // An event queued while integrations were configured: nobody to tell now.
            (Channel::Webhook, _, None) => Ok(()),
        }
    }
}

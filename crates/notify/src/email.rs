//! Email: SMTP through `lettre`, or `.eml` files in a folder (demo mode).

use std::path::PathBuf;

use anyhow::Context;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use outlay_app::Delivery;

/// Where emails go.
#[derive(Clone)]
pub enum EmailTransport {
    /// An SMTP server.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// A folder of `.eml` files, one per message, named by its idempotency key.
    Folder(PathBuf),
}

/// Sends emails from one sender.
#[derive(Clone)]
pub struct Email {
    transport: EmailTransport,
    from: Mailbox,
}

impl Email {
    /// SMTP at `url` (`smtp://host:port`, `smtp://user:pass@host?tls=required`, `smtps://...`).
    pub fn smtp(url: &str, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("Failed to read the SMTP URL (the URL itself is not logged)")?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        Ok(Self {
            transport: EmailTransport::Smtp(transport),
            from: from.parse().context("Invalid sender address")?,
        })
    }

    /// `.eml` files in `folder`.
    pub fn folder(folder: PathBuf, from: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("Failed to create {}", folder.display()))?;
        Ok(Self {
            transport: EmailTransport::Folder(folder),
            from: from.parse().context("Invalid sender address")?,
        })
    }

    /// Sends one message. Its `Message-ID` is its idempotency key, so a receiver can tell a
    /// retry from a new message; in a folder a retry overwrites the same file.
    pub async fn send(&self, d: &Delivery) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(d
                .recipient
                .parse()
                .with_context(|| format!("Invalid recipient for delivery {}", d.key))?)
            .subject(d.subject.clone())
            .message_id(Some(format!("<{}@outlay>", d.key)))
            .header(ContentType::TEXT_PLAIN)
            .body(d.body.clone())
            .context("Failed to build an email")?;
        match &self.transport {
            EmailTransport::Smtp(smtp) => {
                smtp.send(message)
                    .await
                    .context("The SMTP server refused the message")?;
            }
            EmailTransport::Folder(folder) => {
                let bytes = message.formatted();
                let path = folder.join(format!("{}.eml", d.key));
                let tmp = folder.join(format!(".{}.tmp", d.key));
                tokio::fs::write(&tmp, bytes)
                    .await
                    .context("Failed to write an email file")?;
                tokio::fs::rename(&tmp, &path)
                    .await
                    .context("Failed to move an email file into place")?;
            }
        }
        tracing::info!(key = %d.key, "email delivered");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outlay_app::Channel;

    #[tokio::test]
    async fn a_retried_message_is_one_file() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let email =
            Email::folder(dir.path().join("mail"), "Outlay <outlay@example.com>").expect("opens");
        let d = Delivery {
            key: "k-1".into(),
            channel: Channel::Email,
            recipient: "ann@example.com".into(),
            subject: "Report waits".into(),
            body: "Hello".into(),
        };
        email.send(&d).await.expect("sent");
        email.send(&d).await.expect("sent again");
        let files: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
            .expect("listed")
            .collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(dir.path().join("mail/k-1.eml")).expect("read");
        assert!(text.contains("Message-ID: <k-1@outlay>"), "{text}");
        assert!(text.contains("To: ann@example.com"));
    }
}

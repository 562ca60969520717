//! Delivery on AWS: email through SES v2, events through an SNS topic. Each message carries
//! its idempotency key (SES: an `X-Outlay-Delivery` header tag; SNS: a message attribute and,
//! on FIFO topics, the deduplication id).

use anyhow::Context;
use outlay_app::Delivery;

/// Sends emails through SES v2 from a verified identity.
#[derive(Debug, Clone)]
pub struct Ses {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl Ses {
    /// Sends from `from` (an SES identity).
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
        }
    }

    /// Sends one email.
    pub async fn send(&self, d: &Delivery) -> anyhow::Result<()> {
        use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};
        let text = |s: &str| {
            Content::builder()
                .data(s)
                .charset("UTF-8")
                .build()
                .context("Failed to build an email")
        };
        let message = Message::builder()
            .subject(text(&d.subject)?)
            .body(Body::builder().text(text(&d.body)?).build())
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&d.recipient).build())
            .content(EmailContent::builder().simple(message).build())
            .email_tags(
                MessageTag::builder()
                    .name("outlay-delivery")
                    .value(&d.key)
                    .build()
                    .context("Failed to tag an email")?,
            )
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "SES refused the email: {}",
                    aws_sdk_sesv2::error::DisplayErrorContext(e)
                )
            })?;
        Ok(())
    }
}

/// Publishes events to an SNS topic for integrations.
#[derive(Debug, Clone)]
pub struct Sns {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl Sns {
    /// Publishes to `topic_arn`.
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// Publishes one event (its JSON body), with its type and delivery key as attributes.
    pub async fn send(&self, d: &Delivery) -> anyhow::Result<()> {
        use aws_sdk_sns::types::MessageAttributeValue;
        let attribute = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .context("Failed to build an attribute")
        };
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(&d.body)
            .message_attributes("event", attribute(&d.subject)?)
            .message_attributes("delivery", attribute(&d.key)?);
        if self.topic_arn.ends_with(".fifo") {
            request = request
                .message_deduplication_id(&d.key)
                .message_group_id("outlay");
        }
        request.send().await.map_err(|e| {
            anyhow::anyhow!(
                "SNS refused the event: {}",
                aws_sdk_sns::error::DisplayErrorContext(e)
            )
        })?;
        Ok(())
    }
}

//! SES and SNS delivery against moto.
#![cfg(feature = "aws")]

use outlay_app::{Channel, Delivery, Notifier};
use outlay_notify::{Events, Mailer, Notifiers, Ses, Sns};
use outlay_test_support::moto::Moto;

#[tokio::test]
#[ignore = "needs moto_server: `bash .ci/run` runs it (cargo test -- --include-ignored)"]
async fn emails_go_through_ses_and_events_through_sns() {
    let moto = Moto::start("emails_go_through_ses_and_events_through_sns");
    let creds = aws_sdk_sesv2::config::Credentials::new("test", "test", None, None, "test");
    let ses_client = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::Config::builder()
            .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
            .endpoint_url(&moto.url)
            .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
            .credentials_provider(creds.clone())
            .build(),
    );
    let sns_client = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::Config::builder()
            .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
            .endpoint_url(&moto.url)
            .region(aws_sdk_sns::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sns::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .build(),
    );
    ses_client
        .create_email_identity()
        .email_identity("outlay@example.com")
        .send()
        .await
        .expect("an identity");
    let topic = sns_client
        .create_topic()
        .name("outlay-events")
        .send()
        .await
        .expect("a topic")
        .topic_arn()
        .expect("an ARN")
        .to_owned();
    let notifiers = Notifiers {
        email: Mailer::Ses(Ses::new(ses_client.clone(), "outlay@example.com")),
        events: Some(Events::Sns(Sns::new(sns_client, &topic))),
    };
    let email = Delivery {
        key: "k-1".into(),
        channel: Channel::Email,
        recipient: "ann@example.com".into(),
        subject: "Report waits".into(),
        body: "Hello".into(),
    };
    notifiers.deliver(&email).await.expect("SES accepts it");
    let event = Delivery {
        key: "k-2".into(),
        channel: Channel::Webhook,
        recipient: String::new(),
        subject: "report.submitted".into(),
        body: "{}".into(),
    };
    notifiers.deliver(&event).await.expect("SNS accepts it");
    // A sender that is not a verified identity is refused, so the outbox will retry.
    let unverified = Notifiers {
        email: Mailer::Ses(Ses::new(ses_client, "nobody@elsewhere.example")),
        events: None,
    };
    assert!(
        unverified.deliver(&email).await.is_err(),
        "SES refuses an unverified sender"
    );
}

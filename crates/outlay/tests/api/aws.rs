//! The AWS backend for the API suite: a moto server with the stack's table, bucket, topic,
//! sender identity, user pool, app client and groups, and Cognito-issued tokens.
#![cfg(feature = "aws")]

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cognitoidentityprovider::config::Credentials;
use aws_sdk_cognitoidentityprovider::config::SharedCredentialsProvider;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ExplicitAuthFlowsType, PasswordPolicyType, UserPoolPolicyType,
};
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use aws_sdk_s3::types::{
    DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode,
    ObjectLockRule,
};
use outlay_bootstrap::Settings;
use outlay_test_support::moto::Moto;

/// A stack on moto.
pub struct AwsStack {
    _moto: Moto,
    pub config: SdkConfig,
    pub pool: String,
    pub client_id: String,
    /// The KMS key that signs audit checkpoints.
    #[allow(dead_code)] // read by the Lambda runtime test, which shares this module
    pub kms_key: String,
}

/// The bucket SES writes received email to.
pub const INBOUND_BUCKET: &str = "outlay-inbound";

/// The bucket that keeps audit checkpoints.
pub const AUDIT_BUCKET: &str = "outlay-audit";

impl AwsStack {
    /// Creates the stack's resources and points `settings` at them; fails without moto.
    pub async fn start(settings: &mut Settings) -> AwsStack {
        let moto = Moto::start("the API suite on the AWS backend");
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&moto.url)
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "test",
            )))
            .build();
        let table = "outlay-test";
        outlay_store_dynamodb::DynamoStore::new(aws_sdk_dynamodb_client(&config), table)
            .create_table()
            .await
            .expect("the table");
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        s3.create_bucket()
            .bucket("outlay-receipts")
            .send()
            .await
            .expect("the bucket");
        // Received email, as SES writes it.
        s3.create_bucket()
            .bucket(INBOUND_BUCKET)
            .send()
            .await
            .expect("the inbound mail bucket");
        settings.mail_bucket = Some(INBOUND_BUCKET.into());
        // The checkpoint log: its own bucket, Object Lock in compliance mode by default.
        s3.create_bucket()
            .bucket(AUDIT_BUCKET)
            .object_lock_enabled_for_bucket(true)
            .send()
            .await
            .expect("the audit bucket");
        s3.put_object_lock_configuration()
            .bucket(AUDIT_BUCKET)
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .rule(
                        ObjectLockRule::builder()
                            .default_retention(
                                DefaultRetention::builder()
                                    .mode(ObjectLockRetentionMode::Compliance)
                                    .days(1)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("the audit bucket's lock");
        let kms_key = aws_sdk_kms::Client::new(&config)
            .create_key()
            .key_spec(KeySpec::EccNistP256)
            .key_usage(KeyUsageType::SignVerify)
            .description("Outlay audit checkpoints")
            .send()
            .await
            .expect("the audit key")
            .key_metadata()
            .map(|k| k.key_id().to_owned())
            .expect("a key id");
        let sns = aws_sdk_sns::Client::new(&config);
        let topic = sns
            .create_topic()
            .name("outlay-events")
            .send()
            .await
            .expect("the topic")
            .topic_arn()
            .expect("an ARN")
            .to_owned();
        aws_sdk_sesv2::Client::new(&config)
            .create_email_identity()
            .email_identity("outlay@example.com")
            .send()
            .await
            .expect("the sender");
        let cognito = aws_sdk_cognitoidentityprovider::Client::new(&config);
        let policy = PasswordPolicyType::builder()
            .minimum_length(12)
            .require_lowercase(false)
            .require_uppercase(false)
            .require_numbers(false)
            .require_symbols(false)
            .build();
        let pool = cognito
            .create_user_pool()
            .pool_name("outlay")
            .policies(
                UserPoolPolicyType::builder()
                    .password_policy(policy)
                    .build(),
            )
            .send()
            .await
            .expect("the user pool")
            .user_pool()
            .and_then(|p| p.id())
            .expect("an id")
            .to_owned();
        let client_id = cognito
            .create_user_pool_client()
            .user_pool_id(&pool)
            .client_name("web")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
            .send()
            .await
            .expect("the app client")
            .user_pool_client()
            .and_then(|c| c.client_id())
            .expect("an id")
            .to_owned();
        for group in ["Employee", "Manager", "Finance", "Admin"] {
            cognito
                .create_group()
                .user_pool_id(&pool)
                .group_name(group)
                .send()
                .await
                .expect("a group");
        }
        settings.store = "dynamodb".into();
        settings.dynamodb_table = Some(table.into());
        settings.receipts_bucket = Some("outlay-receipts".into());
        settings.audit_bucket = Some(AUDIT_BUCKET.into());
        settings.audit_kms_key_id = Some(kms_key.clone());
        settings.cognito_user_pool_id = Some(pool.clone());
        settings.cognito_client_id = Some(client_id.clone());
        settings.sns_topic_arn = Some(topic);
        settings.ses_from = Some("outlay@example.com".into());
        AwsStack {
            _moto: moto,
            config,
            pool,
            client_id,
            kms_key,
        }
    }

    /// A Cognito access token for a user (ADMIN_USER_PASSWORD_AUTH, as the test client allows).
    pub async fn token(&self, email: &str, password: &str) -> String {
        let cognito = aws_sdk_cognitoidentityprovider::Client::new(&self.config);
        let auth = cognito
            .admin_initiate_auth()
            .user_pool_id(&self.pool)
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::AdminUserPasswordAuth)
            .auth_parameters("USERNAME", email)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{email} signs in: {e:?}"));
        auth.authentication_result()
            .and_then(|r| r.access_token())
            .expect("an access token")
            .to_owned()
    }
}

fn aws_sdk_dynamodb_client(config: &SdkConfig) -> outlay_store_dynamodb::Client {
    outlay_store_dynamodb::Client::new(config)
}

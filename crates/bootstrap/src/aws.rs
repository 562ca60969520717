//! The AWS-backed mode: DynamoDB (or Aurora PostgreSQL through RDS Proxy), S3, Cognito, SES
//! and SNS, configured from `OUTLAY_*` and the standard `AWS_*` variables (`AWS_REGION`;
//! `AWS_ENDPOINT_URL` points every client at one endpoint, such as a moto server in tests).

use std::sync::Arc;

use anyhow::Context;
use outlay_anchor::{KmsSigner, S3Log};
use outlay_app::{Anchor, App, Ports, SystemClock, UuidV7};
use outlay_auth::{CognitoAdmin, CognitoHostedUi, CognitoVerifier};
use outlay_blobs::S3Blobs;
use outlay_notify::{Events, Mailer, Notifiers, Ses, Sns};
use outlay_store_dynamodb::DynamoStore;

use crate::{Backend, Built, Settings, notify_settings, random_key};

fn required<'a>(value: &'a Option<String>, name: &str) -> anyhow::Result<&'a str> {
    value
        .as_deref()
        .with_context(|| format!("{name} is required in the AWS mode"))
}

/// Creates the DynamoDB table if it is missing (the template creates it in a deployment).
pub(crate) async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let config = aws_config::load_from_env().await;
    let table = required(&settings.dynamodb_table, "OUTLAY_DYNAMODB_TABLE")?;
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table)
        .ensure_table()
        .await
}

/// The PostgreSQL store at `OUTLAY_DATABASE_URL`: with `OUTLAY_DATABASE_IAM_AUTH`, signed in
/// with IAM tokens made from the function's credentials and renewed well before they lapse, so
/// that the pool's new connections always have a good one. It does not migrate: the function's
/// database login may not change the schema; an operator runs `outlay migrate` (docs/aws.md).
#[cfg(feature = "postgres")]
async fn postgres(
    settings: &Settings,
    config: &aws_config::SdkConfig,
    region: &str,
) -> anyhow::Result<Arc<dyn Backend>> {
    use aws_credential_types::provider::ProvideCredentials;
    use outlay_store_postgres::{PgConnectOptions, PgStore};

    let url = settings
        .database_url
        .as_ref()
        .context("OUTLAY_DATABASE_URL is required when OUTLAY_STORE=postgres")?;
    let options: PgConnectOptions = url
        .0
        .parse()
        .context("OUTLAY_DATABASE_URL is not a PostgreSQL URL")?;
    if !settings.database_iam_auth {
        let store = PgStore::connect_with(options).await?;
        store.check_schema().await?;
        return Ok(Arc::new(store));
    }
    let credentials = config
        .credentials_provider()
        .context("IAM database authentication needs AWS credentials")?;
    let region = region.to_owned();
    let token = move |c: &aws_credential_types::Credentials, o: &PgConnectOptions| {
        crate::rds::auth_token(
            c,
            &region,
            o.get_host(),
            o.get_port(),
            o.get_username(),
            std::time::SystemTime::now(),
        )
    };
    let first = token(&credentials.provide_credentials().await?, &options)?;
    let store = PgStore::connect_with(options.clone().password(&first)).await?;
    store.check_schema().await?;
    let pool = store.pool().clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(crate::rds::TOKEN_LIFETIME / 3).await;
            let renewed = credentials
                .provide_credentials()
                .await
                .map_err(anyhow::Error::from)
                .and_then(|c| token(&c, &options));
            match renewed {
                Ok(t) => pool.set_connect_options(options.clone().password(&t)),
                Err(e) => tracing::warn!(error = %e, "the database token was not renewed"),
            }
        }
    });
    Ok(Arc::new(store))
}

/// Builds the application on AWS services configured from the environment.
pub(crate) async fn build(settings: &Settings) -> anyhow::Result<Built> {
    build_with_config(settings, aws_config::load_from_env().await).await
}

/// Builds the application on AWS services with an explicit SDK configuration (tests pass one
/// that points at moto).
pub async fn build_with_config(
    settings: &Settings,
    config: aws_config::SdkConfig,
) -> anyhow::Result<Built> {
    let endpoint = config.endpoint_url().map(str::to_owned);
    let region = config
        .region()
        .map(ToString::to_string)
        .context("AWS_REGION is required")?;
    let bucket = required(&settings.receipts_bucket, "OUTLAY_RECEIPTS_BUCKET")?;
    let pool = required(
        &settings.cognito_user_pool_id,
        "OUTLAY_COGNITO_USER_POOL_ID",
    )?;
    let client_id = required(&settings.cognito_client_id, "OUTLAY_COGNITO_CLIENT_ID")?;
    let from = required(&settings.ses_from, "OUTLAY_SES_FROM")?;

    let store: Arc<dyn Backend> = match settings.store.as_str() {
        #[cfg(feature = "postgres")]
        "postgres" => postgres(settings, &config, &region).await?,
        _ => Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&config),
            required(&settings.dynamodb_table, "OUTLAY_DYNAMODB_TABLE")?,
        )),
    };
    // A custom endpoint (moto, LocalStack) serves buckets by path, not by host name.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(endpoint.is_some())
            .build(),
    );
    let notifiers = Notifiers {
        email: Mailer::Ses(Ses::new(aws_sdk_sesv2::Client::new(&config), from)),
        events: settings
            .sns_topic_arn
            .as_deref()
            .map(|arn| Events::Sns(Sns::new(aws_sdk_sns::Client::new(&config), arn))),
    };
    let ports = Ports {
        reader: aws_readers(settings, &config),
        // SES writes the topmost Authentication-Results of what it receives as amazonses.com.
        mail: Arc::new(outlay_receipts::mail::Mail {
            authserv_id: Some(
                settings
                    .mail_authserv_id
                    .clone()
                    .unwrap_or_else(|| "amazonses.com".into()),
            ),
        }),
        files: Arc::new(outlay_payments::BankFiles),
        store: store.clone(),
        blobs: Arc::new(S3Blobs::new(s3.clone(), bucket)),
        clock: Arc::new(SystemClock),
        ids: Arc::new(UuidV7),
        login: None,
        verifier: Arc::new(CognitoVerifier::new(
            &region,
            pool,
            client_id,
            endpoint.as_deref(),
        )?),
        identities: Some(Arc::new(CognitoAdmin::new(
            aws_sdk_cognitoidentityprovider::Client::new(&config),
            pool,
        ))),
        hosted: settings
            .cognito_domain
            .as_deref()
            .map(|domain| CognitoHostedUi::new(domain, client_id))
            .transpose()?
            .map(|h| Arc::new(h) as _),
        anchor: Anchor {
            signer: Arc::new(KmsSigner::new(
                aws_sdk_kms::Client::new(&config),
                required(&settings.audit_kms_key_id, "OUTLAY_AUDIT_KMS_KEY_ID")?,
            )),
            log: Arc::new(S3Log::new(
                s3.clone(),
                required(&settings.audit_bucket, "OUTLAY_AUDIT_BUCKET")?,
            )),
        },
    };
    // Every instance of the function signs with the same keys, kept in the table.
    let candidates = (random_key()?, random_key()?);
    let (upload_key, session_key) = tokio::try_join!(
        store.shared_secret("upload-key", &candidates.0),
        store.shared_secret("session-key", &candidates.1),
    )?;
    let app = App::new(
        ports,
        notify_settings(settings, notifiers.events.is_some()),
        upload_key,
    );
    let router = crate::router(settings, &app, session_key).await?;
    let mut built = Built::new(
        app,
        store,
        #[cfg(feature = "local")]
        None,
        notifiers,
        router,
        settings,
    );
    built.inbound = settings
        .mail_bucket
        .clone()
        .map(|bucket| (s3.clone(), bucket));
    Ok(built)
}

/// The receipt readers on AWS: e-invoices, then Amazon Textract's AnalyzeExpense unless OCR is
/// off (the Lambda package carries no Tesseract).
fn aws_readers(
    settings: &Settings,
    config: &aws_config::SdkConfig,
) -> Arc<dyn outlay_app::ports::ReceiptReader> {
    let mut readers: Vec<Arc<dyn outlay_app::ports::ReceiptReader>> =
        vec![Arc::new(outlay_receipts::EinvoiceReader)];
    match settings.ocr.as_str() {
        "off" => tracing::info!("OCR is off: only e-invoices are read"),
        "tesseract" => {
            tracing::warn!("Tesseract runs on one machine only: only e-invoices are read")
        }
        _ => readers.push(Arc::new(outlay_receipts::textract::TextractReader::new(
            aws_sdk_textract::Client::new(config),
        ))),
    }
    Arc::new(outlay_app::ReaderChain(readers))
}

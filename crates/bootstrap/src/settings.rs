//! Typed settings: built-in defaults, then an optional TOML file (`OUTLAY_CONFIG`), then
//! `OUTLAY_*` environment variables, then command-line flags.

use std::path::PathBuf;

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything Outlay can be configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where to listen (`OUTLAY_ADDR`).
    pub addr: String,
    /// The database, token key, receipts and mail folder (`OUTLAY_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Access token lifetime in seconds (`OUTLAY_TOKEN_TTL_SECS`).
    pub token_ttl_secs: u64,
    /// The PKCS#8 Ed25519 key that signs local tokens; generated on first start if missing
    /// (`OUTLAY_TOKEN_KEY_FILE`; default `<data_dir>/token-key.pk8`).
    pub token_key_file: Option<PathBuf>,
    /// The `iss` of local tokens (`OUTLAY_TOKEN_ISSUER`).
    pub token_issuer: String,
    /// The `aud` of local tokens (`OUTLAY_TOKEN_AUDIENCE`).
    pub token_audience: String,
    /// `json` (default) or `pretty` (`OUTLAY_LOG_FORMAT`).
    pub log_format: String,
    /// A tracing filter such as `info` or `outlay=debug` (`OUTLAY_LOG`).
    pub log: String,
    /// Where clients reach Outlay, for the absolute links it hands out (`OUTLAY_PUBLIC_URL`);
    /// by default `http://<addr>`. A request's own `Host` is never reflected into a link,
    /// unless a trusted proxy sets it (`trust_proxy`).
    pub public_url: Option<String>,
    /// Whether a proxy in front sets `Host`, `X-Forwarded-For` and `X-Forwarded-Proto`, so
    /// that they may be believed (`OUTLAY_TRUST_PROXY`; default false; always on in Lambda,
    /// where API Gateway sets them and Outlay writes the client address from its context).
    pub trust_proxy: bool,
    /// The bearer token that `/metrics` asks of scrapers (`OUTLAY_METRICS_TOKEN`). Without it,
    /// `/metrics` answers only clients on this machine's loopback.
    pub metrics_token: Option<Secret>,
    /// The path the web UI is served under, such as `/prod` behind an API Gateway stage
    /// (`OUTLAY_BASE_PATH`; default: the root).
    pub base_path: String,
    /// The SMTP server (`OUTLAY_SMTP_URL`, e.g. `smtp://user:pass@mail:587?tls=required`);
    /// without it, emails are written to `<data_dir>/mail` as `.eml` files.
    pub smtp_url: Option<Secret>,
    /// The sender of emails (`OUTLAY_MAIL_FROM`).
    pub mail_from: String,
    /// A webhook to call on every report event (`OUTLAY_WEBHOOK_URL`).
    pub webhook_url: Option<String>,
    /// The webhook's HMAC secret (`OUTLAY_WEBHOOK_SECRET`), required with a webhook.
    pub webhook_secret: Option<Secret>,
    /// Approvers get one daily email at this UTC hour instead of one per report
    /// (`OUTLAY_APPROVER_DIGEST_HOUR`, 0 to 23).
    pub approver_digest_hour: Option<u32>,
    /// Where data lives: `sqlite` (default), `postgres` (several instances on one database)
    /// or `dynamodb` (`OUTLAY_STORE`; the AWS mode needs the binary built with the `aws`
    /// feature).
    pub store: String,
    /// The PostgreSQL database, `postgres://user:password@host:5432/db`
    /// (`OUTLAY_DATABASE_URL`), with `OUTLAY_STORE=postgres`.
    pub database_url: Option<Secret>,
    /// Sign in to PostgreSQL with an IAM token made from the AWS credentials instead of a
    /// password (`OUTLAY_DATABASE_IAM_AUTH`; RDS Proxy, Aurora, RDS).
    pub database_iam_auth: bool,
    /// The DynamoDB table (`OUTLAY_DYNAMODB_TABLE`).
    pub dynamodb_table: Option<String>,
    /// The S3 bucket for receipts (`OUTLAY_RECEIPTS_BUCKET`).
    pub receipts_bucket: Option<String>,
    /// The Cognito user pool (`OUTLAY_COGNITO_USER_POOL_ID`).
    pub cognito_user_pool_id: Option<String>,
    /// The Cognito app client (`OUTLAY_COGNITO_CLIENT_ID`).
    pub cognito_client_id: Option<String>,
    /// The deployment's stage (`OUTLAY_STAGE`): the `Stage` dimension of its CloudWatch metrics.
    pub stage: String,
    /// The user pool's hosted UI domain, `https://<prefix>.auth.<region>.amazoncognito.com`
    /// (`OUTLAY_COGNITO_DOMAIN`): the web UI signs in there.
    pub cognito_domain: Option<String>,
    /// The SNS topic for integration events (`OUTLAY_SNS_TOPIC_ARN`).
    pub sns_topic_arn: Option<String>,
    /// The SES identity emails are sent from (`OUTLAY_SES_FROM`).
    pub ses_from: Option<String>,
    /// How often the outbox is checked, in milliseconds (`OUTLAY_DISPATCH_INTERVAL_MS`).
    pub dispatch_interval_ms: u64,
    /// Who reads receipts that are not e-invoices (`OUTLAY_OCR`): `auto` (the default: Tesseract
    /// on one machine when it is installed, Amazon Textract on AWS), `tesseract`, `textract`,
    /// or `off`. E-invoices are read either way.
    pub ocr: String,
    /// A maildir that receipts arrive in by email (`OUTLAY_MAIL_DIR`; off when unset): a mail
    /// server delivers to its `new/`, and each message from a known user's address becomes
    /// draft expenses, one per receipt attached.
    pub mail_dir: Option<PathBuf>,
    /// The mail server whose `Authentication-Results` are trusted (`OUTLAY_MAIL_AUTHSERV_ID`,
    /// its authserv-id, such as `mx.example.com`): required with `mail_dir`; on AWS,
    /// `amazonses.com` when unset.
    pub mail_authserv_id: Option<String>,
    /// The S3 bucket SES writes received email to, under `mail/` (`OUTLAY_MAIL_BUCKET`; AWS).
    pub mail_bucket: Option<String>,
    /// The first retry of a failed delivery waits this long; each later one twice as long
    /// (`OUTLAY_RETRY_BASE_MS`).
    pub retry_base_ms: u64,
    /// The P-256 PKCS#8 PEM key that signs audit checkpoints; generated on first start if
    /// missing (`OUTLAY_AUDIT_KEY_FILE`; default `<data_dir>/audit-key.pem`). Keep it, and the
    /// checkpoint log, away from the database for the checkpoints to prove anything against
    /// whoever holds the database file.
    pub audit_key_file: Option<PathBuf>,
    /// The append-only checkpoint log (`OUTLAY_AUDIT_CHECKPOINTS_FILE`; default
    /// `<data_dir>/audit-checkpoints.jsonl`).
    pub audit_checkpoints_file: Option<PathBuf>,
    /// How often the audit head is checkpointed, in seconds (`OUTLAY_AUDIT_CHECKPOINT_SECS`);
    /// every verification checkpoints it too.
    pub audit_checkpoint_secs: u64,
    /// The KMS key (`ECC_NIST_P256`, sign and verify) that signs checkpoints on AWS
    /// (`OUTLAY_AUDIT_KMS_KEY_ID`).
    pub audit_kms_key_id: Option<String>,
    /// The S3 bucket, with Object Lock in compliance mode, that keeps checkpoints on AWS
    /// (`OUTLAY_AUDIT_BUCKET`).
    pub audit_bucket: Option<String>,
}

/// A secret setting: used, never shown in logs or debug output.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("outlay-data"),
            token_ttl_secs: 900,
            token_key_file: None,
            token_issuer: "outlay".into(),
            token_audience: "outlay-api".into(),
            log_format: "json".into(),
            log: "info".into(),
            public_url: None,
            trust_proxy: false,
            metrics_token: None,
            base_path: String::new(),
            smtp_url: None,
            mail_from: "Outlay <outlay@localhost>".into(),
            webhook_url: None,
            webhook_secret: None,
            approver_digest_hour: None,
            store: "sqlite".into(),
            database_url: None,
            database_iam_auth: false,
            dynamodb_table: None,
            receipts_bucket: None,
            cognito_user_pool_id: None,
            cognito_client_id: None,
            cognito_domain: None,
            stage: "local".into(),
            sns_topic_arn: None,
            ses_from: None,
            dispatch_interval_ms: 1000,
            ocr: "auto".into(),
            mail_dir: None,
            mail_authserv_id: None,
            mail_bucket: None,
            retry_base_ms: 5000,
            audit_key_file: None,
            audit_checkpoints_file: None,
            audit_checkpoint_secs: 3600,
            audit_kms_key_id: None,
            audit_bucket: None,
        }
    }
}

/// Flags that override everything else.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    /// `--addr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

impl Settings {
    /// The keys read from `OUTLAY_*` variables; other `OUTLAY_` variables are not settings.
    const KEYS: [&'static str; 39] = [
        "addr",
        "data_dir",
        "database_url",
        "database_iam_auth",
        "token_ttl_secs",
        "token_key_file",
        "token_issuer",
        "token_audience",
        "log_format",
        "log",
        "public_url",
        "trust_proxy",
        "metrics_token",
        "base_path",
        "smtp_url",
        "mail_from",
        "webhook_url",
        "webhook_secret",
        "approver_digest_hour",
        "store",
        "dynamodb_table",
        "receipts_bucket",
        "cognito_user_pool_id",
        "cognito_client_id",
        "cognito_domain",
        "stage",
        "sns_topic_arn",
        "ses_from",
        "dispatch_interval_ms",
        "ocr",
        "mail_dir",
        "mail_authserv_id",
        "mail_bucket",
        "retry_base_ms",
        "audit_key_file",
        "audit_checkpoints_file",
        "audit_checkpoint_secs",
        "audit_kms_key_id",
        "audit_bucket",
    ];

    /// Loads the settings from every source, later ones winning.
    pub fn load(overrides: &Overrides) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Ok(path) = std::env::var("OUTLAY_CONFIG") {
            figment = figment.merge(Toml::file_exact(path));
        }
        let settings: Self = figment
            .merge(Env::prefixed("OUTLAY_").only(&Self::KEYS))
            .merge(Serialized::defaults(overrides))
            .extract()
            .context("Failed to read the settings")?;
        settings.check()?;
        Ok(settings)
    }

    /// Refuses settings that cannot work together.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            ["auto", "tesseract", "textract", "off"].contains(&self.ocr.as_str()),
            "OUTLAY_OCR must be auto, tesseract, textract or off, not `{}`",
            self.ocr.chars().take(20).collect::<String>()
        );
        anyhow::ensure!(
            self.mail_dir.is_none() || self.mail_authserv_id.is_some(),
            "OUTLAY_MAIL_DIR needs OUTLAY_MAIL_AUTHSERV_ID: the mail server whose \
             Authentication-Results are trusted (without it, a sender could write its own)"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_folder_needs_the_mail_server_it_trusts() {
        let mut s = Settings {
            mail_dir: Some("/var/mail/outlay".into()),
            ..Settings::default()
        };
        assert!(
            s.check()
                .is_err_and(|e| e.to_string().contains("OUTLAY_MAIL_AUTHSERV_ID"))
        );
        s.mail_authserv_id = Some("mx.example.com".into());
        assert!(s.check().is_ok());
        s.ocr = "gpt".into();
        assert!(
            s.check()
                .is_err_and(|e| e.to_string().contains("OUTLAY_OCR"))
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let s = Settings {
            smtp_url: Some(Secret("smtp://user:hunter2@mail".into())),
            webhook_secret: Some(Secret("s3cr3t".into())),
            ..Settings::default()
        };
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }
}

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
    const KEYS: [&'static str; 8] = [
        "addr",
        "data_dir",
        "token_ttl_secs",
        "token_key_file",
        "token_issuer",
        "token_audience",
        "log_format",
        "log",
    ];

    /// Loads the settings from every source, later ones winning.
    pub fn load(overrides: &Overrides) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Ok(path) = std::env::var("OUTLAY_CONFIG") {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment
            .merge(Env::prefixed("OUTLAY_").only(&Self::KEYS))
            .merge(Serialized::defaults(overrides))
            .extract()
            .context("Failed to read the settings")
    }
}

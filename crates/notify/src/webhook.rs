//! The integration webhook: a JSON POST signed with HMAC-SHA256.
//!
//! Receivers verify `X-Outlay-Signature: t=<unix seconds>,v1=<hex HMAC of "<t>.<body>">` with
//! the shared secret, reject old timestamps, and de-duplicate on `X-Outlay-Delivery`.

use anyhow::Context;
use hmac::{Hmac, Mac};
use outlay_app::Delivery;
use sha2::Sha256;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-outlay-signature";

/// The signature of `body` at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// A webhook endpoint and its secret.
#[derive(Clone)]
pub struct Webhook {
    url: String,
    secret: Vec<u8>,
    client: reqwest::Client,
}

impl Webhook {
    /// Calls `url`, signing with `secret`.
    pub fn new(url: &str, secret: &[u8]) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .context("Failed to build the webhook client")?;
        Ok(Self {
            url: url.to_owned(),
            secret: secret.to_vec(),
            client,
        })
    }

    /// POSTs the delivery's JSON body; anything but a 2xx answer is a failure to retry.
    pub async fn send(&self, d: &Delivery) -> anyhow::Result<()> {
        let now = chrono::Utc::now().timestamp();
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-outlay-event", &d.subject)
            .header("x-outlay-delivery", &d.key)
            .header(SIGNATURE_HEADER, signature(&self.secret, now, &d.body))
            .body(d.body.clone())
            .send()
            .await
            .context("The webhook could not be reached")?;
        let status = response.status();
        anyhow::ensure!(status.is_success(), "the webhook answered {status}");
        Ok(())
    }
}

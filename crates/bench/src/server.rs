//! The server under test: the real `outlay` binary, started as `outlay demo` on a fresh data
//! directory and a free loopback port, and stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// A running `outlay demo`.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    client: reqwest::Client,
}

impl Server {
    /// Starts `binary demo` with its data under `data` and its log in `log`, and waits until it
    /// is healthy.
    pub async fn start(binary: &Path, data: &Path, log: &Path) -> anyhow::Result<Self> {
        Self::start_with(binary, data, log, &[]).await
    }

    /// [`Server::start`] with more arguments for `demo` (`--seed-volume`).
    pub async fn start_with(
        binary: &Path,
        data: &Path,
        log: &Path,
        more: &[&str],
    ) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(binary)
            .args(["demo", "--addr", &format!("127.0.0.1:{port}")])
            .args(more)
            .arg("--data-dir")
            .arg(data)
            .env("OUTLAY_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .with_context(|| format!("Failed to start {}", binary.display()))?;
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        };
        // Seeding a volume of history comes first, through the use cases: allow for it.
        let deadline = Instant::now() + Duration::from_secs(if more.is_empty() { 60 } else { 600 });
        while Instant::now() < deadline {
            let health = server.client.get(server.url("/healthz")).send().await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the server did not become healthy")
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A demo user's access token.
    pub async fn token(&self, who: &str) -> anyhow::Result<String> {
        let r: Value = self
            .client
            .post(self.url("/api/v1/auth/token"))
            .json(&json!({"email": format!("{who}@example.com"), "password": "demo-password"}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        r["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("no access token")
    }

    /// Calls the API as `token`; answers the JSON body of a 2xx.
    pub async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let r = self
            .client
            .request(method.clone(), self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{method} {path}: {status} {body}");
        }
        Ok(body)
    }

    /// The process's peak resident memory so far, in MiB (`VmHWM`).
    pub fn peak_rss_mib(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .context("no VmHWM")?
            .parse()?;
        Ok(kib / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `outlay` binary beside this one (`target/<profile>/outlay`), or `$OUTLAY_BIN`.
pub fn outlay_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("OUTLAY_BIN") {
        return Ok(path.into());
    }
    let me = std::env::current_exe()?;
    let beside = me.with_file_name("outlay");
    if beside.exists() {
        Ok(beside)
    } else {
        bail!(
            "no outlay binary at {}: build it with the same profile (cargo build --release -p outlay) or set OUTLAY_BIN",
            beside.display()
        )
    }
}

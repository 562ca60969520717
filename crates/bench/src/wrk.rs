//! The load generator: `wrk` (Debian's package), at a fixed concurrency and duration, with a
//! Lua script for the method, headers and body. Its report is read for the request rate, the
//! latency percentiles and the answers that were not 2xx.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

/// One request shape: what every connection sends, over and over.
pub struct Load<'a> {
    /// The full URL.
    pub url: String,
    /// `GET` or `POST`.
    pub method: &'a str,
    /// Header lines, such as `("authorization", "Bearer ...")`.
    pub headers: Vec<(&'a str, String)>,
    /// The JSON body, for a `POST`.
    pub body: Option<String>,
}

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Requests per second.
    pub rate: f64,
    /// Median latency, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, in milliseconds.
    pub p99_ms: f64,
    /// Answers that were not 2xx or 3xx.
    pub not_ok: u64,
    /// Every request sent.
    pub requests: u64,
}

/// Runs `wrk` with `connections` connections on 1 thread (the server has the other core)
/// for `duration`. Fails if wrk is missing or more than 1% of the answers were not 2xx.
pub fn run(
    load: &Load<'_>,
    connections: u32,
    duration: Duration,
    scratch: &Path,
) -> anyhow::Result<Measured> {
    let script = scratch.join("load.lua");
    let mut lua = format!("wrk.method = {:?}\n", load.method);
    for (name, value) in &load.headers {
        lua.push_str(&format!("wrk.headers[{name:?}] = {value:?}\n"));
    }
    if let Some(body) = &load.body {
        lua.push_str("wrk.headers[\"Content-Type\"] = \"application/json\"\n");
        lua.push_str(&format!("wrk.body = {body:?}\n"));
    }
    std::fs::write(&script, lua).context("Failed to write the wrk script")?;
    let out = Command::new("wrk")
        .args(["--latency", "-t", "1", "-c", &connections.to_string()])
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("-s")
        .arg(&script)
        .arg(&load.url)
        .output()
        .context("Failed to run wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    let m = parse(&text).with_context(|| format!("Failed to read wrk's report:\n{text}"))?;
    if m.not_ok * 100 > m.requests {
        bail!(
            "{} of {} answers to {} {} were not 2xx:\n{text}",
            m.not_ok,
            m.requests,
            load.method,
            load.url
        );
    }
    Ok(m)
}

/// Reads wrk's `--latency` report.
pub fn parse(text: &str) -> anyhow::Result<Measured> {
    let mut m = Measured {
        rate: f64::NAN,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        not_ok: 0,
        requests: 0,
    };
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", rate] => m.rate = rate.parse()?,
            ["50%", t] => m.p50_ms = millis(t)?,
            ["99%", t] => m.p99_ms = millis(t)?,
            ["Non-2xx", "or", "3xx", "responses:", n] => m.not_ok = n.parse()?,
            [n, "requests", "in", ..] => m.requests = n.parse()?,
            _ => {}
        }
    }
    if m.rate.is_nan() || m.p50_ms.is_nan() || m.p99_ms.is_nan() {
        bail!("no rate or percentiles");
    }
    Ok(m)
}

/// `812.00us`, `1.23ms` or `2.01s` in milliseconds.
fn millis(t: &str) -> anyhow::Result<f64> {
    let (number, scale) = if let Some(n) = t.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000.0)
    } else {
        bail!("not a time: {t}");
    };
    Ok(number.parse::<f64>()? * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrk_report_is_read_for_rate_percentiles_and_failures() {
        let report = "Running 2s test @ http://127.0.0.1:8080/api/v1/expenses
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.52ms    3.01ms  40.00ms   80.00%
    Req/Sec     3.05k   100.00     3.20k    70.00%
  Latency Distribution
     50%  812.00us
     75%   11.00ms
     90%   14.00ms
     99%    1.02s
  6100 requests in 2.00s, 3.00MB read
  Non-2xx or 3xx responses: 7
Requests/sec:   3050.12
Transfer/sec:      1.50MB
";
        let m = parse(report).expect("read");
        assert_eq!(m.rate, 3050.12);
        assert!((m.p50_ms - 0.812).abs() < 1e-9);
        assert_eq!(m.p99_ms, 1020.0);
        assert_eq!((m.not_ok, m.requests), (7, 6100));
        assert!(parse("no report").is_err());
    }
}

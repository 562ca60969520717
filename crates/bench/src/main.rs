//! `outlay-bench`: Outlay's benchmark suite. It starts the real `outlay` binary on a fresh data
//! directory, drives it over HTTP with `wrk`, and prints each figure as a ratio against a
//! baseline measured in the same run on the same machine, since absolute times on a shared
//! machine say little. `--smoke` runs every step briefly, to keep the suite working in CI; it
//! asserts nothing about speed.
//!
//! Run it with the release build: `cargo build --release -p outlay -p outlay-bench &&
//! target/release/outlay-bench` (or `scripts/bench.sh`). `docs/benchmarks.md` has the results.

mod cold_start;
mod seed;
mod server;
mod sqlite_loop;
mod wrk;

use std::time::Duration;

use clap::Parser;
use reqwest::Method;
use serde_json::json;

use crate::server::Server;
use crate::wrk::{Load, Measured};

/// Outlay's benchmarks, as ratios against baselines measured in the same run.
#[derive(Parser)]
struct Args {
    /// A short run of every step (CI): about a second each, few connections.
    #[arg(long)]
    smoke: bool,
    /// Seconds per load.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent connections of the write and read loads.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// Reports in the large company of the list benchmark (its baseline has 1%).
    #[arg(long, default_value_t = 1_000_000)]
    reports: u64,
}

/// One line of the results.
struct Figure {
    what: String,
    measured: String,
    baseline: String,
    ratio: f64,
    goal: &'static str,
    met: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (seconds, connections) = if args.smoke {
        (1, 4)
    } else {
        (args.seconds, args.connections)
    };
    let d = Duration::from_secs(seconds);
    let scratch = tempfile::Builder::new()
        .prefix("outlay-bench-")
        .tempdir_in(std::env::temp_dir())?;
    let binary = server::outlay_binary()?;
    println!(
        "outlay-bench: {} s per load, {connections} connections, {} on {} cores",
        seconds,
        binary.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut figures = Vec::new();

    // Writes: the durable POST against one transaction per fsync.
    let loop_rate = sqlite_loop::insert_loop(scratch.path(), d).await?;
    let log = scratch.path().join("server.log");
    let server = Server::start(&binary, &scratch.path().join("data"), &log).await?;
    let employee = server.token("employee").await?;
    let auth = ("authorization", format!("Bearer {employee}"));
    let day = chrono::Utc::now().date_naive().to_string();
    let expense = json!({"date": day, "merchant": "Bench Supplies", "category": "office",
        "amount": "12.34", "currency": "USD", "description": "benchmark"});
    let post = wrk::run(
        &Load {
            url: server.url("/api/v1/expenses"),
            method: "POST",
            headers: vec![auth.clone()],
            body: Some(expense.to_string()),
        },
        connections,
        d,
        scratch.path(),
    )?;
    figures.push(Figure {
        what: "durable POST /api/v1/expenses vs a single-row INSERT transaction loop".into(),
        measured: format!(
            "{:.0} req/s, p50 {:.1} ms, p99 {:.1} ms",
            post.rate, post.p50_ms, post.p99_ms
        ),
        baseline: format!("{loop_rate:.0} tx/s"),
        ratio: post.rate / loop_rate,
        goal: ">= 2.0 (and p99 <= 20 ms)",
        met: post.rate / loop_rate >= 2.0 && post.p99_ms <= 20.0,
    });

    // Reads: an authenticated report against a bare route of the same server.
    let get = |path: &str, headers: Vec<(&'static str, String)>| Load {
        url: server.url(path),
        method: "GET",
        headers,
        body: None,
    };
    let some = server
        .call(
            &employee,
            Method::GET,
            "/api/v1/expenses?limit=1",
            json!(null),
        )
        .await?;
    let expense_id = some["items"][0]["id"].clone();
    let report = server
        .call(
            &employee,
            Method::POST,
            "/api/v1/reports",
            json!({"title": "Bench", "expense_ids": [expense_id]}),
        )
        .await?;
    let report_path = format!("/api/v1/reports/{}", report["id"].as_str().unwrap_or(""));
    let bare = wrk::run(
        &get("/assets/app.css", vec![]),
        connections,
        d,
        scratch.path(),
    )?;
    let one = wrk::run(
        &get(&report_path, vec![auth.clone()]),
        connections,
        d,
        scratch.path(),
    )?;
    figures.push(ratio_of_rates(
        "authenticated GET /api/v1/reports/{id} vs the bare /assets/app.css".into(),
        one,
        bare,
        ">= 0.5",
        0.5,
    ));

    // A page of my expenses, one request at a time, against the bare route's latency.
    let bare_1 = wrk::run(&get("/assets/app.css", vec![]), 1, d, scratch.path())?;
    let page = wrk::run(
        &get("/api/v1/expenses?limit=50", vec![auth.clone()]),
        1,
        d,
        scratch.path(),
    )?;
    figures.push(Figure {
        what: "my expenses, a 50-item page, p50 at one connection".into(),
        measured: format!("{:.2} ms", page.p50_ms),
        baseline: format!("bare route {:.2} ms", bare_1.p50_ms),
        ratio: page.p50_ms / bare_1.p50_ms,
        goal: "p50 <= 2 ms",
        met: page.p50_ms <= 2.0,
    });

    // Memory: the peak after the loads and a burst of sign-ins with unknown emails.
    let sign_ins = if args.smoke { 20 } else { 200 };
    let logins: Vec<_> = (0..sign_ins)
        .map(|n| {
            let url = server.url("/api/v1/auth/token");
            tokio::spawn(async move {
                let body = json!({"email": format!("nobody{n}@example.com"), "password": "wrong-password"});
                reqwest::Client::new().post(url).json(&body).send().await
            })
        })
        .collect();
    for l in logins {
        l.await??;
    }
    let peak = server.peak_rss_mib()?;
    figures.push(Figure {
        what: format!(
            "peak RSS after the loads and {sign_ins} concurrent sign-ins with unknown emails"
        ),
        measured: format!("{peak:.1} MiB"),
        baseline: "goal 64 MB".into(),
        ratio: peak / (64_000_000.0 / 1_048_576.0),
        goal: "<= 1.0",
        met: peak * 1_048_576.0 <= 64_000_000.0,
    });

    // Web pages at a company's volume: each page's p50 against the bare route's.
    figures.extend(pages(&binary, scratch.path(), d, bare_1.p50_ms).await?);

    // Lists: each list's p99 at the full size of the company against 1% of it.
    let (small, large) = if args.smoke {
        (200, 2_000)
    } else {
        (args.reports / 100, args.reports)
    };
    figures.extend(lists(&binary, scratch.path(), small, large, d).await?);

    // The Lambda cold start against a minimal lambda_runtime hello of the same build.
    figures.extend(lambda_cold_start(&binary, if args.smoke { 1 } else { 9 }).await?);

    println!();
    for f in &figures {
        println!("{}", f.what);
        println!(
            "  {} | baseline {} | ratio {:.2} | goal {} | {}",
            f.measured,
            f.baseline,
            f.ratio,
            f.goal,
            if f.met { "met" } else { "NOT met" }
        );
    }
    if args.smoke {
        println!("\n(smoke run: too short for the figures to mean anything)");
    }
    Ok(())
}

/// The web pages measured at volume: who asks, and the path.
const PAGES: [(&str, &str); 12] = [
    ("staff000", "/expenses"),
    ("staff000", "/expenses?q=hilton&sort=-amount"),
    ("staff000", "/reports"),
    ("manager", "/approvals"),
    ("manager", "/team"),
    ("finance", "/reports?scope=all"),
    ("finance", "/reports?scope=all&state=paid&q=conference"),
    ("finance", "/payments"),
    ("finance", "/spend"),
    ("finance", "/reports.csv?state=paid"),
    ("admin", "/admin/users"),
    ("admin", "/admin/audit?action=report.pay"),
];

/// Each web page's p50 at one connection, signed in as its user, on the demo company with
/// `outlay demo --seed-volume`'s history (2,000 expenses, 300 reports), against the bare route.
async fn pages(
    binary: &std::path::Path,
    scratch: &std::path::Path,
    d: Duration,
    bare_p50_ms: f64,
) -> anyhow::Result<Vec<Figure>> {
    let log = scratch.join("pages.log");
    let server =
        Server::start_with(binary, &scratch.join("pages"), &log, &["--seed-volume"]).await?;
    let mut out = Vec::new();
    for (who, path) in PAGES {
        let token = server.token(who).await?;
        let load = Load {
            url: server.url(path),
            method: "GET",
            headers: vec![("cookie", format!("outlay_session={token}"))],
            body: None,
        };
        let probe = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?
            .get(&load.url)
            .header("cookie", format!("outlay_session={token}"))
            .send()
            .await?;
        if !probe.status().is_success() {
            anyhow::bail!("{path} answers {} to {who}", probe.status());
        }
        let m = wrk::run(&load, 1, d, scratch)?;
        out.push(Figure {
            what: format!("web page {path} as {who} at volume, p50 at one connection"),
            measured: format!("p50 {:.1} ms", m.p50_ms),
            baseline: format!("bare route {bare_p50_ms:.2} ms"),
            ratio: m.p50_ms / bare_p50_ms,
            goal: "p50 <= 200 ms",
            met: m.p50_ms <= 200.0,
        });
    }
    Ok(out)
}

/// The lists that must cost the same at any size: who asks, and the first page's path.
const LISTS: [(&str, &str, &str); 6] = [
    ("my expenses", "employee", "/api/v1/expenses?limit=50"),
    ("my reports", "employee", "/api/v1/reports?limit=50"),
    (
        "a manager's approvals",
        "manager",
        "/api/v1/reports?scope=approvals&limit=50",
    ),
    (
        "finance's approvals",
        "finance",
        "/api/v1/reports?scope=approvals&limit=50",
    ),
    (
        "the reports finance decided",
        "finance",
        "/api/v1/reports?scope=decided&limit=50",
    ),
    (
        "all reports",
        "finance",
        "/api/v1/reports?scope=all&limit=50",
    ),
];

/// Seeds a company of `small` reports, measures every list at one connection, grows it to
/// `large` and measures again.
async fn lists(
    binary: &std::path::Path,
    scratch: &std::path::Path,
    small: u64,
    large: u64,
    d: Duration,
) -> anyhow::Result<Vec<Figure>> {
    let data = scratch.join("lists");
    let db = data.join("outlay.db");
    let log = scratch.join("lists.log");
    drop(Server::start(binary, &data, &log).await?);
    let mut measured = Vec::new();
    let mut size = 0;
    for target in [small, large] {
        let started = std::time::Instant::now();
        seed::grow(&db, size, target).await?;
        size = target;
        println!(
            "seeded {size} reports in {:.0} s ({:.0} MB)",
            started.elapsed().as_secs_f64(),
            std::fs::metadata(&db)?.len() as f64 / 1e6
        );
        let server = Server::start(binary, &data, &log).await?;
        let mut at_size = Vec::new();
        for (_, who, path) in LISTS {
            let token = server.token(who).await?;
            let first = server.call(&token, Method::GET, path, json!(null)).await?;
            if first["items"].as_array().is_none_or(Vec::is_empty) {
                anyhow::bail!("{path} is empty for {who} at {size} reports: the seed is wrong");
            }
            let load = Load {
                url: server.url(path),
                method: "GET",
                headers: vec![("authorization", format!("Bearer {token}"))],
                body: None,
            };
            at_size.push(wrk::run(&load, 1, d, scratch)?);
        }
        measured.push(at_size);
    }
    Ok(LISTS
        .iter()
        .zip(measured[0].iter().zip(&measured[1]))
        .map(|((what, ..), (at_small, at_large))| {
            let ratio = at_large.p99_ms / at_small.p99_ms;
            Figure {
                what: format!("{what}: p99 at {large} reports vs at {small}, one connection"),
                measured: format!("p99 {:.2} ms", at_large.p99_ms),
                baseline: format!("p99 {:.2} ms", at_small.p99_ms),
                ratio,
                goal: "<= 1.5",
                met: ratio <= 1.5,
            }
        })
        .collect())
}

/// The Lambda package's cold start against `lambda-hello`, `runs` of each in turn, in the
/// stack that `OUTLAY_BENCH_LAMBDA_ENV` names (scripts/bench.sh starts it in moto); skipped,
/// outside CI, when there is none.
async fn lambda_cold_start(
    binary: &std::path::Path,
    runs: usize,
) -> anyhow::Result<Option<Figure>> {
    let Some(env) = std::env::var_os("OUTLAY_BENCH_LAMBDA_ENV") else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            anyhow::bail!(
                "OUTLAY_BENCH_LAMBDA_ENV is not set: run the suite with scripts/bench.sh"
            );
        }
        println!(
            "the Lambda cold start is skipped: OUTLAY_BENCH_LAMBDA_ENV names no stack (scripts/bench.sh starts one in moto)"
        );
        return Ok(None);
    };
    let env = cold_start::exports(std::path::Path::new(&env))?;
    if !env
        .iter()
        .any(|(k, v)| k == "OUTLAY_STORE" && v == "dynamodb")
    {
        anyhow::bail!("OUTLAY_BENCH_LAMBDA_ENV names no DynamoDB stack");
    }
    let lambda = std::env::var_os("OUTLAY_LAMBDA_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| binary.to_owned());
    let hello = binary.with_file_name("lambda-hello");
    let (mut outlay, mut baseline) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        baseline.push(cold_start::cold_start(&hello, &[]).await?);
        outlay.push(cold_start::cold_start(&lambda, &env).await?);
    }
    let (o, h) = (
        cold_start::median(&mut outlay),
        cold_start::median(&mut baseline),
    );
    let ratio = o.as_secs_f64() / h.as_secs_f64();
    Ok(Some(Figure {
        what: format!(
            "Lambda bootstrap, exec to its answer to GET /healthz (DynamoDB in moto), median of {runs}, vs a lambda_runtime hello"
        ),
        measured: format!("{:.1} ms", o.as_secs_f64() * 1e3),
        baseline: format!("{:.1} ms", h.as_secs_f64() * 1e3),
        ratio,
        goal: "<= 1.5",
        met: ratio <= 1.5,
    }))
}

fn ratio_of_rates(
    what: String,
    measured: Measured,
    baseline: Measured,
    goal: &'static str,
    at_least: f64,
) -> Figure {
    let ratio = measured.rate / baseline.rate;
    Figure {
        what,
        measured: format!("{:.0} req/s, p99 {:.1} ms", measured.rate, measured.p99_ms),
        baseline: format!("{:.0} req/s", baseline.rate),
        ratio,
        goal,
        met: ratio >= at_least,
    }
}

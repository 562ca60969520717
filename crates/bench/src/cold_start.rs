//! The Lambda cold start: a binary started as Lambda starts it (a fresh process, the Runtime
//! API's address in `AWS_LAMBDA_RUNTIME_API`), timed from exec to its first answer, against a
//! double of the Runtime API on loopback that hands it one API Gateway HTTP API (v2) event.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};

/// The double's state: the one event, and where the answer goes.
struct Double {
    event: Mutex<Option<String>>,
    answers: mpsc::Sender<Result<String, String>>,
}

async fn next(State(d): State<Arc<Double>>) -> (HeaderMap, String) {
    let Some(event) = d.event.lock().await.take() else {
        // One event per sandbox: later polls wait until the process is stopped.
        return std::future::pending().await;
    };
    let mut h = HeaderMap::new();
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    for (name, value) in [
        ("lambda-runtime-aws-request-id", "bench-1".to_owned()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:outlay".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272793".to_owned(),
        ),
    ] {
        if let Ok(v) = value.parse() {
            h.insert(name, v);
        }
    }
    (h, event)
}

async fn respond(State(d): State<Arc<Double>>, body: String) -> &'static str {
    let _ = d.answers.send(Ok(body)).await;
    "{}"
}

async fn error(State(d): State<Arc<Double>>, body: String) -> &'static str {
    let _ = d.answers.send(Err(body)).await;
    "{}"
}

/// `GET /healthz` as API Gateway's HTTP API sends it on the `prod` stage.
fn healthz_event() -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/prod/healthz",
        "rawQueryString": "",
        "headers": {"host": "abc123.execute-api.us-east-1.amazonaws.com", "x-forwarded-proto": "https"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com", "domainPrefix": "abc123",
            "requestId": "bench", "routeKey": "$default", "stage": "prod",
            "time": "05/Dec/2026:06:00:00 +0000", "timeEpoch": 1_796_450_400_000_i64,
            "http": {"method": "GET", "path": "/prod/healthz", "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "outlay-bench"}
        },
        "isBase64Encoded": false
    })
}

/// Starts `binary` as Lambda would, with only `env` and the sandbox's own variables, and
/// answers the time from exec to its answer to `GET /healthz`, which must be a 200.
pub async fn cold_start(binary: &Path, env: &[(String, String)]) -> anyhow::Result<Duration> {
    let (answers, mut answered) = mpsc::channel(4);
    let double = Arc::new(Double {
        event: Mutex::new(Some(healthz_event().to_string())),
        answers,
    });
    let api = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(respond),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(double);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let server = tokio::spawn(async move { axum::serve(listener, api).await });

    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "outlay")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/outlay")
        .env("OUTLAY_LOG", "warn")
        .env("OUTLAY_STAGE", "bench")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("Failed to start {}", binary.display()))?;
    let answer = tokio::time::timeout(Duration::from_secs(60), answered.recv()).await;
    let took = started.elapsed();
    let _ = child.kill().await;
    server.abort();
    let body = match answer {
        Err(_) => bail!("{} did not answer within a minute", binary.display()),
        Ok(None) => bail!("the Runtime API double stopped"),
        Ok(Some(Err(error))) => bail!("{} reported an error: {error}", binary.display()),
        Ok(Some(Ok(body))) => body,
    };
    let status = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["statusCode"].as_u64());
    if status != Some(200) {
        bail!("{} answered {body}", binary.display());
    }
    Ok(took)
}

/// The variables of an `export NAME=value` file, such as `scripts/moto-stack.sh` writes.
pub fn exports(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("Failed to read {}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches(['\'', '"']).to_owned()))
        .collect())
}

/// The median of `times`, which is not empty.
pub fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

//! The packaged binary started as Lambda starts it, against a small double of the Lambda
//! Runtime API that feeds it HTTP API v2 events; its cold start is measured.
#![cfg(feature = "aws")]

#[path = "api/aws.rs"]
mod aws;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::Mutex;

#[derive(Default)]
struct Runtime {
    events: Mutex<VecDeque<(String, Value)>>,
    responses: Mutex<Vec<(String, Value, Instant)>>,
    errors: Mutex<Vec<String>>,
}

async fn next(State(rt): State<Arc<Runtime>>) -> (HeaderMap, String) {
    loop {
        if let Some((id, event)) = rt.events.lock().await.pop_front() {
            let mut h = HeaderMap::new();
            h.insert("lambda-runtime-aws-request-id", id.parse().expect("ASCII"));
            let deadline = (chrono::Utc::now().timestamp_millis() + 30_000).to_string();
            h.insert(
                "lambda-runtime-deadline-ms",
                deadline.parse().expect("ASCII"),
            );
            h.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:outlay"
                    .parse()
                    .expect("ASCII"),
            );
            h.insert(
                "lambda-runtime-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793"
                    .parse()
                    .expect("ASCII"),
            );
            return (h, event.to_string());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn respond(
    State(rt): State<Arc<Runtime>>,
    Path(id): Path<String>,
    body: String,
) -> &'static str {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    rt.responses.lock().await.push((id, value, Instant::now()));
    "{}"
}

async fn error(State(rt): State<Arc<Runtime>>, body: String) -> &'static str {
    rt.errors.lock().await.push(body);
    "{}"
}

fn http_event(method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
    let mut headers = json!({"host": "abc123.execute-api.us-east-1.amazonaws.com", "x-forwarded-proto": "https", "content-type": "application/json"});
    if let Some(t) = token {
        headers["authorization"] = json!(format!("Bearer {t}"));
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": format!("/prod{path}"),
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123", "requestId": "req", "routeKey": "$default", "stage": "prod",
            "time": "24/Nov/2026:06:00:00 +0000", "timeEpoch": 1795497600000_i64,
            "http": {"method": method, "path": format!("/prod{path}"), "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "test"}
        },
        "body": body.map(|b| b.to_string()),
        "isBase64Encoded": false
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto_server: `bash .ci/run` runs it (cargo test -- --include-ignored)"]
async fn the_bootstrap_serves_healthz_and_an_authenticated_expense_as_lambda_runs_it() {
    // GIVEN the stack on moto, with the demo company
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut settings = outlay_bootstrap::Settings::load(&outlay_bootstrap::Overrides {
        addr: None,
        data_dir: Some(dir.path().to_owned()),
    })
    .expect("settings");
    let stack = aws::AwsStack::start(&mut settings).await;
    let built = outlay_bootstrap::build_with_config(&settings, stack.config.clone())
        .await
        .expect("built");
    outlay_bootstrap::seed_demo(&built.app)
        .await
        .expect("seeded");
    let token = stack
        .token("employee@example.com", outlay_bootstrap::DEMO_PASSWORD)
        .await;

    // AND a Runtime API double with three events waiting
    let rt = Arc::new(Runtime::default());
    let day = chrono::Utc::now().date_naive().to_string();
    rt.events.lock().await.extend([
        ("1".to_owned(), http_event("GET", "/healthz", None, None)),
        ("2".to_owned(), http_event("POST", "/api/v1/expenses", Some(&token), Some(json!({"date": day, "merchant": "Cafe", "category": "meals", "amount": "12.50", "currency": "USD"})))),
        ("3".to_owned(), http_event("GET", "/api/v1/expenses", None, None)),
        ("4".to_owned(), json!({"outlay": "dispatch-outbox"})),
    ]);
    let api = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(respond),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(rt.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let port = listener.local_addr().expect("an address").port();
    tokio::spawn(async move { axum::serve(listener, api).await });

    // WHEN the binary starts as Lambda starts it
    let endpoint = stack.config.endpoint_url().expect("moto").to_owned();
    let started = Instant::now();
    // The packaged bootstrap when given (scripts/package-lambda.sh), else this build's binary.
    let bin = std::env::var("OUTLAY_LAMBDA_BOOTSTRAP")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_outlay").to_owned());
    let mut child = std::process::Command::new(&bin)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "outlay")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/outlay")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("OUTLAY_STORE", "dynamodb")
        .env(
            "OUTLAY_DYNAMODB_TABLE",
            settings.dynamodb_table.as_deref().expect("a table"),
        )
        .env(
            "OUTLAY_RECEIPTS_BUCKET",
            settings.receipts_bucket.as_deref().expect("a bucket"),
        )
        .env(
            "OUTLAY_AUDIT_BUCKET",
            settings.audit_bucket.as_deref().expect("a bucket"),
        )
        .env("OUTLAY_AUDIT_KMS_KEY_ID", &stack.kms_key)
        .env("OUTLAY_COGNITO_USER_POOL_ID", &stack.pool)
        .env("OUTLAY_COGNITO_CLIENT_ID", &stack.client_id)
        .env("OUTLAY_SES_FROM", "outlay@example.com")
        .env("OUTLAY_LOG", "warn")
        .env("OUTLAY_STAGE", "test")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("the bootstrap starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while rt.responses.lock().await.len() < 4
        && rt.errors.lock().await.is_empty()
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("the bootstrap's output");

    // THEN it answered each event, the first one quickly
    assert!(
        rt.errors.lock().await.is_empty(),
        "errors: {:?}",
        rt.errors.lock().await
    );
    let responses = rt.responses.lock().await;
    assert_eq!(responses.len(), 4, "{responses:?}");
    let cold_start = responses[0].2 - started;
    eprintln!(
        "cold start of {bin} (exec to first response): {} ms",
        cold_start.as_millis()
    );
    assert_eq!(
        responses[0].1["statusCode"], 200,
        "healthz: {:?}",
        responses[0].1
    );
    assert_eq!(
        responses[1].1["statusCode"], 201,
        "create expense: {:?}",
        responses[1].1
    );
    let created: Value =
        serde_json::from_str(responses[1].1["body"].as_str().expect("a body")).expect("JSON");
    assert_eq!(created["amount"], "12.50");
    assert_eq!(
        responses[2].1["statusCode"], 401,
        "no token, no answer: {:?}",
        responses[2].1
    );

    assert_eq!(
        responses[3].1["failed"], 0,
        "the outbox run: {:?}",
        responses[3].1
    );

    // AND wrote its metrics as CloudWatch EMF, under the names /metrics uses
    let documents: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let metric = |name: &str| {
        documents
            .iter()
            .find(|d| d[name].is_number() || d[name].is_array())
            .unwrap_or_else(|| panic!("an EMF document with {name} in {documents:?}"))
    };
    let requests = metric("outlay_http_requests_total");
    let directive = &requests["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "Outlay");
    assert_eq!(
        directive["Dimensions"][0],
        json!(["Stage", "method", "route", "status"])
    );
    assert_eq!(requests["Stage"], "test");
    assert!(requests["_aws"]["Timestamp"].is_u64());
    assert!(
        documents.iter().any(|d| d["route"] == "/api/v1/expenses"
            && d["status"] == "201"
            && d["outlay_http_requests_total"] == 1),
        "the created expense is counted: {documents:?}"
    );
    assert!(
        metric("outlay_http_request_duration_seconds")["outlay_http_request_duration_seconds"]
            .is_array()
    );
    let outbox = metric("outlay_outbox_oldest_age_seconds");
    assert_eq!(
        outbox["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
        json!(["Stage"]),
        "the outbox-age alarm's dimensions"
    );
    assert!(outbox["outlay_outbox_backlog"].is_number());
}

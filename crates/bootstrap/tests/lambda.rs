//! The Lambda adapter, fed API Gateway HTTP API (v2) events as the service sends them, with the
//! JWT authorizer's context.
#![cfg(feature = "aws")]

use outlay_bootstrap::{Overrides, Settings};
use serde_json::Value;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("a fixture")
}

fn event(payload: Value) -> lambda_http::LambdaEvent<Value> {
    lambda_http::LambdaEvent::new(payload, lambda_http::Context::default())
}

/// The demo company on a fresh data directory behind the `/prod` stage, and its adapter.
async fn lambda_app(
    trust_proxy: bool,
) -> (
    tempfile::TempDir,
    outlay_bootstrap::Built,
    outlay_bootstrap::lambda::RouterAdapter,
) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut settings = Settings::load(&Overrides {
        addr: None,
        data_dir: Some(dir.path().to_owned()),
    })
    .expect("settings");
    settings.base_path = "/prod".into();
    settings.trust_proxy = trust_proxy;
    let built = outlay_bootstrap::build(&settings).await.expect("built");
    outlay_bootstrap::seed_demo(&built.app)
        .await
        .expect("seeded");
    let adapter = outlay_bootstrap::lambda::adapter(&built);
    (dir, built, adapter)
}

#[tokio::test]
async fn http_api_v2_events_reach_the_router_and_the_schedule_reaches_the_dispatcher() {
    // GIVEN the app (its backend does not matter to the adapter) behind the /prod stage
    let (_dir, built, mut adapter) = lambda_app(false).await;

    // WHEN /healthz arrives THEN it answers 200 without a token
    let healthz: Value = serde_json::from_str(&fixture("healthz.json")).expect("JSON");
    let response = outlay_bootstrap::lambda::handle(&built, &mut adapter, event(healthz))
        .await
        .expect("handled");
    assert_eq!(response["statusCode"], 200, "{response}");
    assert!(response["body"].as_str().unwrap_or("").contains("\"ok\""));

    // AND an API call with a valid token, inside the authorizer's context, is served
    let login = built
        .app
        .login(
            "employee@example.com",
            outlay_bootstrap::DEMO_PASSWORD,
            None,
        )
        .await
        .expect("a token");
    let me_event = fixture("me-with-jwt-context.json").replace("TOKEN", &login.token);
    let response = outlay_bootstrap::lambda::handle(
        &built,
        &mut adapter,
        event(serde_json::from_str(&me_event).expect("JSON")),
    )
    .await
    .expect("handled");
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: Value =
        serde_json::from_str(response["body"].as_str().expect("a body")).expect("JSON");
    assert_eq!(body["email"], "employee@example.com");
    assert_eq!(
        response["headers"]["x-request-id"], "Zx1abd=",
        "API Gateway's request id comes back: {response}"
    );

    // AND the token is checked by Outlay itself, whatever the authorizer said
    let forged = fixture("me-with-jwt-context.json").replace("TOKEN", "forged.token.value");
    let response = outlay_bootstrap::lambda::handle(
        &built,
        &mut adapter,
        event(serde_json::from_str(&forged).expect("JSON")),
    )
    .await
    .expect("handled");
    assert_eq!(response["statusCode"], 401);

    // AND the schedule's event runs the dispatcher
    let response = outlay_bootstrap::lambda::handle(
        &built,
        &mut adapter,
        event(serde_json::json!({"outlay": "dispatch-outbox"})),
    )
    .await
    .expect("handled");
    assert_eq!(response, serde_json::json!({"delivered": 0, "failed": 0}));
}

#[tokio::test]
async fn the_audit_source_on_lambda_is_the_address_api_gateway_saw() {
    // GIVEN the app as Lambda runs it (API Gateway is the trusted proxy)
    let (_dir, built, mut adapter) = lambda_app(true).await;
    let login = built
        .app
        .login(
            "employee@example.com",
            outlay_bootstrap::DEMO_PASSWORD,
            None,
        )
        .await
        .expect("a token");
    // WHEN an expense is created by a client that forged X-Forwarded-For
    let mut payload: Value =
        serde_json::from_str(&fixture("me-with-jwt-context.json").replace("TOKEN", &login.token))
            .expect("JSON");
    payload["rawPath"] = "/prod/api/v1/expenses".into();
    payload["requestContext"]["http"]["path"] = "/prod/api/v1/expenses".into();
    payload["requestContext"]["http"]["method"] = "POST".into();
    payload["headers"]["content-type"] = "application/json".into();
    payload["headers"]["x-forwarded-for"] = "192.0.2.66, 198.51.100.1".into();
    payload["body"] = serde_json::json!({
        "date": chrono::Utc::now().date_naive().to_string(), "merchant": "Cafe",
        "category": "meals", "amount": "5.00", "currency": "USD"
    })
    .to_string()
    .into();
    let response = outlay_bootstrap::lambda::handle(&built, &mut adapter, event(payload))
        .await
        .expect("handled");
    assert_eq!(response["statusCode"], 201, "{response}");
    // THEN the audit event names API Gateway's sourceIp, not what the client wrote
    let events = built
        .app
        .store()
        .audit_page(0, 1000)
        .await
        .expect("the audit");
    let created = events
        .iter()
        .rfind(|e| e.record.action == "expense.create")
        .expect("the expense's event");
    assert_eq!(created.record.source.as_deref(), Some("203.0.113.7"));
}

//! The Lambda entry: API Gateway HTTP API (v2) events go to the same router as everywhere
//! else; the outbox schedule's event (`{"outlay":"dispatch-outbox"}`) runs the dispatcher; an S3
//! event of the inbound mail bucket takes the received email it names.
//!
//! Metrics: the same names as `/metrics` serves on one machine, written after each invocation
//! to standard output as CloudWatch Embedded Metric Format documents (namespace `Outlay`, the
//! dimension `Stage`, and each metric's labels as further dimensions), which CloudWatch Logs
//! turns into metrics.

use std::sync::Arc;

use metrics_cloudwatch_embedded::Collector;

use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, LambdaEvent, Service, lambda_runtime, service_fn};

use crate::Built;

/// The adapter from Lambda events to the router.
pub type RouterAdapter = Adapter<'static, axum::response::Response, axum::Router>;

/// Handles one invocation.
pub async fn handle(
    built: &Built,
    adapter: &mut RouterAdapter,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, lambda_http::Error> {
    if let Some(objects) = s3_objects(&event.payload) {
        let mut taken = 0;
        for (bucket, key) in objects {
            if built
                .receive_s3_mail(&bucket, &key)
                .await
                .map_err(|e| format!("{e:#}"))?
                .is_some()
            {
                taken += 1;
            }
        }
        return Ok(serde_json::json!({ "taken": taken }));
    }
    if event.payload.get("outlay").and_then(|v| v.as_str()) == Some("dispatch-outbox") {
        let done = built.dispatch_once().await.map_err(|e| format!("{e:#}"))?;
        return Ok(serde_json::json!({ "delivered": done.delivered, "failed": done.failed }));
    }
    let mut payload = event.payload;
    strip_stage(&mut payload);
    use_gateway_request_id(&mut payload);
    use_gateway_source_ip(&mut payload);
    let request: LambdaRequest = serde_json::from_value(payload)?;
    let response = adapter
        .call(LambdaEvent::new(request, event.context))
        .await?;
    Ok(serde_json::to_value(response)?)
}

/// The objects of an S3 event notification (`Records` of `aws:s3`), by bucket and key; the
/// key decoded as S3 writes it (URL-encoded, `+` for a space). `None` for any other event.
pub fn s3_objects(payload: &serde_json::Value) -> Option<Vec<(String, String)>> {
    let records = payload.get("Records")?.as_array()?;
    records
        .iter()
        .map(|r| {
            if r.get("eventSource")?.as_str()? != "aws:s3" {
                return None;
            }
            let bucket = r.pointer("/s3/bucket/name")?.as_str()?.to_owned();
            let key = r.pointer("/s3/object/key")?.as_str()?.replace('+', " ");
            let key = percent_encoding::percent_decode_str(&key)
                .decode_utf8()
                .ok()?
                .into_owned();
            Some((bucket, key))
        })
        .collect()
}

/// An adapter for the built router.
pub fn adapter(built: &Built) -> RouterAdapter {
    Adapter::from(built.router.clone())
}

/// The CloudWatch namespace of Outlay's metrics.
pub const METRICS_NAMESPACE: &str = "Outlay";

/// Makes the process's metrics recorder the EMF collector. Call it before building the app (the
/// Prometheus recorder then stays empty).
pub fn init_metrics(settings: &crate::Settings) -> anyhow::Result<&'static Collector> {
    metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(METRICS_NAMESPACE)
        .with_dimension("Stage", settings.stage.clone())
        .init()
        .map_err(|e| anyhow::anyhow!("Failed to set up the metrics: {e}"))
}

/// Serves invocations from the Lambda Runtime API until the sandbox ends, writing the metrics
/// of each one after it.
pub async fn run(built: Arc<Built>, metrics: &'static Collector) -> Result<(), lambda_http::Error> {
    let adapter = adapter(&built);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let (built, mut adapter) = (built.clone(), adapter.clone());
        async move {
            let request_id = event.context.request_id.clone();
            let answer = handle(&built, &mut adapter, event).await;
            metrics.set_property("requestId", request_id);
            if let Err(e) = metrics.flush(std::io::stdout().lock()) {
                tracing::warn!(error = %e, "failed to write the metrics");
            }
            answer
        }
    }))
    .await
}

/// The request id on every log line, and in the `x-request-id` answer header, is API Gateway's
/// own (`requestContext.requestId`, as in its access log), not one a client sent.
fn use_gateway_request_id(payload: &mut serde_json::Value) {
    let Some(id) = payload
        .pointer("/requestContext/requestId")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
    else {
        return;
    };
    if let Some(headers) = payload
        .get_mut("headers")
        .and_then(serde_json::Value::as_object_mut)
    {
        headers.insert("x-request-id".into(), serde_json::Value::String(id));
    }
}

/// The client address of the audit trail and the sign-in throttle is the one API Gateway saw
/// (`requestContext.http.sourceIp`): it replaces any `X-Forwarded-For` the client sent, and the
/// Lambda settings trust that header (`trust_proxy`).
fn use_gateway_source_ip(payload: &mut serde_json::Value) {
    let ip = payload
        .pointer("/requestContext/http/sourceIp")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    if let Some(headers) = payload
        .get_mut("headers")
        .and_then(serde_json::Value::as_object_mut)
    {
        headers.remove("x-forwarded-for");
        if let Some(ip) = ip {
            headers.insert("x-forwarded-for".into(), serde_json::Value::String(ip));
        }
    }
}

/// Routes see paths without the API Gateway stage (`/prod/api/v1/me` → `/api/v1/me`); links
/// put it back through `OUTLAY_BASE_PATH`. Done here, not through lambda_http's environment
/// switch, so that the behaviour does not depend on a variable being set.
fn strip_stage(payload: &mut serde_json::Value) {
    let stage = payload["requestContext"]["stage"]
        .as_str()
        .unwrap_or("$default")
        .to_owned();
    if stage == "$default" {
        return;
    }
    let prefix = format!("/{stage}");
    // lambda_http puts a non-default stage back in front of the path; it is routing only.
    payload["requestContext"]["stage"] = serde_json::Value::String("$default".into());
    for pointer in ["/rawPath", "/requestContext/http/path"] {
        if let Some(serde_json::Value::String(path)) = payload.pointer_mut(pointer)
            && let Some(rest) = path.strip_prefix(&prefix)
        {
            *path = if rest.is_empty() {
                "/".to_owned()
            } else {
                rest.to_owned()
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_events_name_their_objects_with_keys_decoded() {
        let event = serde_json::json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "inbound"}, "object": {"key": "mail/a+b%2Bc", "size": 10}}
        }]});
        assert_eq!(
            s3_objects(&event),
            Some(vec![("inbound".into(), "mail/a b+c".into())])
        );
        assert_eq!(
            s3_objects(&serde_json::json!({"outlay": "dispatch-outbox"})),
            None
        );
        let sns = serde_json::json!({"Records": [{"EventSource": "aws:sns"}]});
        assert_eq!(s3_objects(&sns), None);
    }
}

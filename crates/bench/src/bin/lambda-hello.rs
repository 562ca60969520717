//! `lambda-hello`: the cold start baseline of the benchmark suite. The smallest useful Lambda
//! function on the same runtime crate as Outlay's bootstrap (`lambda_runtime`, through
//! `lambda_http`): it answers every event with a fixed HTTP API response.

use lambda_http::{LambdaEvent, lambda_runtime, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, lambda_runtime::Error>(serde_json::json!({"statusCode": 200, "body": "hello"}))
    }))
    .await
}

//! The server's logs: JSON lines that carry the request id and the user id, and never a
//! password or a token.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[tokio::test]
async fn log_lines_carry_request_and_user_ids_and_no_secrets() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a port");
    let mut server = Command::new(env!("CARGO_BIN_EXE_outlay"))
        .args(["demo", "--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path())
        .env("OUTLAY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let login: Value = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"email": "employee@example.com", "password": "demo-password"}))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    let token = login["access_token"].as_str().expect("a token").to_owned();
    let me = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    let request_id = me.headers()["x-request-id"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    let user: Value = me.json().await.expect("JSON");
    server.kill().expect("stopped");
    let mut logs = String::new();
    server
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logs)
        .expect("read");
    let _ = server.wait();

    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        !lines.is_empty() && lines.len() == logs.lines().count(),
        "every line is JSON:\n{logs}"
    );
    let of_request: Vec<&Value> = lines
        .iter()
        .filter(|l| l["span"]["request_id"] == request_id.as_str())
        .collect();
    assert!(
        !of_request.is_empty(),
        "the request's lines carry its id:\n{logs}"
    );
    assert!(
        of_request
            .iter()
            .all(|l| l["span"]["user_id"] == user["id"]),
        "and the user id:\n{logs}"
    );
    assert!(!logs.contains("demo-password"), "no password in the logs");
    assert!(!logs.contains(&token), "no token in the logs");
    let signature = token.rsplit('.').next().expect("a signature");
    assert!(!logs.contains(signature));
}

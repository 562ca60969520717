//! `spawn_app()` and typed request helpers.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use outlay_bootstrap::{Built, Overrides, Settings};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tower::ServiceExt;

/// A running Outlay (the router, in-process) on a fresh data directory with the demo company.
/// With `OUTLAY_TEST_BACKEND=aws` (and the `aws` feature) it runs on DynamoDB, S3, Cognito,
/// SES and SNS in moto instead of SQLite and the local disk.
pub struct TestApp {
    pub built: Built,
    pub dir: tempfile::TempDir,
    tokens: Mutex<HashMap<String, String>>,
    #[cfg(feature = "aws")]
    pub aws: Option<crate::aws::AwsStack>,
    /// The database, on the PostgreSQL backend.
    _postgres: Option<outlay_test_support::postgres::PgDatabase>,
}

/// The backend the suite runs on: `OUTLAY_TEST_BACKEND`, `sqlite` (default), `postgres`,
/// `aws` (DynamoDB and the rest in moto) or `aws-postgres` (the template's Aurora variant:
/// PostgreSQL for the store, moto for the rest).
pub fn backend() -> String {
    std::env::var("OUTLAY_TEST_BACKEND").unwrap_or_else(|_| "sqlite".to_owned())
}

/// Whether the suite runs on the AWS backend.
pub fn on_aws() -> bool {
    backend().starts_with("aws")
}

/// Ends a test that only means something on the local backends (it reads the local mail
/// folder or token key, or relies on local login), saying so.
#[macro_export]
macro_rules! local_only {
    ($why:literal) => {
        if $crate::helpers::on_aws() {
            eprintln!("local backends only: {}", $why);
            return;
        }
    };
}

/// Ends a test that only means something on SQLite (it edits the database file, or runs the
/// command line on the data directory), saying so.
#[macro_export]
macro_rules! sqlite_only {
    ($why:literal) => {
        if $crate::helpers::backend() != "sqlite" {
            eprintln!("SQLite backend only: {}", $why);
            return;
        }
    };
}

/// An answer.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub headers: axum::http::HeaderMap,
}

impl Resp {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    /// The message of an error answer.
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

/// The `/metrics` token of every test app.
pub const METRICS_TOKEN: &str = "test-metrics-token";

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with the settings changed first.
pub async fn spawn_app_with(change: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut settings = Settings::load(&Overrides {
        addr: None,
        data_dir: Some(dir.path().to_owned()),
    })
    .expect("default settings load");
    settings.metrics_token = Some(outlay_bootstrap::Secret(METRICS_TOKEN.into()));
    change(&mut settings);
    let postgres = match backend().as_str() {
        "postgres" | "aws-postgres" => {
            let db = outlay_test_support::postgres::PgDatabase::create("the API suite").await;
            // `outlay migrate` as the owner, then Outlay as its own login.
            outlay_store_postgres::PgStore::open(&db.url)
                .await
                .expect("the database is migrated")
                .pool()
                .close()
                .await;
            settings.store = "postgres".into();
            settings.database_url = Some(outlay_bootstrap::Secret(db.app_login().await));
            Some(db)
        }
        _ => None,
    };
    #[cfg(feature = "aws")]
    let aws = if on_aws() {
        Some(crate::aws::AwsStack::start(&mut settings).await)
    } else {
        None
    };
    if backend() == "aws-postgres" {
        settings.store = "postgres".into();
    }
    #[cfg(not(feature = "aws"))]
    assert!(!on_aws(), "OUTLAY_TEST_BACKEND=aws needs `--features aws`");
    #[cfg(feature = "aws")]
    let built = match &aws {
        Some(stack) => outlay_bootstrap::build_with_config(&settings, stack.config.clone())
            .await
            .expect("the app builds"),
        None => outlay_bootstrap::build(&settings)
            .await
            .expect("the app builds"),
    };
    #[cfg(not(feature = "aws"))]
    let built = outlay_bootstrap::build(&settings)
        .await
        .expect("the app builds");
    outlay_bootstrap::seed_demo(&built.app)
        .await
        .expect("the demo company seeds");
    TestApp {
        built,
        dir,
        tokens: Mutex::new(HashMap::new()),
        #[cfg(feature = "aws")]
        aws,
        _postgres: postgres,
    }
}

/// A date `days` ago, as the API writes dates.
pub fn days_ago(days: i64) -> String {
    (chrono::Utc::now() - chrono::TimeDelta::days(days))
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

impl TestApp {
    /// The approvals sweep as the calendar stands `days` from now.
    pub async fn sweep_in(&self, days: i64) -> outlay_app::Sweep {
        self.built
            .app
            .sweep_approvals_as_of(chrono::Utc::now() + chrono::TimeDelta::days(days))
            .await
            .expect("the sweep runs")
    }

    /// Finance makes every day a working day and reminds after `remind` working days,
    /// escalating after `escalate`.
    pub async fn reminders_every_day(&self, remind: u32, escalate: u32) {
        let mut policy = self.get("finance", "/api/v1/policy").await.body;
        policy["calendar"] = json!({"working_days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "holidays": []});
        policy["reminders"] = json!({"remind_after_days": remind, "escalate_after_days": escalate});
        let r = self
            .call(
                Method::PUT,
                "/api/v1/policy",
                Some("finance"),
                Some(policy),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }

    /// Sends a raw request.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let response = self
            .built
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Resp {
            status,
            body,
            headers,
        }
    }

    /// Sends a JSON request as `who` (a demo user's first name part, or a raw token with `token:`).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        who: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(who) = who {
            let token = self.token(who).await;
            req = req.header("authorization", format!("Bearer {token}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).expect("a valid request")).await
    }

    pub async fn get(&self, who: &str, path: &str) -> Resp {
        self.call(Method::GET, path, Some(who), None, &[]).await
    }

    pub async fn post(&self, who: &str, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(who), Some(body), &[])
            .await
    }

    /// A token for `who`: a demo user (`employee`, `manager`, ...), any email, or `token:RAW`.
    pub async fn token(&self, who: &str) -> String {
        if let Some(raw) = who.strip_prefix("token:") {
            return raw.to_owned();
        }
        let email = if who.contains('@') {
            who.to_owned()
        } else {
            format!("{who}@example.com")
        };
        if let Some(t) = self.tokens.lock().await.get(&email) {
            return t.clone();
        }
        #[cfg(feature = "aws")]
        if let Some(stack) = &self.aws {
            let token = stack.token(&email, outlay_bootstrap::DEMO_PASSWORD).await;
            self.tokens.lock().await.insert(email, token.clone());
            return token;
        }
        let login = json!({"email": email, "password": outlay_bootstrap::DEMO_PASSWORD});
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/auth/token")
            .header("content-type", "application/json")
            .body(Body::from(login.to_string()))
            .expect("a valid request");
        let r = self.send(req).await;
        assert_eq!(r.status, StatusCode::OK, "login of {email}: {:?}", r.body);
        let token = r.body["access_token"].as_str().expect("a token").to_owned();
        self.tokens.lock().await.insert(email, token.clone());
        token
    }

    /// The Prometheus text of `/metrics`, fetched with the metrics token.
    pub async fn metrics(&self) -> String {
        let bearer = format!("Bearer {METRICS_TOKEN}");
        let r = self
            .call(
                Method::GET,
                "/metrics",
                None,
                None,
                &[("authorization", &bearer)],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body.as_str().unwrap_or_default().to_owned()
    }

    /// Signs in through the web UI's form, as a browser does: the sign-in page first (its
    /// pre-session cookie and token), then the post, with `headers` added to it. Answers the
    /// post's response and the session cookie it set, if any.
    pub async fn form_login(
        &self,
        email: &str,
        password: &str,
        headers: &[(&str, &str)],
    ) -> (Resp, Option<String>) {
        let page = self.call(Method::GET, "/login", None, None, &[]).await;
        let cookie = set_cookie(&page, "outlay_login").expect("the sign-in page sets its cookie");
        let html = page.body.as_str().unwrap_or_default().to_owned();
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the form carries a token")
            .to_owned();
        let form = format!(
            "email={}&password={}&csrf={csrf}",
            email.replace('@', "%40"),
            password
        );
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("outlay_login={cookie}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = self
            .send(req.body(Body::from(form)).expect("a request"))
            .await;
        let session = set_cookie(&r, "outlay_session");
        (r, session)
    }

    /// A web UI page with a session cookie.
    pub async fn page(&self, path: &str, session: &str) -> Resp {
        let cookie = format!("outlay_session={session}");
        self.call(Method::GET, path, None, None, &[("cookie", &cookie)])
            .await
    }

    /// The id of a user.
    pub async fn user_id(&self, who: &str) -> String {
        self.get(who, "/api/v1/me").await.body["id"]
            .as_str()
            .expect("an id")
            .to_owned()
    }

    /// Uploads `bytes` as a receipt of an expense, directly.
    pub async fn upload(
        &self,
        who: &str,
        expense: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Resp {
        let token = self.token(who).await;
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/expenses/{expense}/receipts"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", content_type)
            .header(
                "content-disposition",
                "attachment; filename=\"receipt.png\"",
            )
            .body(Body::from(bytes))
            .expect("a valid request");
        self.send(req).await
    }

    /// Creates an expense of `amount` USD in travel for `who`, yesterday, with a PNG receipt
    /// (the demo policy wants one from 75.00), and answers its id.
    pub async fn expense(&self, who: &str, amount: &str) -> String {
        let r = self
            .post(
                who,
                "/api/v1/expenses",
                json!({
                    "date": days_ago(1), "merchant": "Cafe Uno", "category": "travel",
                    "amount": amount, "currency": "USD", "description": "test"
                }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let id = r.body["id"].as_str().expect("an id").to_owned();
        let receipt = self.upload(who, &id, "image/png", png()).await;
        assert_eq!(receipt.status, StatusCode::CREATED, "{:?}", receipt.body);
        id
    }

    /// Creates a draft report for `who` from new expenses of these amounts; answers its id.
    pub async fn report(&self, who: &str, amounts: &[&str]) -> String {
        let mut ids = vec![];
        for a in amounts {
            ids.push(self.expense(who, a).await);
        }
        let r = self
            .post(
                who,
                "/api/v1/reports",
                json!({"title": "Trip", "purpose": "Customer visit", "expense_ids": ids}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body["id"].as_str().expect("an id").to_owned()
    }

    /// Applies a transition and answers the response.
    pub async fn act(&self, who: &str, report: &str, action: &str, body: Value) -> Resp {
        self.post(who, &format!("/api/v1/reports/{report}/{action}"), body)
            .await
    }

    /// Applies a transition that must succeed, and answers the new state.
    pub async fn must(&self, who: &str, report: &str, action: &str, body: Value) -> String {
        let r = self.act(who, report, action, body).await;
        assert_eq!(r.status, StatusCode::OK, "{who} {action}: {:?}", r.body);
        r.body["state"].as_str().expect("a state").to_owned()
    }

    /// The report as its owner sees it.
    pub async fn report_state(&self, report: &str) -> Value {
        let r = self
            .get("employee", &format!("/api/v1/reports/{report}"))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        r.body
    }

    /// How many audit events the chain holds.
    pub async fn audit_events(&self) -> u64 {
        let r = self.get("admin", "/api/v1/audit/verify").await;
        assert_eq!(r.body["ok"], true, "{:?}", r.body);
        r.body["events"].as_u64().expect("a count")
    }

    /// Creates a plain employee outside every reporting line and answers their email.
    pub async fn outsider(&self) -> String {
        let r = self
            .post("admin", "/api/v1/users", json!({"email": "outsider@example.com", "name": "Olly Outsider", "password": outlay_bootstrap::DEMO_PASSWORD}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        "outsider@example.com".to_owned()
    }
}

/// The value a response's `Set-Cookie` gives `name`, if it sets a non-empty one.
pub fn set_cookie(r: &Resp, name: &str) -> Option<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=')?;
            (k.trim() == name && !v.is_empty()).then(|| v.to_owned())
        })
}

/// A real 1x1 PNG.
pub fn png() -> Vec<u8> {
    hex::decode("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082")
        .expect("valid hex")
}

/// A small PDF.
pub fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec()
}

/// A JPEG header and a little data.
pub fn jpeg() -> Vec<u8> {
    let mut bytes = vec![
        0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01,
    ];
    bytes.extend_from_slice(&[0_u8; 64]);
    bytes.extend_from_slice(&[0xff, 0xd9]);
    bytes
}

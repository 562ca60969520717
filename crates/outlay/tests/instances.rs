//! Two `outlay serve` processes on one PostgreSQL database, with requests spread across both:
//! how Outlay scales out off AWS. Concurrent approvals still give one success, idempotent
//! replays still replay, a session and a token from one instance work on the other (and a
//! sign-out on one ends it on both), and the outbox, dispatched by both, delivers each message
//! exactly once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use outlay_test_support::postgres::PgDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

const PASSWORD: &str = outlay_bootstrap::DEMO_PASSWORD;

/// One `outlay` process with a data directory of its own (its mail folder).
struct Instance {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    /// Starts `outlay <command>` on `database` and waits until it answers.
    async fn start(command: &str, database: &str) -> Instance {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_outlay"))
            .args([command, "--addr", &addr, "--data-dir"])
            .arg(dir.path())
            .env("OUTLAY_STORE", "postgres")
            .env("OUTLAY_DATABASE_URL", database)
            .env("OUTLAY_LOG", "warn")
            .env("OUTLAY_DISPATCH_INTERVAL_MS", "20")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("outlay starts");
        let instance = Instance {
            child,
            url: format!("http://{addr}"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = reqwest::get(format!("{}/healthz", instance.url)).await
                && r.status() == StatusCode::OK
            {
                return instance;
            }
            assert!(Instant::now() < deadline, "outlay {command} did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn mail(&self) -> PathBuf {
        self.dir.path().join("mail")
    }
}

/// Both instances, and a client that spreads requests across them.
struct Cluster {
    a: Instance,
    b: Instance,
    http: reqwest::Client,
    db: PgDatabase,
}

impl Cluster {
    async fn start() -> Cluster {
        let db = PgDatabase::create("the two-instance tests").await;
        // The operator migrates as the tables' owner; the instances run as Outlay's own login.
        let migrate = Command::new(env!("CARGO_BIN_EXE_outlay"))
            .arg("migrate")
            .env("OUTLAY_STORE", "postgres")
            .env("OUTLAY_DATABASE_URL", &db.url)
            .env("OUTLAY_LOG", "warn")
            .output()
            .expect("outlay migrate runs");
        assert!(
            migrate.status.success(),
            "{}",
            String::from_utf8_lossy(&migrate.stderr)
        );
        let login = db.app_login().await;
        // The first seeds the demo company; the second serves the same database.
        let a = Instance::start("demo", &login).await;
        let b = Instance::start("serve", &login).await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client");
        Cluster { a, b, http, db }
    }

    /// Instance `i % 2`.
    fn at(&self, i: usize) -> &str {
        if i.is_multiple_of(2) {
            &self.a.url
        } else {
            &self.b.url
        }
    }

    async fn token(&self, i: usize, who: &str) -> String {
        let r = self
            .http
            .post(format!("{}/api/v1/auth/token", self.at(i)))
            .json(&json!({"email": format!("{who}@example.com"), "password": PASSWORD}))
            .send()
            .await
            .expect("answers");
        assert_eq!(r.status(), StatusCode::OK, "sign-in of {who}");
        let body: Value = r.json().await.expect("JSON");
        body["access_token"].as_str().expect("a token").to_owned()
    }

    async fn post(
        &self,
        i: usize,
        token: &str,
        path: &str,
        body: Value,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.at(i)))
            .bearer_auth(token)
            .json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().await.expect("answers");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, i: usize, token: &str, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.at(i)))
            .bearer_auth(token)
            .send()
            .await
            .expect("answers");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A submitted report of the employee's, waiting for the manager.
    async fn submitted_report(&self, employee: &str, n: usize) -> String {
        let (s, e) = self
            .post(
                n,
                employee,
                "/api/v1/expenses",
                json!({"date": yesterday(), "merchant": format!("Cafe {n}"), "category": "meals",
                       "amount": "20.00", "currency": "USD", "description": "lunch"}),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        let (s, r) = self
            .post(
                n + 1,
                employee,
                "/api/v1/reports",
                json!({"title": format!("Lunch {n}"), "purpose": "team", "expense_ids": [e["id"]]}),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        let id = r["id"].as_str().expect("an id").to_owned();
        let (s, r) = self
            .post(
                n,
                employee,
                &format!("/api/v1/reports/{id}/submit"),
                json!({}),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["state"], "pending_manager");
        id
    }
}

fn yesterday() -> String {
    (chrono::Utc::now() - chrono::TimeDelta::days(1))
        .date_naive()
        .to_string()
}

/// The `.eml` files of a mail folder, by name.
fn mails(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".eml"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: `bash .ci/run` runs it (cargo test -- --include-ignored)"]
async fn two_instances_on_one_database_keep_every_guarantee() {
    let c = Cluster::start().await;
    let employee = c.token(0, "employee").await;
    let manager = c.token(1, "manager").await;

    // A token signed by one instance is accepted by the other.
    for i in 0..2 {
        let (s, me) = c.get(i, &manager, "/api/v1/me").await;
        assert_eq!(s, StatusCode::OK, "instance {i}");
        assert_eq!(me["email"], "manager@example.com");
    }

    // 12 concurrent approvals of one report, spread across both: exactly one succeeds.
    let report = c.submitted_report(&employee, 0).await;
    let path = format!("/api/v1/reports/{report}/approve");
    let tries = (0..12).map(|i| {
        let (c, manager, path) = (&c, &manager, &path);
        async move { c.post(i, manager, path, json!({}), None).await.0 }
    });
    let statuses = futures_util::future::join_all(tries).await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflicts), (1, 11), "{statuses:?}");
    let (_, after) = c
        .get(1, &employee, &format!("/api/v1/reports/{report}"))
        .await;
    assert_eq!(after["state"], "pending_finance");
    assert_eq!(after["version"], 3, "created, submitted, approved once");

    // An idempotent request replayed on the other instance, and raced on both, has one effect
    // and the first answer.
    let body = json!({"date": yesterday(), "merchant": "Taxi", "category": "travel",
                      "amount": "31.50", "currency": "USD", "description": "airport"});
    let first = c
        .post(
            0,
            &employee,
            "/api/v1/expenses",
            body.clone(),
            Some("taxi-airport-0000001"),
        )
        .await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    let replay = c
        .post(
            1,
            &employee,
            "/api/v1/expenses",
            body.clone(),
            Some("taxi-airport-0000001"),
        )
        .await;
    assert_eq!(replay, first, "the replay answers the first answer");
    let raced = futures_util::future::join_all((0..6).map(|i| {
        let (c, employee, body) = (&c, &employee, body.clone());
        async move {
            c.post(
                i,
                employee,
                "/api/v1/expenses",
                body,
                Some("taxi-airport-0000002"),
            )
            .await
        }
    }))
    .await;
    let created: Vec<&Value> = raced
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .map(|(_, b)| &b["id"])
        .collect();
    assert!(!created.is_empty(), "{raced:?}");
    assert!(
        created.iter().all(|id| *id == created[0]),
        "every success is the one expense: {raced:?}"
    );
    assert!(
        raced
            .iter()
            .all(|(s, _)| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{raced:?}"
    );
    let (_, mine) = c.get(0, &employee, "/api/v1/expenses?limit=100").await;
    let taxis = mine["items"]
        .as_array()
        .expect("a page")
        .iter()
        .filter(|e| e["merchant"] == "Taxi")
        .count();
    assert_eq!(taxis, 2, "one expense per key");

    // Many notifications, dispatched by both instances at once: each delivered exactly once.
    let reports =
        futures_util::future::join_all((0..16).map(|n| c.submitted_report(&employee, 10 + 2 * n)))
            .await;
    assert_eq!(reports.len(), 16);
    let pool = sqlx::PgPool::connect(&c.db.url).await.expect("connects");
    let deadline = Instant::now() + Duration::from_secs(60);
    let delivered: Vec<uuid::Uuid> = loop {
        let (waiting,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL",
        )
        .fetch_one(&pool)
        .await
        .expect("read");
        if waiting == 0 {
            break sqlx::query_scalar(
                "SELECT id FROM outbox WHERE delivered_at IS NOT NULL ORDER BY id",
            )
            .fetch_all(&pool)
            .await
            .expect("read");
        }
        assert!(Instant::now() < deadline, "{waiting} messages still wait");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(delivered.len() >= 18, "{} delivered", delivered.len());
    let mut files: BTreeMap<String, usize> = BTreeMap::new();
    let (in_a, in_b) = (mails(&c.a.mail()), mails(&c.b.mail()));
    for name in in_a.iter().chain(&in_b) {
        *files.entry(name.clone()).or_default() += 1;
    }
    let twice: Vec<_> = files.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered twice: {twice:?}");
    let expected: Vec<String> = delivered.iter().map(|id| format!("{id}.eml")).collect();
    assert_eq!(
        files.keys().cloned().collect::<Vec<_>>(),
        expected,
        "every delivered message was sent, once"
    );
    eprintln!(
        "{} messages: {} sent by one instance, {} by the other",
        expected.len(),
        in_a.len(),
        in_b.len()
    );
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: `bash .ci/run` runs it (cargo test -- --include-ignored)"]
async fn a_web_session_works_on_both_instances_and_a_sign_out_ends_it_on_both() {
    let c = Cluster::start().await;
    // Sign in on the first instance's form.
    let page = c
        .http
        .get(format!("{}/login", c.a.url))
        .send()
        .await
        .expect("answers");
    let login_cookie = cookie(&page, "outlay_login").expect("the sign-in page sets its cookie");
    let html = page.text().await.expect("HTML");
    let csrf = csrf_of(&html);
    let r = c
        .http
        .post(format!("{}/login", c.a.url))
        .header("cookie", format!("outlay_login={login_cookie}"))
        .form(&[
            ("email", "employee@example.com"),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = cookie(&r, "outlay_session").expect("a session cookie");
    let page = |url: String| {
        let req = c
            .http
            .get(url)
            .header("cookie", format!("outlay_session={session}"));
        async move { req.send().await.expect("answers") }
    };
    // The session is good on both.
    for url in [&c.a.url, &c.b.url] {
        let r = page(format!("{url}/expenses")).await;
        assert_eq!(r.status(), StatusCode::OK, "{url}");
    }
    // Signing out on the second ends it on the first too.
    let html = page(format!("{}/expenses", c.b.url))
        .await
        .text()
        .await
        .expect("HTML");
    let csrf = csrf_of(&html);
    let r = c
        .http
        .post(format!("{}/logout", c.b.url))
        .header("cookie", format!("outlay_session={session}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("answers");
    assert!(r.status().is_redirection(), "{}", r.status());
    for url in [&c.a.url, &c.b.url] {
        let r = page(format!("{url}/expenses")).await;
        assert!(
            r.status().is_redirection(),
            "{url} still takes the session: {}",
            r.status()
        );
    }
}

/// The value a response sets for cookie `name`.
fn cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .and_then(|rest| rest.split(';').next())
                .map(str::to_owned)
        })
}

/// The CSRF token of a page's first form.
fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page's form carries a token")
        .to_owned()
}

//! A fresh PostgreSQL database per test, on the server `$OUTLAY_TEST_POSTGRES_URL` names
//! (default `postgres://postgres@127.0.0.1:5432/test`, the machine's own server). `.ci/run`
//! starts the server if it is not answering and points the variable at a database of its own,
//! made fresh for each run.
//!
//! A test that needs it is `#[ignore]`d with that reason, so that `cargo test` lists it as not
//! run; `.ci/run` runs it with `--include-ignored`, and a test that runs without the server
//! fails.

use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// The server's URL, as the tests are told it.
pub fn server_url() -> String {
    std::env::var("OUTLAY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database made for one test, dropped with it.
#[derive(Debug)]
pub struct PgDatabase {
    /// Its URL.
    pub url: String,
    admin: String,
    name: String,
}

impl PgDatabase {
    /// Creates an empty database for `test`; fails the test if the server does not answer.
    pub async fn create(test: &str) -> PgDatabase {
        let admin = server_url();
        let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!(
                "{test} needs PostgreSQL at {admin} ({e}): run `bash .ci/run`, or start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
            )
        });
        let base: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&mut conn)
            .await
            .expect("the server answers");
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let name = format!(
            "{}_{}",
            base.chars().take(30).collect::<String>(),
            &suffix[..16]
        );
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .expect("the test database is created");
        let _ = conn.close().await;
        let url = match admin.rsplit_once('/') {
            Some((server, db)) => {
                let query = db.split_once('?').map(|(_, q)| format!("?{q}"));
                format!("{server}/{name}{}", query.unwrap_or_default())
            }
            None => panic!("OUTLAY_TEST_POSTGRES_URL names no database: {admin}"),
        };
        PgDatabase { url, admin, name }
    }

    /// The URL of a login of this database's own (`<database>_app`) that is a member of the
    /// role `outlay_app` which the store's migrations create: Outlay as it runs, with no right
    /// to change the schema or the audit trail. Migrate first.
    pub async fn app_login(&self) -> String {
        let login = format!("{}_app", self.name);
        let mut conn = PgConnection::connect(&self.url)
            .await
            .expect("the test database answers");
        sqlx::query(&format!("CREATE ROLE \"{login}\" LOGIN IN ROLE outlay_app"))
            .execute(&mut conn)
            .await
            .expect("the application's login is created (migrate first)");
        let _ = conn.close().await;
        self.url
            .replacen("://postgres@", &format!("://{login}@"), 1)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop is not async: a thread of its own runs the statement on a runtime of its own.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                let mut conn = PgConnection::connect(&admin).await.ok()?;
                let dropped =
                    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn)
                        .await
                        .ok();
                let _ = sqlx::query(&format!("DROP ROLE IF EXISTS \"{name}_app\""))
                    .execute(&mut conn)
                    .await;
                dropped
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("the test database {} was not dropped", self.name);
        }
    }
}

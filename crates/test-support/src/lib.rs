//! Harnesses for tests that need a service running beside them: [`moto::Moto`] for the AWS
//! adapters and [`postgres::PgDatabase`] for the PostgreSQL store.
//!
//! Such tests are `#[ignore]`d with the service they need as the reason, so that a plain
//! `cargo test` says they did not run; `.ci/run` starts the services and runs them with
//! `--include-ignored`. A harness asked for a service that is not there fails the test.

pub mod moto;
pub mod postgres;

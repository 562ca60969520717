//! Black-box tests of the HTTP API, through the one router, on a fresh SQLite database each.

mod audit;
mod authorization;
mod helpers;
mod input;
mod openapi;
mod tokens;
mod transitions;
mod workflow;

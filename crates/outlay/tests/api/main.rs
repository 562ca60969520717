//! Black-box tests of the HTTP API, through the one router, on a fresh SQLite database each.

mod advances;
mod allowances;
mod audit;
mod authorization;
#[cfg(feature = "aws")]
mod aws;
mod csv;
mod delegation;
mod drafts;
mod duties;
mod escalation;
mod hardening;
mod helpers;
mod hosted_ui;
mod input;
mod journal;
mod lines;
mod lists;
mod model;
mod notifications;
mod openapi;
mod organisation;
mod payments;
mod policy;
mod preview;
mod races;
mod readings;
mod receipts;
mod routing;
mod settings;
mod statements;
mod tax;
mod tokens;
mod transfer;
mod transitions;
mod workflow;

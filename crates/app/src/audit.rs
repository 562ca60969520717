//! Verifying the audit hash chain, page by page, from the first event.

use outlay_domain::{BrokenEvent, ChainVerifier, Role};
use serde::{Deserialize, Serialize};

use crate::{App, Caller, Result, require};

/// The result of a chain verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Whether every event verified.
    pub ok: bool,
    /// How many events verified before the first bad one (all of them when `ok`).
    pub events: u64,
    /// The first bad event.
    pub broken: Option<BrokenEvent>,
}

const PAGE: u32 = 1000;

impl App {
    /// Recomputes the whole chain (admin). `caller: None` is the trusted command line.
    pub async fn verify_audit(&self, caller: Option<&Caller>) -> Result<Verification> {
        if let Some(c) = caller {
            require(c, Role::Admin)?;
        }
        let mut verifier = ChainVerifier::default();
        let mut after = 0;
        loop {
            let events = self.store.audit_page(after, PAGE).await?;
            for e in &events {
                if let Err(broken) = verifier.push(e) {
                    return Ok(Verification {
                        ok: false,
                        events: verifier.checked(),
                        broken: Some(broken),
                    });
                }
            }
            match events.last() {
                Some(last) if events.len() == PAGE as usize => after = last.seq,
                _ => break,
            }
        }
        Ok(Verification {
            ok: true,
            events: verifier.checked(),
            broken: None,
        })
    }
}

//! `GET /api/v1/audit/verify`: recompute the audit hash chain, hold it to its signed
//! checkpoints and checkpoint the head.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ErrorBody, Result};
use crate::extract::Auth;

/// The verdict on the chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyView {
    /// Whether every event verified.
    pub ok: bool,
    /// How many events verified.
    pub events: u64,
    /// How many signed checkpoints the chain was held to.
    pub checkpoints: u64,
    /// The fingerprint (SHA-256 of the DER public key, hex) of the checkpoint signing key.
    pub key: String,
    /// The head's seq, if this verification checkpointed it (the head was new).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpointed_seq: Option<i64>,
    /// The first bad event, when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_event: Option<BrokenView>,
    /// Checkpoint log entries that were set aside (not checkpoints, or not signed by the key):
    /// they prove nothing, but someone wrote them to a log only the application should write.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub set_aside: Vec<String>,
}

/// The first bad event.
#[derive(Debug, Serialize, ToSchema)]
pub struct BrokenView {
    /// Its position in the chain.
    pub seq: i64,
    /// What is wrong.
    pub reason: String,
}

/// Recomputes the audit chain (admin).
#[utoipa::path(get, path = "/audit/verify", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = VerifyView), (status = 403, body = ErrorBody)))]
async fn verify(State(state): State<AppState>, Auth(caller): Auth) -> Result<Json<VerifyView>> {
    let v = state.app.verify_audit(Some(&caller)).await?;
    Ok(Json(VerifyView {
        ok: v.ok,
        events: v.events,
        checkpoints: v.checkpoints,
        key: v.key,
        checkpointed_seq: v.signed.map(|cp| cp.seq),
        broken_event: v.broken.map(|b| BrokenView {
            seq: b.seq,
            reason: b.reason,
        }),
        set_aside: v.set_aside,
    }))
}

/// The audit routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(verify))
}

//! Bearer tokens: whatever a client sends, verification answers yes or no, never panics, and
//! says yes only to a token this key signed.
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use outlay_app::IdentityVerifier;
use outlay_auth::{LocalIdentity, TokenSettings};

static IDENTITY: LazyLock<(LocalIdentity, tokio::runtime::Runtime)> = LazyLock::new(|| {
    let settings = TokenSettings {
        issuer: "outlay".into(),
        audience: "outlay-api".into(),
        ttl: Duration::from_secs(900),
    };
    let key = std::env::temp_dir().join(format!("outlay-fuzz-token-{}.pk8", std::process::id()));
    let identity = LocalIdentity::load_or_create(&key, settings).expect("the fuzzer's key");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    (identity, rt)
});

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let (identity, rt) = &*IDENTITY;
    // Random text is never a token this key signed.
    assert!(rt.block_on(identity.verify(token)).is_err(), "{token:?}");
});

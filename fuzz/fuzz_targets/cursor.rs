//! Paging cursors: decoding any text never panics, and every sort key round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outlay_app::{decode_cursor, encode_cursor};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(key) = decode_cursor(text) {
            assert_eq!(encode_cursor(&key), text.to_ascii_lowercase());
        }
        assert_eq!(
            decode_cursor(&encode_cursor(text)).ok().as_deref(),
            Some(text)
        );
    }
});

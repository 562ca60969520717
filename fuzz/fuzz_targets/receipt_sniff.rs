//! Receipt files: sniffing the type from the first bytes never panics, and a stored file name
//! is always safe for a `Content-Disposition` header (ASCII letters, digits, `.`, `-`, `_`;
//! at most 100 characters; the type's extension; no hidden-file dot).
#![no_main]

use libfuzzer_sys::fuzz_target;
use outlay_domain::ReceiptType;
use outlay_domain::receipt::safe_filename;

fuzz_target!(|data: &[u8]| {
    let kind = ReceiptType::sniff(data);
    let name = String::from_utf8_lossy(data);
    for k in [ReceiptType::Pdf, ReceiptType::Jpeg, ReceiptType::Png] {
        let safe = safe_filename(Some(&name), k);
        assert!(
            safe.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')),
            "{safe:?}"
        );
        assert!(!safe.starts_with('.'), "{safe:?}");
        assert!(safe.len() <= 100, "{safe:?}");
        assert!(safe.ends_with(&format!(".{}", k.extension())), "{safe:?}");
    }
    let _ = kind;
});

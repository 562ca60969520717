//! The CSV export's cell guard: no cell, after any leading whitespace, starts as a formula.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cell = outlay_http::csv_cell(text);
    let first = cell.trim_start().chars().next();
    assert!(
        !matches!(first, Some('=' | '+' | '-' | '@')),
        "{text:?} became {cell:?}"
    );
    assert!(!cell.starts_with(['\t', '\r']), "{cell:?}");
    // Nothing is lost: the guard only ever prefixes.
    assert!(cell.ends_with(text));
});

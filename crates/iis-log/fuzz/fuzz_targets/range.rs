//! Arbitrary bytes read whole and read as two byte ranges cut at an input-chosen offset: the
//! same rows and rejects either way, and no panic.
#![no_main]

use std::sync::Arc;

use iis_log::{DecoderConfig, read_w3c, read_w3c_range, scan_directives, w3c_schema};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (cut, text) = match data.split_first() {
        Some((c, rest)) => ((*c as usize * rest.len()) / 255, rest),
        None => (0, data),
    };
    let Ok(scan) = scan_directives(text) else { return };
    let schema = Arc::new(w3c_schema(scan.fields().values().map(String::as_str)));
    let Ok(cfg) = DecoderConfig::new(schema, None) else { return };
    let cfg = Arc::new(cfg);
    let Ok(whole) = read_w3c(text, Arc::clone(&cfg), "f.log", 97) else { return };
    let n = text.len() as u64;
    let (Ok(a), Ok(b)) = (
        read_w3c_range(text, 0, cut as u64, Arc::clone(&cfg), "f.log", 61),
        read_w3c_range(text, cut as u64, n, cfg, "f.log", 61),
    ) else {
        return;
    };
    assert_eq!(a.stats.rows + b.stats.rows, whole.stats.rows);
    assert_eq!(a.stats.lines + b.stats.lines, whole.stats.lines);
    // The same rejects; their order within a chunk is not part of the contract (a line's field
    // count is judged at its end, its values when its rows are built).
    let key = |r: &iis_log::Reject| (r.line, r.byte_offset, r.reason.to_string());
    let mut rejects = a.rejects;
    rejects.extend(b.rejects);
    let mut whole_rejects = whole.rejects;
    rejects.sort_by_key(key);
    whole_rejects.sort_by_key(key);
    assert_eq!(rejects, whole_rejects);
});

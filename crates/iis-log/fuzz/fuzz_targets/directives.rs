//! Arbitrary bytes through the directive parser and the directive scanner, fed whole and split
//! at an input-chosen point: no panic, and the same fields either way.
#![no_main]

use iis_log::{DirectiveScanner, parse_directive};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&b| b == b'\n') {
        let _ = parse_directive(line);
    }
    let split = data.first().map_or(0, |&b| b as usize).min(data.len());
    let mut whole = DirectiveScanner::new();
    whole.push(data);
    whole.finish();
    let mut parts = DirectiveScanner::new();
    parts.push(&data[..split]);
    parts.push(&data[split..]);
    parts.finish();
    assert_eq!(whole.fields(), parts.fields());
});

//! Arbitrary bytes through schema inference and the decoder, in chunks of a size the input
//! chooses: no panic, and every line accounted for.
#![no_main]

use std::sync::Arc;

use iis_log::reader::read_w3c;
use iis_log::{DecoderConfig, scan_directives, w3c_schema};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (chunk, text) = match data.split_first() {
        Some((c, rest)) => (*c as usize % 64 + 1, rest),
        None => (1, data),
    };
    let Ok(scan) = scan_directives(text) else { return };
    let schema = Arc::new(w3c_schema(scan.fields().values().map(String::as_str)));
    let Ok(cfg) = DecoderConfig::new(schema, None) else { return };
    let cfg = Arc::new(cfg.with_batch_size(7));
    let Ok(r) = read_w3c(text, cfg, "fuzz.log", chunk) else { return };
    let s = r.stats;
    assert_eq!(s.lines, s.rows + s.rejected + s.directives + s.blank_lines + s.nul_lines);
    let rows: usize = r.batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows as u64, s.rows);
});

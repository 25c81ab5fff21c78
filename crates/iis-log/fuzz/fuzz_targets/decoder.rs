//! Arbitrary bytes through schema inference and the decoder, in any format, in chunks and
//! with a line limit that the input chooses (so over-long lines are reached too): no panic, and
//! every line accounted for.
#![no_main]

use std::sync::Arc;

use iis_log::sniff::TypeSniffer;
use iis_log::{DecoderConfig, LineChunker, LogFormat, W3cDecoder, log_schema};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (chunk, max_line, text) = match data {
        [c, m, rest @ ..] => (*c as usize % 64 + 1, (*m as usize % 64 + 1) * 16, rest),
        _ => (1, 1 << 20, data),
    };
    let format = LogFormat::ALL[chunk % LogFormat::ALL.len()];
    let mut sniffer = TypeSniffer::new(100);
    sniffer.push(text);
    sniffer.finish();
    let fields = sniffer.fields();
    let schema = Arc::new(log_schema(format, fields.iter().map(|(n, t)| (n.as_str(), *t))));
    let Ok(cfg) = DecoderConfig::new(schema, None) else { return };
    let cfg = Arc::new(
        cfg.with_format(format)
            .with_time_zone(chrono_tz::UTC)
            .with_batch_size(7),
    );
    let mut chunker = LineChunker::new(chunk).with_max_line(max_line);
    let mut d = W3cDecoder::new(cfg, "fuzz.log");
    let mut rows = 0;
    let mut input = text;
    while let Ok(Some(c)) = chunker.read_from(&mut input) {
        if d.decode_chunk(&c, false).is_err() {
            return;
        }
        while let Some(b) = d.next_batch() {
            rows += b.num_rows();
        }
    }
    for tail in chunker.finish() {
        if d.decode_chunk(&tail, true).is_err() {
            return;
        }
    }
    if d.finish().is_err() {
        return;
    }
    while let Some(b) = d.next_batch() {
        rows += b.num_rows();
    }
    let s = *d.stats();
    assert_eq!(s.lines, s.rows + s.rejected + s.directives + s.blank_lines + s.nul_lines);
    assert_eq!(rows as u64, s.rows);
    assert_eq!(s.bytes, text.len() as u64);
});

//! Decoder throughput (MB/s): all columns, three columns, count only. `cargo bench -p iis-log`.

use std::sync::Arc;

use arrow_buffer::Buffer;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use iis_log::{DecoderConfig, LineChunker, W3cDecoder, w3c_schema};

/// About 16 MB of Exchange-like W3C lines, with a mid-file `#Fields` change.
fn corpus() -> Vec<u8> {
    let mut out = String::from(
        "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n\
         #Date: 2025-11-03 00:00:00\r\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query \
         s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n",
    );
    let mut i: u64 = 0;
    while out.len() < 16 << 20 {
        i += 1;
        if i == 30_000 {
            out.push_str("#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username \
                 c-ip cs(User-Agent) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes \
                 time-taken X-Forwarded-For\r\n");
        }
        let wide = i >= 30_000;
        out.push_str(&format!(
            "2025-11-03 {:02}:{:02}:{:02} 10.0.1.10 POST /Microsoft-Server-ActiveSync/default.eas \
             Cmd=Sync&User=user{:04}&DeviceId=Appl{:011X}&DeviceType=iPhone&CorrelationID=<empty>;&cafeReqId=9f2c{:08x}; \
             443 user{:04}@contoso.com 198.51.{}.{} Apple-iPhone15C2/2107.100 -{} 200 0 0{} {}{}\r\n",
            (i / 3600) % 24, (i / 60) % 60, i % 60, i % 250, i * 7919, i, i % 250, i % 256, i % 250,
            if wide { " mail.contoso.com" } else { "" },
            if wide { " 4512 1290" } else { "" },
            i % 900,
            if wide { " 203.0.113.7" } else { "" },
        ));
    }
    out.into_bytes()
}

fn decode(text: &[u8], projection: Option<Vec<usize>>) -> usize {
    let scan = iis_log::scan_directives(text).expect("in memory");
    let schema = Arc::new(w3c_schema(scan.fields().values().map(String::as_str)));
    let cfg = Arc::new(DecoderConfig::new(schema, projection).expect("schema"));
    let mut chunker = LineChunker::default();
    let mut d = W3cDecoder::new(cfg, "bench.log");
    let mut rows = 0;
    chunker.push(text);
    let mut chunks: Vec<_> = std::iter::from_fn(|| chunker.next_chunk()).collect();
    chunks.extend(chunker.finish());
    for c in &chunks {
        d.decode_chunk(c, false).expect("decode");
        while let Some(b) = d.next_batch() {
            rows += b.num_rows();
        }
    }
    d.finish().expect("finish");
    while let Some(b) = d.next_batch() {
        rows += b.num_rows();
    }
    rows
}

fn bench(c: &mut Criterion) {
    let text = corpus();
    let schema = w3c_schema(["X-Forwarded-For"]);
    let idx = |n: &str| schema.index_of(n).expect("column");
    let three = vec![idx("cs_uri_stem"), idx("sc_status"), idx("time_taken")];
    let mut g = c.benchmark_group("decoder");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(20);
    g.bench_function("all columns", |b| b.iter(|| decode(&text, None)));
    g.bench_function("three columns", |b| {
        b.iter(|| decode(&text, Some(three.clone())))
    });
    g.bench_function("count only", |b| b.iter(|| decode(&text, Some(vec![]))));
    g.finish();
    let _ = Buffer::from(&b""[..]);
}

criterion_group!(benches, bench);
criterion_main!(benches);

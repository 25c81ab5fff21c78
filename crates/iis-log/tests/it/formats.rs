//! The other formats, read from the fixtures written from their documentation
//! (`crates/iisql/tests/fixtures/formats`): HTTPERR, IIS native, NCSA and generic W3C.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMillisecondType};
use iis_log::datetime::{MS_PER_DAY, parse_date};
use iis_log::reader::{FileRead, read_w3c};
use iis_log::sniff::TypeSniffer;
use iis_log::{DecoderConfig, LogFormat, RejectReason, ValueType, log_schema};

use crate::{ints32, ints64, strings, timestamps};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../iisql/tests/fixtures/formats/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn ms(date: &str, h: i64, m: i64, s: i64) -> i64 {
    parse_date(date.as_bytes()).unwrap() as i64 * MS_PER_DAY + ((h * 60 + m) * 60 + s) * 1000
}

/// Reads `text` as `format` with the given extra fields (generic W3C: sniffed), at several
/// chunk sizes, checks that they agree and returns the last read.
fn read_as(
    format: LogFormat,
    text: &[u8],
    fields: Vec<(String, ValueType)>,
    tz: Option<chrono_tz::Tz>,
) -> (RecordBatch, FileRead) {
    let schema = Arc::new(log_schema(
        format,
        fields.iter().map(|(n, t)| (n.as_str(), *t)),
    ));
    let mut cfg = DecoderConfig::new(schema.clone(), None)
        .unwrap()
        .with_format(format)
        .with_batch_size(2);
    if let Some(tz) = tz {
        cfg = cfg.with_time_zone(tz);
    }
    let cfg = Arc::new(cfg);
    let mut last: Option<(RecordBatch, FileRead)> = None;
    for chunk in [1, 13, 1 << 20] {
        let r = read_w3c(text, cfg.clone(), "f.log", chunk).unwrap();
        let b = arrow_select::concat::concat_batches(&schema, &r.batches).unwrap();
        if let Some((prev, prev_r)) = &last {
            assert_eq!(prev, &b, "chunk {chunk}");
            assert_eq!(prev_r.stats, r.stats, "chunk {chunk}");
        }
        last = Some((b, r));
    }
    last.unwrap()
}

fn reasons(r: &FileRead) -> Vec<(u64, String)> {
    let mut v: Vec<_> = r
        .rejects
        .iter()
        .map(|x| (x.line, x.reason.code().to_string()))
        .collect();
    v.sort();
    v
}

fn sniff(text: &[u8]) -> Vec<(String, ValueType)> {
    let mut s = TypeSniffer::new(100);
    s.push(text);
    s.finish();
    s.fields()
}

#[test]
fn httperr_with_fields() {
    let (b, r) = read_as(LogFormat::Httperr, &fixture("httperr1.log"), vec![], None);
    assert_eq!(b.num_rows(), 7);
    assert_eq!(
        (r.stats.lines, r.stats.directives, r.stats.rejected),
        (12, 4, 1)
    );
    assert_eq!(
        reasons(&r),
        vec![(11, "invalid_value".into()), (12, "field_count".into())]
    );
    assert_eq!(timestamps(&b)[0], Some(ms("2024-01-15", 2, 0, 1)));
    assert_eq!(timestamps(&b)[5], None, "the all-dash row");
    assert_eq!(
        strings(&b, "s_reason"),
        [
            "AppOffline",
            "Timer_ConnectionIdle",
            "BadRequest",
            "Hostname",
            "Connection_Abandoned_By_ReqQueue",
        ]
        .iter()
        .map(|s| Some(s.to_string()))
        .chain([None, Some("NotFound".into())])
        .collect::<Vec<_>>()
    );
    assert_eq!(
        ints32(&b, "sc_status"),
        vec![Some(503), None, Some(400), Some(400), None, None, Some(404)]
    );
    assert_eq!(ints32(&b, "c_port")[6], None, "`abc` is not a port");
    assert_eq!(ints32(&b, "c_port")[0], Some(50123));
    assert_eq!(ints64(&b, "streamid")[2], Some(3));
    assert_eq!(strings(&b, "cs_uri")[2].as_deref(), Some("/owa/?q=a+b"));
    assert_eq!(strings(&b, "c_ip")[3].as_deref(), Some("2001:db8::5"));
    assert_eq!(
        strings(&b, "s_queuename")[0].as_deref(),
        Some("MSExchangeSyncAppPool")
    );
}

#[test]
fn httperr_early_layout_and_new_fields() {
    let (b, r) = read_as(
        LogFormat::Httperr,
        &fixture("httperr_early.log"),
        vec![],
        None,
    );
    assert_eq!((b.num_rows(), r.stats.rejected), (2, 0));
    assert_eq!(timestamps(&b)[0], Some(ms("2002-07-05", 18, 45, 9)));
    assert_eq!(
        strings(&b, "cs_uri")[0].as_deref(),
        Some("/ThisIsMyUrl.htm")
    );
    assert_eq!(ints32(&b, "s_siteid"), vec![None, Some(1)]);
    assert_eq!(strings(&b, "s_reason")[1].as_deref(), Some("QueueFull"));

    let text = fixture("httperr_new.log");
    let fields = sniff(&text);
    let (b, r) = read_as(LogFormat::Httperr, &text, fields, None);
    assert_eq!((b.num_rows(), r.stats.rejected), (1, 0));
    assert_eq!(strings(&b, "transport")[0].as_deref(), Some("QUIC"));
    assert_eq!(strings(&b, "cs_version")[0].as_deref(), Some("HTTP/3"));
    assert_eq!(ints32(&b, "sc_status")[0], Some(400));
}

#[test]
fn iis_native_in_local_time() {
    let text = fixture("in240115.log");
    let tz: chrono_tz::Tz = "America/Los_Angeles".parse().unwrap();
    let (b, r) = read_as(LogFormat::Iis, &text, vec![], Some(tz));
    assert_eq!(b.num_rows(), 5);
    assert_eq!(
        reasons(&r),
        vec![(5, "invalid_value".into()), (6, "field_count".into())]
    );
    let local: Vec<Option<i64>> = b
        .column_by_name("local_timestamp")
        .unwrap()
        .as_primitive::<TimestampMillisecondType>()
        .iter()
        .collect();
    assert_eq!(local[0], Some(ms("2001-03-20", 7, 55, 20)));
    // PST is UTC-8 in March 2001 (before the 2007 rule change DST began in April), PDT in July.
    assert_eq!(timestamps(&b)[0], Some(ms("2001-03-20", 15, 55, 20)));
    assert_eq!(timestamps(&b)[3], Some(ms("2024-07-04", 19, 0, 0)));
    assert_eq!(timestamps(&b)[4], None, "13/45/24 is no date");
    assert_eq!(
        strings(&b, "user_name")[2].as_deref(),
        Some("CONTOSO\\jdoe")
    );
    assert_eq!(ints64(&b, "bytes_received")[0], Some(163));
    assert_eq!(ints64(&b, "bytes_sent")[0], Some(3223));
    assert_eq!(ints64(&b, "time_taken")[0], Some(4502));
    assert_eq!(ints32(&b, "status_code")[2], Some(403));
    assert_eq!(strings(&b, "request_type")[1].as_deref(), Some("PASS"));
    assert_eq!(
        strings(&b, "parameters")[2].as_deref(),
        Some("Cmd=Sync&User=jdoe&DeviceId=ABC123&DeviceType=iPhone")
    );
    assert_eq!(strings(&b, "parameters")[0], None);
    assert_eq!(
        strings(&b, "target")[3].as_deref(),
        Some("/owa/"),
        "no final comma"
    );

    // Without a time zone the local time is kept and `timestamp` is NULL.
    let (b, _) = read_as(LogFormat::Iis, &text, vec![], None);
    assert!(timestamps(&b).iter().all(Option::is_none));
}

#[test]
fn ncsa_common_combined_extended() {
    let (b, r) = read_as(LogFormat::Ncsa, &fixture("nc240115.log"), vec![], None);
    assert_eq!(b.num_rows(), 5);
    assert_eq!(reasons(&r), vec![(6, "field_count".into())]);
    assert_eq!(timestamps(&b)[0], Some(ms("2001-04-09", 1, 39, 4)));
    assert_eq!(timestamps(&b)[1], Some(ms("2024-01-15", 1, 10, 0)));
    assert_eq!(
        strings(&b, "request")[0].as_deref(),
        Some("GET /scripts/iisadmin/ism.dll?http/serv HTTP/1.0")
    );
    assert_eq!(strings(&b, "request_method")[1].as_deref(), Some("POST"));
    assert_eq!(
        strings(&b, "request_uri")[1].as_deref(),
        Some("/Microsoft-Server-ActiveSync/default.eas?Cmd=Sync&User=jdoe")
    );
    assert_eq!(
        strings(&b, "request_version")[1].as_deref(),
        Some("HTTP/1.1")
    );
    assert_eq!(strings(&b, "request_uri")[3].as_deref(), Some("/a b"));
    assert_eq!(strings(&b, "request")[4], None);
    assert_eq!(strings(&b, "request_method")[4], None);
    assert_eq!(
        strings(&b, "user_name")[0].as_deref(),
        Some("Microsoft\\JohnDoe")
    );
    assert_eq!(strings(&b, "remote_log_name")[0], None);
    assert_eq!(
        ints32(&b, "status_code"),
        vec![Some(200), Some(403), Some(200), Some(400), Some(408)]
    );
    assert_eq!(ints64(&b, "bytes_sent")[2], None);
    assert_eq!(strings(&b, "referer")[1], None);
    assert_eq!(strings(&b, "referer")[0], None, "common: no referer");
    assert_eq!(
        strings(&b, "user_agent")[2].as_deref(),
        Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
    );
    assert_eq!(
        strings(&b, "cookie")[2].as_deref(),
        Some("session=abc; theme=\"dark\"")
    );
}

#[test]
fn generic_w3c_exchange_csv() {
    let text = fixture("MSGTRK2024011502-1.LOG");
    let fields = sniff(&text);
    let types: Vec<_> = fields.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    assert_eq!(types[0], ("date-time", ValueType::DateTime));
    assert!(types.contains(&("total-bytes", ValueType::Int64)));
    assert!(types.contains(&("message-subject", ValueType::Text)));
    let (b, r) = read_as(LogFormat::W3c, &text, fields, None);
    assert_eq!(
        (b.num_rows(), r.stats.rejected, r.stats.directives),
        (3, 0, 5)
    );
    let names: Vec<_> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names[..4],
        ["timestamp", "date", "client_ip", "client_hostname"]
    );
    assert_eq!(timestamps(&b)[0], Some(ms("2024-01-15", 2, 0, 1) + 123));
    assert_eq!(
        strings(&b, "message_subject"),
        vec![
            Some("Quarterly report, final".into()),
            Some("He said \"hi\"".into()),
            Some("Undeliverable".into())
        ]
    );
    assert_eq!(strings(&b, "client_ip")[1], None);
    assert_eq!(
        ints64(&b, "total_bytes"),
        vec![Some(10240), Some(10240), Some(512)]
    );
}

#[test]
fn generic_w3c_advanced_logging_quoted_local() {
    let text = fixture("advanced.log");
    let fields = sniff(&text);
    let tz: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
    let (b, r) = read_as(LogFormat::W3c, &text, fields, Some(tz));
    assert_eq!((b.num_rows(), r.stats.rejected), (3, 0));
    assert_eq!(timestamps(&b)[0], Some(ms("2024-01-15", 2, 0, 0) + 123));
    assert_eq!(timestamps(&b)[2], Some(ms("2024-07-15", 1, 0, 2)), "CEST");
    assert_eq!(
        strings(&b, "cs_user_agent")[0].as_deref(),
        Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
    );
    assert_eq!(strings(&b, "s_computername")[0].as_deref(), Some("CAS01"));
    assert_eq!(strings(&b, "cs_user_agent")[2], None);
    let taken: Vec<_> = b
        .column_by_name("timetakenms")
        .unwrap()
        .as_primitive::<Float64Type>()
        .iter()
        .collect();
    assert_eq!(taken, vec![Some(15.25), Some(2.0), Some(120.5)]);
    assert_eq!(
        ints64(&b, "sc_status"),
        vec![Some(200), Some(403), Some(500)]
    );
}

#[test]
fn every_line_accounted_for_in_every_format() {
    for (format, name) in [
        (LogFormat::Httperr, "httperr1.log"),
        (LogFormat::Iis, "in240115.log"),
        (LogFormat::Ncsa, "nc240115.log"),
        (LogFormat::W3c, "MSGTRK2024011502-1.LOG"),
        (LogFormat::W3c, "advanced.log"),
    ] {
        let text = fixture(name);
        let lines = text
            .split(|&c| c == b'\n')
            .filter(|l| !l.is_empty())
            .count() as u64;
        let (_, r) = read_as(format, &text, sniff(&text), None);
        let s = r.stats;
        assert_eq!(s.lines, lines, "{name}");
        assert_eq!(
            s.rows + s.directives + s.blank_lines + s.nul_lines + s.rejected,
            s.lines,
            "{name}"
        );
        let line_rejects = r.rejects.iter().filter(|x| !x.reason.row_kept()).count() as u64;
        assert_eq!(line_rejects, s.rejected, "{name}");
        assert!(
            r.rejects
                .iter()
                .all(|x| !matches!(x.reason, RejectReason::InvalidUtf8)),
            "{name}"
        );
    }
}

#[test]
fn iis_native_parameters_keep_their_commas() {
    let text = b"10.1.2.3, -, 01/15/24, 2:10:00, W3SVC1, CAS01, 10.0.0.10, 31, 512, 1024, 200, 0, GET, /search.aspx, q=a,b, c=d,\r\n\
10.1.2.3, -, 01/15/24, 2:10:01, W3SVC1, CAS01, 10.0.0.10, 31, 512, 1024, 200, 0, GET, /plain.aspx, -,\r\n";
    let (b, r) = read_as(LogFormat::Iis, text, vec![], None);
    assert_eq!((b.num_rows(), r.stats.rejected), (2, 0));
    assert_eq!(
        strings(&b, "parameters"),
        vec![Some("q=a,b, c=d".into()), None]
    );
    assert_eq!(strings(&b, "target")[0].as_deref(), Some("/search.aspx"));
    // A count reads the same lines.
    let schema = Arc::new(log_schema(LogFormat::Iis, []));
    let cfg = DecoderConfig::new(schema, Some(vec![]))
        .unwrap()
        .with_format(LogFormat::Iis);
    let r = read_w3c(&text[..], Arc::new(cfg), "f.log", 1 << 20).unwrap();
    assert_eq!((r.stats.rows, r.stats.rejected), (2, 0));
}

#[test]
fn byte_ranges_read_like_whole_files_in_the_split_formats() {
    use iis_log::reader::read_w3c_range;
    // The formats whose large files are split across cores (generic W3C is not split).
    for (format, name) in [
        (LogFormat::Httperr, "httperr1.log"),
        (LogFormat::Httperr, "httperr_early.log"),
        (LogFormat::Iis, "in240115.log"),
        (LogFormat::Ncsa, "nc240115.log"),
    ] {
        let text = fixture(name);
        let schema = Arc::new(log_schema(
            format,
            sniff(&text).iter().map(|(n, t)| (n.as_str(), *t)),
        ));
        let cfg = Arc::new(
            DecoderConfig::new(schema.clone(), None)
                .unwrap()
                .with_format(format)
                .with_time_zone(chrono_tz::UTC),
        );
        let whole = read_w3c(&text[..], cfg.clone(), "f.log", 1 << 20).unwrap();
        let whole_b = arrow_select::concat::concat_batches(&schema, &whole.batches).unwrap();
        for cut in 1..text.len() as u64 {
            let a = read_w3c_range(&text[..], 0, cut, cfg.clone(), "f.log", 7).unwrap();
            let b =
                read_w3c_range(&text[..], cut, text.len() as u64, cfg.clone(), "f.log", 7).unwrap();
            let mut batches = a.batches.clone();
            batches.extend(b.batches.clone());
            let got = arrow_select::concat::concat_batches(&schema, &batches).unwrap();
            assert_eq!(got, whole_b, "{name} cut at {cut}");
            assert_eq!(
                a.stats.rows + b.stats.rows,
                whole.stats.rows,
                "{name} cut at {cut}"
            );
            assert_eq!(
                a.stats.rejected + b.stats.rejected,
                whole.stats.rejected,
                "{name} cut at {cut}"
            );
        }
    }
}

/// Bytes made of the characters the formats' tokenizers care about, in any order.
fn hostile_text() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let piece = prop_oneof![
        Just(b" ".to_vec()),
        Just(b",".to_vec()),
        Just(b", ".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\"\"".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"[".to_vec()),
        Just(b"]".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"-".to_vec()),
        Just(b"\0".to_vec()),
        Just(b"#Fields: date time a,b c\n".to_vec()),
        Just(b"#Fields: date-local\ttime-local\tx\n".to_vec()),
        Just(b"2024-01-15".to_vec()),
        Just(b"03/20/01".to_vec()),
        Just(b"7:55:20".to_vec()),
        Just(b"[10/Oct/2000:13:55:36 -0700]".to_vec()),
        Just("é".as_bytes().to_vec()),
        Just(vec![0xff]),
        "[a-z0-9]{1,5}".prop_map(|s| s.into_bytes()),
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// Any bytes, in any format, chunked anyhow: no panic, and every line accounted for.
    #[test]
    fn every_format_accounts_for_every_line(
        text in hostile_text(),
        format in 0usize..5,
        chunk in 1usize..40,
    ) {
        let format = LogFormat::ALL[format];
        let schema = Arc::new(log_schema(format, sniff(&text).iter().map(|(n, t)| (n.as_str(), *t))));
        let read = |projection: Option<Vec<usize>>| {
            let cfg = DecoderConfig::new(schema.clone(), projection)
                .unwrap()
                .with_format(format)
                .with_time_zone(chrono_tz::UTC)
                .with_batch_size(3);
            read_w3c(&text[..], Arc::new(cfg), "f.log", chunk).unwrap()
        };
        let r = read(None);
        let s = r.stats;
        proptest::prop_assert_eq!(
            s.lines,
            s.rows + s.rejected + s.directives + s.blank_lines + s.nul_lines
        );
        let rows: usize = r.batches.iter().map(|b| b.num_rows()).sum();
        proptest::prop_assert_eq!(rows as u64, s.rows);
        proptest::prop_assert_eq!(s.bytes, text.len() as u64);
        // A count reads the same lines as rows and rejects.
        let c = read(Some(Vec::new())).stats;
        proptest::prop_assert_eq!((c.rows, c.rejected, c.lines), (s.rows, s.rejected, s.lines));
    }
}

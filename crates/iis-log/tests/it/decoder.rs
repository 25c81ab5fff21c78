use std::sync::Arc;

use arrow_buffer::Buffer;
use iis_log::datetime::{MS_PER_DAY, parse_date};
use iis_log::{DecoderConfig, RejectReason, W3cDecoder, w3c_schema};

use crate::{concat, ints32, ints64, read, strings, timestamps};

const MIDFILE: &[u8] = b"#Software: Microsoft Internet Information Services 10.0\r\n\
#Version: 1.0 // junk\r\n\
#Date: 2024-01-15 00:00:00\r\n\
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken\r\n\
2024-01-15 02:10:00 10.0.0.1 GET /owa/ - 443 - 1.2.3.4 Mozilla/5.0 200 0 0 15\r\n\
2024-01-15 02:10:01 10.0.0.1 POST /Microsoft-Server-ActiveSync/default.eas Cmd=Sync&User=jdoe 443 CONTOSO\\jdoe 1.2.3.5 Apple-iPhone 403 7 5 3000000000\r\n\
\r\n\
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken cs-host sc-bytes cs-bytes X-Forwarded-For\r\n\
2024-01-15 02:10:02 10.0.0.1 GET /ews/exchange.asmx - 443 - 1.2.3.6 ua 401 1 4294967295 7 mail.contoso.com 100 200 203.0.113.9\r\n\
2024-01-15 02:10:03 10.0.0.1 GET /short - 443\r\n\
2024-01-15 02:10:04 10.0.0.1 GET /ok - 443 - 1.2.3.7 ua 200 0 0 1 - - - -";

#[test]
fn mid_file_fields_change_maps_every_line_by_its_layout() {
    for chunk in [1, 7, 64, 1 << 20] {
        let (schema, r) = read(MIDFILE, chunk);
        let b = concat(&schema, &r);
        assert_eq!(b.num_rows(), 4, "chunk {chunk}");
        assert_eq!(r.stats.lines, 11);
        assert_eq!(r.stats.rows, 4);
        assert_eq!(r.stats.directives, 5);
        assert_eq!(r.stats.blank_lines, 1);
        assert_eq!(r.stats.rejected, 1);
        assert_eq!(
            strings(&b, "cs_uri_stem"),
            vec![
                Some("/owa/".into()),
                Some("/Microsoft-Server-ActiveSync/default.eas".into()),
                Some("/ews/exchange.asmx".into()),
                Some("/ok".into())
            ]
        );
        assert_eq!(
            strings(&b, "cs_host")[2].as_deref(),
            Some("mail.contoso.com")
        );
        assert_eq!(strings(&b, "cs_host")[0], None);
        assert_eq!(
            strings(&b, "x_forwarded_for")[2].as_deref(),
            Some("203.0.113.9")
        );
        assert_eq!(
            strings(&b, "cs_username")[1].as_deref(),
            Some("CONTOSO\\jdoe")
        );
        assert_eq!(
            ints32(&b, "sc_status"),
            vec![Some(200), Some(403), Some(401), Some(200)]
        );
        assert_eq!(ints32(&b, "sc_substatus")[1], Some(7));
        assert_eq!(ints64(&b, "sc_win32_status")[2], Some(4_294_967_295));
        assert_eq!(ints64(&b, "time_taken")[1], Some(3_000_000_000));
        assert_eq!(ints64(&b, "sc_bytes"), vec![None, None, Some(100), None]);
        assert_eq!(
            ints64(&b, "log_row"),
            vec![Some(5), Some(6), Some(9), Some(11)]
        );
        let day = parse_date(b"2024-01-15").unwrap() as i64 * MS_PER_DAY;
        assert_eq!(timestamps(&b)[0], Some(day + (2 * 3600 + 10 * 60) * 1000));
        assert_eq!(
            timestamps(&b)[3],
            Some(day + (2 * 3600 + 10 * 60 + 4) * 1000)
        );
        let rejects = &r.rejects;
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].line, 10);
        assert_eq!(
            rejects[0].reason,
            RejectReason::FieldCount {
                expected: 18,
                found: 7
            }
        );
        assert_eq!(
            rejects[0].text,
            "2024-01-15 02:10:03 10.0.0.1 GET /short - 443"
        );
        let offset = MIDFILE
            .windows(8)
            .position(|w| w == b"2024-01-15 02:10:03".get(..8).unwrap())
            .unwrap();
        assert!(rejects[0].byte_offset as usize >= offset);
    }
}

#[test]
fn time_only_layout_takes_the_date_directive() {
    let text = b"#Date: 2010-05-06 00:00:00\n#Fields: time c-ip\n01:00:00 a\n#Date: 2010-05-07 00:00:00\n02:00:00 b\n";
    let (schema, r) = read(text, 1 << 20);
    let b = concat(&schema, &r);
    let d6 = parse_date(b"2010-05-06").unwrap() as i64 * MS_PER_DAY;
    let d7 = parse_date(b"2010-05-07").unwrap() as i64 * MS_PER_DAY;
    assert_eq!(
        timestamps(&b),
        vec![Some(d6 + 3_600_000), Some(d7 + 7_200_000)]
    );
}

#[test]
fn headerless_file_uses_default_or_given_layout() {
    let text = b"2024-01-17 01:00:00 192.168.1.1 GET /legacy.aspx - 80 - 10.0.0.10 Mozilla/5.0 - 200 0 0 50\n";
    let (schema, r) = read(text, 1 << 20);
    let b = concat(&schema, &r);
    assert_eq!(
        strings(&b, "cs_uri_stem"),
        vec![Some("/legacy.aspx".into())]
    );
    assert_eq!(ints64(&b, "time_taken"), vec![Some(50)]);

    let schema = Arc::new(w3c_schema([]));
    let cfg = DecoderConfig::new(schema, None)
        .unwrap()
        .with_default_fields("date time c-ip sc-status");
    let mut d = W3cDecoder::new(Arc::new(cfg), "x.log");
    d.decode(
        &Buffer::from(&b"2024-01-17 01:00:00 10.0.0.1 404"[..]),
        true,
    )
    .unwrap();
    d.finish().unwrap();
    let b = d.next_batch().unwrap();
    assert_eq!(ints32(&b, "sc_status"), vec![Some(404)]);
    assert_eq!(strings(&b, "c_ip"), vec![Some("10.0.0.1".into())]);
}

#[test]
fn bom_nul_padding_and_incomplete_tail() {
    let mut text =
        b"\xEF\xBB\xBF#Fields: date time c-ip sc-status\r\n2024-01-01 00:00:00 a 200\r\n".to_vec();
    text.extend_from_slice(&[0u8; 100]);
    text.extend_from_slice(b"\r\n");
    text.extend_from_slice(&[0u8; 10]);
    text.extend_from_slice(b"#Software: IIS\r\n#Fields: date time c-ip sc-status\r\n2024-01-01 00:00:01 b 201\r\n2024-01-01 00:00:02 c");
    let (schema, r) = read(&text, 1 << 20);
    let b = concat(&schema, &r);
    assert_eq!(
        strings(&b, "c_ip"),
        vec![Some("a".into()), Some("b".into())]
    );
    assert_eq!(r.stats.nul_lines, 1);
    assert_eq!(r.stats.directives, 3);
    assert_eq!(r.rejects.len(), 1);
    assert_eq!(r.rejects[0].line, 7);
    assert_eq!(
        r.rejects[0].reason,
        RejectReason::IncompleteLastLine {
            expected: 4,
            found: 3
        }
    );
    let s = r.stats;
    assert_eq!(
        s.lines,
        s.rows + s.rejected + s.directives + s.blank_lines + s.nul_lines
    );
}

#[test]
fn invalid_utf8_is_read_lossily_and_counted() {
    let text = b"#Fields: c-ip cs-uri-stem\n1.1.1.1 /caf\xE9\n2.2.2.2 /ok\n";
    let (schema, r) = read(text, 1 << 20);
    let b = concat(&schema, &r);
    assert_eq!(
        strings(&b, "cs_uri_stem"),
        vec![Some("/caf\u{FFFD}".into()), Some("/ok".into())]
    );
    assert_eq!(r.stats.lossy_lines, 1);
    assert_eq!(r.rejects[0].line, 2);
    assert_eq!(r.rejects[0].reason, RejectReason::InvalidUtf8);
}

#[test]
fn bad_values_become_null_and_are_reported() {
    let text = b"#Fields: date time sc-status\n2024-01-01 00:00:00 abc\n2024-13-01 00:00:00 200\n";
    let (schema, r) = read(text, 1 << 20);
    let b = concat(&schema, &r);
    assert_eq!(b.num_rows(), 2);
    assert_eq!(ints32(&b, "sc_status"), vec![None, Some(200)]);
    assert_eq!(timestamps(&b)[1], None);
    let reasons: Vec<_> = r
        .rejects
        .iter()
        .map(|r| (r.line, r.reason.code()))
        .collect();
    assert!(reasons.contains(&(2, "invalid_value")));
    assert!(reasons.contains(&(3, "invalid_value")));
    assert_eq!(r.stats.invalid_values, 2);
}

#[test]
fn dates_change_and_repeat_within_a_chunk() {
    // Consecutive rows share their date (the decoder keeps the last one parsed): a change of
    // date, a return to the earlier one, and an invalid date written twice in a row (each row
    // reported) all come out right.
    let text = b"#Fields: date time sc-status\n\
        2024-01-31 23:59:59 200\n2024-01-31 23:59:59 200\n2024-02-01 00:00:00 200\n\
        2024-01-31 00:00:01 200\n2024-02-30 00:00:00 200\n2024-02-30 00:00:00 200\n\
        2024-02-01 00:00:02 200\n";
    for chunk in [1, 40, 1 << 20] {
        let (schema, r) = read(text, chunk);
        let b = concat(&schema, &r);
        let day = 86_400_000i64;
        let jan31 = 19_753 * day;
        assert_eq!(
            timestamps(&b),
            vec![
                Some(jan31 + 86_399_000),
                Some(jan31 + 86_399_000),
                Some(jan31 + day),
                Some(jan31 + 1_000),
                None,
                None,
                Some(jan31 + day + 2_000),
            ],
            "chunk {chunk}"
        );
        use arrow_array::cast::AsArray;
        let dates: Vec<Option<i32>> = b
            .column_by_name("date")
            .unwrap()
            .as_primitive::<arrow_array::types::Date32Type>()
            .iter()
            .collect();
        assert_eq!(
            dates,
            [19_753, 19_753, 19_754, 19_753]
                .map(Some)
                .into_iter()
                .chain([None, None, Some(19_754)])
                .collect::<Vec<_>>()
        );
        let lines: Vec<u64> = r.rejects.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![6, 7], "chunk {chunk}");
        assert_eq!(r.stats.invalid_values, 2);
    }
}

#[test]
fn empty_projection_counts_rows_without_columns() {
    let schema = Arc::new(w3c_schema([]));
    let cfg = DecoderConfig::new(schema, Some(vec![])).unwrap();
    let mut d = W3cDecoder::new(Arc::new(cfg), "x.log");
    d.decode(&Buffer::from(MIDFILE), true).unwrap();
    d.finish().unwrap();
    let mut n = 0;
    while let Some(b) = d.next_batch() {
        assert_eq!(b.num_columns(), 0);
        n += b.num_rows();
    }
    assert_eq!(n, 4);
}

#[test]
fn raw_utf8_urls_and_ipv6() {
    let text = "#Fields: c-ip cs-uri-stem\n::1 /página/ñandú\nfe80::1%eth0 /\n".as_bytes();
    let (schema, r) = read(text, 1 << 20);
    let b = concat(&schema, &r);
    assert_eq!(
        strings(&b, "cs_uri_stem")[0].as_deref(),
        Some("/página/ñandú")
    );
    assert_eq!(strings(&b, "c_ip")[1].as_deref(), Some("fe80::1%eth0"));
    let _ = MS_PER_DAY;
}

/// A server that crashed mid-line: the line is cut by NUL padding, and after the restart IIS
/// writes its directives straight after the NULs, on the same line.
#[test]
fn a_line_cut_by_nul_padding_is_rejected_and_the_directives_after_it_read() {
    let mut text =
        b"#Fields: date time c-ip sc-status\r\n2024-01-01 00:00:00 a 200\r\n2024-01-01 00:00:01 b 2"
            .to_vec();
    text.extend_from_slice(&[0u8; 300]);
    text.extend_from_slice(b"#Fields: date time c-ip cs-uri-stem sc-status\r\n#Software: IIS\r\n");
    text.extend_from_slice(b"2024-01-01 00:01:00 c /x 404\r\n2024-01-01 00:01:01 d /y");
    text.extend_from_slice(&[0u8; 40]);
    for chunk in [1, 5, 64, 1 << 20] {
        let (schema, r) = read(&text, chunk);
        let b = concat(&schema, &r);
        assert_eq!(
            strings(&b, "c_ip"),
            vec![Some("a".into()), Some("c".into())],
            "chunk {chunk}"
        );
        assert_eq!(strings(&b, "cs_uri_stem"), vec![None, Some("/x".into())]);
        assert_eq!(ints32(&b, "sc_status"), vec![Some(200), Some(404)]);
        let rejects: Vec<_> = r
            .rejects
            .iter()
            .map(|r| (r.line, r.byte_offset, r.reason.code(), r.text.as_str()))
            .collect();
        assert_eq!(
            rejects,
            vec![
                (3, 62, "cut_by_nul", "2024-01-01 00:00:01 b 2"),
                (6, 478, "cut_by_nul", "2024-01-01 00:01:01 d /y"),
            ],
            "chunk {chunk}"
        );
        let s = r.stats;
        // Two lines each count twice: the cut text, then what follows the NULs.
        assert_eq!(
            (s.rows, s.rejected, s.directives, s.nul_lines),
            (2, 2, 3, 1)
        );
        assert_eq!(s.lines, 8);
        assert_eq!(
            s.lines,
            s.rows + s.rejected + s.directives + s.blank_lines + s.nul_lines
        );
    }
    // A byte range that starts after the crash knows the layout written after the NULs.
    let scan = iis_log::scan_directives(&text[..]).unwrap();
    assert_eq!(scan.layouts(), 2);
    let schema = Arc::new(w3c_schema(scan.fields().values().map(String::as_str)));
    let cfg = Arc::new(DecoderConfig::new(schema.clone(), None).unwrap());
    let start = text.windows(4).position(|w| w == b"2024").unwrap() as u64 + 380;
    let r =
        iis_log::reader::read_w3c_range(&text[..], start, text.len() as u64, cfg, "t", 7).unwrap();
    let b = arrow_select::concat::concat_batches(&schema, &r.batches).unwrap();
    assert_eq!(strings(&b, "cs_uri_stem"), vec![Some("/x".into())]);
    assert_eq!(r.rejects[0].line, 6);
}

/// Found by the decoder fuzz target: a directive cut by a NUL, with text after the NUL, between
/// rows of a headerless file. The directive flushed the pending rows; the text after the NUL
/// must not leave field starts behind for the rows that follow.
#[test]
fn fuzz_regression_directive_with_text_after_a_nul() {
    let row = |i: u32| {
        format!(
            "2016-04-11 08:39:1{i} 10.1.2.3 GET /p{i} - 80 - 192.0.2.{i} Mozilla/5.0 - 404 0 2 23{i}\n"
        )
    };
    let mut text = row(1).into_bytes();
    text.extend_from_slice(b"#Software: Microsoft Internet\0Information Services 8.5\n");
    text.extend_from_slice(row(2).as_bytes());
    text.extend_from_slice(row(3).as_bytes());
    for chunk in [1, 36, 1 << 20] {
        let (schema, r) = read(&text, chunk);
        let b = concat(&schema, &r);
        assert_eq!(
            strings(&b, "cs_uri_stem"),
            vec![Some("/p1".into()), Some("/p2".into()), Some("/p3".into())],
            "chunk {chunk}"
        );
        assert_eq!(
            ints64(&b, "time_taken"),
            vec![Some(231), Some(232), Some(233)]
        );
        let rejects: Vec<_> = r
            .rejects
            .iter()
            .map(|r| (r.line, r.reason.code()))
            .collect();
        assert_eq!(rejects, vec![(2, "field_count")]);
    }
}

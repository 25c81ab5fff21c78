use proptest::prelude::*;

use crate::{concat, ints32, ints64, read, strings, timestamps};

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-".to_string()),
        "[A-Za-z0-9/%+=&._:-]{1,40}",
        "[0-9a-f:]{2,20}%[a-z0-9]{1,5}",
        "[a-zA-Z0-9+%]{200,400}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Values written as W3C text under random custom layouts read back as the same values,
    /// whatever the chunk size.
    #[test]
    fn custom_fields_round_trip(
        n_fields in 1usize..6,
        rows in proptest::collection::vec(proptest::collection::vec(value(), 6), 0..20),
        chunk in 1usize..300,
        crlf in any::<bool>(),
    ) {
        let names: Vec<String> = (0..n_fields).map(|i| format!("X-Custom-{i}")).collect();
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("#Fields: {}{nl}", names.join(" "));
        for r in &rows {
            text.push_str(&r[..n_fields].join(" "));
            text.push_str(nl);
        }
        let (schema, read) = read(text.as_bytes(), chunk);
        prop_assert_eq!(read.stats.rows as usize, rows.len());
        prop_assert_eq!(read.stats.rejected, 0);
        if rows.is_empty() {
            return Ok(());
        }
        let b = concat(&schema, &read);
        for (i, _) in names.iter().enumerate() {
            let got = strings(&b, &format!("x_custom_{i}"));
            let want: Vec<Option<String>> = rows
                .iter()
                .map(|r| if r[i] == "-" { None } else { Some(r[i].clone()) })
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}

/// One line of a generated log.
#[derive(Debug, Clone)]
enum Piece {
    Fields(usize),
    Date(u8),
    Row(Vec<String>),
    Blank,
    Nuls(usize),
    Bad,
    /// A crash: text cut by NULs, then IIS's `#Fields` on the same line.
    Crash(usize, usize),
}

const LAYOUTS: &[&str] = &[
    "date time c-ip sc-status",
    "time c-ip sc-status X-Extra",
    "date time s-port cs-uri-stem sc-status sc-bytes",
];

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        1 => (0..LAYOUTS.len()).prop_map(Piece::Fields),
        1 => (1u8..28).prop_map(Piece::Date),
        6 => proptest::collection::vec("[a-z0-9%+/.]{1,12}", 6).prop_map(Piece::Row),
        1 => Just(Piece::Blank),
        1 => (1usize..40).prop_map(Piece::Nuls),
        1 => Just(Piece::Bad),
        1 => ((1usize..30), (0..LAYOUTS.len())).prop_map(|(n, l)| Piece::Crash(n, l)),
    ]
}

fn render(pieces: &[Piece], crlf: bool, final_newline: bool) -> Vec<u8> {
    let nl = if crlf { "\r\n" } else { "\n" };
    let mut layout = 0;
    let mut out = Vec::new();
    for (i, p) in pieces.iter().enumerate() {
        match p {
            Piece::Fields(l) => {
                layout = *l;
                out.extend_from_slice(format!("#Fields: {}", LAYOUTS[*l]).as_bytes());
            }
            Piece::Date(d) => {
                out.extend_from_slice(format!("#Date: 2024-02-{d:02} 00:00:00").as_bytes())
            }
            Piece::Row(v) => {
                let names: Vec<&str> = LAYOUTS[layout].split(' ').collect();
                let vals: Vec<String> = names
                    .iter()
                    .enumerate()
                    .map(|(k, n)| match *n {
                        "date" => format!("2024-01-{:02}", k + 1),
                        "time" => format!("0{}:00:00", k % 10),
                        "sc-status" | "s-port" | "sc-bytes" => format!("{}", v[k].len() * 100 + k),
                        _ => v[k].clone(),
                    })
                    .collect();
                out.extend_from_slice(vals.join(" ").as_bytes());
            }
            Piece::Blank => {}
            Piece::Nuls(n) => out.extend(std::iter::repeat_n(0u8, *n)),
            Piece::Bad => out.extend_from_slice(b"only two"),
            Piece::Crash(n, l) => {
                layout = *l;
                out.extend_from_slice(b"2024-01-01 00:0");
                out.extend(std::iter::repeat_n(0u8, *n));
                out.extend_from_slice(format!("#Fields: {}", LAYOUTS[*l]).as_bytes());
            }
        }
        if i + 1 < pieces.len() || final_newline {
            out.extend_from_slice(nl.as_bytes());
        }
    }
    out
}

fn rows_as_text(
    schema: &arrow_schema::SchemaRef,
    batches: &[arrow_array::RecordBatch],
) -> Vec<String> {
    let b = arrow_select::concat::concat_batches(schema, batches).unwrap();
    let opts = arrow_cast_display_opts();
    // Timestamps as their millisecond values (named time zones need chrono-tz to display).
    let cols: Vec<arrow_array::ArrayRef> = b
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            arrow_schema::DataType::Timestamp(_, _) => {
                arrow_cast::cast(c, &arrow_schema::DataType::Int64).unwrap()
            }
            _ => c.clone(),
        })
        .collect();
    let fs: Vec<_> = cols
        .iter()
        .map(|c| arrow_cast::display::ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
        .collect();
    (0..b.num_rows())
        .map(|i| {
            fs.iter()
                .map(|f| f.value(i).to_string())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

fn arrow_cast_display_opts() -> arrow_cast::display::FormatOptions<'static> {
    arrow_cast::display::FormatOptions::default().with_null("NULL")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Reading a file as byte ranges cut at random offsets gives exactly the rows, line numbers
    /// and rejects of reading it whole.
    #[test]
    fn byte_ranges_read_like_the_whole_file(
        pieces in proptest::collection::vec(piece(), 0..60),
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..5),
        chunk in 1usize..200,
    ) {
        use std::sync::Arc;
        use iis_log::{DecoderConfig, read_w3c, read_w3c_range, scan_directives, w3c_schema};
        let text = render(&pieces, crlf, final_newline);
        let scan = scan_directives(&text[..]).unwrap();
        let schema = Arc::new(w3c_schema(scan.fields().values().map(String::as_str)));
        let cfg = Arc::new(DecoderConfig::new(schema.clone(), None).unwrap().with_batch_size(5));
        let whole = read_w3c(&text[..], cfg.clone(), "f.log", chunk).unwrap();
        let mut bounds: Vec<u64> = cuts.iter().map(|c| c.index(text.len() + 1) as u64).collect();
        bounds.push(0);
        bounds.push(text.len() as u64);
        bounds.sort();
        let mut rows = Vec::new();
        let mut rejects = Vec::new();
        let mut stats = iis_log::ScanStats::default();
        for w in bounds.windows(2) {
            let r = read_w3c_range(&text[..], w[0], w[1], cfg.clone(), "f.log", chunk).unwrap();
            rows.extend(rows_as_text(&schema, &r.batches));
            rejects.extend(r.rejects);
            stats.add(&r.stats);
        }
        prop_assert_eq!(rows, rows_as_text(&schema, &whole.batches));
        prop_assert_eq!(&rejects, &whole.rejects);
        prop_assert_eq!(stats.lines, whole.stats.lines);
        prop_assert_eq!(stats.rows, whole.stats.rows);
        prop_assert_eq!(stats.directives, whole.stats.directives);
        prop_assert_eq!(stats.nul_lines + stats.blank_lines, whole.stats.nul_lines + whole.stats.blank_lines);
        // A query that reads no column (count(*)) counts fields without locating them: the
        // same rows and the same rejected lines.
        let none = Arc::new(DecoderConfig::new(schema.clone(), Some(vec![])).unwrap().with_batch_size(5));
        let counted = read_w3c(&text[..], none, "f.log", chunk).unwrap();
        let rows: usize = counted.batches.iter().map(|b| b.num_rows()).sum();
        prop_assert_eq!(rows as u64, whole.stats.rows);
        prop_assert_eq!(counted.stats.lines, whole.stats.lines);
        prop_assert_eq!(counted.stats.rejected, whole.stats.rejected);
        let dropped = |r: &[iis_log::Reject]| -> Vec<_> {
            r.iter().filter(|r| !r.reason.row_kept()).cloned().collect()
        };
        prop_assert_eq!(dropped(&counted.rejects), dropped(&whole.rejects));
    }
}

/// A standard field of a random layout, with the values it may hold.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Int32,
    Int64,
}

const STANDARD: &[(&str, &str, Kind)] = &[
    ("c-ip", "c_ip", Kind::Text),
    ("s-ip", "s_ip", Kind::Text),
    ("cs-method", "cs_method", Kind::Text),
    ("cs-uri-stem", "cs_uri_stem", Kind::Text),
    ("cs-uri-query", "cs_uri_query", Kind::Text),
    ("cs-username", "cs_username", Kind::Text),
    ("cs(User-Agent)", "cs_user_agent", Kind::Text),
    ("X-Forwarded-For", "x_forwarded_for", Kind::Text),
    ("s-port", "s_port", Kind::Int32),
    ("sc-status", "sc_status", Kind::Int32),
    ("sc-substatus", "sc_substatus", Kind::Int32),
    ("sc-win32-status", "sc_win32_status", Kind::Int64),
    ("sc-bytes", "sc_bytes", Kind::Int64),
    ("time-taken", "time_taken", Kind::Int64),
];

/// A value of `kind` as IIS writes it (`-` for none).
fn typed_value(kind: Kind) -> BoxedStrategy<String> {
    match kind {
        Kind::Text => value().boxed(),
        Kind::Int32 => prop_oneof![
            4 => (0i32..=i32::MAX).prop_map(|v| v.to_string()),
            1 => Just("-".to_string()),
        ]
        .boxed(),
        // win32 codes above 2^32, byte counts and times of days.
        Kind::Int64 => prop_oneof![
            4 => (0i64..=(1i64 << 40)).prop_map(|v| v.to_string()),
            1 => Just("-".to_string()),
        ]
        .boxed(),
    }
}

/// A random layout: standard fields in random order, with `date time` somewhere (or neither),
/// and rows of values of each field's type.
/// A generated log: the fields (indices into [`STANDARD`]), whether `date time` are logged, and
/// rows of (day, second of the day, values).
type TypedLog = (Vec<usize>, bool, Vec<(u32, u32, Vec<String>)>);

fn typed_log() -> impl Strategy<Value = TypedLog> {
    (
        proptest::sample::subsequence((0..STANDARD.len()).collect::<Vec<_>>(), 1..STANDARD.len())
            .prop_shuffle(),
        any::<bool>(),
    )
        .prop_flat_map(|(fields, dated)| {
            let vals: Vec<BoxedStrategy<String>> =
                fields.iter().map(|&f| typed_value(STANDARD[f].2)).collect();
            let row = ((0u32..3650), (0u32..86_400), vals);
            (
                Just(fields),
                Just(dated),
                proptest::collection::vec(row, 0..25),
            )
        })
}

fn civil(days: u32) -> String {
    // Days after 2015-01-01, written as IIS writes a date (Howard Hinnant's civil_from_days).
    let z = parse_days("2015-01-01") as i64 + days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}")
}

fn parse_days(s: &str) -> i32 {
    iis_log::datetime::parse_date(s.as_bytes()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Standard fields in random order and custom fields, with typed values (integers up to
    /// 2^40, `-`, `+`, `%xx`, IPv6 with zone ids, long values), read back as the same values.
    #[test]
    fn typed_layouts_round_trip(
        (fields, dated, rows) in typed_log(),
        chunk in 1usize..400,
        crlf in any::<bool>(),
        date_pos in any::<prop::sample::Index>(),
    ) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut names: Vec<&str> = fields.iter().map(|&f| STANDARD[f].0).collect();
        let at = date_pos.index(names.len() + 1);
        if dated {
            names.insert(at, "time");
            names.insert(at, "date");
        }
        let mut text = format!("#Software: Microsoft Internet Information Services 10.0{nl}#Fields: {}{nl}", names.join(" "));
        for (day, sec, vals) in &rows {
            let mut line: Vec<String> = vals.clone();
            if dated {
                line.insert(at, format!("{:02}:{:02}:{:02}", sec / 3600, sec / 60 % 60, sec % 60));
                line.insert(at, civil(*day));
            }
            text.push_str(&line.join(" "));
            text.push_str(nl);
        }
        let (schema, read) = read(text.as_bytes(), chunk);
        prop_assert_eq!(read.stats.rows as usize, rows.len());
        prop_assert_eq!(read.stats.rejected, 0);
        prop_assert!(read.rejects.is_empty(), "{:?}", read.rejects);
        if rows.is_empty() {
            return Ok(());
        }
        let b = concat(&schema, &read);
        for (i, &f) in fields.iter().enumerate() {
            let (_, col, kind) = STANDARD[f];
            let want: Vec<Option<String>> = rows
                .iter()
                .map(|r| if r.2[i] == "-" { None } else { Some(r.2[i].clone()) })
                .collect();
            let got: Vec<Option<String>> = match kind {
                Kind::Text => strings(&b, col),
                Kind::Int32 => ints32(&b, col).into_iter().map(|v| v.map(|v| v.to_string())).collect(),
                Kind::Int64 => ints64(&b, col).into_iter().map(|v| v.map(|v| v.to_string())).collect(),
            };
            prop_assert_eq!(got, want, "column {}", col);
        }
        let want_ts: Vec<Option<i64>> = rows
            .iter()
            .map(|(day, sec, _)| {
                dated.then(|| (parse_days("2015-01-01") as i64 + *day as i64) * 86_400_000 + *sec as i64 * 1000)
            })
            .collect();
        prop_assert_eq!(timestamps(&b), want_ts);
    }
}

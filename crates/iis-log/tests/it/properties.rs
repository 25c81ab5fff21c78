use proptest::prelude::*;

use crate::{concat, read, strings};

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
        prop_assert_eq!(rejects, whole.rejects);
        prop_assert_eq!(stats.lines, whole.stats.lines);
        prop_assert_eq!(stats.rows, whole.stats.rows);
        prop_assert_eq!(stats.directives, whole.stats.directives);
        prop_assert_eq!(stats.nul_lines + stats.blank_lines, whole.stats.nul_lines + whole.stats.blank_lines);
    }
}

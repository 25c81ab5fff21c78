//! Charts: the axes chosen from a result's columns, and what the SVG and PNG files hold.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampSecondArray,
};
use datafusion::arrow::datatypes::{Field, Schema};
use iisql::chart::draw::{PALETTE, nice_ticks, number};
use iisql::chart::{
    ChartData, ChartError, ChartKind, ChartOptions, ImageFormat, XAxis, render, render_data,
};

fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let schema = Schema::new(
        cols.iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(Arc::new(schema), cols.into_iter().map(|(_, a)| a).collect()).unwrap()
}

/// 2025-11-03 10:00 UTC, in seconds.
const T0: i64 = 1_762_164_000;

/// Hits per hour and outcome, long format, rows out of time order.
fn hourly() -> RecordBatch {
    let ts = TimestampSecondArray::from(vec![T0 + 3600, T0, T0, T0 + 7200, T0 + 3600])
        .with_timezone("UTC");
    batch(vec![
        ("hour", Arc::new(ts) as ArrayRef),
        (
            "outcome",
            Arc::new(StringArray::from(vec![
                "success", "success", "403.7", "success", "403.7",
            ])),
        ),
        ("hits", Arc::new(Int64Array::from(vec![5, 7, 2, 9, 4]))),
    ])
}

fn categories(names: &[&str], values: &[i64]) -> RecordBatch {
    batch(vec![
        (
            "device_type",
            Arc::new(StringArray::from(names.to_vec())) as ArrayRef,
        ),
        ("devices", Arc::new(Int64Array::from(values.to_vec()))),
    ])
}

fn svg(batches: &[RecordBatch], options: &ChartOptions) -> String {
    String::from_utf8(render(batches, options, ImageFormat::Svg).unwrap()).unwrap()
}

fn kind(k: &str) -> ChartOptions {
    ChartOptions {
        kind: ChartKind::parse(k),
        ..Default::default()
    }
}

/// The texts of an SVG's `<text>` elements.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = t.split_once('>')?.1;
            Some(body.split_once("</text>")?.0.trim().to_string())
        })
        .collect()
}

/// The `(x, y, width, height)` of every `<rect>` filled with `color` (`#RRGGBB`).
fn rects(svg: &str, color: &str) -> Vec<(f64, f64, f64, f64)> {
    let attr = |r: &str, name: &str| -> f64 {
        let k = format!(" {name}=\"");
        let v = r.split_once(&k).unwrap().1.split('"').next().unwrap();
        v.parse().unwrap()
    };
    svg.split("<rect")
        .skip(1)
        .map(|r| r.split_once("/>").unwrap().0)
        .filter(|r| r.contains(&format!("fill=\"{color}\"")))
        .map(|r| {
            (
                attr(r, "x"),
                attr(r, "y"),
                attr(r, "width"),
                attr(r, "height"),
            )
        })
        .collect()
}

fn hex(i: usize) -> String {
    let (r, g, b) = PALETTE[i];
    format!("#{r:02X}{g:02X}{b:02X}")
}

#[test]
fn a_time_column_goes_on_x_and_a_text_column_makes_the_series() {
    let d = ChartData::from_batches(&[hourly()]).unwrap();
    let ms = |s: i64| s * 1000;
    assert_eq!(d.x, XAxis::Time(vec![ms(T0), ms(T0 + 3600), ms(T0 + 7200)]));
    assert_eq!(d.x_label, "hour (UTC)");
    assert_eq!(d.y_label, "hits");
    let series: Vec<(&str, Vec<Option<f64>>)> = d
        .series
        .iter()
        .map(|s| (s.name.as_str(), s.values.clone()))
        .collect();
    // In order of first appearance; an hour without a row of a series is 0 there.
    assert_eq!(
        series,
        vec![
            ("success", vec![Some(7.0), Some(5.0), Some(9.0)]),
            ("403.7", vec![Some(2.0), Some(4.0), Some(0.0)]),
        ]
    );
    assert_eq!(ChartKind::auto(&d), ChartKind::Line);
}

#[test]
fn categories_keep_the_result_order_and_each_numeric_column_is_a_series() {
    let b = batch(vec![
        (
            "server",
            Arc::new(StringArray::from(vec![Some("EX2"), None, Some("EX1")])) as ArrayRef,
        ),
        ("hits", Arc::new(Int64Array::from(vec![30, 20, 10]))),
        (
            "share",
            Arc::new(Float64Array::from(vec![Some(0.5), None, Some(0.25)])),
        ),
    ]);
    let d = ChartData::from_batches(&[b]).unwrap();
    assert_eq!(
        d.x,
        XAxis::Categories(vec!["EX2".into(), "(null)".into(), "EX1".into()])
    );
    assert_eq!(d.series.len(), 2);
    assert_eq!(d.series[1].name, "share");
    assert_eq!(d.series[1].values, vec![Some(0.5), None, Some(0.25)]);
    assert_eq!(d.y_label, "hits, share");
    assert_eq!(ChartKind::auto(&d), ChartKind::Column);
    // Long labels read better as horizontal bars.
    let long = categories(
        &["Apple-iPhone15C3/2203.1", "Android-SAMSUNG-SM-S918B/1.0"],
        &[1, 2],
    );
    assert_eq!(
        ChartKind::auto(&ChartData::from_batches(&[long]).unwrap()),
        ChartKind::Bar
    );
}

#[test]
fn results_that_cannot_be_charted_say_why() {
    let text_only = batch(vec![(
        "cs_uri_stem",
        Arc::new(StringArray::from(vec!["/a", "/b"])) as ArrayRef,
    )]);
    let e = ChartData::from_batches(&[text_only])
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs a numeric column"), "{e}");
    assert!(e.contains("cs_uri_stem (Utf8)"), "{e}");
    let empty = categories(&[], &[]);
    assert!(matches!(
        ChartData::from_batches(&[empty]),
        Err(ChartError::NoRows)
    ));
    assert!(matches!(
        ChartData::from_batches(&[]),
        Err(ChartError::NoRows)
    ));
}

#[test]
fn column_chart_svg_has_one_bar_per_value_in_proportion() {
    let s = svg(
        &[categories(&["iPhone", "Android", "WP"], &[10, 20, 30])],
        &ChartOptions {
            kind: Some(ChartKind::Column),
            title: Some("Devices by type".into()),
            ..Default::default()
        },
    );
    assert!(
        s.starts_with("<svg width=\"1000\" height=\"560\""),
        "{}",
        &s[..80]
    );
    let t = texts(&s);
    for want in [
        "Devices by type",
        "iPhone",
        "Android",
        "WP",
        "device_type",
        "devices",
    ] {
        assert!(t.iter().any(|x| x == want), "no text {want:?} in {t:?}");
    }
    let bars = rects(&s, &hex(0));
    assert_eq!(bars.len(), 3, "{bars:?}");
    // Left to right, heights 1:2:3, one baseline.
    assert!(bars[0].0 < bars[1].0 && bars[1].0 < bars[2].0);
    let h: Vec<f64> = bars.iter().map(|b| b.3).collect();
    assert!(
        (h[1] / h[0] - 2.0).abs() < 0.05 && (h[2] / h[0] - 3.0).abs() < 0.05,
        "{h:?}"
    );
    let bottoms: Vec<f64> = bars.iter().map(|b| b.1 + b.3).collect();
    assert!(
        bottoms.iter().all(|b| (b - bottoms[0]).abs() < 1.0),
        "{bottoms:?}"
    );
    // One series: no legend.
    assert!(rects(&s, &hex(1)).is_empty());
}

#[test]
fn stacked_columns_put_each_series_on_the_one_below() {
    let s = svg(&[hourly()], &kind("column-stacked"));
    let success = rects(&s, &hex(0));
    let refused = rects(&s, &hex(1));
    // Three hours of success, two of 403.7 (a zero draws nothing), plus a legend key each.
    assert_eq!(success.len(), 4, "{success:?}");
    assert_eq!(refused.len(), 3, "{refused:?}");
    // At 10:00 the 403.7 column (2) sits on the success column (7); legend keys are 14 px.
    let first_bar = |r: &[(f64, f64, f64, f64)]| {
        *r.iter()
            .filter(|b| b.2 != 14.0)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap()
    };
    let (bar, top) = (first_bar(&success), first_bar(&refused));
    assert!((top.1 + top.3 - bar.1).abs() <= 1.0, "{bar:?} {top:?}");
    assert!((bar.3 / top.3 - 3.5).abs() < 0.1, "{bar:?} {top:?}");
    let t = texts(&s);
    for want in ["success", "403.7", "10:00", "11:00", "12:00", "hour (UTC)"] {
        assert!(t.iter().any(|x| x == want), "no text {want:?} in {t:?}");
    }
}

#[test]
fn line_and_area_charts_over_time() {
    let line = svg(&[hourly()], &kind("line"));
    let stroked = |s: &str, c: &str, el: &str| {
        s.split(el)
            .skip(1)
            .filter(|e| e.split_once('>').unwrap().0.contains(&format!("=\"{c}\"")))
            .count()
    };
    assert_eq!(
        stroked(&line, &hex(0), "<polyline"),
        1,
        "one line per series"
    );
    assert_eq!(
        stroked(&line, &hex(1), "<polyline"),
        1,
        "one line per series"
    );
    // A point marker per value.
    assert_eq!(stroked(&line, &hex(0), "<circle"), 3);
    assert_eq!(stroked(&line, &hex(1), "<circle"), 3);
    let area = svg(&[hourly()], &kind("AreaStacked"));
    assert_eq!(stroked(&area, &hex(0), "<polygon"), 1, "an area per series");
    assert_eq!(stroked(&area, &hex(1), "<polygon"), 1, "an area per series");
}

#[test]
fn labels_are_escaped_in_svg() {
    let s = svg(
        &[categories(&["<script>x</script>", "a&b"], &[1, 2])],
        &kind("column"),
    );
    assert!(!s.contains("<script>"), "unescaped label");
    assert!(s.contains("&lt;script&gt;") && s.contains("a&amp;b"));
}

#[test]
fn pie_shows_shares_and_sums_the_tail_as_other() {
    let names: Vec<String> = (1..=15).map(|i| format!("type{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let values: Vec<i64> = (1..=15).rev().collect();
    let b = categories(&refs, &values);
    let d = ChartData::from_batches(std::slice::from_ref(&b)).unwrap();
    let slices = d.slices();
    assert_eq!(slices.len(), 12);
    assert_eq!(slices[0], ("type01".to_string(), 15.0));
    // 4 + 3 + 2 + 1 after the first eleven.
    assert_eq!(slices[11], ("other".to_string(), 10.0));
    let s = svg(&[b], &kind("pie"));
    let t = texts(&s);
    // 15 of 120 is 12.5%: the legend rounds, the slice says it exactly.
    assert!(
        t.iter()
            .any(|x| x == "type01 15 (12%)" || x == "type01 15 (13%)"),
        "{t:?}"
    );
    assert!(t.iter().any(|x| x == "12.5%"), "{t:?}");
    assert!(t.iter().any(|x| x.starts_with("other 10 (")), "{t:?}");
}

#[test]
fn many_categories_are_cut_and_the_chart_says_so() {
    let names: Vec<String> = (0..100).map(|i| format!("u{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let s = svg(&[categories(&refs, &vec![5; 100])], &kind("bar"));
    assert_eq!(rects(&s, &hex(0)).len(), 60);
    assert!(
        texts(&s)
            .iter()
            .any(|t| t == "Note: first 60 of 100 categories shown"),
        "{:?}",
        texts(&s)
    );
}

#[test]
fn fill_time_puts_empty_hours_on_the_axis() {
    let mut d = ChartData::from_batches(&[hourly()]).unwrap();
    let h = 3_600_000;
    d.fill_time(T0 * 1000 - 2 * h, T0 * 1000 + 3 * h, h);
    let XAxis::Time(t) = &d.x else { panic!() };
    assert_eq!(t.len(), 6);
    assert_eq!(
        d.series[0].values,
        vec![
            Some(0.0),
            Some(0.0),
            Some(7.0),
            Some(5.0),
            Some(9.0),
            Some(0.0)
        ]
    );
    d.order_series(&["403.7", "success"]);
    assert_eq!(d.series[0].name, "403.7");
}

/// Log Parser's charts are GIF (or JPEG): the same picture as the PNG, in those formats.
#[test]
fn gif_and_jpeg_hold_the_same_picture() {
    let options = ChartOptions {
        kind: Some(ChartKind::Column),
        width: 320,
        height: 200,
        ..Default::default()
    };
    let batch = [categories(&["a", "b"], &[3, 6])];
    let gif_bytes = render(&batch, &options, ImageFormat::Gif).unwrap();
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = opts.read_info(std::io::Cursor::new(gif_bytes)).unwrap();
    let frame = decoder.read_next_frame().unwrap().unwrap().clone();
    assert_eq!((frame.width, frame.height), (320, 200));
    let png_bytes = render(&batch, &options, ImageFormat::Png).unwrap();
    let mut png = png::Decoder::new(std::io::Cursor::new(png_bytes))
        .read_info()
        .unwrap();
    let mut rgb = vec![0; png.output_buffer_size()];
    png.next_frame(&mut rgb).unwrap();
    // Every pixel of the GIF is the PNG's: a chart's few colours fit a GIF's palette.
    let differ = frame
        .buffer
        .chunks(4)
        .zip(rgb.chunks(3))
        .filter(|(g, p)| g[..3] != p[..])
        .count();
    assert_eq!(differ, 0, "pixels that differ");
    let jpeg = render(&batch, &options, ImageFormat::Jpeg).unwrap();
    assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF], "a JPEG starts with SOI");
    assert_eq!(&jpeg[jpeg.len() - 2..], &[0xFF, 0xD9], "and ends with EOI");
    // Its frame header says 320 x 200.
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    let dim = |i: usize| u16::from_be_bytes([jpeg[sof + i], jpeg[sof + i + 1]]);
    assert_eq!((dim(7), dim(5)), (320, 200));
}

#[test]
fn png_has_its_size_and_the_bars_pixels() {
    let options = ChartOptions {
        kind: Some(ChartKind::Column),
        width: 640,
        height: 360,
        ..Default::default()
    };
    let bytes = render(
        &[categories(&["a", "b"], &[3, 6])],
        &options,
        ImageFormat::Png,
    )
    .unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (640, 360));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let px: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    assert_eq!(px[0], [255, 255, 255], "white background");
    let (r, g, b) = PALETTE[0];
    let bar = px.iter().filter(|p| **p == [r, g, b]).count();
    // Two bars of about a third of the plot's width and up to its height: several percent.
    assert!(bar > px.len() / 20, "{bar} bar pixels of {}", px.len());
    // Text was drawn (anti-aliased greys), not only flat colours.
    let mut colors: Vec<[u8; 3]> = px.clone();
    colors.sort_unstable();
    colors.dedup();
    assert!(colors.len() > 20, "{} colours", colors.len());
}

#[test]
fn kinds_by_our_names_and_log_parsers() {
    assert_eq!(ChartKind::parse("ColumnClustered"), Some(ChartKind::Column));
    assert_eq!(ChartKind::parse("BarStacked"), Some(ChartKind::BarStacked));
    assert_eq!(
        ChartKind::parse("column-stacked"),
        Some(ChartKind::ColumnStacked)
    );
    assert_eq!(ChartKind::parse("Pie3D"), Some(ChartKind::Pie));
    assert_eq!(ChartKind::parse("LineMarkers"), Some(ChartKind::Line));
    assert_eq!(ChartKind::parse("scatter"), None);
    for n in ChartKind::NAMES {
        assert_eq!(ChartKind::parse(n).unwrap().to_string(), *n);
    }
}

#[test]
fn axis_numbers() {
    assert_eq!(
        nice_ticks(0.0, 10.6, 6),
        vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    );
    assert_eq!(nice_ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    assert_eq!(number(950.0), "950");
    assert_eq!(number(12_500.0), "12.5k");
    assert_eq!(number(3_100_000.0), "3.1M");
    assert_eq!(number(0.25), "0.25");
}

#[test]
fn a_chart_of_a_real_query_over_the_sample() {
    // Through DataFusion: the sample's hourly status classes as a stacked column PNG.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let batches = rt.block_on(async {
        let ctx = iisql::new_context().unwrap();
        let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sample");
        iisql::register_logs(&ctx, "logs", &[sample], Default::default())
            .await
            .unwrap();
        ctx.sql(
            "SELECT date_trunc('hour', timestamp) AS hour,
                    CAST(sc_status / 100 AS VARCHAR) || 'xx' AS class, count(*) AS hits
             FROM logs GROUP BY 1, 2",
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
    });
    let d = ChartData::from_batches(&batches).unwrap();
    let XAxis::Time(t) = &d.x else { panic!() };
    // Two days of hours.
    assert_eq!(t.len(), 48);
    let total: f64 = d
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .sum();
    let rows: i64 = rt.block_on(async {
        let ctx = iisql::new_context().unwrap();
        let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sample");
        iisql::register_logs(&ctx, "logs", &[sample], Default::default())
            .await
            .unwrap();
        let b = ctx
            .sql("SELECT count(*) AS n FROM logs")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        b[0].column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0)
    });
    assert_eq!(total as i64, rows);
    let png = render_data(
        &d,
        &ChartOptions {
            kind: Some(ChartKind::ColumnStacked),
            ..Default::default()
        },
        ImageFormat::Png,
    )
    .unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

//! Drawing a [`ChartData`] with plotters, on its SVG or its bitmap backend. The fonts are
//! DejaVu Sans, embedded, so a PNG has its text on a machine without fonts.

use std::sync::Once;

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::data::{ChartData, XAxis};
use super::{ChartError, ChartKind, ImageFormat, Rgb};

/// The palette series take in turn (Tableau 10: tells series apart, also in print).
pub const PALETTE: [Rgb; 10] = [
    (0x4E, 0x79, 0xA7),
    (0xF2, 0x8E, 0x2B),
    (0xE1, 0x57, 0x59),
    (0x76, 0xB7, 0xB2),
    (0x59, 0xA1, 0x4F),
    (0xED, 0xC9, 0x48),
    (0xB0, 0x7A, 0xA1),
    (0xFF, 0x9D, 0xA7),
    (0x9C, 0x75, 0x5F),
    (0xBA, 0xB0, 0xAC),
];

const FONT: &str = "sans-serif";
const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);
const MUTED: RGBColor = RGBColor(0x77, 0x77, 0x77);

/// What to draw.
pub struct Spec<'a> {
    /// The data.
    pub data: &'a ChartData,
    /// The shape.
    pub kind: ChartKind,
    /// The title.
    pub title: &'a str,
    /// Colours by series name.
    pub colors: &'a [(String, Rgb)],
}

fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded fonts are valid TrueType: registering them cannot fail.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

fn de<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError::Draw(e.to_string())
}

/// Draws `spec` at `width` x `height` pixels as `format`.
pub fn render(
    spec: &Spec<'_>,
    width: u32,
    height: u32,
    format: ImageFormat,
) -> Result<Vec<u8>, ChartError> {
    fonts();
    match format {
        ImageFormat::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
                draw(&root, spec)?;
                root.present().map_err(de)?;
            }
            Ok(svg.into_bytes())
        }
        ImageFormat::Png | ImageFormat::Gif | ImageFormat::Jpeg => {
            let mut rgb = vec![0u8; width as usize * height as usize * 3];
            {
                let root =
                    BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
                draw(&root, spec)?;
                root.present().map_err(de)?;
            }
            encode(&rgb, width, height, format)
        }
    }
}

/// Encodes an RGB picture as `format` (PNG, GIF or JPEG).
fn encode(rgb: &[u8], width: u32, height: u32, format: ImageFormat) -> Result<Vec<u8>, ChartError> {
    let encoding = |e: &dyn std::fmt::Display| ChartError::Data(format!("encoding the chart: {e}"));
    let small = |n: u32| u16::try_from(n).map_err(|e| encoding(&e));
    let mut out = Vec::new();
    match format {
        ImageFormat::Gif => {
            // A chart has few colours: the palette holds them.
            let frame = gif::Frame::from_rgb_speed(small(width)?, small(height)?, rgb, 10);
            let mut enc = gif::Encoder::new(&mut out, small(width)?, small(height)?, &[])
                .map_err(|e| encoding(&e))?;
            enc.write_frame(&frame).map_err(|e| encoding(&e))?;
        }
        ImageFormat::Jpeg => {
            jpeg_encoder::Encoder::new(&mut out, 92)
                .encode(
                    rgb,
                    small(width)?,
                    small(height)?,
                    jpeg_encoder::ColorType::Rgb,
                )
                .map_err(|e| encoding(&e))?;
        }
        ImageFormat::Svg | ImageFormat::Png => {
            let mut enc = png::Encoder::new(&mut out, width, height);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header()?;
            w.write_image_data(rgb)?;
            w.finish()?;
        }
    }
    Ok(out)
}

/// The colour of every series (or slice) of `names`, in order.
fn colors_for(names: &[String], wanted: &[(String, Rgb)]) -> Vec<RGBColor> {
    let mut next = 0;
    names
        .iter()
        .map(|n| {
            let (r, g, b) = match wanted.iter().find(|(w, _)| w == n) {
                Some((_, c)) => *c,
                None => {
                    let c = PALETTE[next % PALETTE.len()];
                    next += 1;
                    c
                }
            };
            RGBColor(r, g, b)
        })
        .collect()
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &Spec<'_>,
) -> Result<(), ChartError> {
    root.fill(&WHITE).map_err(de)?;
    let body = root
        .titled(
            &shorten(spec.title, 90),
            (FONT, 20).into_font().style(FontStyle::Bold).color(&INK),
        )
        .map_err(de)?;
    let body = if spec.data.notes.is_empty() {
        body
    } else {
        let (_, h) = body.dim_in_pixel();
        let (main, foot) = body.split_vertically(h.saturating_sub(20));
        foot.draw(&Text::new(
            shorten(&format!("Note: {}", spec.data.notes.join("; ")), 140),
            (10, 2),
            (FONT, 12).into_font().color(&MUTED),
        ))
        .map_err(de)?;
        main
    };
    let (names, values): (Vec<String>, Vec<f64>) = if spec.kind == ChartKind::Pie {
        spec.data.slices().into_iter().unzip()
    } else {
        (
            spec.data.series.iter().map(|s| s.name.clone()).collect(),
            vec![],
        )
    };
    let colors = colors_for(&names, spec.colors);
    let legend = spec.kind == ChartKind::Pie || names.len() > 1;
    let plot = if legend {
        let labels: Vec<String> = if spec.kind == ChartKind::Pie {
            let total: f64 = values.iter().sum();
            names
                .iter()
                .zip(&values)
                .map(|(n, v)| {
                    format!(
                        "{} {} ({:.0}%)",
                        shorten(n, 22),
                        number(*v),
                        100.0 * v / total.max(f64::MIN_POSITIVE)
                    )
                })
                .collect()
        } else {
            names.iter().map(|n| shorten(n, 30)).collect()
        };
        let (w, _) = body.dim_in_pixel();
        let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4);
        let lw = (longest as u32 * 8 + 40).clamp(110, 320).min(w / 3);
        let (plot, side) = body.split_horizontally(w.saturating_sub(lw));
        draw_legend(&side, &labels, &colors)?;
        plot
    } else {
        body
    };
    match spec.kind {
        ChartKind::Pie => draw_pie(&plot, &values, &colors),
        ChartKind::Line => draw_xy(&plot, spec.data, &colors, false),
        ChartKind::Area => draw_xy(&plot, spec.data, &colors, true),
        ChartKind::Column => draw_bars(&plot, spec.data, &colors, false, false),
        ChartKind::ColumnStacked => draw_bars(&plot, spec.data, &colors, true, false),
        ChartKind::Bar => draw_bars(&plot, spec.data, &colors, false, true),
        ChartKind::BarStacked => draw_bars(&plot, spec.data, &colors, true, true),
    }
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &[String],
    colors: &[RGBColor],
) -> Result<(), ChartError> {
    let (_, h) = area.dim_in_pixel();
    let rows = ((h as i32 - 30) / 22).max(1) as usize;
    let style = (FONT, 13)
        .into_font()
        .color(&INK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (l, c)) in labels.iter().zip(colors).enumerate().take(rows) {
        let y = 24 + i as i32 * 22;
        area.draw(&Rectangle::new([(8, y - 7), (22, y + 7)], c.filled()))
            .map_err(de)?;
        area.draw(&Text::new(l.clone(), (30, y), style.clone()))
            .map_err(de)?;
    }
    Ok(())
}

fn draw_pie<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    values: &[f64],
    colors: &[RGBColor],
) -> Result<(), ChartError> {
    if values.is_empty() {
        return Err(ChartError::Data(
            "a pie needs positive values in its first value column".into(),
        ));
    }
    let (w, h) = area.dim_in_pixel();
    let center = (w as i32 / 2, h as i32 / 2);
    let radius = f64::from(w.min(h)) * 0.42;
    let labels: Vec<String> = vec![String::new(); values.len()];
    let mut pie = Pie::new(&center, &radius, values, colors, &labels);
    pie.start_angle(-90.0);
    pie.percentages((FONT, 14).into_font().color(&WHITE));
    area.draw(&pie).map_err(de)
}

/// A linear axis whose ticks are the points given (category centres, round times, round
/// values), labelled by the mesh's formatter.
struct Axis {
    inner: RangedCoordf64,
    points: Vec<f64>,
}

impl Axis {
    fn new(range: Range<f64>, points: Vec<f64>) -> Self {
        Self {
            inner: range.into(),
            points,
        }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            vec![]
        } else {
            self.points.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

/// Round steps for a value axis from `lo` to `hi`, at most about `n` of them.
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).abs();
    if span <= 0.0 || !span.is_finite() {
        return vec![lo];
    }
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= n as f64)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

/// A number as an axis or legend shows it: `950`, `12.5k`, `3.1M`, `0.25`.
pub fn number(v: f64) -> String {
    let a = v.abs();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if a >= 1e9 {
        format!("{}G", trim(format!("{:.1}", v / 1e9)))
    } else if a >= 1e6 {
        format!("{}M", trim(format!("{:.1}", v / 1e6)))
    } else if a >= 1e4 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        trim(format!("{v:.2}"))
    }
}

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// A point in time as an axis label: the date for steps of a day or more, the date and time
/// of day when the axis spans several days, the time of day otherwise (`span` 0: all of it).
pub fn time_label(ms: i64, span: i64) -> String {
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
        return ms.to_string();
    };
    let f = if span == 0 {
        "%Y-%m-%d %H:%M"
    } else if span >= 3 * DAY || (ms % DAY == 0 && span >= DAY) {
        "%Y-%m-%d"
    } else if span >= DAY {
        "%m-%d %H:%M"
    } else {
        "%H:%M"
    };
    t.format(f).to_string()
}

/// Round times from `lo` to `hi` (milliseconds), at most about `n` of them. No step is finer than `finest`, the data's own spacing.
fn time_ticks(lo: i64, hi: i64, n: usize, finest: i64) -> Vec<i64> {
    const STEPS: [i64; 16] = [
        MINUTE,
        5 * MINUTE,
        15 * MINUTE,
        30 * MINUTE,
        HOUR,
        2 * HOUR,
        3 * HOUR,
        6 * HOUR,
        12 * HOUR,
        DAY,
        2 * DAY,
        7 * DAY,
        14 * DAY,
        30 * DAY,
        91 * DAY,
        365 * DAY,
    ];
    let span = (hi - lo).max(1);
    let step = STEPS
        .iter()
        .copied()
        .find(|s| *s >= finest && span / s <= n as i64)
        .unwrap_or(365 * DAY);
    let mut t = lo.div_euclid(step) * step;
    if t < lo {
        t += step;
    }
    let mut out = Vec::new();
    while t <= hi {
        out.push(t);
        t += step;
    }
    out
}

/// `s` cut to `max` characters, with `…` where it was cut.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max.saturating_sub(1)) {
        Some((i, _)) if s.chars().count() > max => format!("{}…", &s[..i]),
        _ => s.to_string(),
    }
}

/// The labels of the x points.
fn point_labels(x: &XAxis) -> Vec<String> {
    match x {
        XAxis::Categories(c) => c.clone(),
        XAxis::Time(t) => {
            let span = match (t.first(), t.last()) {
                (Some(a), Some(b)) => (b - a).max(1),
                _ => 1,
            };
            t.iter().map(|ms| time_label(*ms, span)).collect()
        }
    }
}

/// The lowest and highest value drawn (stacked: of the sums), with room above.
fn value_range(data: &ChartData, stacked: bool) -> (f64, f64) {
    let n = data.x.len();
    let (mut lo, mut hi) = (0f64, 0f64);
    if stacked {
        for i in 0..n {
            let (mut pos, mut neg) = (0.0, 0.0);
            for s in &data.series {
                let v = s.values[i].unwrap_or(0.0);
                if v >= 0.0 {
                    pos += v;
                } else {
                    neg += v;
                }
            }
            hi = hi.max(pos);
            lo = lo.min(neg);
        }
    } else {
        for v in data.series.iter().flat_map(|s| s.values.iter().flatten()) {
            hi = hi.max(*v);
            lo = lo.min(*v);
        }
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    (lo, hi + (hi - lo) * 0.06)
}

fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &ChartData,
    colors: &[RGBColor],
    stacked: bool,
    horizontal: bool,
) -> Result<(), ChartError> {
    let n = data.x.len();
    let labels = point_labels(&data.x);
    let (lo, hi) = value_range(data, stacked);
    let (w, h) = area.dim_in_pixel();
    let longest = labels
        .iter()
        .map(|l| l.chars().count().min(32))
        .max()
        .unwrap_or(1);
    // Category labels that fit: every `step`-th one.
    let room = if horizontal {
        (h as usize / 16).max(1)
    } else {
        (w as usize / (longest * 7 + 14)).max(1)
    };
    let mut step = n.div_ceil(room).max(1);
    let mut first = 0;
    if let XAxis::Time(t) = &data.x
        && n > 1
    {
        // Label round times: every 1, 2, 3, 4, 6, 12... points, starting at a multiple.
        let gap = t[1] - t[0];
        step = [1, 2, 3, 4, 6, 8, 12, 24, 48, 72, 168]
            .into_iter()
            .find(|s| *s >= step)
            .unwrap_or(step);
        let every = gap.saturating_mul(step as i64);
        if every > 0 {
            first = t.iter().position(|v| v.rem_euclid(every) == 0).unwrap_or(0) % step;
        }
    }
    let pos = |i: usize| {
        if horizontal {
            (n - 1 - i) as f64 + 0.5
        } else {
            i as f64 + 0.5
        }
    };
    let cat_points: Vec<f64> = (first..n).step_by(step).map(pos).collect();
    let value_ticks = nice_ticks(lo, hi, if horizontal { 8 } else { 6 });
    let cat_label = |v: &f64| -> String {
        let k = v.floor() as usize;
        let i = if horizontal {
            n.saturating_sub(1 + k)
        } else {
            k
        };
        labels.get(i).map(|l| shorten(l, 32)).unwrap_or_default()
    };
    let value_label = |v: &f64| number(*v);
    let cat_axis = Axis::new(0f64..n as f64, cat_points);
    let val_axis = Axis::new(lo..hi, value_ticks);
    let (x_axis, y_axis, x_desc, y_desc) = if horizontal {
        (val_axis, cat_axis, &data.y_label, &data.x_label)
    } else {
        (cat_axis, val_axis, &data.x_label, &data.y_label)
    };
    let y_area = if horizontal {
        (longest as u32 * 7 + 24).clamp(60, w / 3)
    } else {
        70
    };
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x_axis, y_axis)
        .map_err(de)?;
    {
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(x_desc.as_str())
            .y_desc(y_desc.as_str())
            .axis_desc_style((FONT, 14).into_font().color(&INK))
            .label_style((FONT, 12).into_font().color(&INK))
            .bold_line_style(RGBColor(0xE4, 0xE4, 0xE4));
        if horizontal {
            mesh.disable_y_mesh()
                .x_label_formatter(&value_label)
                .y_label_formatter(&cat_label);
        } else {
            mesh.disable_x_mesh()
                .x_label_formatter(&cat_label)
                .y_label_formatter(&value_label);
        }
        mesh.draw().map_err(de)?;
    }
    let k = data.series.len().max(1);
    let mut base_pos = vec![0f64; n];
    let mut base_neg = vec![0f64; n];
    for (j, s) in data.series.iter().enumerate() {
        let color = colors.get(j).copied().unwrap_or(PALETTE_FIRST);
        let rects = s.values.iter().enumerate().filter_map(|(i, v)| {
            // Nothing to draw for a missing or zero value.
            let v = v.filter(|v| *v != 0.0)?;
            let c0 = if horizontal {
                (n - 1 - i) as f64
            } else {
                i as f64
            };
            let (a, b, v0, v1) = if stacked {
                let base = if v >= 0.0 {
                    &mut base_pos[i]
                } else {
                    &mut base_neg[i]
                };
                let v0 = *base;
                *base += v;
                (c0 + 0.12, c0 + 0.88, v0, *base)
            } else {
                let width = 0.76 / k as f64;
                let a = c0 + 0.12 + j as f64 * width;
                (a, a + width, 0.0, v)
            };
            let pts = if horizontal {
                [(v0, a), (v1, b)]
            } else {
                [(a, v0), (b, v1)]
            };
            Some(Rectangle::new(pts, color.filled()))
        });
        chart.draw_series(rects).map_err(de)?;
    }
    Ok(())
}

const PALETTE_FIRST: RGBColor = RGBColor(PALETTE[0].0, PALETTE[0].1, PALETTE[0].2);

fn draw_xy<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &ChartData,
    colors: &[RGBColor],
    stacked: bool,
) -> Result<(), ChartError> {
    let n = data.x.len();
    let (w, _) = area.dim_in_pixel();
    let (xs, x_lo, x_hi, x_points, labels): (Vec<f64>, f64, f64, Vec<f64>, Vec<String>) =
        match &data.x {
            XAxis::Time(t) => {
                let (a, b) = (t[0], t[n - 1]);
                let (a, b) = if a == b { (a - HOUR, b + HOUR) } else { (a, b) };
                let gap = t.windows(2).map(|p| p[1] - p[0]).filter(|g| *g > 0).min();
                let ticks = time_ticks(a, b, (w as usize / 110).max(2), gap.unwrap_or(0));
                (
                    t.iter().map(|v| *v as f64).collect(),
                    a as f64,
                    b as f64,
                    ticks.iter().map(|v| *v as f64).collect(),
                    vec![],
                )
            }
            XAxis::Categories(c) => {
                let longest = c
                    .iter()
                    .map(|l| l.chars().count().min(32))
                    .max()
                    .unwrap_or(1);
                let room = (w as usize / (longest * 7 + 14)).max(1);
                let step = n.div_ceil(room).max(1);
                (
                    (0..n).map(|i| i as f64 + 0.5).collect(),
                    0.0,
                    n as f64,
                    (0..n).step_by(step).map(|i| i as f64 + 0.5).collect(),
                    c.clone(),
                )
            }
        };
    let span = (x_hi - x_lo) as i64;
    let x_label = |v: &f64| -> String {
        if labels.is_empty() {
            time_label(*v as i64, span)
        } else {
            labels
                .get(v.floor() as usize)
                .map(|l| shorten(l, 32))
                .unwrap_or_default()
        }
    };
    let value_label = |v: &f64| number(*v);
    let (lo, hi) = value_range(data, stacked);
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(
            Axis::new(x_lo..x_hi, x_points),
            Axis::new(lo..hi, nice_ticks(lo, hi, 6)),
        )
        .map_err(de)?;
    chart
        .configure_mesh()
        .x_desc(data.x_label.as_str())
        .y_desc(data.y_label.as_str())
        .axis_desc_style((FONT, 14).into_font().color(&INK))
        .label_style((FONT, 12).into_font().color(&INK))
        .bold_line_style(RGBColor(0xE4, 0xE4, 0xE4))
        .x_label_formatter(&x_label)
        .y_label_formatter(&value_label)
        .draw()
        .map_err(de)?;
    if stacked {
        // The running sums, drawn from the top down so each covers the part below it.
        let mut sums: Vec<Vec<f64>> = Vec::new();
        let mut acc = vec![0f64; n];
        for s in &data.series {
            for (a, v) in acc.iter_mut().zip(&s.values) {
                *a += v.unwrap_or(0.0);
            }
            sums.push(acc.clone());
        }
        for (j, top) in sums.iter().enumerate().rev() {
            let color = colors.get(j).copied().unwrap_or(PALETTE_FIRST);
            let pts: Vec<(f64, f64)> = xs.iter().copied().zip(top.iter().copied()).collect();
            chart
                .draw_series(AreaSeries::new(pts, 0.0, color.filled()).border_style(color))
                .map_err(de)?;
        }
        return Ok(());
    }
    for (j, s) in data.series.iter().enumerate() {
        let color = colors.get(j).copied().unwrap_or(PALETTE_FIRST);
        // A missing value breaks the line.
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut runs = Vec::new();
        for (x, v) in xs.iter().zip(&s.values) {
            match v {
                Some(v) => run.push((*x, *v)),
                None => runs.push(std::mem::take(&mut run)),
            }
        }
        runs.push(run);
        for r in runs.into_iter().filter(|r| !r.is_empty()) {
            if n <= 60 {
                chart
                    .draw_series(r.iter().map(|p| Circle::new(*p, 3, color.filled())))
                    .map_err(de)?;
            }
            chart
                .draw_series(LineSeries::new(r, color.stroke_width(2)))
                .map_err(de)?;
        }
    }
    Ok(())
}

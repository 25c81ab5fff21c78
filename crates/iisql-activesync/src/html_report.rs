//! The diagnosis as one self-contained HTML page (`iisql diagnose --html`): the findings with
//! their evidence and example requests, and charts drawn as inline SVG (requests over time by
//! outcome, failing devices by device type, failures by server, each finding's timeline). It
//! fetches nothing, reads on a laptop screen and prints cleanly.

use std::fmt::Write as _;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

use crate::catalog::{Catalog, Severity};
use crate::diagnose::{Diagnosis, Finding};
use iisql_chart::{
    ChartData, ChartError, ChartKind, ChartOptions, ImageFormat, Rgb, Series, XAxis,
};
use iisql_datasource::scan_log::thousands;

/// The outcomes of the requests-over-time chart, in stacking order, with their colours.
pub const OUTCOMES: [(&str, Rgb); 8] = [
    ("success", (0x59, 0xA1, 0x4F)),
    ("401 challenge", (0xBF, 0xD8, 0xB8)),
    ("403.7", (0xF2, 0x8E, 0x2B)),
    ("other 403", (0xE1, 0x57, 0x59)),
    ("401", (0xB0, 0x7A, 0xA1)),
    ("413", (0x9C, 0x75, 0x5F)),
    ("5xx", (0x7F, 0x1D, 0x1D)),
    ("other", (0xBA, 0xB0, 0xAC)),
];

/// The SQL that sorts an `activesync` row into one of [`OUTCOMES`]. A 401 answered by a
/// success of the same device within a minute is the normal challenge, not a failure.
pub const OUTCOME_SQL: &str = "CASE
    WHEN sc_status BETWEEN 200 AND 399 THEN 'success'
    WHEN sc_status = 401 AND followed_by_success THEN '401 challenge'
    WHEN sc_status = 403 AND sc_substatus = 7 THEN '403.7'
    WHEN sc_status = 403 THEN 'other 403'
    WHEN sc_status = 401 THEN '401'
    WHEN sc_status = 413 THEN '413'
    WHEN sc_status >= 500 THEN '5xx'
    ELSE 'other' END";

/// Outcomes that are failures (everything but success and the answered challenge).
const FAILED_SQL: &str = "((sc_status = 401 AND NOT followed_by_success) OR sc_status = 403
    OR sc_status = 413 OR sc_status >= 500)";

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn severity_color(s: Severity) -> Rgb {
    match s {
        Severity::Critical => (0x6A, 0x1B, 0x9A),
        Severity::High => (0xC6, 0x28, 0x28),
        Severity::Medium => (0xE6, 0x51, 0x00),
        Severity::Low => (0x15, 0x65, 0xC0),
        Severity::Info => (0x54, 0x6E, 0x7A),
    }
}

/// `s` with `&`, `<`, `>` and quotes escaped for HTML text and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A string as a SQL literal.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The time buckets of the charts: hours, or days over more than two weeks.
#[derive(Debug, Clone, Copy)]
struct Period {
    from: i64,
    to: i64,
    step: i64,
}

impl Period {
    fn unit(&self) -> &'static str {
        if self.step == DAY { "day" } else { "hour" }
    }
}

async fn period(ctx: &SessionContext) -> Result<Option<Period>> {
    let b = collect(
        ctx,
        "SELECT min(timestamp) AS lo, max(timestamp) AS hi FROM activesync",
    )
    .await?;
    let get = |name: &str| -> Result<Option<i64>> {
        let Some(c) = b.first().and_then(|b| b.column_by_name(name)) else {
            return Ok(None);
        };
        Ok(iisql_chart::data::millis(c)?.first().copied().flatten())
    };
    let (Some(from), Some(to)) = (get("lo")?, get("hi")?) else {
        return Ok(None);
    };
    let step = if to - from > 14 * DAY { DAY } else { HOUR };
    Ok(Some(Period { from, to, step }))
}

/// A chart as inline SVG, or a sentence saying why there is none.
enum Figure {
    Svg(String),
    Empty(String),
}

fn draw(
    data: Result<ChartData, ChartError>,
    options: &ChartOptions,
    empty: &str,
) -> Result<Figure> {
    match data {
        Ok(d) => {
            let svg = iisql_chart::render_data(&d, options, ImageFormat::Svg)?;
            Ok(Figure::Svg(String::from_utf8_lossy(&svg).into_owned()))
        }
        Err(ChartError::NoRows) => Ok(Figure::Empty(empty.to_string())),
        Err(e) => Err(e.into()),
    }
}

async fn collect(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    ctx.sql(sql).await?.collect().await
}

fn outcome_colors() -> Vec<(String, Rgb)> {
    OUTCOMES.iter().map(|(n, c)| (n.to_string(), *c)).collect()
}

/// Requests per hour (or day) by outcome, each request once (the front end's line where front
/// ends log), health probes left out.
async fn outcome_chart(ctx: &SessionContext, p: Period) -> Result<Figure> {
    let sql = format!(
        "WITH fe AS (SELECT count(*) > 0 AS logged FROM activesync WHERE tier = 'frontend')
SELECT date_trunc('{unit}', timestamp) AS {unit}, {OUTCOME_SQL} AS outcome, count(*) AS requests
FROM activesync CROSS JOIN fe
WHERE NOT is_probe AND (tier = 'frontend' OR NOT fe.logged)
GROUP BY 1, 2",
        unit = p.unit()
    );
    let batches = collect(ctx, &sql).await?;
    let data = ChartData::from_batches(&batches).map(|mut d| {
        d.fill_time(p.from, p.to, p.step);
        d.order_series(&OUTCOMES.map(|(n, _)| n));
        d
    });
    let options = ChartOptions {
        kind: Some(ChartKind::ColumnStacked),
        title: Some(format!("ActiveSync requests per {} by outcome", p.unit())),
        width: 1040,
        height: 420,
        colors: outcome_colors(),
    };
    draw(data, &options, "No ActiveSync requests.")
}

/// Devices with failed requests, by device type.
async fn device_type_chart(ctx: &SessionContext) -> Result<Figure> {
    let sql = format!(
        "SELECT coalesce(device_type, '(no DeviceType)') AS device_type,
       count(DISTINCT device_key) AS devices
FROM activesync
WHERE NOT is_probe AND {FAILED_SQL}
GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20"
    );
    let batches = collect(ctx, &sql).await?;
    let options = ChartOptions {
        kind: Some(ChartKind::Bar),
        title: Some("Devices with failed requests, by device type".into()),
        width: 1040,
        height: 360,
        ..Default::default()
    };
    draw(
        ChartData::from_batches(&batches),
        &options,
        "No device had a failed request.",
    )
}

/// Failed requests by server and outcome.
async fn server_chart(ctx: &SessionContext) -> Result<Figure> {
    let sql = format!(
        "WITH f AS (SELECT coalesce(server, '(unknown)') AS server, {OUTCOME_SQL} AS outcome
           FROM activesync WHERE NOT is_probe AND {FAILED_SQL}),
top AS (SELECT server, count(*) AS n FROM f GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20)
SELECT f.server, f.outcome, count(*) AS requests
FROM f JOIN top ON f.server = top.server
GROUP BY f.server, f.outcome, top.n ORDER BY top.n DESC, f.server, f.outcome"
    );
    let batches = collect(ctx, &sql).await?;
    let data = ChartData::from_batches(&batches).map(|mut d| {
        d.order_series(&OUTCOMES.map(|(n, _)| n));
        d
    });
    let options = ChartOptions {
        kind: Some(ChartKind::BarStacked),
        title: Some("Failed ActiveSync requests by server".into()),
        width: 1040,
        height: 360,
        colors: outcome_colors(),
    };
    draw(data, &options, "No server refused a request.")
}

/// The column that narrows a finding's timeline to its own devices (or addresses, servers,
/// users), with the finding's values of it.
fn timeline_key<'a>(f: &'a Finding, by: &str) -> Option<(&'static str, &'a [String])> {
    let candidates: [(&'static str, &'a [String]); 4] = [
        ("device_id", &f.devices),
        ("client_ip", &f.client_ips),
        ("server", &f.servers),
        ("user", &f.users),
    ];
    candidates.into_iter().find(|(c, v)| {
        (by.is_empty() || by == *c) && f.columns.iter().any(|k| k == c) && !v.is_empty()
    })
}

/// Which rows make up a finding's timeline: the view its check counts and the check's
/// `timeline` condition, narrowed to the finding's devices (or addresses, servers, users).
/// `None` when the check declares no timeline.
pub fn timeline_condition(catalog: &Catalog, f: &Finding) -> Option<(String, String)> {
    let q = catalog.get(&f.check)?;
    if q.timeline.trim().is_empty() {
        return None;
    }
    let mut condition = format!("({})", q.timeline);
    if q.timeline_from == "activesync"
        && let Some((column, values)) = timeline_key(f, &q.timeline_by)
    {
        let list: Vec<String> = values.iter().map(|v| literal(v)).collect();
        let _ = write!(condition, " AND {column} IN ({})", list.join(", "));
    }
    Some((q.timeline_from.clone(), condition))
}

/// The SQL of one finding's timeline per hour or day ([`timeline_condition`]); the report
/// computes every finding's in one scan per view.
pub fn timeline_sql(catalog: &Catalog, f: &Finding, unit: &str) -> Option<String> {
    let (view, condition) = timeline_condition(catalog, f)?;
    Some(format!(
        "SELECT date_trunc('{unit}', timestamp) AS {unit}, count(*) AS requests FROM {view} \
         WHERE {condition} GROUP BY 1"
    ))
}

/// A finding's requests per time bucket: (milliseconds, count) where the count is not 0.
pub type Timeline = Vec<(i64, f64)>;

/// Every finding's timeline, counted in one scan of each view the checks read (not one query
/// per finding); `None` for a finding whose check declares none.
pub async fn timelines(
    ctx: &SessionContext,
    catalog: &Catalog,
    findings: &[Finding],
    unit: &str,
) -> Result<Vec<Option<Timeline>>> {
    let mut out: Vec<Option<Timeline>> = vec![None; findings.len()];
    let mut by_view: std::collections::BTreeMap<String, Vec<(usize, String)>> = Default::default();
    // DataFusion cannot evaluate a subquery inside an aggregate: a condition with one is
    // counted by a query of its own.
    let mut queries: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        let Some((view, condition)) = timeline_condition(catalog, f) else {
            continue;
        };
        if condition.to_ascii_lowercase().contains("select") {
            queries.push((
                format!(
                    "SELECT date_trunc('{unit}', timestamp) AS bucket, count(*) AS t{i} \
                     FROM {view} WHERE {condition} GROUP BY 1"
                ),
                vec![i],
            ));
        } else {
            by_view.entry(view).or_default().push((i, condition));
        }
    }
    for (view, conditions) in by_view {
        let sums: Vec<String> = conditions
            .iter()
            .map(|(i, c)| format!("sum(CASE WHEN {c} THEN 1 ELSE 0 END) AS t{i}"))
            .collect();
        queries.push((
            format!(
                "SELECT date_trunc('{unit}', timestamp) AS bucket, {} FROM {view} GROUP BY 1",
                sums.join(", ")
            ),
            conditions.iter().map(|(i, _)| *i).collect(),
        ));
    }
    for (sql, conditions) in queries {
        for b in collect(ctx, &sql).await? {
            let buckets = iisql_chart::data::millis(b.column(0))?;
            for i in &conditions {
                let Some(c) = b.column_by_name(&format!("t{i}")) else {
                    continue;
                };
                let c = datafusion::arrow::compute::cast(
                    c,
                    &datafusion::arrow::datatypes::DataType::Float64,
                )?;
                let c = c.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
                let points = out[*i].get_or_insert_with(Vec::new);
                for (t, n) in buckets.iter().zip(c.iter()) {
                    if let (Some(t), Some(n)) = (t, n)
                        && n > 0.0
                    {
                        points.push((*t, n));
                    }
                }
            }
        }
    }
    for t in out.iter_mut().flatten() {
        t.sort_by_key(|(ms, _)| *ms);
    }
    Ok(out)
}

fn timeline_chart(f: &Finding, timeline: Option<&Timeline>, p: Period) -> Result<Figure> {
    let Some(points) = timeline else {
        return Ok(Figure::Empty(
            "This check declares no timeline (`-- timeline:` in its header).".into(),
        ));
    };
    let data = if points.is_empty() {
        Err(ChartError::NoRows)
    } else {
        let mut d = ChartData {
            x_label: format!("{} (UTC)", p.unit()),
            y_label: "requests".into(),
            x: XAxis::Time(points.iter().map(|(t, _)| *t).collect()),
            series: vec![Series {
                name: "requests".into(),
                values: points.iter().map(|(_, n)| Some(*n)).collect(),
            }],
            rows: points.len(),
            notes: vec![],
        };
        d.fill_time(p.from, p.to, p.step);
        Ok(d)
    };
    let options = ChartOptions {
        kind: Some(ChartKind::Column),
        title: Some(format!("Requests of this finding per {}", p.unit())),
        width: 1040,
        height: 260,
        colors: vec![("requests".into(), severity_color(f.severity))],
    };
    draw(data, &options, "No requests match this finding's timeline.")
}

const CSS: &str = r#"
:root { --ink: #1f2328; --muted: #59636e; --line: #d8dee4; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: #eef1f4; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 32px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 34px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 17px; margin: 0 0 6px; }
h4 { font-size: 14px; margin: 14px 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
p { margin: 6px 0; }
.muted { color: var(--muted); }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 16px 0; }
.stat { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.stat b { display: block; font-size: 22px; }
.sev { display: inline-block; min-width: 64px; text-align: center; padding: 1px 8px; border-radius: 10px;
  color: #fff; font-size: 12px; font-weight: 600; text-transform: uppercase; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
figure { margin: 12px 0 18px; }
figure svg { display: block; width: 100%; height: auto; }
figure p { color: var(--muted); font-style: italic; }
.finding { border: 1px solid var(--line); border-left: 6px solid var(--sev); border-radius: 6px;
  padding: 14px 18px; margin: 18px 0; }
pre { white-space: pre-wrap; word-break: break-all; margin: 4px 0; padding: 8px 10px; background: var(--soft);
  border-radius: 4px; font: 12px/1.45 ui-monospace, "DejaVu Sans Mono", Consolas, monospace; }
a { color: #0969da; }
footer { margin-top: 36px; color: var(--muted); font-size: 13px; }
@media print {
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  figure, .stats, tr { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  .scroll { overflow: visible; }
  table { font-size: 7.5pt; }
  th, td { padding: 2px 4px; overflow-wrap: anywhere; }
  a { color: inherit; text-decoration: none; }
  .sev { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

fn hex((r, g, b): Rgb) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn badge(s: Severity) -> String {
    format!(
        "<span class=\"sev\" style=\"background:{}\">{}</span>",
        hex(severity_color(s)),
        escape(&s.to_string())
    )
}

fn figure(out: &mut String, f: &Figure) {
    out.push_str("<figure>");
    match f {
        Figure::Svg(svg) => out.push_str(svg),
        Figure::Empty(why) => {
            let _ = write!(out, "<p>{}</p>", escape(why));
        }
    }
    out.push_str("</figure>\n");
}

fn cell(s: &str) -> String {
    escape(&iisql_chart::draw::shorten(s, 160))
}

fn list(v: &[String], max: usize) -> String {
    let mut s = v
        .iter()
        .take(max)
        .map(|x| escape(x))
        .collect::<Vec<_>>()
        .join(", ");
    if v.len() > max {
        let _ = write!(s, " and {} more", thousands((v.len() - max) as u64));
    }
    s
}

/// The page for diagnosis `d` of the logs in `ctx` (whose `activesync` view the charts read),
/// the checks of `catalog`.
pub async fn html_report(ctx: &SessionContext, catalog: &Catalog, d: &Diagnosis) -> Result<String> {
    let period = period(ctx).await?;
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<title>iisql diagnosis</title>\n<style>");
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n<main>\n<h1>iisql diagnosis</h1>\n");
    write_period(&mut out, period, d);
    write_summary(&mut out, d);
    write_traffic(&mut out, ctx, period).await?;
    // The findings, with their timelines counted in one pass.
    let timeline = match period {
        Some(p) => timelines(ctx, catalog, &d.findings, p.unit()).await?,
        None => vec![],
    };
    if !d.findings.is_empty() {
        out.push_str("<h2 id=\"findings\">Findings</h2>\n");
    }
    for (i, f) in d.findings.iter().enumerate() {
        let counts = timeline.get(i).and_then(Option::as_ref);
        write_finding(&mut out, i, f, counts, period)?;
    }
    write_checked(&mut out, catalog, d);
    let _ = writeln!(
        out,
        "<footer>Written by iisql {} diagnose.</footer>\n</main>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION")
    );
    Ok(out)
}

/// The period the requests cover, and how many files were read.
fn write_period(out: &mut String, period: Option<Period>, d: &Diagnosis) {
    let range = match period {
        Some(p) => format!(
            "{} to {} UTC",
            iisql_chart::draw::time_label(p.from, 0),
            iisql_chart::draw::time_label(p.to, 0)
        ),
        None => "no ActiveSync requests".into(),
    };
    let _ = writeln!(
        out,
        "<p class=\"muted\">ActiveSync requests from {}; {} files read.</p>",
        escape(&range),
        thousands(d.scan.files)
    );
}

/// The headline numbers and the table of findings.
fn write_summary(out: &mut String, d: &Diagnosis) {
    out.push_str("<h2 id=\"summary\">Summary</h2>\n<div class=\"stats\">\n");
    let worst = d.worst().map_or("none".to_string(), |s| s.to_string());
    for (label, value) in [
        ("requests", thousands(d.requests)),
        ("ActiveSync requests", thousands(d.activesync_requests)),
        ("findings", thousands(d.findings.len() as u64)),
        ("most severe", worst),
        ("checks run", thousands(d.checks.len() as u64)),
        ("rejected lines", thousands(d.scan.stats.rejected)),
    ] {
        let _ = writeln!(
            out,
            "<div class=\"stat\"><b>{}</b>{}</div>",
            escape(&value),
            escape(label)
        );
    }
    out.push_str("</div>\n");
    if d.findings.is_empty() {
        out.push_str("<p><strong>No problems found.</strong></p>\n");
    } else {
        out.push_str(
            "<div class=\"scroll\"><table>\n<tr><th>#</th><th>Severity</th><th>Finding</th>\
             <th>Requests</th><th>Devices</th><th>Users</th><th>Servers</th></tr>\n",
        );
        for (i, f) in d.findings.iter().enumerate() {
            let _ = writeln!(
                out,
                "<tr><td>{n}</td><td>{}</td><td><a href=\"#f{n}\">{}</a></td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                badge(f.severity),
                escape(&f.title),
                thousands(f.hits),
                thousands(f.devices.len() as u64),
                thousands(f.users.len() as u64),
                thousands(f.servers.len() as u64),
                n = i + 1
            );
        }
        out.push_str("</table></div>\n");
    }
}

/// The charts of the whole period: outcomes over time, failing device types, servers.
async fn write_traffic(
    out: &mut String,
    ctx: &SessionContext,
    period: Option<Period>,
) -> Result<()> {
    out.push_str("<h2 id=\"traffic\">Traffic</h2>\n");
    if let Some(p) = period {
        let _ = writeln!(
            out,
            "<h3>Requests per {} by outcome</h3>\n<p class=\"muted\">Each request once (the \
             front end's line where front ends log), health probes left out. A 401 answered by \
             a success within a minute is the normal challenge.</p>",
            p.unit()
        );
        figure(out, &outcome_chart(ctx, p).await?);
    } else {
        out.push_str("<p>No ActiveSync requests in the logs.</p>\n");
    }
    out.push_str(
        "<h3>Failing devices by device type</h3>\n<p class=\"muted\">Devices with at \
                  least one refused request (401 not followed by success, 403, 413, 5xx).</p>\n",
    );
    figure(out, &device_type_chart(ctx).await?);
    out.push_str("<h3>Failures by server</h3>\n");
    figure(out, &server_chart(ctx).await?);
    Ok(())
}

/// One finding's section: what it is, why, what to check next, its timeline and evidence.
fn write_finding(
    out: &mut String,
    i: usize,
    f: &Finding,
    counts: Option<&Timeline>,
    period: Option<Period>,
) -> Result<()> {
    let _ = writeln!(
        out,
        "<section class=\"finding\" id=\"f{}\" style=\"--sev:{}\">\n<h3>{}. {} {}</h3>",
        i + 1,
        hex(severity_color(f.severity)),
        i + 1,
        badge(f.severity),
        escape(&f.title)
    );
    let mut facts = format!(
        "{} requests in {} result rows",
        thousands(f.hits),
        thousands(f.rows as u64)
    );
    if let (Some(a), Some(b)) = (&f.first_seen, &f.last_seen) {
        let _ = write!(facts, "; first {a}, last {b}");
    }
    let _ = writeln!(
        out,
        "<p class=\"muted\">Check <code>{}</code>: {}.</p>",
        escape(&f.check),
        escape(&facts)
    );
    for (label, v) in [
        ("Users", &f.users),
        ("Devices", &f.devices),
        ("Servers", &f.servers),
    ] {
        if !v.is_empty() {
            let _ = writeln!(
                out,
                "<p><strong>{label} ({})</strong>: {}</p>",
                v.len(),
                list(v, 12)
            );
        }
    }
    if !f.why.is_empty() {
        let _ = writeln!(
            out,
            "<p><strong>Why this finding</strong>: {}</p>",
            escape(&f.why)
        );
    }
    if !f.means.is_empty() {
        let _ = writeln!(
            out,
            "<p><strong>What it means</strong>: {}</p>",
            escape(&f.means)
        );
    }
    if !f.next.is_empty() {
        let _ = writeln!(
            out,
            "<p><strong>Check next</strong>: {}</p>",
            escape(&f.next)
        );
    }
    if let Some(p) = period {
        out.push_str("<h4>Timeline</h4>\n");
        figure(out, &timeline_chart(f, counts, p)?);
    }
    write_evidence(out, f);
    out.push_str("</section>\n");
    Ok(())
}

/// A finding's evidence rows (without the example columns) and example requests.
fn write_evidence(out: &mut String, f: &Finding) {
    // Evidence, without the example columns (they follow as lines).
    let keep: Vec<usize> = (0..f.columns.len())
        .filter(|c| !matches!(f.columns[*c].as_str(), "example" | "example_line"))
        .collect();
    let _ = writeln!(
        out,
        "<h4>Evidence ({} of {} rows)</h4>\n<div class=\"scroll\"><table>\n<tr>{}</tr>",
        f.evidence.len(),
        thousands(f.rows as u64),
        keep.iter()
            .map(|c| format!("<th>{}</th>", escape(&f.columns[*c])))
            .collect::<String>()
    );
    for row in &f.evidence {
        let _ = writeln!(
            out,
            "<tr>{}</tr>",
            keep.iter()
                .map(|c| format!("<td>{}</td>", cell(row.get(*c).map_or("", String::as_str))))
                .collect::<String>()
        );
    }
    out.push_str("</table></div>\n");
    if !f.examples.is_empty() {
        out.push_str("<h4>Example requests</h4>\n");
        for (j, e) in f.examples.iter().enumerate() {
            let line = f.example_lines.get(j).map_or("", String::as_str);
            let _ = writeln!(out, "<pre>{}\n{}</pre>", escape(e), escape(line));
        }
    }
}

/// The checks that found nothing, and the rejected lines.
fn write_checked(out: &mut String, catalog: &Catalog, d: &Diagnosis) {
    let found: Vec<&str> = d.findings.iter().map(|f| f.check.as_str()).collect();
    let clean: Vec<String> = d
        .checks
        .iter()
        .filter(|c| !found.contains(&c.as_str()))
        .map(|c| {
            let title = catalog.get(c).map_or("", |q| q.title.as_str());
            format!("<li><code>{}</code> {}</li>", escape(c), escape(title))
        })
        .collect();
    let _ = writeln!(
        out,
        "<h2 id=\"clean\">Checks without findings</h2>\n<ul>\n{}\n</ul>",
        clean.join("\n")
    );
    if d.scan.stats.rejected > 0 {
        let _ = writeln!(out, "<p class=\"muted\">{}</p>", escape(&d.scan.summary()));
    }
}

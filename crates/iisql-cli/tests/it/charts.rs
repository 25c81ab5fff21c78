//! Charts from the command line (`-o FILE.png|.svg`, `--format chart`, the REPL's `\chart`)
//! and `diagnose --html`.

use std::fs;

use predicates::prelude::*;

use crate::{iisql, root};

fn sample() -> String {
    root().join("data/sample").display().to_string()
}

/// Width and height from a PNG's IHDR.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

const STATUS_SQL: &str = "SELECT CAST(sc_status AS VARCHAR) AS status, count(*) AS hits \
                          FROM logs GROUP BY 1 ORDER BY 2 DESC";

#[test]
fn a_query_drawn_as_png_or_svg() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("status.png");
    iisql()
        .args([&sample(), "-q", "-c", STATUS_SQL, "-o"])
        .arg(&png)
        .assert()
        .success();
    assert_eq!(png_size(&fs::read(&png).unwrap()), (1000, 560));

    // SVG on standard output, a pie with its title; the labels are the statuses.
    let out = iisql()
        .args([&sample(), "-q", "-c", STATUS_SQL, "--format", "chart"])
        .args([
            "--chart-type",
            "pie",
            "--chart-title",
            "Status codes & more",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let svg = String::from_utf8(out).unwrap();
    assert!(svg.starts_with("<svg width=\"1000\" height=\"560\""));
    assert!(svg.contains("Status codes &amp; more"));
    assert!(svg.contains("\n200 "), "a legend entry for 200");

    let small = dir.path().join("hours.svg");
    iisql()
        .args([
            &sample(),
            "-q",
            "--chart-size",
            "640x300",
            "--chart-type",
            "ColumnStacked",
        ])
        .args([
            "-c",
            "SELECT date_trunc('hour', timestamp) AS hour, cs_method, count(*) AS hits \
             FROM logs GROUP BY 1, 2",
            "-o",
        ])
        .arg(&small)
        .assert()
        .success();
    let svg = fs::read_to_string(&small).unwrap();
    assert!(svg.starts_with("<svg width=\"640\" height=\"300\""));
    for method in ["GET", "POST", "OPTIONS"] {
        assert!(svg.contains(&format!("\n{method}\n")), "legend {method}");
    }
}

#[test]
fn results_and_options_that_make_no_chart_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("stems.png");
    iisql()
        .args([
            &sample(),
            "-q",
            "-c",
            "SELECT DISTINCT cs_uri_stem FROM logs",
            "-o",
        ])
        .arg(&png)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("needs a numeric column"));
    assert!(!png.exists(), "no file for a result that cannot be charted");
    iisql()
        .args([&sample(), "-q", "-c", "SELECT 1 AS n WHERE false", "-o"])
        .arg(&png)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no rows: nothing to chart"));
    iisql()
        .args([&sample(), "--chart-type", "scatter", "-c", "SELECT 1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown chart type `scatter`"));
    iisql()
        .args([&sample(), "--chart-size", "20x20", "-c", "SELECT 1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("100 to 10000 pixels"));
    iisql()
        .args([&sample(), "-q", "-c", "SELECT 1", "--rejects"])
        .arg(dir.path().join("r.png"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("rejected lines are written as"));
}

/// Runs the REPL on a pseudo-terminal (util-linux `script`), typing `input`.
fn repl(input: &str) -> String {
    repl_with(&format!("{} -q", sample()), input)
}

/// Runs `iisql ARGS` on a pseudo-terminal (util-linux `script`), typing `input` line by line.
pub fn repl_with(args: &str, input: &str) -> String {
    let bin = assert_cmd::cargo::cargo_bin("iisql");
    crate::in_pty(&format!("{} {args}", bin.display()), input)
}

#[test]
fn the_repl_charts_the_last_result() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("last.svg");
    let out = repl(&format!(
        "\\chart {0}\nSELECT cs_method, count(*) AS hits FROM logs GROUP BY 1 ORDER BY 2 DESC;\n\
         \\chart {0} pie Methods seen\n\\q\n",
        svg.display()
    ));
    assert!(out.contains("no query to chart yet"), "{out}");
    assert!(out.contains("Chart of 3 rows written to"), "{out}");
    let s = fs::read_to_string(&svg).unwrap();
    assert!(s.contains("\nMethods seen\n"), "the title");
    // A pie: its slices are paths, its legend says each method's share.
    assert!(s.contains("\nPOST "), "{s}");
}

#[test]
fn diagnose_writes_a_self_contained_html_report() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let out = iisql()
        .args(["diagnose", &sample(), "--format", "json", "--html"])
        .arg(&html)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("HTML report written to"))
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert!(findings.len() >= 10);
    let page = fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    for h in [
        "<h1>iisql diagnosis</h1>",
        "<h2 id=\"summary\">Summary</h2>",
        "<h3>Requests per hour by outcome</h3>",
        "<h3>Failing devices by device type</h3>",
        "<h3>Failures by server</h3>",
        "<h2 id=\"findings\">Findings</h2>",
        "<h2 id=\"clean\">Checks without findings</h2>",
    ] {
        assert!(page.contains(h), "no {h}");
    }
    // A section per finding, in the report's order, each with its timeline.
    assert_eq!(
        page.matches("<section class=\"finding\"").count(),
        findings.len()
    );
    let mut at = 0;
    for f in findings {
        let title = f["title"].as_str().unwrap().replace('&', "&amp;");
        let pos = page[at..]
            .find(&title)
            .unwrap_or_else(|| panic!("{title} missing or out of order"));
        at += pos;
    }
    // Three charts of the traffic, one timeline per finding, all inline SVG.
    assert_eq!(page.matches("<svg ").count(), 3 + findings.len());
    assert_eq!(
        page.matches("Requests of this finding per hour").count(),
        findings.len()
    );
    // The outcome legend, and the example requests of the first finding.
    assert!(page.contains("\n403.7\n") && page.contains("\nsuccess\n"));
    let first = findings[0]["example_lines"][0].as_str().unwrap();
    assert!(
        page.contains(
            first
                .split(' ')
                .take(4)
                .collect::<Vec<_>>()
                .join(" ")
                .as_str()
        )
    );
    // Self-contained and printable: nothing fetched, no script, print rules.
    assert!(!page.contains("<script"));
    assert!(!page.contains(" src="));
    assert!(!page.contains("href=\"http"));
    assert!(!page.contains("url("));
    assert!(page.contains("@media print"));

    // Healthy logs: the page says so.
    let healthy = tempfile::tempdir().unwrap();
    iisql()
        .args(["generate", "--size", "300KB", "--seed", "3", "--out"])
        .arg(healthy.path())
        .assert()
        .success();
    iisql()
        .args(["diagnose", "-q", "--html"])
        .arg(&html)
        .arg(healthy.path())
        .assert()
        .code(0);
    let page = fs::read_to_string(&html).unwrap();
    assert!(page.contains("No problems found."));
    assert!(!page.contains("<section class=\"finding\""));
    assert!(page.contains("<h3>Requests per hour by outcome</h3>\n<p class=\"muted\">"));
    assert!(page.matches("<svg ").count() >= 1);
}

//! Hostile input: each case is a constructed file, with the exact row count, the exact rejects
//! (line and reason) and the exit code asserted.

use std::fs;
use std::path::Path;

use crate::iisql;

const FIELDS: &str = "#Fields: date time c-ip cs-uri-stem sc-status\r\n";

fn row(i: u32) -> String {
    format!("2024-03-01 00:00:{:02} 10.0.0.{i} /p{i} 200\r\n", i % 60)
}

/// Runs `SELECT count(*)` over `file`; returns (exit code, rows, [(line, reason_code)]).
fn run(file: &Path, extra: &[&str]) -> (i32, Option<u64>, Vec<(u64, String)>) {
    let dir = file.parent().unwrap();
    let rejects = dir.join("rejects.ndjson");
    let _ = fs::remove_file(&rejects);
    let out = iisql()
        .arg(file)
        .args([
            "-q",
            "--format",
            "csv",
            "-c",
            "SELECT count(*) AS n FROM logs",
            "--rejects",
        ])
        .arg(&rejects)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows = stdout.lines().nth(1).and_then(|l| l.parse().ok());
    let mut list = vec![];
    if let Ok(text) = fs::read_to_string(&rejects) {
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            list.push((
                v["line"].as_u64().unwrap(),
                v["reason_code"].as_str().unwrap().to_string(),
            ));
        }
    }
    (out.status.code().unwrap_or(-1), rows, list)
}

/// Runs `sql` over `file` and returns its CSV output.
fn csv(file: &Path, sql: &str) -> String {
    let out = iisql()
        .arg(file)
        .args(["-q", "--format", "csv", "-c", sql])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn nul_padding_in_the_middle_and_at_the_end() {
    let d = tempfile::tempdir().unwrap();
    let mut b = Vec::new();
    b.extend_from_slice(FIELDS.as_bytes());
    b.extend_from_slice(row(1).as_bytes());
    b.extend(std::iter::repeat_n(0u8, 4096)); // crash: NULs, then IIS restarts
    b.extend_from_slice(b"#Software: Microsoft Internet Information Services 10.0\r\n");
    b.extend_from_slice(FIELDS.as_bytes());
    b.extend_from_slice(row(2).as_bytes());
    b.extend(std::iter::repeat_n(0u8, 10_000)); // and NULs to the end
    let f = write(d.path(), "u_ex1.log", &b);
    assert_eq!(run(&f, &[]), (0, Some(2), vec![]));
}

/// A 512 KiB line of 262,144 `a\0` pairs: each NUL run ends a cut piece, judged one after the
/// other (a recursion per run overflowed the stack and aborted the process).
#[test]
fn a_line_of_many_nul_runs() {
    let d = tempfile::tempdir().unwrap();
    let mut b = FIELDS.as_bytes().to_vec();
    b.extend_from_slice(row(1).as_bytes());
    for _ in 0..262_144 {
        b.extend_from_slice(b"a\0");
    }
    b.extend_from_slice(b"\r\n");
    b.extend_from_slice(row(2).as_bytes());
    let f = write(d.path(), "u_ex1.log", &b);
    let out = iisql()
        .arg(&f)
        .args([
            "-q",
            "--format",
            "csv",
            "-c",
            "SELECT count(*) AS n FROM logs",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n\n2\n");
}

/// Links back to a folder already walked (`loop -> .`, twice) add nothing: each log is read
/// once, and the walk ends.
#[cfg(unix)]
#[test]
fn symlink_loops_are_followed_once() {
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let text: String = std::iter::once(FIELDS.to_string())
        .chain((1..=10).map(row))
        .collect();
    write(&logs, "u_ex1.log", text.as_bytes());
    std::os::unix::fs::symlink(".", logs.join("loop")).unwrap();
    std::os::unix::fs::symlink(".", logs.join("again")).unwrap();
    std::os::unix::fs::symlink(&logs, d.path().join("outside")).unwrap();
    assert_eq!(csv(&logs, "SELECT count(*) AS n FROM logs"), "n\n10\n");
    assert_eq!(csv(d.path(), "SELECT count(*) AS n FROM logs"), "n\n10\n");
}

#[test]
fn the_line_being_written_is_an_incomplete_tail() {
    let d = tempfile::tempdir().unwrap();
    let text = format!("{FIELDS}{}{}2024-03-01 00:00:09 10.0", row(1), row(2));
    let f = write(d.path(), "u_ex1.log", text.as_bytes());
    assert_eq!(
        run(&f, &[]),
        (0, Some(2), vec![(4, "incomplete_last_line".into())])
    );
}

#[test]
fn invalid_utf8_is_read_and_reported() {
    let d = tempfile::tempdir().unwrap();
    let mut b = FIELDS.as_bytes().to_vec();
    b.extend_from_slice(b"2024-03-01 00:00:01 10.0.0.1 /caf\xE9\xFF 200\r\n");
    b.extend_from_slice(row(2).as_bytes());
    let f = write(d.path(), "u_ex1.log", &b);
    assert_eq!(run(&f, &[]), (0, Some(2), vec![(2, "invalid_utf8".into())]));
}

#[test]
fn long_lines() {
    let d = tempfile::tempdir().unwrap();
    // A 2 MiB URL is still a row under the default limit...
    let long = format!(
        "2024-03-01 00:00:01 10.0.0.1 /{} 200\r\n",
        "a".repeat(2 << 20)
    );
    let text = format!("{FIELDS}{long}{}", row(2));
    let f = write(d.path(), "u_ex1.log", text.as_bytes());
    assert_eq!(run(&f, &[]), (0, Some(2), vec![]));
    // ...and past the limit it is measured and rejected, never held whole.
    assert_eq!(
        run(&f, &["--max-line-bytes", "65536"]),
        (0, Some(1), vec![(2, "line_too_long".into())])
    );
}

#[test]
fn wrong_field_counts_and_duplicate_fields() {
    let d = tempfile::tempdir().unwrap();
    let text = format!(
        "{FIELDS}{}2024-03-01 00:00:02 10.0.0.2 /x\r\n2024-03-01 00:00:03 10.0.0.3 /y 200 extra\r\n\
         #Fields: date time c-ip c-ip sc-status\r\n2024-03-01 00:00:04 1.1.1.1 2.2.2.2 404\r\n",
        row(1)
    );
    let f = write(d.path(), "u_ex1.log", text.as_bytes());
    assert_eq!(
        run(&f, &[]),
        (
            0,
            Some(2),
            vec![
                (3, "field_count".into()),
                (4, "field_count".into()),
                (5, "duplicate_field".into())
            ]
        )
    );
    let out = iisql()
        .arg(&f)
        .args([
            "-q",
            "--format",
            "csv",
            "-c",
            "SELECT c_ip FROM logs WHERE sc_status = 404",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "c_ip\n1.1.1.1\n");
}

#[test]
fn empty_directive_only_and_binary_files() {
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "empty.log", b"");
    assert_eq!(run(&f, &[]), (0, Some(0), vec![]));
    let f = write(d.path(), "directives.log", FIELDS.repeat(3).as_bytes());
    assert_eq!(run(&f, &[]), (0, Some(0), vec![]));
    // A binary file named .log: no panic, every line a row, a reject, a blank or NUL line.
    let mut bin = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..200_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        bin.push((x >> 16) as u8);
    }
    let f = write(d.path(), "binary.log", &bin);
    let out = iisql()
        .arg(&f)
        .args(["-c", "SELECT count(*) FROM logs", "--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let (_, _, rejects) = run(&f, &[]);
    let dropped = rejects.iter().filter(|(_, c)| c != "invalid_utf8").count();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reported: usize = stderr
        .strip_prefix("0 rows from 1 file; ")
        .and_then(|s| s.split_once(" lines rejected"))
        .map(|(n, _)| n.replace(',', "").parse().unwrap())
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(reported, dropped, "{stderr}");
    // Without NUL and '#' bytes, the outcome of each line can be counted here: a line of
    // blanks is blank, any other is rejected for its field count (the 15 default fields).
    let plain: Vec<u8> = bin
        .iter()
        .map(|&c| match c {
            0 => 1,
            b'#' => b'$',
            c => c,
        })
        .collect();
    let f = write(d.path(), "binary2.log", &plain);
    let mut expected = vec![];
    for (i, line) in plain.split(|&c| c == b'\n').enumerate() {
        let text = line.strip_suffix(b"\r").unwrap_or(line);
        let trimmed: &[u8] = {
            let mut t = text;
            while let [rest @ .., b' ' | b'\t' | b'\r'] = t {
                t = rest;
            }
            t
        };
        if trimmed.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let fields = trimmed.split(|&c| c == b' ').count();
        assert_ne!(fields, 15, "line {} would be a row", i + 1);
        let invalid = std::str::from_utf8(line).is_err();
        if invalid {
            expected.push((i as u64 + 1, "invalid_utf8".to_string()));
        }
        let last = i == plain.split(|&c| c == b'\n').count() - 1;
        let reason = if last && fields < 15 {
            "incomplete_last_line"
        } else {
            "field_count"
        };
        expected.push((i as u64 + 1, reason.to_string()));
    }
    let (code, rows, mut got) = run(&f, &[]);
    got.sort();
    expected.sort();
    assert_eq!((code, rows), (0, Some(0)));
    assert_eq!(got.len(), expected.len());
    assert_eq!(got, expected);
}

#[test]
fn fields_with_empty_names() {
    let d = tempfile::tempdir().unwrap();
    // `#Fields:` with no names: no line fits the layout, each is rejected, none mis-mapped.
    // Runs of blanks between names are one separator.
    let text = format!(
        "#Fields:\r\n{}{}#Fields:  date   time c-ip\tcs-uri-stem  sc-status \r\n{}",
        row(1),
        row(2),
        row(3)
    );
    let f = write(d.path(), "u_ex1.log", text.as_bytes());
    assert_eq!(
        run(&f, &[]),
        (
            0,
            Some(1),
            vec![(2, "field_count".into()), (3, "field_count".into())]
        )
    );
    assert_eq!(
        csv(&f, "SELECT c_ip, cs_uri_stem FROM logs"),
        "c_ip,cs_uri_stem\n10.0.0.3,/p3\n"
    );
}

#[test]
fn a_line_cut_by_a_crash_mid_line() {
    let d = tempfile::tempdir().unwrap();
    let mut b = FIELDS.as_bytes().to_vec();
    b.extend_from_slice(row(1).as_bytes());
    b.extend_from_slice(b"2024-03-01 00:00:02 10.0.0.2 /p2");
    b.extend(std::iter::repeat_n(0u8, 4096));
    b.extend_from_slice(b"#Software: Microsoft Internet Information Services 10.0\r\n");
    b.extend_from_slice(b"#Fields: date time c-ip cs-uri-stem cs-uri-query sc-status\r\n");
    b.extend_from_slice(b"2024-03-01 00:01:00 10.0.0.3 /p3 a=1 500\r\n");
    let f = write(d.path(), "u_ex1.log", &b);
    assert_eq!(run(&f, &[]), (0, Some(2), vec![(3, "cut_by_nul".into())]));
    assert_eq!(
        csv(&f, "SELECT cs_uri_query, sc_status FROM logs ORDER BY 2"),
        "cs_uri_query,sc_status\n,200\na=1,500\n"
    );
}

#[test]
fn strict_and_bad_paths() {
    let d = tempfile::tempdir().unwrap();
    let text = format!("{FIELDS}{}bad line\r\n", row(1));
    let f = write(d.path(), "u_ex1.log", text.as_bytes());
    let (code, _, _) = run(&f, &["--strict"]);
    assert_eq!(code, 1);
    let empty_dir = tempfile::tempdir().unwrap();
    let out = iisql()
        .arg(empty_dir.path())
        .args(["-c", "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no .log files found"));
    let out = iisql()
        .args(["/no/such.log", "-c", "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/no/such.log: no such file or directory")
    );
    // A glob that matches nothing, and a file that cannot be read (a dangling link).
    let out = iisql()
        .arg(format!("{}/*.log", empty_dir.path().display()))
        .args(["-c", "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("*.log"), "{stderr}");
    let links = tempfile::tempdir().unwrap();
    std::fs::write(
        links.path().join("u_ex1.log"),
        format!("{FIELDS}{}", row(1)),
    )
    .unwrap();
    std::os::unix::fs::symlink("/no/such/target.log", links.path().join("u_ex2.log")).unwrap();
    let out = iisql()
        .arg(links.path())
        .args(["-c", "SELECT count(*) FROM logs"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("u_ex2.log"), "{stderr}");
}

/// An output is replaced whole or not at all: a query that fails while its result is written
/// leaves the earlier file as it was (text and Parquet) and nothing beside it; one that
/// succeeds replaces it.
#[test]
fn a_failed_write_keeps_the_earlier_output() {
    let d = tempfile::tempdir().unwrap();
    let text: String = std::iter::once(FIELDS.to_string())
        .chain((1..=5).map(row))
        .collect();
    let log = write(d.path(), "u_ex1.log", text.as_bytes());
    // Planned fine, fails on the first row it reads: `/p1` is not a number.
    let failing = "SELECT CAST(cs_uri_stem AS INT) AS x FROM logs";
    for name in ["out.csv", "out.parquet"] {
        let out = write(d.path(), name, b"earlier result\n");
        let status = iisql()
            .arg(&log)
            .args(["-q", "-c", failing, "-o"])
            .arg(&out)
            .output()
            .unwrap()
            .status;
        assert_eq!(status.code(), Some(1), "{name}");
        assert_eq!(fs::read(&out).unwrap(), b"earlier result\n", "{name}");
        let left: Vec<String> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.') || n.contains("#"))
            .collect();
        assert!(left.is_empty(), "{name}: {left:?}");
        iisql()
            .arg(&log)
            .args(["-q", "-c", "SELECT count(*) AS n FROM logs", "-o"])
            .arg(&out)
            .assert()
            .success();
        assert_ne!(fs::read(&out).unwrap(), b"earlier result\n", "{name}");
    }
    let csv = fs::read_to_string(d.path().join("out.csv")).unwrap();
    assert_eq!(csv, "n\n5\n");
}

/// Escape sequences in log text never reach a reader of a table as control characters (they
/// are shown as control pictures); a data format written to a pipe keeps the bytes as logged.
#[test]
fn terminal_escapes_in_log_text_are_shown_not_sent() {
    let d = tempfile::tempdir().unwrap();
    let text = format!("{FIELDS}2024-03-01 00:00:01 10.0.0.1 /p\x1b[2J\x07x 200\r\n");
    let log = write(d.path(), "u_ex1.log", text.as_bytes());
    let table = iisql()
        .arg(&log)
        .args([
            "-q",
            "--format",
            "table",
            "-c",
            "SELECT cs_uri_stem FROM logs",
        ])
        .output()
        .unwrap();
    let shown = String::from_utf8(table.stdout).unwrap();
    assert!(!shown.contains(['\x1b', '\x07']), "{shown:?}");
    assert!(shown.contains("/p␛[2J␇x"), "{shown}");
    assert_eq!(
        csv(&log, "SELECT cs_uri_stem FROM logs"),
        "cs_uri_stem\n/p\x1b[2J\x07x\n"
    );
}

/// A `#Fields` line of 20,000 fields: each field is a column, found by name, not compared with
/// every other (that took 42 s, and 100,000 fields did not finish).
#[test]
fn a_fields_line_of_twenty_thousand_fields() {
    let d = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..20_000).map(|i| format!("x-f{i}")).collect();
    let values: Vec<String> = (0..20_000).map(|i| i.to_string()).collect();
    let text = format!(
        "#Fields: date time {}\n2024-03-01 00:00:01 {}\n",
        names.join(" "),
        values.join(" ")
    );
    let log = write(d.path(), "u_ex1.log", text.as_bytes());
    assert_eq!(
        csv(
            &log,
            "SELECT x_f0, x_f19999, count(*) AS n FROM logs GROUP BY 1, 2"
        ),
        "x_f0,x_f19999,n\n0,19999,1\n"
    );
}

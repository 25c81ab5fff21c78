use std::fs;

use predicates::prelude::*;

use crate::{fixtures, iisql, root};

fn tree() -> String {
    fixtures().join("tree").display().to_string()
}

#[test]
fn one_shot_command_prints_a_table() {
    iisql()
        .args([
            &tree(),
            "-c",
            "SELECT sc_status, count(*) AS n FROM logs GROUP BY sc_status ORDER BY sc_status",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("| 200       | 4 |"))
        .stdout(predicate::str::contains("| 403       | 1 |"))
        .stdout(predicate::str::contains("(5 rows)"))
        .stderr(predicate::str::contains(
            "8 rows from 2 files; 1 line rejected (use --rejects FILE)",
        ));
}

#[test]
fn csv_tsv_json_ndjson_formats() {
    let sql =
        "SELECT sc_status, cs_username FROM logs WHERE sc_status IN (403, 413) ORDER BY sc_status";
    let out = |fmt: &str| {
        let o = iisql()
            .args([&tree(), "-q", "--format", fmt, "-c", sql])
            .output()
            .unwrap();
        assert!(o.status.success());
        String::from_utf8(o.stdout).unwrap()
    };
    assert_eq!(
        out("csv"),
        "sc_status,cs_username\n403,\n413,jdoe@contoso.com\n"
    );
    assert_eq!(
        out("tsv"),
        "sc_status\tcs_username\n403\t\n413\tjdoe@contoso.com\n"
    );
    assert_eq!(
        out("json"),
        "[{\"sc_status\":403,\"cs_username\":null},{\"sc_status\":413,\"cs_username\":\"jdoe@contoso.com\"}]\n"
    );
    assert_eq!(
        out("ndjson"),
        "{\"sc_status\":403,\"cs_username\":null}\n{\"sc_status\":413,\"cs_username\":\"jdoe@contoso.com\"}\n"
    );
}

#[test]
fn script_stops_at_the_failing_statement_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.sql");
    fs::write(
        &script,
        "-- two statements\nSELECT count(*) AS n FROM logs;\n\nSELECT no_such_column\n  FROM logs;\nSELECT 3;\n",
    )
    .unwrap();
    iisql()
        .args([&tree(), "-q", "--format", "csv", "-f"])
        .arg(&script)
        .assert()
        .code(1)
        .stdout("n\n8\n")
        .stderr(predicate::str::contains("script.sql:4: error:"))
        .stderr(predicate::str::contains("no_such_column"));
}

#[test]
fn sql_on_stdin_is_a_script() {
    iisql()
        .args([&tree(), "-q", "--format", "csv"])
        .write_stdin("SELECT count(*) AS n FROM logs WHERE sc_status = 200;\nSELECT 1 AS one;")
        .assert()
        .success()
        .stdout("n\n4\none\n1\n");
}

#[test]
fn output_files_follow_their_extension() {
    let dir = tempfile::tempdir().unwrap();
    // CSV, JSON, NDJSON and TSV files.
    for (name, want) in [
        ("out.csv", "log_row\n5\n6\n"),
        ("out.json", "[{\"log_row\":5},{\"log_row\":6}]"),
        ("out.ndjson", "{\"log_row\":5}\n{\"log_row\":6}\n"),
        ("out.tsv", "log_row\n5\n6\n"),
    ] {
        let path = dir.path().join(name);
        iisql()
            .args([
                &tree(),
                "-q",
                "-c",
                "SELECT log_row FROM logs ORDER BY log_filename, log_row LIMIT 2",
                "-o",
            ])
            .arg(&path)
            .assert()
            .success()
            .stdout("");
        assert_eq!(
            fs::read_to_string(&path).unwrap().trim_end(),
            want.trim_end(),
            "{name}"
        );
    }

    let pq = dir.path().join("out.parquet");
    iisql()
        .args([&tree(), "-q", "-c", "SELECT * FROM logs", "-o"])
        .arg(&pq)
        .assert()
        .success();
    let file = fs::File::open(&pq).unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let schema = reader.schema().clone();
    assert!(schema.field_with_name("x_forwarded_for").is_ok());
    assert_eq!(
        schema
            .field_with_name("timestamp")
            .unwrap()
            .data_type()
            .to_string(),
        "Timestamp(ms, \"UTC\")"
    );
    // zstd; times and row numbers delta-encoded; statistics for times and where a row was
    // logged (file, row, server), none for the rest (see iisql::parquet_out).
    let meta = reader.metadata().clone();
    let rows: usize = reader.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 8);
    let group = meta.row_group(0);
    let column = |name: &str| {
        group
            .columns()
            .iter()
            .find(|c| c.column_path().string() == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    for c in group.columns() {
        assert!(
            matches!(c.compression(), parquet::basic::Compression::ZSTD(_)),
            "{:?}",
            c.compression()
        );
    }
    let encodings = |name: &str| format!("{:?}", column(name).encodings().collect::<Vec<_>>());
    assert!(encodings("timestamp").contains("DELTA_BINARY_PACKED"));
    assert!(!encodings("timestamp").contains("DICTIONARY"));
    assert!(encodings("log_row").contains("DELTA_BINARY_PACKED"));
    assert!(encodings("time_taken").contains("DELTA_BINARY_PACKED"));
    assert!(!encodings("time_taken").contains("DICTIONARY"));
    // Status codes plain (zstd packs them), text with a dictionary.
    assert!(!encodings("sc_status").contains("DICTIONARY"));
    assert!(encodings("sc_status").contains("PLAIN"));
    assert!(encodings("cs_uri_stem").contains("RLE_DICTIONARY"));
    // Row groups come from the query's partitions in the order they are completed, and a
    // column one file does not log has no min/max in that file's group: statistics are looked
    // for in every group.
    let has_min_max = |name: &str| {
        meta.row_groups().iter().any(|g| {
            g.columns()
                .iter()
                .find(|c| c.column_path().string() == name)
                .and_then(|c| c.statistics())
                .is_some_and(|s| s.min_bytes_opt().is_some())
        })
    };
    assert!(has_min_max("timestamp"));
    assert!(has_min_max("date"));
    assert!(has_min_max("log_filename"));
    assert!(has_min_max("log_row"));
    assert!(has_min_max("s_computername"));
    assert!(!has_min_max("sc_status"));
    assert!(!has_min_max("time_taken"));
    assert!(!has_min_max("cs_uri_stem"));
    assert!(!has_min_max("cs_user_agent"));

    // COPY works as well.
    let copy = dir.path().join("copy.parquet");
    iisql()
        .args([&tree(), "-q", "-c"])
        .arg(format!(
            "COPY (SELECT cs_uri_stem FROM logs) TO '{}'",
            copy.display()
        ))
        .assert()
        .success();
    // with the session's compression, zstd (a file does not record the level)
    let copied =
        parquet::file::reader::SerializedFileReader::new(fs::File::open(&copy).unwrap()).unwrap();
    let codec = parquet::file::reader::FileReader::metadata(&copied)
        .row_group(0)
        .column(0)
        .compression();
    assert!(
        matches!(codec, parquet::basic::Compression::ZSTD(_)),
        "{codec:?}"
    );
}

#[test]
fn rejects_file_lists_every_rejected_line() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.csv");
    iisql()
        .args([&tree(), "-c", "SELECT count(*) FROM logs", "--rejects"])
        .arg(&rejects)
        .assert()
        .success()
        .stderr(predicate::str::contains("1 line rejected"));
    let text = fs::read_to_string(&rejects).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "file,line,byte_offset,reason_code,reason,text");
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[1].contains("u_ex240115.log,14,"), "{text}");
    assert!(
        lines[1].contains("field_count,9 fields where #Fields has 19"),
        "{text}"
    );
    // As Parquet: written with the session's settings, as query results are (zstd).
    let pq = dir.path().join("rejects.parquet");
    iisql()
        .args([
            &tree(),
            "-q",
            "-c",
            "SELECT count(*) FROM logs",
            "--rejects",
        ])
        .arg(&pq)
        .assert()
        .success();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        fs::File::open(&pq).unwrap(),
    )
    .unwrap();
    let column = reader.metadata().row_group(0).column(0).clone();
    assert!(
        matches!(column.compression(), parquet::basic::Compression::ZSTD(_)),
        "{:?}",
        column.compression()
    );
    let rows: usize = reader.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 1);
}

#[test]
fn max_errors_and_bad_paths_fail_with_one_line() {
    let short = fixtures().join("headerless/short.log");
    iisql()
        .arg(&short)
        .args(["--max-errors", "1", "-c", "SELECT * FROM logs"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "too many rejected lines: 2 > max_errors 1",
        ));
    iisql()
        .arg(&short)
        .args([
            "--fields",
            "date time c-ip sc-status",
            "--format",
            "csv",
            "-c",
            "SELECT c_ip FROM logs ORDER BY 1",
        ])
        .assert()
        .success()
        .stdout("c_ip\n10.9.9.8\n10.9.9.9\n");
    let out = iisql()
        .args(["/no/such/place", "-c", "SELECT 1"])
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("/no/such/place: no such file or directory"),
        "{err}"
    );
}

#[test]
fn url_tables_and_external_tables_from_the_cli() {
    let glob = format!("{}/*/*.log", tree());
    iisql()
        .args(["-q", "--format", "csv", "-c"])
        .arg(format!("SELECT count(*) AS n FROM '{glob}'"))
        .assert()
        .success()
        .stdout("n\n8\n");
    iisql()
        .args(["-q", "--format", "csv", "-c"])
        .arg(format!(
            "CREATE EXTERNAL TABLE t STORED AS IISW3C LOCATION '{}/'",
            tree()
        ))
        .args(["-c", "SELECT count(*) AS n FROM t"])
        .assert()
        .success()
        .stdout("n\n8\n");
}

#[test]
fn bundled_sample_is_what_the_generator_writes() {
    let dir = tempfile::tempdir().unwrap();
    iisql()
        .args([
            "generate",
            "--size",
            "4MB",
            "--seed",
            "1",
            "--scenarios",
            "sample",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .success();
    let sample = root().join("data/sample");
    let mut n = 0;
    for server in [
        "CAS01/W3SVC1",
        "CAS02/W3SVC1",
        "MBX01/W3SVC2",
        "CAS2010/W3SVC1",
    ] {
        for day in ["u_ex251103.log", "u_ex251104.log"] {
            let rel = format!("{server}/{day}");
            let a = fs::read(sample.join(&rel)).unwrap();
            let b = fs::read(dir.path().join(&rel)).unwrap();
            assert!(a == b, "{rel} differs from a fresh generation");
            n += 1;
        }
    }
    assert_eq!(n, 8);
}

#[test]
fn saved_queries_list_show_and_run() {
    iisql()
        .arg("queries")
        .assert()
        .success()
        .stdout(predicate::str::contains("cba_cert_missing"))
        .stdout(predicate::str::contains("report_users"));
    iisql()
        .args(["queries", "show", "cba_cert_missing"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("-- name: cba_cert_missing"));
    let sample = root().join("data/sample").display().to_string();
    iisql()
        .args([
            "run",
            "report_users",
            &sample,
            "-q",
            "--format",
            "csv",
            "-p",
            "user=CONTOSO\\user0001",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("\nuser0001,"))
        .stdout(predicate::function(|s: &str| s.lines().count() >= 2));
    // Parameters are values, never SQL: an injection attempt matches no user.
    iisql()
        .args([
            "run",
            "report_users",
            &sample,
            "-q",
            "--format",
            "csv",
            "-p",
            "user=x' OR 1=1 --",
        ])
        .assert()
        .success()
        .stdout(predicate::function(|s: &str| s.lines().count() == 1));
    iisql()
        .args(["run", "report_users", &sample, "-p", "nope=1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "unknown parameter `nope` (parameters: user)",
        ));
    iisql()
        .args(["run", "cba_cert_missing", &sample, "-p", "min_hits=lots"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "parameter `min_hits` must be int, got `lots`",
        ));
    iisql()
        .args(["run", "no_such_query", &sample])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no saved query named `no_such_query`",
        ));
}

#[test]
fn diagnose_reports_findings_with_exit_codes() {
    let sample = root().join("data/sample").display().to_string();
    iisql()
        .args(["diagnose", &sample])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "[HIGH] Devices without a client certificate (403.7) (cba_cert_missing)",
        ))
        .stdout(predicate::str::contains("85 requests in 5 result rows"))
        // An example request under its file:line: time, server, status, win32, method...
        .stdout(predicate::str::is_match(r"\n   e\.g\. \S+\.log:\d+\n        2025-11-0[34] \d\d:\d\d:\d\d 10\.0\.1\.1[01] 403\.7 5 (POST|OPTIONS) ").unwrap())
        .stdout(predicate::str::contains("Check next:"));
    // A parameter no check takes is an error (exit 2), not silently ignored.
    iisql()
        .args(["diagnose", &sample, "-p", "min_hit=5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown parameter `min_hit`"));
    // Only critical findings fail the run when asked.
    let out = iisql()
        .args([
            "diagnose",
            &sample,
            "--format",
            "json",
            "--fail-on",
            "critical",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let checks: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert!(checks.contains(&"kcd_failures"), "{checks:?}");
    assert_eq!(v["findings"][0]["severity"], "critical");
    // A healthy folder: nothing found, exit 0, and the report says what was checked.
    let dir = tempfile::tempdir().unwrap();
    iisql()
        .args(["generate", "--size", "300KB", "--seed", "3", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    iisql()
        .arg("diagnose")
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "No problems found. Checked: cba_cert_missing",
        ));
    iisql().args(["diagnose", "/no/such/dir"]).assert().code(2);
}

#[test]
fn compressed_logs_in_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("W3SVC1");
    fs::create_dir_all(&site).unwrap();
    let log = site.join("u_ex251103.log");
    fs::write(
        &log,
        "#Fields: date time c-ip sc-status\r\n2025-11-03 00:00:00 10.0.0.1 200\r\n2025-11-03 00:00:01 10.0.0.2 404\r\n",
    )
    .unwrap();
    // gzip is part of every Debian system.
    let status = std::process::Command::new("gzip")
        .arg(&log)
        .status()
        .unwrap();
    assert!(status.success());
    iisql()
        .arg(dir.path())
        .args(["--compression", "gzip", "--format", "csv", "-q", "-c"])
        .arg("SELECT c_ip, sc_status FROM logs ORDER BY 1")
        .assert()
        .success()
        .stdout("c_ip,sc_status\n10.0.0.1,200\n10.0.0.2,404\n");
    // Without the option each file is decompressed as its name says; an unknown codec is a
    // clear error.
    iisql()
        .arg(dir.path())
        .args(["--format", "csv", "-q", "-c"])
        .arg("SELECT c_ip, sc_status FROM logs ORDER BY 1")
        .assert()
        .success()
        .stdout("c_ip,sc_status\n10.0.0.1,200\n10.0.0.2,404\n");
    iisql()
        .arg(dir.path())
        .args(["--compression", "zip", "-c", "SELECT 1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--compression"));
}

/// `--cluster` without the `cluster` feature says how to build it, and touches nothing.
#[cfg(not(feature = "cluster"))]
#[test]
fn cluster_without_the_feature_says_how_to_get_it() {
    iisql()
        .arg(crate::root().join("data/sample"))
        .args(["--cluster", "df://127.0.0.1:9", "-c", "SELECT 1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--features cluster"));
}

/// With the feature, a URL that is not a scheduler's is refused before anything runs (a
/// cluster itself is tested by `tests/cluster/cluster.sh`).
#[cfg(feature = "cluster")]
#[test]
fn cluster_wants_a_scheduler_url() {
    iisql()
        .arg(crate::root().join("data/sample"))
        .args(["--cluster", "http://127.0.0.1:9", "-c", "SELECT 1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("df://host:50050"));
}

/// The rows in the first data page of `column` in the first row group of the Parquet file at
/// `path`, from its offset index.
fn first_page_rows(path: &std::path::Path, column: &str) -> i64 {
    use parquet::file::reader::FileReader;
    let reader = parquet::file::serialized_reader::SerializedFileReader::new_with_options(
        fs::File::open(path).unwrap(),
        parquet::file::serialized_reader::ReadOptionsBuilder::new()
            .with_page_index()
            .build(),
    )
    .unwrap();
    let meta = reader.metadata();
    let group = meta.row_group(0);
    let index = group
        .columns()
        .iter()
        .position(|c| c.column_path().string() == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    let pages = meta.offset_index().expect("an offset index")[0][index].page_locations();
    pages
        .get(1)
        .map_or(group.num_rows(), |second| second.first_row_index)
}

#[test]
fn parquet_row_groups_of_122880_rows_pages_of_up_to_100000() {
    // The writer's own defaults are row groups of 1,048,576 rows and pages closed at 20,000
    // rows; iisql's are 122,880 and 100,000 (see iisql::parquet_out), whether the file comes
    // from `-o` or from `convert`.
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    iisql()
        .args([
            "generate",
            "--size",
            "72MB",
            "--days",
            "1",
            "--servers",
            "1",
            "--seed",
            "5",
            "--no-backend",
            "--out",
        ])
        .arg(&logs)
        .assert()
        .success();
    let pq = dir.path().join("out.parquet");
    iisql()
        .arg(&logs)
        .args(["-q", "-c", "SELECT * FROM logs", "-o"])
        .arg(&pq)
        .assert()
        .success();
    let first = first_page_rows(&pq, "sc_status");
    assert!(first > 30_000, "first page of sc_status: {first} rows");
    // Row groups of 122,880 rows, not the writer's million.
    let groups = |path: &std::path::Path| {
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            fs::File::open(path).unwrap(),
        )
        .unwrap()
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect::<Vec<_>>()
    };
    // `-o` encodes each partition of the query into its own row groups (the file is split in
    // two ranges here): none larger than 122,880 rows, every row written.
    let of_pq = groups(&pq);
    assert!(
        of_pq.len() > 1 && of_pq.iter().all(|&n| n <= 122_880),
        "{of_pq:?}"
    );
    let rows = iisql()
        .arg(&logs)
        .args(["-q", "--format", "csv", "-c", "SELECT count(*) FROM logs"])
        .output()
        .unwrap();
    let rows: i64 = String::from_utf8(rows.stdout)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(of_pq.iter().sum::<i64>(), rows);
    let to = dir.path().join("pq");
    iisql()
        .arg("convert")
        .arg(&logs)
        .arg("--to")
        .arg(&to)
        .assert()
        .success();
    let partition = fs::read_dir(&to).unwrap().next().unwrap().unwrap().path();
    let file = fs::read_dir(&partition)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    // `convert` writes each range as its own run (one file each, more than 122,880 rows).
    let of_convert = groups(&file);
    assert!(
        of_convert.len() > 1 && of_convert[0] == 122_880,
        "{of_convert:?}"
    );
    let first = first_page_rows(&file, "sc_status");
    assert!(
        first > 30_000,
        "first page of sc_status in {file:?}: {first} rows"
    );
}

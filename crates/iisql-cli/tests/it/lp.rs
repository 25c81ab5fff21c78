//! `iisql lp`: Log Parser command lines run unchanged.

use std::fs;

use predicates::prelude::*;

use crate::{iisql, root};

fn sample(p: &str) -> String {
    root().join("data/sample").join(p).display().to_string()
}

/// What `iisql PATH -q --format csv -c SQL` prints: the question in DataFusion SQL.
fn csv_of(path: &str, sql: &str) -> String {
    crate::stdout_of(&[path, "-q", "--format", "csv", "-c", sql])
}

#[test]
fn a_log_parser_command_line_with_into_csv_and_a_file_list() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("top.csv");
    // Two files, comma-separated in FROM, as Log Parser takes them.
    let from = format!(
        "{}, {}",
        sample("CAS01/W3SVC1/u_ex251103.log"),
        sample("CAS02/W3SVC1/u_ex251103.log")
    );
    let q = format!(
        "SELECT TOP 3 cs-uri-stem, COUNT(*) AS Hits INTO '{}' FROM {from} \
         WHERE sc-status = 200 GROUP BY cs-uri-stem ORDER BY Hits DESC",
        csv.display()
    );
    iisql()
        .args(["lp", "-i:IISW3C", "-q", &q])
        .assert()
        .success();
    let got = fs::read_to_string(&csv).unwrap();
    // The same question in DataFusion SQL over the same two files.
    let want = iisql()
        .args([
            &sample("CAS01/W3SVC1/u_ex251103.log"),
            &sample("CAS02/W3SVC1/u_ex251103.log"),
            "-q",
            "--format",
            "csv",
            "-c",
            "SELECT cs_uri_stem, count(*) AS hits FROM logs WHERE sc_status = 200 \
             GROUP BY 1 ORDER BY 2 DESC LIMIT 3",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(got, String::from_utf8(want).unwrap());
    assert_eq!(got.lines().count(), 4, "{got}");
}

#[test]
fn file_queries_with_parameters_and_log_parser_studio_paths() {
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("status.sql");
    fs::write(
        &q,
        "/* Log Parser Studio style */\nSELECT sc-status, COUNT(*) AS Hits\nFROM [LOGFILEPATH]\n\
         WHERE sc-status >= %MIN% AND cs-method = '%METHOD%'\nGROUP BY sc-status ORDER BY sc-status\n",
    )
    .unwrap();
    let spec = format!("file:{}?min=400+method=POST", q.display());
    let out = iisql()
        .args(["lp", "-o:CSV", "-q", &spec, &sample("")])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let want = csv_of(
        &sample(""),
        "SELECT sc_status, count(*) AS hits FROM logs WHERE sc_status >= 400 \
             AND cs_method = 'POST' GROUP BY 1 ORDER BY 1",
    );
    assert_eq!(String::from_utf8_lossy(&out), want);
    assert!(String::from_utf8_lossy(&out).contains("403,"));
    // --explain prints the translation and runs nothing.
    iisql()
        .args(["lp", "--explain", &spec])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "SELECT sc_status, COUNT(*) AS Hits FROM logs WHERE sc_status >= 400 AND cs_method = 'POST'",
        ));
    // [LOGFILEPATH] without paths says what is missing.
    iisql()
        .args(["lp", &spec])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("give PATH"));
}

#[test]
fn stats_and_what_cannot_be_done() {
    iisql()
        .args(["lp", "-stats", "SELECT COUNT(*) FROM"])
        .arg(sample(""))
        .assert()
        .success()
        .stdout(predicate::str::contains("13614"))
        .stderr(predicate::str::contains("Elements processed: 13614"));
    for (args, want) in [
        (vec!["-i:EVT", "SELECT * FROM System"], "-i:EVT"),
        (vec!["SELECT a INTO DATAGRID FROM x.log"], "DATAGRID"),
        (
            vec!["-o:SYSLOG", "SELECT a FROM x.log"],
            "-o:SYSLOG is not supported",
        ),
        (vec!["-foo", "SELECT a FROM x.log"], "-foo: not a switch"),
        (
            vec!["SELECT REVERSEDNS(c-ip) FROM PLACEHOLDER"],
            "REVERSEDNS() is not supported",
        ),
    ] {
        let args: Vec<String> = args
            .into_iter()
            .map(|a| a.replace("PLACEHOLDER", &sample("")))
            .collect();
        iisql()
            .arg("lp")
            .args(&args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(want));
    }
}

fn library() -> String {
    root()
        .join("crates/iisql-cli/tests/fixtures/lps_library.xml")
        .display()
        .to_string()
}

#[test]
fn log_parser_studio_libraries_list_and_run() {
    iisql()
        .args(["lps", "import", &library()])
        .assert()
        .success()
        .stdout(predicate::str::contains("IIS: Top 5 URIs"))
        .stdout(predicate::str::contains("their device types"))
        .stdout(predicate::str::contains("EVTLOG (not readable yet)"))
        .stdout(predicate::str::contains("(3 queries in"));
    let out = iisql()
        .args([
            "lps",
            "run",
            &library(),
            "eas: 403.7 BY DEVICE TYPE",
            "-o:CSV",
            "-q",
        ])
        .arg(sample(""))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let want = csv_of(
        &sample(""),
        "SELECT regexp_match(cs_uri_query, '(?:^|&)DeviceType=([^&]*)')[1] AS devicetype, \
             count(*) AS hits FROM logs WHERE cs_uri_stem ILIKE '/Microsoft-Server-ActiveSync%' \
             AND sc_status = 403 AND sc_substatus = 7 GROUP BY 1 ORDER BY 2 DESC, 1",
    );
    assert_eq!(String::from_utf8(out).unwrap(), want);
    iisql()
        .args(["lps", "run", &library(), "IIS: Top 5 URIs", "-q"])
        .arg(sample(""))
        .assert()
        .success()
        .stdout(predicate::str::contains("(5 rows)"));
    iisql()
        .args(["lps", "run", &library(), "EVT: Logon failures"])
        .arg(sample(""))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("reads EVTLOG logs"));
    iisql()
        .args(["lps", "run", &library(), "No such query"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no query `No such query`"));
}

#[test]
fn the_logparser_dialect_for_commands_and_scripts() {
    let count = |args: &[&str]| -> String {
        let out = iisql()
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    // Each statement's FROM is the table.
    let lp = count(&[
        "--dialect",
        "logparser",
        "-q",
        "--format",
        "csv",
        "-c",
        &format!(
            "SELECT COUNT(*) FROM {} WHERE sc-status IN (401; 403)",
            sample("CAS01")
        ),
    ]);
    let sql = count(&[
        &sample("CAS01"),
        "-q",
        "--format",
        "csv",
        "-c",
        "SELECT count(*) FROM logs WHERE sc_status IN (401, 403)",
    ]);
    assert_eq!(lp, sql);
    assert_ne!(lp.lines().nth(1), Some("0"));
    // A script: a value list over two lines, INTO a file, then a query to standard output.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("q.sql");
    let csv = dir.path().join("methods.csv");
    fs::write(
        &script,
        format!(
            "// Log Parser script\nSELECT cs-method, COUNT(*) AS n INTO {} FROM {}\n\
             WHERE sc-status IN (200;\n 401) GROUP BY cs-method ORDER BY cs-method;\n\
             SELECT TOP 1 cs-method FROM {} ORDER BY cs-method;\n",
            csv.display(),
            sample(""),
            sample("")
        ),
    )
    .unwrap();
    iisql()
        .args(["--dialect", "logparser", "-q", "-f"])
        .arg(&script)
        .assert()
        .success()
        .stdout(predicate::str::contains("| GET "));
    let methods = fs::read_to_string(&csv).unwrap();
    assert!(methods.starts_with("cs_method,n\n"), "{methods}");
    assert!(methods.contains("\nPOST,"), "{methods}");
}

#[test]
fn local_time_needs_a_zone_and_like_ignores_case() {
    let q = format!(
        "SELECT QUANTIZE(TO_LOCALTIME(TO_TIMESTAMP(date, time)), 86400) AS Day, COUNT(*) AS Hits \
         FROM {} WHERE cs-uri-stem LIKE '%microsoft-server-activesync%' GROUP BY Day ORDER BY Day",
        sample("")
    );
    iisql()
        .args(["lp", "-q", &q])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("needs a time zone"))
        .stderr(predicate::str::contains("-tz:ZONE"));
    let out = iisql()
        .args(["lp", "-q", "-o:CSV", "-tz:Asia/Tokyo", &q])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    // The same in DataFusion SQL: Tokyo is 9 hours ahead; any case of the path counts.
    let want = csv_of(
        &sample(""),
        "SELECT date_trunc('day', CAST(timestamp AS TIMESTAMP) + INTERVAL '9' HOUR) AS day, \
             count(*) AS hits FROM logs \
             WHERE lower(cs_uri_stem) LIKE '%microsoft-server-activesync%' GROUP BY 1 ORDER BY 1",
    );
    assert_eq!(String::from_utf8(out).unwrap(), want);
    iisql()
        .args([&sample(""), "--time-zone", "Mars/Olympus", "-c", "SELECT 1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not an IANA time zone"));
}

#[test]
fn the_prompt_takes_log_parser_sql() {
    let out = crate::charts::repl_with(
        "--dialect logparser -q",
        &format!(
            "SELECT COUNT(*) AS n FROM {} WHERE sc-status IN (401;\n 403) AND cs-uri-stem LIKE '%activesync%';\n\\q\n",
            sample("CAS01")
        ),
    );
    let want = csv_of(
        &sample("CAS01"),
        "SELECT count(*) FROM logs WHERE sc_status IN (401, 403) \
             AND cs_uri_stem ILIKE '%activesync%'",
    );
    let n = want;
    let n = n.lines().nth(1).unwrap().to_string();
    assert!(out.contains(&format!("| {n} ")), "{n} not in {out}");
}

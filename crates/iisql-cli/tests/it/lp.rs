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

/// What a successful `iisql lp -o:CSV -q ARGS...` prints.
fn lp_csv(args: &[&str]) -> String {
    let mut all = vec!["lp", "-o:CSV", "-q"];
    all.extend(args);
    crate::stdout_of(&all)
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
            "SELECT cs_uri_stem AS \"cs-uri-stem\", count(*) AS \"Hits\" FROM logs WHERE sc_status = 200 \
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
    let out = lp_csv(&[&spec, &sample("")]);
    let want = csv_of(
        &sample(""),
        "SELECT sc_status AS \"sc-status\", count(*) AS \"Hits\" FROM logs WHERE sc_status >= 400 \
             AND cs_method = 'POST' GROUP BY 1 ORDER BY 1",
    );
    assert_eq!(out, want);
    assert!(out.contains("403,"));
    // --explain prints the translation and runs nothing.
    iisql()
        .args(["lp", "--explain", &spec])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "SELECT sc_status AS \"sc-status\", COUNT(*) AS \"Hits\" FROM logs WHERE sc_status >= 400 AND cs_method = 'POST'",
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
        .stdout(predicate::str::contains("13387"))
        .stderr(predicate::str::contains("Elements processed: 13387"));
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
        "SELECT regexp_match(cs_uri_query, '(?:^|&)DeviceType=([^&]*)')[1] AS \"DeviceType\", \
             count(*) AS \"Hits\" FROM logs WHERE cs_uri_stem ILIKE '/Microsoft-Server-ActiveSync%' \
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
        "SELECT count(*) AS \"COUNT(*)\" FROM logs WHERE sc_status IN (401, 403)",
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
    assert!(methods.starts_with("cs-method,n\n"), "{methods}");
    assert!(methods.contains("\nPOST,"), "{methods}");
}

#[test]
fn local_time_is_the_machines_zone_unless_given_and_like_ignores_case() {
    let q = format!(
        "SELECT QUANTIZE(TO_LOCALTIME(TO_TIMESTAMP(date, time)), 86400) AS Day, COUNT(*) AS Hits \
         FROM {} WHERE cs-uri-stem LIKE '%microsoft-server-activesync%' GROUP BY Day ORDER BY Day",
        sample("")
    );
    // DataFusion's SQL never assumes the machine's zone.
    iisql()
        .env("TZ", "Asia/Tokyo")
        .args([
            &sample(""),
            "-q",
            "-c",
            "SELECT to_localtime(timestamp) FROM logs LIMIT 1",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("needs a time zone"));
    let out = iisql()
        .args(["lp", "-q", "-o:CSV", "-tz:Asia/Tokyo", &q])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    // Log Parser's dialect takes the machine's zone (here from TZ), and says so once.
    let host = iisql()
        .env("TZ", "Asia/Tokyo")
        .args(["lp", "-o:CSV", &q])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "use this machine's time zone, Asia/Tokyo",
        ))
        .get_output()
        .stdout
        .clone();
    assert_eq!(host, out);
    let script = iisql()
        .env("TZ", "Asia/Tokyo")
        .args([
            "--dialect",
            "logparser",
            "--format",
            "csv",
            "-c",
            &q,
            "-c",
            &q,
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let said = String::from_utf8_lossy(&script.stderr);
    assert_eq!(said.matches("machine's time zone").count(), 1, "{said}");
    let twice = String::from_utf8(script.stdout).unwrap();
    assert_eq!(
        twice,
        format!(
            "{}{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&out)
        )
    );
    // The same in DataFusion SQL: Tokyo is 9 hours ahead; any case of the path counts.
    let want = csv_of(
        &sample(""),
        "SELECT date_trunc('day', CAST(timestamp AS TIMESTAMP) + INTERVAL '9' HOUR) AS \"Day\", \
             count(*) AS \"Hits\" FROM logs \
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

/// Aliases used in WHERE, GROUP BY, HAVING, ORDER BY and a later SELECT item, bracketed and
/// dashed aliases, a comment before the query and an unquoted `FROM /dir/*.log`: the answer of
/// the same question in DataFusion SQL, under Log Parser's column names.
#[test]
fn queries_as_administrators_write_them() {
    let lp = format!(
        "-- busiest hours\n/* avg in ms */\nselect QUANTIZE(TO_TIMESTAMP(date, time), 3600) AS Hour, \
         COUNT(*) AS [Hits in Hour], DIV(MUL(1.0, SUM(time-taken)), [Hits in Hour]) AS avg-ms \
         FROM {}/*.log WHERE sc-status < 400 GROUP BY Hour HAVING [Hits in Hour] > 20 \
         ORDER BY [Hits in Hour] DESC, Hour",
        sample("CAS01/W3SVC1")
    );
    let got = lp_csv(&[&lp]);
    let want = csv_of(
        &sample("CAS01/W3SVC1"),
        "SELECT date_bin(INTERVAL '3600' SECOND, timestamp, TIMESTAMP '1970-01-01T00:00:00Z') \
         AS \"Hour\", count(*) AS \"Hits in Hour\", 1.0 * sum(time_taken) / count(*) AS \"avg-ms\" \
         FROM logs WHERE sc_status < 400 GROUP BY 1 HAVING count(*) > 20 ORDER BY 2 DESC, 1",
    );
    assert_eq!(got, want);
    assert!(got.starts_with("Hour,Hits in Hour,avg-ms\n"), "{got}");
    assert!(got.lines().count() > 5, "{got}");
}

/// Log Parser's charts: `INTO x.gif` or `x.jpg` with `-chartType:` or `-o:CHART`.
#[test]
fn charts_into_gif_and_jpg() {
    let dir = tempfile::tempdir().unwrap();
    for (file, switch, magic) in [
        ("hits.gif", "-chartType:Column", &b"GIF89a"[..]),
        ("hits.jpg", "-o:CHART", &[0xFF, 0xD8, 0xFF][..]),
    ] {
        let path = dir.path().join(file);
        let q = format!(
            "SELECT sc-status, COUNT(*) AS Hits INTO {} FROM {}/*.log GROUP BY sc-status",
            path.display(),
            sample("CAS01/W3SVC1")
        );
        iisql().args(["lp", "-q", switch, &q]).assert().success();
        let bytes = fs::read(&path).unwrap();
        assert!(bytes.starts_with(magic), "{file}");
        assert!(bytes.len() > 1000, "{file}: {} bytes", bytes.len());
    }
}

/// `INTO status_*.csv`: one file per value of the first column, without that column, holding
/// the rows of that value (Log Parser's multiplexed output), in the dialect's script mode too.
#[test]
fn multiplexed_into_writes_one_file_per_value() {
    let dir = tempfile::tempdir().unwrap();
    let q = format!(
        "SELECT sc-status, cs-method, COUNT(*) AS Hits INTO {}/status_*.csv FROM {}/*.log \
         GROUP BY sc-status, cs-method ORDER BY sc-status, cs-method",
        dir.path().display(),
        sample("CAS01/W3SVC1")
    );
    iisql().args(["lp", "-q", &q]).assert().success();
    let mut files: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    files.sort();
    let statuses = csv_of(
        &sample("CAS01/W3SVC1"),
        "SELECT DISTINCT sc_status FROM logs ORDER BY 1",
    );
    let want: Vec<String> = statuses
        .lines()
        .skip(1)
        .map(|s| format!("status_{s}.csv"))
        .collect();
    assert_eq!(files, want);
    let got = fs::read_to_string(dir.path().join("status_401.csv")).unwrap();
    let want = csv_of(
        &sample("CAS01/W3SVC1"),
        "SELECT cs_method AS \"cs-method\", count(*) AS \"Hits\" FROM logs \
         WHERE sc_status = 401 GROUP BY 1 ORDER BY 1",
    );
    assert_eq!(got, want);
    // The same through --dialect logparser.
    let again = dir.path().join("again");
    fs::create_dir_all(&again).unwrap();
    let q = q.replace(
        &format!("{}/status_", dir.path().display()),
        &format!("{}/status_", again.display()),
    );
    iisql()
        .args(["--dialect", "logparser", "-q", "-c", &q])
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(again.join("status_401.csv")).unwrap(),
        want
    );
}

/// Function forms of real scripts: the "since one day before" idiom (a year-0 timestamp is a
/// duration), functions of the bare `time` field, and `<> NULL`.
#[test]
fn function_forms_of_real_scripts() {
    let logs = sample("CAS01/W3SVC1");
    let cases = [
        (
            "SELECT COUNT(*) AS n FROM {} WHERE TO_TIMESTAMP(date, time) > \
             SUB(TO_TIMESTAMP('2025-11-05', 'yyyy-MM-dd'), TIMESTAMP('0000-01-02', 'yyyy-MM-dd'))",
            "SELECT count(*) AS n FROM logs WHERE timestamp > TIMESTAMP '2025-11-04T00:00:00Z'",
        ),
        (
            "SELECT TO_STRING(time, 'hh') AS h, COUNT(*) AS n FROM {} GROUP BY h ORDER BY h",
            "SELECT to_char(timestamp, '%H') AS h, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1",
        ),
        (
            "SELECT TO_LOCALTIME(QUANTIZE(time, 1800)) AS q, COUNT(*) AS n FROM {} \
             GROUP BY q ORDER BY q",
            "SELECT CAST(date_bin(INTERVAL '30' MINUTE, CAST(timestamp AS TIMESTAMP) + \
             INTERVAL '9' HOUR, TIMESTAMP '1970-01-01') AS TIME) AS q, count(*) AS n FROM logs \
             GROUP BY 1 ORDER BY 1",
        ),
        (
            "Select To_date (To_localtime (To_timestamp (Date))) as [Day], count(*) as n \
             from {} group by [Day] order by [Day]",
            "SELECT CAST(timestamp AS DATE) AS \"Day\", count(*) AS n FROM logs GROUP BY 1 ORDER BY 1",
        ),
        (
            "SELECT COUNT(*) AS n FROM {} WHERE cs-username <> NULL AND cs(Referer) = NULL",
            "SELECT count(*) AS n FROM logs WHERE cs_username IS NOT NULL AND cs_referer IS NULL",
        ),
    ];
    for (lp, sql) in cases {
        let lp = lp.replace("{}", &format!("{logs}/*.log"));
        let got = lp_csv(&["-tz:Asia/Tokyo", &lp]);
        assert_eq!(got, csv_of(&logs, sql), "{lp}");
        assert!(
            got.lines().count() > 1 && !got.contains("\n0\n"),
            "{lp}: {got}"
        );
    }
}

/// An `INTO` that the command line did not write (a library query's, or one a parameter made)
/// writes only below the current folder, and says so; one written on the command line goes
/// where it says.
#[test]
fn an_into_from_a_library_or_a_parameter_stays_in_the_current_folder() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = elsewhere.path().join("stolen.csv");
    let query = |into: &str| {
        format!(
            "<LPQuery><QueryName>Q {into}</QueryName><QueryDescription>d</QueryDescription>\
             <QueryData>SELECT sc-status, COUNT(*) AS n INTO {into} FROM '[LOGFILEPATH]' \
             GROUP BY sc-status</QueryData><LogType>IISW3CLOG</LogType>\
             <QueryID>x</QueryID></LPQuery>"
        )
    };
    let xml = format!(
        "<?xml version=\"1.0\"?><ArrayOfLPQuery>{}{}{}</ArrayOfLPQuery>",
        query(&outside.display().to_string()),
        query("../up.csv"),
        query("here.csv")
    );
    let lib = dir.path().join("lib.xml");
    fs::write(&lib, xml).unwrap();
    let lps = |name: &str| {
        let mut c = iisql();
        c.current_dir(dir.path())
            .args(["lps", "run"])
            .arg(&lib)
            .arg(name)
            .arg(sample("CAS01"));
        c
    };
    for name in [
        format!("Q {}", outside.display()),
        "Q ../up.csv".to_string(),
    ] {
        lps(&name).assert().code(1).stderr(predicate::str::contains(
            "writes outside the current folder",
        ));
    }
    assert!(!outside.exists());
    assert!(!dir.path().parent().unwrap().join("up.csv").exists());
    lps("Q here.csv")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "writing here.csv (the library's query says INTO)",
        ));
    assert!(
        fs::read_to_string(dir.path().join("here.csv"))
            .unwrap()
            .starts_with("sc-status,n\n")
    );

    // A parameter that makes the INTO is held to the same rule; the command line's own is not.
    let q = format!(
        "SELECT COUNT(*) AS n INTO %out% FROM {}",
        sample("CAS01/W3SVC1/u_ex251103.log")
    );
    iisql()
        .current_dir(dir.path())
        .args(["lp", "-q", &format!("-param:out={}", outside.display()), &q])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("a parameter writes outside"));
    assert!(!outside.exists());
    let q = q.replace("%out%", &outside.display().to_string());
    iisql().args(["lp", "-q", &q]).assert().success();
    assert!(outside.exists());
}

//! The other formats from the command line: a mixed folder, `\dt`, `--input-format`, the time
//! zone of local-time logs, zip archives and Log Parser's `-i:`.

use std::fs;
use std::path::Path;

use predicates::prelude::*;

use crate::{fixtures, iisql};

/// A folder with web logs, HTTP.sys error logs and an IIS native log.
fn mixed(root: &Path) {
    let formats = fixtures().join("formats");
    for (dir, src) in [
        ("W3SVC1", fixtures().join("tree/W3SVC1/u_ex240115.log")),
        ("HTTPERR", formats.join("httperr1.log")),
        ("HTTPERR", formats.join("httperr_early.log")),
        ("W3SVC9", formats.join("in240115.log")),
    ] {
        let d = root.join(dir);
        fs::create_dir_all(&d).unwrap();
        fs::copy(&src, d.join(src.file_name().unwrap())).unwrap();
    }
}

#[test]
fn a_mixed_folder_gives_one_table_per_format() {
    let dir = tempfile::tempdir().unwrap();
    mixed(dir.path());
    iisql()
        .arg(dir.path())
        .args(["--time-zone", "UTC", "--format", "csv", "-q", "-c"])
        .arg(
            "SELECT (SELECT count(*) FROM httperr) AS httperr, (SELECT count(*) FROM iis) AS iis, \
             (SELECT count(*) > 0 FROM logs) AS web, (SELECT count(*) > 0 FROM activesync) AS eas",
        )
        .assert()
        .success()
        .stdout("httperr,iis,web,eas\n9,5,true,true\n");
    // \dt lists every table with its format and files.
    let out = crate::charts::repl_with(
        &format!("{} -q --time-zone UTC", dir.path().display()),
        "\\dt\n\\q\n",
    );
    for row in [
        "httperr",
        "HTTPERR",
        "iis ",
        "IIS",
        "logs",
        "IISW3C",
        "activesync",
    ] {
        assert!(out.contains(row), "{row}: {out}");
    }
    // The IIS native log's times are local: without the zone, `timestamp` is refused clearly.
    iisql()
        .arg(dir.path())
        .args(["-q", "-c", "SELECT min(timestamp) FROM iis"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "IIS logs are in the server's local time: give its time zone",
        ));
    iisql()
        .arg(dir.path())
        .args(["-q", "--time-zone", "Asia/Tokyo", "--format", "csv", "-c"])
        .arg("SELECT min(timestamp) AS first FROM iis")
        .assert()
        .success()
        .stdout("first\n2001-03-19T22:55:20Z\n");
}

#[test]
fn one_format_alone_is_also_logs_and_the_format_can_be_forced() {
    let formats = fixtures().join("formats");
    // An NCSA file alone: table `ncsa`, and `logs` too.
    iisql()
        .arg(formats.join("nc240115.log"))
        .args(["--format", "csv", "-q", "-c"])
        .arg("SELECT (SELECT count(*) FROM ncsa) AS a, (SELECT count(*) FROM logs) AS b")
        .assert()
        .success()
        .stdout("a,b\n5,5\n");
    // Forced: the FTP-style fixture read as generic W3C, whatever detection would say.
    iisql()
        .arg(formats.join("advanced.log"))
        .args(["--input-format", "w3c", "--format", "csv", "-q", "-c"])
        .arg("SELECT sc_status, timetakenms FROM w3c ORDER BY log_row")
        .assert()
        .success()
        .stdout("sc_status,timetakenms\n200,15.25\n403,2.0\n500,120.5\n");
    iisql()
        .arg(formats.join("advanced.log"))
        .args(["--input-format", "csv", "-c", "SELECT 1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--input-format: unknown log format `csv`",
        ));
    // Rejects of any format name the file and line.
    iisql()
        .arg(formats.join("httperr1.log"))
        .args(["-c", "SELECT count(*) FROM httperr"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "7 rows from 1 file; 1 line rejected",
        ));
}

#[test]
fn zip_archives_and_log_parser_input_formats() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("httperr.zip");
    let status = std::process::Command::new("zip")
        .current_dir(fixtures().join("formats"))
        .arg("-q")
        .arg(&archive)
        .args(["httperr1.log", "httperr_early.log"])
        .status();
    if !status.is_ok_and(|s| s.success()) {
        // The library tests build archives without the zip tool; this checks the CLI path.
        eprintln!("SKIPPED: no zip tool");
        return;
    }
    iisql()
        .arg(&archive)
        .args(["--format", "csv", "-q", "-c"])
        .arg(
            "SELECT regexp_replace(log_filename, '^.*/', '') AS member, count(*) AS n \
             FROM httperr GROUP BY 1 ORDER BY 1",
        )
        .assert()
        .success()
        .stdout("member,n\nhttperr1.log,7\nhttperr_early.log,2\n");
    // Log Parser's -i:HTTPERR and its field names.
    iisql()
        .args(["lp", "-i:HTTPERR", "-o:CSV", "-q"])
        .arg("SELECT s-reason, COUNT(*) AS n FROM [LOGFILEPATH] WHERE s-reason IS NOT NULL GROUP BY s-reason ORDER BY n DESC, s-reason")
        .arg(fixtures().join("formats/httperr1.log"))
        .assert()
        .success()
        .stdout(predicate::str::starts_with("s-reason,n\nAppOffline,1\n"));
}

#[test]
fn log_parser_queries_over_iis_native_and_ncsa_use_their_field_names() {
    let formats = fixtures().join("formats");
    iisql()
        .args(["lp", "-i:IIS", "-o:CSV", "-q", "-tz:UTC"])
        .arg("SELECT UserIP, StatusCode, BytesSent FROM [LOGFILEPATH] WHERE RequestType = 'POST'")
        .arg(formats.join("in240115.log"))
        .assert()
        .success()
        .stdout("UserIP,StatusCode,BytesSent\n10.1.2.3,403,1024\n");
    iisql()
        .args(["lp", "-i:NCSA", "-o:CSV", "-q"])
        .arg(
            "SELECT TOP 1 RemoteHostName, [User-Agent], TO_STRING(DateTime, 'yyyy-MM-dd hh:mm:ss') AS t \
             FROM [LOGFILEPATH] WHERE StatusCode = 403",
        )
        .arg(formats.join("nc240115.log"))
        .assert()
        .success()
        .stdout("RemoteHostName,User-Agent,t\n10.1.2.3,Apple-iPhone15C2/2101.123,2024-01-15 01:10:00\n");
}

//! The other formats from the library: a server's `LogFiles` folder told apart by content,
//! compressed copies read like the plain files, and zip archives read member by member.

use std::io::Write;
use std::path::{Path, PathBuf};

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;
use iisql::iis_log::LogFormat;

use crate::fixtures;

fn formats() -> PathBuf {
    fixtures().join("formats")
}

/// A `LogFiles` folder as a Windows server leaves it: web logs, HTTP.sys errors, an FTP site,
/// plus an old IIS native log, an NCSA log and Exchange's and Advanced Logging's W3C logs.
fn log_files(root: &Path) {
    let put = |dir: &str, name: &str, bytes: &[u8]| {
        let d = root.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), bytes).unwrap();
    };
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/sample/CAS01/W3SVC1");
    let mut days: Vec<_> = std::fs::read_dir(&sample)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    days.sort();
    let web = std::fs::read(&days[0]).unwrap();
    put("W3SVC1", "u_ex240115.log", &web);
    for f in ["httperr1.log", "httperr_early.log", "httperr_new.log"] {
        put("HTTPERR", f, &std::fs::read(formats().join(f)).unwrap());
    }
    put(
        "FTPSVC1",
        "u_ex240115.log",
        b"#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n\
#Date: 2024-01-15 02:00:00\r\n\
#Fields: date time c-ip cs-username s-ip s-port cs-method cs-uri-stem sc-status sc-win32-status sc-substatus x-session x-fullpath\r\n\
2024-01-15 02:00:00 10.1.2.3 - 10.0.0.10 21 ControlChannelOpened - - 0 0 9eb0dc66-8734-4c46-81f0-e6c3cd6b5982 -\r\n\
2024-01-15 02:00:04 10.1.2.3 - 10.0.0.10 21 USER ftpuser 331 0 0 9eb0dc66-8734-4c46-81f0-e6c3cd6b5982 -\r\n",
    );
    for (dir, f) in [
        ("W3SVC2", "in240115.log"),
        ("W3SVC3", "nc240115.log"),
        ("MessageTracking", "MSGTRK2024011502-1.LOG"),
        ("AdvancedLogs", "advanced.log"),
    ] {
        put(dir, f, &std::fs::read(formats().join(f)).unwrap());
    }
    // Not logs: ignored.
    put("W3SVC1", "notes.txt", b"not a log\n");
}

async fn rows(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}

async fn text(ctx: &SessionContext, sql: &str) -> String {
    pretty_format_batches(&rows(ctx, sql).await)
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_files_folder_registers_one_table_per_format() {
    let dir = tempfile::tempdir().unwrap();
    log_files(dir.path());
    let ctx = iisql::new_context().unwrap();
    let tz: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
    let opts = iisql::IisW3cOptions::default().with_time_zone(tz);
    let tables = iisql::register_detected(&ctx, &[dir.path().display().to_string()], opts)
        .await
        .unwrap();
    let found: Vec<(&str, LogFormat, usize)> = tables
        .iter()
        .map(|t| (t.name.as_str(), t.format, t.inputs.len()))
        .collect();
    assert_eq!(
        found,
        [
            ("ftp", LogFormat::IisW3c, 1),
            ("httperr", LogFormat::Httperr, 3),
            ("iis", LogFormat::Iis, 1),
            ("logs", LogFormat::IisW3c, 1),
            ("ncsa", LogFormat::Ncsa, 1),
            ("w3c", LogFormat::W3c, 2),
        ]
    );
    // Each table holds its own rows.
    let counts = text(
        &ctx,
        "SELECT (SELECT count(*) FROM ftp) AS ftp, (SELECT count(*) FROM httperr) AS httperr, \
         (SELECT count(*) FROM iis) AS iis, (SELECT count(*) FROM ncsa) AS ncsa, \
         (SELECT count(*) FROM w3c) AS w3c",
    )
    .await;
    assert!(
        counts.contains("| 2   | 10      | 5   | 5    | 6   |"),
        "{counts}"
    );
    let web = text(&ctx, "SELECT count(*) > 1000 AS many FROM logs").await;
    assert!(web.contains("true"), "{web}");
    // The two generic W3C files share one table: every field of both is a column.
    let w3c = text(
        &ctx,
        "SELECT count(message_subject) AS subjects, count(timetakenms) AS timed, \
         count(timestamp) AS stamped FROM w3c",
    )
    .await;
    assert!(w3c.contains("| 3        | 3     | 6       |"), "{w3c}");
    // The IIS native log got the zone given.
    let native = text(&ctx, "SELECT timestamp FROM iis WHERE user_ip = '10.1.2.3'").await;
    assert!(native.contains("2024-01-15T01:10:00Z"), "{native}");
}

fn compress(kind: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match kind {
        "gz" => {
            let mut w = flate2::write::GzEncoder::new(&mut out, flate2::Compression::default());
            w.write_all(bytes).unwrap();
            w.finish().unwrap();
        }
        "bz2" => {
            let mut w = bzip2::write::BzEncoder::new(&mut out, bzip2::Compression::default());
            w.write_all(bytes).unwrap();
            w.finish().unwrap();
        }
        "xz" => {
            let mut w = liblzma::write::XzEncoder::new(&mut out, 6);
            w.write_all(bytes).unwrap();
            w.finish().unwrap();
        }
        "zst" => out = zstd::encode_all(bytes, 3).unwrap(),
        _ => unreachable!(),
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_copies_read_like_the_plain_files_in_every_format() {
    for (format, name) in [
        (LogFormat::IisW3c, "../tree/W3SVC1/u_ex240115.log"),
        (LogFormat::Httperr, "httperr1.log"),
        (LogFormat::Iis, "in240115.log"),
        (LogFormat::Ncsa, "nc240115.log"),
        (LogFormat::W3c, "MSGTRK2024011502-1.LOG"),
    ] {
        let plain_path = formats().join(name);
        let plain = std::fs::read(&plain_path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let dir = tempfile::tempdir().unwrap();
        let opts = iisql::IisW3cOptions::default()
            .with_format(format)
            .with_time_zone(chrono_tz::UTC);
        let query = |t: &str| format!("SELECT * EXCEPT (log_filename) FROM {t} ORDER BY log_row");
        let ctx = iisql::new_context().unwrap();
        iisql::register_logs(
            &ctx,
            "plain",
            &[plain_path.display().to_string()],
            opts.clone(),
        )
        .await
        .unwrap();
        let expected = text(&ctx, &query("plain")).await;
        assert!(expected.lines().count() > 5, "{name}: {expected}");
        for ext in ["gz", "bz2", "xz", "zst"] {
            let path = dir.path().join(format!("copy.log.{ext}"));
            std::fs::write(&path, compress(ext, &plain)).unwrap();
            let ctx = iisql::new_context().unwrap();
            // By extension, in a folder walk and as a named file.
            for input in [dir.path().display().to_string(), path.display().to_string()] {
                let _ = ctx.deregister_table("c");
                iisql::register_logs(&ctx, "c", &[input], opts.clone())
                    .await
                    .unwrap();
                assert_eq!(text(&ctx, &query("c")).await, expected, "{name}.{ext}");
            }
            std::fs::remove_file(&path).unwrap();
        }
    }
}

fn zip_of(path: &Path, members: &[(&str, &[u8])]) {
    let file = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        z.start_file(*name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zip_archives_are_read_member_by_member() {
    let dir = tempfile::tempdir().unwrap();
    let web = std::fs::read(fixtures().join("tree/W3SVC1/u_ex240115.log")).unwrap();
    let httperr = std::fs::read(formats().join("httperr1.log")).unwrap();
    let archive = dir.path().join("logs-2024-01.zip");
    zip_of(
        &archive,
        &[
            ("W3SVC1/u_ex240115.log", &web),
            ("W3SVC1/u_ex240116.log", &web),
            ("HTTPERR/httperr1.log", &httperr),
            ("README.txt", b"not a log"),
        ],
    );
    let ctx = iisql::new_context().unwrap();
    let log = iisql::scan_log(&ctx);
    let tables = iisql::register_detected(
        &ctx,
        &[dir.path().display().to_string()],
        Default::default(),
    )
    .await
    .unwrap();
    let names: Vec<_> = tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["httperr", "logs"]);
    let per_member = text(
        &ctx,
        "SELECT regexp_replace(log_filename, '^.*/logs-2024-01.zip/', '') AS member, count(*) AS n \
         FROM logs GROUP BY 1 ORDER BY 1",
    )
    .await;
    let plain_ctx = iisql::new_context().unwrap();
    iisql::register_logs(
        &plain_ctx,
        "p",
        &[fixtures()
            .join("tree/W3SVC1/u_ex240115.log")
            .display()
            .to_string()],
        Default::default(),
    )
    .await
    .unwrap();
    let n = text(&plain_ctx, "SELECT count(*) AS n FROM p").await;
    let n: String = n
        .lines()
        .nth(3)
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert!(
        per_member.contains(&format!("| W3SVC1/u_ex240115.log | {n} ")),
        "{per_member}"
    );
    assert!(
        per_member.contains(&format!("| W3SVC1/u_ex240116.log | {n} ")),
        "{per_member}"
    );
    assert!(!per_member.contains("httperr"), "{per_member}");
    let reasons = text(
        &ctx,
        "SELECT s_reason, count(*) AS n FROM httperr WHERE s_reason IS NOT NULL GROUP BY 1 ORDER BY 1",
    )
    .await;
    assert!(reasons.contains("| Timer_ConnectionIdle "), "{reasons}");
    // Rejects name the member.
    let report = log.snapshot();
    assert!(
        report
            .rejects
            .iter()
            .any(|r| r.file.ends_with("logs-2024-01.zip/HTTPERR/httperr1.log") && r.line == 12),
        "{}",
        report.summary()
    );
    // SQL over an archive reads all its log members.
    let sql_ctx = iisql::new_context().unwrap();
    let q = format!(
        "CREATE EXTERNAL TABLE z STORED AS IISW3C LOCATION '{}'",
        archive.display()
    );
    sql_ctx.sql(&q).await.unwrap();
    let all = text(
        &sql_ctx,
        "SELECT count(DISTINCT log_filename) AS files FROM z",
    )
    .await;
    assert!(all.contains("| 3 "), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_w3c_types_merge_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let head = "#Software: Some Appliance\n#Fields: date time status note\n";
    std::fs::write(
        dir.path().join("a.log"),
        format!("{head}2024-01-15 00:00:00 - -\n2024-01-15 00:00:01 - 7\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.log"),
        format!("{head}2024-01-15 00:00:02 200 x\n2024-01-15 00:00:03 1.5 8\n"),
    )
    .unwrap();
    let ctx = iisql::new_context().unwrap();
    let tables = iisql::register_detected(
        &ctx,
        &[dir.path().display().to_string()],
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(tables[0].name, "w3c");
    let types = text(
        &ctx,
        "SELECT arrow_typeof(status) AS s, arrow_typeof(note) AS n, sum(status) AS total FROM w3c GROUP BY 1, 2",
    )
    .await;
    // Only NULLs in one file say nothing; an integer and a decimal make a decimal; a number
    // and a word make text.
    assert!(types.contains("| Float64 | Utf8View | 201.5 |"), "{types}");
}

/// A gzip member of a .zip (`u_ex240117.log.gz`) is read through gzip, its rows those of the
/// plain log; a member of another compression is refused with its name, not read as text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_members_of_a_zip_are_decompressed() {
    let dir = tempfile::tempdir().unwrap();
    let web = std::fs::read(fixtures().join("tree/W3SVC1/u_ex240115.log")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&web).unwrap();
    let gz = gz.finish().unwrap();
    zip_of(
        &dir.path().join("a.zip"),
        &[
            ("W3SVC1/u_ex240115.log", &web),
            ("W3SVC1/u_ex240117.log.gz", &gz),
        ],
    );
    let ctx = iisql::new_context().unwrap();
    let log = iisql::scan_log(&ctx);
    iisql::register_detected(
        &ctx,
        &[dir.path().display().to_string()],
        Default::default(),
    )
    .await
    .unwrap();
    let per_member = text(
        &ctx,
        "SELECT regexp_replace(log_filename, '^.*/a.zip/W3SVC1/', '') AS member, count(*) AS n, \
         count(DISTINCT cs_uri_stem) AS stems FROM logs GROUP BY 1 ORDER BY 1",
    )
    .await;
    let rows: Vec<&str> = per_member.lines().skip(3).take(2).collect();
    assert_eq!(rows.len(), 2, "{per_member}");
    let counts = |r: &str| r.split('|').skip(2).collect::<Vec<_>>().join("|");
    assert_eq!(counts(rows[0]), counts(rows[1]), "{per_member}");
    assert!(rows[1].contains("u_ex240117.log.gz"), "{per_member}");
    // The same lines rejected in both members (the fixture has some), none for invalid UTF-8.
    let report = log.snapshot();
    assert_eq!(report.stats.rejected % 2, 0);
    assert_eq!(report.stats.lossy_lines, 0);

    let zst = dir.path().join("z");
    std::fs::create_dir(&zst).unwrap();
    zip_of(&zst.join("b.zip"), &[("u_ex240118.log.zst", &gz)]);
    let ctx = iisql::new_context().unwrap();
    let e = match iisql::register_detected(&ctx, &[zst.display().to_string()], Default::default())
        .await
    {
        Ok(_) => ctx
            .sql("SELECT count(*) FROM logs")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap_err()
            .to_string(),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("u_ex240118.log.zst") && e.contains("unpack"),
        "{e}"
    );
}

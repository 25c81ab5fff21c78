//! `iisql convert` and `--checkpoint`: Parquet out, hive partitions, incremental runs that
//! neither duplicate nor skip a row.

use std::fs;
use std::path::Path;

use predicates::prelude::*;

use crate::{iisql, root};

fn sample_day() -> Vec<u8> {
    fs::read(root().join("data/sample/CAS01/W3SVC1/u_ex251103.log")).unwrap()
}

/// A summary of table `t` that both sides of a conversion must agree on.
fn summary_sql(t: &str) -> String {
    format!(
        "SELECT count(*) AS n, count(DISTINCT log_row) AS r, sum(sc_status) AS s, \
         sum(length(cs_uri_query)) AS q, min(timestamp) AS t0, max(timestamp) AS t1 FROM {t}"
    )
}

/// The summary of a Parquet folder, read back by iisql's own Parquet reader.
fn summary_of_parquet(dir: &Path) -> String {
    crate::parquet_csv(dir, &summary_sql("p"))
}

#[test]
fn convert_writes_hive_partitions_with_the_tables_types() {
    let out = tempfile::tempdir().unwrap();
    let to = out.path().join("pq");
    iisql()
        .arg("convert")
        .arg(root().join("data/sample/CAS01"))
        .args(["--to"])
        .arg(&to)
        .assert()
        .success()
        .stderr(predicate::str::contains("3872 rows from 2 files -> "));
    assert!(to.join("date=2025-11-03").is_dir());
    assert!(to.join("date=2025-11-04").is_dir());
    // The same rows and values as the logs, the types intact.
    let sample = root().join("data/sample/CAS01").display().to_string();
    let logs = crate::stdout_of(&[&sample, "-q", "--format", "csv", "-c", &summary_sql("logs")]);
    assert_eq!(summary_of_parquet(&to).lines().nth(1), logs.lines().nth(1));
    iisql()
        .args(["-q", "--format", "csv", "-c"])
        .arg(format!(
            "CREATE EXTERNAL TABLE p STORED AS PARQUET LOCATION '{}/'",
            to.display()
        ))
        .arg("-c")
        .arg(
            "SELECT arrow_typeof(timestamp) AS t, arrow_typeof(sc_status) AS s, \
             arrow_typeof(time_taken) AS tt, arrow_typeof(cs_uri_stem) AS u FROM p LIMIT 1",
        )
        .assert()
        .success()
        .stdout("t,s,tt,u\n\"Timestamp(ms, \"\"UTC\"\")\",Int32,Int64,Utf8View\n");
    // A partition column that is not one is refused before anything is written.
    iisql()
        .arg("convert")
        .arg(root().join("data/sample/CAS01"))
        .args(["--partition-by", "date,nope", "--to"])
        .arg(out.path().join("bad"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--partition-by nope: `logs` has no such column",
        ));
    assert!(!out.path().join("bad").exists());
}

#[test]
fn repeated_checkpointed_conversions_equal_one_full_conversion() {
    let day = sample_day();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir_all(&input).unwrap();
    let log = input.join("u_ex251103.log");
    let cp = dir.path().join("cp.json");
    let to = dir.path().join("inc");
    let convert = |expect: &str| {
        iisql()
            .arg("convert")
            .arg(&input)
            .args(["--partition-by", "none", "--checkpoint"])
            .arg(&cp)
            .arg("--to")
            .arg(&to)
            .assert()
            .success()
            .stderr(predicate::str::contains(expect.to_string()));
    };
    // The file as it grows: cut in the middle of lines, as a server writing it would leave it.
    fs::write(&log, &day[..200_000]).unwrap();
    convert("rows from 1 files");
    let first = fs::read_to_string(&cp).unwrap();
    // A failed run (a query error here: no such table) leaves the checkpoint as it was.
    fs::write(&log, &day[..400_000]).unwrap();
    iisql()
        .arg("convert")
        .arg(&input)
        .args(["--from-table", "nope", "--checkpoint"])
        .arg(&cp)
        .arg("--to")
        .arg(&to)
        .assert()
        .code(1);
    assert_eq!(fs::read_to_string(&cp).unwrap(), first);
    convert("rows from 1 files");
    fs::write(&log, &day).unwrap();
    convert("rows from 1 files");
    convert("nothing new since the checkpoint");
    // A second file appears.
    fs::write(input.join("u_ex251104.log"), &day).unwrap();
    convert("2017 rows from 1 files");

    // One full conversion of the same final files.
    let full = dir.path().join("full");
    iisql()
        .arg("convert")
        .arg(&input)
        .args(["--partition-by", "none", "--to"])
        .arg(&full)
        .assert()
        .success();
    let (a, b) = (summary_of_parquet(&to), summary_of_parquet(&full));
    assert_eq!(a, b);
    assert!(a.contains("\n4034,2017,"), "{a}");
}

#[test]
fn checkpoints_work_for_queries_and_notice_replaced_files() {
    let day = sample_day();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("u_ex251103.log");
    let cp = dir.path().join("cp.json");
    let count = |expect: &str| {
        iisql()
            .arg(dir.path())
            .arg("--checkpoint")
            .arg(&cp)
            .args([
                "-q",
                "--format",
                "csv",
                "-c",
                "SELECT count(*) AS n FROM logs",
            ])
            .assert()
            .success()
            .stdout(format!("n\n{expect}\n"))
            .get_output()
            .stderr
            .clone()
    };
    fs::write(&log, &day[..300_000]).unwrap();
    let n1: u64 = {
        let out = iisql()
            .arg(&log)
            .args(["-q", "--format", "csv", "-c", "SELECT count(*) FROM logs"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    };
    count(&n1.to_string());
    count("0");
    fs::write(&log, &day).unwrap();
    count(&(2017 - n1).to_string());
    // Replaced by another log (its first bytes differ): read again from the start.
    let other = fs::read(root().join("data/sample/CAS02/W3SVC1/u_ex251103.log")).unwrap();
    fs::write(&log, &other).unwrap();
    let out = iisql()
        .arg(dir.path())
        .arg("--checkpoint")
        .arg(&cp)
        .args([
            "--format",
            "csv",
            "-c",
            "SELECT count(*) > 0 AS some FROM logs",
        ])
        .assert()
        .success()
        .stdout("some\ntrue\n")
        .get_output()
        .stderr
        .clone();
    assert!(
        String::from_utf8_lossy(&out).contains("rotated or replaced since the checkpoint"),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

/// `--memory-limit`: the sort by timestamp spills to temporary files beyond it, and the
/// conversion holds the same rows as one with room to spare.
#[test]
fn a_memory_limit_makes_the_sort_spill_and_keeps_every_row() {
    let sample = root().join("data/sample");
    let sample = sample.to_str().unwrap();
    // 96 MB is below what sorting the 4 MB sample holds (its text columns share read
    // buffers, which DataFusion counts per column): the plan must spill.
    let plan = crate::stdout_of(&[
        sample,
        "-q",
        "--memory-limit",
        "96MB",
        "-c",
        "EXPLAIN ANALYZE SELECT * FROM logs ORDER BY timestamp",
    ]);
    let spills: u64 = plan
        .split("spill_count=")
        .skip(1)
        .filter_map(|s| {
            s.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert!(spills > 0, "{plan}");

    let dir = tempfile::tempdir().unwrap();
    let tight = dir.path().join("tight");
    let roomy = dir.path().join("roomy");
    for (to, limit) in [(&tight, "96MB"), (&roomy, "4GiB")] {
        iisql()
            .args(["convert", sample, "--to"])
            .arg(to)
            .args(["--memory-limit", limit, "-q"])
            .assert()
            .success();
    }
    let want = crate::stdout_of(&[sample, "-q", "--format", "csv", "-c", &summary_sql("logs")]);
    assert_eq!(summary_of_parquet(&tight), want);
    assert_eq!(summary_of_parquet(&roomy), want);

    iisql()
        .args([sample, "--memory-limit", "lots", "-c", "SELECT 1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--memory-limit: cannot read `lots`",
        ));
}

/// `diagnose` under a limit far below its default (256 MiB) keeps to it and finds exactly what
/// it finds with room to spare: its sorts' merge reservations are fitted to the pool (10 MB per
/// sort and partition by default, which alone filled a pool of 32 MB and failed the run).
#[test]
fn diagnose_under_a_tight_memory_limit_finds_the_same() {
    let sample = root().join("data/sample");
    // The floor grows with the partitions (each sort needs a batch): pinned for any machine.
    let roomy = diagnosis_json_with(&sample, &["--memory-limit", "4GiB", "--partitions", "2"]);
    let tight = diagnosis_json_with(&sample, &["--memory-limit", "16MB", "--partitions", "2"]);
    assert_eq!(tight, roomy);
}

/// A row without a value for a partition column goes to Hive's NULL folder, which Spark, Trino
/// and pyarrow read as NULL; the others keep their values as folder names.
#[test]
fn rows_without_a_partition_value_go_to_the_hive_null_folder() {
    let dir = tempfile::tempdir().unwrap();
    let header = "#Software: Microsoft Internet Information Services 10.0\n";
    fs::write(
        dir.path().join("u_ex251103.log"),
        format!("{header}#Fields: date time cs-method cs-uri-stem sc-status\n2025-11-03 10:00:00 GET /a 200\n"),
    )
    .unwrap();
    fs::write(
        dir.path().join("u_ex251104.log"),
        format!(
            "{header}#Fields: date time s-computername cs-method cs-uri-stem sc-status\n\
             2025-11-04 10:00:00 CAS9 GET /b 200\n2025-11-04 10:00:01 CAS9 GET /c 404\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    iisql()
        .arg("convert")
        .arg(dir.path())
        .arg("--to")
        .arg(&out)
        .args(["--partition-by", "date,s_computername", "-q"])
        .assert()
        .success();
    let mut folders: Vec<String> = walk(&out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .map(|p| {
            let rel = p.parent().unwrap().strip_prefix(&out).unwrap();
            rel.display().to_string()
        })
        .collect();
    folders.sort();
    assert_eq!(
        folders,
        [
            "date=2025-11-03/s_computername=__HIVE_DEFAULT_PARTITION__",
            "date=2025-11-04/s_computername=CAS9"
        ]
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The JSON of `iisql diagnose PATH`, without what only logs have (files and rejected lines).
fn diagnosis_json(path: &Path) -> serde_json::Value {
    diagnosis_json_with(path, &[])
}

/// [`diagnosis_json`] with more arguments.
fn diagnosis_json_with(path: &Path, args: &[&str]) -> serde_json::Value {
    let out = iisql()
        .arg("diagnose")
        .arg(path)
        .args(["--format", "json", "-q"])
        .args(args)
        .output()
        .unwrap();
    // 1: findings.
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("files");
    o.remove("rejected_lines");
    v
}

#[test]
fn a_lake_from_convert_is_diagnosed_as_the_logs_it_came_from() {
    let out = tempfile::tempdir().unwrap();
    let lake = out.path().join("lake");
    let sample = root().join("data/sample");
    iisql()
        .arg("convert")
        .arg(&sample)
        .arg("--to")
        .arg(&lake)
        .args(["--partition-by", "date,s_computername", "-q"])
        .assert()
        .success();
    let from_logs = diagnosis_json(&sample);
    assert!(from_logs["findings"].as_array().unwrap().len() >= 15);
    assert_eq!(diagnosis_json(&lake), from_logs);
    // The lake is recognised by content as `logs`, with its views, for SQL too.
    let answered = |path: &Path| {
        crate::stdout_of(&[
            path.to_str().unwrap(),
            "-q",
            "--format",
            "csv",
            "-c",
            "SELECT count(*) AS n FROM activesync WHERE followed_by_success",
        ])
    };
    let (n, m) = (answered(&lake), answered(&sample));
    assert_eq!(n, m);
    assert!(n.lines().nth(1).unwrap().parse::<u64>().unwrap() > 1000);
    // A folder that mixes Parquet files and logs is not a lake: its logs are read.
    fs::copy(
        root().join("data/sample/CAS01/W3SVC1/u_ex251103.log"),
        lake.join("u_ex251103.log"),
    )
    .unwrap();
    let mixed = crate::stdout_of(&[
        lake.to_str().unwrap(),
        "-q",
        "--format",
        "csv",
        "-c",
        "SELECT count(DISTINCT log_filename) AS n FROM logs",
    ]);
    assert_eq!(mixed, "n\n1\n");
}

/// A row's (timestamp, log_filename, log_row).
type OrderKey = (i64, String, i64);

/// The [`OrderKey`] of every row of the Parquet file at `path`, in the order the file holds
/// them.
fn order_keys_of(path: &Path) -> Vec<OrderKey> {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{DataType, Int64Type};
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let mut keys = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let int = |name: &str| {
            let c = datafusion::arrow::compute::cast(
                batch.column_by_name(name).unwrap(),
                &DataType::Int64,
            )
            .unwrap();
            c.as_primitive::<Int64Type>().clone()
        };
        let (t, r) = (int("timestamp"), int("log_row"));
        let f = datafusion::arrow::compute::cast(
            batch.column_by_name("log_filename").unwrap(),
            &DataType::Utf8,
        )
        .unwrap();
        let f = f.as_string::<i32>();
        for i in 0..batch.num_rows() {
            assert!(!t.is_null(i) && !f.is_null(i) && !r.is_null(i));
            keys.push((t.value(i), f.value(i).to_string(), r.value(i)));
        }
    }
    keys
}

/// The Parquet files below `dir`, by folder relative to `dir`, each with its rows' order keys.
fn lake_files(dir: &Path) -> Vec<(String, Vec<OrderKey>)> {
    let mut files: Vec<_> = walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .map(|p| {
            let folder = p.parent().unwrap().strip_prefix(dir).unwrap();
            (folder.display().to_string(), order_keys_of(&p))
        })
        .collect();
    files.sort();
    files
}

/// Asserts that every file of the lake is sorted by time, file and row, and that the lake
/// holds each of `lines` lines of the input exactly once; returns the files per folder.
fn assert_sorted_files_with_every_row_once(
    out: &Path,
    lines: usize,
) -> std::collections::BTreeMap<String, usize> {
    let mut per_folder = std::collections::BTreeMap::new();
    let mut all = Vec::new();
    for (folder, keys) in lake_files(out) {
        assert!(keys.is_sorted(), "{folder}: {keys:?}");
        *per_folder.entry(folder).or_insert(0) += 1;
        all.extend(keys);
    }
    let n = all.len();
    all.sort();
    all.dedup_by(|a, b| a.1 == b.1 && a.2 == b.2);
    assert_eq!(
        (n, all.len()),
        (lines, lines),
        "rows written, distinct lines"
    );
    per_folder
}

/// A W3C log of `times` (seconds after 2025-11-03 23:58:00), one request each.
fn log_at(times: &[u32]) -> String {
    let mut s = String::from(
        "#Software: Microsoft Internet Information Services 10.0\n\
         #Fields: date time s-computername cs-method cs-uri-stem sc-status time-taken\n",
    );
    for (i, t) in times.iter().enumerate() {
        let (day, secs) = (
            3 + (t + 23 * 3600 + 58 * 60) / 86_400,
            (t + 86_280) % 86_400,
        );
        s.push_str(&format!(
            "2025-11-{day:02} {:02}:{:02}:{:02} CAS1 GET /r{i} 200 {i}\n",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        ));
    }
    s
}

#[test]
fn convert_writes_the_logs_runs_each_file_sorted_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir_all(&input).unwrap();
    // In order across midnight; a second server over the same minutes; a third that steps
    // back in time twice (a late line, then a block written late).
    let a: Vec<u32> = (0..400).collect();
    let b: Vec<u32> = (0..300).map(|t| t * 2 + 1).collect();
    let c: Vec<u32> = (0..100)
        .chain([50])
        .chain(100..150)
        .chain(120..130)
        .collect();
    fs::write(input.join("a.log"), log_at(&a)).unwrap();
    fs::write(input.join("b.log"), log_at(&b)).unwrap();
    fs::write(input.join("c.log"), log_at(&c)).unwrap();
    let lines = a.len() + b.len() + c.len();
    let out = dir.path().join("lake");
    iisql()
        .args(["convert", "-q", "--to"])
        .arg(&out)
        .arg(&input)
        .assert()
        .success();
    let folders = assert_sorted_files_with_every_row_once(&out, lines);
    assert_eq!(
        folders.keys().collect::<Vec<_>>(),
        ["date=2025-11-03", "date=2025-11-04"]
    );
    // The step backs start runs of their own: more files than servers on the first day.
    assert!(folders["date=2025-11-03"] > 3, "{folders:?}");
    // The same rows and values as the logs.
    let logs = crate::stdout_of(&[
        input.to_str().unwrap(),
        "-q",
        "--format",
        "csv",
        "-c",
        &summary_sql("logs"),
    ]);
    assert_eq!(summary_of_parquet(&out), logs);
}

#[test]
fn input_far_out_of_time_order_is_sorted_instead_and_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir_all(&input).unwrap();
    // Every other line goes back in time: runs would make a file of every few rows. They
    // give up in the first batch, long before the end of the file.
    let times: Vec<u32> = (0..300)
        .map(|i| if i % 2 == 0 { i } else { 300 - i })
        .chain((0..30_000).map(|i| 300 + i / 10))
        .collect();
    let mut text = log_at(&times);
    // A value that cannot be read: reported once, though the input is read twice.
    text.push_str("2025-11-04 00:30:00 CAS1 GET /bad notastatus 1\n");
    fs::write(input.join("u_ex251103.log"), text).unwrap();
    let out = dir.path().join("lake");
    let cp = dir.path().join("cp.json");
    let convert = || {
        iisql()
            .args(["convert", "--checkpoint"])
            .arg(&cp)
            .arg("--to")
            .arg(&out)
            .arg(&input)
            .assert()
            .success()
    };
    convert()
        .stderr(predicate::str::contains(
            "30301 rows from 1 files -> 2 Parquet files",
        ))
        .stderr(predicate::str::contains(
            "30,301 rows from 1 file; 1 unreadable value read as NULL",
        ));
    let folders = assert_sorted_files_with_every_row_once(&out, 30_301);
    // The sort writes one file per folder.
    assert!(folders.values().all(|&n| n == 1), "{folders:?}");
    // The input was read to its end once the sort read it again: the checkpoint moved on.
    convert().stderr(predicate::str::contains("nothing new since the checkpoint"));
    assert_sorted_files_with_every_row_once(&out, 30_301);
}

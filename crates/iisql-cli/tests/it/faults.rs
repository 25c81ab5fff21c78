//! Faults injected into `iisql convert --checkpoint`: `kill -9` at pseudo-random moments across
//! repeated runs over a growing folder, a disk that fills up at any write, a failing run, and
//! two runs on one checkpoint at once.
//! After the next run that completes, the output must hold every line exactly once: the same
//! rows as one full conversion of the final files.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::{iisql, root};

/// Per log file and line, how many rows the Parquet folder holds, with the rows' total
/// status and query length: equal only when no line is missing or doubled.
fn rows_of(dir: &Path) -> String {
    crate::parquet_csv(
        dir,
        "SELECT count(*) AS n, count(DISTINCT concat(log_filename, ':', CAST(log_row AS VARCHAR))) \
         AS lines, sum(sc_status) AS s, sum(length(cs_uri_query)) AS q FROM p",
    )
}

/// A small deterministic generator of kill delays (the seed is printed on failure).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// `iisql convert IN --checkpoint CP --to OUT` as a child process.
fn convert_command(input: &Path, cp: &Path, to: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin!("iisql"));
    c.env("IISQL_HISTORY", "/dev/null")
        .arg("convert")
        .arg(input)
        .args(["--partition-by", "none", "-q", "--checkpoint"])
        .arg(cp)
        .arg("--to")
        .arg(to)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// `iisql convert IN -q --checkpoint CP --to OUT`, to be run to its end.
fn checkpointed_convert(input: &Path, cp: &Path, to: &Path) -> assert_cmd::Command {
    let mut c = iisql();
    c.arg("convert")
        .arg(input)
        .args(["-q", "--checkpoint"])
        .arg(cp)
        .arg("--to")
        .arg(to);
    c
}

/// Runs the checkpointed conversion of `input` to `to` once more, to its end, and checks that
/// `to` then holds what one full conversion of `input` holds (beside `to`, in `full`).
fn next_run_equals_a_full_conversion(input: &Path, cp: &Path, to: &Path, what: &str) {
    let out = convert_command(input, cp, to).output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let full = to.with_file_name("full");
    iisql()
        .arg("convert")
        .arg(input)
        .args(["--partition-by", "none", "-q", "--to"])
        .arg(&full)
        .assert()
        .success();
    let (got, want) = (rows_of(to), rows_of(&full));
    assert_eq!(got, want, "{what}");
    assert!(want.lines().nth(1).is_some_and(|r| !r.starts_with("0,")));
}

#[test]
fn kill_9_at_any_moment_neither_loses_nor_doubles_a_line() {
    let day = fs::read(root().join("data/sample/CAS01/W3SVC1/u_ex251103.log")).unwrap();
    let next_day = fs::read(root().join("data/sample/CAS02/W3SVC1/u_ex251104.log")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir_all(&input).unwrap();
    let cp = dir.path().join("cp.json");
    let to = dir.path().join("lake");

    // How long an uninterrupted run takes here: kills land anywhere within it.
    let steps = 144;
    fs::write(
        input.join("u_ex251103.log"),
        &day[..day.len() / (steps + 1)],
    )
    .unwrap();
    let started = Instant::now();
    let out = convert_command(&input, &cp, &to).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let span = (started.elapsed().as_millis() as u64).max(50);

    let seed = 0x1157_0001;
    let mut rng = Lcg(seed);
    let mut killed = 0;
    for step in 1..=steps {
        // The logs grow, cut mid-line as a server leaves them; a second file appears midway.
        let cut = (day.len() * (step + 1) / (steps + 1)).min(day.len());
        fs::write(input.join("u_ex251103.log"), &day[..cut]).unwrap();
        if step > steps / 2 {
            let cut = next_day.len() * (step - steps / 2) / (steps / 2);
            fs::write(input.join("u_ex251104.log"), &next_day[..cut]).unwrap();
        }
        let mut child = convert_command(&input, &cp, &to).spawn().unwrap();
        // Most kills near the end of a run, where the output is complete and the checkpoint
        // not yet saved; some at any moment.
        let delay = if step % 4 == 0 {
            rng.next(span)
        } else {
            span / 2 + rng.next(span)
        };
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        let status = child.wait().unwrap();
        assert!(
            status.success() || status.code().is_none(),
            "seed {seed:#x}, step {step}: a run failed on its own: {status}"
        );
    }
    // Some runs were killed, some finished: both kinds of moments were tried.
    assert!(killed > 0 && killed < steps, "{killed} of {steps} killed");

    // The next run completes; then the output equals one full conversion.
    next_run_equals_a_full_conversion(
        &input,
        &cp,
        &to,
        &format!("seed {seed:#x}, {killed} of {steps} runs killed"),
    );
    // No staging folder is left beside the output.
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("staging"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_second_run_on_a_checkpoint_in_use_is_refused_and_changes_nothing() {
    let day = fs::read(root().join("data/sample/CAS01/W3SVC1/u_ex251103.log")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir_all(&input).unwrap();
    fs::write(input.join("u_ex251103.log"), &day).unwrap();
    let cp = dir.path().join("cp.json");
    let to = dir.path().join("lake");
    // The first run holds the checkpoint while it reads standard input (a script that waits).
    let mut first = Command::new(assert_cmd::cargo::cargo_bin!("iisql"));
    first
        .env("IISQL_HISTORY", "/dev/null")
        .arg(&input)
        .args(["-q", "--checkpoint"])
        .arg(&cp)
        .args(["-f", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut first = first.spawn().unwrap();
    // Wait until it holds the lock (its file exists and is locked).
    let lock = dir.path().join("cp.json.lock");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let held = fs::File::open(&lock).is_ok_and(|f| f.try_lock().is_err());
        if held {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first run never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    checkpointed_convert(&input, &cp, &to)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "another iisql run is using this checkpoint",
        ));
    assert!(!to.exists(), "the refused run wrote nothing");
    drop(first.stdin.take());
    assert!(first.wait().unwrap().success());
    // Once the first ended, the checkpoint is free again.
    checkpointed_convert(&input, &cp, &to).assert().success();
}

/// A `LogFiles` folder in `dir` with a day of web logs (2017 lines) and an HTTPERR log.
fn web_and_httperr_logs(dir: &Path) -> std::path::PathBuf {
    let input = dir.join("LogFiles");
    fs::create_dir_all(input.join("W3SVC1")).unwrap();
    fs::create_dir_all(input.join("HTTPERR")).unwrap();
    fs::copy(
        root().join("data/sample/CAS01/W3SVC1/u_ex251103.log"),
        input.join("W3SVC1/u_ex251103.log"),
    )
    .unwrap();
    fs::copy(
        crate::fixtures().join("formats/httperr1.log"),
        input.join("HTTPERR/httperr1.log"),
    )
    .unwrap();
    input
}

#[test]
fn converting_the_web_logs_leaves_httperr_lines_beside_them_unread() {
    let dir = tempfile::tempdir().unwrap();
    let input = web_and_httperr_logs(dir.path());
    let cp = dir.path().join("cp.json");
    let input_arg = input.display().to_string();
    let cp_arg = cp.display().to_string();
    // `SELECT count(*) FROM table` over the folder, through the checkpoint or not.
    let count = |table: &str, checkpoint: bool| {
        let sql = format!("SELECT count(*) AS n FROM {table}");
        let mut args = vec![input_arg.as_str(), "-q", "--format", "csv", "-c", &sql];
        if checkpoint {
            args.extend(["--checkpoint", cp_arg.as_str()]);
        }
        crate::stdout_of(&args)
    };
    let httperr = count("httperr", false);
    assert!(!httperr.ends_with("\n0\n"), "{httperr}");
    checkpointed_convert(&input, &cp, &dir.path().join("lake"))
        .assert()
        .success();
    // The HTTPERR lines were not written to the lake: a run over the same checkpoint still
    // reads them; the web logs' lines were, and are not read again.
    assert_eq!(count("httperr", true), httperr);
}

/// A query that stops early (`LIMIT`) or reads another table leaves the lines it did not read
/// for the next run: `--checkpoint` moves on only for files read to their end.
#[test]
fn a_checkpoint_moves_on_only_for_what_a_query_read() {
    let dir = tempfile::tempdir().unwrap();
    let input = web_and_httperr_logs(dir.path());
    let cp = dir.path().join("cp.json");
    let run = |sql: &str| {
        crate::stdout_of(&[
            input.display().to_string().as_str(),
            "-q",
            "--format",
            "csv",
            "--checkpoint",
            cp.display().to_string().as_str(),
            "-c",
            sql,
        ])
    };
    let first = run("SELECT log_row FROM logs LIMIT 1");
    assert_eq!(first.lines().count(), 2, "{first}");
    run("SELECT count(*) AS n FROM httperr");
    // Every web log line is still new; the HTTPERR lines were read.
    assert_eq!(run("SELECT count(*) AS n FROM logs"), "n\n2017\n");
    assert_eq!(run("SELECT count(*) AS n FROM logs"), "n\n0\n");
    assert_eq!(run("SELECT count(*) AS n FROM httperr"), "n\n0\n");
}

/// A folder of 5,000 logs (a server's `LogFiles` after years of daily files) is read under the
/// usual limit of 1,024 open files: every line once.
#[test]
fn five_thousand_logs_under_the_usual_open_file_limit() {
    let day = fs::read(root().join("data/sample/CAS01/W3SVC1/u_ex251103.log")).unwrap();
    // A head of the day that ends with its line: 10 requests after the directives.
    let lines: Vec<&[u8]> = day.split_inclusive(|b| *b == b'\n').collect();
    let directives = lines.iter().take_while(|l| l.starts_with(b"#")).count();
    let head: Vec<u8> = lines[..directives + 10].concat();
    let dir = tempfile::tempdir().unwrap();
    for i in 0..5000 {
        let sub = dir.path().join(format!("W3SVC{}", i % 10));
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join(format!("u_ex{i}.log")), &head).unwrap();
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 1024 && exec \"$0\" \"$1\" -q --format csv -c 'SELECT count(*) AS n, count(DISTINCT log_filename) AS files FROM logs'")
        .arg(assert_cmd::cargo::cargo_bin!("iisql"))
        .arg(dir.path())
        .env("IISQL_HISTORY", "/dev/null")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "n,files\n50000,5000\n"
    );
}

/// A disk that fills up at any moment of a run: each run may write files of at most `limit`
/// KiB (`ulimit -f`, with SIGXFSZ ignored so that a write fails with an error, as on a full
/// disk), from a few KiB (the first Parquet page fails) to more than a run writes. A run that
/// hits it fails with an error, never a crash; after a run with room, the output holds every
/// line exactly once.
#[test]
fn a_full_disk_at_any_write_neither_loses_nor_doubles_a_line() {
    let day = fs::read(root().join("data/sample/CAS01/W3SVC1/u_ex251103.log")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir_all(&input).unwrap();
    let cp = dir.path().join("cp.json");
    let to = dir.path().join("lake");
    let bin = assert_cmd::cargo::cargo_bin!("iisql");

    let limits_kib = [1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 4096];
    let mut failed = 0;
    for (step, limit) in limits_kib.iter().enumerate() {
        // The log grows between runs, so each run has new lines to write.
        let cut = day.len() * (step + 1) / limits_kib.len();
        fs::write(input.join("u_ex251103.log"), &day[..cut]).unwrap();
        let script = format!(
            "trap '' XFSZ; ulimit -f {limit}; exec \"$0\" convert \"$1\" --partition-by none \
             -q --checkpoint \"$2\" --to \"$3\""
        );
        let out = Command::new("bash")
            .args(["-c", &script])
            .arg(bin)
            .args([&input, &cp, &to])
            .env("IISQL_HISTORY", "/dev/null")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            failed += 1;
            // An error that says what failed, not a panic or a signal.
            assert_eq!(out.status.code(), Some(1), "limit {limit} KiB: {stderr}");
            assert!(
                stderr.contains("File too large"),
                "limit {limit} KiB: {stderr}"
            );
            let (lake, checkpoint) = (to.display().to_string(), cp.display().to_string());
            assert!(
                stderr.contains(&lake) || stderr.contains(&checkpoint),
                "limit {limit} KiB: the error names what was being written: {stderr}"
            );
        }
    }
    // Small limits failed; the largest left room for a whole run.
    assert!(
        failed >= 3 && failed < limits_kib.len(),
        "{failed} of {} runs failed",
        limits_kib.len()
    );

    // The next run with room completes; then the output equals one full conversion.
    fs::write(input.join("u_ex251103.log"), &day).unwrap();
    next_run_equals_a_full_conversion(
        &input,
        &cp,
        &to,
        &format!("{failed} runs failed on a full disk"),
    );
}

//! Integration tests of the `iisql` binary: one test binary, one module per area.

mod charts;
mod cli;
mod convert;
mod faults;
mod formats;
mod hostile;
mod lp;
mod terminal;

use std::path::PathBuf;

/// The library crate's fixtures.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../iisql/tests/fixtures")
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The binary under test.
pub fn iisql() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("iisql").expect("iisql binary");
    c.env("IISQL_HISTORY", "/dev/null");
    c
}

/// What a successful `iisql ARGS...` prints on standard output.
pub fn stdout_of<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    let out = iisql()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).expect("UTF-8 output")
}

/// What `sql` prints as CSV over the Parquet files of `dir`, read as table `p` by iisql's own
/// Parquet reader.
pub fn parquet_csv(dir: &std::path::Path, sql: &str) -> String {
    let create = format!(
        "CREATE EXTERNAL TABLE p STORED AS PARQUET LOCATION '{}/'",
        dir.display()
    );
    stdout_of(&["-q", "--format", "csv", "-c", &create, "-c", sql])
}

/// What the shell command `cmd` prints in a pseudo-terminal (util-linux `script`, run in the
/// repository root), `input` typed line by line, as a person would, each answered before the
/// next.
pub fn in_pty(cmd: &str, input: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("script")
        .args(["-qec", cmd, "/dev/null"])
        .current_dir(root())
        .env("IISQL_HISTORY", "/dev/null")
        .env("TERM", "dumb")
        .env("PAGER", "")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux script");
    let mut stdin = child.stdin.take().expect("stdin");
    for line in input.lines() {
        stdin.write_all(line.as_bytes()).expect("typed");
        stdin.write_all(b"\r").expect("typed");
        stdin.flush().expect("typed");
        std::thread::sleep(std::time::Duration::from_millis(1500));
    }
    drop(stdin);
    let out = child.wait_with_output().expect("script ran");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

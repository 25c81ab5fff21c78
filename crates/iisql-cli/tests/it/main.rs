//! Integration tests of the `iisql` binary: one test binary, one module per area.

mod charts;
mod cli;
mod convert;
mod formats;
mod hostile;
mod lp;

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

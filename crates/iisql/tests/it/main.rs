//! Integration tests of the iisql library: one binary, one module per area.

mod activesync;
mod catalog;
mod chart;
mod checkpoint;
mod confusion;
mod facts;
mod formats;
mod html_report;
mod library;
mod lp_dialect;
mod parquet;
mod pushdown;
mod real_data;
mod slt;

use std::path::PathBuf;

/// The folder of the test fixtures.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

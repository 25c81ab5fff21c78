//! # iisql
//!
//! IIS logs as Apache DataFusion tables. The [`IisW3cFormat`] is a DataFusion file format, so
//! `ListingTable`, `CREATE EXTERNAL TABLE t STORED AS IISW3C LOCATION 'dir/'` and
//! `SELECT * FROM 'dir/*.log'` all read IIS W3C extended logs into typed columns.
//!
//! ```no_run
//! # async fn demo() -> datafusion::error::Result<()> {
//! let ctx = iisql::new_context()?;
//! iisql::register_logs(&ctx, "logs", &["data/sample"], Default::default()).await?;
//! ctx.sql("SELECT sc_status, count(*) FROM logs GROUP BY sc_status").await?.show().await?;
//! println!("{}", iisql::scan_log(&ctx).snapshot().summary());
//! # Ok(()) }
//! ```
//!
//! What `iisql PATH` sets up (a table per format found, `logs`, the `activesync` view) is
//! [`Inputs::register`]:
//!
//! ```no_run
//! # async fn demo() -> datafusion::error::Result<()> {
//! let ctx = iisql::new_context()?;
//! let registered = iisql::Inputs::new(["/logs/LogFiles"]).register(&ctx).await?;
//! for t in &registered.tables {
//!     println!("{} ({:?}): {}", t.name, t.format, t.inputs.len());
//! }
//! ctx.sql("SELECT count(*) FROM activesync").await?.show().await?;
//! # Ok(()) }
//! ```

pub mod activesync;
pub mod archive;
pub mod catalog;
pub mod chart;
pub mod checkpoint;
pub mod diagnose;
pub mod error;
pub mod facts;
mod filter;
pub mod format;
pub mod functions;
pub mod generator;
pub mod html_report;
pub mod inputs;
pub mod lake;
pub mod lake_writer;
pub mod lp_dialect;
pub mod lps;
pub mod malloc;
pub mod memory;
pub mod names;
pub mod opener;
pub mod options;
pub mod parquet_out;
pub mod parquet_writer;
pub mod register;
pub mod scan_log;
pub mod session;
pub mod source;
pub mod staging;
pub mod stores;

pub use activesync::register_activesync_view;
pub use catalog::{Catalog, QueryKind, SavedQuery, Severity};
pub use diagnose::{DiagnoseOptions, Diagnosis, Finding, Stage, diagnose, diagnose_with};
pub use error::IisqlError;
pub use format::{IISW3C, IisW3cFormat, IisW3cFormatFactory};
pub use html_report::html_report;
pub use inputs::{Inputs, PlannedCheckpoint, Registered};
pub use options::IisW3cOptions;
pub use register::{RegisteredTable, expand_paths, register_detected, register_logs};
pub use scan_log::{MAX_KEPT_REJECTS, RejectObserver, ScanLog, ScanReport};
pub use session::{
    new_context, new_context_with_config, new_context_with_runtime, register_iis,
    register_iis_with_options, scan_log, session_config,
};

/// The parser crate, re-exported.
pub use iis_log;

//! # iisql-datasource
//!
//! IIS logs as Apache DataFusion tables. [`IisW3cFormat`] is a DataFusion file format, so
//! `ListingTable`, `CREATE EXTERNAL TABLE t STORED AS IISW3C LOCATION 'dir/'` and
//! `SELECT * FROM 'dir/*.log'` all read IIS logs (W3C extended, HTTPERR, IIS native, NCSA,
//! generic W3C) into typed snake_case columns. This crate is what an embedder needs for the
//! tables alone: it brings no charts, no XML parser and no ActiveSync checks.
//!
//! ## Roles and data flow
//!
//! - [`names`], [`stores`]: what a path is (a log, an archive, a URL) before anything is read.
//! - [`register`], [`inputs`], [`lake`]: paths, folders, globs and URLs become tables; each file
//!   is detected by content ([`iis_log::detect`]), a Parquet lake that `iisql convert` wrote is
//!   recognised as one.
//! - [`format`] (the `FileFormat`) → [`source`] (the `FileSource`, with [`options`]) →
//!   [`opener`] (one file, or a byte range of it, or an [`archive`] member) → the parser in
//!   [`iis_log`] → Arrow batches. Lines that cannot be read go to the session's [`scan_log`].
//! - [`checkpoint`] and [`staging`]: a run reads only the lines written since the last one, and
//!   writes them exactly once.
//! - [`parquet_out`], [`parquet_writer`], [`lake_writer`] (with [`lake_runs`]): query results
//!   to Parquet files and hive-partitioned lakes; [`memory`]: the memory pool and spilling that
//!   bound a run.
//! - [`session`]: a `SessionContext` with all of the above.
//!
//! ```no_run
//! # async fn demo() -> datafusion::error::Result<()> {
//! let ctx = iisql_datasource::new_context()?;
//! iisql_datasource::register_logs(&ctx, "logs", &["data/sample"], Default::default()).await?;
//! ctx.sql("SELECT sc_status, count(*) FROM logs GROUP BY sc_status").await?.show().await?;
//! println!("{}", iisql_datasource::scan_log(&ctx).snapshot().summary());
//! # Ok(()) }
//! ```

pub mod archive;
pub mod checkpoint;
pub mod error;
mod filter;
pub mod format;
pub mod inputs;
pub mod lake;
pub mod lake_runs;
pub mod lake_writer;
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

pub use error::IisqlError;
pub use format::{IISW3C, IisW3cFormat, IisW3cFormatFactory};
pub use inputs::{Inputs, PlannedCheckpoint, Registered};
pub use options::IisW3cOptions;
pub use register::{RegisteredTable, expand_paths, register_detected, register_logs};
pub use scan_log::{MAX_KEPT_REJECTS, RejectObserver, ScanLog, ScanReport};
pub use session::{
    new_context, new_context_with_config, new_context_with_runtime, register_iis,
    register_iis_with_options, scan_log, session_config,
};
pub use source::IisW3cSource;

/// The parser crate, re-exported.
pub use iis_log;

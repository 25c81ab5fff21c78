//! # iisql
//!
//! IIS logs as Apache DataFusion tables, with Microsoft Log Parser's dialect and the Exchange
//! ActiveSync diagnosis: the one crate an embedding tool depends on to do what the `iisql`
//! command does. [`IisqlSessionExt`] is the entry point: on any `SessionContext` it registers
//! what `iisql PATH` registers and writes what `-o` and `iisql convert` write.
//!
//! ## Crates and data flow
//!
//! Bytes flow one way through the workspace's crates:
//!
//! - `iis-log` ([`iis_log`]): the parser; bytes of a log file in, Arrow columns out.
//! - `iisql-datasource` ([`datasource`]): the DataFusion file formats, detection by content,
//!   listing, the scan log, checkpoints, Parquet files and lakes. An embedder that wants only
//!   the tables depends on it alone.
//! - `iisql-functions` ([`functions`]): the scalar functions and code tables of SQL.
//! - `iisql-logparser` ([`lp_dialect`], [`lps`]): Log Parser queries translated to SQL.
//! - `iisql-chart` ([`chart`]): charts of results.
//! - `iisql-activesync` ([`activesync`], [`facts`], [`catalog`], [`diagnose`](mod@diagnose),
//!   [`html_report`](mod@html_report)): the `activesync` view, the saved queries and the
//!   diagnosis.
//! - this crate: a session with all of them ([`new_context`]), [`IisqlSessionExt`], and the
//!   allocator settings of the binaries ([`malloc`]).
//!
//! The modules of those crates are re-exported here under their own names.
//!
//! ```no_run
//! # async fn demo() -> datafusion::error::Result<()> {
//! use iisql::IisqlSessionExt;
//! let ctx = iisql::new_context()?;
//! let registered = ctx.register_inputs(iisql::Inputs::new(["/logs/LogFiles"])).await?;
//! for t in &registered.tables {
//!     println!("{} ({:?}): {}", t.name, t.format, t.inputs.len());
//! }
//! ctx.sql("SELECT count(*) FROM activesync").await?.show().await?;
//! let df = ctx.sql("SELECT * FROM logs WHERE sc_status >= 400").await?;
//! ctx.write_parquet_file(df, "errors.parquet").await?;
//! # Ok(()) }
//! ```

mod ext;
pub mod malloc;
pub mod session;

pub use ext::IisqlSessionExt;
pub use session::{
    new_context, new_context_with_config, new_context_with_runtime, register_iis,
    register_iis_with_options, session_config,
};

pub use iisql_activesync::{
    Catalog, DiagnoseOptions, Diagnosis, Finding, QueryKind, SavedQuery, Severity, Stage, diagnose,
    diagnose_with, html_report, register_activesync_view,
};
pub use iisql_activesync::{activesync, catalog, facts};
pub use iisql_chart as chart;
pub use iisql_datasource as datasource;
pub use iisql_datasource::{
    IISW3C, IisW3cFormat, IisW3cFormatFactory, IisW3cOptions, IisqlError, Inputs, MAX_KEPT_REJECTS,
    PlannedCheckpoint, Registered, RegisteredTable, RejectObserver, ScanLog, ScanReport,
    expand_paths, register_detected, register_logs,
};
pub use iisql_datasource::{
    archive, checkpoint, error, format, inputs, lake, lake_runs, lake_writer, memory, names,
    opener, options, parquet_out, parquet_writer, register, scan_log, source, staging, stores,
};
pub use iisql_functions as functions;
pub use iisql_logparser::{lp_dialect, lps};

/// The parser crate, re-exported.
pub use iis_log;

//! # iisql-distributed
//!
//! iisql on an [Apache DataFusion Ballista](https://datafusion.apache.org/ballista/) cluster:
//! the same SQL, saved queries and diagnosis over IIS logs, planned by a Ballista scheduler and
//! run by its executors.
//!
//! - [`IisqlLogicalCodec`] and [`IisqlPhysicalCodec`]: Ballista's extension codecs for iisql's
//!   tables and scans.
//! - [`LogTable`] and [`distribute_tables`]: a session's IIS log tables in the form a plan can
//!   carry.
//! - [`remote_context`] and [`standalone_context`]: client contexts on a cluster.
//! - The `iisql-scheduler` and `iisql-executor` binaries: Ballista's scheduler and executor
//!   with iisql's formats, functions and codecs.
//!
//! Everything is behind the `ballista` feature; without it this crate is empty.
//!
//! ```no_run
//! # #[cfg(feature = "ballista")]
//! # async fn demo() -> datafusion::error::Result<()> {
//! let ctx = iisql_distributed::remote_context("df://scheduler:50050", iisql::session_config()).await?;
//! iisql::register_detected(&ctx, &["/shared/LogFiles"], Default::default()).await?;
//! iisql_distributed::distribute_tables(&ctx).await?;
//! ctx.sql("SELECT sc_status, count(*) FROM logs GROUP BY sc_status").await?.show().await?;
//! # Ok(()) }
//! ```

#[cfg(feature = "ballista")]
pub mod codec;
#[cfg(feature = "ballista")]
pub mod proto;
#[cfg(feature = "ballista")]
pub mod session;
#[cfg(feature = "ballista")]
pub mod table;

#[cfg(feature = "ballista")]
pub use codec::{IisqlLogicalCodec, IisqlPhysicalCodec};
#[cfg(feature = "ballista")]
pub use session::{
    executor_config, iisql_state, remote_context, scheduler_config, standalone_context,
    with_iisql_codecs,
};
#[cfg(feature = "ballista")]
pub use table::{LogTable, distribute_tables, enable_log_url_tables};

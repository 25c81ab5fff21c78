//! Sessions on a Ballista cluster: the state iisql's scheduler, executors and clients share (its
//! formats, functions and codecs), and the client contexts that send queries to a cluster.

use std::sync::Arc;

use ballista::prelude::SessionContextExt;
use ballista_core::extension::SessionConfigExt;
use datafusion::error::Result;
use datafusion::execution::SessionState;
use datafusion::execution::context::SessionContext;
use datafusion::prelude::SessionConfig;

use crate::codec::{IisqlLogicalCodec, IisqlPhysicalCodec};
use crate::table::enable_log_url_tables;

/// `config` with iisql's codecs as Ballista's extension codecs.
pub fn with_iisql_codecs(config: SessionConfig) -> SessionConfig {
    config
        .with_ballista_logical_extension_codec(Arc::new(IisqlLogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(IisqlPhysicalCodec::default()))
}

/// The session config an iisql scheduler or executor starts from: iisql's settings and codecs,
/// with Ballista's.
pub fn scheduler_config() -> SessionConfig {
    static_planner(with_iisql_codecs(iisql::session_config()))
}

/// `config` with Ballista's settings, planning jobs with its static planner.
///
/// Ballista 55's adaptive planner (on by default) sometimes never finishes a job: on the saved
/// checks' plans (windows over joins of aggregates) it keeps adding one-task stages, thousands
/// of them, at one per executor poll. The static planner runs the same plans in a fixed number
/// of stages. A scheduler plans each job with its client's settings, so clients carry this too.
fn static_planner(config: SessionConfig) -> SessionConfig {
    config
        .upgrade_for_ballista()
        .with_ballista_adaptive_query_planner(false)
}

/// The session config of an executor's tasks: [`scheduler_config`] with a scan log that writes
/// each rejected line to the executor's log (the client never sees the executors' scan logs).
pub fn executor_config() -> SessionConfig {
    scheduler_config().with_extension(Arc::new(crate::codec::logging_scan_log()))
}

/// A session state with iisql's formats and SQL functions and its codecs: what a scheduler
/// plans with and an executor runs with. `config` is typically [`iisql::session_config`].
pub fn iisql_state(mut config: SessionConfig) -> Result<SessionState> {
    // A client's settings say not to create the default catalog (its session derives from
    // another); the scheduler's new session needs it for iisql's lookup tables.
    config
        .options_mut()
        .catalog
        .create_default_catalog_and_schema = true;
    let ctx = SessionContext::new_with_config(with_iisql_codecs(config));
    iisql::register_iis(&ctx)?;
    Ok(ctx.state())
}

/// A context whose queries run on the Ballista cluster whose scheduler is at `url`
/// (`df://host:50050`); the scheduler and executors must be iisql's ([`crate`]'s binaries).
/// Register tables as usual, then call [`crate::distribute_tables`]; `SELECT * FROM 'x.log'`
/// works as is.
pub async fn remote_context(url: &str, config: SessionConfig) -> Result<SessionContext> {
    let ctx = SessionContext::remote_with_state(url, iisql_state(static_planner(config))?).await?;
    client(ctx)
}

/// A context on a Ballista cluster started in this process (a scheduler and one executor with
/// `config`'s `ballista.standalone.parallelism` task slots, on loopback ports the system
/// chooses), as [`remote_context`] gives for a real cluster.
pub async fn standalone_context(config: SessionConfig) -> Result<SessionContext> {
    let state = iisql_state(static_planner(config))?;
    let ctx = SessionContext::standalone_with_state(state).await?;
    client(ctx)
}

/// A client context made by Ballista, with iisql's functions back (Ballista's upgrade of a
/// session replaces its function list with its own) and IIS URL tables.
fn client(ctx: SessionContext) -> Result<SessionContext> {
    iisql::register_iis(&ctx)?;
    iisql::facts::mark_remote(&ctx);
    Ok(enable_log_url_tables(ctx))
}

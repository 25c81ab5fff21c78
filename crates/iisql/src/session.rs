//! Session set-up with everything iisql registers: the IIS formats and URL tables of
//! `iisql-datasource`, and the functions and code tables of `iisql-functions`. The same names
//! as [`iisql_datasource::session`], which leaves the functions out.

use std::sync::Arc;

use datafusion::error::Result;
use datafusion::execution::context::SessionContext;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::SessionConfig;

use iisql_datasource::IisW3cOptions;
use iisql_datasource::session as base;
pub use iisql_datasource::session::{
    LOCAL_FILES_AT_ONCE, limit_local_files, scan_log, session_config,
};

/// A new `SessionContext` that reads IIS logs ([`iisql_datasource::new_context`]) with iisql's
/// functions.
pub fn new_context() -> Result<SessionContext> {
    with_functions(base::new_context()?)
}

/// Like [`new_context`], starting from the caller's config.
pub fn new_context_with_config(config: SessionConfig) -> Result<SessionContext> {
    with_functions(base::new_context_with_config(config)?)
}

/// Like [`new_context_with_config`], with the caller's runtime (its memory pool, object stores
/// and caches); local files are not bounded unless [`limit_local_files`] is called.
pub fn new_context_with_runtime(
    config: SessionConfig,
    runtime: Arc<RuntimeEnv>,
) -> Result<SessionContext> {
    with_functions(base::new_context_with_runtime(config, runtime)?)
}

/// Adds iisql's formats, a scan log and the functions to an existing context.
pub fn register_iis(ctx: &SessionContext) -> Result<()> {
    register_iis_with_options(ctx, IisW3cOptions::default())
}

/// Like [`register_iis`], with `options` as the defaults of every IIS table created by SQL.
pub fn register_iis_with_options(ctx: &SessionContext, options: IisW3cOptions) -> Result<()> {
    base::register_iis_with_options(ctx, options)?;
    iisql_functions::register_functions(ctx)
}

fn with_functions(ctx: SessionContext) -> Result<SessionContext> {
    iisql_functions::register_functions(&ctx)?;
    Ok(ctx)
}

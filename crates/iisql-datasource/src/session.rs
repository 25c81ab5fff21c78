//! Session set-up: one call gives a `SessionContext` that reads IIS logs (formats, URL tables,
//! a scan log, a bound on open local files), or adds the formats to an embedding tool's own
//! context. The `iisql` crate adds the functions and views on top.

use std::sync::Arc;

use datafusion::datasource::listing_table_factory::ListingTableFactory;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::SessionContext;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::SessionConfig;

use crate::format::IisW3cFormatFactory;
use crate::options::IisW3cOptions;
use crate::parquet_out::{
    PARQUET_COMPRESSION, PARQUET_DATA_PAGE_BYTES, PARQUET_DATA_PAGE_ROW_LIMIT,
    PARQUET_ROW_GROUP_ROWS,
};
use crate::scan_log::ScanLog;

/// The session settings iisql relies on: subfolders are read when a table's location is a
/// folder (IIS keeps `W3SVC*/u_ex*.log` below `LogFiles`), `information_schema` is on, Parquet
/// is written with [`PARQUET_COMPRESSION`] in row groups of [`PARQUET_ROW_GROUP_ROWS`] rows and
/// pages of up to [`PARQUET_DATA_PAGE_ROW_LIMIT`] rows and [`PARQUET_DATA_PAGE_BYTES`] bytes, and
/// the session carries a [`ScanLog`].
pub fn session_config() -> SessionConfig {
    let mut config = SessionConfig::new()
        .with_information_schema(true)
        .with_extension(Arc::new(ScanLog::new()));
    let options = config.options_mut();
    options.extensions.insert(IisW3cOptions::default());
    options.execution.listing_table_ignore_subdirectory = false;
    options.execution.parquet.compression = Some(PARQUET_COMPRESSION.to_string());
    options.execution.parquet.max_row_group_size = PARQUET_ROW_GROUP_ROWS;
    options.execution.parquet.data_page_row_count_limit = PARQUET_DATA_PAGE_ROW_LIMIT;
    options.execution.parquet.data_pagesize_limit = PARQUET_DATA_PAGE_BYTES;
    config
}

/// A new `SessionContext` with IIS formats registered, URL tables enabled (`SELECT * FROM
/// 'dir/*.log'`), a [`ScanLog`], and local files read at most [`LOCAL_FILES_AT_ONCE`] at once
/// ([`limit_local_files`]).
pub fn new_context() -> Result<SessionContext> {
    new_context_with_config(session_config())
}

/// Like [`new_context`], starting from the caller's config (a [`ScanLog`] is added if missing).
pub fn new_context_with_config(config: SessionConfig) -> Result<SessionContext> {
    let ctx = new_context_with_runtime(config, Arc::new(RuntimeEnv::default()))?;
    limit_local_files(&ctx)?;
    Ok(ctx)
}

/// Like [`new_context_with_config`], with the caller's runtime: its memory pool (a
/// `FairSpillPool` bounds what sorts, joins and aggregations hold, the rest spilling to its
/// disk manager's temporary files), object stores and caches. Local files are reached through
/// the runtime's own `file://` store: call [`limit_local_files`] to bound the files open at once.
pub fn new_context_with_runtime(
    mut config: SessionConfig,
    runtime: Arc<RuntimeEnv>,
) -> Result<SessionContext> {
    if config.get_extension::<ScanLog>().is_none() {
        config = config.with_extension(Arc::new(ScanLog::new()));
    }
    let ctx = SessionContext::new_with_config_rt(config, runtime).enable_url_table();
    register_iis(&ctx)?;
    Ok(ctx)
}

/// Requests to local files (open, read, look up) that run at once after
/// [`limit_local_files`].
pub const LOCAL_FILES_AT_ONCE: usize = 256;

/// Makes `ctx` reach local files through `object_store`'s `LimitStore`, at most
/// [`LOCAL_FILES_AT_ONCE`] requests at once. A folder of 100,000 logs is registered as that
/// many table paths, which DataFusion looks up all at once: this keeps the open files under
/// the usual limit of 1,024. [`new_context`] and [`new_context_with_config`] do it; so does
/// the CLI for local runs.
pub fn limit_local_files(ctx: &SessionContext) -> Result<()> {
    let local = object_store::limit::LimitStore::new(
        object_store::local::LocalFileSystem::new(),
        LOCAL_FILES_AT_ONCE,
    );
    let url = url::Url::parse("file://").map_err(|e| DataFusionError::External(Box::new(e)))?;
    ctx.register_object_store(&url, Arc::new(local));
    Ok(())
}

/// Adds iisql's formats (`STORED AS IISW3C`, `HTTPERR`, `W3C`, `IIS`, `NCSA`; `.log` files) and a [`ScanLog`] to an existing
/// context. Embedding tools call this on their own `SessionContext`.
pub fn register_iis(ctx: &SessionContext) -> Result<()> {
    register_iis_with_options(ctx, IisW3cOptions::default())
}

/// Like [`register_iis`], with `options` as the defaults of every IIS table created by SQL
/// (`CREATE EXTERNAL TABLE ... STORED AS IISW3C`, `SELECT * FROM 'x.log'`): they become the
/// session's [`IisW3cOptions`] extension, which `SET iis.<key> = <value>` changes and
/// `SHOW iis.<key>` shows; a statement's own `OPTIONS (...)` still apply on top.
pub fn register_iis_with_options(ctx: &SessionContext, options: IisW3cOptions) -> Result<()> {
    let state = ctx.state_ref();
    let mut state = state.write();
    if state.config().get_extension::<ScanLog>().is_none() {
        state.config_mut().set_extension(Arc::new(ScanLog::new()));
    }
    // The options are the session's (`SET iis.<key>` changes them), read by every factory.
    state.config_mut().options_mut().extensions.insert(options);
    for key in ["iisw3c", "log", "httperr", "w3c", "iis", "ncsa"] {
        let factory = IisW3cFormatFactory::new(key);
        state.register_file_format(Arc::new(factory), true)?;
    }
    for format in iis_log::LogFormat::ALL {
        state.table_factories_mut().insert(
            format.name().to_string(),
            Arc::new(ListingTableFactory::new()),
        );
    }
    Ok(())
}

/// The context's scan log (added if missing).
pub fn scan_log(ctx: &SessionContext) -> Arc<ScanLog> {
    let state = ctx.state_ref();
    let mut state = state.write();
    match state.config().get_extension::<ScanLog>() {
        Some(log) => log,
        None => {
            let log = Arc::new(ScanLog::new());
            state.config_mut().set_extension(Arc::clone(&log));
            log
        }
    }
}

/// Marks a session whose plans run elsewhere (a Ballista cluster's executors): they cannot
/// read this machine's temporary folder, so nothing is staged there for them (a diagnosis
/// reads the `activesync` view itself, Parquet is written by DataFusion's writer). Set it
/// with [`mark_remote`].
#[derive(Debug, Default)]
pub struct RemoteExecution;

/// Marks `ctx` as executing its plans elsewhere ([`RemoteExecution`]).
pub fn mark_remote(ctx: &SessionContext) {
    ctx.state_ref()
        .write()
        .config_mut()
        .set_extension(Arc::new(RemoteExecution));
}

/// Whether `ctx`'s plans run on this machine, so that files staged in its temporary folder can
/// be read by its plans.
pub fn executes_locally(ctx: &SessionContext) -> bool {
    ctx.state_ref()
        .read()
        .config()
        .get_extension::<RemoteExecution>()
        .is_none()
}

//! `iisql-executor`: Ballista's executor with iisql's formats, SQL functions and codecs, so that
//! it runs the IIS log scans an `iisql-scheduler` sends it. It takes Ballista's executor options
//! (`--scheduler-host`, `--scheduler-port`, `--bind-port`, `--concurrent-tasks`,
//! `--memory-pool-size`...; `--help` lists them). The logs must be at the same paths (or object
//! store URLs) on every executor as on the client that registered them.

use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::config::Config;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use clap::Parser;
use iisql_distributed::{IisqlLogicalCodec, IisqlPhysicalCodec, executor_config, iisql_state};
use tracing_subscriber::EnvFilter;

fn main() -> ballista_core::error::Result<()> {
    iisql::malloc::keep_freed_buffers();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Deep stage plans (the `activesync` view) are decoded recursively.
        .thread_stack_size(32 * 1024 * 1024)
        .build()?
        .block_on(serve())
}

async fn serve() -> ballista_core::error::Result<()> {
    let opt = Config::parse();
    let mut config: ExecutorProcessConfig = opt.try_into()?;
    let filter =
        std::env::var(EnvFilter::DEFAULT_ENV).unwrap_or(config.special_mod_log_level.clone());
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_env_filter(EnvFilter::new(filter))
        .init();
    let state = iisql_state(iisql::session_config())?;
    config.override_function_registry = Some(Arc::new(BallistaFunctionRegistry::from(&state)));
    config.override_logical_codec = Some(Arc::new(IisqlLogicalCodec::default()));
    config.override_physical_codec = Some(Arc::new(IisqlPhysicalCodec::default()));
    config.override_config_producer = Some(Arc::new(executor_config));
    start_executor_process(Arc::new(config)).await
}

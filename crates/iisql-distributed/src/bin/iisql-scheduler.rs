//! `iisql-scheduler`: Ballista's scheduler with iisql's formats, SQL functions and codecs, so
//! that `iisql --cluster df://host:50050` and [`iisql_distributed::remote_context`] can plan
//! queries over IIS logs on it. It takes Ballista's scheduler options (`--bind-host`,
//! `--bind-port` (50050), `--log-level-setting`...; `--help` lists them).

use std::sync::Arc;

use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{Config, SchedulerConfig};
use ballista_scheduler::scheduler_process::start_server;
use clap::Parser;
use iisql_distributed::{IisqlLogicalCodec, IisqlPhysicalCodec, iisql_state, scheduler_config};
use tracing_subscriber::EnvFilter;

fn main() -> ballista_core::error::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .enable_time()
        // Deep plans are planned recursively, as Ballista's own scheduler allows for.
        .thread_stack_size(32 * 1024 * 1024)
        .build()?
        .block_on(serve())
}

async fn serve() -> ballista_core::error::Result<()> {
    let opt = Config::parse();
    let filter = std::env::var(EnvFilter::DEFAULT_ENV).unwrap_or(opt.log_level_setting.clone());
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_env_filter(EnvFilter::new(filter))
        .init();
    let addr = format!("{}:{}", opt.bind_host, opt.bind_port)
        .parse()
        .map_err(|e: std::net::AddrParseError| {
            ballista_core::error::BallistaError::Configuration(e.to_string())
        })?;
    let mut config: SchedulerConfig = opt.try_into()?;
    config.override_logical_codec = Some(Arc::new(IisqlLogicalCodec::default()));
    config.override_physical_codec = Some(Arc::new(IisqlPhysicalCodec::default()));
    let config = config
        .with_override_config_producer(Arc::new(scheduler_config))
        .with_override_session_builder(Arc::new(iisql_state));
    let cluster = BallistaCluster::new_from_config(&config).await?;
    start_server(cluster, addr, Arc::new(config)).await
}

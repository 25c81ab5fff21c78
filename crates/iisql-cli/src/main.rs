//! `iisql`: SQL over IIS logs from the command line. A thin binary over the `iisql` library.

mod args;
mod cluster;
mod convert;
mod exec;
mod fit;
mod generate;
mod lp;
mod multiplex;
mod output;
mod pager;
mod progress;
mod repl;
mod report;
mod script;

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use datafusion::error::{DataFusionError, Result};
use iisql::iis_log::LogFormat;
use iisql::{Catalog, IisW3cOptions};

use crate::args::{Cli, Command, InputArgs, OutputArgs, RunArgs};
use crate::exec::{Runner, describe};

fn main() -> ExitCode {
    iisql::malloc::keep_freed_buffers();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Plans over the `activesync` view are deep; a cluster client serializes them
        // recursively (Ballista's own binaries use the same size).
        .thread_stack_size(32 * 1024 * 1024)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("iisql: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let diagnosing = matches!(cli.command, Some(Command::Diagnose(_)));
    let result = rt.block_on(async {
        match cli.command {
            Some(Command::Generate(g)) => generate::run(&g),
            Some(Command::Queries(q)) => report::queries(&q),
            Some(Command::Run(r)) => {
                let mut runner = setup_with_memory(
                    &r.input,
                    &r.output,
                    r.queries.as_deref(),
                    Some(ANALYSIS_MEMORY),
                )
                .await?;
                runner.run_saved(&r.name, &r.params).await?;
                runner.commit_checkpoint_read()?;
                Ok(ExitCode::SUCCESS)
            }
            Some(Command::Diagnose(d)) => report::diagnose(&d).await,
            Some(Command::Lp(l)) => lp::run(&l).await,
            Some(Command::Lps(l)) => lp::lps(&l).await,
            Some(Command::Convert(c)) => convert::run(&c).await,
            None => run_sql(cli.run).await,
        }
    });
    match result {
        Ok(code) => code,
        // The reader went away (`iisql ... | head`): stop quietly.
        Err(e) if describe(&e).contains("Broken pipe") => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("iisql: error: {}", describe(&e));
            // diagnose documents 2 for errors (1 means findings).
            ExitCode::from(if diagnosing { 2 } else { 1 })
        }
    }
}

fn options(a: &InputArgs) -> Result<IisW3cOptions> {
    let mut o = IisW3cOptions {
        fields: a.fields.clone(),
        max_errors: a.max_errors,
        strict: a.strict,
        max_line_bytes: a
            .max_line_bytes
            .unwrap_or(iisql::iis_log::chunker::DEFAULT_MAX_LINE),
        ..Default::default()
    };
    if let Some(c) = &a.compression {
        // The same names as the SQL option `compression`.
        let sql = std::collections::HashMap::from([("compression".to_string(), c.clone())]);
        o.apply(&sql)
            .map_err(|e| DataFusionError::Plan(format!("--compression: {e}")))?;
    }
    Ok(o)
}

/// The memory `diagnose` and `run` hold by default (`--memory-limit` changes it): the sort
/// that tells a challenge from a refusal spills to temporary files beyond it.
pub const ANALYSIS_MEMORY: u64 = 256 << 20;

/// The bundled saved queries plus those of `extra`.
pub fn catalog(extra: Option<&Path>) -> Result<Catalog> {
    let mut c = Catalog::bundled()?;
    if let Some(dir) = extra {
        for q in Catalog::from_dir(dir)?.list() {
            c.add(q.clone())?;
        }
    }
    Ok(c)
}

/// A runner with the inputs registered as table `logs` (and view `activesync`).
pub async fn setup(
    input: &InputArgs,
    output: &OutputArgs,
    queries: Option<&Path>,
) -> Result<Runner> {
    setup_with_memory(input, output, queries, None).await
}

/// The runtime of a local session: with `--memory-limit` (or `default`, in bytes), a
/// `FairSpillPool` of that size, whose operators spill to temporary files beyond it.
fn runtime(
    input: &InputArgs,
    default: Option<u64>,
) -> Result<std::sync::Arc<datafusion::execution::runtime_env::RuntimeEnv>> {
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    let limit = match &input.memory_limit {
        Some(s) => Some(generate::parse_size(s).filter(|&n| n > 0).ok_or_else(|| {
            DataFusionError::Plan(format!(
                "--memory-limit: cannot read `{s}` (e.g. 512MB, 2GiB)"
            ))
        })?),
        None => default,
    };
    let mut builder = RuntimeEnvBuilder::new();
    if let Some(bytes) = limit {
        // Spilling beyond it; an error for want of memory names the largest consumers.
        builder = builder.with_memory_pool(iisql::memory::bounded_pool(bytes as usize));
    }
    builder.build_arc()
}

/// Like [`setup`], with `memory_default` bytes as the memory limit when `--memory-limit` is not
/// given.
pub async fn setup_with_memory(
    input: &InputArgs,
    output: &OutputArgs,
    queries: Option<&Path>,
    memory_default: Option<u64>,
) -> Result<Runner> {
    let mut config = iisql::session_config();
    if let Some(n) = input.partitions {
        config = config.with_target_partitions(n.max(1));
    }
    if let Some(z) = &input.time_zone {
        z.parse::<chrono_tz::Tz>().map_err(|_| {
            DataFusionError::Plan(format!(
                "--time-zone {z}: not an IANA time zone (such as Europe/Berlin)"
            ))
        })?;
        config.options_mut().execution.time_zone = Some(z.clone());
    }
    if input.cluster.is_some() && input.memory_limit.is_some() {
        return Err(DataFusionError::Plan(
            "--memory-limit bounds a local run; on a cluster each executor's \
             --memory-pool-size does"
                .into(),
        ));
    }
    let ctx = match &input.cluster {
        Some(url) => cluster::context(url, config).await?,
        None => {
            let ctx = iisql::new_context_with_runtime(config, runtime(input, memory_default)?)?;
            iisql::session::limit_local_files(&ctx)?;
            ctx
        }
    };
    let mut opts = options(input)?;
    if let Some(z) = &input.time_zone {
        opts.time_zone = z.parse().ok();
    }
    let forced = match &input.input_format {
        Some(f) => Some(
            f.parse::<LogFormat>()
                .map_err(|e| DataFusionError::Plan(format!("--input-format: {e}")))?,
        ),
        None => None,
    };
    let inputs = iisql::Inputs {
        paths: input.paths.clone(),
        options: opts,
        format: forced,
        table: input.table.clone(),
        checkpoint: input.checkpoint.clone(),
    };
    let registered = inputs.register_tables(&ctx).await?;
    if !input.paths.is_empty() {
        if input.cluster.is_some() {
            cluster::distribute(&ctx).await?;
        }
        registered.register_views(&ctx).await?;
    }
    let (pending, checkpoint_lock) = match registered.checkpoint {
        Some(planned) => {
            if !input.quiet {
                for f in &planned.restarted {
                    eprintln!("{f}: rotated or replaced since the checkpoint; read from its start");
                }
            }
            let pending = exec::PendingCheckpoint {
                path: planned.path,
                next: planned.next,
                previous: planned.previous,
                new_bytes: planned.new_bytes,
            };
            (Some(pending), Some(planned.lock))
        }
        None => (None, None),
    };
    let tables = registered.tables;
    let total_bytes = (!input.paths.is_empty()).then_some(registered.local_bytes);
    let mut runner = Runner::new(ctx, output.format);
    runner.tables = tables;
    runner.cluster = input.cluster.is_some();
    if runner.cluster && !input.quiet {
        eprintln!(
            "iisql: on a cluster, the executors read the logs: lines they reject are written \
             to their logs, not summarized here"
        );
    }
    runner.pending_checkpoint = pending;
    runner.expanded = output.expanded;
    runner.max_rows = output.max_rows.max(1);
    runner.max_width = output.max_width.filter(|&w| w > 0);
    runner.pager = if output.no_pager {
        None
    } else {
        crate::pager::from_env()
    };
    runner.checkpoint_lock = checkpoint_lock;
    runner.output = output.output.clone();
    runner.chart = output.chart_options();
    runner.timing = input.timing;
    runner.quiet = input.quiet;
    runner.rejects_path = input.rejects.clone();
    runner.total_bytes = total_bytes;
    runner.catalog = catalog(queries)?;
    Ok(runner)
}

async fn run_sql(a: RunArgs) -> Result<ExitCode> {
    let mut runner = setup(&a.input, &a.output, None).await?;
    if a.dialect == args::Dialect::Logparser {
        runner.logparser = true;
        if a.input.time_zone.is_none() {
            // Log Parser converts local times with the machine's zone.
            let zone = lp::host_zone();
            runner
                .ctx
                .state_ref()
                .write()
                .config_mut()
                .options_mut()
                .execution
                .time_zone = Some(zone.clone());
            runner.host_zone_note = Some(zone);
        }
        if a.input.paths.is_empty() {
            runner.lp_inputs = Some(options(&a.input)?);
        }
    }
    if !a.commands.is_empty() || a.file.is_some() {
        for sql in &a.commands {
            for stmt in script::split_statements(sql) {
                runner.run(&stmt.sql).await?;
            }
        }
        if let Some(file) = &a.file {
            let text = std::fs::read_to_string(file).map_err(|e| {
                DataFusionError::Execution(format!("cannot read {}: {e}", file.display()))
            })?;
            let code = run_script(&mut runner, &text, &file.display().to_string()).await;
            return committed(&mut runner, code);
        }
        runner.commit_checkpoint_read()?;
        return Ok(ExitCode::SUCCESS);
    }
    if !std::io::stdin().is_terminal() {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| DataFusionError::Execution(format!("cannot read standard input: {e}")))?;
        let code = run_script(&mut runner, &text, "<stdin>").await;
        return committed(&mut runner, code);
    }
    repl::run_repl(runner)
        .await
        .map_err(|e| DataFusionError::Execution(format!("prompt: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the pending checkpoint when the script succeeded.
fn committed(runner: &mut Runner, code: ExitCode) -> Result<ExitCode> {
    if code == ExitCode::SUCCESS {
        runner.commit_checkpoint_read()?;
    }
    Ok(code)
}

/// Runs every statement of a script; stops at the first error, naming its line.
async fn run_script(runner: &mut Runner, text: &str, name: &str) -> ExitCode {
    for stmt in script::split_statements(text) {
        if let Err(e) = runner.run(&stmt.sql).await {
            eprintln!("iisql: {name}:{}: error: {}", stmt.line, describe(&e));
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}

//! `iisql`: SQL over IIS logs from the command line. A thin binary over the `iisql` library.

mod args;
mod cluster;
mod convert;
mod exec;
mod generate;
mod lp;
mod output;
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
                runner.commit_checkpoint()?;
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
    use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
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
        // An error for want of memory names the five largest consumers.
        let pool = TrackConsumersPool::new(
            FairSpillPool::new(bytes as usize),
            std::num::NonZeroUsize::new(5).unwrap_or(std::num::NonZeroUsize::MIN),
        );
        builder = builder.with_memory_pool(std::sync::Arc::new(pool));
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
        None => iisql::new_context_with_runtime(config, runtime(input, memory_default)?)?,
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
    if let Some(f) = forced {
        opts.format = f;
    }
    iisql::register_iis_with_options(&ctx, opts.clone())?;
    // --checkpoint: only the complete lines written since the last successful run are read.
    let mut pending = None;
    if let Some(path) = &input.checkpoint {
        let checkpoint = iisql::checkpoint::Checkpoint::load(path)?;
        let files = iisql::register::local_log_files(&input.paths, &opts)?;
        let urls: Vec<String> = input
            .paths
            .iter()
            .filter(|p| p.contains("://") && !p.starts_with("file://"))
            .cloned()
            .collect();
        let inc = checkpoint.plan_all(&ctx, &files, &urls).await?;
        if !input.quiet {
            for f in &inc.restarted {
                eprintln!("{f}: rotated or replaced since the checkpoint; read from its start");
            }
        }
        opts.ranges = Some(std::sync::Arc::new(inc.ranges));
        pending = Some(exec::PendingCheckpoint {
            path: path.clone(),
            next: inc.next,
            new_bytes: inc.new_bytes,
        });
    }
    let mut total_bytes = None;
    let mut tables = Vec::new();
    if !input.paths.is_empty() {
        tables = if input.table.is_some()
            && forced.is_none()
            && iisql::lake::all_lakes(&input.paths).await
        {
            // A Parquet lake written by `iisql convert`, under the name asked for.
            let name = input.table.clone().unwrap_or_default();
            iisql::lake::register_lake(&ctx, &name, &input.paths).await?;
            vec![iisql::RegisteredTable {
                name,
                format: LogFormat::IisW3c,
                inputs: input.paths.clone(),
            }]
        } else if forced.is_some() || input.table.is_some() {
            let name = input
                .table
                .clone()
                .unwrap_or_else(|| opts.format.table_name().to_string());
            let format = opts.format;
            iisql::register_logs(&ctx, &name, &input.paths, opts).await?;
            vec![iisql::RegisteredTable {
                name,
                format,
                inputs: input.paths.clone(),
            }]
        } else {
            iisql::register_detected(&ctx, &input.paths, opts).await?
        };
        // One format found: its table is `logs` too, so `-c "... FROM logs"` reads it (and
        // `\dt` lists the alias with its format).
        if let [only] = tables.as_slice()
            && only.name != "logs"
            && input.table.is_none()
        {
            let provider = ctx.table_provider(only.name.as_str()).await?;
            ctx.register_table("logs", provider)?;
            let alias = iisql::RegisteredTable {
                name: "logs".to_string(),
                ..only.clone()
            };
            tables.push(alias);
        }
        if input.cluster.is_some() {
            cluster::distribute(&ctx).await?;
        }
        // The view `activesync` reads the IIS W3C web logs: table `logs`, or the one named.
        let logs = input.table.as_deref().unwrap_or("logs");
        let logs_format = tables.iter().find(|t| t.name == logs).map(|t| t.format);
        if logs_format == Some(LogFormat::IisW3c) {
            iisql::register_activesync_view(&ctx, "activesync", logs).await?;
        }
        total_bytes = Some(iisql::register::local_size(&input.paths));
    }
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
        runner.commit_checkpoint()?;
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
        runner.commit_checkpoint()?;
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

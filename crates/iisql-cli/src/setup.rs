//! A [`Runner`] from the command line's input and output arguments: the session (local, under a
//! memory limit, or a cluster's), the inputs registered through [`iisql::Inputs`], the
//! checkpoint planned, and the output settings. Every command that reads logs starts here.

use std::path::Path;

use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::{SessionConfig, SessionContext};
use iisql::iis_log::LogFormat;
use iisql::{Catalog, IisW3cOptions, IisqlSessionExt, Registered};

use crate::args::{InputArgs, OutputArgs};
use crate::exec::{self, Runner};
use crate::{cluster, generate};

/// The reader options the input arguments ask for: each flag is the option of the same key
/// ([`iisql::options::KEYS`]), read as SQL's `OPTIONS` reads it.
pub fn options(a: &InputArgs) -> Result<IisW3cOptions> {
    let flags = [
        ("fields", a.fields.clone()),
        ("compression", a.compression.clone()),
        ("max_errors", a.max_errors.map(|n| n.to_string())),
        ("strict", a.strict.then(|| "true".to_string())),
        ("max_line_bytes", a.max_line_bytes.map(|n| n.to_string())),
        ("time_zone", a.time_zone.clone()),
    ];
    let mut o = IisW3cOptions::default();
    for (key, value) in flags {
        if let Some(value) = value {
            o.set(key, &value)
                .map_err(|e| DataFusionError::Plan(format!("--{}: {e}", key.replace('_', "-"))))?;
        }
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

/// The memory limit of a local session in bytes: `--memory-limit`, else `default`.
fn memory_limit(input: &InputArgs, default: Option<u64>) -> Result<Option<u64>> {
    match &input.memory_limit {
        Some(s) => Ok(Some(
            generate::parse_size(s).filter(|&n| n > 0).ok_or_else(|| {
                DataFusionError::Plan(format!(
                    "--memory-limit: cannot read `{s}` (e.g. 512MB, 2GiB)"
                ))
            })?,
        )),
        None => Ok(default),
    }
}

/// A local session under `limit` bytes (if any): a pool whose operators spill to temporary
/// files beyond it, and settings fitted to it ([`iisql::memory::fit_config`]).
fn local_context(config: SessionConfig, limit: Option<u64>) -> Result<SessionContext> {
    let (config, runtime) = match limit {
        // An error for want of memory names the largest consumers.
        Some(bytes) => (
            iisql::memory::fit_config(config, bytes as usize),
            iisql::memory::bounded_runtime(bytes as usize)?,
        ),
        None => (
            config,
            datafusion::execution::runtime_env::RuntimeEnvBuilder::new().build_arc()?,
        ),
    };
    let ctx = iisql::new_context_with_runtime(config, runtime)?;
    iisql::session::limit_local_files(&ctx)?;
    Ok(ctx)
}

/// Like [`setup`], with `memory_default` bytes as the memory limit when `--memory-limit` is not
/// given.
pub async fn setup_with_memory(
    input: &InputArgs,
    output: &OutputArgs,
    queries: Option<&Path>,
    memory_default: Option<u64>,
) -> Result<Runner> {
    let ctx = session(input, memory_default).await?;
    let registered = inputs(input)?.register_tables(&ctx).await?;
    if !input.paths.is_empty() {
        if input.cluster.is_some() {
            cluster::distribute(&ctx).await?;
        }
        ctx.register_views(&registered).await?;
    }
    let mut runner = Runner::new(ctx, output.format);
    runner.catalog = catalog(queries)?;
    with_inputs(&mut runner, registered, input);
    with_output(&mut runner, output);
    Ok(runner)
}

/// The session the input arguments ask for: a cluster's (`--cluster`) or a local one under the
/// memory limit, with `--partitions` and `--time-zone`.
async fn session(input: &InputArgs, memory_default: Option<u64>) -> Result<SessionContext> {
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
    match &input.cluster {
        Some(_) if input.memory_limit.is_some() => Err(DataFusionError::Plan(
            "--memory-limit bounds a local run; on a cluster each executor's \
             --memory-pool-size does"
                .into(),
        )),
        Some(url) => cluster::context(url, config).await,
        None => local_context(config, memory_limit(input, memory_default)?),
    }
}

/// What to register, as the input arguments say.
fn inputs(input: &InputArgs) -> Result<iisql::Inputs> {
    let options = options(input)?;
    let format = match &input.input_format {
        Some(f) => Some(
            f.parse::<LogFormat>()
                .map_err(|e| DataFusionError::Plan(format!("--input-format: {e}")))?,
        ),
        None => None,
    };
    Ok(iisql::Inputs {
        paths: input.paths.clone(),
        options,
        format,
        table: input.table.clone(),
        checkpoint: input.checkpoint.clone(),
    })
}

/// `runner` reading what `registered` holds: its tables, its checkpoint (held locked until
/// committed) and how much there is to read.
fn with_inputs(runner: &mut Runner, registered: Registered, input: &InputArgs) {
    if let Some(planned) = registered.checkpoint {
        if !input.quiet {
            for f in &planned.restarted {
                eprintln!("{f}: rotated or replaced since the checkpoint; read from its start");
            }
        }
        runner.pending_checkpoint = Some(exec::PendingCheckpoint {
            path: planned.path,
            next: planned.next,
            previous: planned.previous,
            new_bytes: planned.new_bytes,
        });
        runner.checkpoint_lock = Some(planned.lock);
    }
    runner.tables = registered.tables;
    runner.total_bytes = (!input.paths.is_empty()).then_some(registered.local_bytes);
    runner.cluster = input.cluster.is_some();
    if runner.cluster && !input.quiet {
        eprintln!(
            "iisql: on a cluster, the executors read the logs: lines they reject are written \
             to their logs, not summarized here"
        );
    }
    runner.timing = input.timing;
    runner.quiet = input.quiet;
    runner.rejects_path = input.rejects.clone();
}

/// `runner` printing as the output arguments say.
fn with_output(runner: &mut Runner, output: &OutputArgs) {
    runner.expanded = output.expanded;
    runner.max_rows = output.max_rows.max(1);
    runner.max_width = output.max_width.filter(|&w| w > 0);
    runner.pager = if output.no_pager {
        None
    } else {
        crate::pager::from_env()
    };
    runner.output = output.output.clone();
    runner.chart = output.chart_options();
}

//! The tables of what `iisql PATH...` reads before its first query, for tools that embed
//! iisql: the paths registered as tables (one per format found by content, or one table of a
//! given name or format, or a Parquet lake `iisql convert` wrote), a single table also as
//! `logs`, and with a checkpoint only the complete lines written since the last run.
//!
//! The flow: [`Inputs::register_tables`] (locks the checkpoint, finishes what a killed run left,
//! plans the new byte ranges, registers the tables); then, on a cluster, the tables are wrapped
//! for it; then the views go over [`Registered::web_logs`] (the `iisql` crate's session
//! extension does all of it). After the work succeeded, the caller saves
//! [`PlannedCheckpoint::next`] (the CLI does it only for the files its queries read to their
//! end).

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::SessionContext;
use iis_log::LogFormat;

use crate::checkpoint::{Checkpoint, Increment};
use crate::options::IisW3cOptions;
use crate::register::RegisteredTable;
use crate::staging::CheckpointLock;

/// Log paths and how to register them.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Files, folders, globs, archives or URLs (`s3://`, `https://`).
    pub paths: Vec<String>,
    /// Reading options of every table (the defaults of tables made by SQL too).
    pub options: IisW3cOptions,
    /// Read every path as this format, as one table, instead of detecting each file's.
    pub format: Option<LogFormat>,
    /// Register every path as one table of this name (a lake: under this name).
    pub table: Option<String>,
    /// Read only what was written since the run that saved this checkpoint.
    pub checkpoint: Option<PathBuf>,
}

/// What [`Inputs::register_tables`] registered.
#[derive(Debug)]
pub struct Registered {
    /// The tables, in name order, with their formats and inputs (`logs` last when it is an
    /// alias of the only table).
    pub tables: Vec<RegisteredTable>,
    /// The table the `activesync` view reads: `logs`, or the name asked for.
    pub logs_table: String,
    /// Bytes of the local files among the paths.
    pub local_bytes: u64,
    /// With a checkpoint: what this run reads and what the checkpoint says after it.
    pub checkpoint: Option<PlannedCheckpoint>,
}

/// A checkpointed run: locked against other runs until dropped.
#[derive(Debug)]
pub struct PlannedCheckpoint {
    /// The checkpoint file.
    pub path: PathBuf,
    /// Held for the whole run: a second run on the checkpoint is refused meanwhile.
    pub lock: CheckpointLock,
    /// What the checkpoint said before this run.
    pub previous: Checkpoint,
    /// What it says once this run's work is done.
    pub next: Checkpoint,
    /// Files read from their start: new, rotated or replaced since the checkpoint.
    pub restarted: Vec<String>,
    /// Bytes of new complete lines this run reads.
    pub new_bytes: u64,
}

impl Inputs {
    /// Inputs at `paths`, read with the default options.
    pub fn new(paths: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            paths: paths.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Registers the tables, not the views (a cluster wraps the tables first).
    pub async fn register_tables(self, ctx: &SessionContext) -> Result<Registered> {
        let Inputs {
            paths,
            mut options,
            format,
            table,
            checkpoint,
        } = self;
        if let Some(f) = format {
            options.format = f;
        }
        crate::session::register_iis_with_options(ctx, options.clone())?;
        let checkpoint = match checkpoint {
            Some(path) => Some(plan_checkpoint(ctx, path, &paths, &mut options).await?),
            None => None,
        };
        let mut tables = Vec::new();
        if !paths.is_empty() {
            tables = register_paths(ctx, &paths, options, format, table.as_deref()).await?;
            // One format found: its table is `logs` too, so `... FROM logs` reads it.
            if let [only] = tables.as_slice()
                && only.name != "logs"
                && table.is_none()
            {
                let provider = ctx.table_provider(only.name.as_str()).await?;
                ctx.register_table("logs", provider)?;
                let alias = RegisteredTable {
                    name: "logs".to_string(),
                    ..only.clone()
                };
                tables.push(alias);
            }
        }
        // A walk of the folders: off the runtime's workers.
        let local_bytes = tokio::task::spawn_blocking(move || crate::register::local_size(&paths))
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(Registered {
            tables,
            logs_table: table.unwrap_or_else(|| "logs".to_string()),
            local_bytes,
            checkpoint,
        })
    }
}

impl Registered {
    /// [`Registered::logs_table`] when it holds IIS W3C web logs (what the views read).
    pub fn web_logs(&self) -> Option<&str> {
        let format = self
            .tables
            .iter()
            .find(|t| t.name == self.logs_table)
            .map(|t| t.format);
        (format == Some(LogFormat::IisW3c)).then_some(self.logs_table.as_str())
    }
}

/// Locks the checkpoint at `path`, finishes what a killed run committed, and plans this run:
/// `options` get the byte ranges to read.
async fn plan_checkpoint(
    ctx: &SessionContext,
    path: PathBuf,
    paths: &[String],
    options: &mut IisW3cOptions,
) -> Result<PlannedCheckpoint> {
    // One run at a time; what the last run committed is in place before this one plans.
    let lock = crate::staging::lock(&path)?;
    crate::staging::recover_output(ctx, path.clone(), None).await?;
    // Reading the checkpoint and walking the folders block: off the runtime's workers.
    let (cp, given, walk_options) = (path.clone(), paths.to_vec(), options.clone());
    let (previous, files) = tokio::task::spawn_blocking(move || {
        Ok::<_, DataFusionError>((
            Checkpoint::load(&cp)?,
            crate::register::local_log_files(&given, &walk_options)?,
        ))
    })
    .await
    .map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))??;
    let urls: Vec<String> = paths
        .iter()
        .filter(|p| crate::stores::is_remote(p))
        .cloned()
        .collect();
    let Increment {
        ranges,
        next,
        restarted,
        new_bytes,
    } = previous.plan_all(ctx, &files, &urls).await?;
    options.ranges = Some(Arc::new(ranges));
    Ok(PlannedCheckpoint {
        path,
        lock,
        previous,
        next,
        restarted,
        new_bytes,
    })
}

/// The tables of `paths`: a lake under `table`, one table of `format` or named `table`, or one
/// per format detected.
async fn register_paths(
    ctx: &SessionContext,
    paths: &[String],
    options: IisW3cOptions,
    format: Option<LogFormat>,
    table: Option<&str>,
) -> Result<Vec<RegisteredTable>> {
    if let Some(name) = table
        && format.is_none()
        && crate::lake::all_lakes(paths).await
    {
        // A Parquet lake written by `iisql convert`, under the name asked for.
        crate::lake::register_lake(ctx, name, paths).await?;
        return Ok(vec![RegisteredTable {
            name: name.to_string(),
            format: LogFormat::IisW3c,
            inputs: paths.to_vec(),
        }]);
    }
    if format.is_some() || table.is_some() {
        let name = table.unwrap_or(options.format.table_name()).to_string();
        let format = options.format;
        crate::register_logs(ctx, &name, paths, options).await?;
        return Ok(vec![RegisteredTable {
            name,
            format,
            inputs: paths.to_vec(),
        }]);
    }
    crate::register_detected(ctx, paths, options).await
}

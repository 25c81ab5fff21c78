//! `iisql convert`: logs to typed Parquet (zstd), partitioned hive-style, sorted by time within
//! each file, incrementally with `--checkpoint`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use iisql::IisqlSessionExt;

use crate::args::{ConvertArgs, OutputArgs};
use crate::progress::Progress;

/// The memory `convert` may hold by default (`--memory-limit` changes it): what the sort of
/// input out of time order uses before it spills.
const CONVERT_MEMORY: u64 = 1 << 30;

/// The Parquet files below `dir`, with their sizes.
fn parquet_files(dir: &Path, out: &mut Vec<(String, u64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            parquet_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "parquet") {
            let size = e.metadata().map_or(0, |m| m.len());
            out.push((p.display().to_string(), size));
        }
    }
}

/// The staging folder (or, for a URL, prefix) of a checkpointed conversion into `to`, emptied
/// of what a run killed before its commit left there, after finishing a committed move.
async fn prepare_staging(
    ctx: &datafusion::prelude::SessionContext,
    to: &str,
    checkpoint: &Path,
    remote: bool,
) -> Result<String> {
    let staging = if remote {
        iisql::staging::staging_url(to, checkpoint)?
    } else {
        let dir = iisql::staging::staging_dir(Path::new(to), checkpoint)?;
        dir.display().to_string()
    };
    iisql::staging::recover_output(ctx, checkpoint.to_path_buf(), Some(staging.clone())).await?;
    if !remote {
        tokio::fs::create_dir_all(&staging)
            .await
            .map_err(|e| DataFusionError::Execution(format!("cannot create {staging}: {e}")))?;
    }
    Ok(staging)
}

/// Runs `iisql convert`.
pub async fn run(a: &ConvertArgs) -> Result<ExitCode> {
    if a.input.paths.is_empty() {
        return Err(DataFusionError::Plan(
            "convert needs at least one PATH".into(),
        ));
    }
    // The logs' time-ordered runs hold a few row groups; the sort that input out of time order
    // needs spills beyond 1 GiB: memory bounded by the work, not the input.
    let mut runner =
        crate::setup::setup_with_memory(&a.input, &OutputArgs::table(), None, Some(CONVERT_MEMORY))
            .await?;
    let table = a.from_table.clone().unwrap_or_else(|| "logs".to_string());
    let parts = iisql::lake_writer::partition_columns(&a.partition_by);
    // Checked before anything is written: the statement names the missing column.
    let schema = runner
        .ctx
        .table(table.as_str())
        .await?
        .schema()
        .as_arrow()
        .clone();
    iisql::lake_writer::lake_sql(&table, &schema, &parts, &a.to)?;
    let to = a.to.clone();
    let remote = iisql::stores::url_scheme(&to).is_some();
    if remote {
        iisql::stores::register_store_for(&runner.ctx, &to)?;
    } else {
        tokio::fs::create_dir_all(&to)
            .await
            .map_err(|e| DataFusionError::Execution(format!("cannot create {to}: {e}")))?;
    }
    if runner
        .pending_checkpoint
        .as_ref()
        .is_some_and(|c| c.new_bytes == 0)
    {
        runner.commit_checkpoint_read()?;
        if !a.input.quiet {
            eprintln!("nothing new since the checkpoint; {to} unchanged");
        }
        return Ok(ExitCode::SUCCESS);
    }
    // With a checkpoint, the files are written to a staging folder (or prefix, for a URL) and
    // moved into `to` once the checkpoint naming them is saved (iisql::staging): exactly once,
    // whatever happens.
    let staging = match (&a.input.checkpoint, &runner.pending_checkpoint) {
        (Some(cp), Some(_)) => Some(prepare_staging(&runner.ctx, &to, cp, remote).await?),
        _ => None,
    };
    let mut before = Vec::new();
    parquet_files(Path::new(&to), &mut before);
    let target = staging.clone().unwrap_or_else(|| to.clone());
    runner.log.reset();
    let progress = Progress::start(Arc::clone(&runner.log), runner.total_bytes, !a.input.quiet);
    let result = runner.ctx.write_lake(&table, &target, &parts).await;
    progress.finish();
    // A write that fails (a full disk) says where it was writing; errors of the input already
    // name their file and line.
    let rows = result.map_err(|e| match e.find_root() {
        DataFusionError::IoError(_) | DataFusionError::ObjectStore(_) => {
            e.context(format!("writing Parquet to {to}"))
        }
        _ => e,
    })?;
    let mut after = Vec::new();
    parquet_files(Path::new(staging.as_deref().unwrap_or(&to)), &mut after);
    let new: Vec<&(String, u64)> = after.iter().filter(|f| !before.contains(f)).collect();
    let bytes: u64 = new.iter().map(|(_, s)| s).sum();
    // The output is written and closed: now the checkpoint may move on.
    if let (Some(staged), Some(cp), Some(pending)) = (
        &staging,
        &a.input.checkpoint,
        runner.pending_checkpoint.as_mut(),
    ) {
        let (output, files) = if remote {
            let files = iisql::staging::files_in_store(&runner.ctx, staged).await?;
            (to.clone(), files)
        } else {
            let output = std::path::absolute(&to)
                .map_err(|e| DataFusionError::Execution(format!("{to}: {e}")))?;
            let files = iisql::staging::files_below(Path::new(staged))?;
            (output.display().to_string(), files)
        };
        pending.next.publish = Some(iisql::staging::Publish {
            staging: staged.clone(),
            output,
            files,
        });
        // The commit: from here on the files belong to `to`.
        runner.commit_checkpoint_read()?;
        iisql::staging::recover_output(&runner.ctx, cp.clone(), None).await?;
    } else {
        runner.commit_checkpoint_read()?;
    }
    let report = runner.log.snapshot();
    if !a.input.quiet {
        let written = if remote {
            String::from("Parquet files")
        } else {
            format!("{} Parquet files ({:.1} MB)", new.len(), bytes as f64 / 1e6)
        };
        if runner.cluster {
            // The executors read the logs and wrote the files; their counts are in their logs.
            eprintln!(
                "{rows} rows -> {written} in {to}; read on the cluster (rejected lines are in \
                 the executors' logs)"
            );
        } else {
            eprintln!(
                "{rows} rows from {} files -> {written} in {to}; {} lines rejected{}",
                report.files,
                report.stats.rejected,
                if report.stats.rejected > 0 {
                    " (use --rejects FILE)"
                } else {
                    ""
                }
            );
        }
    }
    runner.report().await?;
    Ok(ExitCode::SUCCESS)
}

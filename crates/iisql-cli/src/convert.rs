//! `iisql convert`: logs to typed Parquet (zstd), partitioned hive-style, sorted by time within
//! each file, incrementally with `--checkpoint`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::UInt64Type;
use datafusion::error::{DataFusionError, Result};

use crate::args::{ConvertArgs, OutputArgs};
use crate::progress::Progress;

use iisql::lake::HIVE_NULL;

/// The memory `convert` holds by default (`--memory-limit` changes it).
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

/// Runs `iisql convert`.
pub async fn run(a: &ConvertArgs) -> Result<ExitCode> {
    if a.input.paths.is_empty() {
        return Err(DataFusionError::Plan(
            "convert needs at least one PATH".into(),
        ));
    }
    // The sort by timestamp spills beyond 1 GiB: memory bounded by the work, not the input.
    let mut runner =
        crate::setup::setup_with_memory(&a.input, &OutputArgs::table(), None, Some(CONVERT_MEMORY))
            .await?;
    let table = a.from_table.clone().unwrap_or_else(|| "logs".to_string());
    let schema = runner.ctx.table(table.as_str()).await?.schema().clone();
    let parts: Vec<String> = if a.partition_by.trim().eq_ignore_ascii_case("none") {
        Vec::new()
    } else {
        a.partition_by
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    };
    for p in &parts {
        if schema.field_with_unqualified_name(p).is_err() {
            return Err(DataFusionError::Plan(format!(
                "--partition-by {p}: `{table}` has no such column"
            )));
        }
    }
    let to = a.to.clone();
    let remote = iisql::stores::url_scheme(&to).is_some();
    if remote {
        iisql::stores::register_store_for(&runner.ctx, &to)?;
    } else {
        std::fs::create_dir_all(&to)
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
    // With a checkpoint, the files are written to a staging folder and moved into `to` once
    // the checkpoint naming them is saved (iisql::staging): exactly once, whatever happens.
    let staging = match (&a.input.checkpoint, &runner.pending_checkpoint, remote) {
        (Some(cp), Some(_), false) => {
            let dir = iisql::staging::staging_dir(Path::new(&to), cp)?;
            // What a run killed before its commit left there.
            iisql::staging::recover_off_runtime(cp.clone(), Some(dir.clone())).await?;
            std::fs::create_dir_all(&dir).map_err(|e| {
                DataFusionError::Execution(format!("cannot create {}: {e}", dir.display()))
            })?;
            Some(dir)
        }
        _ => None,
    };
    let mut before = Vec::new();
    parquet_files(Path::new(&to), &mut before);
    // Hive-style: partition columns are in the folder names, not in the files (as Spark,
    // Trino, DuckDB and pyarrow expect; Spark refuses a column in both).
    let partitioned = if parts.is_empty() {
        String::new()
    } else {
        // Checked above to be columns; snake_case names need no quotes.
        format!("PARTITIONED BY ({})", parts.join(", "))
    };
    // A row without a value for a partition column goes to Hive's NULL folder
    // (`s_computername=__HIVE_DEFAULT_PARTITION__`), which Spark, Trino and DuckDB read as
    // NULL, rather than to an empty name (`s_computername=`), which they read as ''.
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let c = f.name();
            if parts.iter().any(|p| p == c) {
                format!("coalesce(CAST(\"{c}\" AS VARCHAR), '{HIVE_NULL}') AS \"{c}\"")
            } else {
                format!("\"{c}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let target = staging
        .as_ref()
        .map_or_else(|| to.clone(), |d| d.display().to_string());
    let dir = if target.ends_with('/') {
        target
    } else {
        format!("{target}/")
    };
    let sql = format!(
        "COPY (SELECT {columns} FROM \"{table}\" ORDER BY timestamp, log_filename, log_row) TO '{}' \
         STORED AS PARQUET {partitioned}{}",
        dir.replace('\'', "''"),
        // Row group and page sizes and compression come from the session's defaults.
        match iisql::parquet_out::parquet_column_options_sql(schema.as_arrow()) {
            o if o.is_empty() => o,
            o => format!(" OPTIONS ({o})"),
        }
    );
    runner.log.reset();
    let progress = Progress::start(Arc::clone(&runner.log), runner.total_bytes, !a.input.quiet);
    let result = async { runner.ctx.sql(&sql).await?.collect().await }.await;
    progress.finish();
    // A write that fails (a full disk) says where it was writing; errors of the input already
    // name their file and line.
    let batches = result.map_err(|e| match e.find_root() {
        DataFusionError::IoError(_) | DataFusionError::ObjectStore(_) => {
            e.context(format!("writing Parquet to {to}"))
        }
        _ => e,
    })?;
    let rows: u64 = batches
        .iter()
        .filter(|b| b.num_columns() > 0 && b.num_rows() > 0)
        .map(|b| {
            let c = b.column(0);
            c.as_primitive_opt::<UInt64Type>()
                .filter(|a| !a.is_null(0))
                .map_or(0, |a| a.value(0))
        })
        .sum();
    let mut after = Vec::new();
    parquet_files(staging.as_deref().unwrap_or(Path::new(&to)), &mut after);
    let new: Vec<&(String, u64)> = after.iter().filter(|f| !before.contains(f)).collect();
    let bytes: u64 = new.iter().map(|(_, s)| s).sum();
    // The output is written and closed: now the checkpoint may move on.
    if let (Some(dir), Some(cp), Some(pending)) = (
        &staging,
        &a.input.checkpoint,
        runner.pending_checkpoint.as_mut(),
    ) {
        let output = std::path::absolute(&to)
            .map_err(|e| DataFusionError::Execution(format!("{to}: {e}")))?;
        pending.next.publish = Some(iisql::staging::Publish {
            staging: dir.display().to_string(),
            output: output.display().to_string(),
            files: iisql::staging::files_below(dir)?,
        });
        // The commit: from here on the files belong to `to`.
        runner.commit_checkpoint_read()?;
        iisql::staging::recover_off_runtime(cp.clone(), None).await?;
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

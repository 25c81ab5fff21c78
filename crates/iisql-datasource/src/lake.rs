//! A Parquet lake as an input: the folder (or file) that `iisql convert` writes, recognised by
//! its content and registered as a table with the columns of the logs it came from, so that
//! the `activesync` view, the saved queries and `diagnose` read it as they read logs.
//!
//! Data flow: local paths → [`is_lake`] (walks the folders; a lake holds `.parquet` files
//! that start with Parquet's magic bytes, and nothing else) → a `ListingTable` of Parquet files
//! over each path,
//! hive partition folders (`date=2025-11-03/`) read back as the logs' columns → the table.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Column;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::{DataFusionError, Result};
use datafusion::functions::expr_fn::nullif;
use datafusion::logical_expr::{Expr, cast, col, lit};
use datafusion::prelude::SessionContext;

/// The folder name Hive, Spark, Trino and DuckDB read as a NULL partition value (what `iisql
/// convert` writes for a row without one).
pub const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

/// The first bytes of every Parquet file.
const PARQUET_MAGIC: &[u8; 4] = b"PAR1";

/// Whether the local file at `path` is a Parquet file (by its first bytes, not its name).
pub fn is_parquet_file(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| &magic == PARQUET_MAGIC)
}

/// Whether the local `path` is a lake: a Parquet file (named `.parquet` and starting with
/// Parquet's magic bytes), or a folder with one or more below it and no other file. The walk
/// stops at the first other file (a folder of logs is told apart by its first log), and does
/// not follow links to folders, so a loop cannot make it endless. Hidden files and names
/// starting with `_` (`_SUCCESS`, `_delta_log`) are passed over.
pub fn is_lake(path: &Path) -> bool {
    let mut parquet = false;
    only_parquet(path, &mut parquet) && parquet
}

/// Whether every file at `path` is Parquet; `found` is set when one is.
fn only_parquet(path: &Path, found: &mut bool) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if meta.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return false;
        };
        return entries.into_iter().all(|entry| {
            entry.is_ok_and(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(['.', '_']))
                    || only_parquet(&e.path(), found)
            })
        });
    }
    if !path.is_file() {
        // A link to a folder, or anything that is not a file.
        return meta.file_type().is_symlink() && path.is_dir();
    }
    let parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
        && is_parquet_file(path);
    *found |= parquet;
    parquet
}

/// Whether every one of `paths` is a local Parquet lake ([`is_lake`]). The folders are walked on
/// a blocking thread, not on the runtime's workers.
pub async fn all_lakes(paths: &[impl AsRef<str>]) -> bool {
    let paths: Vec<String> = paths.iter().map(|p| p.as_ref().to_string()).collect();
    !paths.is_empty()
        && tokio::task::spawn_blocking(move || {
            paths
                .iter()
                .all(|p| crate::stores::url_scheme(p).is_none() && is_lake(Path::new(p)))
        })
        .await
        .unwrap_or(false)
}

/// Registers the Parquet files at `paths` (folders or files, as `iisql convert` writes them)
/// as table `name`. Hive partition folders (`date=2025-11-03/s_computername=CAS01/`) become
/// columns after the files' own columns, of the type the logs' column of that name has (text
/// for others), [`HIVE_NULL`] read as NULL; the lakes must share one layout.
pub async fn register_lake(
    ctx: &SessionContext,
    name: &str,
    paths: &[impl AsRef<str>],
) -> Result<()> {
    let state = ctx.state();
    let mut urls = Vec::new();
    for p in paths {
        let p = p.as_ref();
        let local = Path::new(p);
        let url = if local.is_dir() && !p.ends_with('/') {
            format!("{p}/")
        } else {
            p.to_string()
        };
        urls.push(ListingTableUrl::parse(&url)?);
    }
    let Some(first) = urls.first() else {
        return Err(DataFusionError::Plan(format!("{name}: no lake given")));
    };
    let mut options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let partition_names = options.infer_partitions(&state, first).await?;
    options = options.with_table_partition_cols(
        partition_names
            .iter()
            .map(|c| (c.clone(), DataType::Utf8))
            .collect(),
    );
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .infer_schema(&state)
        .await?;
    let lake = ctx.read_table(Arc::new(ListingTable::try_new(config)?))?;
    // A partition folder holds its value as text, and Hive's name for NULL: the columns get
    // back the type and the NULLs the logs had.
    let logs = iis_log::schema::w3c_schema([]);
    let columns: Vec<Expr> = lake
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let c = f.name();
            if !partition_names.contains(c) {
                return col(Column::from_name(c));
            }
            let value = nullif(col(Column::from_name(c)), lit(HIVE_NULL));
            match logs.field_with_name(c) {
                Ok(field) => cast(value, field.data_type().clone()).alias(c),
                Err(_) => value.alias(c),
            }
        })
        .collect();
    let view = lake.select(columns)?.into_view();
    ctx.deregister_table(name)?;
    ctx.register_table(name, view)?;
    Ok(())
}

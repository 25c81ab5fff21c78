//! A Parquet lake as an input: the folder (or file) that `iisql convert` writes, recognised by
//! its content and registered as a table with the columns of the logs it came from, so that
//! the `activesync` view, the saved queries and `diagnose` read it as they read logs.
//!
//! Data flow: local paths → [`lake_files`] (walks the folders; a lake holds `.parquet` files
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

use crate::error::IisqlError;

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

/// What a local path holds, for deciding whether it is a lake.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LakeFiles {
    /// Parquet files found.
    pub parquet: usize,
    /// Other files (logs, archives, anything else) found.
    pub other: usize,
}

/// Counts the Parquet files (named `.parquet` and starting with Parquet's magic bytes) and other
/// files at `path` (below it, for a folder; links to folders are
/// not followed, so a loop cannot make the walk endless). Hidden files and names starting with
/// `_` (`_SUCCESS`, `_delta_log`) are not counted.
pub fn lake_files(path: &Path) -> Result<LakeFiles, IisqlError> {
    let mut found = LakeFiles::default();
    count(path, &mut found)?;
    Ok(found)
}

fn count(path: &Path, found: &mut LakeFiles) -> Result<(), IisqlError> {
    let io = |source| IisqlError::Io {
        path: path.display().to_string(),
        source,
    };
    let meta = std::fs::symlink_metadata(path).map_err(io)?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            if name.to_str().is_some_and(|n| n.starts_with(['.', '_'])) {
                continue;
            }
            count(&entry.path(), found)?;
        }
    } else if meta.is_file() || meta.file_type().is_symlink() && path.is_file() {
        let named = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        if named && is_parquet_file(path) {
            found.parquet += 1;
        } else {
            found.other += 1;
        }
    }
    Ok(())
}

/// Whether every one of `paths` is a local Parquet lake: Parquet files and nothing else.
pub fn all_lakes(paths: &[impl AsRef<str>]) -> bool {
    !paths.is_empty()
        && paths.iter().all(|p| {
            let p = p.as_ref();
            !p.contains("://")
                && lake_files(Path::new(p)).is_ok_and(|f| f.parquet > 0 && f.other == 0)
        })
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
    let partitions = options.infer_partitions(&state, first).await?;
    options = options.with_table_partition_cols(
        partitions
            .into_iter()
            .map(|c| (c, DataType::Utf8))
            .collect(),
    );
    let partition_names: Vec<String> = options
        .table_partition_cols
        .iter()
        .map(|(c, _)| c.clone())
        .collect();
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

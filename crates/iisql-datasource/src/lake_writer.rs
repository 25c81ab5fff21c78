//! Writing a table as the Parquet lake `iisql convert` writes and [`crate::lake`] reads back:
//! each file's rows sorted by time (then file and line), hive partition folders
//! (`date=2025-11-03/`, with [`HIVE_NULL`] for a row without a value), iisql's Parquet settings
//! ([`crate::parquet_out`]).
//!
//! Data flow: [`partition_columns`] (the `--partition-by` list) → [`write_lake`], which writes
//! the logs' own time-ordered runs ([`crate::lake_runs`]) when the plan runs here and the table
//! has the order columns; otherwise, or for input too far out of time order, [`lake_sql`] (a
//! `COPY` statement over the table that sorts it, under the session's memory pool, spilling
//! beyond it) → the rows written.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Schema, UInt64Type};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;

use crate::lake::HIVE_NULL;

/// The partition columns a `--partition-by` list names: comma-separated column names, or
/// `none` for a lake without partition folders.
pub fn partition_columns(spec: &str) -> Vec<String> {
    if spec.trim().eq_ignore_ascii_case("none") {
        return Vec::new();
    }
    spec.split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

/// The `COPY` statement that writes `table` (of `schema`) into the folder or URL `dir`,
/// partitioned by `partition_by`. An error names a partition column the table does not have.
///
/// Partition columns live in the folder names only, not in the files (as Spark, Trino, DuckDB
/// and pyarrow expect; Spark refuses a column in both). A row without a value goes to Hive's
/// NULL folder, which those read as NULL, rather than to an empty name, which they read as ''.
pub fn lake_sql(
    table: &str,
    schema: &Schema,
    partition_by: &[String],
    dir: &str,
) -> Result<String> {
    for p in partition_by {
        if schema.field_with_name(p).is_err() {
            return Err(DataFusionError::Plan(format!(
                "--partition-by {p}: `{table}` has no such column"
            )));
        }
    }
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let c = f.name().replace('"', "\"\"");
            if partition_by.iter().any(|p| p == f.name()) {
                format!("coalesce(CAST(\"{c}\" AS VARCHAR), '{HIVE_NULL}') AS \"{c}\"")
            } else {
                format!("\"{c}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let partitioned = if partition_by.is_empty() {
        String::new()
    } else {
        // Checked above to be columns: iisql's snake_case names need no quotes.
        format!(" PARTITIONED BY ({})", partition_by.join(", "))
    };
    // A folder: DataFusion writes into it (named files per partition) only with the slash.
    let dir = if dir.ends_with('/') {
        dir.to_string()
    } else {
        format!("{dir}/")
    };
    // Row group and page sizes and compression come from the session's defaults.
    let options = match crate::parquet_out::parquet_column_options_sql(schema) {
        o if o.is_empty() => o,
        o => format!(" OPTIONS ({o})"),
    };
    Ok(format!(
        "COPY (SELECT {columns} FROM \"{}\" ORDER BY timestamp, log_filename, log_row) TO '{}' \
         STORED AS PARQUET{partitioned}{options}",
        table.replace('"', "\"\""),
        dir.replace('\'', "''"),
    ))
}

/// Writes `table` of `ctx` into the folder or URL `dir` as a lake and returns the rows written.
/// The object store of a URL is registered first; a local folder must exist.
///
/// A table with the [`ORDER_COLUMNS`](crate::lake_runs::ORDER_COLUMNS)
/// ([`can_write_runs`](crate::lake_runs::can_write_runs)) whose plan runs on this machine is
/// written as its runs ([`crate::lake_runs`]); the others, and input too far
/// out of time order, by the sort of [`lake_sql`] (the input read again).
pub async fn write_lake(
    ctx: &SessionContext,
    table: &str,
    dir: &str,
    partition_by: &[String],
) -> Result<u64> {
    crate::stores::register_store_for(ctx, dir)?;
    let schema = ctx.table(table).await?.schema().as_arrow().clone();
    let sql = lake_sql(table, &schema, partition_by, dir)?;
    if crate::lake_runs::can_write_runs(&schema) && crate::session::executes_locally(ctx) {
        match crate::lake_runs::write_runs(ctx, table, dir, partition_by).await? {
            crate::lake_runs::Outcome::Written(rows) => return Ok(rows),
            // The sort reads the input again: where scans ended is decided by that reading.
            crate::lake_runs::Outcome::Disordered => crate::session::scan_log(ctx).rescan(),
        }
    }
    let batches = ctx.sql(&sql).await?.collect().await?;
    Ok(rows_written(&batches))
}

/// The row count a `COPY` statement answers with (one `count` row).
fn rows_written(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .filter(|b| b.num_columns() > 0 && b.num_rows() > 0)
        .map(|b| {
            b.column(0)
                .as_primitive_opt::<UInt64Type>()
                .filter(|a| !a.is_null(0))
                .map_or(0, |a| a.value(0))
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new(
                "timestamp",
                DataType::Timestamp(TimeUnit::Millisecond, None),
                true,
            ),
            Field::new("s_computername", DataType::Utf8View, true),
            Field::new("log_filename", DataType::Utf8View, false),
            Field::new("log_row", DataType::Int64, false),
        ])
    }

    #[test]
    fn partition_lists() {
        assert_eq!(
            partition_columns(" date, s_computername ,"),
            ["date", "s_computername"]
        );
        assert!(partition_columns("None").is_empty());
        assert!(partition_columns("").is_empty());
    }

    #[test]
    fn partition_columns_go_to_folders_and_nulls_to_hives_folder() {
        let sql = lake_sql("logs", &schema(), &["s_computername".into()], "/out/it's").unwrap();
        assert!(
            sql.contains(&format!(
                "coalesce(CAST(\"s_computername\" AS VARCHAR), '{HIVE_NULL}') AS \"s_computername\""
            )),
            "{sql}"
        );
        assert!(sql.contains("TO '/out/it''s/'"), "{sql}");
        assert!(sql.contains("PARTITIONED BY (s_computername)"), "{sql}");
        assert!(
            sql.contains("ORDER BY timestamp, log_filename, log_row"),
            "{sql}"
        );
        let err = lake_sql("logs", &schema(), &["site".into()], "/out").unwrap_err();
        assert!(
            err.to_string()
                .contains("--partition-by site: `logs` has no such column"),
            "{err}"
        );
    }
}

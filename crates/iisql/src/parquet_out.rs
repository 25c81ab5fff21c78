//! How iisql writes Parquet. zstd at level 1: on a 2-core machine, level 3 made converting
//! 1 GiB of logs take a quarter longer for a file 3% smaller. `timestamp` and `log_row` ascend
//! within a file, so they are written with delta encoding and no dictionary (a dictionary of
//! millisecond times fills and falls back to plain values within a row group).
//!
//! Only the columns that say when a request was made and where it was logged keep min/max
//! statistics: times and dates, and [`COLUMNS_WITH_STATISTICS`] (server, site, port, host, file
//! and row number). The writer computes statistics by comparing every value with the page's
//! minimum and maximum, one value at a time: for text columns that took 12% of a conversion's
//! CPU time, and for the status, byte and time-taken numbers another 8% (converting 1 GiB:
//! 4.55 s of CPU with them, 4.04 s with no statistics at all). On logs ordered by time the
//! minimum and maximum of a status code, a byte count, a user agent or a query string over a
//! row group of mixed requests are the same wide range in every row group and prune nothing,
//! while a time range, a server or a file does.
//!
//! Data pages hold up to [`PARQUET_DATA_PAGE_ROW_LIMIT`] rows and [`PARQUET_DATA_PAGE_BYTES`]
//! bytes, not the writer's 20,000 rows and 1 MiB: fewer, larger pages made converting 1 GiB
//! take 10% less time and 13% less CPU for the same peak memory; a limit of a million rows
//! raised peak memory by 60%.

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::Result;
use datafusion::common::config::{ConfigField, ConfigOptions, TableParquetOptions};

/// The compression iisql sessions write Parquet with (`COPY ... TO 'x.parquet'`, `-o`,
/// `convert`), set as the session's `datafusion.execution.parquet.compression`.
pub const PARQUET_COMPRESSION: &str = "zstd(1)";

/// The most rows a row group holds (`datafusion.execution.parquet.max_row_group_size`), also
/// for `convert`: DuckDB's size. DataFusion's default of 1,048,576 kept converting 1 GiB at
/// about 300 MB of memory, and 330 MB for 4 GiB; with 122,880 rows it was 230 and 275 MB, in
/// the same time, for a file 1% larger.
pub const PARQUET_ROW_GROUP_ROWS: usize = 122_880;

/// The most rows a data page holds (`datafusion.execution.parquet.data_page_row_count_limit`).
pub const PARQUET_DATA_PAGE_ROW_LIMIT: usize = 100_000;

/// The size a data page is closed at (`datafusion.execution.parquet.data_pagesize_limit`).
pub const PARQUET_DATA_PAGE_BYTES: usize = 4 << 20;

/// The columns written delta-encoded without a dictionary, where the written table has them.
pub const DELTA_COLUMNS: [&str; 2] = ["timestamp", "log_row"];

/// The columns other than times and dates that keep min/max statistics: the server, site, port
/// and file a row comes from, and its row number in the file.
pub const COLUMNS_WITH_STATISTICS: [&str; 7] = [
    "s_computername",
    "s_sitename",
    "s_ip",
    "s_port",
    "cs_host",
    "log_filename",
    "log_row",
];

/// The per-column settings iisql writes `schema` with, as (column, option, value): delta
/// encoding without a dictionary for [`DELTA_COLUMNS`], no statistics for the columns that are
/// neither times, dates nor [`COLUMNS_WITH_STATISTICS`].
pub fn parquet_column_settings(schema: &Schema) -> Vec<(String, &'static str, &'static str)> {
    let mut out = Vec::new();
    for field in schema.fields() {
        let name = field.name();
        if DELTA_COLUMNS.contains(&name.as_str()) {
            out.push((name.clone(), "encoding", "delta_binary_packed"));
            out.push((name.clone(), "dictionary_enabled", "false"));
        }
        let when = matches!(
            field.data_type(),
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
        );
        if !when && !COLUMNS_WITH_STATISTICS.contains(&name.as_str()) {
            out.push((name.clone(), "statistics_enabled", "none"));
        }
    }
    out
}

/// The options iisql writes `schema` to a Parquet file with: the session's (`config`) plus
/// [`parquet_column_settings`], set through DataFusion's own `option::column` keys.
pub fn parquet_write_options(
    config: &ConfigOptions,
    schema: &Schema,
) -> Result<TableParquetOptions> {
    let mut opts = TableParquetOptions {
        global: config.execution.parquet.clone(),
        ..Default::default()
    };
    for (column, option, value) in parquet_column_settings(schema) {
        opts.set(&format!("{option}::{column}"), value)?;
    }
    Ok(opts)
}

/// [`parquet_column_settings`] as the `OPTIONS` of a `COPY` statement
/// (`'format.encoding::timestamp' 'delta_binary_packed', ...`); empty when there are none.
pub fn parquet_column_options_sql(schema: &Schema) -> String {
    parquet_column_settings(schema)
        .iter()
        .map(|(c, o, v)| format!("'format.{o}::{c}' '{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{Field, TimeUnit};

    #[test]
    fn settings_follow_the_schema() {
        let schema = Schema::new(vec![
            Field::new(
                "timestamp",
                DataType::Timestamp(TimeUnit::Millisecond, None),
                true,
            ),
            Field::new("cs_uri_query", DataType::Utf8View, true),
            Field::new("s_computername", DataType::Utf8View, true),
            Field::new("sc_status", DataType::Int32, true),
        ]);
        let sql = parquet_column_options_sql(&schema);
        assert_eq!(
            sql,
            "'format.encoding::timestamp' 'delta_binary_packed', \
             'format.dictionary_enabled::timestamp' 'false', \
             'format.statistics_enabled::cs_uri_query' 'none', \
             'format.statistics_enabled::sc_status' 'none'"
        );
        let opts = parquet_write_options(&ConfigOptions::default(), &schema).unwrap();
        assert_eq!(opts.column_specific_options.len(), 3);
        let ts = &opts.column_specific_options["timestamp"];
        assert_eq!(ts.dictionary_enabled, Some(false));
        assert_eq!(ts.encoding.as_deref(), Some("delta_binary_packed"));
    }
}

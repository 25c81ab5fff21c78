//! How iisql writes Parquet: zstd at level 1 ([`PARQUET_COMPRESSION`]); numbers without a
//! dictionary, `timestamp`, `log_row`, `time_taken`, `sc_bytes` and `cs_bytes`
//! ([`DELTA_COLUMNS`]) delta-encoded (times and row numbers ascend within a file; byte counts and
//! durations take a few bits each after the block's minimum) and the status codes, port and date
//! ([`PLAIN_COLUMNS`]) plain; text with its dictionaries.
//!
//! Only the columns that say when a request was made and where it was logged keep min/max
//! statistics: times and dates, and [`COLUMNS_WITH_STATISTICS`] (server, site, port, host, file
//! and row number). Those prune row groups of logs ordered by time; a status code's or a user
//! agent's range is the same in every row group, and computing it costs CPU on every value.
//!
//! Data pages hold up to [`PARQUET_DATA_PAGE_ROW_LIMIT`] rows and [`PARQUET_DATA_PAGE_BYTES`]
//! bytes, row groups [`PARQUET_ROW_GROUP_ROWS`] rows. The measurements behind each choice are in
//! `docs/tuning.md`.

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::Result;
use datafusion::common::config::{ConfigField, ConfigOptions, TableParquetOptions};
use datafusion::common::file_options::parquet_writer::ParquetWriterOptions;
use datafusion::parquet::file::properties::WriterProperties;

/// The compression iisql sessions write Parquet with (`COPY ... TO 'x.parquet'`, `-o`,
/// `convert`), set as the session's `datafusion.execution.parquet.compression`.
pub const PARQUET_COMPRESSION: &str = "zstd(1)";

/// The most rows a row group holds (`datafusion.execution.parquet.max_row_group_size`), also
/// for `convert`: DuckDB's size, which bounds the memory a conversion holds per partition.
pub const PARQUET_ROW_GROUP_ROWS: usize = 122_880;

/// The most rows a data page holds (`datafusion.execution.parquet.data_page_row_count_limit`).
pub const PARQUET_DATA_PAGE_ROW_LIMIT: usize = 100_000;

/// The size a data page is closed at (`datafusion.execution.parquet.data_pagesize_limit`).
pub const PARQUET_DATA_PAGE_BYTES: usize = 4 << 20;

/// The columns written delta-encoded without a dictionary, where the written table has them.
pub const DELTA_COLUMNS: [&str; 5] = ["timestamp", "log_row", "time_taken", "sc_bytes", "cs_bytes"];

/// The columns written plain (no dictionary), where the written table has them: few distinct
/// numbers, which zstd compresses as well as a dictionary would.
pub const PLAIN_COLUMNS: [&str; 5] = [
    "sc_status",
    "sc_substatus",
    "sc_win32_status",
    "s_port",
    "date",
];

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
/// encoding without a dictionary for the integer and time columns of [`DELTA_COLUMNS`], no
/// dictionary for the integer and date columns of [`PLAIN_COLUMNS`], no statistics for the
/// columns that are neither times, dates nor [`COLUMNS_WITH_STATISTICS`].
pub fn parquet_column_settings(schema: &Schema) -> Vec<(String, &'static str, &'static str)> {
    let mut out = Vec::new();
    for field in schema.fields() {
        let name = field.name();
        let numeric = field.data_type().is_integer()
            || matches!(
                field.data_type(),
                DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
            );
        if numeric && DELTA_COLUMNS.contains(&name.as_str()) {
            out.push((name.clone(), "encoding", "delta_binary_packed"));
            out.push((name.clone(), "dictionary_enabled", "false"));
        } else if numeric && PLAIN_COLUMNS.contains(&name.as_str()) {
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

/// The Parquet writer properties of `options` (DataFusion's table options), for an Arrow
/// writer of iisql's own. Whether the Arrow schema is embedded is the Arrow writer's choice
/// (`ArrowWriterOptions::with_skip_arrow_metadata`, `options.global.skip_arrow_metadata`):
/// DataFusion's conversion refuses options that keep it, because its own writer embeds it
/// itself, so the conversion is asked without it.
pub fn writer_properties(options: &TableParquetOptions) -> Result<WriterProperties> {
    let mut plain = options.clone();
    plain.global.skip_arrow_metadata = true;
    Ok(ParquetWriterOptions::try_from(&plain)?
        .writer_options()
        .clone())
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
            Field::new("time_taken", DataType::Int64, true),
            // A text column under a number's name (a `types` option, say) keeps the defaults.
            Field::new("sc_bytes", DataType::Utf8View, true),
        ]);
        let sql = parquet_column_options_sql(&schema);
        assert_eq!(
            sql,
            "'format.encoding::timestamp' 'delta_binary_packed', \
             'format.dictionary_enabled::timestamp' 'false', \
             'format.statistics_enabled::cs_uri_query' 'none', \
             'format.dictionary_enabled::sc_status' 'false', \
             'format.statistics_enabled::sc_status' 'none', \
             'format.encoding::time_taken' 'delta_binary_packed', \
             'format.dictionary_enabled::time_taken' 'false', \
             'format.statistics_enabled::time_taken' 'none', \
             'format.statistics_enabled::sc_bytes' 'none'"
        );
        let opts = parquet_write_options(&ConfigOptions::default(), &schema).unwrap();
        assert_eq!(opts.column_specific_options.len(), 5);
        let ts = &opts.column_specific_options["timestamp"];
        assert_eq!(ts.dictionary_enabled, Some(false));
        assert_eq!(ts.encoding.as_deref(), Some("delta_binary_packed"));
        let status = &opts.column_specific_options["sc_status"];
        assert_eq!(status.dictionary_enabled, Some(false));
        assert_eq!(status.encoding, None);
        let bytes = &opts.column_specific_options["sc_bytes"];
        assert_eq!(bytes.dictionary_enabled, None);
        assert_eq!(bytes.encoding, None);
    }
}

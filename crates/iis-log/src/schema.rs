//! The table schema of IIS W3C logs: one typed column per standard field, one text column per
//! custom field found in `#Fields`, plus `timestamp`, `date`, `log_filename` and `log_row`.

use std::collections::HashMap;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::error::{Error, Result};
use crate::fields::{ValueType, column_name};
use crate::formats::LogFormat;

/// `timestamp`: date and time of the request, UTC, milliseconds.
pub const TIMESTAMP: &str = "timestamp";
/// `date`: the request's UTC date.
pub const DATE: &str = "date";
/// `local_timestamp`: the server's local date and time as logged (formats that log local time),
/// without a time zone.
pub const LOCAL_TIMESTAMP: &str = "local_timestamp";
/// `log_filename`: the file a row was read from.
pub const LOG_FILENAME: &str = "log_filename";
/// `log_row`: the 1-based line number of the row in its file (Log Parser's `LogRow`).
pub const LOG_ROW: &str = "log_row";
/// Field metadata key holding the W3C name a column was read from (`cs(User-Agent)`).
pub const W3C_NAME_KEY: &str = "iis.w3c_name";

/// Where a W3C field's values go.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldTarget {
    /// `date`: feeds `timestamp` and `date`.
    Date,
    /// `time`: feeds `timestamp`.
    Time,
    /// One field holding date and time (`date-time` of Exchange, NCSA's `[...]`).
    DateTime,
    /// The server's local date (`date-local`, IIS native's date).
    LocalDate,
    /// The server's local time of day (`time-local`, IIS native's time).
    LocalTime,
    /// A column of this name.
    Column(String),
}

/// Maps a W3C field name to its column. Custom fields whose snake_case name would collide with
/// a synthesized column (`timestamp`, `log_filename`, `log_row`) get a `w3c_` prefix.
pub fn field_target(w3c_name: &str) -> FieldTarget {
    let c = column_name(w3c_name);
    match c.as_str() {
        DATE => FieldTarget::Date,
        "time" => FieldTarget::Time,
        "date_time" | "datetime" | "ncsa_datetime" => FieldTarget::DateTime,
        "date_local" | "local_date" => FieldTarget::LocalDate,
        "time_local" | "local_time" => FieldTarget::LocalTime,
        TIMESTAMP | LOG_FILENAME | LOG_ROW | LOCAL_TIMESTAMP => {
            FieldTarget::Column(format!("w3c_{c}"))
        }
        _ => FieldTarget::Column(c),
    }
}

/// The Arrow type of the `timestamp` column.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

fn with_w3c_name(field: Field, w3c: &str) -> Field {
    field.with_metadata(HashMap::from([(W3C_NAME_KEY.to_string(), w3c.to_string())]))
}

/// Builds the IIS W3C schema for logs whose `#Fields` lines named `custom_fields` (W3C names)
/// beyond the standard ones. Standard fields are always present (NULL where a file does not log
/// them); custom columns are text, sorted by name so the schema does not depend on file order.
pub fn w3c_schema<'a>(custom_fields: impl IntoIterator<Item = &'a str>) -> Schema {
    log_schema(
        LogFormat::IisW3c,
        custom_fields.into_iter().map(|f| (f, ValueType::Text)),
    )
}

fn arrow_type(t: ValueType) -> DataType {
    match t {
        ValueType::Text => DataType::Utf8View,
        ValueType::Int32 => DataType::Int32,
        ValueType::Int64 => DataType::Int64,
        ValueType::Float64 => DataType::Float64,
        ValueType::DateTime => timestamp_type(),
    }
}

/// Builds the schema of `format` for logs whose field lists named `fields` (W3C names and their
/// types) beyond the format's catalogue: `timestamp` and `date`, `local_timestamp` for logs in
/// local time, the catalogue's typed columns (NULL where a file does not log them), one column
/// per other field, then `log_filename` and `log_row`. Other fields are sorted by name, except
/// for generic W3C, whose columns keep the order the files give them.
pub fn log_schema<'a>(
    format: LogFormat,
    fields: impl IntoIterator<Item = (&'a str, ValueType)>,
) -> Schema {
    let catalogue = format.catalogue();
    let mut local = format.local_time();
    let mut out = vec![
        with_w3c_name(Field::new(TIMESTAMP, timestamp_type(), true), "date time"),
        with_w3c_name(Field::new(DATE, DataType::Date32, true), "date"),
    ];
    let mut custom: Vec<(String, &str, ValueType)> = Vec::new();
    // The custom columns already taken (a `#Fields` line may name thousands).
    let mut taken = std::collections::HashSet::new();
    for (w3c, t) in fields {
        match field_target(w3c) {
            FieldTarget::LocalDate | FieldTarget::LocalTime => local = true,
            FieldTarget::Column(c)
                if !catalogue.iter().any(|f| f.column == c) && taken.insert(c.clone()) =>
            {
                custom.push((c, w3c, t))
            }
            _ => {}
        }
    }
    if local {
        out.push(with_w3c_name(
            Field::new(
                LOCAL_TIMESTAMP,
                DataType::Timestamp(TimeUnit::Millisecond, None),
                true,
            ),
            "date-local time-local",
        ));
    }
    for f in catalogue {
        out.push(with_w3c_name(
            Field::new(f.column, arrow_type(f.value_type), true),
            f.w3c_name,
        ));
    }
    if format != LogFormat::W3c {
        custom.sort_by(|a, b| a.0.cmp(&b.0));
    }
    for (c, w3c, t) in custom {
        out.push(with_w3c_name(Field::new(c, arrow_type(t), true), w3c));
    }
    out.push(Field::new(LOG_FILENAME, DataType::Utf8View, false));
    out.push(Field::new(LOG_ROW, DataType::Int64, false));
    Schema::new(out)
}

/// How the decoder fills one column of a (possibly user-declared) schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// `timestamp`
    Timestamp,
    /// `local_timestamp`
    LocalTimestamp,
    /// A field read as a UTC date and time (`Timestamp(Millisecond, _)`).
    DateTime,
    /// `date`
    Date,
    /// `log_filename` as `Utf8View` (`false`) or `Utf8` (`true`)
    LogFilename(bool),
    /// `log_row`
    LogRow,
    /// A field's text, `Utf8View`.
    TextView,
    /// A field's text, `Utf8`.
    Text,
    /// A field read as `Int32`.
    Int32,
    /// A field read as `Int64`.
    Int64,
    /// A field read as `Float64`.
    Float64,
}

/// Decides how each column of `schema` is filled, or says which column cannot be.
pub fn column_kinds(schema: &SchemaRef) -> Result<Vec<ColumnKind>> {
    schema
        .fields()
        .iter()
        .map(|f| {
            let dt = f.data_type();
            let kind = match (f.name().as_str(), dt) {
                (TIMESTAMP, DataType::Timestamp(TimeUnit::Millisecond, _)) => ColumnKind::Timestamp,
                (DATE, DataType::Date32) => ColumnKind::Date,
                (LOCAL_TIMESTAMP, DataType::Timestamp(TimeUnit::Millisecond, None)) => {
                    ColumnKind::LocalTimestamp
                }
                (LOG_FILENAME, DataType::Utf8View) => ColumnKind::LogFilename(false),
                (LOG_FILENAME, DataType::Utf8) => ColumnKind::LogFilename(true),
                (LOG_ROW, DataType::Int64) => ColumnKind::LogRow,
                (TIMESTAMP | DATE | LOG_FILENAME | LOG_ROW, _) => {
                    return Err(Error::UnsupportedColumnType {
                        column: f.name().clone(),
                        data_type: dt.clone(),
                    });
                }
                (_, DataType::Utf8View) => ColumnKind::TextView,
                (_, DataType::Utf8) => ColumnKind::Text,
                (_, DataType::Int32) => ColumnKind::Int32,
                (_, DataType::Int64) => ColumnKind::Int64,
                (_, DataType::Float64) => ColumnKind::Float64,
                (_, DataType::Timestamp(TimeUnit::Millisecond, _)) => ColumnKind::DateTime,
                _ => {
                    return Err(Error::UnsupportedColumnType {
                        column: f.name().clone(),
                        data_type: dt.clone(),
                    });
                }
            };
            Ok(kind)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn canonical_schema() {
        let s = w3c_schema(["X-Forwarded-For", "cs(Host)", "date", "c-ip", "timestamp"]);
        let names: Vec<_> = s.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names[0], "timestamp");
        assert_eq!(names[1], "date");
        assert!(names.contains(&"x_forwarded_for"));
        assert!(names.contains(&"w3c_timestamp"));
        // cs(Host) is the standard cs_host column, not a second one.
        assert_eq!(names.iter().filter(|n| **n == "cs_host").count(), 1);
        assert_eq!(names[names.len() - 2..], ["log_filename", "log_row"]);
        let xff = s.field_with_name("x_forwarded_for").unwrap();
        assert_eq!(xff.metadata()[W3C_NAME_KEY], "X-Forwarded-For");
        assert_eq!(
            s.field_with_name("sc_win32_status").unwrap().data_type(),
            &DataType::Int64
        );
        assert!(column_kinds(&Arc::new(s)).is_ok());
    }
}

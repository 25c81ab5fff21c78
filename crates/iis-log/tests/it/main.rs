//! Integration tests of the parser crate: one binary, one module per area.

mod decoder;
mod filter;
mod formats;
mod properties;

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMillisecondType};
use iis_log::reader::{FileRead, read_w3c};
use iis_log::{DecoderConfig, scan_directives, w3c_schema};

/// Reads `text` with the schema inferred from its own directives, all columns.
pub fn read(text: &[u8], chunk: usize) -> (arrow_schema::SchemaRef, FileRead) {
    let scan = scan_directives(text).unwrap();
    let schema = Arc::new(w3c_schema(scan.fields().values().map(String::as_str)));
    let cfg = Arc::new(
        DecoderConfig::new(schema.clone(), None)
            .unwrap()
            .with_batch_size(3),
    );
    (schema, read_w3c(text, cfg, "test.log", chunk).unwrap())
}

/// The batches concatenated.
pub fn concat(schema: &arrow_schema::SchemaRef, r: &FileRead) -> RecordBatch {
    arrow_select::concat::concat_batches(schema, &r.batches).unwrap()
}

/// A text column's values.
pub fn strings(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let c = b.column_by_name(name).unwrap();
    let a = c.as_string_view();
    a.iter().map(|v| v.map(str::to_string)).collect()
}

/// An Int32 column's values.
pub fn ints32(b: &RecordBatch, name: &str) -> Vec<Option<i32>> {
    b.column_by_name(name)
        .unwrap()
        .as_primitive::<Int32Type>()
        .iter()
        .collect()
}

/// An Int64 column's values.
pub fn ints64(b: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    b.column_by_name(name)
        .unwrap()
        .as_primitive::<Int64Type>()
        .iter()
        .collect()
}

/// The timestamp column in milliseconds.
pub fn timestamps(b: &RecordBatch) -> Vec<Option<i64>> {
    b.column_by_name("timestamp")
        .unwrap()
        .as_primitive::<TimestampMillisecondType>()
        .iter()
        .collect()
}

//! Helpers: the sample corpus, and query results in a form two engines can be compared in.

use std::path::PathBuf;

use datafusion::arrow::array::{Array, Float32Array, Float64Array, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::dataframe::DataFrame;

/// The generated sample logs bundled with the project (`data/sample`).
pub fn sample_dir() -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
    dir.canonicalize()
        .expect("data/sample is in the checkout")
        .display()
        .to_string()
}

/// The real IIS logs beside the checkout (`../shared/data/real-iis`), when present.
pub fn real_dir() -> Option<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real-iis");
    dir.canonicalize().ok().map(|d| d.display().to_string())
}

/// The rows of `batches`, one text per row (cells joined by ` | `), floats rounded to 6
/// decimals (partial sums on a cluster add in another order), in sorted order unless
/// `ordered`.
pub fn rows(batches: &[RecordBatch], ordered: bool) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for batch in batches {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formattable"))
            .collect();
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = batch
                .columns()
                .iter()
                .zip(&formatters)
                .map(|(col, f)| {
                    float_cell(col.as_ref(), row).unwrap_or_else(|| f.value(row).to_string())
                })
                .collect();
            out.push(cells.join(" | "));
        }
    }
    if !ordered {
        out.sort();
    }
    out
}

fn float_cell(col: &dyn Array, row: usize) -> Option<String> {
    if col.is_null(row) {
        return None;
    }
    let v = match col.data_type() {
        DataType::Float64 => col.as_any().downcast_ref::<Float64Array>()?.value(row),
        DataType::Float32 => col.as_any().downcast_ref::<Float32Array>()?.value(row) as f64,
        _ => return None,
    };
    Some(format!("{v:.6}"))
}

/// Runs `df` and returns its rows as [`rows`] gives them.
pub async fn collect_rows(df: DataFrame, ordered: bool) -> Vec<String> {
    let batches = df.collect().await.expect("query runs");
    rows(&batches, ordered)
}

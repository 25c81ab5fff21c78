//! Log Parser's multiplexed output: `INTO report_*.csv` writes one file per value of the first
//! SELECT column (one `*` per leading column), the `*` replaced by the value and that column
//! left out of the file.

use std::collections::HashMap;

use datafusion::arrow::array::{Array, BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::error::{DataFusionError, Result};

/// Whether an `INTO` target is multiplexed (holds a `*`).
pub fn is_multiplexed(into: &str) -> bool {
    into.contains('*')
}

/// A value as it may stand in a file name: characters that would name another folder or
/// another file (`/`, `\`, `:`, `..`, wildcards, control characters) become `_`.
fn file_part(value: &str) -> String {
    let part: String = value
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || " -_.@+=,()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    match part.trim() {
        "" => "_".to_string(),
        p if p.chars().all(|c| c == '.') => "_".repeat(p.len()),
        p => p.to_string(),
    }
}

/// Splits `batches` by the values of their first `n` columns (`n` = the `*`s of `into`): per
/// file name, the rows without those columns, in the order the files first appear.
pub fn split(batches: &[RecordBatch], into: &str) -> Result<Vec<(String, Vec<RecordBatch>)>> {
    let n = into.matches('*').count();
    let mut files: Vec<(String, Vec<RecordBatch>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for batch in batches {
        if batch.num_columns() <= n {
            return Err(DataFusionError::Plan(format!(
                "INTO {into}: each `*` takes one leading column, and the query has {} (at least \
                 one more is written to the files)",
                batch.num_columns()
            )));
        }
        let mut rows_of: Vec<(String, Vec<bool>)> = Vec::new();
        let mut of_name: HashMap<String, usize> = HashMap::new();
        for row in 0..batch.num_rows() {
            let mut name = into.to_string();
            for c in 0..n {
                let col = batch.column(c);
                let value = if col.is_null(row) {
                    String::new()
                } else {
                    array_value_to_string(col, row)?
                };
                name = name.replacen('*', &file_part(&value), 1);
            }
            let i = *of_name.entry(name.clone()).or_insert_with(|| {
                rows_of.push((name, vec![false; batch.num_rows()]));
                rows_of.len() - 1
            });
            rows_of[i].1[row] = true;
        }
        let kept: Vec<usize> = (n..batch.num_columns()).collect();
        let rest = batch.project(&kept)?;
        for (name, mask) in rows_of {
            let part = filter_record_batch(&rest, &BooleanArray::from(mask))?;
            let i = *index.entry(name.clone()).or_insert_with(|| {
                files.push((name, Vec::new()));
                files.len() - 1
            });
            files[i].1.push(part);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn one_file_per_value_without_its_column() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("user", DataType::Utf8, true),
            Field::new("hits", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![
                    Some("alice"),
                    Some("../etc/x"),
                    Some("alice"),
                    None,
                ])),
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
            ],
        )
        .unwrap();
        let files = split(&[batch], "out/u_*.csv").unwrap();
        let names: Vec<_> = files.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            names,
            ["out/u_alice.csv", "out/u_.._etc_x.csv", "out/u__.csv"]
        );
        let alice = &files[0].1[0];
        assert_eq!(alice.num_columns(), 1);
        assert_eq!(alice.schema().field(0).name(), "hits");
        assert_eq!(alice.num_rows(), 2);
        assert_eq!(file_part(".."), "__");
        assert!(split(&files[0].1, "a_*_*.csv").is_err());
    }
}

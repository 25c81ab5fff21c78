//! Row filters applied by the decoder: the columns the first filter reads are built for every
//! row, those of the next for the rows the first kept, the rest of the projection only for the
//! rows all of them keep.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMillisecondType};
use arrow_array::{BooleanArray, RecordBatch};
use arrow_schema::SchemaRef;
use iis_log::reader::{FileRead, read_w3c};
use iis_log::{DecoderConfig, FilterError, RowFilter, w3c_schema};

use crate::{ints32, ints64, strings, timestamps};

const TEXT: &[u8] = b"#Fields: date time c-ip cs-uri-stem sc-status time-taken\r\n\
2024-01-01 00:00:00 a /x 200 10\r\n\
2024-01-01 00:00:01 b /y 401 abc\r\n\
2024-01-01 00:00:02 c /z 200 xyz\r\n\
2024-01-01 00:00:03 d /w bad 5\r\n\
#Fields: date time c-ip sc-status time-taken\r\n\
2024-01-01 00:00:04 e 200 7\r\n\
2024-01-01 00:00:05 f 500 8";

/// Keeps rows whose `sc_status` is `status` (NULL for an unreadable status drops the row).
#[derive(Debug)]
struct StatusIs {
    columns: Vec<usize>,
    status: i32,
}

impl RowFilter for StatusIs {
    fn columns(&self) -> &[usize] {
        &self.columns
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<BooleanArray, FilterError> {
        let s = batch.column(0).as_primitive::<Int32Type>();
        Ok(s.iter().map(|v| v.map(|v| v == self.status)).collect())
    }
}

/// Keeps rows at or after `from` (milliseconds), read from the `timestamp` column.
#[derive(Debug)]
struct AtOrAfter {
    columns: Vec<usize>,
    from: i64,
}

impl RowFilter for AtOrAfter {
    fn columns(&self) -> &[usize] {
        &self.columns
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<BooleanArray, FilterError> {
        let t = batch.column(0).as_primitive::<TimestampMillisecondType>();
        Ok(t.iter().map(|v| v.map(|v| v >= self.from)).collect())
    }
}

fn schema() -> SchemaRef {
    Arc::new(w3c_schema([]))
}

fn read(
    projection: &[&str],
    filter: Arc<dyn RowFilter>,
    batch: usize,
    chunk: usize,
) -> (SchemaRef, FileRead) {
    read_filtered(projection, vec![filter], batch, chunk)
}

fn read_filtered(
    projection: &[&str],
    filters: Vec<Arc<dyn RowFilter>>,
    batch: usize,
    chunk: usize,
) -> (SchemaRef, FileRead) {
    let schema = schema();
    let projection = projection
        .iter()
        .map(|n| schema.index_of(n).unwrap())
        .collect();
    let mut cfg = DecoderConfig::new(Arc::clone(&schema), Some(projection))
        .unwrap()
        .with_batch_size(batch);
    for filter in filters {
        cfg = cfg.with_filter(filter).unwrap();
    }
    let projected = Arc::clone(cfg.projected_schema());
    (
        projected,
        read_w3c(TEXT, Arc::new(cfg), "f.log", chunk).unwrap(),
    )
}

fn status_is(status: i32) -> Arc<dyn RowFilter> {
    Arc::new(StatusIs {
        columns: vec![schema().index_of("sc_status").unwrap()],
        status,
    })
}

#[test]
fn a_filter_keeps_its_rows_and_builds_the_other_columns_only_for_them() {
    let projection = ["log_row", "timestamp", "c_ip", "sc_status", "time_taken"];
    for (batch, chunk) in [(1, 1 << 20), (2, 7), (3, 40), (8192, 1 << 20)] {
        let (schema, r) = read(&projection, status_is(200), batch, chunk);
        let b = arrow_select::concat::concat_batches(&schema, &r.batches).unwrap();
        let at = format!("batch {batch}, chunk {chunk}");
        assert_eq!(ints64(&b, "log_row"), [Some(2), Some(4), Some(7)], "{at}");
        assert_eq!(
            strings(&b, "c_ip"),
            [Some("a".into()), Some("c".into()), Some("e".into())],
            "{at}"
        );
        assert_eq!(ints32(&b, "sc_status"), [Some(200); 3], "{at}");
        assert_eq!(ints64(&b, "time_taken"), [Some(10), None, Some(7)], "{at}");
        let base = 1_704_067_200_000; // 2024-01-01 00:00:00 UTC
        assert_eq!(
            timestamps(&b),
            [Some(base), Some(base + 2_000), Some(base + 4_000)],
            "{at}"
        );
        // The unreadable status (a filter column) is reported; of the unreadable time-taken
        // values, only the kept row's: the other row's was never read.
        let rejects: Vec<_> = r
            .rejects
            .iter()
            .map(|x| (x.line, x.reason.code()))
            .collect();
        let mut sorted = rejects.clone();
        sorted.sort();
        assert_eq!(sorted, [(4, "invalid_value"), (5, "invalid_value")], "{at}");
        // Every line is still accounted for: filtered rows are rows.
        assert_eq!((r.stats.rows, r.stats.directives), (6, 2), "{at}");
    }
}

fn at_or_after(from: i64) -> Arc<dyn RowFilter> {
    Arc::new(AtOrAfter {
        columns: vec![schema().index_of("timestamp").unwrap()],
        from,
    })
}

#[test]
fn each_filter_reads_only_the_rows_the_ones_before_kept() {
    let base = 1_704_067_200_000; // 2024-01-01 00:00:00 UTC
    let projection = ["c_ip", "sc_status", "timestamp", "time_taken"];
    // (filters in order, the lines whose values could not be read)
    type Filters = Vec<Arc<dyn RowFilter>>;
    let cases: [(Filters, Vec<u64>); 3] = [
        // From 00:00:04 on: rows e and f; their statuses 200 and 500 read, the bad one of
        // line 5 never.
        (vec![at_or_after(base + 4_000), status_is(200)], vec![]),
        // Status first: line 5's status is read (and reported), line 4 (status 200 at
        // 00:00:02) is dropped by the time before its time-taken `xyz` is read.
        (vec![status_is(200), at_or_after(base + 4_000)], vec![5]),
        // The time read by the first filter is kept, for the rows it kept, for the third.
        (
            vec![
                at_or_after(base + 1_000),
                status_is(200),
                at_or_after(base + 3_000),
            ],
            vec![5],
        ),
    ];
    for (i, (filters, rejected)) in cases.into_iter().enumerate() {
        for (batch, chunk) in [(1, 1 << 20), (2, 7), (8192, 1 << 20)] {
            let (schema, r) = read_filtered(&projection, filters.clone(), batch, chunk);
            let b = arrow_select::concat::concat_batches(&schema, &r.batches).unwrap();
            let at = format!("case {i}, batch {batch}, chunk {chunk}");
            assert_eq!(strings(&b, "c_ip"), [Some("e".into())], "{at}");
            assert_eq!(ints32(&b, "sc_status"), [Some(200)], "{at}");
            assert_eq!(timestamps(&b), [Some(base + 4_000)], "{at}");
            assert_eq!(ints64(&b, "time_taken"), [Some(7)], "{at}");
            let mut lines: Vec<u64> = r.rejects.iter().map(|x| x.line).collect();
            lines.sort();
            assert_eq!(lines, rejected, "{at}");
            assert_eq!(r.stats.rows, 6, "{at}");
        }
    }
}

#[test]
fn a_filter_that_keeps_nothing_leaves_no_batch() {
    let (_, r) = read(&["c_ip"], status_is(999), 2, 1 << 20);
    assert!(r.batches.iter().all(|b| b.num_rows() == 0));
    assert_eq!(r.stats.rows, 6);
}

#[test]
fn a_filter_under_an_empty_projection_counts_the_rows_it_keeps() {
    let (_, r) = read(&[], status_is(200), 2, 1 << 20);
    let n: usize = r.batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(n, 3);
    assert!(r.batches.iter().all(|b| b.num_columns() == 0));
}

#[test]
fn a_filter_on_the_time_keeps_the_times_of_its_rows() {
    let s = schema();
    let base = 1_704_067_200_000;
    let filter = Arc::new(AtOrAfter {
        columns: vec![s.index_of("timestamp").unwrap()],
        from: base + 3_000,
    });
    let (schema, r) = read(&["date", "c_ip", "timestamp"], filter, 2, 1 << 20);
    let b = arrow_select::concat::concat_batches(&schema, &r.batches).unwrap();
    assert_eq!(
        strings(&b, "c_ip"),
        [Some("d".into()), Some("e".into()), Some("f".into())]
    );
    assert_eq!(
        timestamps(&b),
        [Some(base + 3_000), Some(base + 4_000), Some(base + 5_000)]
    );
    let days = b
        .column_by_name("date")
        .unwrap()
        .as_primitive::<arrow_array::types::Date32Type>();
    assert_eq!(days.iter().collect::<Vec<_>>(), [Some(19723); 3]);
}

#[test]
fn filter_columns_out_of_order_are_refused() {
    let filter = Arc::new(StatusIs {
        columns: vec![5, 3],
        status: 1,
    });
    assert!(
        DecoderConfig::new(schema(), None)
            .unwrap()
            .with_filter(filter)
            .is_err()
    );
}

//! Writing a lake from the time-ordered runs that logs already are, instead of sorting them.
//!
//! IIS appends a line when its request ends, so each log file is in time order (every file of
//! the real logs in `../shared` is, and every file the generator writes). [`write_runs`] uses
//! that: each output partition of the scan runs on its own task, which routes its rows by
//! partition value (`date=2025-11-03/`) into *runs*. A run is one Parquet file whose rows
//! ascend by (`timestamp`, `log_filename`, `log_row`), the order the sort gave. A row that
//! goes back in time continues another open run of its partition value whose last row is not
//! above it, or starts a new run. So every file is sorted by time, the files of one folder may
//! overlap in time (one per server, say), and the rows are encoded on the task that read them.
//!
//! Input out of order only costs more files. Input so far out of order that the runs
//! outnumber twice the files read, plus [`SPARE_RUNS`], is left to the sort instead
//! ([`Outcome::Disordered`]); the files this write made are deleted first.
//!
//! Memory: each task keeps at most [`OPEN_RUNS`] runs open (the least recently written is
//! closed first, and one idle for [`IDLE_BATCHES`] is closed), each holding the row group it fills, registered with the session's memory
//! pool (when the pool refuses, the row groups are flushed early), and its object-store
//! writer's buffer. Nothing else is held: memory does not grow with the input.
//!
//! A write that fails, or stops for disorder, removes what it wrote: the completed files, and
//! the open ones by aborting their uploads.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use datafusion::arrow::array::{Array, AsArray, Int64Array, StringArray, StringViewArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::runtime::SpawnedTask;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_writer::ArrowWriterOptions;
use datafusion::physical_plan::ExecutionPlanProperties;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;

use crate::lake::HIVE_NULL;

/// The most runs a task keeps open at once.
pub const OPEN_RUNS: usize = 4;

/// A run that no row has gone to for this many batches is closed (its input file has ended,
/// most likely), so that the memory it holds is given back.
pub const IDLE_BATCHES: u64 = 16;

/// The runs a task may start beyond two per file it reads before the input counts as out of
/// order ([`Outcome::Disordered`]).
pub const SPARE_RUNS: usize = 16;

/// The columns a run ascends by, in this order: the order `iisql convert` has always written.
pub const ORDER_COLUMNS: [&str; 3] = ["timestamp", "log_filename", "log_row"];

/// Whether `schema` has the [`ORDER_COLUMNS`] with types whose order [`write_runs`] reads as
/// `ORDER BY` does: a timestamp, a text and an integer.
pub fn can_write_runs(schema: &Schema) -> bool {
    let typed = |name: &str, ok: fn(&DataType) -> bool| {
        schema
            .field_with_name(name)
            .is_ok_and(|f| ok(f.data_type()))
    };
    typed(ORDER_COLUMNS[0], |t| matches!(t, DataType::Timestamp(..)))
        && typed(ORDER_COLUMNS[1], |t| {
            matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
        })
        && typed(ORDER_COLUMNS[2], DataType::is_integer)
}

/// What [`write_runs`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every row was written, in this many rows.
    Written(u64),
    /// The input is too far out of time order for runs; nothing is left written.
    Disordered,
}

/// Writes `table` of `ctx` into the folder or URL `dir` (whose object store is registered) as
/// runs, partitioned by `partition_by` (columns of the table). The table must have the
/// [`ORDER_COLUMNS`] ([`can_write_runs`]); [`crate::lake_writer::write_lake`] checks that first.
pub async fn write_runs(
    ctx: &SessionContext,
    table: &str,
    dir: &str,
    partition_by: &[String],
) -> Result<Outcome> {
    let df = ctx.table(table).await?;
    let task_ctx = Arc::new(df.task_ctx());
    let layout = Layout::new(df.schema().as_arrow(), partition_by)?;
    let config = task_ctx.session_config().options();
    let options = crate::parquet_out::parquet_write_options(config, &layout.file_schema)?;
    let props = crate::parquet_out::writer_properties(&options)?;
    let dir = if dir.ends_with('/') {
        dir.to_string()
    } else {
        format!("{dir}/")
    };
    let url = ListingTableUrl::parse(&dir)?;
    let target = Arc::new(Target {
        store: task_ctx.runtime_env().object_store(&url)?,
        prefix: url.prefix().clone(),
        write_id: write_id(),
        buffer_size: config.execution.objectstore_writer_buffer_size,
        writer_options: ArrowWriterOptions::new()
            .with_properties(props)
            .with_skip_arrow_metadata(options.global.skip_arrow_metadata),
        layout,
        stop: AtomicBool::new(false),
        written: Mutex::new(Vec::new()),
    });
    let plan = df.create_physical_plan().await?;
    // Every stream first, so that a partition that cannot start leaves nothing running.
    let streams = (0..plan.output_partitioning().partition_count())
        .map(|partition| plan.execute(partition, Arc::clone(&task_ctx)))
        .collect::<Result<Vec<_>>>()?;
    let mut tasks = Vec::new();
    for (partition, stream) in streams.into_iter().enumerate() {
        let runs = Runs::new(Arc::clone(&target), partition, &task_ctx);
        tasks.push(SpawnedTask::spawn(runs.run(stream)));
    }
    let mut rows = 0;
    let mut error = None;
    let mut disordered = false;
    for task in tasks {
        let result = task
            .join_unwind()
            .await
            .map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))
            .and_then(|r| r);
        match result {
            Ok(Some(n)) => rows += n,
            // Stopped: for disorder, or because another task failed.
            Ok(None) => disordered = true,
            Err(e) => error = error.or(Some(e)),
        }
    }
    if error.is_none() && !disordered {
        return Ok(Outcome::Written(rows));
    }
    let removed = target.remove_written().await;
    match error {
        // The write's own error says more than one of cleaning up after it.
        Some(e) => Err(e),
        None => removed.map(|()| Outcome::Disordered),
    }
}

/// A name shared by the files of one write, unique across writes into the same folder.
fn write_id() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("{nanos:x}{:x}{n:x}", std::process::id())
}

/// Where each column of the table goes: the run order, the folders, or the files.
struct Layout {
    /// The indexes of [`ORDER_COLUMNS`] in the table.
    order: [usize; 3],
    /// The partition columns: their names and indexes in the table.
    partitions: Vec<(String, usize)>,
    /// The indexes of the columns the files hold (all but the partition columns).
    kept: Vec<usize>,
    /// The schema of the files.
    file_schema: SchemaRef,
}

impl Layout {
    fn new(schema: &Schema, partition_by: &[String]) -> Result<Self> {
        let index = |name: &str| {
            schema.index_of(name).map_err(|_| {
                DataFusionError::Plan(format!("writing a lake: the table has no column {name}"))
            })
        };
        let order = [
            index(ORDER_COLUMNS[0])?,
            index(ORDER_COLUMNS[1])?,
            index(ORDER_COLUMNS[2])?,
        ];
        let partitions = partition_by
            .iter()
            .map(|p| Ok((p.clone(), index(p)?)))
            .collect::<Result<Vec<_>>>()?;
        let kept: Vec<usize> = (0..schema.fields().len())
            .filter(|i| !partitions.iter().any(|(_, p)| p == i))
            .collect();
        let file_schema = Arc::new(schema.project(&kept)?);
        Ok(Self {
            order,
            partitions,
            kept,
            file_schema,
        })
    }
}

/// What the tasks of one write share.
struct Target {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    write_id: String,
    buffer_size: usize,
    writer_options: ArrowWriterOptions,
    layout: Layout,
    /// Set by a task that failed or found disorder: the others stop at their next batch.
    stop: AtomicBool,
    /// The files completed so far.
    written: Mutex<Vec<Path>>,
}

impl Target {
    /// The path of run `run` of task `task` in the folder of partition values `key`.
    fn path(&self, key: &[String], task: usize, run: usize) -> Path {
        let mut path = self.prefix.clone();
        for ((name, _), value) in self.layout.partitions.iter().zip(key) {
            path = path.join(format!("{name}={value}"));
        }
        path.join(format!("{}_{task}_{run}.parquet", self.write_id))
    }

    /// Deletes the files completed by this write.
    async fn remove_written(&self) -> Result<()> {
        let written = std::mem::take(&mut *self.written.lock().map_err(poisoned)?);
        for path in written {
            match self.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

fn poisoned<T>(_: T) -> DataFusionError {
    DataFusionError::Internal("a lake writer's lock was poisoned".into())
}

/// A row's place in run order: time, file, row; a missing value sorts last, as in `ORDER BY`.
type Key<'a> = (i64, (bool, &'a str), i64);

/// [`Key`] with its file name owned: the last row of a run.
type LastKey = (i64, (bool, String), i64);

fn borrowed(k: &LastKey) -> Key<'_> {
    (k.0, (k.1.0, k.1.1.as_str()), k.2)
}

/// The order columns of one batch, read as [`Key`]s.
struct OrderKeys {
    time: Int64Array,
    file: StringViewArray,
    row: Int64Array,
}

impl OrderKeys {
    fn of(batch: &RecordBatch, order: [usize; 3]) -> Result<Self> {
        let int = |i: usize| -> Result<Int64Array> {
            Ok(cast(batch.column(i), &DataType::Int64)?
                .as_primitive::<Int64Type>()
                .clone())
        };
        Ok(Self {
            time: int(order[0])?,
            file: cast(batch.column(order[1]), &DataType::Utf8View)?
                .as_string_view()
                .clone(),
            row: int(order[2])?,
        })
    }

    fn key(&self, i: usize) -> Key<'_> {
        let int = |a: &Int64Array| {
            if a.is_null(i) { i64::MAX } else { a.value(i) }
        };
        let file = if self.file.is_null(i) {
            (true, "")
        } else {
            (false, self.file.value(i))
        };
        (int(&self.time), file, int(&self.row))
    }

    /// The first row after `start` and before `end` that is below the row before it, or `end`.
    fn first_descent(&self, start: usize, end: usize) -> usize {
        (start + 1..end)
            .find(|&i| self.key(i) < self.key(i - 1))
            .unwrap_or(end)
    }
}

/// The rows of a batch in groups of consecutive rows with the same partition values.
fn partition_groups(
    batch: &RecordBatch,
    layout: &Layout,
) -> Result<Vec<(std::ops::Range<usize>, Vec<String>)>> {
    let rows = batch.num_rows();
    if layout.partitions.is_empty() {
        return Ok(vec![(0..rows, Vec::new())]);
    }
    let columns = layout
        .partitions
        .iter()
        .map(|(_, i)| {
            Ok(cast(batch.column(*i), &DataType::Utf8)?
                .as_string::<i32>()
                .clone())
        })
        .collect::<Result<Vec<StringArray>>>()?;
    fn value(c: &StringArray, i: usize) -> &str {
        if c.is_null(i) { HIVE_NULL } else { c.value(i) }
    }
    let same = |a: usize, b: usize| columns.iter().all(|c| value(c, a) == value(c, b));
    let mut groups = Vec::new();
    let mut start = 0;
    for i in 1..=rows {
        if i == rows || !same(i, start) {
            let key = columns
                .iter()
                .map(|c| value(c, start).to_string())
                .collect();
            groups.push((start..i, key));
            start = i;
        }
    }
    Ok(groups)
}

/// One open run: a Parquet file being written.
struct Run {
    key: Vec<String>,
    last: LastKey,
    writer: ArrowWriter<Vec<u8>>,
    out: BufWriter,
    path: Path,
    /// When the run was last written to, in the task's batches.
    used: u64,
}

impl Run {
    /// Hands the bytes the writer has completed to the object store's writer.
    async fn drain(&mut self) -> Result<()> {
        if !self.writer.inner().is_empty() {
            let bytes = std::mem::take(self.writer.inner_mut());
            self.out.put(Bytes::from(bytes)).await?;
        }
        Ok(())
    }

    /// Writes the footer and completes the file, recording its path in `written` first (a
    /// completion that fails may still have made the file). A run whose bytes cannot all be
    /// handed to the store aborts its upload.
    async fn close(mut self, written: &Mutex<Vec<Path>>) -> Result<()> {
        written.lock().map_err(poisoned)?.push(self.path.clone());
        if let Err(e) = self.footer().await {
            let _ = self.out.abort().await;
            return Err(e);
        }
        self.out.shutdown().await?;
        Ok(())
    }

    /// Writes the last row group and the footer, and hands them to the store's writer.
    async fn footer(&mut self) -> Result<()> {
        self.writer.flush()?;
        self.drain().await?;
        // The footer, then everything the writer still buffers, into its `Vec`.
        self.writer.finish()?;
        self.writer.sync()?;
        self.drain().await
    }
}

/// One task's runs.
struct Runs {
    target: Arc<Target>,
    task: usize,
    open: Vec<Run>,
    /// Runs started, and input files seen (changes of `log_filename`).
    started: usize,
    files: usize,
    last_file: Option<String>,
    batches: u64,
    rows: u64,
    reservation: MemoryReservation,
}

impl Runs {
    fn new(target: Arc<Target>, task: usize, ctx: &datafusion::execution::TaskContext) -> Self {
        let reservation =
            MemoryConsumer::new(format!("iisql lake runs[{task}]")).register(ctx.memory_pool());
        Self {
            target,
            task,
            open: Vec::new(),
            started: 0,
            files: 0,
            last_file: None,
            batches: 0,
            rows: 0,
            reservation,
        }
    }

    /// Writes the stream; the rows written, or `None` when it stopped for disorder (its own or
    /// another task's). An open run is aborted, not completed, when it stops.
    async fn run(mut self, mut stream: SendableRecordBatchStream) -> Result<Option<u64>> {
        let result = self.consume(&mut stream).await;
        let result = match result {
            Ok(true) => self.close_all().await.map(|()| Some(self.rows)),
            Ok(false) => Ok(None),
            Err(e) => Err(e),
        };
        if !matches!(result, Ok(Some(_))) {
            self.target.stop.store(true, Ordering::Relaxed);
            for mut run in self.open.drain(..) {
                let _ = run.out.abort().await;
            }
        }
        self.reservation.free();
        result
    }

    /// Writes every batch; `false` when the write stops for disorder.
    async fn consume(&mut self, stream: &mut SendableRecordBatchStream) -> Result<bool> {
        while let Some(batch) = stream.next().await {
            if self.target.stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            if !self.write_batch(&batch?).await? {
                return Ok(false);
            }
            self.close_idle().await?;
            self.account().await?;
        }
        Ok(true)
    }

    /// Writes the rows of `batch` into runs; `false` when they are too far out of order.
    async fn write_batch(&mut self, batch: &RecordBatch) -> Result<bool> {
        let layout = &self.target.layout;
        let keys = OrderKeys::of(batch, layout.order)?;
        let groups = partition_groups(batch, layout)?;
        let columns = layout.kept.iter().map(|&i| Arc::clone(batch.column(i)));
        let rows = RecordBatch::try_new(Arc::clone(&layout.file_schema), columns.collect())?;
        self.count_files(&keys);
        self.batches += 1;
        for (range, key) in groups {
            let mut start = range.start;
            while start < range.end {
                let Some(i) = self.pick(&key, keys.key(start)).await? else {
                    return Ok(false);
                };
                let end = keys.first_descent(start, range.end);
                let run = &mut self.open[i];
                run.writer.write(&rows.slice(start, end - start))?;
                let (t, (null, file), r) = keys.key(end - 1);
                run.last = (t, (null, file.to_string()), r);
                run.used = self.batches;
                run.drain().await?;
                self.rows += (end - start) as u64;
                start = end;
            }
        }
        Ok(true)
    }

    /// Counts the input files the batch starts or crosses into.
    fn count_files(&mut self, keys: &OrderKeys) {
        let n = keys.file.len();
        if n == 0 {
            return;
        }
        let first = keys.key(0).1.1;
        if self.last_file.as_deref() != Some(first) {
            self.files += 1;
        }
        let last = keys.key(n - 1).1.1;
        if last != first {
            self.files += 1;
        }
        if self.last_file.as_deref() != Some(last) {
            self.last_file = Some(last.to_string());
        }
    }

    /// The open run of partition values `key` that a row at `first` continues: the one whose
    /// last row is highest but not above it. Otherwise a new run, after closing the least
    /// recently written one when [`OPEN_RUNS`] are open; `None` when too many have started.
    async fn pick(&mut self, key: &[String], first: Key<'_>) -> Result<Option<usize>> {
        let best = self
            .open
            .iter()
            .enumerate()
            .filter(|(_, r)| r.key == key && borrowed(&r.last) <= first)
            .max_by(|(_, a), (_, b)| borrowed(&a.last).cmp(&borrowed(&b.last)))
            .map(|(i, _)| i);
        if best.is_some() {
            return Ok(best);
        }
        if self.started >= 2 * self.files + SPARE_RUNS {
            return Ok(None);
        }
        if self.open.len() >= OPEN_RUNS {
            let oldest = (0..self.open.len())
                .min_by_key(|&i| self.open[i].used)
                .unwrap_or(0);
            let run = self.open.swap_remove(oldest);
            self.complete(run).await?;
        }
        let path = self.target.path(key, self.task, self.started);
        self.started += 1;
        let writer = ArrowWriter::try_new_with_options(
            Vec::new(),
            Arc::clone(&self.target.layout.file_schema),
            self.target.writer_options.clone(),
        )?;
        // Two parts in flight per run at most: a store's upload buffers are not in the pool.
        let out = BufWriter::with_capacity(
            Arc::clone(&self.target.store),
            path.clone(),
            self.target.buffer_size,
        )
        .with_max_concurrency(2);
        self.open.push(Run {
            key: key.to_vec(),
            last: (i64::MIN, (false, String::new()), i64::MIN),
            writer,
            out,
            path,
            used: self.batches,
        });
        Ok(Some(self.open.len() - 1))
    }

    /// Completes `run` and records its file as written.
    async fn complete(&mut self, run: Run) -> Result<()> {
        run.close(&self.target.written).await
    }

    /// Completes the runs no row has gone to for [`IDLE_BATCHES`] batches.
    async fn close_idle(&mut self) -> Result<()> {
        while let Some(i) = (0..self.open.len())
            .find(|&i| self.batches.saturating_sub(self.open[i].used) > IDLE_BATCHES)
        {
            let run = self.open.swap_remove(i);
            self.complete(run).await?;
        }
        Ok(())
    }

    async fn close_all(&mut self) -> Result<()> {
        while let Some(run) = self.open.pop() {
            self.complete(run).await?;
        }
        Ok(())
    }

    /// Registers the row groups being filled with the memory pool; when it refuses, they are
    /// written out early (smaller row groups, less memory).
    async fn account(&mut self) -> Result<()> {
        let held = |open: &[Run]| open.iter().map(|r| r.writer.memory_size()).sum::<usize>();
        if self.reservation.try_resize(held(&self.open)).is_err() {
            for run in &mut self.open {
                run.writer.flush()?;
                run.drain().await?;
            }
            self.reservation.resize(held(&self.open));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_only_for_order_columns_read_as_order_by_reads_them() {
        use datafusion::arrow::datatypes::{Field, TimeUnit};
        let schema = |time: DataType, file: DataType| {
            Schema::new(vec![
                Field::new("timestamp", time, true),
                Field::new("log_filename", file, true),
                Field::new("log_row", DataType::Int64, true),
            ])
        };
        let ts = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
        assert!(can_write_runs(&schema(ts.clone(), DataType::Utf8View)));
        assert!(can_write_runs(&schema(ts.clone(), DataType::Utf8)));
        // Text times or numbered files would not be ordered as `ORDER BY` orders them.
        assert!(!can_write_runs(&schema(DataType::Utf8, DataType::Utf8)));
        assert!(!can_write_runs(&schema(ts, DataType::Int64)));
        assert!(!can_write_runs(&Schema::empty()));
    }

    #[test]
    fn keys_order_time_then_file_then_row_with_missing_values_last() {
        let time = Int64Array::from(vec![Some(5), Some(5), Some(5), Some(6), None]);
        let file = StringViewArray::from(vec![Some("a"), Some("a"), Some("b"), None, Some("a")]);
        let row = Int64Array::from(vec![Some(2), Some(1), Some(1), Some(1), Some(1)]);
        let keys = OrderKeys { time, file, row };
        assert!(
            keys.key(1) < keys.key(0),
            "same time and file: the row decides"
        );
        assert!(keys.key(0) < keys.key(2), "same time: the file decides");
        assert!(keys.key(2) < keys.key(3), "time first");
        assert!(keys.key(3) < keys.key(4), "a row without a time sorts last");
        assert!(
            (6, (false, "z"), 9) < keys.key(3),
            "a row without a file sorts last"
        );
        assert_eq!(keys.first_descent(0, 5), 1);
        assert_eq!(keys.first_descent(1, 5), 5);
        assert_eq!(keys.first_descent(1, 3), 3);
    }
}

//! Per-request facts, computed once per run: the `activesync` view's rows (the request
//! parameters decoded from the query string, the device key, tier, probe flag, and whether a
//! success follows each request within a minute) written to a temporary Parquet table, which
//! the view then reads instead of the logs.
//!
//! Data flow:
//! 1. logs → [`facts_sql`] (one scan, no sort) → two Parquet files per partition in a temporary
//!    folder, the successes in one and the other requests in the other, each row numbered
//!    (`fact_id`) as it is written, with statistics on the status columns: a check that looks
//!    at failures (3% of the requests of a healthy farm) skips the successes' row groups;
//! 2. the facts' device key, server, time, status and `fact_id`, a slice of time at a time →
//!    a sweep in memory ([`crate::answered`], charged to the session's memory pool), or the
//!    `followed_by_success` window when the pool cannot hold a slice (a sort that spills) →
//!    the `fact_id`s of the requests other than successes that a success follows (held in
//!    memory, eight bytes each: [`AnsweredRequests`]);
//! 3. the `activesync` view ([`facts_view_sql`]) over the facts, `followed_by_success` read
//!    from those numbers.
//!
//! Every check of a diagnosis, the saved query of `run` and the HTML report's timelines then
//! read only the columns they need from those files, instead of reading the logs and sorting
//! them again each time. The folder lives as long as the session: it is kept in the session's
//! configuration ([`MaterializedFacts`]) and removed when the session is dropped.

use std::sync::Arc;

use std::path::PathBuf;

use datafusion::arrow::array::{ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch};
use datafusion::arrow::compute::kernels::boolean::not;
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::common::config::ConfigField;
use datafusion::common::runtime::SpawnedTask;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::parquet::arrow::AsyncArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::physical_plan::ExecutionPlanProperties;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::activesync::{FOLLOWED_BY_SUCCESS, ViewSource, facts_sql, facts_view_sql, view_source};

/// The table the facts are registered as (the `activesync` view reads it).
pub const FACTS_TABLE: &str = "activesync_facts";

/// The facts of a session: their temporary folder (removed on drop) and how many requests
/// they hold. Kept as an extension of the session's configuration.
#[derive(Debug)]
pub struct MaterializedFacts {
    dir: tempfile::TempDir,
    /// ActiveSync requests in the facts.
    pub rows: u64,
    /// Requests other than successes that a success of the same device on the same server
    /// follows within a minute (the answered 401 challenges, mostly).
    pub answered: usize,
    /// The registration of the `activesync` view they were computed from.
    pub source: ViewSource,
}

impl MaterializedFacts {
    /// The folder holding the facts' Parquet files.
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

pub use iisql_datasource::session::{RemoteExecution, executes_locally, mark_remote};

/// The facts computed in `ctx` from its current `activesync` view, if any (facts of a view
/// registered again since are stale, and not returned).
pub fn materialized(ctx: &SessionContext) -> Option<Arc<MaterializedFacts>> {
    let facts = ctx
        .state_ref()
        .read()
        .config()
        .get_extension::<MaterializedFacts>()?;
    (view_source(ctx).as_ref() == Some(&facts.source)).then_some(facts)
}

/// Computes the facts of the table the session's `activesync` view (or the one registered under
/// another name) reads
/// ([`register_activesync_view`](crate::register_activesync_view) first) once, writes them to a
/// temporary folder (in the system's temporary directory), registers them as [`FACTS_TABLE`]
/// and replaces the view with one over them. Returns what was computed; later calls return
/// the same facts until the view is registered again.
pub async fn materialize_activesync(ctx: &SessionContext) -> Result<Arc<MaterializedFacts>> {
    materialize_activesync_with(ctx, &FactsOptions::default()).await
}

/// How the facts are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactsOptions {
    /// About how many requests the `followed_by_success` window sorts at once (whole hours
    /// of them). Default [`SLICE_ROWS`].
    pub slice_rows: u64,
    /// Find the answered requests with [`FOLLOWED_BY_SUCCESS`]'s window in SQL, which sorts
    /// and spills, instead of reading each slice into memory and sweeping it (which falls back
    /// to the window when the memory pool cannot hold a slice). The same answer; the
    /// reference the tests compare with.
    pub by_window: bool,
}

/// The default [`FactsOptions::slice_rows`]: the narrow rows of two million requests take
/// about 160 MB to sort.
pub const SLICE_ROWS: u64 = 2_000_000;

impl Default for FactsOptions {
    fn default() -> Self {
        Self {
            slice_rows: SLICE_ROWS,
            by_window: false,
        }
    }
}

/// [`materialize_activesync`] with `options`.
pub async fn materialize_activesync_with(
    ctx: &SessionContext,
    options: &FactsOptions,
) -> Result<Arc<MaterializedFacts>> {
    if let Some(done) = materialized(ctx) {
        return Ok(done);
    }
    let source_view = view_source(ctx).ok_or_else(|| {
        DataFusionError::Plan("no `activesync` view: register_activesync_view first".into())
    })?;
    let source = source_view.table.as_str();
    let view = source_view.view.as_str();
    let schema = ctx.table(source).await?.schema().as_arrow().clone();
    let dir = tempfile::Builder::new()
        .prefix("iisql-facts-")
        .tempdir()
        .map_err(|e| {
            DataFusionError::Execution(format!("cannot create a temporary folder: {e}"))
        })?;
    let df = ctx.sql(&facts_sql(source, &schema)).await?;
    let props = facts_writer_properties(ctx, df.schema().as_arrow())?;
    let task_ctx = Arc::new(df.task_ctx());
    let plan = df.create_physical_plan().await?;
    let mut tasks = Vec::new();
    for partition in 0..plan.output_partitioning().partition_count() {
        let stream = plan.execute(partition, Arc::clone(&task_ctx))?;
        let props = props.clone();
        tasks.push(SpawnedTask::spawn(write_partition(
            stream,
            dir.path().to_path_buf(),
            props,
            partition,
        )));
    }
    let mut rows = 0;
    for task in tasks {
        rows += task
            .join_unwind()
            .await
            .map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))??;
    }
    let url = format!("{}/", dir.path().display());
    register_facts(ctx, &url).await?;
    let answered = answered_requests(ctx, options).await?;
    let count = answered.ids.len();
    ctx.register_udf(ScalarUDF::from(answered));
    ctx.sql(&format!(
        "CREATE OR REPLACE VIEW {view} AS {}",
        facts_view_sql(FACTS_TABLE, &format!("{ANSWERED_UDF}(fact_id)"))
    ))
    .await?
    .collect()
    .await?;
    let facts = Arc::new(MaterializedFacts {
        dir,
        rows,
        answered: count,
        source: source_view.clone(),
    });
    ctx.state_ref()
        .write()
        .config_mut()
        .set_extension(Arc::clone(&facts));
    Ok(facts)
}

/// Writes partition `partition` of the facts, each row with its `fact_id`: the partition in
/// the high bits, the row's position in the partition in the low 40. Successes (HTTP 2xx) go to
/// one file, the other requests to another ([`FactFiles`]), so that a check that looks at
/// failures skips the successes' row groups by their `sc_status` statistics instead of
/// decompressing every page of every column it reads. Each writer holds one row group at a
/// time (the session's row group size, an eighth of it for the failures), outside the memory
/// pool: the pool is left to the sweep of the next step.
async fn write_partition(
    mut stream: SendableRecordBatchStream,
    dir: PathBuf,
    props: WriterProperties,
    partition: usize,
) -> Result<u64> {
    let mut fields = stream.schema().fields().to_vec();
    fields.push(Arc::new(Field::new("fact_id", DataType::Int64, false)));
    let schema = Arc::new(Schema::new(fields));
    let status = schema.index_of("sc_status")?;
    let mut files = FactFiles::new(dir, partition, Arc::clone(&schema), props);
    let first = i64::try_from(partition)
        .ok()
        .and_then(|p| p.checked_shl(40))
        .ok_or_else(|| DataFusionError::Internal(format!("partition {partition}")))?;
    let mut rows = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let start = first + rows as i64;
        let ids = Int64Array::from_iter_values(start..start + batch.num_rows() as i64);
        let mut columns = batch.columns().to_vec();
        columns.push(Arc::new(ids));
        rows += batch.num_rows() as u64;
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
        let success = successes(batch.column(status))?;
        files
            .write(Outcome::Success, filter_record_batch(&batch, &success)?)
            .await?;
        files
            .write(
                Outcome::Other,
                filter_record_batch(&batch, &not(&success)?)?,
            )
            .await?;
    }
    files.close().await?;
    Ok(rows)
}

/// Whether each status is a success (2xx); a missing status is not.
fn successes(status: &ArrayRef) -> Result<BooleanArray> {
    let status = cast(status, &DataType::Int64)?;
    let status = status
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| DataFusionError::Internal("sc_status is not a number".into()))?;
    Ok(status
        .iter()
        .map(|s| Some(s.is_some_and(|s| (200..=299).contains(&s))))
        .collect())
}

/// The two groups of facts a partition is written to.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Success,
    Other,
}

/// The files of one partition's facts: `part-N-ok.parquet` (successes) and
/// `part-N-other.parquet`, each created when its first row comes.
struct FactFiles {
    dir: PathBuf,
    partition: usize,
    schema: Arc<Schema>,
    props: WriterProperties,
    writers: [Option<AsyncArrowWriter<tokio::fs::File>>; 2],
}

impl FactFiles {
    fn new(dir: PathBuf, partition: usize, schema: Arc<Schema>, props: WriterProperties) -> Self {
        Self {
            dir,
            partition,
            schema,
            props,
            writers: [None, None],
        }
    }

    async fn write(&mut self, outcome: Outcome, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let written = self.open(outcome).await?.write(&batch).await;
        written.map_err(|e| self.failed(e))
    }

    /// A writer's error, with where the facts go and what to do when the disk is full.
    fn failed(&self, e: datafusion::parquet::errors::ParquetError) -> DataFusionError {
        DataFusionError::from(e).context(format!(
            "cannot write the facts to {} (TMPDIR names a folder with more room)",
            self.dir.display()
        ))
    }

    /// The writer of `outcome`'s file, created on first use.
    async fn open(&mut self, outcome: Outcome) -> Result<&mut AsyncArrowWriter<tokio::fs::File>> {
        let (slot, name) = match outcome {
            Outcome::Success => (0, "ok"),
            Outcome::Other => (1, "other"),
        };
        Ok(match &mut self.writers[slot] {
            Some(writer) => writer,
            empty => {
                let path = self
                    .dir
                    .join(format!("part-{}-{name}.parquet", self.partition));
                let file = tokio::fs::File::create(&path).await.map_err(|e| {
                    DataFusionError::Execution(format!("cannot create {}: {e}", path.display()))
                })?;
                let mut props = self.props.clone();
                if let Outcome::Other = outcome {
                    // Failures come slowly: a whole row group of them would be held for most
                    // of the run, and grow with the input up to its size.
                    let rows = props
                        .max_row_group_row_count()
                        .unwrap_or(iisql_datasource::parquet_out::PARQUET_ROW_GROUP_ROWS);
                    props = props
                        .into_builder()
                        .set_max_row_group_row_count(Some((rows / 8).max(1)))
                        .build();
                }
                empty.insert(AsyncArrowWriter::try_new(
                    file,
                    Arc::clone(&self.schema),
                    Some(props),
                )?)
            }
        })
    }

    /// Closes the files; a partition without rows leaves one empty file, so that the facts
    /// always have a schema to read.
    async fn close(mut self) -> Result<()> {
        if self.writers.iter().all(Option::is_none) {
            self.open(Outcome::Other).await?;
        }
        for writer in std::mem::take(&mut self.writers).into_iter().flatten() {
            writer.close().await.map_err(|e| self.failed(e))?;
        }
        Ok(())
    }
}

/// The `fact_id`s of the requests other than successes that a success of the same device on
/// the same server follows within a minute: swept in memory ([`crate::answered`]), or by the
/// window of the view over the logs ([`FOLLOWED_BY_SUCCESS`]) run over the narrow columns it
/// needs.
///
/// The window looks one minute ahead only, so it runs over slices of time of about
/// `slice_rows` requests each (whole hours, by the requests' count per hour), each with the
/// minute after it: every slice's sort holds one slice, not the whole input. A request without
/// a time is never followed (the window's frame of a NULL time holds no success time).
async fn answered_requests(
    ctx: &SessionContext,
    options: &FactsOptions,
) -> Result<AnsweredRequests> {
    let mut ids = Vec::new();
    for (lo, hi, rows) in time_slices(ctx, options.slice_rows).await? {
        let range = |column_ms: Option<i64>, op: &str| {
            column_ms.map(|ms| format!(" AND timestamp {op} to_timestamp_millis({ms})"))
        };
        let input = format!(
            "{}{}",
            range(lo, ">=").unwrap_or_default(),
            range(hi.map(|h| h + 60_000), "<=").unwrap_or_default()
        );
        if !options.by_window
            && let Some(found) = crate::answered::answered_in_slice(ctx, &input, hi, rows).await?
        {
            ids.extend(found);
            continue;
        }
        let output = range(hi, "<").unwrap_or_default();
        let sql = format!(
            "SELECT fact_id FROM (
               SELECT fact_id, sc_status, timestamp, {FOLLOWED_BY_SUCCESS} AS followed
               FROM {FACTS_TABLE} WHERE timestamp IS NOT NULL{input})
             WHERE followed AND NOT coalesce(sc_status BETWEEN 200 AND 299, false){output}"
        );
        let mut stream = ctx.sql(&sql).await?.execute_stream().await?;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let column = batch
                .column(0)
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| {
                    DataFusionError::Internal("fact_id is not an Int64 column".into())
                })?;
            ids.extend(column.values().iter().copied());
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(AnsweredRequests::new(ids))
}

/// Slices of time that together cover every time, each `[lo, hi)` in milliseconds since the
/// epoch (`None`: unbounded) with the requests it holds, cut at the start of an hour once the
/// hours before hold `slice_rows` requests or more.
async fn time_slices(
    ctx: &SessionContext,
    slice_rows: u64,
) -> Result<Vec<(Option<i64>, Option<i64>, u64)>> {
    let sql = format!(
        "SELECT CAST(to_unixtime(timestamp) AS BIGINT) / 3600 AS hour, count(*) AS n
         FROM {FACTS_TABLE} WHERE timestamp IS NOT NULL GROUP BY 1 ORDER BY 1"
    );
    let batches = ctx.sql(&sql).await?.collect().await?;
    let mut cuts = Vec::new();
    let mut held = 0u64;
    for b in &batches {
        let hours = b.column(0).as_primitive_opt::<Int64Type>();
        let counts = b.column(1).as_primitive_opt::<Int64Type>();
        let (Some(hours), Some(counts)) = (hours, counts) else {
            return Err(DataFusionError::Internal(
                "hourly counts are not Int64".into(),
            ));
        };
        for (hour, n) in hours.values().iter().zip(counts.values()) {
            let n = u64::try_from(*n).unwrap_or(0);
            if held > 0 && held + n > slice_rows {
                cuts.push((hour.saturating_mul(3_600_000), held));
                held = 0;
            }
            held += n;
        }
    }
    let mut slices = Vec::with_capacity(cuts.len() + 1);
    let mut lo = None;
    for (cut, rows) in cuts {
        slices.push((lo, Some(cut), rows));
        lo = Some(cut);
    }
    slices.push((lo, None, held));
    Ok(slices)
}

/// The function the view over the facts reads `followed_by_success` from.
pub const ANSWERED_UDF: &str = "iisql_answered_request";

/// [`ANSWERED_UDF`]`(fact_id)`: whether the request is one of the answered ones, held as a
/// sorted list.
#[derive(Debug)]
pub struct AnsweredRequests {
    ids: Arc<Vec<i64>>,
    signature: Signature,
}

impl AnsweredRequests {
    fn new(ids: Vec<i64>) -> Self {
        Self {
            ids: Arc::new(ids),
            signature: Signature::exact(vec![DataType::Int64], Volatility::Immutable),
        }
    }
}

impl PartialEq for AnsweredRequests {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.ids, &other.ids)
    }
}

impl Eq for AnsweredRequests {}

impl std::hash::Hash for AnsweredRequests {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.ids).hash(state);
    }
}

impl ScalarUDFImpl for AnsweredRequests {
    fn name(&self) -> &str {
        ANSWERED_UDF
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let Some(ids) = arrays
            .first()
            .and_then(|a| a.as_primitive_opt::<Int64Type>())
        else {
            return Err(DataFusionError::Internal(format!(
                "{ANSWERED_UDF} takes a fact_id"
            )));
        };
        let answered: BooleanArray = ids
            .iter()
            .map(|id| Some(id.is_some_and(|id| self.ids.binary_search(&id).is_ok())))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(answered)))
    }
}

/// Fast to write and read back: the facts are read once per check and then thrown away, so
/// LZ4 (raw), whose decompression costs least of Parquet's codecs (see `docs/tuning.md`).
fn facts_writer_properties(ctx: &SessionContext, schema: &Schema) -> Result<WriterProperties> {
    let state = ctx.state();
    let mut options =
        iisql_datasource::parquet_out::parquet_write_options(state.config_options(), schema)?;
    options.global.compression = Some("lz4_raw".to_string());
    // The statistics that let a check skip the row groups and pages it filters out: the
    // successes' files by status, the back end's or the probes' rows where they cluster.
    for column in FACTS_WITH_STATISTICS {
        if schema.field_with_name(column).is_ok() {
            options.set(&format!("statistics_enabled::{column}"), "page")?;
        }
    }
    iisql_datasource::parquet_out::writer_properties(&options)
}

/// The columns of the facts written with min/max statistics, besides those the logs' Parquet
/// keeps ([`iisql_datasource::parquet_out::parquet_column_settings`]).
const FACTS_WITH_STATISTICS: [&str; 5] = [
    "sc_status",
    "sc_substatus",
    "sc_win32_status",
    "tier",
    "is_probe",
];

/// Registers the Parquet files under `url` as [`FACTS_TABLE`].
async fn register_facts(ctx: &SessionContext, url: &str) -> Result<()> {
    let table_url = ListingTableUrl::parse(url)?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let state = ctx.state();
    let config = ListingTableConfig::new(table_url)
        .with_listing_options(options)
        .infer_schema(&state)
        .await?;
    ctx.deregister_table(FACTS_TABLE)?;
    ctx.register_table(FACTS_TABLE, Arc::new(ListingTable::try_new(config)?))?;
    Ok(())
}

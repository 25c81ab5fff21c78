//! One Parquet file from all of a query's partitions at once.
//!
//! DataFusion's single-file writer first merges the partitions into one stream, then hands each
//! column of every batch to its own task over a channel (one task per column and row group).
//! On a machine with few cores and a scan that already keeps them busy, that costs time: the
//! batches cross threads, their text is read again from another core's cache, and the channels
//! and tasks take about 7% of a conversion's CPU time.
//!
//! [`write_parquet`] encodes instead where the rows are made: each output partition of the
//! query runs on its own task, which reads a batch and encodes it into the column writers of
//! the row group it is filling, while the batch's bytes are still in that core's cache. A row
//! group, once full, is handed to the task that owns the file and appended there, in the order
//! the row groups are completed. A query that has one partition, or whose rows have an order,
//! is written by DataFusion's writer, which keeps that order and encodes its columns in
//! parallel.
//!
//! Memory: each partition holds the row group it is filling (its encoded pages and the
//! dictionaries being built), registered with the session's memory pool; at most one
//! completed row group per partition waits to be appended. An appended row group goes to the
//! object store's writer in a buffer of its own size (converting 1 GiB peaked at 109 MB of
//! heap instead of 138 MB with buffers that grew by doubling).

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::config::TableParquetOptions;
use datafusion::common::runtime::SpawnedTask;
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, ArrowWriterOptions,
    compute_leaves,
};
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use futures::StreamExt;
use object_store::buffered::BufWriter;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// A completed row group: its column chunks and row count.
type RowGroup = (Vec<ArrowColumnChunk>, usize);

/// Writes the result of `df` to one Parquet file at `url` (a local path or a URL of a
/// registered object store) with `options`, and returns the number of rows written.
///
/// When the query has several output partitions and no order, each partition encodes its own
/// row groups (see the [module documentation](self)); otherwise, and for options this writer
/// does not implement (encryption, content-defined chunking), DataFusion's writer is used.
pub async fn write_parquet(df: DataFrame, url: &str, options: TableParquetOptions) -> Result<u64> {
    let task_ctx = Arc::new(df.task_ctx());
    let plan = df.clone().create_physical_plan().await?;
    let partitions = plan.output_partitioning().partition_count();
    let ordered = plan.output_ordering().is_some();
    let unsupported = options.crypto.file_encryption.is_some()
        || options.global.content_defined_chunking.enabled
        || !options.global.allow_single_file_parallelism;
    if partitions < 2 || ordered || unsupported {
        return write_with_datafusion(df, url, options).await;
    }
    let table_url = ListingTableUrl::parse(url)?;
    let store = task_ctx.runtime_env().object_store(&table_url)?;
    let buffer_size = task_ctx
        .session_config()
        .options()
        .execution
        .objectstore_writer_buffer_size;
    let location = table_url.prefix().clone();
    let mut out = BufWriter::with_capacity(Arc::clone(&store), location.clone(), buffer_size);
    match encode_partitions(plan, task_ctx, &options, &mut out).await {
        Ok(rows) => {
            // A local file is written beside its destination and renamed over it: an earlier
            // result stays whole until the new one is complete.
            out.shutdown().await?;
            Ok(rows)
        }
        Err(e) => {
            // Nothing half-written is left behind (a local file's staging copy is removed).
            let _ = out.abort().await;
            Err(e)
        }
    }
}

/// Writes the result of `df` to one Parquet file at `url` with DataFusion's writer (the
/// partitions merged into one stream, each column of a row group encoded on its own task), and
/// returns the number of rows. For a query that runs elsewhere, such as on a Ballista cluster.
pub async fn write_with_datafusion(
    df: DataFrame,
    url: &str,
    options: TableParquetOptions,
) -> Result<u64> {
    let out = df
        .write_parquet(
            url,
            DataFrameWriteOptions::new().with_single_file_output(true),
            Some(options),
        )
        .await?;
    let rows = out
        .first()
        .and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::UInt64Array>()
        })
        .map_or(0, |a| a.value(0));
    Ok(rows)
}

/// Runs every partition of `plan` on its own encoding task and appends the row groups they
/// complete to the file, written to `out`. Returns the number of rows.
async fn encode_partitions(
    plan: Arc<dyn ExecutionPlan>,
    task_ctx: Arc<TaskContext>,
    options: &TableParquetOptions,
    out: &mut BufWriter,
) -> Result<u64> {
    let schema = plan.schema();
    let props = crate::parquet_out::writer_properties(options)?;
    let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
    let writer_options = ArrowWriterOptions::new()
        .with_properties(props)
        .with_skip_arrow_metadata(options.global.skip_arrow_metadata);
    let writer =
        ArrowWriter::try_new_with_options(Vec::new(), Arc::clone(&schema), writer_options)?;
    let (mut file, factory) = writer.into_serialized_writer()?;
    let factory = Arc::new(factory);

    let partitions = plan.output_partitioning().partition_count();
    let (tx, mut rx) = mpsc::channel::<Result<RowGroup>>(partitions);
    let mut tasks = Vec::with_capacity(partitions);
    for partition in 0..partitions {
        let encoder = PartitionEncoder {
            schema: Arc::clone(&schema),
            factory: Arc::clone(&factory),
            max_rows,
            reservation: MemoryConsumer::new(format!("iisql Parquet encoder[{partition}]"))
                .register(task_ctx.memory_pool()),
        };
        let stream = plan.execute(partition, Arc::clone(&task_ctx))?;
        let tx = tx.clone();
        tasks.push(SpawnedTask::spawn(async move {
            if let Err(e) = encoder.run(stream, &tx).await {
                // The writer stops at the first error it receives.
                let _ = tx.send(Err(e)).await;
            }
        }));
    }
    drop(tx);

    let mut rows = 0u64;
    while let Some(group) = rx.recv().await {
        let (chunks, group_rows) = group?;
        // Each row group's bytes go to the store in a buffer of their size: the store's writer
        // holds buffers until their part is written, and one grown by doubling would keep up
        // to twice its bytes in memory.
        let size: i64 = chunks
            .iter()
            .map(|c| c.close().metadata.compressed_size())
            .sum();
        file.inner_mut()
            .reserve_exact(usize::try_from(size).unwrap_or(0));
        let mut row_group = file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        rows += group_rows as u64;
        file.flush()?;
        let bytes = std::mem::take(file.inner_mut());
        out.put(Bytes::from(bytes)).await?;
    }
    for task in tasks {
        task.join_unwind()
            .await
            .map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))?;
    }
    let bytes = file.into_inner()?;
    if !bytes.is_empty() {
        out.put(Bytes::from(bytes)).await?;
    }
    Ok(rows)
}

/// Encodes the batches of one partition into row groups of up to `max_rows` rows.
struct PartitionEncoder {
    schema: SchemaRef,
    factory: Arc<ArrowRowGroupWriterFactory>,
    max_rows: usize,
    reservation: MemoryReservation,
}

impl PartitionEncoder {
    async fn run(
        self,
        mut stream: datafusion::execution::SendableRecordBatchStream,
        tx: &mpsc::Sender<Result<RowGroup>>,
    ) -> Result<()> {
        // The row-group index only matters to encryption, which this writer leaves to
        // DataFusion's.
        let mut writers = self.factory.create_column_writers(0)?;
        let mut rows = 0usize;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let mut offset = 0;
            while offset < batch.num_rows() {
                let take = (batch.num_rows() - offset).min(self.max_rows - rows);
                self.encode(&batch.slice(offset, take), &mut writers)?;
                rows += take;
                offset += take;
                if rows == self.max_rows {
                    let full =
                        std::mem::replace(&mut writers, self.factory.create_column_writers(0)?);
                    if !self.send(full, rows, tx).await? {
                        return Ok(());
                    }
                    rows = 0;
                }
            }
            self.reservation
                .try_resize(writers.iter().map(ArrowColumnWriter::memory_size).sum())?;
        }
        if rows > 0 {
            self.send(writers, rows, tx).await?;
        }
        self.reservation.free();
        Ok(())
    }

    /// Encodes `batch` into `writers`, column by column.
    fn encode(&self, batch: &RecordBatch, writers: &mut [ArrowColumnWriter]) -> Result<()> {
        let mut next = 0;
        for (field, column) in self.schema.fields().iter().zip(batch.columns()) {
            for leaf in compute_leaves(field, column)? {
                writers[next].write(&leaf)?;
                next += 1;
            }
        }
        Ok(())
    }

    /// Closes a row group's writers and sends it to the file; `false` when the file's task is
    /// gone (it stopped at an error).
    async fn send(
        &self,
        writers: Vec<ArrowColumnWriter>,
        rows: usize,
        tx: &mpsc::Sender<Result<RowGroup>>,
    ) -> Result<bool> {
        let chunks = writers
            .into_iter()
            .map(ArrowColumnWriter::close)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(tx.send(Ok((chunks, rows))).await.is_ok())
    }
}

//! [`IisqlSessionExt`]: what the `iisql` command does, as methods of any `SessionContext`.

use std::collections::HashMap;

use async_trait::async_trait;
use datafusion::dataframe::DataFrame;
use datafusion::error::Result;
use datafusion::execution::context::SessionContext;

use iisql_activesync::{Catalog, DiagnoseOptions, Diagnosis};
use iisql_datasource::{Inputs, Registered};

/// iisql on a `SessionContext` (made by [`crate::new_context`] or the embedder's own).
///
/// `iisql PATH` is [`register_inputs`](Self::register_inputs); `-o x.parquet` is
/// [`write_parquet_file`](Self::write_parquet_file); `iisql convert` is
/// [`write_lake`](Self::write_lake); `iisql diagnose` is
/// [`diagnose_logs`](Self::diagnose_logs).
#[async_trait]
pub trait IisqlSessionExt {
    /// Registers the formats and functions, then `inputs` as `iisql PATH...` does: a table per
    /// format found by content (or as asked), `logs` for a single one, a lake as `logs`, only
    /// the new lines with a checkpoint, and the views ([`Self::register_views`]).
    async fn register_inputs(&self, inputs: Inputs) -> Result<Registered>;

    /// Registers the `activesync` view over the web-log table of `registered`, if any (a
    /// cluster session calls it after wrapping the tables for the cluster).
    async fn register_views(&self, registered: &Registered) -> Result<()>;

    /// Writes the result of `df` to one Parquet file at `path` (local, or a URL whose store is
    /// registered on the way) with the session's Parquet settings; returns the rows written.
    /// Each partition of the query encodes its own row groups; a session that runs its plans
    /// on a cluster writes with DataFusion's writer.
    async fn write_parquet_file(&self, df: DataFrame, path: &str) -> Result<u64>;

    /// Writes `table` into the folder or URL `dir` as a lake that `iisql` reads back as `logs`,
    /// partitioned by `partition_by` ([`iisql_datasource::lake_writer`]); returns the rows
    /// written.
    async fn write_lake(&self, table: &str, dir: &str, partition_by: &[String]) -> Result<u64>;

    /// Runs the bundled checks over the `activesync` view with their default parameters and
    /// `options`, as `iisql diagnose` does.
    async fn diagnose_logs(&self, options: &DiagnoseOptions) -> Result<Diagnosis>;
}

#[async_trait]
impl IisqlSessionExt for SessionContext {
    async fn register_inputs(&self, inputs: Inputs) -> Result<Registered> {
        iisql_functions::register_functions(self)?;
        let registered = inputs.register_tables(self).await?;
        self.register_views(&registered).await?;
        Ok(registered)
    }

    async fn register_views(&self, registered: &Registered) -> Result<()> {
        if let Some(table) = registered.web_logs() {
            iisql_activesync::register_activesync_view(self, "activesync", table).await?;
        }
        Ok(())
    }

    async fn write_parquet_file(&self, df: DataFrame, path: &str) -> Result<u64> {
        iisql_datasource::stores::register_store_for(self, path)?;
        let options = iisql_datasource::parquet_out::parquet_write_options(
            self.state().config_options(),
            df.schema().as_arrow(),
        )?;
        if iisql_datasource::session::executes_locally(self) {
            iisql_datasource::parquet_writer::write_parquet(df, path, options).await
        } else {
            iisql_datasource::parquet_writer::write_with_datafusion(df, path, options).await
        }
    }

    async fn write_lake(&self, table: &str, dir: &str, partition_by: &[String]) -> Result<u64> {
        iisql_datasource::lake_writer::write_lake(self, table, dir, partition_by).await
    }

    async fn diagnose_logs(&self, options: &DiagnoseOptions) -> Result<Diagnosis> {
        let catalog = Catalog::bundled()?;
        iisql_activesync::diagnose_with(self, &catalog, &HashMap::new(), options).await
    }
}

//! The IIS W3C [`FileSource`]: carries options, projection and batch size from planning to the
//! [`IisW3cOpener`] that reads each file.

use std::fmt;
use std::sync::Arc;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::config::ConfigOptions;
use datafusion::datasource::physical_plan::{FileOpener, FileScanConfig, FileSource};
use datafusion::datasource::projection::{ProjectionOpener, SplitProjection};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::Result;
use datafusion::physical_expr::conjunction;
use datafusion::physical_expr::projection::ProjectionExprs;
use datafusion::physical_plan::filter_pushdown::{FilterPushdownPropagation, PushedDown};
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::{DisplayFormatType, PhysicalExpr};
use iis_log::DecoderConfig;
use object_store::ObjectStore;

use crate::error::IisqlError;
use crate::filter::{pushable, scan_filters};
use crate::opener::IisW3cOpener;
use crate::options::IisW3cOptions;
use crate::scan_log::ScanLog;

/// Reads IIS W3C files for a `DataSourceExec`.
#[derive(Debug, Clone)]
pub struct IisW3cSource {
    table_schema: TableSchema,
    projection: SplitProjection,
    batch_size: Option<usize>,
    options: IisW3cOptions,
    /// The conditions rows must meet (over the table schema), pushed down from a `WHERE`.
    predicate: Option<Arc<dyn PhysicalExpr>>,
    log: Arc<ScanLog>,
    metrics: ExecutionPlanMetricsSet,
}

impl IisW3cSource {
    /// A source over `table_schema` (file columns plus partition columns).
    pub fn new(table_schema: TableSchema, options: IisW3cOptions, log: Arc<ScanLog>) -> Self {
        Self {
            projection: SplitProjection::unprojected(&table_schema),
            table_schema,
            batch_size: None,
            options,
            predicate: None,
            log,
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    /// Applies `predicate` (over the table schema, reading file columns only) to the rows, as a
    /// pushed-down `WHERE` is: the rows it does not keep are not returned.
    pub fn with_predicate(mut self, predicate: Option<Arc<dyn PhysicalExpr>>) -> Self {
        self.predicate = predicate;
        self
    }

    /// The conditions the scan applies to rows, if a `WHERE` was pushed down into it.
    pub fn predicate(&self) -> Option<&Arc<dyn PhysicalExpr>> {
        self.predicate.as_ref()
    }

    /// The options the files are read with.
    pub fn options(&self) -> &IisW3cOptions {
        &self.options
    }
}

impl FileSource for IisW3cSource {
    fn create_file_opener(
        &self,
        object_store: Arc<dyn ObjectStore>,
        base_config: &FileScanConfig,
        partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        let file_schema = Arc::clone(self.table_schema.file_schema());
        let mut cfg = DecoderConfig::new(
            Arc::clone(&file_schema),
            Some(self.projection.file_indices.clone()),
        )
        .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?
        .with_format(self.options.format)
        .with_batch_size(self.batch_size.unwrap_or(8192));
        if let Some(fields) = &self.options.fields {
            cfg = cfg.with_default_fields(&fields.join(" "));
        }
        if let Some(predicate) = &self.predicate {
            for filter in scan_filters(predicate, &file_schema)? {
                cfg = cfg
                    .with_filter(Arc::new(filter))
                    .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
            }
        }
        match self.options.time_zone {
            Some(tz) => cfg = cfg.with_time_zone(tz),
            None if self.options.format.local_time() => {
                // IIS native logs are in the server's local time: their UTC time needs its zone.
                let reads_time = self.projection.file_indices.iter().any(|&i| {
                    [iis_log::TIMESTAMP, iis_log::DATE]
                        .contains(&file_schema.field(i).name().as_str())
                });
                if reads_time {
                    return Err(IisqlError::NeedsTimeZone(self.options.format.name()).into());
                }
            }
            None => {}
        }
        let opener = Arc::new(IisW3cOpener::new(
            Arc::new(cfg),
            object_store,
            base_config.object_store_url.as_str().to_string(),
            base_config.file_compression_type,
            self.options.clone(),
            Arc::clone(&self.log),
            partition,
        )) as Arc<dyn FileOpener>;
        ProjectionOpener::try_new(self.projection.clone(), opener, &file_schema)
    }

    fn table_schema(&self) -> &TableSchema {
        &self.table_schema
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        let mut s = self.clone();
        s.batch_size = Some(batch_size);
        Arc::new(s)
    }

    fn try_pushdown_projection(
        &self,
        projection: &ProjectionExprs,
    ) -> Result<Option<Arc<dyn FileSource>>> {
        let mut s = self.clone();
        let merged = self.projection.source.try_merge(projection)?;
        s.projection = SplitProjection::new(self.table_schema.file_schema(), &merged);
        Ok(Some(Arc::new(s)))
    }

    /// Takes the conditions over file columns that give the same answer each time: they are
    /// applied to the rows exactly, so DataFusion drops its `FilterExec`.
    fn try_pushdown_filters(
        &self,
        filters: Vec<Arc<dyn PhysicalExpr>>,
        _config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn FileSource>>> {
        let file_schema = self.table_schema.file_schema();
        let verdicts: Vec<PushedDown> = filters
            .iter()
            .map(|f| {
                if pushable(f, file_schema) {
                    PushedDown::Yes
                } else {
                    PushedDown::No
                }
            })
            .collect();
        let mut taken: Vec<Arc<dyn PhysicalExpr>> = filters
            .into_iter()
            .zip(&verdicts)
            .filter(|(_, v)| matches!(v, PushedDown::Yes))
            .map(|(f, _)| f)
            .collect();
        if taken.is_empty() {
            return Ok(FilterPushdownPropagation::with_parent_pushdown_result(
                verdicts,
            ));
        }
        let mut s = self.clone();
        if let Some(p) = s.predicate.take() {
            taken.insert(0, p);
        }
        s.predicate = Some(conjunction(taken));
        Ok(
            FilterPushdownPropagation::with_parent_pushdown_result(verdicts)
                .with_updated_node(Arc::new(s) as Arc<dyn FileSource>),
        )
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        Some(&self.projection.source)
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        &self.metrics
    }

    fn file_type(&self) -> &str {
        match self.options.format {
            iis_log::LogFormat::IisW3c => "iisw3c",
            iis_log::LogFormat::Httperr => "httperr",
            iis_log::LogFormat::W3c => "w3c",
            iis_log::LogFormat::Iis => "iis",
            iis_log::LogFormat::Ncsa => "ncsa",
        }
    }

    /// Large files are split into byte ranges across partitions; a range that starts mid-file
    /// scans the bytes before it for the `#Fields`, `#Date` and line number in force (compressed
    /// files are read whole by the range that starts at 0). Generic W3C files are not split:
    /// their separator is set by the `#Fields` line, which a range does not carry.
    fn supports_repartitioning(&self) -> bool {
        self.options.format != iis_log::LogFormat::W3c
    }

    fn fmt_extra(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(f, ", format={}", self.options.format)?;
                if let Some(fields) = &self.options.fields {
                    write!(f, ", fields={}", fields.join(" "))?;
                }
                if let Some(tz) = self.options.time_zone {
                    write!(f, ", time_zone={tz}")?;
                }
                if let Some(p) = &self.predicate {
                    write!(f, ", predicate={p}")?;
                }
                Ok(())
            }
            DisplayFormatType::TreeRender => Ok(()),
        }
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        datafusion::physical_plan::apply_expression_roots(
            self.predicate
                .iter()
                .chain(self.projection.source.iter().map(|p| &p.expr)),
            f,
        )
    }
}

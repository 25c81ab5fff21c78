//! The extension codecs that let Ballista carry iisql's plans: [`IisqlLogicalCodec`] writes an
//! IIS log table ([`LogTable`]) into the logical plan a client sends to the scheduler, and
//! [`IisqlPhysicalCodec`] writes an IIS log scan into the stage plans the scheduler sends to its
//! executors. Each wraps Ballista's own codec and hands it every node that is not iisql's.
//!
//! iisql's SQL functions need no codec: a plan names them, and the scheduler and executors find
//! them by name in their own function registry ([`crate::iisql_state`] puts them there).

use std::sync::Arc;

use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::physical_plan::{FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan, ScalarUDF, WindowUDF};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::from_proto::{
    parse_protobuf_file_scan_config, parse_table_schema_from_proto,
};
use datafusion_proto::physical_plan::to_proto::serialize_file_scan_config;
use datafusion_proto::physical_plan::{
    PhysicalExtensionCodec, PhysicalPlanDecodeContext, PhysicalProtoConverterExtension,
};
use iisql::source::IisW3cSource;
use iisql::{IisW3cFormat, IisW3cOptions, ScanLog};

use crate::proto::{self, LogScanNode, LogTableNode, OptionsNode};
use crate::table::LogTable;

/// The session's scan log or, where there is none (an executor's task), one that writes each
/// rejected line to the process's log: the client that asked never sees an executor's scan
/// log, so that is where they are reported.
fn scan_log(ctx: &TaskContext) -> Arc<ScanLog> {
    ctx.session_config()
        .get_extension::<ScanLog>()
        .unwrap_or_else(|| Arc::new(logging_scan_log()))
}

/// A scan log that writes each rejected line to the process's log, as `rejected: FILE:LINE:
/// REASON`.
pub fn logging_scan_log() -> ScanLog {
    ScanLog::new().with_observer(Arc::new(|reject: &iisql::iis_log::Reject| {
        log::warn!("rejected: {reject}");
    }))
}

fn missing(what: &str) -> DataFusionError {
    DataFusionError::Internal(format!("iisql plan node without its {what}"))
}

fn options_of(node: Option<&OptionsNode>) -> Result<IisW3cOptions> {
    IisW3cOptions::try_from(node.ok_or_else(|| missing("options"))?)
}

/// Logical extension codec: [`LogTable`]s as [`LogTableNode`]s, everything else by Ballista's
/// codec.
#[derive(Debug)]
pub struct IisqlLogicalCodec {
    inner: Arc<dyn LogicalExtensionCodec>,
}

impl Default for IisqlLogicalCodec {
    fn default() -> Self {
        Self::new(Arc::new(BallistaLogicalExtensionCodec::default()))
    }
}

impl IisqlLogicalCodec {
    /// iisql's tables, then `inner` for every other node.
    pub fn new(inner: Arc<dyn LogicalExtensionCodec>) -> Self {
        Self { inner }
    }

    fn encode_table(table: &LogTable) -> Result<LogTableNode> {
        let listing = table.listing();
        let options = listing.options();
        let schema = listing.schema();
        Ok(LogTableNode {
            paths: listing
                .table_paths()
                .iter()
                .map(|u| u.to_string())
                .collect(),
            file_extension: options.file_extension.clone(),
            schema: Some(schema.as_ref().try_into()?),
            partition_cols: options
                .table_partition_cols
                .iter()
                .map(|(name, _)| name.clone())
                .collect(),
            options: Some(OptionsNode::from(&table.options())),
        })
    }

    fn decode_table(node: &LogTableNode, ctx: &TaskContext) -> Result<LogTable> {
        let schema: Schema = node
            .schema
            .as_ref()
            .ok_or_else(|| missing("schema"))?
            .try_into()?;
        let partition_cols = node
            .partition_cols
            .iter()
            .map(|name| {
                Ok((
                    name.clone(),
                    schema.field_with_name(name)?.data_type().clone(),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let file_fields: Vec<_> = schema
            .fields()
            .iter()
            .filter(|f| !node.partition_cols.contains(f.name()))
            .cloned()
            .collect();
        let file_schema: SchemaRef =
            Arc::new(Schema::new(file_fields).with_metadata(schema.metadata().clone()));
        let format = IisW3cFormat::new(options_of(node.options.as_ref())?, scan_log(ctx));
        let listing = ListingOptions::new(Arc::new(format))
            .with_file_extension(&node.file_extension)
            .with_table_partition_cols(partition_cols);
        let urls = node
            .paths
            .iter()
            .map(ListingTableUrl::parse)
            .collect::<Result<Vec<_>>>()?;
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(listing)
            .with_schema(file_schema);
        let table: Arc<dyn TableProvider> = Arc::new(ListingTable::try_new(config)?);
        LogTable::wrap(&table).ok_or_else(|| missing("IIS format"))
    }
}

impl LogicalExtensionCodec for IisqlLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match proto::decode::<LogTableNode>(buf)? {
            Some(node) => Ok(Arc::new(Self::decode_table(&node, ctx)?)),
            None => self
                .inner
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        match node.downcast_ref::<LogTable>() {
            Some(table) => proto::encode(&Self::encode_table(table)?, buf),
            None => self.inner.try_encode_table_provider(table_ref, node, buf),
        }
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.inner.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}

/// Physical extension codec: scans of IIS log files (a `DataSourceExec` over an
/// [`IisW3cSource`]) as [`LogScanNode`]s, everything else by Ballista's codec.
#[derive(Debug)]
pub struct IisqlPhysicalCodec {
    inner: Arc<dyn PhysicalExtensionCodec>,
}

impl Default for IisqlPhysicalCodec {
    fn default() -> Self {
        Self::new(Arc::new(BallistaPhysicalExtensionCodec::default()))
    }
}

impl IisqlPhysicalCodec {
    /// iisql's scans, then `inner` for every other node.
    pub fn new(inner: Arc<dyn PhysicalExtensionCodec>) -> Self {
        Self { inner }
    }
}

/// The file scan and its iisql source, when `node` is a scan of IIS log files.
fn log_scan(node: &dyn ExecutionPlan) -> Option<(&FileScanConfig, &IisW3cSource)> {
    let exec = node.downcast_ref::<DataSourceExec>()?;
    let conf = exec.data_source().downcast_ref::<FileScanConfig>()?;
    let source = conf.file_source().downcast_ref::<IisW3cSource>()?;
    Some((conf, source))
}

impl PhysicalExtensionCodec for IisqlPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(node) = proto::decode::<LogScanNode>(buf)? else {
            return self.inner.try_decode(buf, inputs, ctx, proto_converter);
        };
        let conf = node.conf.as_ref().ok_or_else(|| missing("file scan"))?;
        let options = options_of(node.options.as_ref())?;
        let compression = options.compression;
        let table_schema = parse_table_schema_from_proto(conf)?;
        let decode_ctx = PhysicalPlanDecodeContext::new(ctx, self);
        // Dropping the pushed-down `WHERE` would return the rows it filters out.
        let predicate = node
            .predicate
            .as_ref()
            .map(|p| {
                proto_converter.proto_to_physical_expr(p, table_schema.table_schema(), &decode_ctx)
            })
            .transpose()?;
        let source = Arc::new(
            IisW3cSource::new(table_schema, options, scan_log(ctx)).with_predicate(predicate),
        );
        let conf = parse_protobuf_file_scan_config(conf, &decode_ctx, proto_converter, source)?;
        // The file scan's protobuf has no compression: the format sets it, as at planning.
        let conf = FileScanConfigBuilder::from(conf)
            .with_file_compression_type(compression)
            .build();
        Ok(DataSourceExec::from_data_source(conf))
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        let Some((conf, source)) = log_scan(node.as_ref()) else {
            return self.inner.try_encode(node, buf, proto_converter);
        };
        let scan = LogScanNode {
            conf: Some(serialize_file_scan_config(conf, self, proto_converter)?),
            options: Some(OptionsNode::from(source.options())),
            predicate: source
                .predicate()
                .map(|p| proto_converter.physical_expr_to_proto(p, self))
                .transpose()?,
        };
        proto::encode(&scan, buf)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.inner.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}

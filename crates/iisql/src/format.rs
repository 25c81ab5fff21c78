//! The IIS W3C [`FileFormat`] and its factory: what `ListingTable`, `CREATE EXTERNAL TABLE ...
//! STORED AS IISW3C` and `SELECT * FROM 'dir/*.log'` use.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::{GetExt, Statistics};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::{FileFormat, FileFormatFactory};
use datafusion::datasource::physical_plan::{FileScanConfig, FileScanConfigBuilder, FileSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_plan::ExecutionPlan;
use futures::{StreamExt, TryStreamExt};
use iis_log::DirectiveScanner;
use object_store::{GetOptions, GetResultPayload, ObjectMeta, ObjectStore};

use crate::options::IisW3cOptions;
use crate::scan_log::ScanLog;
use crate::source::IisW3cSource;

/// The SQL name of the format: `STORED AS IISW3C`.
pub const IISW3C: &str = "IISW3C";

/// Creates [`IisW3cFormat`]s. Registered twice in an iisql session: under `iisw3c` (for
/// `STORED AS IISW3C`) and under `log` (so `SELECT * FROM 'x.log'` reads IIS logs).
#[derive(Debug, Clone)]
pub struct IisW3cFormatFactory {
    key: String,
    options: IisW3cOptions,
}

impl IisW3cFormatFactory {
    /// A factory registered under `key` (`"iisw3c"` or `"log"`).
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            options: IisW3cOptions::default(),
        }
    }

    /// A factory whose formats start from `options` (SQL `OPTIONS` are applied on top).
    pub fn with_options(mut self, options: IisW3cOptions) -> Self {
        self.options = options;
        self
    }
}

impl GetExt for IisW3cFormatFactory {
    fn get_ext(&self) -> String {
        self.key.clone()
    }
}

/// The session's scan log, or a fresh one when the session has none.
pub(crate) fn session_scan_log(state: &dyn Session) -> Arc<ScanLog> {
    state
        .config()
        .get_extension::<ScanLog>()
        .unwrap_or_else(|| Arc::new(ScanLog::new()))
}

impl FileFormatFactory for IisW3cFormatFactory {
    fn create(
        &self,
        state: &dyn Session,
        format_options: &HashMap<String, String>,
    ) -> Result<Arc<dyn FileFormat>> {
        let mut options = self.options.clone();
        options.apply(format_options)?;
        Ok(Arc::new(IisW3cFormat::new(
            options,
            session_scan_log(state),
        )))
    }

    fn default(&self) -> Arc<dyn FileFormat> {
        Arc::new(IisW3cFormat::new(
            self.options.clone(),
            Arc::new(ScanLog::new()),
        ))
    }
}

/// IIS W3C extended log files as a DataFusion file format.
#[derive(Debug, Clone)]
pub struct IisW3cFormat {
    options: IisW3cOptions,
    log: Arc<ScanLog>,
}

impl IisW3cFormat {
    /// A format reading with `options` and recording into `log`.
    pub fn new(options: IisW3cOptions, log: Arc<ScanLog>) -> Self {
        Self { options, log }
    }

    /// The options.
    pub fn options(&self) -> &IisW3cOptions {
        &self.options
    }

    /// Where scans record their counts and rejects.
    pub fn scan_log(&self) -> &Arc<ScanLog> {
        &self.log
    }
}

/// Scans one object for `#Fields` directives (reading its bytes, parsing only directive lines).
/// Local files are read in large blocks on a blocking thread; other stores are streamed.
async fn scan_fields(
    store: Arc<dyn ObjectStore>,
    object: ObjectMeta,
    compression: FileCompressionType,
) -> Result<BTreeMap<String, String>> {
    let location = object.location.clone();
    let context = move |e: DataFusionError| {
        DataFusionError::Context(format!("inferring schema of {location}"), Box::new(e))
    };
    let result = store
        .get_opts(&object.location, GetOptions::default())
        .await
        .map_err(|e| context(e.into()))?;
    let scanner = match result.payload {
        GetResultPayload::File(file, _) => {
            let reader = compression.convert_read(file).map_err(context.clone())?;
            tokio::task::spawn_blocking(move || iis_log::scan_directives(reader))
                .await
                .map_err(|e| DataFusionError::External(Box::new(e)))?
                .map_err(|e| context(e.into()))?
        }
        GetResultPayload::Stream(s) => {
            let stream = s.map_err(DataFusionError::from).boxed();
            let mut stream = compression
                .convert_stream(stream)
                .map_err(context.clone())?;
            let mut scanner = DirectiveScanner::new();
            while let Some(bytes) = stream.next().await {
                scanner.push(&bytes.map_err(context.clone())?);
            }
            scanner.finish();
            scanner
        }
    };
    Ok(scanner.fields().clone())
}

#[async_trait]
impl FileFormat for IisW3cFormat {
    fn get_ext(&self) -> String {
        "log".to_string()
    }

    fn get_ext_with_compression(&self, c: &FileCompressionType) -> Result<String> {
        Ok(format!("log{}", c.get_ext()))
    }

    fn compression_type(&self) -> Option<FileCompressionType> {
        Some(self.options.compression)
    }

    async fn infer_schema(
        &self,
        _state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        objects: &[ObjectMeta],
    ) -> Result<SchemaRef> {
        let compression = self.options.compression;
        let mut custom: BTreeMap<String, String> = BTreeMap::new();
        let mut scans = futures::stream::iter(objects.iter().cloned())
            .map(|o| scan_fields(Arc::clone(store), o, compression))
            .buffered(8);
        while let Some(fields) = scans.next().await {
            for (col, w3c) in fields? {
                custom.entry(col).or_insert(w3c);
            }
        }
        // Fields named in the `fields` option (headerless files) are columns too.
        if let Some(fields) = &self.options.fields {
            for w3c in fields.split(|c: char| c.is_ascii_whitespace() || c == ',') {
                if !w3c.is_empty() {
                    custom
                        .entry(iis_log::column_name(w3c))
                        .or_insert_with(|| w3c.to_string());
                }
            }
        }
        Ok(Arc::new(iis_log::w3c_schema(
            custom.values().map(String::as_str),
        )))
    }

    async fn infer_stats(
        &self,
        _state: &dyn Session,
        _store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        _object: &ObjectMeta,
    ) -> Result<Statistics> {
        Ok(Statistics::new_unknown(&table_schema))
    }

    async fn create_physical_plan(
        &self,
        _state: &dyn Session,
        conf: FileScanConfig,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let conf = FileScanConfigBuilder::from(conf)
            .with_file_compression_type(self.options.compression)
            .build();
        Ok(DataSourceExec::from_data_source(conf))
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        Arc::new(IisW3cSource::new(
            table_schema,
            self.options.clone(),
            Arc::clone(&self.log),
        ))
    }
}

impl fmt::Display for IisW3cFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{IISW3C}")
    }
}

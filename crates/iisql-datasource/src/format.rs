//! The IIS W3C [`FileFormat`] and its factory: what `ListingTable`, `CREATE EXTERNAL TABLE ...
//! STORED AS IISW3C` and `SELECT * FROM 'dir/*.log'` use.

use std::collections::HashMap;
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
use iis_log::sniff::TypeSniffer;
use iis_log::{DirectiveScanner, LogFormat, ValueType};
use object_store::{GetOptions, GetResultPayload, ObjectMeta, ObjectStore};

use crate::options::IisW3cOptions;
use crate::scan_log::ScanLog;
use crate::source::IisW3cSource;

/// The SQL name of the format: `STORED AS IISW3C`.
pub const IISW3C: &str = "IISW3C";

/// Creates [`IisW3cFormat`]s. Registered in an iisql session under `iisw3c` (for
/// `STORED AS IISW3C`), `log` (so `SELECT * FROM 'x.log'` reads IIS W3C logs), and `httperr`,
/// `w3c`, `iis` and `ncsa` for the other formats.
#[derive(Debug, Clone)]
pub struct IisW3cFormatFactory {
    key: String,
    /// The key's format.
    format: LogFormat,
    /// Options given to the factory; `None`: the session's (`SET iis.<key>`), see
    /// [`FileFormatFactory::create`].
    options: Option<IisW3cOptions>,
}

impl IisW3cFormatFactory {
    /// A factory registered under `key` (`"iisw3c"`, `"log"`, `"httperr"`, `"w3c"`, `"iis"`
    /// or `"ncsa"`), reading the format the key names (IIS W3C for any other key).
    pub fn new(key: impl Into<String>) -> Self {
        let key = key.into();
        let format = key.parse().unwrap_or(LogFormat::IisW3c);
        Self {
            key,
            format,
            options: None,
        }
    }

    /// A factory whose formats start from `options` instead of the session's (SQL `OPTIONS`
    /// are applied on top); the format stays the key's.
    pub fn with_options(mut self, options: IisW3cOptions) -> Self {
        self.options = Some(options);
        self
    }

    /// The options a table starts from in `state`: the factory's, else the session's
    /// [`IisW3cOptions`] extension (`SET iis.<key> = ...`), else the defaults; with the key's
    /// format.
    fn base_options(&self, state: Option<&dyn Session>) -> IisW3cOptions {
        let session = || {
            state?
                .config_options()
                .extensions
                .get::<IisW3cOptions>()
                .cloned()
        };
        self.options
            .clone()
            .or_else(session)
            .unwrap_or_default()
            .with_format(self.format)
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
        let mut options = self.base_options(Some(state));
        options.apply(format_options)?;
        let format = IisW3cFormat::new(options, session_scan_log(state));
        // `SELECT * FROM 'x.log'`: the format is read off the first file.
        let auto = self.key == "log"
            && !format_options
                .keys()
                .any(|k| k.strip_prefix("format.").unwrap_or(k) == "format");
        Ok(Arc::new(if auto { format.detecting() } else { format }))
    }

    fn default(&self) -> Arc<dyn FileFormat> {
        Arc::new(IisW3cFormat::new(
            self.base_options(None),
            Arc::new(ScanLog::new()),
        ))
    }
}

/// IIS W3C extended log files as a DataFusion file format.
#[derive(Debug, Clone)]
pub struct IisW3cFormat {
    options: IisW3cOptions,
    log: Arc<ScanLog>,
    /// The format read off the first file, when it is to be detected.
    detected: Option<Arc<std::sync::OnceLock<LogFormat>>>,
}

impl IisW3cFormat {
    /// A format reading with `options` and recording into `log`.
    pub fn new(options: IisW3cOptions, log: Arc<ScanLog>) -> Self {
        Self {
            options,
            log,
            detected: None,
        }
    }

    /// The same, with the log format detected from the first file's content when the schema is
    /// inferred (the options' format if it has none).
    pub fn detecting(mut self) -> Self {
        self.detected = Some(Arc::new(std::sync::OnceLock::new()));
        self
    }

    /// The log format read: the detected one, else the options'.
    pub fn log_format(&self) -> LogFormat {
        self.detected
            .as_ref()
            .and_then(|d| d.get().copied())
            .unwrap_or(self.options.format)
    }

    /// The options, with the format read.
    fn effective_options(&self) -> IisW3cOptions {
        self.options.clone().with_format(self.log_format())
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

/// Detects the format of one object from its first bytes (decompressed as its name says);
/// archives are not looked into (`None`).
async fn detect_object(
    store: Arc<dyn ObjectStore>,
    object: ObjectMeta,
    compression: FileCompressionType,
) -> Result<Option<iis_log::detect::Detected>> {
    if crate::names::is_zip(object.location.as_ref()) {
        return Ok(None);
    }
    let compression = crate::names::file_compression(compression, object.location.as_ref());
    let result = store
        .get_opts(&object.location, GetOptions::default())
        .await?;
    let stream = match result.payload {
        GetResultPayload::File(file, _) => {
            let reader = compression.convert_read(file)?;
            let head = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
                let mut head = Vec::new();
                std::io::Read::read_to_end(
                    &mut std::io::Read::take(reader, iis_log::detect::DETECT_BYTES as u64),
                    &mut head,
                )?;
                Ok(head)
            })
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))??;
            return Ok(iis_log::detect::detect(&head));
        }
        GetResultPayload::Stream(s) => s,
    };
    let mut stream = compression.convert_stream(stream.map_err(DataFusionError::from).boxed())?;
    let mut head = Vec::new();
    while head.len() < iis_log::detect::DETECT_BYTES
        && let Some(bytes) = stream.next().await
    {
        head.extend_from_slice(&bytes?);
    }
    Ok(iis_log::detect::detect(&head))
}

/// A seekable reader (an archive's bytes).
trait ReadSeek: std::io::Read + std::io::Seek + Send {}

impl<T: std::io::Read + std::io::Seek + Send> ReadSeek for T {}

/// What schema inference learns from one file.
enum Scanner {
    Directives(DirectiveScanner),
    Types(TypeSniffer),
}

impl Scanner {
    fn push(&mut self, data: &[u8]) {
        match self {
            Scanner::Directives(s) => s.push(data),
            Scanner::Types(s) => s.push(data),
        }
    }

    fn finish(mut self) -> Vec<(String, Option<ValueType>)> {
        match &mut self {
            Scanner::Directives(s) => {
                s.finish();
                s.fields()
                    .values()
                    .map(|w3c| (w3c.clone(), Some(ValueType::Text)))
                    .collect()
            }
            Scanner::Types(s) => {
                s.finish();
                s.sniffed()
            }
        }
    }
}

/// The size of the blocks schema inference reads local files in: small enough to stay in the
/// core's cache, so the kernel copies each block into memory that is already there. Files are
/// read, not mapped: reading cannot crash the process when a file shrinks under it, and on
/// the VMs measured it was faster (`docs/tuning.md`).
const READ_BUFFER_LEN: usize = 256 << 10;

thread_local! {
    /// The block schema inference reads into, one per blocking thread and kept between files.
    static READ_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Scans one object for its fields: the `#Fields` directives (reading its bytes, parsing only
/// directive lines), and for generic W3C the types of the first rows' values. Local files are
/// read in blocks on a blocking thread; other stores are streamed.
async fn scan_fields(
    store: Arc<dyn ObjectStore>,
    object: ObjectMeta,
    compression: FileCompressionType,
    format: LogFormat,
    sample_rows: usize,
    member_table: Option<String>,
) -> Result<Vec<(String, Option<ValueType>)>> {
    let location = object.location.clone();
    let compression = crate::names::file_compression(compression, location.as_ref());
    let context = move |e: DataFusionError| {
        DataFusionError::Context(format!("inferring schema of {location}"), Box::new(e))
    };
    let new_scanner = move || {
        if format == LogFormat::W3c {
            Scanner::Types(TypeSniffer::new(sample_rows))
        } else {
            Scanner::Directives(DirectiveScanner::new())
        }
    };
    let mut scanner = new_scanner();
    let result = store
        .get_opts(&object.location, GetOptions::default())
        .await
        .map_err(|e| context(e.into()))?;
    if crate::names::is_zip(object.location.as_ref()) {
        // Each member of an archive is scanned as a file of its own.
        let source: Box<dyn ReadSeek> = match result.payload {
            GetResultPayload::File(file, _) => Box::new(file),
            GetResultPayload::Stream(s) => {
                let parts: Vec<bytes::Bytes> = s
                    .map_err(DataFusionError::from)
                    .try_collect()
                    .await
                    .map_err(context.clone())?;
                Box::new(std::io::Cursor::new(parts.concat()))
            }
        };
        return tokio::task::spawn_blocking(move || -> std::io::Result<_> {
            let mut fields = Vec::new();
            crate::archive::for_each_member(source, member_table.as_deref(), |_, head, rest| {
                let mut scanner = new_scanner();
                scanner.push(&head);
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    match iis_log::read_some(rest, &mut buf)? {
                        0 => break,
                        n => scanner.push(&buf[..n]),
                    }
                }
                merge_fields(&mut fields, scanner.finish());
                Ok(true)
            })?;
            Ok(fields)
        })
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?
        .map_err(|e| context(e.into()));
    }
    match result.payload {
        GetResultPayload::File(file, _) => {
            scanner = tokio::task::spawn_blocking(move || -> Result<Scanner> {
                let mut reader = compression.convert_read(file)?;
                READ_BUFFER.with_borrow_mut(|buf| {
                    buf.resize(READ_BUFFER_LEN, 0);
                    loop {
                        match iis_log::read_some(&mut reader, buf)? {
                            0 => return Ok(scanner),
                            n => scanner.push(&buf[..n]),
                        }
                    }
                })
            })
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?
            .map_err(context.clone())?;
        }
        GetResultPayload::Stream(s) => {
            let stream = s.map_err(DataFusionError::from).boxed();
            let mut stream = compression
                .convert_stream(stream)
                .map_err(context.clone())?;
            while let Some(bytes) = stream.next().await {
                scanner.push(&bytes.map_err(context.clone())?);
            }
        }
    }
    Ok(scanner.finish())
}

impl IisW3cFormat {
    /// The fields of `objects` beyond the format's catalogue, with their types, in the order
    /// first seen (types merged across files).
    pub async fn infer_fields(
        &self,
        store: &Arc<dyn ObjectStore>,
        objects: &[ObjectMeta],
    ) -> Result<Vec<(String, Option<ValueType>)>> {
        if let (Some(cell), Some(first)) = (&self.detected, objects.first())
            && cell.get().is_none()
        {
            let found = detect_object(Arc::clone(store), first.clone(), self.options.compression)
                .await?
                .map_or(self.options.format, |d| d.format);
            let _ = cell.set(found);
        }
        let format = self.log_format();
        let mut fields: Vec<(String, Option<ValueType>)> = Vec::new();
        if format.has_directives() {
            let compression = self.options.compression;
            let sample = self.options.sample_rows;
            let members = self.options.member_table.clone();
            let mut scans = futures::stream::iter(objects.iter().cloned())
                .map(|o| {
                    scan_fields(
                        Arc::clone(store),
                        o,
                        compression,
                        format,
                        sample,
                        members.clone(),
                    )
                })
                .buffered(8);
            while let Some(found) = scans.next().await {
                merge_fields(&mut fields, found?);
            }
        }
        // Fields named in the `fields` option (headerless files) are columns too.
        if let Some(list) = &self.options.fields {
            let named = list
                .iter()
                .map(|w| (w.clone(), Some(ValueType::Text)))
                .collect();
            merge_fields(&mut fields, named);
        }
        Ok(fields)
    }

    /// The table schema for `fields` (as [`Self::infer_fields`] gives them), with the types of
    /// the `types` option (and all text with `sample_rows` 0).
    pub fn schema_for(&self, fields: &[(String, Option<ValueType>)]) -> Result<SchemaRef> {
        let given = &self.options.types;
        let typed: Vec<(&str, ValueType)> = fields
            .iter()
            .map(|(name, t)| {
                let col = iis_log::column_name(name);
                let t = match given.iter().find(|(c, _)| *c == col) {
                    Some((_, g)) => *g,
                    None if self.options.sample_rows == 0 => ValueType::Text,
                    // A field whose sampled values were all NULL is text.
                    None => t.unwrap_or(ValueType::Text),
                };
                (name.as_str(), t)
            })
            .collect();
        Ok(Arc::new(iis_log::log_schema(self.log_format(), typed)))
    }
}

/// Adds `found` to `fields`: new columns at the end, types of known ones widened.
pub(crate) fn merge_fields(
    fields: &mut Vec<(String, Option<ValueType>)>,
    found: Vec<(String, Option<ValueType>)>,
) {
    // Each field found by its column name, once: a `#Fields` line of thousands of fields would
    // otherwise compare every name with every other.
    let mut index: std::collections::HashMap<String, usize> = fields
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (iis_log::column_name(n), i))
        .rev()
        .collect();
    for (name, t) in found {
        let col = iis_log::column_name(&name);
        match index.get(&col) {
            // A file where a field was only NULL says nothing of its type.
            Some(&i) => {
                let have = &mut fields[i].1;
                *have = match (*have, t) {
                    (Some(a), Some(b)) => Some(iis_log::sniff::merge(a, b)),
                    (a, b) => a.or(b),
                }
            }
            None => {
                index.insert(col, fields.len());
                fields.push((name, t));
            }
        }
    }
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
        let fields = self.infer_fields(store, objects).await?;
        self.schema_for(&fields)
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
            self.effective_options(),
            Arc::clone(&self.log),
        ))
    }
}

impl fmt::Display for IisW3cFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.log_format())
    }
}

//! Opens one IIS W3C file and streams its record batches: reads it in chunks of whole lines,
//! decodes each chunk, and reports counts and rejects to the session's [`ScanLog`].

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileOpenFuture, FileOpener};
use datafusion::error::{DataFusionError, Result};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use iis_log::{Chunk, DecoderConfig, LineChunker, RangeSplitter, W3cDecoder};
use object_store::{GetOptions, GetResultPayload, ObjectStore};

use crate::error::IisqlError;
use crate::options::IisW3cOptions;
use crate::scan_log::ScanLog;

/// Opens IIS W3C files of one partition.
pub struct IisW3cOpener {
    cfg: Arc<DecoderConfig>,
    store: Arc<dyn ObjectStore>,
    store_url: String,
    compression: FileCompressionType,
    options: IisW3cOptions,
    log: Arc<ScanLog>,
}

impl IisW3cOpener {
    /// An opener decoding with `cfg` from `store` (whose URL is `store_url`).
    pub fn new(
        cfg: Arc<DecoderConfig>,
        store: Arc<dyn ObjectStore>,
        store_url: String,
        compression: FileCompressionType,
        options: IisW3cOptions,
        log: Arc<ScanLog>,
        _partition: usize,
    ) -> Self {
        Self {
            cfg,
            store,
            store_url,
            compression,
            options,
            log,
        }
    }
}

/// The name rows are labelled with: a local path for local files, a URL otherwise.
pub(crate) fn display_name(store_url: &str, location: &str) -> String {
    if store_url == "file:///" {
        format!("/{location}")
    } else {
        format!("{}/{}", store_url.trim_end_matches('/'), location)
    }
}

fn chunk_len(c: &Chunk) -> u64 {
    match c {
        Chunk::Lines(b) => b.len() as u64,
        Chunk::LongLine { bytes, .. } => *bytes,
    }
}

enum Input {
    Read(Box<dyn Read + Send>),
    Stream(BoxStream<'static, Result<Bytes>>),
}

/// A piece of the input: bytes read into [`FileScan::piece`], or a stream's bytes.
enum Piece {
    Read(usize),
    Stream(Bytes),
}

/// The state of one file (or byte range of a file) being decoded.
struct FileScan {
    input: Input,
    chunker: LineChunker,
    decoder: W3cDecoder,
    /// Where pieces of a file are read (byte ranges go through the splitter piece by piece).
    piece: Vec<u8>,
    /// For a byte range: separates the prefix (scanned for the layout in force) from the
    /// range's lines; the decoder is resumed with that state when the range begins.
    splitter: Option<RangeSplitter>,
    cfg: Arc<DecoderConfig>,
    range_start: u64,
    resumed: bool,
    log: Arc<ScanLog>,
    options: IisW3cOptions,
    done: bool,
    failed: bool,
}

impl FileScan {
    fn parse_error(&self, e: iis_log::Error) -> DataFusionError {
        IisqlError::Parse {
            file: self.decoder.file().to_string(),
            source: e,
        }
        .into()
    }

    fn io_error(&self, e: std::io::Error) -> DataFusionError {
        IisqlError::Io {
            path: self.decoder.file().to_string(),
            source: e,
        }
        .into()
    }

    /// Reads the next raw piece of the input: into `self.piece` for a file, or as the stream's
    /// next bytes; `None` at its end.
    async fn next_piece(&mut self) -> Result<Option<Piece>> {
        match &mut self.input {
            Input::Read(r) => {
                self.piece.resize(256 << 10, 0);
                match iis_log::read_some(r, &mut self.piece) {
                    Ok(0) => Ok(None),
                    Ok(n) => Ok(Some(Piece::Read(n))),
                    Err(e) => Err(self.io_error(e)),
                }
            }
            Input::Stream(s) => Ok(s.next().await.transpose()?.map(Piece::Stream)),
        }
    }

    async fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        if self.splitter.is_some() {
            loop {
                if self.splitter.as_ref().is_some_and(RangeSplitter::done) {
                    return Ok(None);
                }
                let Some(piece) = self.next_piece().await? else {
                    return Ok(None);
                };
                let data: &[u8] = match &piece {
                    Piece::Read(n) => &self.piece[..*n],
                    Piece::Stream(b) => b,
                };
                let Some(sp) = self.splitter.as_mut() else {
                    return Ok(None);
                };
                let body = sp.feed(data);
                if sp.in_body() && !self.resumed {
                    let state = sp.start_state().clone();
                    let name = Arc::clone(self.decoder.file());
                    self.decoder = W3cDecoder::resume(Arc::clone(&self.cfg), name, &state);
                    self.range_start = state.offset;
                    self.resumed = true;
                }
                self.chunker.push(body);
                if let Some(chunk) = self.chunker.next_chunk() {
                    return Ok(Some(chunk));
                }
            }
        }
        match &mut self.input {
            Input::Read(r) => self.chunker.read_from(r).map_err(|e| {
                IisqlError::Io {
                    path: self.decoder.file().to_string(),
                    source: e,
                }
                .into()
            }),
            Input::Stream(s) => loop {
                if let Some(chunk) = self.chunker.next_chunk() {
                    return Ok(Some(chunk));
                }
                match s.next().await {
                    Some(bytes) => self.chunker.push(&bytes?),
                    None => return Ok(None),
                }
            },
        }
    }

    /// Hands the decoder's rejects to the log and enforces `strict` and `max_errors`.
    fn drain_rejects(&mut self) -> Result<()> {
        let rejects = self.decoder.take_rejects();
        if rejects.is_empty() {
            return Ok(());
        }
        if self.options.strict {
            let first = rejects[0].to_string();
            self.log.add_rejects(self.range_start, rejects);
            return Err(IisqlError::Strict(first).into());
        }
        let total = self.log.add_rejects(self.range_start, rejects);
        if let Some(max) = self.options.max_errors
            && total > max
        {
            return Err(IisqlError::TooManyRejects {
                count: total,
                max,
                first: self.log.first_reject().unwrap_or_default(),
            }
            .into());
        }
        Ok(())
    }

    async fn next(&mut self) -> Option<Result<RecordBatch>> {
        loop {
            if self.failed {
                return None;
            }
            if let Some(b) = self.decoder.next_batch() {
                return Some(Ok(b));
            }
            if self.done {
                return None;
            }
            let step = async {
                match self.next_chunk().await? {
                    Some(chunk) => {
                        self.log.add_bytes(chunk_len(&chunk));
                        self.decoder
                            .decode_chunk(&chunk, false)
                            .map_err(|e| self.parse_error(e))?;
                    }
                    None => {
                        self.done = true;
                        for tail in self.chunker.finish() {
                            self.log.add_bytes(chunk_len(&tail));
                            self.decoder
                                .decode_chunk(&tail, true)
                                .map_err(|e| self.parse_error(e))?;
                        }
                        self.decoder.finish().map_err(|e| self.parse_error(e))?;
                    }
                }
                self.drain_rejects()
            };
            if let Err(e) = step.await {
                self.failed = true;
                return Some(Err(e));
            }
        }
    }
}

impl Drop for FileScan {
    fn drop(&mut self) {
        let rejects = self.decoder.take_rejects();
        if !rejects.is_empty() {
            self.log.add_rejects(self.range_start, rejects);
        }
        self.log
            .finish_file(self.decoder.file(), self.range_start, self.decoder.stats());
        self.log
            .end_file(self.decoder.file(), self.done && !self.failed);
    }
}

impl FileScan {
    /// A scan of one input (a file, or a member of an archive) named `name`; `range` for a
    /// byte range of a file.
    fn start(
        input: Input,
        name: String,
        cfg: Arc<DecoderConfig>,
        options: IisW3cOptions,
        log: Arc<ScanLog>,
        range: Option<(u64, u64)>,
    ) -> Self {
        let splitter = range.map(|(start, end)| RangeSplitter::new(start, end));
        FileScan {
            input,
            chunker: LineChunker::default().with_max_line(options.max_line_bytes),
            piece: Vec::new(),
            decoder: W3cDecoder::new(Arc::clone(&cfg), name),
            resumed: splitter.is_none(),
            splitter,
            cfg,
            range_start: 0,
            log,
            options,
            done: false,
            failed: false,
        }
    }
}

/// The members of a zip archive, scanned one after the other.
struct ArchiveScan {
    members: tokio::sync::mpsc::Receiver<std::io::Result<crate::archive::Member>>,
    current: Option<FileScan>,
    cfg: Arc<DecoderConfig>,
    options: IisW3cOptions,
    log: Arc<ScanLog>,
}

impl ArchiveScan {
    async fn next(&mut self) -> Option<Result<RecordBatch>> {
        loop {
            if let Some(scan) = self.current.as_mut() {
                match scan.next().await {
                    Some(r) => return Some(r),
                    // Dropping the scan records the member's counts.
                    None => self.current = None,
                }
            }
            match self.members.recv().await {
                Some(Ok(member)) => {
                    self.current = Some(FileScan::start(
                        Input::Stream(member_bytes(member.name.clone(), member.bytes)),
                        member.name,
                        Arc::clone(&self.cfg),
                        self.options.clone(),
                        Arc::clone(&self.log),
                        None,
                    ));
                }
                Some(Err(e)) => return Some(Err(DataFusionError::IoError(e))),
                None => return None,
            }
        }
    }
}

/// The bytes of an archive member as its reading thread sends them; errors name the member.
fn member_bytes(
    name: String,
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
) -> BoxStream<'static, Result<Bytes>> {
    futures::stream::unfold(rx, move |mut rx| {
        let name = name.clone();
        async move {
            let piece = rx
                .recv()
                .await?
                .map(Bytes::from)
                .map_err(|source| DataFusionError::from(IisqlError::Io { path: name, source }));
            Some((piece, rx))
        }
    })
    .boxed()
}

impl FileOpener for IisW3cOpener {
    fn open(&self, file: PartitionedFile) -> Result<FileOpenFuture> {
        let store = Arc::clone(&self.store);
        let cfg = Arc::clone(&self.cfg);
        let compression =
            crate::names::file_compression(self.compression, file.object_meta.location.as_ref());
        let options = self.options.clone();
        let log = Arc::clone(&self.log);
        let location = file.object_meta.location.clone();
        let zip = crate::names::is_zip(location.as_ref());
        // A byte range of the file (DataFusion splits large files across partitions); the
        // whole file from its start is read, the prefix only scanned for directives.
        let mut range = file
            .range
            .as_ref()
            .map(|r| (r.start.max(0) as u64, r.end.max(0) as u64))
            // A range that covers the whole file (DataFusion gives every file of a
            // repartitioned scan one) is read as the file: straight into chunks.
            .filter(|&(start, end)| start > 0 || end < file.object_meta.size);
        if (zip || compression.is_compressed())
            && let Some((start, _)) = range
        {
            // A compressed file or an archive (known by its name only) cannot be read from the
            // middle: the range that starts at 0 reads all of it, the others nothing.
            if start > 0 {
                return Ok(Box::pin(async { Ok(futures::stream::empty().boxed()) }));
            }
            range = None;
        }
        let name = display_name(&self.store_url, location.as_ref());
        // A checkpointed run reads only the file's new lines: its range, within the part of
        // the file this partition owns (ranges tile the file, so their parts tile the new lines).
        if let Some((start, end)) = self.options.ranges.as_ref().and_then(|r| r.get(&name)) {
            let (start, end) = (*start, *end);
            let own = range.unwrap_or((0, u64::MAX));
            let whole = zip || compression.is_compressed();
            let part = if whole {
                // Read whole, once, by the range at 0: unless it was read already.
                (start == 0 && end > 0 && own.0 == 0).then_some(None)
            } else {
                let (s, e) = (own.0.max(start), own.1.min(end));
                (s < e).then_some(Some((s, e)))
            };
            match part {
                None => return Ok(Box::pin(async { Ok(futures::stream::empty().boxed()) })),
                Some(r) => range = r,
            }
        }
        Ok(Box::pin(async move {
            let result = store
                .get_opts(&location, GetOptions::default())
                .await
                .map_err(|e| DataFusionError::Context(name.clone(), Box::new(e.into())))?;
            if zip {
                let table = options.member_table.clone();
                let members = match result.payload {
                    GetResultPayload::File(f, _) => {
                        crate::archive::read_members(f, name.clone(), table)
                    }
                    // An archive's index is at its end: a remote archive is read whole first.
                    GetResultPayload::Stream(s) => {
                        let parts: Vec<Bytes> =
                            s.map_err(DataFusionError::from).try_collect().await?;
                        let bytes: Vec<u8> = parts.concat();
                        crate::archive::read_members(
                            std::io::Cursor::new(bytes),
                            name.clone(),
                            table,
                        )
                    }
                };
                let scan = ArchiveScan {
                    members,
                    current: None,
                    cfg,
                    options,
                    log,
                };
                let stream = futures::stream::unfold(scan, |mut scan| async move {
                    scan.next().await.map(|r| (r, scan))
                });
                return Ok(stream.boxed());
            }
            let input = match result.payload {
                GetResultPayload::File(f, _) => Input::Read(compression.convert_read(f)?),
                GetResultPayload::Stream(s) => Input::Stream(
                    compression.convert_stream(s.map_err(DataFusionError::from).boxed())?,
                ),
            };
            let scan = FileScan::start(input, name, cfg, options, log, range);
            let stream = futures::stream::unfold(scan, |mut scan| async move {
                scan.next().await.map(|r| (r, scan))
            });
            Ok(stream.boxed())
        }))
    }
}

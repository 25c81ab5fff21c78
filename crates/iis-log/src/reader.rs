//! Synchronous helpers that read a whole file from any [`Read`]: decode it, or scan it for
//! directives only.

use std::io::Read;
use std::sync::Arc;

use arrow_array::RecordBatch;

use crate::chunker::LineChunker;
use crate::decoder::{DecoderConfig, W3cDecoder};
use crate::directives::DirectiveScanner;
use crate::error::Result;
use crate::range::RangeSplitter;
use crate::reject::{Reject, ScanStats};

/// Everything read from one file.
#[derive(Debug)]
pub struct FileRead {
    /// The batches, in file order.
    pub batches: Vec<RecordBatch>,
    /// The line accounting.
    pub stats: ScanStats,
    /// The reported lines and values.
    pub rejects: Vec<Reject>,
}

/// Reads a whole W3C file from `reader`.
pub fn read_w3c<R: Read>(
    mut reader: R,
    cfg: Arc<DecoderConfig>,
    file: &str,
    chunk_size: usize,
) -> Result<FileRead> {
    let mut chunker = LineChunker::new(chunk_size);
    let mut decoder = W3cDecoder::new(cfg, file);
    let mut batches = Vec::new();
    while let Some(chunk) = chunker.read_from(&mut reader)? {
        decoder.decode_chunk(&chunk, false)?;
        while let Some(b) = decoder.next_batch() {
            batches.push(b);
        }
    }
    for tail in chunker.finish() {
        decoder.decode_chunk(&tail, true)?;
    }
    decoder.finish()?;
    while let Some(b) = decoder.next_batch() {
        batches.push(b);
    }
    Ok(FileRead {
        batches,
        stats: *decoder.stats(),
        rejects: decoder.take_rejects(),
    })
}

/// Reads the lines of byte range `[start, end)` of a whole file given from its first byte (the
/// prefix is scanned for the layout, date and line number in force; see [`crate::range`]).
pub fn read_w3c_range<R: Read>(
    mut reader: R,
    start: u64,
    end: u64,
    cfg: Arc<DecoderConfig>,
    file: &str,
    chunk_size: usize,
) -> Result<FileRead> {
    let mut splitter = RangeSplitter::new(start, end);
    let mut chunker = LineChunker::new(chunk_size);
    let mut decoder: Option<W3cDecoder> = None;
    let mut batches = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        let body = splitter.feed(&buf[..n]);
        if splitter.in_body() && decoder.is_none() {
            decoder = Some(W3cDecoder::resume(
                Arc::clone(&cfg),
                file,
                splitter.start_state(),
            ));
        }
        chunker.push(body);
        if let Some(d) = decoder.as_mut() {
            while let Some(chunk) = chunker.next_chunk() {
                d.decode_chunk(&chunk, false)?;
            }
            while let Some(b) = d.next_batch() {
                batches.push(b);
            }
        }
        if splitter.done() {
            break;
        }
    }
    let mut d = decoder.unwrap_or_else(|| W3cDecoder::resume(cfg, file, splitter.start_state()));
    for tail in chunker.finish() {
        d.decode_chunk(&tail, !splitter.done())?;
    }
    d.finish()?;
    while let Some(b) = d.next_batch() {
        batches.push(b);
    }
    Ok(FileRead {
        batches,
        stats: *d.stats(),
        rejects: d.take_rejects(),
    })
}

/// Scans `reader` for directive lines only (for schema inference).
pub fn scan_directives<R: Read>(mut reader: R) -> std::io::Result<DirectiveScanner> {
    let mut scanner = DirectiveScanner::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        scanner.push(&buf[..n]);
    }
    scanner.finish();
    Ok(scanner)
}

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
        let n = match read_some(&mut reader, &mut buf)? {
            0 => break,
            n => n,
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

/// Reads into `buf` as [`Read::read`] does, retrying a read that a signal interrupted
/// ([`std::io::ErrorKind::Interrupted`]). `Ok(0)` is the end of the input (or an empty `buf`).
pub fn read_some<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

/// Scans `reader` for directive lines only (for schema inference).
pub fn scan_directives<R: Read>(mut reader: R) -> std::io::Result<DirectiveScanner> {
    let mut scanner = DirectiveScanner::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = match read_some(&mut reader, &mut buf)? {
            0 => break,
            n => n,
        };
        scanner.push(&buf[..n]);
    }
    scanner.finish();
    Ok(scanner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader interrupted by a signal before each read that returns bytes.
    struct Interrupted<'a> {
        data: &'a [u8],
        interrupt: bool,
    }

    impl Read for Interrupted<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt && !self.data.is_empty() {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.data.len()).min(3);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn interrupted_reads_are_retried_and_other_errors_are_not() {
        let mut r = Interrupted {
            data: b"#Fields: date\n",
            interrupt: false,
        };
        let mut got = Vec::new();
        let mut buf = [0u8; 8];
        loop {
            match read_some(&mut r, &mut buf).unwrap() {
                0 => break,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(got, b"#Fields: date\n");
        let scanner = scan_directives(Interrupted {
            data: b"#Fields: c-ip cs-method\n",
            interrupt: false,
        })
        .unwrap();
        assert_eq!(scanner.layouts(), 1);
        let columns: Vec<&str> = scanner.fields().keys().map(String::as_str).collect();
        assert_eq!(columns, ["c_ip", "cs_method"]);

        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::PermissionDenied.into())
            }
        }
        let err = read_some(&mut Broken, &mut buf).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    }
}

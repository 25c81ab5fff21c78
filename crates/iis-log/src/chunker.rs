//! Cuts a byte stream into chunks of whole lines, so every line the decoder sees lies inside one
//! contiguous Arrow [`Buffer`] that string columns can point into without copying.

use std::io::Read;

use arrow_buffer::Buffer;

/// Default chunk size: large enough to amortise per-chunk work, small enough for the cache.
pub const DEFAULT_CHUNK_SIZE: usize = 2 << 20;

/// Accumulates bytes and hands out chunks that end just after a `\n`.
#[derive(Debug)]
pub struct LineChunker {
    buf: Vec<u8>,
    target: usize,
}

impl Default for LineChunker {
    fn default() -> Self {
        Self::new(DEFAULT_CHUNK_SIZE)
    }
}

impl LineChunker {
    /// A chunker that emits chunks of at least `target` bytes (except the last).
    pub fn new(target: usize) -> Self {
        let target = target.max(1);
        Self {
            buf: Vec::with_capacity(target + target / 8),
            target,
        }
    }

    /// Adds bytes; returns a chunk of whole lines once `target` bytes have gathered.
    pub fn push(&mut self, data: &[u8]) -> Option<Buffer> {
        let old = self.buf.len();
        self.buf.extend_from_slice(data);
        if self.buf.len() >= self.target {
            self.split(old)
        } else {
            None
        }
    }

    /// Reads from `reader` until a chunk is ready; `Ok(None)` at the end of the input (then call
    /// [`Self::finish`] for the last line if it has no terminator).
    pub fn read_from<R: Read + ?Sized>(
        &mut self,
        reader: &mut R,
    ) -> std::io::Result<Option<Buffer>> {
        loop {
            let old = self.buf.len();
            let want = self.target.saturating_sub(old).max(64 * 1024);
            self.buf.resize(old + want, 0);
            let n = match reader.read(&mut self.buf[old..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    self.buf.truncate(old);
                    continue;
                }
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            };
            self.buf.truncate(old + n);
            if n == 0 {
                return Ok(None);
            }
            if self.buf.len() >= self.target
                && let Some(chunk) = self.split(old)
            {
                return Ok(Some(chunk));
            }
        }
    }

    /// The bytes after the last line terminator, if any (the file's unterminated last line).
    pub fn finish(&mut self) -> Option<Buffer> {
        if self.buf.is_empty() {
            None
        } else {
            Some(Buffer::from_vec(std::mem::take(&mut self.buf)))
        }
    }

    /// Cuts after the last `\n`; only `buf[searched_before..]` can hold one, because every earlier
    /// byte was searched when it arrived.
    fn split(&mut self, searched_before: usize) -> Option<Buffer> {
        let nl = searched_before + memchr::memrchr(b'\n', &self.buf[searched_before..])?;
        let rest = self.buf[nl + 1..].to_vec();
        self.buf.truncate(nl + 1);
        let mut next = Vec::with_capacity(self.target + self.target / 8);
        next.extend_from_slice(&rest);
        let chunk = std::mem::replace(&mut self.buf, next);
        Some(Buffer::from_vec(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect_push(data: &[u8], piece: usize, target: usize) -> Vec<Vec<u8>> {
        let mut c = LineChunker::new(target);
        let mut out = vec![];
        for p in data.chunks(piece) {
            if let Some(b) = c.push(p) {
                out.push(b.as_slice().to_vec());
            }
        }
        if let Some(b) = c.finish() {
            out.push(b.as_slice().to_vec());
        }
        out
    }

    #[test]
    fn chunks_end_on_newlines_and_lose_nothing() {
        let data = b"aa\nbbbb\ncc\n\ndddddd\nlast";
        for piece in 1..data.len() {
            for target in 1..12 {
                let chunks = collect_push(data, piece, target);
                assert_eq!(chunks.concat(), data.to_vec());
                for c in &chunks[..chunks.len() - 1] {
                    assert_eq!(c.last(), Some(&b'\n'));
                }
            }
        }
    }

    #[test]
    fn read_from_reader() {
        let data = b"one\ntwo\nthree\nfour".to_vec();
        let mut c = LineChunker::new(4);
        let mut r = std::io::Cursor::new(data.clone());
        let mut out = vec![];
        while let Some(b) = c.read_from(&mut r).unwrap() {
            out.extend_from_slice(b.as_slice());
        }
        if let Some(b) = c.finish() {
            out.extend_from_slice(b.as_slice());
        }
        assert_eq!(out, data);
    }
}

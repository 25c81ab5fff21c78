//! Reading a byte range of a file: which lines belong to it, and what a decoder must know to
//! start in the middle of a file (the `#Fields` layout, the `#Date` and the line number in
//! force there).
//!
//! A range `[start, end)` owns the lines that begin inside it: a line that begins before
//! `start` belongs to the previous range, and the line that begins before `end` is read to its
//! end. Ranges that tile a file therefore read every line exactly once.

use crate::directives::{Directive, parse_directive};

/// The state in force at the first line of a range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeStart {
    /// Byte offset of the range's first line.
    pub offset: u64,
    /// Lines before it.
    pub lines: u64,
    /// The last `#Fields` before it, if any.
    pub fields: Option<Vec<String>>,
    /// The last `#Date` before it: `None` if none, `Some(None)` if unreadable.
    pub date: Option<Option<i32>>,
}

/// Which part of the input a [`RangeSplitter`] is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the range's first line.
    Prefix,
    /// Inside the range.
    Body,
    /// Past `end`, finishing the line that began before it.
    Tail,
    /// Past the range.
    Done,
}

/// Splits a file's bytes, fed in order from offset 0, into the prefix (scanned for the
/// [`RangeStart`]) and the range's own bytes.
#[derive(Debug)]
pub struct RangeSplitter {
    start: u64,
    end: u64,
    pos: u64,
    phase: Phase,
    state: RangeStart,
    line: Vec<u8>,
    in_directive: bool,
    at_line_start: bool,
    /// The bytes read so far end with a NUL inside a line (a directive may follow it).
    after_nul: bool,
}

/// Longest prefix directive line kept.
const MAX_DIRECTIVE: usize = 1 << 20;

impl RangeSplitter {
    /// A splitter for the range `[start, end)` of a file.
    pub fn new(start: u64, end: u64) -> Self {
        Self {
            start,
            end,
            pos: 0,
            phase: if start == 0 {
                Phase::Body
            } else {
                Phase::Prefix
            },
            state: RangeStart::default(),
            line: Vec::new(),
            in_directive: false,
            at_line_start: true,
            after_nul: false,
        }
    }

    /// The state at the range's first line (complete once [`Self::in_body`] is true).
    pub fn start_state(&self) -> &RangeStart {
        &self.state
    }

    /// Whether the prefix has been passed.
    pub fn in_body(&self) -> bool {
        !matches!(self.phase, Phase::Prefix)
    }

    /// Whether nothing more of the file belongs to the range.
    pub fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Feeds the next bytes; returns the sub-slice that belongs to the range (possibly empty).
    pub fn feed<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        let mut from = 0;
        if self.phase == Phase::Prefix {
            from = self.scan_prefix(data);
            if self.phase == Phase::Prefix {
                self.pos += data.len() as u64;
                return &[];
            }
        }
        let to = match self.phase {
            Phase::Prefix | Phase::Done => from,
            Phase::Tail => match memchr::memchr(b'\n', &data[from..]) {
                Some(n) => {
                    self.phase = Phase::Done;
                    from + n + 1
                }
                None => data.len(),
            },
            Phase::Body => {
                let abs_from = self.pos + from as u64;
                if self.end <= abs_from + (data.len() - from) as u64 {
                    let cut = from + self.end.saturating_sub(abs_from) as usize;
                    let after_newline = if cut > from {
                        data[cut - 1] == b'\n'
                    } else {
                        self.at_line_start
                    };
                    if after_newline {
                        self.phase = Phase::Done;
                        cut
                    } else {
                        match memchr::memchr(b'\n', &data[cut..]) {
                            Some(n) => {
                                self.phase = Phase::Done;
                                cut + n + 1
                            }
                            None => {
                                self.phase = Phase::Tail;
                                data.len()
                            }
                        }
                    }
                } else {
                    data.len()
                }
            }
        };
        let body = &data[from..to];
        if let Some(&b) = body.last() {
            self.at_line_start = b == b'\n';
        }
        self.pos += data.len() as u64;
        body
    }

    /// Scans prefix bytes; returns how many were prefix (switching to the body when the first
    /// line at or after `start` begins).
    fn scan_prefix(&mut self, data: &[u8]) -> usize {
        let has_nul = memchr::memchr(0, data).is_some();
        let mut i = 0;
        while i < data.len() {
            let abs = self.pos + i as u64;
            if self.at_line_start && abs >= self.start {
                self.phase = Phase::Body;
                self.state.offset = abs;
                return i;
            }
            if self.at_line_start {
                // Directive lines are kept (the first line too: it may open with a BOM, and a
                // line of NULs running past this piece may end in a directive).
                let lead = data[i..].iter().take_while(|&&c| c == 0).count();
                self.in_directive =
                    abs == 0 || data.get(i + lead) == Some(&b'#') || i + lead == data.len();
                self.line.clear();
            }
            let nl = memchr::memchr(b'\n', &data[i..]).map(|n| i + n);
            let stop = nl.map_or(data.len(), |n| n + 1);
            if self.in_directive && self.line.len() < MAX_DIRECTIVE {
                self.line.extend_from_slice(&data[i..stop]);
            } else if !self.in_directive && (has_nul || self.after_nul) {
                // `cut line\0\0#Software...`: a directive after NUL padding mid-line (IIS after a
                // crash); the decoder reads it, so the layout in force must include it. The
                // rest of the line is kept from there on, as a directive line's is.
                let frag = &data[i..stop];
                let at = if self.after_nul && frag.first() == Some(&b'#') {
                    Some(0)
                } else {
                    memchr::memmem::find(frag, b"\0#")
                };
                if let Some(m) = at {
                    self.line.clear();
                    self.line.extend_from_slice(&frag[m..]);
                    self.in_directive = true;
                }
            }
            self.after_nul = stop > i && data[stop - 1] == 0;
            self.at_line_start = nl.is_some();
            if nl.is_some() {
                self.state.lines += 1;
                if self.in_directive {
                    self.directive();
                }
            }
            i = stop;
        }
        if self.at_line_start && self.pos + i as u64 >= self.start {
            self.phase = Phase::Body;
            self.state.offset = self.pos + i as u64;
        }
        i
    }

    fn directive(&mut self) {
        let line = std::mem::take(&mut self.line);
        let text = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&line);
        // NUL runs end a line's text, and a piece after them that starts with `#` is a
        // directive of its own (see the decoder).
        for piece in text.split(|&c| c == 0) {
            let mut piece = piece;
            while let Some((&c, rest)) = piece.split_last() {
                if matches!(c, b'\n' | b'\r' | b' ' | b'\t') {
                    piece = rest;
                } else {
                    break;
                }
            }
            if !piece.starts_with(b"#") {
                continue;
            }
            match parse_directive(piece) {
                Directive::Fields(names) => self.state.fields = Some(names),
                Directive::Date(d) => self.state.date = Some(d.map(|(days, _)| days)),
                _ => {}
            }
        }
        self.line = line;
        self.line.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &[u8], start: u64, end: u64, piece: usize) -> (Vec<u8>, RangeStart) {
        let mut s = RangeSplitter::new(start, end);
        let mut body = vec![];
        for p in text.chunks(piece.max(1)) {
            body.extend_from_slice(s.feed(p));
            if s.done() {
                break;
            }
        }
        (body, s.start_state().clone())
    }

    #[test]
    fn ranges_tile_the_file() {
        let text = b"#Fields: a b\n1 2\n#Date: 2020-01-02 00:00:00\n3 4\n\n5 6\nlast";
        for piece in [1, 2, 3, 7, 100] {
            for cut in 0..=text.len() as u64 {
                let (a, sa) = split(text, 0, cut, piece);
                let (b, sb) = split(text, cut, text.len() as u64, piece);
                assert_eq!(
                    [a, b.clone()].concat(),
                    text.to_vec(),
                    "cut {cut} piece {piece}"
                );
                assert_eq!(sa.offset, 0);
                if b.is_empty() {
                    continue;
                }
                assert_eq!(sb.offset as usize, text.len() - b.len(), "cut {cut}");
                let before = &text[..sb.offset as usize];
                assert_eq!(
                    sb.lines as usize,
                    before.iter().filter(|&&c| c == b'\n').count()
                );
                if sb.offset >= 13 {
                    assert_eq!(sb.fields, Some(vec!["a".to_string(), "b".to_string()]));
                }
                if sb.offset >= 44 {
                    assert!(matches!(sb.date, Some(Some(_))), "cut {cut}");
                }
            }
        }
    }

    /// The layout in force after a directive written straight after NULs in a data line (a
    /// crash), however the bytes arrive.
    #[test]
    fn directives_after_nuls_in_force_whatever_the_pieces() {
        let text = b"#Fields: a\n1\ncut\0\0#Date: 2020-01-02 00:00:00\0#Fields: b c\n2 3\n\0\0#Fields: d\n4\n";
        let after_cut = text.windows(3).position(|w| w == b"2 3").unwrap() as u64;
        let after_last = text.len() as u64 - 2;
        for piece in 1..24 {
            let (_, s) = split(text, after_cut, text.len() as u64, piece);
            assert_eq!(
                s.fields,
                Some(vec!["b".to_string(), "c".to_string()]),
                "piece {piece}"
            );
            assert!(matches!(s.date, Some(Some(_))), "piece {piece}");
            let (_, s) = split(text, after_last, text.len() as u64, piece);
            assert_eq!(s.fields, Some(vec!["d".to_string()]), "piece {piece}");
        }
    }
}

//! The W3C extended decoder: chunks of whole lines in, Arrow record batches out.
//!
//! Each chunk is tokenised once (field start offsets per row); only the projected columns are
//! then built, column by column. Text columns are `Utf8View` arrays that point into the chunk
//! buffer, so field text is never copied. A `count(*)` projection builds no column at all.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, Int32Builder, Int64Builder, StringBuilder, StringViewBuilder,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, Int64Array, RecordBatch, RecordBatchOptions,
    TimestampMillisecondArray, new_null_array,
};
use arrow_buffer::Buffer;
use arrow_schema::{Schema, SchemaRef};
use arrow_select::coalesce::BatchCoalescer;

use crate::chunker::Chunk;
use crate::datetime::{MS_PER_DAY, parse_date, parse_time};
use crate::datetime::{parse_datetime, parse_time_lenient, parse_us_date};
use crate::directives::{Directive, parse_directive};
use crate::error::{Error, Result};
use crate::filter::RowFilter;
use crate::formats::{Dialect, LogFormat};
use crate::layout::{Layout, RequestPart};
use crate::range::RangeStart;
use crate::reject::{MAX_REJECT_TEXT, Reject, RejectReason, ScanStats};
use crate::schema::{ColumnKind, column_kinds};
use crate::separators::Separators;
use crate::tokenize::{fields_separator, split_line, unescape, value_span};
use crate::views::SpanViews;

/// What to decode: the table's file schema, the columns wanted, batch size and the layout of
/// lines that come before any `#Fields`.
#[derive(Debug, Clone)]
pub struct DecoderConfig {
    schema: SchemaRef,
    projection: Vec<usize>,
    projected: SchemaRef,
    kinds: Vec<ColumnKind>,
    columns: HashMap<String, usize>,
    batch_size: usize,
    default_fields: Vec<String>,
    format: LogFormat,
    dialect: Dialect,
    alternates: Vec<Vec<String>>,
    /// The field that takes separators past the layout's (IIS native's parameters).
    greedy: Option<usize>,
    time_zone: Option<chrono_tz::Tz>,
    /// The conditions rows must meet, in the order they are applied, each with the schema of
    /// the columns it reads.
    filters: Vec<(Arc<dyn RowFilter>, SchemaRef)>,
}

impl DecoderConfig {
    /// Prepares decoding into `schema`, building only the columns in `projection` (indices into
    /// `schema`, in output order; `None` for all).
    pub fn new(schema: SchemaRef, projection: Option<Vec<usize>>) -> Result<Self> {
        let kinds = column_kinds(&schema)?;
        let projection = projection.unwrap_or_else(|| (0..schema.fields().len()).collect());
        let projected = Arc::new(schema.project(&projection)?);
        let columns = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name().clone(), i))
            .collect();
        Ok(Self {
            schema,
            projection,
            projected,
            kinds,
            columns,
            batch_size: 8192,
            default_fields: Vec::new(),
            format: LogFormat::IisW3c,
            dialect: LogFormat::IisW3c.dialect(),
            alternates: Vec::new(),
            greedy: None,
            time_zone: None,
            filters: Vec::new(),
        }
        .with_format(LogFormat::IisW3c))
    }

    /// Reads lines of `format` (IIS W3C unless set): its separator, quoting, layout of lines
    /// before any `#Fields` and alternative layouts.
    pub fn with_format(mut self, format: LogFormat) -> Self {
        self.format = format;
        self.dialect = format.dialect();
        self.default_fields = split_fields(format.default_fields());
        self.alternates = format
            .alternate_layouts()
            .into_iter()
            .map(split_fields)
            .collect();
        self.greedy = format.greedy_field();
        self
    }

    /// Sets the server's time zone, which turns local times (IIS native, `date-local`) into
    /// `timestamp`; without it, rows in local time have a NULL `timestamp`.
    pub fn with_time_zone(mut self, tz: chrono_tz::Tz) -> Self {
        self.time_zone = Some(tz);
        self
    }

    /// Keeps only the rows `filter` accepts. Filters apply in the order they are added: the
    /// columns the first reads are built for every row, those another reads (and the rest of
    /// the projection) only for the rows the filters before it kept, so their values (and any
    /// value they fail to read as their type) are not looked at in the rows dropped. Put the
    /// condition that is cheapest to build and drops the most rows first.
    pub fn with_filter(mut self, filter: Arc<dyn RowFilter>) -> Result<Self> {
        let columns = filter.columns();
        if columns.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::Filter(
                format!("filter columns {columns:?} are not ascending").into(),
            ));
        }
        let schema = Arc::new(self.schema.project(columns)?);
        self.filters.push((filter, schema));
        Ok(self)
    }

    /// The format read.
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// Whether lines are cut by the fast path: one space between fields, no quotes.
    fn plain(&self) -> bool {
        self.dialect.separator == Some(b' ') && !self.dialect.quotes && !self.dialect.trim
    }

    /// Sets the most rows per output batch.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Sets the field list for lines before any `#Fields` (space-separated W3C names); it
    /// replaces the format's alternative layouts.
    pub fn with_default_fields(mut self, fields: &str) -> Self {
        self.default_fields = split_fields(fields);
        self.alternates.clear();
        self.greedy = None;
        self
    }

    /// The full schema decoded into.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The schema of the batches produced.
    pub fn projected_schema(&self) -> &SchemaRef {
        &self.projected
    }
}

fn split_fields(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_ascii_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Decodes one file. Feed chunks of whole lines with [`W3cDecoder::decode`] (the last one may
/// lack a final newline), call [`W3cDecoder::finish`], and take batches with
/// [`W3cDecoder::next_batch`] and reports with [`W3cDecoder::take_rejects`].
#[derive(Debug)]
pub struct W3cDecoder {
    cfg: Arc<DecoderConfig>,
    file: Arc<str>,
    file_block: Buffer,
    layout: Arc<Layout>,
    layouts: HashMap<(Vec<String>, u8), Arc<Layout>>,
    /// Layouts chosen by field count while no `#Fields` is in force.
    alternates: Vec<Arc<Layout>>,
    /// Whether a `#Fields` is in force.
    fields_seen: bool,
    /// Field starts of a count-only pass (not kept).
    scratch: Vec<u32>,
    current_date: Option<i32>,
    line_no: u64,
    offset: u64,
    started: bool,
    // The segment: rows of one chunk buffer under one layout, not yet built into a batch.
    seg_buf: Option<Buffer>,
    starts: Vec<u32>,
    rows_line: Vec<u64>,
    rows_offset: Vec<u64>,
    stats: ScanStats,
    rejects: Vec<Reject>,
    batches: VecDeque<RecordBatch>,
    last_directive_was_fields: bool,
    /// Whether the chunk being decoded holds a NUL byte (lines are then searched for NUL runs).
    chunk_has_nul: bool,
    /// With a filter: gathers the small batches of the rows it keeps into full ones.
    coalescer: Option<BatchCoalescer>,
}

/// A borrowed view of the segment, used while building columns.
struct Segment<'a> {
    data: &'a [u8],
    starts: &'a [u32],
    stride: usize,
    rows: usize,
    dialect: Dialect,
    plain: bool,
}

impl<'a> Segment<'a> {
    fn new(
        cfg: &DecoderConfig,
        data: &'a [u8],
        starts: &'a [u32],
        stride: usize,
        rows: usize,
    ) -> Self {
        Segment {
            data,
            starts,
            stride,
            rows,
            dialect: cfg.dialect,
            plain: cfg.plain(),
        }
    }

    #[inline]
    fn field(&self, row: usize, pos: usize) -> (usize, usize) {
        let i = row * self.stride + pos;
        (self.starts[i] as usize, self.starts[i + 1] as usize - 1)
    }

    /// The value's span: trimmed and unquoted as the dialect says; the flag tells that it holds
    /// escaped quotes.
    #[inline]
    fn span(&self, row: usize, pos: usize) -> (usize, usize, bool) {
        let (s, e) = self.field(row, pos);
        if self.plain {
            (s, e, false)
        } else {
            value_span(self.data, s, e, &self.dialect)
        }
    }

    /// The field's bytes (escapes left in), `None` for `-` and empty fields.
    #[inline]
    fn value(&self, row: usize, pos: usize) -> Option<&[u8]> {
        let (s, e, _) = self.span(row, pos);
        let v = &self.data[s..e];
        if v.is_empty() || v == b"-" {
            None
        } else {
            Some(v)
        }
    }

    /// The text of a value: its span in the data, or its unescaped bytes; `None` for `-` and
    /// empty values, and for a missing part of a request line.
    #[inline]
    fn text(&self, row: usize, pos: usize, part: Option<RequestPart>) -> Option<TextValue> {
        let (mut s, mut e, escaped) = self.span(row, pos);
        let v = &self.data[s..e];
        if v.is_empty() || v == b"-" {
            return None;
        }
        if escaped {
            let owned = unescape(v);
            return match part {
                None => Some(TextValue::Owned(owned)),
                Some(p) => {
                    let (a, b) = p.of(&owned)?;
                    Some(TextValue::Owned(owned[a..b].to_vec()))
                }
            };
        }
        if let Some(p) = part {
            let (a, b) = p.of(v)?;
            (s, e) = (s + a, s + b);
        }
        Some(TextValue::Span(s, e))
    }
}

/// The times of a segment's rows.
struct RowTimes {
    /// Milliseconds since the epoch, UTC.
    utc: Vec<Option<i64>>,
    /// Days since the epoch of the UTC date.
    days: Vec<Option<i32>>,
    /// The local date and time as logged, in milliseconds since the epoch of that wall clock.
    local: Vec<Option<i64>>,
}

impl RowTimes {
    /// The times of the rows `mask` selects.
    fn keep(self, mask: &BooleanArray) -> Self {
        fn pick<T: Copy>(v: Vec<T>, mask: &BooleanArray) -> Vec<T> {
            if v.len() != mask.len() {
                return v;
            }
            mask.values().set_indices().map(|i| v[i]).collect()
        }
        Self {
            utc: pick(self.utc, mask),
            days: pick(self.days, mask),
            local: pick(self.local, mask),
        }
    }
}

/// The day (since the epoch) of a time in milliseconds.
fn day_of(ms: i64) -> i32 {
    ms.div_euclid(MS_PER_DAY) as i32
}

/// A wall-clock time of `tz` in UTC; the earlier instant when the clock went back, `None` for a
/// time the clock skipped.
fn local_to_utc(tz: chrono_tz::Tz, local_ms: i64) -> Option<i64> {
    use chrono::TimeZone;
    let naive = chrono::DateTime::from_timestamp_millis(local_ms)?.naive_utc();
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// A text value: a span of the chunk, or bytes of its own (unescaped quotes).
enum TextValue {
    Span(usize, usize),
    Owned(Vec<u8>),
}

/// The rest of a line after a NUL run: where it starts, its line, and its byte offset.
type Piece = (usize, LineEnd, u64);

/// Where a line ends and what the caller's pass knew of it.
#[derive(Clone, Copy)]
struct LineEnd {
    /// End of the line (its `\n` excluded).
    le: usize,
    /// Whether a `\n` ended it.
    terminated: bool,
    /// Whether it is in the final piece of the input.
    last: bool,
    /// Where its field starts begin in the decoder's `starts`.
    base: usize,
}

fn parse_int(v: &[u8]) -> Option<i64> {
    let (neg, digits) = match v.first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut n: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(d as i64)?;
    }
    Some(if neg { -n } else { n })
}

fn trim_line_end(mut b: &[u8]) -> &[u8] {
    while let Some((&c, rest)) = b.split_last() {
        if c == b'\n' || c == b'\r' {
            b = rest;
        } else {
            break;
        }
    }
    b
}

fn cut_text(b: &[u8]) -> String {
    let end = b.len().min(MAX_REJECT_TEXT);
    String::from_utf8_lossy(&b[..end]).into_owned()
}

impl W3cDecoder {
    /// A decoder for the file named `file` (the text of `log_filename`).
    pub fn new(cfg: Arc<DecoderConfig>, file: impl Into<Arc<str>>) -> Self {
        let file: Arc<str> = file.into();
        let sep = cfg.dialect.separator.unwrap_or(b' ');
        let default = Arc::new(Layout::new(
            cfg.default_fields.clone(),
            &cfg.columns,
            cfg.kinds.len(),
            sep,
        ));
        let mut alternates: Vec<Arc<Layout>> = cfg
            .alternates
            .iter()
            .map(|names| {
                Arc::new(Layout::new(
                    names.clone(),
                    &cfg.columns,
                    cfg.kinds.len(),
                    sep,
                ))
            })
            .collect();
        if !alternates.is_empty() {
            alternates.insert(0, Arc::clone(&default));
        }
        Self {
            file_block: Buffer::from_vec(file.as_bytes().to_vec()),
            file,
            layout: default,
            layouts: HashMap::new(),
            alternates,
            fields_seen: false,
            scratch: Vec::new(),
            current_date: None,
            line_no: 0,
            offset: 0,
            started: false,
            seg_buf: None,
            starts: Vec::new(),
            rows_line: Vec::new(),
            rows_offset: Vec::new(),
            stats: ScanStats::default(),
            rejects: Vec::new(),
            batches: VecDeque::new(),
            last_directive_was_fields: false,
            chunk_has_nul: false,
            // A batch at least half full goes on as it is.
            coalescer: (!cfg.filters.is_empty() && !cfg.projection.is_empty()).then(|| {
                BatchCoalescer::new(Arc::clone(&cfg.projected), cfg.batch_size)
                    .with_biggest_coalesce_batch_size(Some(cfg.batch_size / 2))
            }),
            cfg,
        }
    }

    /// A decoder that starts in the middle of a file, at the first line of a byte range, with
    /// the state in force there (see [`crate::range`]).
    pub fn resume(cfg: Arc<DecoderConfig>, file: impl Into<Arc<str>>, at: &RangeStart) -> Self {
        let mut d = Self::new(cfg, file);
        if let Some(names) = &at.fields {
            let sep = d.cfg.dialect.separator.unwrap_or(b' ');
            d.directive_fields(names.clone(), sep);
        }
        d.current_date = at.date.flatten();
        d.line_no = at.lines;
        d.offset = at.offset;
        d.started = at.offset > 0;
        d
    }

    /// Decodes what a [`LineChunker`](crate::LineChunker) handed on; `last` for the final piece
    /// of the input.
    pub fn decode_chunk(&mut self, chunk: &Chunk, last: bool) -> Result<()> {
        match chunk {
            Chunk::Lines(buf) => self.decode(buf, last),
            Chunk::LongLine {
                bytes,
                head,
                terminated,
            } => self.long_line(*bytes, head, *terminated),
        }
    }

    /// Accounts for a line longer than the chunker's limit: counted and rejected, not read.
    pub fn long_line(&mut self, bytes: u64, head: &[u8], terminated: bool) -> Result<()> {
        self.flush()?;
        self.started = true;
        self.line_no += 1;
        self.stats.lines += 1;
        self.stats.rejected += 1;
        self.stats.bytes += bytes + terminated as u64;
        self.rejects.push(Reject {
            file: self.file.clone(),
            line: self.line_no,
            byte_offset: self.offset,
            reason: RejectReason::LineTooLong { bytes },
            text: cut_text(head),
        });
        self.offset += bytes + terminated as u64;
        Ok(())
    }

    /// Decodes a chunk of whole lines. Only the final chunk of a file (`last = true`) may end
    /// without a newline.
    pub fn decode(&mut self, chunk: &Buffer, last: bool) -> Result<()> {
        if chunk.len() >= u32::MAX as usize {
            return Err(Error::ChunkTooLarge {
                file: self.file.to_string(),
                offset: self.offset,
            });
        }
        let data = chunk.as_slice();
        self.stats.bytes += data.len() as u64;
        if simdutf8::basic::from_utf8(data).is_ok() {
            return self.decode_valid(chunk, 0, data.len(), last, data.len());
        }
        // Slow path: lines with invalid UTF-8 are replaced lossily one by one; the valid runs
        // between them are still decoded in place.
        let mut run_start = 0;
        let mut pos = 0;
        while pos < data.len() {
            let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i + 1);
            if simdutf8::basic::from_utf8(&data[pos..end]).is_err() {
                if run_start < pos {
                    self.decode_valid(chunk, run_start, pos, false, pos - run_start)?;
                }
                let fixed = String::from_utf8_lossy(&data[pos..end]).into_owned();
                let fixed = Buffer::from_vec(fixed.into_bytes());
                self.stats.lossy_lines += 1;
                self.rejects.push(Reject {
                    file: self.file.clone(),
                    line: self.line_no + 1,
                    byte_offset: self.offset,
                    reason: RejectReason::InvalidUtf8,
                    text: cut_text(trim_line_end(fixed.as_slice())),
                });
                self.decode_valid(&fixed, 0, fixed.len(), last && end == data.len(), end - pos)?;
                run_start = end;
            }
            pos = end;
        }
        if run_start < data.len() {
            self.decode_valid(chunk, run_start, data.len(), last, data.len() - run_start)?;
        }
        Ok(())
    }

    /// Decodes `buf[start..end]` (valid UTF-8, whole lines); advances the file offset by
    /// `input_len` (the bytes this range stood for in the input).
    fn decode_valid(
        &mut self,
        buf: &Buffer,
        start: usize,
        end: usize,
        last: bool,
        input_len: usize,
    ) -> Result<()> {
        if buf.len() >= u32::MAX as usize {
            return Err(Error::ChunkTooLarge {
                file: self.file.to_string(),
                offset: self.offset,
            });
        }
        let data = buf.as_slice();
        let mut pos = start;
        let base_offset = self.offset;
        if !self.started && end > start {
            self.started = true;
            if data[pos..end].starts_with(b"\xEF\xBB\xBF") {
                pos += 3;
            }
        }
        self.seg_buf = Some(buf.clone());
        self.chunk_has_nul = memchr::memchr(0, &data[pos..end]).is_some();
        if self.cfg.projection.is_empty() && self.cfg.filters.is_empty() {
            self.count_lines(data, pos, start, end, last, base_offset)?;
            self.flush()?;
            self.seg_buf = None;
            self.offset = base_offset + input_len as u64;
            return Ok(());
        }
        if !self.cfg.plain() {
            self.split_lines(data, pos, start, end, last, base_offset)?;
            self.flush()?;
            self.seg_buf = None;
            self.offset = base_offset + input_len as u64;
            return Ok(());
        }
        // One pass over the chunk finds every space and newline. Field starts of the current
        // line are pushed as they are found (up to the layout's field count); the line is judged
        // at its newline and the pushed starts kept or dropped.
        let mut line_start = pos;
        let mut base = self.starts.len();
        let mut found = 1usize;
        let mut n = self.layout.len();
        self.starts.push(line_start as u32);
        for i in Separators::new(&data[pos..end], b' ', b'\n') {
            let p = pos + i;
            if data[p] == b' ' {
                if found < n {
                    self.starts.push((p + 1) as u32);
                }
                found += 1;
            } else {
                let offset = base_offset + (line_start - start) as u64;
                self.end_line(data, line_start, p, true, last, base, found, offset)?;
                line_start = p + 1;
                found = 1;
                n = self.layout.len();
                base = self.starts.len();
                self.starts.push(line_start as u32);
            }
        }
        if line_start < end {
            let offset = base_offset + (line_start - start) as u64;
            self.end_line(data, line_start, end, false, last, base, found, offset)?;
        } else {
            self.starts.truncate(base);
        }
        self.flush()?;
        self.seg_buf = None;
        self.offset = base_offset + input_len as u64;
        Ok(())
    }

    /// `decode_valid` for dialects other than plain spaces: each line is cut by
    /// [`split_line`].
    fn split_lines(
        &mut self,
        data: &[u8],
        pos: usize,
        start: usize,
        end: usize,
        last: bool,
        base_offset: u64,
    ) -> Result<()> {
        let mut line_start = pos;
        loop {
            let (le, terminated) = match memchr::memchr(b'\n', &data[line_start..end]) {
                Some(i) => (line_start + i, true),
                None if line_start < end => (end, false),
                None => break,
            };
            let mut e = le;
            if e > line_start && data[e - 1] == b'\r' {
                e -= 1;
            }
            let offset = base_offset + (line_start - start) as u64;
            let base = self.starts.len();
            let found = split_line(
                data,
                line_start,
                e,
                self.layout.sep,
                &self.cfg.dialect,
                self.layout.len(),
                &mut self.starts,
            );
            self.end_line(data, line_start, le, terminated, last, base, found, offset)?;
            if !terminated {
                break;
            }
            line_start = le + 1;
        }
        Ok(())
    }

    /// `decode_valid` for a query that reads no column (`count(*)`): only each line's field
    /// count matters, so spaces are counted (SIMD), not located.
    fn count_lines(
        &mut self,
        data: &[u8],
        pos: usize,
        start: usize,
        end: usize,
        last: bool,
        base_offset: u64,
    ) -> Result<()> {
        let mut line_start = pos;
        for i in memchr::memchr_iter(b'\n', &data[pos..end]) {
            let p = pos + i;
            let offset = base_offset + (line_start - start) as u64;
            let (base, found) = (self.starts.len(), self.count_fields(&data[line_start..p]));
            self.end_line(data, line_start, p, true, last, base, found, offset)?;
            line_start = p + 1;
        }
        if line_start < end {
            let offset = base_offset + (line_start - start) as u64;
            let (base, found) = (self.starts.len(), self.count_fields(&data[line_start..end]));
            self.end_line(data, line_start, end, false, last, base, found, offset)?;
        }
        Ok(())
    }

    /// The number of fields on `line` under the layout in force: spaces counted (SIMD) for the
    /// plain dialect, else the line cut by [`split_line`].
    fn count_fields(&mut self, line: &[u8]) -> usize {
        if self.cfg.plain() {
            return bytecount::count(line, b' ') + 1;
        }
        self.scratch.clear();
        let e = line.len() - (line.last() == Some(&b'\r')) as usize;
        split_line(
            line,
            0,
            e,
            self.layout.sep,
            &self.cfg.dialect,
            0,
            &mut self.scratch,
        )
    }

    /// Judges the line `data[ls..le]` (without its `\n`): a row, a directive, a blank or NUL line,
    /// or a reject. `self.starts[base..]` holds the field starts found for it by the caller's
    /// pass, `found` the number of fields counted.
    #[allow(clippy::too_many_arguments)]
    fn end_line(
        &mut self,
        data: &[u8],
        ls: usize,
        le: usize,
        terminated: bool,
        last: bool,
        base: usize,
        found: usize,
        line_offset: u64,
    ) -> Result<()> {
        self.line_no += 1;
        let line = LineEnd {
            le,
            terminated,
            last,
            base,
        };
        self.judge(data, ls, &line, Some(found), line_offset)
    }

    /// Judges the piece of a line from `ls` to its end, then each piece that NUL runs split off
    /// after it, in turn (a loop, not a recursion: a line may hold any number of NUL runs).
    /// `found` is the caller's field count for the first piece, `None` to count again.
    fn judge(
        &mut self,
        data: &[u8],
        ls: usize,
        line: &LineEnd,
        found: Option<usize>,
        line_offset: u64,
    ) -> Result<()> {
        let mut next = self.judge_piece(data, ls, line, found, line_offset)?;
        while let Some((ls, line, offset)) = next {
            next = self.judge_piece(data, ls, &line, None, offset)?;
        }
        Ok(())
    }

    /// Judges the piece of a line from `ls` to its end. A run of NUL bytes after text ends a
    /// piece: IIS pads a file with NULs when it stops mid-line and writes on after the padding,
    /// so the text before the run is a cut line (rejected) and what follows is judged on its
    /// own (a directive, usually): returned for the caller to judge next. `found` is the caller's
    /// field count, `None` to count again.
    fn judge_piece(
        &mut self,
        data: &[u8],
        ls: usize,
        line: &LineEnd,
        found: Option<usize>,
        line_offset: u64,
    ) -> Result<Option<Piece>> {
        let (le, base) = (line.le, line.base);
        self.stats.lines += 1;
        let mut e = le;
        let tab_sep = self.layout.sep == b'\t';
        while e > ls && (matches!(data[e - 1], b'\r' | b' ') || (data[e - 1] == b'\t' && !tab_sep))
        {
            e -= 1;
        }
        let nuls = data[ls..e].iter().take_while(|&&c| c == 0).count();
        let s = ls + nuls;
        if s == e
            || data[s..e]
                .iter()
                .all(|&c| c == 0 || c.is_ascii_whitespace())
        {
            self.starts.truncate(base);
            if nuls > 0 || data[s..e].contains(&0) {
                self.stats.nul_lines += 1;
            } else {
                self.stats.blank_lines += 1;
            }
            return Ok(None);
        }
        if self.chunk_has_nul
            && let Some(z) = memchr::memchr(0, &data[s..e])
        {
            let z = s + z;
            let mut cut = z;
            while cut > s && matches!(data[cut - 1], b'\r' | b' ' | b'\t') {
                cut -= 1;
            }
            self.starts.truncate(base);
            if data[s] == b'#' {
                self.flush()?;
                self.stats.directives += 1;
                self.directive_line(&data[s..cut], line_offset);
            } else {
                self.stats.rejected += 1;
                self.rejects.push(Reject {
                    file: self.file.clone(),
                    line: self.line_no,
                    byte_offset: line_offset + (s - ls) as u64,
                    reason: RejectReason::CutByNul,
                    text: cut_text(&data[s..cut]),
                });
            }
            // A directive flushed the pending rows: field starts begin anew.
            let rest = LineEnd {
                base: self.starts.len(),
                ..*line
            };
            return Ok(Some((z, rest, line_offset + (z - ls) as u64)));
        }
        if data[s] == b'#' {
            self.starts.truncate(base);
            self.flush()?;
            self.stats.directives += 1;
            self.directive_line(&data[s..e], line_offset);
            return Ok(None);
        }
        let mut n = self.layout.len();
        let mut base = base;
        let trailing_blanks = data[e..le].iter().any(|&c| c == b' ' || c == b'\t');
        let mut found = match found {
            Some(f) if nuls == 0 && !trailing_blanks => f,
            // Rare: count again over the trimmed line.
            _ => self.recount(data, s, e, base, n),
        };
        if found != n
            && !self.fields_seen
            && let Some(alt) = self.alternates.iter().find(|l| l.len() == found).cloned()
        {
            // Formats with several layouts (NCSA common or combined): the line's field count
            // chooses; rows of the layout before are built first.
            self.starts.truncate(base);
            self.flush()?;
            self.layout = alt;
            n = found;
            base = self.starts.len();
            found = self.recount(data, s, e, base, n);
        }
        if found > n
            && !self.fields_seen
            && let Some(g) = self.cfg.greedy
        {
            // IIS native: separators past the layout's belong to the parameters (a query
            // string with commas). The widest layout is taken, and the field spans them.
            if let Some(widest) = self.alternates.iter().max_by_key(|l| l.len()).cloned()
                && widest.len() > n
            {
                self.starts.truncate(base);
                self.flush()?;
                self.layout = widest;
                n = self.layout.len();
                base = self.starts.len();
            }
            if g < n {
                self.recount(data, s, e, base, found);
                let extra = found - n;
                self.starts.drain(base + g + 1..base + g + 1 + extra);
                found = n;
            }
        }
        if found == n {
            self.starts.push((e + 1) as u32);
            self.rows_line.push(self.line_no);
            self.rows_offset.push(line_offset);
            self.stats.rows += 1;
            if self.rows_line.len() >= self.cfg.batch_size {
                self.flush()?;
            }
        } else {
            self.starts.truncate(base);
            let reason = if line.last && !line.terminated && found < n {
                RejectReason::IncompleteLastLine { expected: n, found }
            } else {
                RejectReason::FieldCount { expected: n, found }
            };
            self.stats.rejected += 1;
            self.rejects.push(Reject {
                file: self.file.clone(),
                line: self.line_no,
                byte_offset: line_offset,
                reason,
                text: cut_text(&data[s..e]),
            });
        }
        Ok(None)
    }

    /// Finds the field starts of `data[s..e]` again (into `self.starts[base..]`, at most `n`);
    /// returns the field count.
    fn recount(&mut self, data: &[u8], s: usize, e: usize, base: usize, n: usize) -> usize {
        self.starts.truncate(base);
        if !self.cfg.plain() {
            let (sep, dialect) = (self.layout.sep, self.cfg.dialect);
            return split_line(data, s, e, sep, &dialect, n, &mut self.starts);
        }
        self.starts.push(s as u32);
        let mut f = 1;
        for sp in memchr::memchr_iter(b' ', &data[s..e]) {
            if f < n {
                self.starts.push((s + sp + 1) as u32);
            }
            f += 1;
        }
        f
    }

    /// Applies the directive `text` (a `#...` line) and reports a `#Fields` that names a field
    /// twice.
    fn directive_line(&mut self, text: &[u8], line_offset: u64) {
        self.directive(text);
        for field in self.layout_duplicates_once() {
            self.rejects.push(Reject {
                file: self.file.clone(),
                line: self.line_no,
                byte_offset: line_offset,
                reason: RejectReason::DuplicateField { field },
                text: cut_text(text),
            });
        }
    }

    /// The duplicate fields of a `#Fields` line just read (reported at each such line).
    fn layout_duplicates_once(&mut self) -> Vec<String> {
        if self.last_directive_was_fields {
            self.last_directive_was_fields = false;
            self.layout.duplicates.clone()
        } else {
            Vec::new()
        }
    }

    fn directive_fields(&mut self, names: Vec<String>, sep: u8) {
        self.fields_seen = true;
        let key = (names, sep);
        if let Some(l) = self.layouts.get(&key) {
            self.layout = l.clone();
        } else {
            let l = Arc::new(Layout::new(
                key.0.clone(),
                &self.cfg.columns,
                self.cfg.kinds.len(),
                sep,
            ));
            self.layouts.insert(key, l.clone());
            self.layout = l;
        }
    }

    /// The separator of data lines under the `#Fields` line `line`: the format's, or (generic
    /// W3C) a comma or tab if the field list is written with one, else a space.
    fn separator_of(&self, line: &[u8]) -> u8 {
        if let Some(sep) = self.cfg.dialect.separator {
            return sep;
        }
        fields_separator(line)
    }

    fn directive(&mut self, line: &[u8]) {
        match parse_directive(line) {
            Directive::Fields(names) => {
                let sep = self.separator_of(line);
                self.directive_fields(names, sep);
                self.last_directive_was_fields = true;
            }
            // An unreadable #Date leaves time-only lines without a date (NULL), not the old one.
            Directive::Date(d) => self.current_date = d.map(|(days, _)| days),
            _ => {}
        }
    }

    /// Builds the pending rows into a batch.
    fn flush(&mut self) -> Result<()> {
        let rows = self.rows_line.len();
        if rows == 0 {
            return Ok(());
        }
        let Some(buf) = self.seg_buf.clone() else {
            return Ok(());
        };
        let mut starts = std::mem::take(&mut self.starts);
        let result = self.build_batch(&buf, &mut starts, rows);
        starts.clear();
        self.starts = starts;
        self.rows_line.clear();
        self.rows_offset.clear();
        result
    }

    /// Builds the `rows` pending rows (field starts in `starts`) into a batch: with filters,
    /// the columns of each in turn for the rows the ones before kept, then the other projected
    /// columns of the rows all of them keep.
    fn build_batch(&mut self, buf: &Buffer, starts: &mut Vec<u32>, rows: usize) -> Result<()> {
        let cfg = Arc::clone(&self.cfg);
        let stride = self.layout.len() + 1;
        let reads = |c: &usize, kinds: &[ColumnKind]| kinds.contains(&cfg.kinds[*c]);
        let time_kinds = [
            ColumnKind::Timestamp,
            ColumnKind::Date,
            ColumnKind::LocalTimestamp,
        ];
        // The UTC time is parsed when a column built in any pass needs it.
        let need_utc = cfg
            .projection
            .iter()
            .chain(cfg.filters.iter().flat_map(|(f, _)| f.columns()))
            .any(|c| reads(c, &[ColumnKind::Timestamp]));
        let mut rows = rows;
        let mut times: Option<RowTimes> = None;
        let mut built: Vec<(usize, ArrayRef)> = Vec::new();
        for (filter, filter_schema) in &cfg.filters {
            let seg = Segment::new(&cfg, buf.as_slice(), starts, stride, rows);
            let filter_columns = filter.columns();
            if times.is_none() && filter_columns.iter().any(|c| reads(c, &time_kinds)) {
                times = Some(self.row_times(&seg, need_utc));
            }
            let mut columns = Vec::with_capacity(filter_columns.len());
            for &c in filter_columns {
                let column = match built.iter().find(|(b, _)| *b == c) {
                    Some((_, col)) => Arc::clone(col),
                    None => {
                        let col = self.build_column(c, &seg, buf, times.as_ref())?;
                        built.push((c, Arc::clone(&col)));
                        col
                    }
                };
                columns.push(column);
            }
            let opts = RecordBatchOptions::new().with_row_count(Some(rows));
            let batch =
                RecordBatch::try_new_with_options(Arc::clone(filter_schema), columns, &opts)?;
            let mask = filter.evaluate(&batch).map_err(Error::Filter)?;
            if mask.len() != rows {
                return Err(Error::Filter(
                    format!("{} values for {rows} rows", mask.len()).into(),
                ));
            }
            let mask = if mask.null_count() > 0 {
                arrow_select::filter::prep_null_mask_filter(&mask)
            } else {
                mask
            };
            let kept = mask.true_count();
            if kept == 0 {
                return Ok(());
            }
            if kept < rows {
                self.keep_rows(&mask, starts, stride);
                for (_, col) in built.iter_mut() {
                    *col = arrow_select::filter::filter(col, &mask)?;
                }
                times = times.map(|t| t.keep(&mask));
                rows = kept;
            }
        }
        let seg = Segment::new(&cfg, buf.as_slice(), starts, stride, rows);
        if times.is_none() && cfg.projection.iter().any(|c| reads(c, &time_kinds)) {
            times = Some(self.row_times(&seg, need_utc));
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(cfg.projection.len());
        for &c in &cfg.projection {
            match built.iter().find(|(b, _)| *b == c) {
                Some((_, col)) => columns.push(Arc::clone(col)),
                None => columns.push(self.build_column(c, &seg, buf, times.as_ref())?),
            }
        }
        let opts = RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = RecordBatch::try_new_with_options(cfg.projected.clone(), columns, &opts)?;
        match self.coalescer.as_mut() {
            Some(c) => {
                c.push_batch(batch)?;
                while let Some(b) = c.next_completed_batch() {
                    self.batches.push_back(b);
                }
            }
            None => self.batches.push_back(batch),
        }
        Ok(())
    }

    /// Keeps the pending rows `mask` selects: their field starts (`stride` per row), lines and
    /// offsets move to the front, in order.
    fn keep_rows(&mut self, mask: &BooleanArray, starts: &mut Vec<u32>, stride: usize) {
        let mut w = 0;
        for r in mask.values().set_indices() {
            if r != w {
                starts.copy_within(r * stride..(r + 1) * stride, w * stride);
                self.rows_line[w] = self.rows_line[r];
                self.rows_offset[w] = self.rows_offset[r];
            }
            w += 1;
        }
        starts.truncate(w * stride);
        self.rows_line.truncate(w);
        self.rows_offset.truncate(w);
    }

    fn value_reject(&mut self, seg: &Segment<'_>, row: usize, pos: usize) {
        let (s, e) = seg.field(row, pos);
        self.stats.invalid_values += 1;
        self.rejects.push(Reject {
            file: self.file.clone(),
            line: self.rows_line[row],
            byte_offset: self.rows_offset[row],
            reason: RejectReason::InvalidValue {
                field: self.layout.names[pos].clone(),
            },
            text: cut_text(&seg.data[s..e]),
        });
    }

    fn build_column(
        &mut self,
        c: usize,
        seg: &Segment<'_>,
        buf: &Buffer,
        times: Option<&RowTimes>,
    ) -> Result<ArrayRef> {
        let kind = self.cfg.kinds[c];
        let rows = seg.rows;
        let pos = self.layout.column_pos[c];
        let part = self.layout.parts[c];
        let dt = self.cfg.schema.field(c).data_type().clone();
        Ok(match kind {
            ColumnKind::LogRow => Arc::new(Int64Array::from_iter_values(
                self.rows_line.iter().map(|&l| l as i64),
            )),
            ColumnKind::LogFilename(false) => {
                let mut v = SpanViews::with_capacity(self.file_block.clone(), rows);
                // SAFETY: `file_block` holds the bytes of a `str`; the span covers all of it.
                unsafe { v.push_n(0, self.file_block.len(), rows) };
                Arc::new(v.finish())
            }
            ColumnKind::LogFilename(true) => {
                let mut b = StringBuilder::with_capacity(rows, rows * self.file.len());
                for _ in 0..rows {
                    b.append_value(&*self.file);
                }
                Arc::new(b.finish())
            }
            ColumnKind::Timestamp => {
                let utc = times.map_or_else(|| vec![None; rows], |t| t.utc.clone());
                let arr = TimestampMillisecondArray::from(utc);
                Arc::new(match &dt {
                    arrow_schema::DataType::Timestamp(_, tz) => arr.with_timezone_opt(tz.clone()),
                    _ => arr,
                })
            }
            ColumnKind::LocalTimestamp => {
                let local = times.map_or_else(|| vec![None; rows], |t| t.local.clone());
                Arc::new(TimestampMillisecondArray::from(local))
            }
            ColumnKind::Date => {
                let days = times.map_or_else(|| vec![None; rows], |t| t.days.clone());
                Arc::new(Date32Array::from(days))
            }
            ColumnKind::DateTime => match pos {
                None => new_null_array(&dt, rows),
                Some(p) => {
                    let mut out = Vec::with_capacity(rows);
                    for row in 0..rows {
                        out.push(match seg.value(row, p) {
                            None => None,
                            Some(v) => {
                                let t = parse_datetime(v);
                                if t.is_none() {
                                    self.value_reject(seg, row, p);
                                }
                                t
                            }
                        });
                    }
                    let arr = TimestampMillisecondArray::from(out);
                    Arc::new(match &dt {
                        arrow_schema::DataType::Timestamp(_, tz) => {
                            arr.with_timezone_opt(tz.clone())
                        }
                        _ => arr,
                    })
                }
            },
            ColumnKind::TextView => match pos {
                None => new_null_array(&dt, rows),
                Some(p) if seg.plain && part.is_none() => {
                    let mut views = SpanViews::with_capacity(buf.clone(), rows);
                    for row in 0..rows {
                        let (s, e) = seg.field(row, p);
                        let v = &seg.data[s..e];
                        if v.is_empty() || v == b"-" {
                            views.push_null();
                        } else {
                            // SAFETY: `s..e` lies inside `buf` (tokenisation only records
                            // offsets of `buf`, which `decode_valid` keeps below `u32::MAX`);
                            // `buf` is valid UTF-8 (validated by `decode`, or built from a
                            // `String`) and `s` and `e` sit next to ASCII bytes (line start,
                            // space, line end), so the slice is valid UTF-8 too.
                            unsafe { views.push(s, e) };
                        }
                    }
                    Arc::new(views.finish())
                }
                Some(p) => {
                    let mut b = StringViewBuilder::with_capacity(rows);
                    let block = b.append_block(buf.clone());
                    for row in 0..rows {
                        match seg.text(row, p, part) {
                            None => b.append_null(),
                            // SAFETY: as above; the span's ends were moved only past ASCII
                            // bytes (blanks, quotes, brackets, spaces of a request line).
                            Some(TextValue::Span(s, e)) => unsafe {
                                b.append_view_unchecked(block, s as u32, (e - s) as u32)
                            },
                            Some(TextValue::Owned(v)) => {
                                b.append_value(String::from_utf8_lossy(&v))
                            }
                        }
                    }
                    Arc::new(b.finish())
                }
            },
            ColumnKind::Text => match pos {
                None => new_null_array(&dt, rows),
                Some(p) => {
                    let mut b = StringBuilder::with_capacity(rows, rows * 16);
                    for row in 0..rows {
                        match seg.text(row, p, part) {
                            // Chunks are validated as UTF-8 and split at ASCII bytes.
                            Some(TextValue::Span(s, e)) => {
                                b.append_value(String::from_utf8_lossy(&seg.data[s..e]))
                            }
                            Some(TextValue::Owned(v)) => {
                                b.append_value(String::from_utf8_lossy(&v))
                            }
                            None => b.append_null(),
                        }
                    }
                    Arc::new(b.finish())
                }
            },
            ColumnKind::Int32 => match pos {
                None => new_null_array(&dt, rows),
                Some(p) => {
                    let mut b = Int32Builder::with_capacity(rows);
                    for row in 0..rows {
                        match seg.value(row, p) {
                            None => b.append_null(),
                            Some(v) => match parse_int(v).and_then(|n| i32::try_from(n).ok()) {
                                Some(n) => b.append_value(n),
                                None => {
                                    self.value_reject(seg, row, p);
                                    b.append_null();
                                }
                            },
                        }
                    }
                    Arc::new(b.finish())
                }
            },
            ColumnKind::Int64 => match pos {
                None => new_null_array(&dt, rows),
                Some(p) => {
                    let mut b = Int64Builder::with_capacity(rows);
                    for row in 0..rows {
                        match seg.value(row, p) {
                            None => b.append_null(),
                            Some(v) => match parse_int(v) {
                                Some(n) => b.append_value(n),
                                None => {
                                    self.value_reject(seg, row, p);
                                    b.append_null();
                                }
                            },
                        }
                    }
                    Arc::new(b.finish())
                }
            },
            ColumnKind::Float64 => match pos {
                None => new_null_array(&dt, rows),
                Some(p) => {
                    let mut b = Float64Builder::with_capacity(rows);
                    for row in 0..rows {
                        match seg.value(row, p) {
                            None => b.append_null(),
                            Some(v) => match std::str::from_utf8(v)
                                .ok()
                                .and_then(|s| s.parse::<f64>().ok())
                            {
                                Some(n) => b.append_value(n),
                                None => {
                                    self.value_reject(seg, row, p);
                                    b.append_null();
                                }
                            },
                        }
                    }
                    Arc::new(b.finish())
                }
            },
        })
    }

    /// Each row's UTC time, UTC date and local time, from whichever fields the layout has:
    /// one date-time field; `date` (or the last `#Date`) and `time`; or local date and time,
    /// turned into UTC with the configured time zone. Unreadable values are reported once.
    /// With `need_utc` false only the dates are needed (`time` is then not read).
    fn row_times(&mut self, seg: &Segment<'_>, need_utc: bool) -> RowTimes {
        let rows = seg.rows;
        let layout = Arc::clone(&self.layout);
        let has_local = layout.local_date_pos.is_some() || layout.local_time_pos.is_some();
        let mut local = vec![None; rows];
        if has_local {
            for (row, slot) in local.iter_mut().enumerate() {
                let day = match layout.local_date_pos {
                    None => self.current_date,
                    Some(p) => seg.value(row, p).and_then(|v| {
                        let d = parse_date(v).or_else(|| parse_us_date(v));
                        if d.is_none() {
                            self.value_reject(seg, row, p);
                        }
                        d
                    }),
                };
                let ms = match layout.local_time_pos {
                    None => Some(0),
                    Some(p) => seg.value(row, p).and_then(|v| {
                        let t = parse_time_lenient(v);
                        if t.is_none() {
                            self.value_reject(seg, row, p);
                        }
                        t
                    }),
                };
                *slot = match (day, ms) {
                    (Some(d), Some(ms)) => Some(d as i64 * MS_PER_DAY + ms),
                    _ => None,
                };
            }
        }
        let (utc, days) = if let Some(p) = layout.datetime_pos {
            let utc: Vec<Option<i64>> = (0..rows)
                .map(|row| {
                    seg.value(row, p).and_then(|v| {
                        let t = parse_datetime(v);
                        if t.is_none() {
                            self.value_reject(seg, row, p);
                        }
                        t
                    })
                })
                .collect();
            let days = utc.iter().map(|t| t.map(day_of)).collect();
            (utc, days)
        } else if has_local && !layout.has_utc_time() {
            let tz = self.cfg.time_zone;
            let utc: Vec<Option<i64>> = local
                .iter()
                .map(|t| t.and_then(|t| tz.and_then(|tz| local_to_utc(tz, t))))
                .collect();
            let days = utc.iter().map(|t| t.map(day_of)).collect();
            (utc, days)
        } else {
            let days = self.dates(seg, true);
            let mut utc = vec![None; rows];
            if need_utc {
                let time_pos = layout.time_pos;
                for (row, day) in days.iter().enumerate() {
                    let ms = match time_pos {
                        Some(p) => match seg.value(row, p) {
                            None => None,
                            Some(v) => match parse_time(v) {
                                Some(ms) => Some(ms),
                                None => {
                                    self.value_reject(seg, row, p);
                                    None
                                }
                            },
                        },
                        None => Some(0),
                    };
                    utc[row] = match (day, ms) {
                        (Some(d), Some(ms)) => Some(*d as i64 * MS_PER_DAY + ms),
                        _ => None,
                    };
                }
            }
            (utc, days)
        };
        RowTimes { utc, days, local }
    }

    /// Each row's date in days: from the `date` field, else from the last `#Date` directive.
    fn dates(&mut self, seg: &Segment<'_>, report: bool) -> Vec<Option<i32>> {
        match self.layout.date_pos {
            None => vec![self.current_date; seg.rows],
            Some(p) => {
                // Rows of a chunk nearly all carry the same date: the last one parsed is kept.
                let mut last: Option<([u8; 10], Option<i32>)> = None;
                (0..seg.rows)
                    .map(|row| match seg.value(row, p) {
                        None => None,
                        Some(v) => {
                            let key = <[u8; 10]>::try_from(v).ok();
                            let d = match (key, &last) {
                                (Some(k), Some((seen, d))) if k == *seen => *d,
                                _ => {
                                    let d = parse_date(v);
                                    last = key.map(|k| (k, d));
                                    d
                                }
                            };
                            if d.is_none() && report {
                                self.value_reject(seg, row, p);
                            }
                            d
                        }
                    })
                    .collect()
            }
        }
    }

    /// Builds any rows still pending. Call after the last chunk.
    pub fn finish(&mut self) -> Result<()> {
        self.flush()?;
        if let Some(c) = self.coalescer.as_mut() {
            c.finish_buffered_batch()?;
            while let Some(b) = c.next_completed_batch() {
                self.batches.push_back(b);
            }
        }
        Ok(())
    }

    /// The next finished batch, if any.
    pub fn next_batch(&mut self) -> Option<RecordBatch> {
        self.batches.pop_front()
    }

    /// Takes the reports gathered so far.
    pub fn take_rejects(&mut self) -> Vec<Reject> {
        std::mem::take(&mut self.rejects)
    }

    /// The counts so far.
    pub fn stats(&self) -> &ScanStats {
        &self.stats
    }

    /// The file name rows are labelled with.
    pub fn file(&self) -> &Arc<str> {
        &self.file
    }

    /// The schema of the batches produced.
    pub fn projected_schema(&self) -> &Arc<Schema> {
        &self.cfg.projected
    }
}

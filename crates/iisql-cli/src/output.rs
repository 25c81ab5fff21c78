//! Writing results: to standard output in a chosen format, or to a file whose extension picks
//! the writer. Everything but the text table and charts streams batch by batch.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::common::config::ConfigOptions;
use datafusion::common::file_options::parquet_writer::ParquetWriterOptions;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use iisql::chart::{ChartOptions, ImageFormat};
use parquet::arrow::ArrowWriter;

use crate::args::Format;

/// What a file extension asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A text format.
    Text(Format),
    /// Apache Parquet, zstd-compressed.
    Parquet,
    /// A chart, SVG or PNG.
    Chart(ImageFormat),
}

/// The writer for a file name, from its extension.
pub fn kind_for_path(path: &Path) -> Result<FileKind> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    Ok(match ext.as_str() {
        "csv" => FileKind::Text(Format::Csv),
        "tsv" | "tab" => FileKind::Text(Format::Tsv),
        "json" => FileKind::Text(Format::Json),
        "ndjson" | "jsonl" => FileKind::Text(Format::Ndjson),
        "txt" => FileKind::Text(Format::Table),
        "parquet" => FileKind::Parquet,
        "svg" => FileKind::Chart(ImageFormat::Svg),
        "png" => FileKind::Chart(ImageFormat::Png),
        "gif" => FileKind::Chart(ImageFormat::Gif),
        "jpg" | "jpeg" => FileKind::Chart(ImageFormat::Jpeg),
        _ => {
            return Err(DataFusionError::Plan(format!(
                "{}: unknown output extension (use .csv, .tsv, .json, .ndjson, .parquet, .txt, \
                 or .svg, .png, .gif and .jpg for a chart)",
                path.display()
            )));
        }
    })
}

/// A streaming writer of one format.
enum TextWriter<W: Write> {
    Csv(Box<datafusion::arrow::csv::Writer<W>>),
    Json(datafusion::arrow::json::Writer<W, datafusion::arrow::json::writer::JsonArray>),
    Ndjson(datafusion::arrow::json::Writer<W, datafusion::arrow::json::writer::LineDelimited>),
}

impl<W: Write> TextWriter<W> {
    fn new(format: Format, w: W) -> Self {
        match format {
            // Tables and charts are written from all the rows, not by this writer.
            Format::Csv | Format::Table | Format::Chart => Self::Csv(Box::new(
                datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(w),
            )),
            Format::Tsv => Self::Csv(Box::new(
                datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .with_delimiter(b'\t')
                    .build(w),
            )),
            Format::Json => Self::Json(
                datafusion::arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build(w),
            ),
            Format::Ndjson => Self::Ndjson(
                datafusion::arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build(w),
            ),
        }
    }

    fn write(&mut self, b: &RecordBatch) -> Result<()> {
        match self {
            Self::Csv(w) => w.write(b)?,
            Self::Json(w) => w.write(b)?,
            Self::Ndjson(w) => w.write(b)?,
        }
        Ok(())
    }

    fn finish(self, rows: usize) -> Result<W> {
        Ok(match self {
            Self::Csv(w) => w.into_inner(),
            Self::Json(mut w) => {
                w.finish()?;
                let mut inner = w.into_inner();
                if rows == 0 {
                    inner.write_all(b"[]")?;
                }
                inner.write_all(b"\n")?;
                inner
            }
            Self::Ndjson(mut w) => {
                w.finish()?;
                w.into_inner()
            }
        })
    }
}

/// Writes a text table of `batches` (all collected: column widths need every row).
fn write_table<W: Write>(mut w: W, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<()> {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let table = if rows == 0 {
        pretty_format_batches(&[RecordBatch::new_empty(Arc::clone(schema))])?
    } else {
        pretty_format_batches(batches)?
    };
    writeln!(w, "{}", visible(&table.to_string()))?;
    writeln!(w, "({rows} row{})", if rows == 1 { "" } else { "s" })?;
    Ok(())
}

/// `text` with no control character a terminal would act on: C0 controls other than newline
/// and tab become their control pictures (ESC is `␛`), DEL `␡`, C1 controls `�`. For text meant
/// for a person (tables, the diagnosis report) and anything printed to a terminal: log fields
/// (user agents, query strings, archive member names) are written by whoever sent the request.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(text.chars().map(picture).collect())
}

fn is_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c)
}

fn picture(c: char) -> char {
    match c {
        '\n' | '\t' => c,
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}'),
        '\u{7f}' => '\u{2421}',
        c if is_control(c) => '\u{FFFD}',
        c => c,
    }
}

/// A writer that passes bytes through [`visible`]'s mapping, for results printed to a terminal
/// in any format. A UTF-8 sequence cut between two writes is held until its end arrives.
pub struct VisibleWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> VisibleWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }
}

impl<W: Write> Write for VisibleWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            // An incomplete sequence at the end waits; invalid bytes go through as they are.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.pending.len(),
        };
        let (text, rest) = self.pending.split_at(valid);
        match std::str::from_utf8(text) {
            Ok(t) => self.inner.write_all(visible(t).as_bytes())?,
            Err(_) => self.inner.write_all(text)?,
        }
        self.pending = rest.to_vec();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let rest = std::mem::take(&mut self.pending);
        self.inner.write_all(&rest)?;
        self.inner.flush()
    }
}

/// Draws the rows of `stream` as a chart; the bytes of the picture and the number of rows.
pub async fn chart_bytes(
    stream: SendableRecordBatchStream,
    chart: &ChartOptions,
    format: ImageFormat,
) -> Result<(Vec<u8>, usize)> {
    let batches: Vec<RecordBatch> = datafusion::physical_plan::common::collect(stream).await?;
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    Ok((iisql::chart::render(&batches, chart, format)?, rows))
}

/// Streams results to `w` in `format` (a chart: SVG drawn with `chart`). Returns the number
/// of rows.
pub async fn write_stream<W: Write>(
    mut stream: SendableRecordBatchStream,
    format: Format,
    chart: &ChartOptions,
    mut w: W,
) -> Result<usize> {
    let schema = stream.schema();
    let mut rows = 0;
    if format == Format::Chart {
        let (svg, rows) = chart_bytes(stream, chart, ImageFormat::Svg).await?;
        w.write_all(&svg)?;
        w.write_all(b"\n")?;
        w.flush()?;
        return Ok(rows);
    }
    if format == Format::Table {
        let mut batches = Vec::new();
        while let Some(b) = stream.next().await {
            let b = b?;
            rows += b.num_rows();
            batches.push(b);
        }
        write_table(&mut w, &schema, &batches)?;
        w.flush()?;
        return Ok(rows);
    }
    let mut writer = TextWriter::new(format, &mut w);
    while let Some(b) = stream.next().await {
        let b = b?;
        rows += b.num_rows();
        writer.write(&b)?;
    }
    if rows == 0 && matches!(format, Format::Csv | Format::Tsv) {
        // The CSV writer writes its header with the first batch; give it an empty one.
        writer.write(&RecordBatch::new_empty(Arc::clone(&schema)))?;
    }
    writer.finish(rows)?;
    w.flush()?;
    Ok(rows)
}

/// Streams results into the file at `path`, the writer chosen by its extension (a chart is
/// drawn with `chart`, Parquet written with the session's `config`).
pub async fn write_file(
    stream: SendableRecordBatchStream,
    path: &Path,
    chart: &ChartOptions,
    config: &ConfigOptions,
) -> Result<usize> {
    let kind = kind_for_path(path)?;
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        // A device or a pipe (`-o /dev/stdout`) is written as it is: nothing to replace.
        let file = File::create(path).map_err(|e| {
            DataFusionError::Execution(format!("cannot create {}: {e}", path.display()))
        })?;
        return write_to(stream, kind, file, chart, config).await;
    }
    let staged = Staged::beside(path)?;
    let rows = write_to(stream, kind, staged.file()?, chart, config).await?;
    staged.replace(path)?;
    Ok(rows)
}

/// Writes `stream` into `file` as `kind` says.
async fn write_to(
    stream: SendableRecordBatchStream,
    kind: FileKind,
    file: File,
    chart: &ChartOptions,
    config: &ConfigOptions,
) -> Result<usize> {
    let rows = match kind {
        FileKind::Chart(format) => {
            let (bytes, rows) = chart_bytes(stream, chart, format).await?;
            let mut w = BufWriter::new(file);
            w.write_all(&bytes)?;
            w.flush()?;
            rows
        }
        FileKind::Text(format) => write_stream(stream, format, chart, BufWriter::new(file)).await?,
        FileKind::Parquet => write_parquet_stream(stream, file, config).await?,
    };
    Ok(rows)
}

/// A file written beside its destination and renamed over it once complete: until then an
/// earlier file at the destination stays whole, and a write that fails (a query error, a full
/// disk) removes what it wrote and leaves the earlier file.
struct Staged(tempfile::NamedTempFile);

impl Staged {
    /// A new, empty file in the folder of `path`.
    fn beside(path: &Path) -> Result<Self> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".partial");
        // As `File::create` makes it: read-write for everyone the umask lets.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        builder.tempfile_in(dir).map(Self).map_err(|e| {
            DataFusionError::Execution(format!("cannot create {}: {e}", path.display()))
        })
    }

    /// A handle to write it through.
    fn file(&self) -> Result<File> {
        self.0.as_file().try_clone().map_err(|e| {
            DataFusionError::Execution(format!("cannot write {}: {e}", self.0.path().display()))
        })
    }

    /// Renames it over `path`.
    fn replace(self, path: &Path) -> Result<()> {
        self.0.persist(path).map(|_| ()).map_err(|e| {
            DataFusionError::Execution(format!("cannot write {}: {}", path.display(), e.error))
        })
    }
}

/// Streams batches into one Parquet file (for results that are not a DataFrame), with the
/// settings a DataFrame is written with ([`iisql::parquet_out::parquet_write_options`]).
async fn write_parquet_stream(
    mut stream: SendableRecordBatchStream,
    file: File,
    config: &ConfigOptions,
) -> Result<usize> {
    let mut opts = iisql::parquet_out::parquet_write_options(config, &stream.schema())?;
    // ArrowWriter embeds the Arrow schema itself; DataFusion's options only check that their
    // own sink did.
    opts.global.skip_arrow_metadata = true;
    let props = ParquetWriterOptions::try_from(&opts)?
        .writer_options()
        .clone();
    let mut writer = ArrowWriter::try_new(file, stream.schema(), Some(props))?;
    let mut rows = 0;
    while let Some(b) = stream.next().await {
        let b = b?;
        rows += b.num_rows();
        writer.write(&b)?;
    }
    writer.close()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::{VisibleWriter, visible};

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(
            visible("a\u{1b}[2Jb\r\n\tc\u{7f}\u{9b}é"),
            "a␛[2Jb␍\n\tc␡\u{FFFD}é"
        );
        assert!(matches!(
            visible("plain é\n"),
            std::borrow::Cow::Borrowed(_)
        ));
        // A UTF-8 sequence cut between writes, an escape before the cut.
        let mut w = VisibleWriter::new(Vec::new());
        w.write_all(b"x\x1b[1m\xc3").unwrap();
        w.write_all(b"\xa9\xc2").unwrap();
        w.write_all(b"\x9b!").unwrap();
        w.flush().unwrap();
        assert_eq!(String::from_utf8(w.inner).unwrap(), "x␛[1mé\u{FFFD}!");
    }
}

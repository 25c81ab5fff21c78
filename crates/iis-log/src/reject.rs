//! Lines that could not be read as rows, values that could not be read as their type, and the
//! per-file counts that account for every input line.

use std::fmt;
use std::sync::Arc;

/// How many bytes of a rejected line are kept.
pub const MAX_REJECT_TEXT: usize = 512;

/// Why a line or value was reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    /// A data line whose field count differs from the `#Fields` layout in force. Not a row.
    FieldCount {
        /// Fields in the layout in force.
        expected: usize,
        /// Fields found on the line.
        found: usize,
    },
    /// The last line of the file has no line terminator and too few fields: a line the server
    /// was still writing. Not a row.
    IncompleteLastLine {
        /// Fields in the layout in force.
        expected: usize,
        /// Fields found on the line.
        found: usize,
    },
    /// A line longer than the reader's limit (`max_line_bytes`); measured, not read. Not a row.
    LineTooLong {
        /// Its length in bytes.
        bytes: u64,
    },
    /// A `#Fields` directive that names a field twice: the first position is read, the later
    /// one's values are not. No row is lost.
    DuplicateField {
        /// The repeated W3C name.
        field: String,
    },
    /// Text followed by a run of NUL bytes on the same line: the server stopped while writing
    /// the line (IIS pads the file with NULs after a crash). Not a row; what follows the NULs is
    /// read on its own.
    CutByNul,
    /// A value that cannot be read as its column's type; the row is kept with NULL there.
    InvalidValue {
        /// The W3C field name.
        field: String,
    },
    /// The line is not valid UTF-8; it was read with U+FFFD replacement characters and kept.
    InvalidUtf8,
}

impl RejectReason {
    /// Whether no row was lost: the line still became a row (with a NULL or replaced
    /// characters), or the report is about a directive.
    pub fn row_kept(&self) -> bool {
        matches!(
            self,
            Self::InvalidValue { .. } | Self::InvalidUtf8 | Self::DuplicateField { .. }
        )
    }

    /// A short machine-readable code for the reason.
    pub fn code(&self) -> &'static str {
        match self {
            Self::FieldCount { .. } => "field_count",
            Self::IncompleteLastLine { .. } => "incomplete_last_line",
            Self::LineTooLong { .. } => "line_too_long",
            Self::CutByNul => "cut_by_nul",
            Self::DuplicateField { .. } => "duplicate_field",
            Self::InvalidValue { .. } => "invalid_value",
            Self::InvalidUtf8 => "invalid_utf8",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FieldCount { expected, found } => {
                write!(f, "{found} fields where #Fields has {expected}")
            }
            Self::IncompleteLastLine { expected, found } => write!(
                f,
                "incomplete last line ({found} of {expected} fields, no line end): still being written?"
            ),
            Self::LineTooLong { bytes } => {
                write!(f, "line of {bytes} bytes, longer than the limit")
            }
            Self::CutByNul => write!(
                f,
                "line cut short by NUL padding (the server stopped while writing it)"
            ),
            Self::DuplicateField { field } => {
                write!(f, "#Fields names {field} twice: only the first is read")
            }
            Self::InvalidValue { field } => write!(f, "unreadable {field} value (NULL)"),
            Self::InvalidUtf8 => write!(f, "invalid UTF-8 (read with replacement characters)"),
        }
    }
}

/// One reported line or value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The file, as the table names it in `log_filename`.
    pub file: Arc<str>,
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the start of the line.
    pub byte_offset: u64,
    /// Why it was reported.
    pub reason: RejectReason,
    /// The line (or value) text, cut to [`MAX_REJECT_TEXT`] bytes.
    pub text: String,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// What a scan saw, line by line. `lines == rows + rejected + directives + blank_lines +
/// nul_lines` always holds for a file read to the end. A run of NUL bytes after text on a line
/// ends a line (see [`RejectReason::CutByNul`]), so such a line counts twice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Every line read (a NUL run after text ends one).
    pub lines: u64,
    /// Lines that became rows.
    pub rows: u64,
    /// Lines rejected (not rows).
    pub rejected: u64,
    /// Directive lines (`#...`).
    pub directives: u64,
    /// Empty or whitespace-only lines.
    pub blank_lines: u64,
    /// Lines made only of NUL bytes (IIS pads files with them after a crash).
    pub nul_lines: u64,
    /// Values read as NULL because they could not be read as their type (rows kept).
    pub invalid_values: u64,
    /// Lines with invalid UTF-8, read lossily (rows kept).
    pub lossy_lines: u64,
    /// Bytes read.
    pub bytes: u64,
}

impl ScanStats {
    /// Adds another file's counts to these.
    pub fn add(&mut self, o: &ScanStats) {
        self.lines += o.lines;
        self.rows += o.rows;
        self.rejected += o.rejected;
        self.directives += o.directives;
        self.blank_lines += o.blank_lines;
        self.nul_lines += o.nul_lines;
        self.invalid_values += o.invalid_values;
        self.lossy_lines += o.lossy_lines;
        self.bytes += o.bytes;
    }
}

//! A `#Fields` layout resolved against a table schema: for each column, which field position
//! (if any) holds its value.

use std::collections::HashMap;

use crate::schema::{FieldTarget, field_target};

/// The field layout in force for a run of data lines.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The W3C field names, in order.
    pub names: Vec<String>,
    /// For each schema column, the field position holding its value.
    pub column_pos: Vec<Option<usize>>,
    /// Position of the `date` field.
    pub date_pos: Option<usize>,
    /// Position of the `time` field.
    pub time_pos: Option<usize>,
    /// Position of a field holding date and time together (`date-time`, NCSA's `[...]`).
    pub datetime_pos: Option<usize>,
    /// Position of the local date field.
    pub local_date_pos: Option<usize>,
    /// Position of the local time field.
    pub local_time_pos: Option<usize>,
    /// For each schema column, the part of its field it holds (NCSA's request line parts).
    pub parts: Vec<Option<RequestPart>>,
    /// Fields named more than once (only their first position is read).
    pub duplicates: Vec<String>,
    /// The byte between fields.
    pub sep: u8,
}

/// A part of an HTTP request line (`GET /a?b HTTP/1.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestPart {
    /// The method: the text before the first space.
    Method,
    /// The URI: between the first and the last space.
    Uri,
    /// The protocol version: after the last space.
    Version,
}

impl RequestPart {
    /// The part of `line` (offsets into it); `None` if the line has no such part.
    pub fn of(self, line: &[u8]) -> Option<(usize, usize)> {
        let first = memchr::memchr(b' ', line);
        let last = memchr::memrchr(b' ', line);
        let span = match (self, first, last) {
            (RequestPart::Method, Some(f), _) => (0, f),
            (RequestPart::Method, None, _) => (0, line.len()),
            (RequestPart::Uri, Some(f), Some(l)) if l > f => (f + 1, l),
            (RequestPart::Uri, Some(f), _) => (f + 1, line.len()),
            (RequestPart::Version, Some(f), Some(l)) if l > f => (l + 1, line.len()),
            _ => return None,
        };
        (span.1 > span.0).then_some(span)
    }
}

impl Layout {
    /// Resolves `names` against the schema's column index (column name -> position in schema).
    /// When a field repeats, its first position is used.
    pub fn new(
        names: Vec<String>,
        columns: &HashMap<String, usize>,
        n_columns: usize,
        sep: u8,
    ) -> Self {
        let mut column_pos = vec![None; n_columns];
        let mut parts = vec![None; n_columns];
        let mut date_pos = None;
        let mut time_pos = None;
        let mut datetime_pos = None;
        let mut local_date_pos = None;
        let mut local_time_pos = None;
        let mut seen = std::collections::HashSet::new();
        let mut duplicates = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let target = field_target(n);
            if !seen.insert(target.clone()) {
                duplicates.push(n.clone());
                continue;
            }
            match target {
                FieldTarget::Date => date_pos = Some(i),
                FieldTarget::Time => time_pos = Some(i),
                FieldTarget::DateTime => datetime_pos = Some(i),
                FieldTarget::LocalDate => local_date_pos = Some(i),
                FieldTarget::LocalTime => local_time_pos = Some(i),
                FieldTarget::Column(c) => {
                    if c == "request" {
                        for (name, part) in [
                            ("request_method", RequestPart::Method),
                            ("request_uri", RequestPart::Uri),
                            ("request_version", RequestPart::Version),
                        ] {
                            if let Some(&col) = columns.get(name) {
                                column_pos[col] = Some(i);
                                parts[col] = Some(part);
                            }
                        }
                    }
                    if let Some(&col) = columns.get(&c) {
                        column_pos[col] = Some(i);
                    }
                }
            }
        }
        Self {
            names,
            column_pos,
            date_pos,
            time_pos,
            datetime_pos,
            local_date_pos,
            local_time_pos,
            parts,
            duplicates,
            sep,
        }
    }

    /// Number of fields a data line must have.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether its rows have a UTC time of their own (a `date`, `time` or date-time field).
    pub fn has_utc_time(&self) -> bool {
        self.date_pos.is_some() || self.time_pos.is_some() || self.datetime_pos.is_some()
    }

    /// Whether the layout has no fields at all.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

//! Sniffing the fields of generic W3C logs and their types from the data, as Log Parser's W3C
//! input does over its first `dtLines` rows.

use crate::datetime::parse_datetime;
use crate::directives::{Directive, parse_directive};
use crate::fields::{ValueType, column_name};
use crate::formats::LogFormat;
use crate::tokenize::{fields_separator, split_line, unescape, value_span};

/// Rows sampled per file by default.
pub const DEFAULT_SAMPLE_ROWS: usize = 100;

/// Finds every field of every `#Fields` line of a file fed piece by piece, and the type of each
/// field's values in the first rows: whole numbers, decimals, dates and times, else text.
#[derive(Debug)]
pub struct TypeSniffer {
    max_rows: usize,
    rows: usize,
    partial: Vec<u8>,
    /// Fields in the order first seen: W3C name, type seen so far (`None`: only NULLs).
    fields: Vec<(String, Option<ValueType>)>,
    /// Each field's position in `fields`, by its column name.
    by_column: std::collections::HashMap<String, usize>,
    /// The layout in force: each position's index into `fields`.
    layout: Vec<usize>,
    sep: u8,
    starts: Vec<u32>,
}

impl TypeSniffer {
    /// A sniffer that looks at the values of the first `max_rows` data lines.
    pub fn new(max_rows: usize) -> Self {
        Self {
            max_rows,
            rows: 0,
            partial: Vec::new(),
            fields: Vec::new(),
            by_column: std::collections::HashMap::new(),
            layout: Vec::new(),
            sep: b' ',
            starts: Vec::new(),
        }
    }

    /// Feeds the next bytes of the file.
    pub fn push(&mut self, mut data: &[u8]) {
        if !self.partial.is_empty() {
            match memchr::memchr(b'\n', data) {
                Some(i) => {
                    let mut line = std::mem::take(&mut self.partial);
                    line.extend_from_slice(&data[..i]);
                    self.line(&line);
                    data = &data[i + 1..];
                }
                None => {
                    // Only a directive or a sampled row needs its whole text; cap the rest.
                    if self.partial.len() < 1 << 20 {
                        self.partial.extend_from_slice(data);
                    }
                    return;
                }
            }
        }
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', data) {
            let line = &data[start..nl];
            if self.rows < self.max_rows || line.first() == Some(&b'#') {
                self.line(line);
            }
            start = nl + 1;
        }
        if start < data.len() {
            self.partial.extend_from_slice(&data[start..]);
        }
    }

    /// Ends the file.
    pub fn finish(&mut self) {
        let line = std::mem::take(&mut self.partial);
        if !line.is_empty() {
            self.line(&line);
        }
    }

    fn line(&mut self, line: &[u8]) {
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&b'#') {
            if let Directive::Fields(names) = parse_directive(line) {
                self.sep = fields_separator(line);
                self.layout = names.iter().map(|n| self.field_index(n)).collect();
            }
            return;
        }
        if line.trim_ascii().is_empty() || self.layout.is_empty() || self.rows >= self.max_rows {
            return;
        }
        let dialect = LogFormat::W3c.dialect();
        self.starts.clear();
        let n = split_line(
            line,
            0,
            line.len(),
            self.sep,
            &dialect,
            usize::MAX,
            &mut self.starts,
        );
        if n != self.layout.len() {
            return;
        }
        self.rows += 1;
        self.starts.push(line.len() as u32 + 1);
        for (i, w) in self.starts.windows(2).enumerate() {
            let (s, e, escaped) = value_span(line, w[0] as usize, w[1] as usize - 1, &dialect);
            let v = &line[s..e];
            if v.is_empty() || v == b"-" {
                continue;
            }
            let t = if escaped {
                value_type(&unescape(v))
            } else {
                value_type(v)
            };
            let slot = &mut self.fields[self.layout[i]].1;
            *slot = Some(match *slot {
                None => t,
                Some(old) => merge(old, t),
            });
        }
    }

    fn field_index(&mut self, name: &str) -> usize {
        let next = self.fields.len();
        let i = *self.by_column.entry(column_name(name)).or_insert(next);
        if i == next {
            self.fields.push((name.to_string(), None));
        }
        i
    }

    /// The fields in the order first seen, with the types of their sampled values (`None`:
    /// only NULLs were seen, so files can be merged before the type is settled).
    pub fn sniffed(&self) -> Vec<(String, Option<ValueType>)> {
        self.fields.clone()
    }

    /// The fields in the order first seen, with their types (text for fields whose sampled
    /// values were all NULL).
    pub fn fields(&self) -> Vec<(String, ValueType)> {
        self.fields
            .iter()
            .map(|(n, t)| (n.clone(), t.unwrap_or(ValueType::Text)))
            .collect()
    }
}

/// The narrowest type of one value.
pub fn value_type(v: &[u8]) -> ValueType {
    let digits = v.strip_prefix(b"-").unwrap_or(v);
    if !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) {
        return ValueType::Int64;
    }
    if v.iter().any(|c| c.is_ascii_digit())
        && v.iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e' | b'E'))
        && std::str::from_utf8(v).is_ok_and(|s| s.parse::<f64>().is_ok_and(f64::is_finite))
    {
        return ValueType::Float64;
    }
    if v.len() >= 19 && parse_datetime(v).is_some() {
        return ValueType::DateTime;
    }
    ValueType::Text
}

/// The type that holds values of both.
pub fn merge(a: ValueType, b: ValueType) -> ValueType {
    use ValueType::*;
    match (a, b) {
        (x, y) if x == y => x,
        (Int32 | Int64, Int32 | Int64) => Int64,
        (Int32 | Int64 | Float64, Int32 | Int64 | Float64) => Float64,
        _ => Text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_types_and_order() {
        let text = b"#Software: Microsoft Exchange Server\r\n#Fields: date-time,client-ip,bytes,ratio,note\r\n\
2024-01-15T02:10:00.123Z,10.0.0.1,12,0.5,\"a, b\"\r\n\
2024-01-15T02:10:01.000Z,10.0.0.2,,1,plain\r\n#Fields: date-time,extra\r\n2024-01-15T02:10:01.000Z,7";
        let mut s = TypeSniffer::new(100);
        for piece in text.chunks(7) {
            s.push(piece);
        }
        s.finish();
        assert_eq!(
            s.fields(),
            vec![
                ("date-time".to_string(), ValueType::DateTime),
                ("client-ip".to_string(), ValueType::Text),
                ("bytes".to_string(), ValueType::Int64),
                ("ratio".to_string(), ValueType::Float64),
                ("note".to_string(), ValueType::Text),
                ("extra".to_string(), ValueType::Int64),
            ]
        );
        assert_eq!(value_type(b"1e5"), ValueType::Float64);
        assert_eq!(value_type(b"-"), ValueType::Text);
        assert_eq!(value_type(b"2024-01-15 02:10:00"), ValueType::DateTime);
    }
}

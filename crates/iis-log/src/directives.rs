//! W3C directive lines (`#Software`, `#Version`, `#Date`, `#Fields`, ...) and a scanner that finds
//! them in a byte stream without parsing data lines.

use std::collections::BTreeMap;

use crate::datetime::parse_datetime_prefix;

/// One parsed directive line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// `#Software: Microsoft Internet Information Services 10.0`
    Software(String),
    /// `#Version: 1.0` (anything after the value is ignored)
    Version(String),
    /// `#Date: 2024-01-15 00:00:00`: days since the epoch and milliseconds, `None` if unreadable.
    Date(Option<(i32, i64)>),
    /// `#Start-Date:`
    StartDate(Option<(i32, i64)>),
    /// `#End-Date:`
    EndDate(Option<(i32, i64)>),
    /// `#Remark: ...`
    Remark(String),
    /// `#Fields: date time ...`: the field names in order.
    Fields(Vec<String>),
    /// Any other `#` line: its name (possibly empty) and value.
    Other {
        /// The text between `#` and `:`.
        name: String,
        /// The text after `:`.
        value: String,
    },
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(trim(b)).into_owned()
}

/// The first whitespace-separated word of a value (`1.0` of `1.0 // comment`).
fn first_word(b: &[u8]) -> String {
    let t = trim(b);
    let end = t
        .iter()
        .position(|c| c.is_ascii_whitespace())
        .unwrap_or(t.len());
    String::from_utf8_lossy(&t[..end]).into_owned()
}

/// Parses a directive line. `line` starts with `#` and has no line terminator.
pub fn parse_directive(line: &[u8]) -> Directive {
    let body = line.strip_prefix(b"#").unwrap_or(line);
    let (name, value) = match memchr::memchr(b':', body) {
        Some(i) => (trim(&body[..i]), &body[i + 1..]),
        None => (trim(body), &b""[..]),
    };
    let lname = name.to_ascii_lowercase();
    match lname.as_slice() {
        b"software" => Directive::Software(text(value)),
        b"version" => Directive::Version(first_word(value)),
        b"date" => Directive::Date(parse_datetime_prefix(trim(value))),
        b"start-date" => Directive::StartDate(parse_datetime_prefix(trim(value))),
        b"end-date" => Directive::EndDate(parse_datetime_prefix(trim(value))),
        b"remark" => Directive::Remark(text(value)),
        // Generic W3C files (Exchange) write the list with commas.
        b"fields" => Directive::Fields(
            value
                .split(|c| c.is_ascii_whitespace() || *c == b',')
                .filter(|w| !w.is_empty())
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect(),
        ),
        _ => Directive::Other {
            name: text(name),
            value: text(value),
        },
    }
}

/// Finds directive lines in a byte stream fed piece by piece, without looking at data lines
/// beyond locating line starts. Used by schema inference.
#[derive(Debug)]
pub struct DirectiveScanner {
    partial: Option<Vec<u8>>,
    at_line_start: bool,
    /// The last piece ended with a NUL inside a data line (a directive may follow it).
    after_nul: bool,
    /// The first bytes of the file, held until a byte order mark can be recognised.
    head: Option<Vec<u8>>,
    fields: BTreeMap<String, String>,
    layouts: usize,
}

/// Longest directive line kept whole; a longer one is cut (its tail cannot hold field names
/// that matter for the schema).
const MAX_DIRECTIVE_LEN: usize = 1 << 20;

impl Default for DirectiveScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl DirectiveScanner {
    /// A scanner positioned at the start of a file.
    pub fn new() -> Self {
        Self {
            partial: None,
            at_line_start: true,
            after_nul: false,
            head: Some(Vec::new()),
            fields: BTreeMap::new(),
            layouts: 0,
        }
    }

    /// Feeds the next bytes of the file.
    pub fn push(&mut self, data: &[u8]) {
        if let Some(mut head) = self.head.take() {
            head.extend_from_slice(data);
            if head.len() < 3 && b"\xEF\xBB\xBF".starts_with(&head) {
                self.head = Some(head);
                return;
            }
            let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
            self.scan(body);
            return;
        }
        self.scan(data);
    }

    fn scan(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut from = 0;
        let at_line_start = self.at_line_start;
        let after_nul = self.after_nul;
        if let Some(buf) = self.partial.as_mut() {
            match memchr::memchr(b'\n', data) {
                Some(nl) => {
                    if buf.len() < MAX_DIRECTIVE_LEN {
                        buf.extend_from_slice(&data[..nl]);
                    }
                    let line = self.partial.take().unwrap_or_default();
                    self.line(&line);
                    from = nl;
                }
                None => {
                    if buf.len() < MAX_DIRECTIVE_LEN {
                        buf.extend_from_slice(data);
                    }
                    return;
                }
            }
        } else if at_line_start {
            let lead = data.iter().take_while(|&&c| c == 0).count();
            if data.get(lead) == Some(&b'#') {
                match memchr::memchr(b'\n', &data[lead..]) {
                    Some(nl) => {
                        self.line(&data[lead..lead + nl]);
                        from = lead + nl;
                    }
                    None => {
                        self.partial = Some(data[lead..].to_vec());
                        return;
                    }
                }
            }
        }
        let region = from;
        let mut end = data.len();
        // Directive lines of this piece, `[start, end)`: read in file order once both searches
        // found them, so that "first seen" means first in the file however it is cut.
        let mut lines = Vec::new();
        let finder = memchr::memmem::find_iter(&data[from..], b"\n#");
        for m in finder {
            let start = from + m + 1;
            match memchr::memchr(b'\n', &data[start..]) {
                Some(nl) => lines.push((start, start + nl)),
                None => {
                    self.partial = Some(data[start..].to_vec());
                    end = start;
                    break;
                }
            }
        }
        let continued = from == 0 && !at_line_start && after_nul;
        self.nul_directives(&data[..end], region, continued, &mut lines);
        lines.sort_unstable();
        for (start, stop) in lines {
            self.line(&data[start..stop]);
        }
        self.at_line_start = data.last() == Some(&b'\n');
        self.after_nul = self.partial.is_none() && data.last() == Some(&0);
    }

    /// Directives after a NUL inside a line that is not itself a directive (`cut line\0\0#Software`
    /// or `\0\0#Software`: IIS after a crash). Such runs are rare, so they get a second,
    /// separate search from `region` (where this piece's own lines begin) to the end of `data`
    /// (which stops before a directive line left for the next piece); `continued` when the
    /// piece goes on with a data line whose last byte, in the previous piece, was a NUL.
    fn nul_directives(
        &mut self,
        data: &[u8],
        region: usize,
        continued: bool,
        lines: &mut Vec<(usize, usize)>,
    ) {
        let mut at = region;
        if continued && data.get(region) == Some(&b'#') {
            at = self.directive_at(data, region, lines);
        }
        if memchr::memchr(0, &data[at.min(data.len())..]).is_none() {
            return;
        }
        while at < data.len() {
            let Some(m) = memchr::memmem::find(&data[at..], b"\0#") else {
                break;
            };
            let p = at + m;
            // Lines that begin with `#` were read whole above (a directive line at the piece's
            // start, even after NULs, ends before `region`); a line with no line start before
            // the NUL in this piece is a data line.
            let ls = memchr::memrchr(b'\n', &data[region..p]).map(|i| region + i + 1);
            if ls.is_some_and(|ls| data[ls] == b'#') {
                at = memchr::memchr(b'\n', &data[p..]).map_or(data.len(), |n| p + n + 1);
                continue;
            }
            at = self.directive_at(data, p + 1, lines);
        }
    }

    /// Adds the directive that begins at `start` to `lines` (or keeps it to go on into the next
    /// piece when its line does not end here); returns where the search goes on.
    fn directive_at(
        &mut self,
        data: &[u8],
        start: usize,
        lines: &mut Vec<(usize, usize)>,
    ) -> usize {
        match memchr::memchr(b'\n', &data[start..]) {
            Some(nl) => {
                lines.push((start, start + nl));
                start + nl + 1
            }
            None => {
                self.partial = Some(data[start..].to_vec());
                data.len()
            }
        }
    }

    /// Ends the file (a directive on the last line without a newline is counted).
    pub fn finish(&mut self) {
        if let Some(head) = self.head.take() {
            self.scan(&head);
        }
        if let Some(line) = self.partial.take() {
            self.line(&line);
        }
    }

    fn line(&mut self, line: &[u8]) {
        // NUL runs end a line's text, and a piece after them that starts with `#` is a
        // directive of its own (see the decoder).
        for piece in line.split(|&c| c == 0) {
            let piece = piece.strip_suffix(b"\r").unwrap_or(piece);
            if !piece.starts_with(b"#") {
                continue;
            }
            if let Directive::Fields(names) = parse_directive(piece) {
                self.layouts += 1;
                for n in names {
                    let col = crate::fields::column_name(&n);
                    self.fields.entry(col).or_insert(n);
                }
            }
        }
    }

    /// Every field seen in any `#Fields` line: column name -> the W3C name first seen for it.
    pub fn fields(&self) -> &BTreeMap<String, String> {
        &self.fields
    }

    /// How many `#Fields` lines were seen.
    pub fn layouts(&self) -> usize {
        self.layouts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `#Fields` line after a NUL (IIS after a crash) comes before a later `#Fields` line in
    /// the file: the W3C name first seen is its, whether the file is read whole or in two pieces
    /// cut anywhere (found by the `directives` fuzz target).
    #[test]
    fn first_seen_is_first_in_the_file_however_it_is_cut() {
        let text: &[u8] = b"2024-01-01 00:00:00 cut\0\0#Fields: date Time\n\
            2024-01-01 00:00:01 x\n#Fields: date time c-ip\n2024-01-01 00:00:02 y 1.2.3.4\n";
        for cut in 0..=text.len() {
            let mut s = DirectiveScanner::new();
            s.push(&text[..cut]);
            s.push(&text[cut..]);
            s.finish();
            assert_eq!(
                s.fields().get("time").map(String::as_str),
                Some("Time"),
                "cut {cut}"
            );
            assert_eq!(s.fields().len(), 3, "cut {cut}");
            assert_eq!(s.layouts(), 2, "cut {cut}");
        }
    }

    #[test]
    fn parses_directives_with_junk() {
        assert_eq!(
            parse_directive(b"#Version: 1.0 // x"),
            Directive::Version("1.0".into())
        );
        assert_eq!(
            parse_directive(b"#Software: Microsoft Internet Information Services 10.0  "),
            Directive::Software("Microsoft Internet Information Services 10.0".into())
        );
        assert_eq!(
            parse_directive(b"#Fields: date  time\tc-ip "),
            Directive::Fields(vec!["date".into(), "time".into(), "c-ip".into()])
        );
        assert_eq!(
            parse_directive(b"#Date: 1970-01-02 00:00:01 extra"),
            Directive::Date(Some((1, 1000)))
        );
        assert_eq!(parse_directive(b"#Date: garbage"), Directive::Date(None));
        assert!(matches!(
            parse_directive(b"# just a comment"),
            Directive::Other { .. }
        ));
    }

    #[test]
    fn scanner_sees_fields_after_nul_padding() {
        let mut s = DirectiveScanner::new();
        s.push(b"#Fields: date c-ip\nx y\n\0\0\0\0#Fields: date X-After-Crash\nx y\n");
        s.push(b"cut li\0\0\0#Fields: date X-After-Cut\0\0\nx y\n");
        s.finish();
        assert!(s.fields().contains_key("x_after_crash"));
        assert_eq!(s.fields()["x_after_cut"], "X-After-Cut");
        assert_eq!(s.layouts(), 3);
    }

    /// Found by the directives fuzz target: directives after NULs, inside directive and data
    /// lines, are seen wherever the input is cut into pieces.
    #[test]
    fn nul_directives_across_pieces() {
        let text: &[u8] = b"20 8.5\n#Version: 1.0\n#Date: 7\0\0\0\0\0#Fields: a b\ncut li\0\0#Fields: c d\n\0\0#Fields: e\n#Fields: f\0#Fields: g\nz\0";
        let whole: Vec<String> = {
            let mut s = DirectiveScanner::new();
            s.push(text);
            s.push(b"#Fields: h\n");
            s.finish();
            s.fields().keys().cloned().collect()
        };
        assert_eq!(whole, vec!["a", "b", "c", "d", "e", "f", "g", "h"]);
        for split in 0..text.len() {
            let mut s = DirectiveScanner::new();
            s.push(&text[..split]);
            s.push(&text[split..]);
            s.push(b"#Fields: h\n");
            s.finish();
            let cols: Vec<String> = s.fields().keys().cloned().collect();
            assert_eq!(cols, whole, "split at {split}");
        }
    }

    #[test]
    fn scanner_across_pieces() {
        let text = b"\xEF\xBB\xBF#Fields: date time c-ip\r\n2020-01-01 00:00:00 1.2.3.4\r\n#Fields: date time X-Forwarded-For\r\nx y z\n#Fie";
        for split in 0..text.len() {
            let mut s = DirectiveScanner::new();
            s.push(&text[..split]);
            s.push(&text[split..]);
            s.push(b"lds: cs-host");
            s.finish();
            let cols: Vec<_> = s.fields().keys().cloned().collect();
            assert_eq!(
                cols,
                vec!["c_ip", "cs_host", "date", "time", "x_forwarded_for"],
                "split at {split}"
            );
            assert_eq!(s.layouts(), 3);
        }
    }
}

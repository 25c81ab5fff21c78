//! Cutting one line into fields for the formats the fast space-only path does not cover: other
//! separators, quoted values (`"a b"`, `"say ""hi"""`, `[10/Oct/2000:13:55:36 -0700]`) and
//! blanks around values.

use crate::formats::Dialect;

/// Finds the fields of `data[s..e]` (a line without its terminator). Pushes the start of each
/// of the first `n` fields into `starts` (the first is `s`) and returns how many fields the line
/// has. A field ends at the separator after it; with `quotes`, a separator inside `"..."` or
/// `[...]` at a field's start does not end it.
pub fn split_line(
    data: &[u8],
    s: usize,
    e: usize,
    sep: u8,
    dialect: &Dialect,
    n: usize,
    starts: &mut Vec<u32>,
) -> usize {
    let mut found = 1;
    starts.push(s as u32);
    let mut p = s;
    loop {
        // Skip a quoted opening of this field.
        if dialect.quotes {
            let mut q = p;
            if dialect.trim {
                while q < e && data[q] == b' ' {
                    q += 1;
                }
            }
            if q < e {
                p = match data[q] {
                    b'"' => closing_quote(data, q + 1, e),
                    b'[' if dialect.brackets => {
                        memchr::memchr(b']', &data[q + 1..e]).map_or(e, |i| q + 1 + i + 1)
                    }
                    _ => q,
                };
            }
        }
        match memchr::memchr(sep, &data[p.min(e)..e]) {
            Some(i) => {
                let next = p + i + 1;
                if found < n {
                    starts.push(next as u32);
                }
                found += 1;
                p = next;
            }
            None => return found,
        }
    }
}

/// The position after the `"` that closes a value opened before `from` (`""` and `\"` do not
/// close it); `e` if none does.
fn closing_quote(data: &[u8], mut from: usize, e: usize) -> usize {
    while from < e {
        match memchr::memchr2(b'"', b'\\', &data[from..e]) {
            None => return e,
            Some(i) => {
                let q = from + i;
                // `\"` and `""` are quotes inside the value.
                if data[q] == b'\\' || (q + 1 < e && data[q + 1] == b'"') {
                    from = q + 2;
                } else {
                    return q + 1;
                }
            }
        }
    }
    e
}

/// A field's value inside `data[s..e]`: blanks trimmed (with `trim`), the enclosing quotes or
/// brackets removed (with `quotes`). The flag says the value holds an escaped quote (`""` or
/// `\"`) and must be unescaped with [`unescape`].
#[inline]
pub fn value_span(
    data: &[u8],
    mut s: usize,
    mut e: usize,
    dialect: &Dialect,
) -> (usize, usize, bool) {
    if dialect.trim {
        while s < e && data[s] == b' ' {
            s += 1;
        }
        while e > s && data[e - 1] == b' ' {
            e -= 1;
        }
    }
    if dialect.quotes && e >= s + 2 {
        match (data[s], data[e - 1]) {
            (b'"', b'"') => {
                let inner = &data[s + 1..e - 1];
                let escaped = memchr::memchr2(b'"', b'\\', inner).is_some();
                return (s + 1, e - 1, escaped);
            }
            (b'[', b']') if dialect.brackets => return (s + 1, e - 1, false),
            _ => {}
        }
    }
    (s, e, false)
}

/// The separator of the data lines a generic W3C `#Fields` line describes: a comma or a tab if
/// its field list is written with one (Exchange writes commas), else a space.
pub fn fields_separator(line: &[u8]) -> u8 {
    let list = memchr::memchr(b':', line).map_or(line, |i| &line[i + 1..]);
    if memchr::memchr(b',', list).is_some() {
        b','
    } else if memchr::memchr(b'\t', list.trim_ascii()).is_some() {
        b'\t'
    } else {
        b' '
    }
}

/// Replaces `""` and `\"` with `"` (and `\\` with `\`).
pub fn unescape(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        let c = v[i];
        if (c == b'"' || c == b'\\')
            && i + 1 < v.len()
            && (v[i + 1] == b'"' || (c == b'\\' && v[i + 1] == b'\\'))
        {
            out.push(v[i + 1]);
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str, sep: u8, quotes: bool, trim: bool) -> Vec<String> {
        let d = Dialect {
            separator: Some(sep),
            quotes,
            brackets: quotes,
            trim,
        };
        let data = line.as_bytes();
        let mut starts = Vec::new();
        let n = split_line(data, 0, data.len(), sep, &d, usize::MAX, &mut starts);
        assert_eq!(n, starts.len());
        starts.push(data.len() as u32 + 1);
        starts
            .windows(2)
            .map(|w| {
                let (s, e, esc) = value_span(data, w[0] as usize, w[1] as usize - 1, &d);
                let v = &data[s..e];
                String::from_utf8(if esc { unescape(v) } else { v.to_vec() }).unwrap()
            })
            .collect()
    }

    #[test]
    fn quoted_values() {
        assert_eq!(
            fields(r#"a "b c" "say ""hi""" [x y] -"#, b' ', true, false),
            ["a", "b c", r#"say "hi""#, "x y", "-"]
        );
        assert_eq!(
            fields(r#"1,"x, y",,"q\"z""#, b',', true, false),
            ["1", "x, y", "", r#"q"z"#]
        );
        // An unclosed quote runs to the end of the line.
        assert_eq!(fields(r#"a "b c"#, b' ', true, false), ["a", "\"b c"]);
    }

    #[test]
    fn trimmed_values() {
        assert_eq!(
            fields("10.0.0.1, -, 03/20/01, 7:55:20,", b',', false, true),
            ["10.0.0.1", "-", "03/20/01", "7:55:20", ""]
        );
    }
}

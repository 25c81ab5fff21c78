//! Log Parser 2.2's string, path and URL functions, with its semantics: indexes count from 0,
//! and a negative index counts from the end (-1 is the last); positions are in characters.
//! NULL in gives NULL out, except where a function says otherwise (`strcat` reads NULL as
//! empty, `replace_if_not_null` exists for NULLs). Log Parser's `SUBSTR` is 0-based where
//! SQL's is 1-based, so it is `lp_substr` here; the `lp` dialect maps one to the other.

/// `s` split on `sep`, the `index`-th piece (0-based; negative from the end).
fn piece<'a>(s: &'a str, sep: &str, index: i64) -> Option<&'a str> {
    if sep.is_empty() {
        return None;
    }
    let parts: Vec<&str> = s.split(sep).collect();
    let i = if index < 0 {
        parts
            .len()
            .checked_sub(usize::try_from(index.unsigned_abs()).ok()?)?
    } else {
        usize::try_from(index).ok()?
    };
    parts.get(i).copied()
}

/// Byte offsets of every `sep` in `s`.
fn separators(s: &str, sep: &str) -> Vec<usize> {
    s.match_indices(sep).map(|(i, _)| i).collect()
}

/// The byte offset of the `index`-th separator (0-based; negative from the end).
fn separator_at(s: &str, sep: &str, index: i64) -> Option<usize> {
    if sep.is_empty() {
        return None;
    }
    let at = separators(s, sep);
    let i = if index < 0 {
        at.len()
            .checked_sub(usize::try_from(index.unsigned_abs()).ok()?)?
    } else {
        usize::try_from(index).ok()?
    };
    at.get(i).copied()
}

/// `EXTRACT_TOKEN(s, index [, sep = ','])`: the `index`-th token; NULL past the last.
pub fn extract_token(s: &str, index: i64, sep: Option<&str>) -> Option<String> {
    piece(s, sep.unwrap_or(","), index).map(str::to_string)
}

/// `EXTRACT_VALUE(s, key [, sep = '&'])`: the value of `key=value` among the pairs; an empty
/// text for a key written without `=`; NULL when the key is absent. A key written exactly so
/// wins; otherwise case is ignored (`deviceid` finds `DeviceId`), as Windows tools do.
pub fn extract_value(s: &str, key: &str, sep: Option<&str>) -> Option<String> {
    let sep = sep.unwrap_or("&");
    if sep.is_empty() {
        return None;
    }
    let find = |same: &dyn Fn(&str) -> bool| {
        s.split(sep).find_map(|pair| match pair.split_once('=') {
            Some((k, v)) if same(k) => Some(v.to_string()),
            None if same(pair) => Some(String::new()),
            _ => None,
        })
    };
    find(&|k| k == key).or_else(|| find(&|k| k.eq_ignore_ascii_case(key)))
}

/// `EXTRACT_PREFIX(s, index, sep)`: the text before the `index`-th separator.
pub fn extract_prefix(s: &str, index: i64, sep: &str) -> Option<String> {
    separator_at(s, sep, index).map(|i| s[..i].to_string())
}

/// `EXTRACT_SUFFIX(s, index, sep)`: the text after the `index`-th separator.
pub fn extract_suffix(s: &str, index: i64, sep: &str) -> Option<String> {
    separator_at(s, sep, index).map(|i| s[i + sep.len()..].to_string())
}

fn last_slash(s: &str) -> Option<usize> {
    s.rfind(['/', '\\'])
}

/// `EXTRACT_FILENAME(path)`: the last component (after the last `/` or `\`).
pub fn extract_filename(s: &str) -> String {
    last_slash(s).map_or(s, |i| &s[i + 1..]).to_string()
}

/// `EXTRACT_PATH(path)`: everything before the last `/` or `\`; empty without one.
pub fn extract_path(s: &str) -> String {
    last_slash(s).map_or("", |i| &s[..i]).to_string()
}

/// `EXTRACT_EXTENSION(path)`: the file name's text after its last `.`; empty without one.
pub fn extract_extension(s: &str) -> String {
    let name = last_slash(s).map_or(s, |i| &s[i + 1..]);
    name.rfind('.').map_or("", |i| &name[i + 1..]).to_string()
}

/// `STRCNT(s, token)`: how many times `token` occurs (not overlapping); NULL for an empty
/// token.
pub fn strcnt(s: &str, token: &str) -> Option<i64> {
    (!token.is_empty()).then(|| s.matches(token).count() as i64)
}

/// `SUBSTR(s, start [, length])`, 0-based, in characters: empty past the end; NULL for a
/// negative start or length.
pub fn substr(s: &str, start: i64, len: Option<i64>) -> Option<String> {
    let start = usize::try_from(start).ok()?;
    let chars = s.chars().skip(start);
    Some(match len {
        Some(l) => chars.take(usize::try_from(l).ok()?).collect(),
        None => chars.collect(),
    })
}

/// `INDEX_OF(s, search)`: the character position of the first `search`, -1 when absent.
pub fn index_of(s: &str, search: &str) -> i64 {
    s.find(search).map_or(-1, |b| s[..b].chars().count() as i64)
}

/// `LAST_INDEX_OF(s, search)`: the character position of the last `search`, -1 when absent.
pub fn last_index_of(s: &str, search: &str) -> i64 {
    s.rfind(search)
        .map_or(-1, |b| s[..b].chars().count() as i64)
}

/// `REPLACE_CHR(s, chars, with)`: every character of `chars` replaced by `with`.
pub fn replace_chr(s: &str, chars: &str, with: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if chars.contains(c) {
            out.push_str(with);
        } else {
            out.push(c);
        }
    }
    out
}

/// `REPLACE_STR(s, search, with)`: every `search` replaced by `with` (an empty `search`
/// changes nothing).
pub fn replace_str(s: &str, search: &str, with: &str) -> String {
    if search.is_empty() {
        s.to_string()
    } else {
        s.replace(search, with)
    }
}

/// `URLESCAPE(s)`: percent-encodes (as UTF-8) every byte but letters, digits and `-_.~/`;
/// spaces become `+`, as IIS logs write them.
pub fn urlescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `HEX_TO_INT(s)`: a hexadecimal number, with or without `0x`; NULL when it is not one.
pub fn hex_to_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    u64::from_str_radix(t, 16).ok().map(|v| v as i64)
}

/// `ROT13(s)`.
pub fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' => (((c as u8 - b'a') + 13) % 26 + b'a') as char,
            'A'..='Z' => (((c as u8 - b'A') + 13) % 26 + b'A') as char,
            _ => c,
        })
        .collect()
}

/// `STRREPEAT(s, n)`: `s` `n` times; NULL for a negative `n` or a result over 1 MiB.
pub fn strrepeat(s: &str, n: i64) -> Option<String> {
    let n = usize::try_from(n).ok()?;
    (s.len().saturating_mul(n) <= 1 << 20).then(|| s.repeat(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_separators_count_from_zero_or_from_the_end() {
        let p = "/Microsoft-Server-ActiveSync/default.eas";
        assert_eq!(
            extract_token(p, 1, Some("/")).as_deref(),
            Some("Microsoft-Server-ActiveSync")
        );
        assert_eq!(
            extract_token(p, -1, Some("/")).as_deref(),
            Some("default.eas")
        );
        assert_eq!(extract_token(p, 3, Some("/")), None);
        assert_eq!(extract_token(p, -4, Some("/")), None);
        assert_eq!(extract_token("a,b", 1, None).as_deref(), Some("b"));
        assert_eq!(extract_token("a,b", 0, Some("")), None);
        assert_eq!(extract_prefix("a/b/c", 1, "/").as_deref(), Some("a/b"));
        assert_eq!(extract_prefix("a/b/c", -1, "/").as_deref(), Some("a/b"));
        assert_eq!(extract_suffix("a/b/c", 0, "/").as_deref(), Some("b/c"));
        assert_eq!(extract_suffix("a::b::c", -1, "::").as_deref(), Some("c"));
        assert_eq!(extract_suffix("abc", 0, "/"), None);
    }

    #[test]
    fn characters_not_bytes() {
        assert_eq!(index_of("naïve ñ", "ñ"), 6);
        assert_eq!(last_index_of("a.b.c", "."), 3);
        assert_eq!(index_of("abc", "x"), -1);
        assert_eq!(substr("naïve", 2, Some(2)).as_deref(), Some("ïv"));
        assert_eq!(substr("abc", 5, None).as_deref(), Some(""));
        assert_eq!(substr("abc", -1, None), None);
        assert_eq!(urlescape("a b/ü?"), "a+b/%C3%BC%3F");
    }
}

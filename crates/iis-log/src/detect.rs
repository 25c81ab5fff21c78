//! Telling the log formats apart by their content: the directives a file starts with, or the
//! shape of its first data line.

use crate::datetime::{parse_date, parse_ncsa_datetime, parse_time, parse_us_date};
use crate::directives::{Directive, parse_directive};
use crate::fields::STANDARD_FIELDS;
use crate::formats::LogFormat;
use crate::schema::{FieldTarget, field_target};

/// What a file's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// The format.
    pub format: LogFormat,
    /// An IIS FTP log (IIS W3C fields plus `x-session`, `x-fullpath`...), kept apart from the
    /// web logs.
    pub ftp: bool,
}

impl Detected {
    fn of(format: LogFormat) -> Self {
        Self { format, ftp: false }
    }

    /// The table name its files are registered as: the format's, `ftp` for FTP logs.
    pub fn table_name(&self) -> &'static str {
        if self.ftp {
            "ftp"
        } else {
            self.format.table_name()
        }
    }
}

/// How many bytes of a file [`detect`] wants to see.
pub const DETECT_BYTES: usize = 64 << 10;

/// Detects the format of a file from its first bytes (up to [`DETECT_BYTES`]); `None` when they
/// hold no line to judge by (an empty file).
pub fn detect(head: &[u8]) -> Option<Detected> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let mut software: Option<String> = None;
    for line in head.split(|&c| c == b'\n').take(200) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = line.split(|&c| c == 0).next().unwrap_or(line);
        if line.trim_ascii().is_empty() {
            continue;
        }
        if line[0] == b'#' {
            match parse_directive(line) {
                Directive::Software(s) => software = Some(s),
                Directive::Fields(names) => {
                    return Some(by_fields(software.as_deref(), &names, line));
                }
                _ => {}
            }
            continue;
        }
        if let Some(s) = &software {
            // Directives without `#Fields` before the data.
            return Some(by_software(s).unwrap_or(Detected::of(LogFormat::IisW3c)));
        }
        return Some(by_data_line(line));
    }
    software.map(|s| by_software(&s).unwrap_or(Detected::of(LogFormat::IisW3c)))
}

fn by_software(software: &str) -> Option<Detected> {
    let s = software.to_ascii_lowercase();
    if s.contains("http api") {
        Some(Detected::of(LogFormat::Httperr))
    } else if s.contains("internet information services") {
        None
    } else {
        Some(Detected::of(LogFormat::W3c))
    }
}

fn by_fields(software: Option<&str>, names: &[String], line: &[u8]) -> Detected {
    let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    let has = |n: &str| lower.iter().any(|l| l == n);
    if has("s-reason") || has("s-queuename") {
        return Detected::of(LogFormat::Httperr);
    }
    if let Some(d) = software.and_then(by_software) {
        return d;
    }
    // A list written with commas (Exchange) or fields of no IIS catalogue: generic W3C.
    let list = memchr::memchr(b':', line).map_or(line, |i| &line[i + 1..]);
    if memchr::memchr(b',', list).is_some() {
        return Detected::of(LogFormat::W3c);
    }
    if has("x-session") || has("x-fullpath") {
        return Detected {
            format: LogFormat::IisW3c,
            ftp: true,
        };
    }
    let known = names
        .iter()
        .filter(|n| match field_target(n) {
            FieldTarget::Date | FieldTarget::Time => true,
            FieldTarget::Column(c) => STANDARD_FIELDS.iter().any(|f| f.column == c),
            _ => false,
        })
        .count();
    if software.is_some() || known * 2 >= names.len() {
        Detected::of(LogFormat::IisW3c)
    } else {
        Detected::of(LogFormat::W3c)
    }
}

fn by_data_line(line: &[u8]) -> Detected {
    // IIS native: `ip, user, MM/DD/YY, H:MM:SS, service, ...`
    let parts: Vec<&[u8]> = line.split(|&c| c == b',').map(<[u8]>::trim_ascii).collect();
    if parts.len() >= 15
        && parse_us_date(parts[2]).is_some()
        && crate::datetime::parse_time_lenient(parts[3]).is_some()
    {
        return Detected::of(LogFormat::Iis);
    }
    // NCSA: `host ident user [dd/Mon/yyyy:hh:mm:ss +zzzz] "request" status bytes`
    if let (Some(open), Some(close)) = (memchr::memchr(b'[', line), memchr::memchr(b']', line))
        && close > open
        && parse_ncsa_datetime(&line[open + 1..close]).is_some()
    {
        return Detected::of(LogFormat::Ncsa);
    }
    // HTTPERR's first layout: 13 fields, ports third and fifth after the time.
    let words: Vec<&[u8]> = line.split(|&c| c == b' ').collect();
    let port = |w: &[u8]| !w.is_empty() && w.len() <= 5 && w.iter().all(u8::is_ascii_digit);
    if words.len() == 13
        && parse_date(words[0]).is_some()
        && parse_time(words[1]).is_some()
        && port(words[3])
        && port(words[5])
    {
        return Detected::of(LogFormat::Httperr);
    }
    Detected::of(LogFormat::IisW3c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(text: &str) -> Option<(LogFormat, bool)> {
        detect(text.as_bytes()).map(|d| (d.format, d.ftp))
    }

    #[test]
    fn tells_formats_apart() {
        use LogFormat::*;
        let iis = "#Software: Microsoft Internet Information Services 10.0\n#Fields: date time c-ip cs-method cs-uri-stem sc-status X-Forwarded-For\n";
        assert_eq!(format(iis), Some((IisW3c, false)));
        let ftp = "#Software: Microsoft Internet Information Services 8.5\n#Fields: date time c-ip cs-username s-ip s-port cs-method cs-uri-stem sc-status sc-win32-status sc-substatus x-session x-fullpath\n";
        assert_eq!(format(ftp), Some((IisW3c, true)));
        let httperr =
            "#Software: Microsoft HTTP API 2.0\n#Version: 1.0\n#Fields: date time c-ip c-port\n";
        assert_eq!(format(httperr), Some((Httperr, false)));
        let early = "2002-07-05 18:45:09 172.31.77.6 2094 172.31.77.6 80 HTTP/1.1 GET /x.htm 400 - Hostname -\n";
        assert_eq!(format(early), Some((Httperr, false)));
        let exchange = "#Software: Microsoft Exchange Server\n#Fields: date-time,client-ip\n";
        assert_eq!(format(exchange), Some((W3c, false)));
        let advanced = "#Software: IIS Advanced Logging Module\n#Fields: date-local time-local\n";
        assert_eq!(format(advanced), Some((W3c, false)));
        let native = "192.168.114.201, -, 03/20/01, 7:55:20, W3SVC2, SALES1, 172.21.13.45, 4502, 163, 3223, 200, 0, GET, /DeptLogo.gif, -,\n";
        assert_eq!(format(native), Some((Iis, false)));
        let ncsa = "172.21.13.45 - - [08/Apr/2001:17:39:04 -0800] \"GET / HTTP/1.0\" 200 3401\n";
        assert_eq!(format(ncsa), Some((Ncsa, false)));
        let headerless =
            "2024-01-15 02:10:00 10.0.0.1 GET /owa/ - 443 - 1.2.3.4 Mozilla/5.0 - 200 0 0 15\n";
        assert_eq!(format(headerless), Some((IisW3c, false)));
        assert_eq!(format(""), None);
        assert_eq!(format("\r\n\r\n"), None);
    }
}

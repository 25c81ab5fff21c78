//! Fixed-layout parsing of W3C `date` (`YYYY-MM-DD`) and `time` (`HH:MM:SS[.fff]`) values.

/// Milliseconds in one day.
pub const MS_PER_DAY: i64 = 86_400_000;

fn digits<const N: usize>(b: &[u8]) -> Option<u32> {
    if b.len() < N {
        return None;
    }
    let mut v = 0u32;
    for &c in &b[..N] {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as u32;
    }
    Some(v)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u32;
    let m = month as i32;
    let doy = ((153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5) as u32 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

/// Parses `YYYY-MM-DD` exactly into days since the Unix epoch.
pub fn parse_date(b: &[u8]) -> Option<i32> {
    if b.len() != 10 {
        return None;
    }
    parse_date_prefix(b)
}

/// Parses a `YYYY-MM-DD` at the start of `b`, ignoring anything after it.
pub fn parse_date_prefix(b: &[u8]) -> Option<i32> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits::<4>(b)? as i32;
    let month = digits::<2>(&b[5..])?;
    let day = digits::<2>(&b[8..])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Parses `HH:MM:SS` with an optional fraction (`.f` to `.fffffff`, truncated to milliseconds)
/// into milliseconds since midnight.
pub fn parse_time(b: &[u8]) -> Option<i64> {
    let (ms, used) = parse_time_prefix(b)?;
    (used == b.len()).then_some(ms)
}

/// Parses a time at the start of `b`; returns the milliseconds and the bytes consumed.
pub fn parse_time_prefix(b: &[u8]) -> Option<(i64, usize)> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let h = digits::<2>(b)?;
    let m = digits::<2>(&b[3..])?;
    let s = digits::<2>(&b[6..])?;
    // 60 allows a leap second as written by some loggers.
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let mut ms = ((h * 3600 + m * 60 + s) as i64) * 1000;
    let mut used = 8;
    if b.len() > 8 && b[8] == b'.' {
        let frac = &b[9..];
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let mut f = 0i64;
        for (i, &c) in frac[..n].iter().enumerate().take(3) {
            f += (c - b'0') as i64 * [100, 10, 1][i];
        }
        ms += f;
        used = 9 + n;
    }
    Some((ms, used))
}

/// Parses `YYYY-MM-DD HH:MM:SS` at the start of `b` (as in `#Date:`), ignoring what follows.
/// Returns days since the epoch and the time of day in milliseconds.
pub fn parse_datetime_prefix(b: &[u8]) -> Option<(i32, i64)> {
    let days = parse_date_prefix(b)?;
    let rest = b.get(10..)?;
    let rest = rest
        .strip_prefix(b" ")
        .or_else(|| rest.strip_prefix(b"T"))?;
    let (ms, _) = parse_time_prefix(rest)?;
    Some((days, ms))
}

/// Parses a US date `MM/DD/YY` or `MM/DD/YYYY` (IIS native logs; months and days may have one
/// digit). Two-digit years are 1970-2069.
pub fn parse_us_date(b: &[u8]) -> Option<i32> {
    let mut parts = b.split(|&c| c == b'/');
    let (m, d, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || m.len() > 2 || d.len() > 2 || !(y.len() == 2 || y.len() == 4) {
        return None;
    }
    let num = |p: &[u8]| -> Option<u32> {
        if p.is_empty() || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(p.iter().fold(0u32, |n, &c| n * 10 + (c - b'0') as u32))
    };
    let (month, day, mut year) = (num(m)?, num(d)?, num(y)? as i32);
    if y.len() == 2 {
        year += if year < 70 { 2000 } else { 1900 };
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Parses a time whose hour may have one digit (`7:55:20`, IIS native), or [`parse_time`]'s
/// `HH:MM:SS[.fff]`.
pub fn parse_time_lenient(b: &[u8]) -> Option<i64> {
    if b.len() >= 2 && b[1] == b':' {
        let mut padded = [b'0'; 32];
        let n = b.len().min(31);
        padded[1..=n].copy_from_slice(&b[..n]);
        return parse_time(&padded[..=n]);
    }
    parse_time(b)
}

/// Parses a whole date and time into milliseconds since the epoch, UTC: ISO 8601
/// (`2024-01-15 02:10:00`, `2024-01-15T02:10:00.123Z`, with an optional `Z` or `+hh:mm` offset)
/// or NCSA's `10/Oct/2000:13:55:36 -0700`. A value without an offset is taken as it is.
pub fn parse_datetime(b: &[u8]) -> Option<i64> {
    if b.len() >= 20 && b[2] == b'/' && b[6] == b'/' {
        return parse_ncsa_datetime(b);
    }
    let days = parse_date_prefix(b)?;
    if b.len() == 10 {
        return Some(days as i64 * MS_PER_DAY);
    }
    if !matches!(b[10], b' ' | b'T') {
        return None;
    }
    let (ms, used) = parse_time_prefix(&b[11..])?;
    let rest = &b[11 + used..];
    let offset = parse_offset(rest)?;
    Some(days as i64 * MS_PER_DAY + ms - offset)
}

/// A UTC offset in milliseconds: empty, `Z`, `+hh:mm`, `+hhmm` or ` +hhmm`.
fn parse_offset(rest: &[u8]) -> Option<i64> {
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    match rest {
        b"" | b"Z" | b"z" => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, tail @ ..] => {
            let tail = tail.strip_prefix(b":").unwrap_or(tail);
            let [m1, m2] = tail else { return None };
            let h = digits::<2>(&[*h1, *h2])? as i64;
            let m = digits::<2>(&[*m1, *m2])? as i64;
            let ms = (h * 60 + m) * 60_000;
            Some(if *sign == b'-' { -ms } else { ms })
        }
        _ => None,
    }
}

/// Parses NCSA's `dd/Mon/yyyy:hh:mm:ss +hhmm` into milliseconds since the epoch, UTC.
pub fn parse_ncsa_datetime(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    let day = digits::<2>(b)?;
    const MONTHS: [&[u8; 3]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let mon = [
        b[3].to_ascii_lowercase(),
        b[4].to_ascii_lowercase(),
        b[5].to_ascii_lowercase(),
    ];
    let month = MONTHS.iter().position(|m| **m == mon)? as u32 + 1;
    let year = digits::<4>(&b[7..])? as i32;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let (ms, used) = parse_time_prefix(&b[12..])?;
    let offset = parse_offset(&b[12 + used..])?;
    Some(days_from_civil(year, month, day) as i64 * MS_PER_DAY + ms - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date(b"1970-01-01"), Some(0));
        assert_eq!(parse_date(b"2000-03-01"), Some(11017));
        assert_eq!(parse_date(b"2024-02-29"), Some(19782));
        assert_eq!(parse_date(b"2023-02-29"), None);
        assert_eq!(parse_date(b"2023-13-01"), None);
        assert_eq!(parse_date(b"2023-1-01"), None);
        assert_eq!(parse_date(b"1969-12-31"), Some(-1));
    }

    #[test]
    fn times() {
        assert_eq!(parse_time(b"00:00:00"), Some(0));
        assert_eq!(parse_time(b"23:59:59"), Some(86_399_000));
        assert_eq!(parse_time(b"01:02:03.5"), Some(3_723_500));
        assert_eq!(parse_time(b"01:02:03.1234567"), Some(3_723_123));
        assert_eq!(parse_time(b"24:00:00"), None);
        assert_eq!(parse_time(b"01:02:03x"), None);
        assert_eq!(parse_time(b"01:02:03."), None);
    }

    #[test]
    fn directive_datetime() {
        assert_eq!(
            parse_datetime_prefix(b"2009-08-17 05:30:52 junk"),
            Some((parse_date(b"2009-08-17").unwrap(), 19_852_000))
        );
        assert_eq!(parse_datetime_prefix(b"2009-08-17"), None);
    }

    #[test]
    fn other_formats() {
        let d = |s: &[u8]| parse_date(s).unwrap() as i64 * MS_PER_DAY;
        assert_eq!(parse_us_date(b"03/20/01"), parse_date(b"2001-03-20"));
        assert_eq!(parse_us_date(b"3/2/1999"), parse_date(b"1999-03-02"));
        assert_eq!(parse_us_date(b"02/30/01"), None);
        assert_eq!(parse_time_lenient(b"7:55:20"), Some(28_520_000));
        assert_eq!(parse_time_lenient(b"17:55:20"), Some(64_520_000));
        assert_eq!(
            parse_datetime(b"2024-01-15T02:10:00.123Z"),
            Some(d(b"2024-01-15") + 7_800_123)
        );
        assert_eq!(
            parse_datetime(b"2024-01-15 02:10:00+01:00"),
            Some(d(b"2024-01-15") + 7_800_000 - 3_600_000)
        );
        assert_eq!(
            parse_datetime(b"10/Oct/2000:13:55:36 -0700"),
            Some(d(b"2000-10-10") + (20 * 3600 + 55 * 60 + 36) * 1000)
        );
        assert_eq!(parse_datetime(b"10/Foo/2000:13:55:36 -0700"), None);
        assert_eq!(parse_datetime(b"2024-01-15x"), None);
    }
}

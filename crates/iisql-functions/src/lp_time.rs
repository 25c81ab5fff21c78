//! Log Parser's timestamp functions: `TO_TIMESTAMP` in its three forms, `TO_DATE`, `TO_TIME`,
//! `TO_STRING` with Log Parser's format specifiers, `TO_LOCALTIME` / `TO_UTCTIME` with an
//! explicit or configured IANA zone (never the host's), `SYSTEM_TIMESTAMP`.
//!
//! DataFusion has functions called `to_timestamp`, `to_date` and `to_time` with other
//! arguments, so Log Parser's are `lp_to_timestamp`, `lp_to_date` and `lp_to_time`.
//! Timestamps are UTC instants (`Timestamp(ms, "UTC")`); `to_localtime` gives the wall-clock
//! time of a zone as a timestamp without zone, so `quantize(to_localtime(t, 'Europe/Berlin'),
//! 86400)` buckets by local days, as Log Parser does.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, StringArray, Time64MicrosecondArray,
    TimestampMillisecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};

use super::is_text;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// A Log Parser timestamp format (`yyyy-MM-dd hh:mm:ss`) as a chrono format. For parsing
/// (`parse`), numbers are read with or without their leading zero.
pub fn chrono_format(lp: &str, parse: bool) -> String {
    let twelve = lp.contains("tt");
    let chars: Vec<char> = lp.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let pad = |padded: &str, bare: &str| {
            if n >= 2 || parse {
                padded.to_string()
            } else {
                bare.to_string()
            }
        };
        let piece = match c {
            'y' => (if n >= 3 { "%Y" } else { "%y" }).to_string(),
            'M' => match n {
                4.. => "%B".into(),
                3 => "%b".into(),
                _ => pad("%m", "%-m"),
            },
            'd' => match n {
                4.. => "%A".into(),
                3 => "%a".into(),
                _ => pad("%d", "%-d"),
            },
            'h' | 'H' if twelve => pad("%I", "%-I"),
            'h' | 'H' => pad("%H", "%-H"),
            'm' => pad("%M", "%-M"),
            's' => pad("%S", "%-S"),
            'l' => "%3f".into(),
            'n' => "%9f".into(),
            't' => "%p".into(),
            '%' => "%%".repeat(n),
            other => other.to_string().repeat(n),
        };
        out.push_str(&piece);
        i += n;
    }
    out
}

/// Parses `text` with a Log Parser format into milliseconds since the Unix epoch (UTC). A
/// format with only date parts gives midnight; one with only time parts, that time on
/// 1970-01-01.
pub fn parse_timestamp(text: &str, lp_format: &str) -> Option<i64> {
    let f = chrono_format(lp_format, true);
    let has_date = lp_format.contains(['y', 'M', 'd']);
    let has_time = lp_format.contains(['h', 'H', 'm', 's']);
    let t = text.trim();
    let dt = match (has_date, has_time) {
        (true, true) => NaiveDateTime::parse_from_str(t, &f).ok()?,
        (true, false) => NaiveDate::parse_from_str(t, &f)
            .ok()?
            .and_time(NaiveTime::MIN),
        (false, true) => {
            NaiveDate::from_ymd_opt(1970, 1, 1)?.and_time(NaiveTime::parse_from_str(t, &f).ok()?)
        }
        (false, false) => return None,
    };
    Some(dt.and_utc().timestamp_millis())
}

/// Milliseconds since the epoch written with a Log Parser format.
pub fn format_timestamp(ms: i64, lp_format: &str) -> Option<String> {
    let dt = DateTime::from_timestamp_millis(ms)?;
    let f = chrono_format(lp_format, false);
    let mut s = String::new();
    use std::fmt::Write;
    write!(s, "{}", dt.naive_utc().format(&f)).ok()?;
    Some(s)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    ToTimestamp,
    ToDate,
    ToTime,
    ToString,
    ToLocal,
    ToUtc,
    Now,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TimeUdf {
    name: &'static str,
    op: Op,
    signature: Signature,
}

fn is_time(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64
    )
}

fn utc() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

fn naive() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

const DAY_MS: i64 = 86_400_000;

/// Milliseconds since the epoch of a timestamp or date array (whatever its zone).
fn millis(a: &ArrayRef) -> Result<Vec<Option<i64>>> {
    // A zone is kept: casting it away would shift the instants to local time.
    let as_ms = match a.data_type() {
        DataType::Dictionary(_, values) => return millis(&cast(a, values)?),
        DataType::Timestamp(_, zone) => DataType::Timestamp(TimeUnit::Millisecond, zone.clone()),
        DataType::Date32 | DataType::Date64 | DataType::Null => naive(),
        other => {
            return Err(DataFusionError::Execution(format!(
                "a {other} column is not a point in time"
            )));
        }
    };
    let ms = cast(&cast(a, &as_ms)?, &DataType::Int64)?;
    Ok(ms.as_primitive::<Int64Type>().iter().collect())
}

fn texts(a: &ArrayRef) -> Result<Vec<Option<String>>> {
    let s = cast(a, &DataType::Utf8)?;
    Ok(s.as_string::<i32>()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

fn zone(name: &str) -> Result<chrono_tz::Tz> {
    name.parse::<chrono_tz::Tz>().map_err(|_| {
        DataFusionError::Execution(format!(
            "unknown time zone `{name}` (an IANA name such as Europe/Berlin or America/New_York)"
        ))
    })
}

impl TimeUdf {
    fn udf(name: &'static str, op: Op) -> ScalarUDF {
        let volatility = if op == Op::Now {
            Volatility::Volatile
        } else {
            Volatility::Immutable
        };
        ScalarUDF::new_from_impl(Self {
            name,
            op,
            signature: Signature::user_defined(volatility),
        })
    }

    fn err(&self, msg: impl std::fmt::Display) -> DataFusionError {
        DataFusionError::Plan(format!("{}(): {msg}", self.name))
    }
}

impl ScalarUDFImpl for TimeUdf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.op {
            Op::ToTimestamp | Op::ToUtc | Op::Now => utc(),
            Op::ToLocal => naive(),
            Op::ToDate => DataType::Date32,
            Op::ToTime => DataType::Time64(TimeUnit::Microsecond),
            Op::ToString => DataType::Utf8,
        })
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let n = args.len();
        let ok = match self.op {
            Op::Now => n == 0,
            Op::ToTimestamp => match args {
                [s, f] if is_text(s) && is_text(f) => true,
                [d, t]
                    if is_time(d)
                        && (is_time(t)
                            || matches!(t, DataType::Time64(_) | DataType::Time32(_))) =>
                {
                    true
                }
                [x] if x.is_numeric() || matches!(x, DataType::Null) => true,
                _ => false,
            },
            Op::ToDate | Op::ToTime => n == 1 && (is_time(&args[0]) || args[0] == DataType::Null),
            Op::ToString => match args {
                [x] => !matches!(x, DataType::List(_)),
                [t, f] => (is_time(t) || t == &DataType::Null) && is_text(f),
                _ => false,
            },
            Op::ToLocal | Op::ToUtc => {
                (n == 1 || (n == 2 && is_text(&args[1])))
                    && (is_time(&args[0]) || args[0] == DataType::Null)
            }
        };
        if !ok {
            let usage = match self.op {
                Op::Now => "takes no argument",
                Op::ToTimestamp => {
                    "takes (text, format), (date, time) or (seconds since 1970-01-01)"
                }
                Op::ToDate | Op::ToTime => "takes a timestamp",
                Op::ToString => "takes a value, or a timestamp and a format",
                Op::ToLocal | Op::ToUtc => "takes a timestamp and an optional IANA time zone",
            };
            let got: Vec<String> = args.iter().map(|t| t.to_string()).collect();
            return Err(self.err(format!("{usage}; got ({})", got.join(", "))));
        }
        Ok(args.to_vec())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let configured = args.config_options.execution.time_zone.clone();
        super::eval_arrays(&args.args, args.number_rows, |a, rows| {
            self.eval(a, rows, configured.as_deref())
        })
    }
}

impl TimeUdf {
    fn eval(&self, a: &[ArrayRef], rows: usize, configured: Option<&str>) -> Result<ArrayRef> {
        let ts = |v: Vec<Option<i64>>, tz: Option<&str>| -> ArrayRef {
            let arr = TimestampMillisecondArray::from(v);
            Arc::new(match tz {
                Some(z) => arr.with_timezone(z),
                None => arr,
            })
        };
        match self.op {
            Op::Now => Ok(ts(
                vec![Some(chrono::Utc::now().timestamp_millis()); rows],
                Some("UTC"),
            )),
            Op::ToTimestamp => {
                if a.len() == 1 {
                    let secs = cast(&a[0], &DataType::Float64)?;
                    let v = secs.as_primitive::<Float64Type>();
                    let out = v
                        .iter()
                        .map(|s| {
                            s.filter(|s| s.is_finite())
                                .map(|s| (s * 1000.0).floor() as i64)
                        })
                        .collect();
                    return Ok(ts(out, Some("UTC")));
                }
                if is_text(a[0].data_type()) {
                    let s = texts(&a[0])?;
                    let f = texts(&a[1])?;
                    let out = s
                        .iter()
                        .zip(&f)
                        .map(|(s, f)| parse_timestamp(s.as_deref()?, f.as_deref()?))
                        .collect();
                    return Ok(ts(out, Some("UTC")));
                }
                // A date and a time of day.
                let d = millis(&a[0])?;
                let t: Vec<Option<i64>> = match a[1].data_type() {
                    DataType::Time32(_) | DataType::Time64(_) => {
                        let us = cast(&a[1], &DataType::Time64(TimeUnit::Microsecond))?;
                        let us = cast(&us, &DataType::Int64)?;
                        us.as_primitive::<Int64Type>()
                            .iter()
                            .map(|v| v.map(|v| v / 1000))
                            .collect()
                    }
                    _ => millis(&a[1])?
                        .into_iter()
                        .map(|v| v.map(|v| v.rem_euclid(DAY_MS)))
                        .collect(),
                };
                let out = d
                    .iter()
                    .zip(&t)
                    .map(|(d, t)| Some(d.as_ref()?.div_euclid(DAY_MS) * DAY_MS + t.as_ref()?))
                    .collect();
                Ok(ts(out, Some("UTC")))
            }
            Op::ToDate => {
                let m = millis(&a[0])?;
                Ok(Arc::new(Date32Array::from(
                    m.iter()
                        .map(|v| v.map(|v| v.div_euclid(DAY_MS) as i32))
                        .collect::<Vec<_>>(),
                )))
            }
            Op::ToTime => {
                let m = millis(&a[0])?;
                Ok(Arc::new(Time64MicrosecondArray::from(
                    m.iter()
                        .map(|v| v.map(|v| v.rem_euclid(DAY_MS) * 1000))
                        .collect::<Vec<_>>(),
                )))
            }
            Op::ToString => {
                if a.len() == 1 {
                    return Ok(cast(&a[0], &DataType::Utf8)?);
                }
                let m = millis(&a[0])?;
                let f = texts(&a[1])?;
                Ok(Arc::new(StringArray::from(
                    m.iter()
                        .zip(&f)
                        .map(|(m, f)| format_timestamp((*m)?, f.as_deref()?))
                        .collect::<Vec<_>>(),
                )))
            }
            Op::ToLocal | Op::ToUtc => {
                let names: Vec<Option<String>> = match a.get(1) {
                    Some(z) => texts(z)?,
                    None => vec![configured.map(str::to_string); a[0].len()],
                };
                if names.iter().any(Option::is_none) && a.get(1).is_none() {
                    return Err(DataFusionError::Execution(format!(
                        "{}() needs a time zone: {}(timestamp, 'Europe/Berlin'), SET \
                         datafusion.execution.time_zone = 'Europe/Berlin', or iisql \
                         --time-zone ZONE; in DataFusion's SQL the host's zone is never assumed",
                        self.name, self.name
                    )));
                }
                let m = millis(&a[0])?;
                let mut out = Vec::with_capacity(m.len());
                for (v, z) in m.iter().zip(&names) {
                    let (Some(v), Some(z)) = (v, z) else {
                        out.push(None);
                        continue;
                    };
                    let tz = zone(z)?;
                    out.push(if self.op == Op::ToLocal {
                        DateTime::from_timestamp_millis(*v).map(|utc| {
                            utc.with_timezone(&tz)
                                .naive_local()
                                .and_utc()
                                .timestamp_millis()
                        })
                    } else {
                        // A wall-clock time that happens twice (autumn) is the earlier; one
                        // that never happens (spring) has none.
                        DateTime::from_timestamp_millis(*v)
                            .and_then(|w| tz.from_local_datetime(&w.naive_utc()).earliest())
                            .map(|d| d.timestamp_millis())
                    });
                }
                Ok(ts(
                    out,
                    if self.op == Op::ToLocal {
                        None
                    } else {
                        Some("UTC")
                    },
                ))
            }
        }
    }
}

/// The functions of this module.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        TimeUdf::udf("lp_to_timestamp", Op::ToTimestamp),
        TimeUdf::udf("lp_to_date", Op::ToDate),
        TimeUdf::udf("lp_to_time", Op::ToTime),
        TimeUdf::udf("to_string", Op::ToString),
        TimeUdf::udf("to_localtime", Op::ToLocal),
        TimeUdf::udf("to_utctime", Op::ToUtc),
        TimeUdf::udf("system_timestamp", Op::Now),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_parser_formats() {
        assert_eq!(
            chrono_format("yyyy-MM-dd hh:mm:ss", false),
            "%Y-%m-%d %H:%M:%S"
        );
        assert_eq!(
            chrono_format("M/d/yy h:mm tt", false),
            "%-m/%-d/%y %-I:%M %p"
        );
        assert_eq!(chrono_format("dddd, MMMM d", false), "%A, %B %-d");
        assert_eq!(chrono_format("hh:mm:ss.ll", false), "%H:%M:%S.%3f");
        let ms = parse_timestamp("2004-05-28 10:23:15", "yyyy-MM-dd hh:mm:ss").unwrap();
        assert_eq!(
            format_timestamp(ms, "dd/MM/yyyy hh.mm").unwrap(),
            "28/05/2004 10.23"
        );
        assert_eq!(
            parse_timestamp("5/28/04 1:05 PM", "M/d/yy h:mm tt"),
            parse_timestamp("2004-05-28 13:05:00", "yyyy-MM-dd hh:mm:ss")
        );
        assert_eq!(parse_timestamp("nonsense", "yyyy-MM-dd"), None);
    }
}

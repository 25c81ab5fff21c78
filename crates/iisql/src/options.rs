//! Options of the IIS W3C format: the same struct serves `CREATE EXTERNAL TABLE ... OPTIONS`,
//! the Rust API and the CLI.

use std::collections::HashMap;
use std::str::FromStr;

use datafusion::datasource::file_format::file_compression_type::FileCompressionType;

use iis_log::LogFormat;

use crate::error::IisqlError;

/// How IIS logs are read: the format, and the options of `CREATE EXTERNAL TABLE ... OPTIONS`.
#[derive(Debug, Clone)]
pub struct IisW3cOptions {
    /// The log format (IIS W3C unless set). Set by `STORED AS` (`IISW3C`, `HTTPERR`, `W3C`,
    /// `IIS`, `NCSA`); SQL key: `format`.
    pub format: LogFormat,
    /// The server's IANA time zone, for logs in local time (IIS native, `date-local`): their
    /// `timestamp` is that wall clock in UTC. Never the host's zone. SQL key: `time_zone`.
    pub time_zone: Option<chrono_tz::Tz>,
    /// Column types given for generic W3C fields instead of sniffed ones:
    /// `name=type, ...` with types `text`, `int`, `real`, `timestamp`. SQL key: `types`.
    pub types: Option<String>,
    /// Data lines per file whose values decide generic W3C column types (Log Parser's
    /// `dtLines`; 0: every field is text). SQL key: `sample_rows`.
    pub sample_rows: usize,
    /// For zip archives: read only the members whose content is of this table (`logs`,
    /// `httperr`...), as [`register_detected`](crate::register_detected) sets it; `None`: every
    /// log member.
    pub member_table: Option<String>,
    /// Incremental reading: per file (absolute path), the byte range `[start, end)` whose lines
    /// are read ([`Checkpoint::plan`](crate::checkpoint::Checkpoint::plan)); files not named are
    /// read whole.
    pub ranges: Option<std::sync::Arc<HashMap<String, (u64, u64)>>>,
    /// Field list (W3C names, space- or comma-separated) for lines that come before any `#Fields`
    /// directive, such as headerless files. `None`: IIS's default layout. SQL key: `fields`.
    pub fields: Option<String>,
    /// Fail a scan once more than this many lines were rejected (Log Parser's `-e`).
    /// SQL key: `max_errors`.
    pub max_errors: Option<u64>,
    /// Fail on the first rejected line or unreadable value. SQL key: `strict`.
    pub strict: bool,
    /// Compression of the files (`gzip`, `zstd`, `bzip2`, `xz`, `uncompressed`).
    /// SQL key: `compression`.
    pub compression: FileCompressionType,
    /// Longest line read as a line (bytes); a longer one is rejected without being held in
    /// memory. SQL key: `max_line_bytes`.
    pub max_line_bytes: usize,
}

impl Default for IisW3cOptions {
    fn default() -> Self {
        Self {
            format: LogFormat::IisW3c,
            time_zone: None,
            types: None,
            sample_rows: iis_log::sniff::DEFAULT_SAMPLE_ROWS,
            member_table: None,
            ranges: None,
            fields: None,
            max_errors: None,
            strict: false,
            compression: FileCompressionType::UNCOMPRESSED,
            max_line_bytes: iis_log::chunker::DEFAULT_MAX_LINE,
        }
    }
}

fn bad(key: &str, message: impl Into<String>) -> IisqlError {
    IisqlError::BadOption {
        key: key.to_string(),
        message: message.into(),
    }
}

impl IisW3cOptions {
    /// Sets the log format.
    pub fn with_format(mut self, format: LogFormat) -> Self {
        self.format = format;
        self
    }

    /// Sets the server's time zone (for logs in local time).
    pub fn with_time_zone(mut self, tz: chrono_tz::Tz) -> Self {
        self.time_zone = Some(tz);
        self
    }

    /// The types given by the `types` option: column name -> type.
    pub fn given_types(&self) -> Result<Vec<(String, iis_log::ValueType)>, IisqlError> {
        let Some(types) = &self.types else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for item in types
            .split([',', ';'])
            .map(str::trim)
            .filter(|i| !i.is_empty())
        {
            let Some((name, t)) = item.split_once('=') else {
                return Err(bad("types", format!("`{item}`: expected name=type")));
            };
            let t = match t.trim().to_ascii_lowercase().as_str() {
                "text" | "string" | "utf8" => iis_log::ValueType::Text,
                "int" | "integer" | "bigint" | "int64" => iis_log::ValueType::Int64,
                "real" | "double" | "float" | "float64" => iis_log::ValueType::Float64,
                "timestamp" | "datetime" => iis_log::ValueType::DateTime,
                other => {
                    return Err(bad(
                        "types",
                        format!("`{other}`: expected text, int, real or timestamp"),
                    ));
                }
            };
            out.push((iis_log::column_name(name.trim()), t));
        }
        Ok(out)
    }

    /// Sets the field list for lines before any `#Fields`.
    pub fn with_fields(mut self, fields: impl Into<String>) -> Self {
        self.fields = Some(fields.into());
        self
    }

    /// Sets the rejected-line limit.
    pub fn with_max_errors(mut self, max: u64) -> Self {
        self.max_errors = Some(max);
        self
    }

    /// Turns strict mode on or off.
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Sets the compression of the files.
    pub fn with_compression(mut self, compression: FileCompressionType) -> Self {
        self.compression = compression;
        self
    }

    /// The options as `key = value` pairs that [`Self::apply`] reads back into the same
    /// options: how they travel in a serialized plan (Ballista). `member_table` and `ranges`
    /// have no SQL key and are not among them.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = vec![
            ("format".to_string(), self.format.name().to_string()),
            ("sample_rows".to_string(), self.sample_rows.to_string()),
            ("strict".to_string(), self.strict.to_string()),
            (
                "compression".to_string(),
                self.compression.get_variant().to_string(),
            ),
            (
                "max_line_bytes".to_string(),
                self.max_line_bytes.to_string(),
            ),
        ];
        if let Some(tz) = self.time_zone {
            pairs.push(("time_zone".to_string(), tz.name().to_string()));
        }
        if let Some(types) = &self.types {
            pairs.push(("types".to_string(), types.clone()));
        }
        if let Some(fields) = &self.fields {
            pairs.push(("fields".to_string(), fields.clone()));
        }
        if let Some(max) = self.max_errors {
            pairs.push(("max_errors".to_string(), max.to_string()));
        }
        pairs
    }

    /// Applies `key = value` pairs (keys may carry a `format.` prefix, as DataFusion passes
    /// `OPTIONS (...)` of `CREATE EXTERNAL TABLE`).
    pub fn apply(&mut self, options: &HashMap<String, String>) -> Result<(), IisqlError> {
        for (k, v) in options {
            let key = k.strip_prefix("format.").unwrap_or(k).to_ascii_lowercase();
            match key.as_str() {
                "fields" => self.fields = Some(v.clone()),
                "format" => {
                    self.format = v.parse().map_err(|e: String| bad(&key, e))?;
                }
                "time_zone" | "time-zone" | "tz" => {
                    self.time_zone = Some(v.trim().parse().map_err(|_| {
                        bad(
                            &key,
                            format!("`{v}` is not an IANA time zone (such as Europe/Berlin)"),
                        )
                    })?)
                }
                "types" => {
                    self.types = Some(v.clone());
                    self.given_types()?;
                }
                "sample_rows" | "dtlines" => {
                    self.sample_rows = v
                        .trim()
                        .parse()
                        .map_err(|_| bad(&key, format!("expected a whole number, got `{v}`")))?
                }
                "max_errors" | "max-errors" => {
                    self.max_errors =
                        Some(v.trim().parse().map_err(|_| {
                            bad(&key, format!("expected a whole number, got `{v}`"))
                        })?)
                }
                "strict" => {
                    self.strict = match v.trim().to_ascii_lowercase().as_str() {
                        "true" | "on" | "1" | "yes" => true,
                        "false" | "off" | "0" | "no" => false,
                        _ => return Err(bad(&key, format!("expected true or false, got `{v}`"))),
                    }
                }
                "compression" => {
                    let name = match v.trim().to_ascii_lowercase().as_str() {
                        "gz" => "gzip".to_string(),
                        "bz2" => "bzip2".to_string(),
                        "zst" => "zstd".to_string(),
                        "none" | "" => "uncompressed".to_string(),
                        other => other.to_string(),
                    };
                    self.compression = FileCompressionType::from_str(&name)
                        .map_err(|e| bad(&key, e.to_string()))?;
                }
                "max_line_bytes" | "max-line-bytes" => {
                    self.max_line_bytes = v
                        .trim()
                        .parse()
                        .map_err(|_| bad(&key, format!("expected a number of bytes, got `{v}`")))?
                }
                // DataFusion adds these for every format; they do not concern us.
                "has_header" | "delimiter" | "schema_infer_max_rec" => {}
                _ => {
                    return Err(bad(
                        &key,
                        "unknown option (known: fields, max_errors, strict, compression, \
                         max_line_bytes, time_zone, types, sample_rows)",
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_read_back_into_the_same_options() {
        let given = IisW3cOptions {
            format: LogFormat::Ncsa,
            time_zone: Some(chrono_tz::Europe::Berlin),
            types: Some("x=int".to_string()),
            sample_rows: 7,
            fields: Some("date time c-ip".to_string()),
            max_errors: Some(4),
            strict: true,
            compression: FileCompressionType::ZSTD,
            max_line_bytes: 1234,
            ..Default::default()
        };
        let mut back = IisW3cOptions::default();
        back.apply(&given.to_pairs().into_iter().collect()).unwrap();
        assert_eq!(format!("{back:?}"), format!("{given:?}"));
        let mut plain = IisW3cOptions::default();
        plain
            .apply(&IisW3cOptions::default().to_pairs().into_iter().collect())
            .unwrap();
        assert_eq!(
            format!("{plain:?}"),
            format!("{:?}", IisW3cOptions::default())
        );
    }

    #[test]
    fn parses_sql_options() {
        let mut o = IisW3cOptions::default();
        let m: HashMap<String, String> = [
            ("format.fields", "date time c-ip"),
            ("max_errors", "3"),
            ("strict", "true"),
            ("compression", "gz"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        o.apply(&m).unwrap();
        assert_eq!(o.fields.as_deref(), Some("date time c-ip"));
        assert_eq!(o.max_errors, Some(3));
        assert!(o.strict);
        assert!(o.compression.is_compressed());
        let bad: HashMap<String, String> = [("nope".to_string(), "1".to_string())].into();
        assert!(o.apply(&bad).is_err());
    }
}

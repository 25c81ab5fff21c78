//! Options of the IIS W3C format: the same struct serves `CREATE EXTERNAL TABLE ... OPTIONS`,
//! the Rust API and the CLI.

use std::collections::HashMap;
use std::str::FromStr;

use datafusion::datasource::file_format::file_compression_type::FileCompressionType;

use crate::error::IisqlError;

/// How IIS W3C logs are read.
#[derive(Debug, Clone)]
pub struct IisW3cOptions {
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

    /// Applies `key = value` pairs (keys may carry a `format.` prefix, as DataFusion passes
    /// `OPTIONS (...)` of `CREATE EXTERNAL TABLE`).
    pub fn apply(&mut self, options: &HashMap<String, String>) -> Result<(), IisqlError> {
        for (k, v) in options {
            let key = k.strip_prefix("format.").unwrap_or(k).to_ascii_lowercase();
            match key.as_str() {
                "fields" => self.fields = Some(v.clone()),
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
                        "unknown option (known: fields, max_errors, strict, compression, max_line_bytes)",
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

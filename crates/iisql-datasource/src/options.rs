//! Options of the IIS formats, declared once: the [`KEYS`] table names every option that has
//! a key, its aliases, its documentation, how it reads from text and how it prints. That one
//! table serves `CREATE EXTERNAL TABLE ... OPTIONS (...)` ([`IisW3cOptions::apply`]), the
//! session settings `SET iis.<key> = ...` (the [`ConfigExtension`] with prefix `iis`), the
//! CLI's flags, and the options of a plan sent to a cluster ([`IisW3cOptions::to_pairs`]).

use std::any::Any;
use std::collections::HashMap;
use std::str::FromStr;

use datafusion::common::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;

use iis_log::{LogFormat, ValueType};

use crate::error::IisqlError;

/// How IIS logs are read: the format, and the options of `CREATE EXTERNAL TABLE ... OPTIONS`.
#[derive(Debug, Clone)]
pub struct IisW3cOptions {
    /// The log format (IIS W3C unless set). Set by `STORED AS` (`IISW3C`, `HTTPERR`, `W3C`,
    /// `IIS`, `NCSA`); key: `format`.
    pub format: LogFormat,
    /// The server's IANA time zone, for logs in local time (IIS native, `date-local`): their
    /// `timestamp` is that wall clock in UTC. Never the host's zone. Key: `time_zone`.
    pub time_zone: Option<chrono_tz::Tz>,
    /// Column types given for generic W3C fields instead of sniffed ones (column name, type).
    /// Key: `types`, written `name=type, ...` with types `text`, `int`, `real`, `timestamp`.
    pub types: Vec<(String, ValueType)>,
    /// Data lines per file whose values decide generic W3C column types (Log Parser's
    /// `dtLines`; 0: every field is text). Key: `sample_rows`.
    pub sample_rows: usize,
    /// For zip archives: read only the members whose content is of this table (`logs`,
    /// `httperr`...), as [`register_detected`](crate::register_detected) sets it; `None`: every
    /// log member. No key.
    pub member_table: Option<String>,
    /// Incremental reading: per file (absolute path), the byte range `[start, end)` whose lines
    /// are read ([`Checkpoint::plan`](crate::checkpoint::Checkpoint::plan)); files not named are
    /// read whole. No key.
    pub ranges: Option<std::sync::Arc<HashMap<String, (u64, u64)>>>,
    /// Field names (W3C names) for lines that come before any `#Fields` directive, such as
    /// headerless files. `None`: IIS's default layout. Key: `fields`, space- or
    /// comma-separated.
    pub fields: Option<Vec<String>>,
    /// Fail a scan once more than this many lines were rejected (Log Parser's `-e`).
    /// Key: `max_errors`.
    pub max_errors: Option<u64>,
    /// Fail on the first rejected line or unreadable value. Key: `strict`.
    pub strict: bool,
    /// Compression of the files (`gzip`, `zstd`, `bzip2`, `xz`, `uncompressed`).
    /// Key: `compression`.
    pub compression: FileCompressionType,
    /// Longest line read as a line (bytes); a longer one is rejected without being held in
    /// memory. Key: `max_line_bytes`.
    pub max_line_bytes: usize,
}

impl Default for IisW3cOptions {
    fn default() -> Self {
        Self {
            format: LogFormat::IisW3c,
            time_zone: None,
            types: Vec::new(),
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

/// One option with a key: its names, what it means, and how it reads and prints.
pub struct OptionKey {
    /// The key (`OPTIONS ('time_zone' ...)`, `SET iis.time_zone`).
    pub key: &'static str,
    /// Other spellings accepted when reading (Log Parser's, the CLI's).
    pub aliases: &'static [&'static str],
    /// What it does.
    pub doc: &'static str,
    /// Reads the value from text into the options.
    set: fn(&mut IisW3cOptions, &str) -> Result<(), String>,
    /// The value as text, `None` when unset.
    get: fn(&IisW3cOptions) -> Option<String>,
}

/// Every option that has a key, in the order they are listed.
pub const KEYS: &[OptionKey] = &[
    OptionKey {
        key: "format",
        aliases: &[],
        doc: "log format: iisw3c, httperr, w3c, iis, ncsa",
        set: |o, v| {
            o.format = v.parse()?;
            Ok(())
        },
        get: |o| Some(o.format.name().to_string()),
    },
    OptionKey {
        key: "time_zone",
        aliases: &["time-zone", "tz"],
        doc: "the server's IANA time zone, for logs in local time",
        set: |o, v| {
            let tz = v
                .trim()
                .parse()
                .map_err(|_| format!("`{v}` is not an IANA time zone (such as Europe/Berlin)"))?;
            o.time_zone = Some(tz);
            Ok(())
        },
        get: |o| o.time_zone.map(|tz| tz.name().to_string()),
    },
    OptionKey {
        key: "types",
        aliases: &[],
        doc: "types of generic W3C fields: name=type, ... (text, int, real, timestamp)",
        set: |o, v| {
            o.types = parse_types(v)?;
            Ok(())
        },
        get: |o| (!o.types.is_empty()).then(|| print_types(&o.types)),
    },
    OptionKey {
        key: "sample_rows",
        aliases: &["dtlines"],
        doc: "data lines per file that decide generic W3C column types (0: all text)",
        set: |o, v| {
            o.sample_rows = whole(v)?;
            Ok(())
        },
        get: |o| Some(o.sample_rows.to_string()),
    },
    OptionKey {
        key: "fields",
        aliases: &[],
        doc: "field names for lines before any #Fields (headerless files); '': IIS's layout",
        set: |o, v| {
            o.fields = Some(parse_fields(v)).filter(|f| !f.is_empty());
            Ok(())
        },
        get: |o| o.fields.as_ref().map(|f| f.join(" ")),
    },
    OptionKey {
        key: "max_errors",
        aliases: &["max-errors"],
        doc: "fail once more than this many lines were rejected",
        set: |o, v| {
            o.max_errors = Some(whole(v)?);
            Ok(())
        },
        get: |o| o.max_errors.map(|m| m.to_string()),
    },
    OptionKey {
        key: "strict",
        aliases: &[],
        doc: "fail on the first rejected line or unreadable value",
        set: |o, v| {
            o.strict = boolean(v)?;
            Ok(())
        },
        get: |o| Some(o.strict.to_string()),
    },
    OptionKey {
        key: "compression",
        aliases: &[],
        doc: "compression of the files: gzip, zstd, bzip2, xz, uncompressed",
        set: |o, v| {
            o.compression = compression(v)?;
            Ok(())
        },
        get: |o| {
            let c = o.compression;
            Some(match c.is_compressed() {
                true => c.get_variant().to_string().to_ascii_lowercase(),
                false => "uncompressed".to_string(),
            })
        },
    },
    OptionKey {
        key: "max_line_bytes",
        aliases: &["max-line-bytes"],
        doc: "longest line read as a line, in bytes; longer ones are rejected",
        set: |o, v| {
            o.max_line_bytes = whole(v)?;
            Ok(())
        },
        get: |o| Some(o.max_line_bytes.to_string()),
    },
];

/// Keys DataFusion passes to every format; they do not concern IIS logs.
const IGNORED: &[&str] = &["has_header", "delimiter", "schema_infer_max_rec"];

fn whole<T: FromStr>(v: &str) -> Result<T, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("expected a whole number, got `{v}`"))
}

fn boolean(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "1" | "yes" => Ok(true),
        "false" | "off" | "0" | "no" => Ok(false),
        _ => Err(format!("expected true or false, got `{v}`")),
    }
}

fn compression(v: &str) -> Result<FileCompressionType, String> {
    let name = match v.trim().to_ascii_lowercase().as_str() {
        "gz" => "gzip".to_string(),
        "bz2" => "bzip2".to_string(),
        "zst" => "zstd".to_string(),
        "none" | "" => "uncompressed".to_string(),
        other => other.to_string(),
    };
    FileCompressionType::from_str(&name).map_err(|e| e.to_string())
}

fn parse_fields(v: &str) -> Vec<String> {
    v.split(|c: char| c.is_ascii_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// `name=type, ...` (`,` or `;` between items) as column names and types.
fn parse_types(v: &str) -> Result<Vec<(String, ValueType)>, String> {
    let mut out = Vec::new();
    for item in v.split([',', ';']).map(str::trim).filter(|i| !i.is_empty()) {
        let Some((name, t)) = item.split_once('=') else {
            return Err(format!("`{item}`: expected name=type"));
        };
        let t = match t.trim().to_ascii_lowercase().as_str() {
            "text" | "string" | "utf8" => ValueType::Text,
            "int" | "integer" | "bigint" | "int64" => ValueType::Int64,
            "int32" => ValueType::Int32,
            "real" | "double" | "float" | "float64" => ValueType::Float64,
            "timestamp" | "datetime" => ValueType::DateTime,
            other => return Err(format!("`{other}`: expected text, int, real or timestamp")),
        };
        out.push((iis_log::column_name(name.trim()), t));
    }
    Ok(out)
}

fn print_types(types: &[(String, ValueType)]) -> String {
    let name = |t: &ValueType| match t {
        ValueType::Text => "text",
        ValueType::Int64 => "int",
        ValueType::Int32 => "int32",
        ValueType::Float64 => "real",
        ValueType::DateTime => "timestamp",
    };
    types
        .iter()
        .map(|(c, t)| format!("{c}={}", name(t)))
        .collect::<Vec<_>>()
        .join(", ")
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

    /// Sets the field list for lines before any `#Fields` (space- or comma-separated).
    pub fn with_fields(mut self, fields: &str) -> Self {
        self.fields = Some(parse_fields(fields));
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

    /// Sets one option by its key or an alias ([`KEYS`]; a `format.` prefix, as DataFusion
    /// passes `OPTIONS (...)`, is allowed). Keys DataFusion gives every format are ignored.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), IisqlError> {
        let key = key
            .strip_prefix("format.")
            .unwrap_or(key)
            .to_ascii_lowercase();
        if IGNORED.contains(&key.as_str()) {
            return Ok(());
        }
        let Some(option) = KEYS
            .iter()
            .find(|o| o.key == key || o.aliases.contains(&key.as_str()))
        else {
            let known: Vec<&str> = KEYS.iter().map(|o| o.key).collect();
            return Err(IisqlError::BadOption {
                message: format!("unknown option (known: {})", known.join(", ")),
                key,
            });
        };
        (option.set)(self, value).map_err(|message| IisqlError::BadOption { key, message })
    }

    /// Applies `key = value` pairs ([`Self::set`]).
    pub fn apply(&mut self, options: &HashMap<String, String>) -> Result<(), IisqlError> {
        options.iter().try_for_each(|(k, v)| self.set(k, v))
    }

    /// The options that have a key, as `key = value` pairs that [`Self::apply`] reads back
    /// into the same options: how they travel in a serialized plan (Ballista).
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        KEYS.iter()
            .filter_map(|o| Some((o.key.to_string(), (o.get)(self)?)))
            .collect()
    }
}

/// `SET iis.<key> = <value>`: the defaults of IIS tables that SQL creates afterwards.
impl ConfigExtension for IisW3cOptions {
    const PREFIX: &'static str = "iis";
}

impl ExtensionOptions for IisW3cOptions {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, value: &str) -> datafusion::error::Result<()> {
        IisW3cOptions::set(self, key, value).map_err(Into::into)
    }

    fn entries(&self) -> Vec<ConfigEntry> {
        KEYS.iter()
            .map(|o| ConfigEntry {
                key: format!("{}.{}", Self::PREFIX, o.key),
                value: (o.get)(self),
                description: o.doc,
            })
            .collect()
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
            types: vec![("x".to_string(), ValueType::Int64)],
            sample_rows: 7,
            fields: Some(vec!["date".into(), "time".into(), "c-ip".into()]),
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
        assert_eq!(
            o.fields.as_ref().map(|f| f.join(" ")).as_deref(),
            Some("date time c-ip")
        );
        assert_eq!(o.max_errors, Some(3));
        assert!(o.strict);
        assert!(o.compression.is_compressed());
        let bad: HashMap<String, String> = [("nope".to_string(), "1".to_string())].into();
        assert!(o.apply(&bad).is_err());
    }
}

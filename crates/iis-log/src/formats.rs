//! The log formats this crate reads, and how each one's lines are cut into fields.

use std::fmt;
use std::str::FromStr;

use crate::fields::{
    DEFAULT_FIELDS, HTTPERR_DEFAULT_FIELDS, HTTPERR_FIELDS, IIS_NATIVE_FIELDS, IIS_NATIVE_LAYOUT,
    NCSA_FIELDS, NCSA_LAYOUTS, STANDARD_FIELDS, StandardField,
};

/// A log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogFormat {
    /// IIS W3C extended logs (`u_ex*.log`): IIS's field catalogue, typed.
    IisW3c,
    /// HTTP.sys error logs (`httperr*.log`).
    Httperr,
    /// Any W3C extended file (Exchange, IIS FTP, Advanced Logging): every field a column, types
    /// sniffed from the data, double-quoted values, space, tab or comma separated.
    W3c,
    /// IIS native logs (`in*.log`): comma-separated, local time.
    Iis,
    /// NCSA common, combined and extended logs (`nc*.log`).
    Ncsa,
}

/// How the lines of a format are cut into fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// The field separator; `None`: decided by each `#Fields` line (a comma or a tab in it, else
    /// a space).
    pub separator: Option<u8>,
    /// Values may be enclosed in `"..."` (with `""` or `\"` inside); a separator inside them
    /// does not end the field.
    pub quotes: bool,
    /// Values may be enclosed in `[...]` too (NCSA's date and time).
    pub brackets: bool,
    /// Blanks around values are not part of them (IIS native writes `, ` between fields).
    pub trim: bool,
}

impl LogFormat {
    /// Every format.
    pub const ALL: [LogFormat; 5] = [
        LogFormat::IisW3c,
        LogFormat::Httperr,
        LogFormat::W3c,
        LogFormat::Iis,
        LogFormat::Ncsa,
    ];

    /// The SQL name (`STORED AS IISW3C`), as Log Parser's `-i:` names it.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::IisW3c => "IISW3C",
            LogFormat::Httperr => "HTTPERR",
            LogFormat::W3c => "W3C",
            LogFormat::Iis => "IIS",
            LogFormat::Ncsa => "NCSA",
        }
    }

    /// The table a folder's logs of this format are registered as.
    pub fn table_name(self) -> &'static str {
        match self {
            LogFormat::IisW3c => "logs",
            LogFormat::Httperr => "httperr",
            LogFormat::W3c => "w3c",
            LogFormat::Iis => "iis",
            LogFormat::Ncsa => "ncsa",
        }
    }

    /// The typed fields the schema always has (empty for generic W3C, whose fields all come
    /// from the files).
    pub fn catalogue(self) -> &'static [StandardField] {
        match self {
            LogFormat::IisW3c => STANDARD_FIELDS,
            LogFormat::Httperr => HTTPERR_FIELDS,
            LogFormat::W3c => &[],
            LogFormat::Iis => IIS_NATIVE_FIELDS,
            LogFormat::Ncsa => NCSA_FIELDS,
        }
    }

    /// The layout of lines before any `#Fields`.
    pub fn default_fields(self) -> &'static str {
        match self {
            LogFormat::IisW3c | LogFormat::W3c => DEFAULT_FIELDS,
            LogFormat::Httperr => HTTPERR_DEFAULT_FIELDS,
            LogFormat::Iis => IIS_NATIVE_LAYOUT,
            LogFormat::Ncsa => NCSA_LAYOUTS[1],
        }
    }

    /// Further layouts a line may have when no `#Fields` is in force, chosen by field count.
    pub fn alternate_layouts(self) -> Vec<&'static str> {
        match self {
            // IIS native without the final comma.
            LogFormat::Iis => vec![IIS_NATIVE_LAYOUT.trim_end_matches("x-end").trim_end()],
            LogFormat::Ncsa => NCSA_LAYOUTS.to_vec(),
            _ => Vec::new(),
        }
    }

    /// The field of a line without `#Fields` that takes any separators past the layout's: IIS
    /// native's parameters (a query string may hold commas).
    pub fn greedy_field(self) -> Option<usize> {
        (self == LogFormat::Iis).then_some(14)
    }

    /// Whether the format reads `#` directive lines (the W3C family).
    pub fn has_directives(self) -> bool {
        matches!(
            self,
            LogFormat::IisW3c | LogFormat::Httperr | LogFormat::W3c
        )
    }

    /// Whether its times are the server's local time (a time zone is needed for `timestamp`).
    pub fn local_time(self) -> bool {
        self == LogFormat::Iis
    }

    /// How its lines are cut.
    pub fn dialect(self) -> Dialect {
        match self {
            LogFormat::IisW3c | LogFormat::Httperr => Dialect {
                separator: Some(b' '),
                quotes: false,
                brackets: false,
                trim: false,
            },
            LogFormat::W3c => Dialect {
                separator: None,
                quotes: true,
                brackets: false,
                trim: false,
            },
            LogFormat::Iis => Dialect {
                separator: Some(b','),
                quotes: false,
                brackets: false,
                trim: true,
            },
            LogFormat::Ncsa => Dialect {
                separator: Some(b' '),
                quotes: true,
                brackets: true,
                trim: false,
            },
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LogFormat {
    type Err = String;

    /// Accepts the SQL names in any case, and `iis-native`, `w3c-extended` style aliases.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "iisw3c" | "log" | "logs" => Ok(LogFormat::IisW3c),
            "httperr" => Ok(LogFormat::Httperr),
            "w3c" => Ok(LogFormat::W3c),
            "iis" | "iis-native" | "native" => Ok(LogFormat::Iis),
            "ncsa" => Ok(LogFormat::Ncsa),
            other => Err(format!(
                "unknown log format `{other}` (known: IISW3C, HTTPERR, W3C, IIS, NCSA)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in LogFormat::ALL {
            assert_eq!(f.name().parse::<LogFormat>(), Ok(f));
        }
        assert!("csv".parse::<LogFormat>().is_err());
        assert_eq!(LogFormat::Iis.alternate_layouts()[0].split(' ').count(), 15);
    }
}

//! Errors of the iisql library, convertible into [`DataFusionError`].

use datafusion::error::DataFusionError;

/// What can go wrong registering or scanning IIS logs.
#[derive(Debug, thiserror::Error)]
pub enum IisqlError {
    /// A path given to [`register_logs`](crate::register_logs) does not exist.
    #[error("{0}: no such file or directory")]
    NotFound(String),
    /// A directory holds no log files.
    #[error("{0}: no .log files found (searched subfolders too)")]
    NoLogFiles(String),
    /// A format option has a bad value.
    #[error("option `{key}`: {message}")]
    BadOption {
        /// The option key.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// More lines were rejected than `max_errors` allows.
    #[error("too many rejected lines: {count} > max_errors {max} (first: {first})")]
    TooManyRejects {
        /// Rejected lines so far.
        count: u64,
        /// The limit.
        max: u64,
        /// The first reject, `file:line: reason`.
        first: String,
    },
    /// A format in local time was asked for `timestamp` or `date` without the server's zone.
    #[error(
        "{0} logs are in the server's local time: give its time zone (OPTIONS (time_zone \
         'Europe/Berlin'), or --time-zone) to read `timestamp` and `date`; `local_timestamp` \
         is the time as logged"
    )]
    NeedsTimeZone(&'static str),
    /// Strict mode met a rejected line or value.
    #[error("strict mode: {0}")]
    Strict(String),
    /// Reading a file failed.
    #[error("{file}: {source}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's error.
        #[source]
        source: iis_log::Error,
    },
    /// Local file system error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl From<IisqlError> for DataFusionError {
    fn from(e: IisqlError) -> Self {
        DataFusionError::External(Box::new(e))
    }
}

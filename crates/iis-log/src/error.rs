//! Errors of the parser crate.

use arrow_schema::{ArrowError, DataType};

/// Anything that stops a file from being read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the input failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Building Arrow arrays failed.
    #[error("Arrow error: {0}")]
    Arrow(#[from] ArrowError),
    /// A table column has a type the decoder cannot produce.
    #[error("column `{column}` has type {data_type}, which IIS log values cannot be read as")]
    UnsupportedColumnType {
        /// The column name.
        column: String,
        /// Its declared type.
        data_type: DataType,
    },
    /// A chunk of input is larger than the decoder's 4 GiB addressing allows.
    #[error("{file}: a single line near byte {offset} is longer than 4 GiB")]
    ChunkTooLarge {
        /// The file being read.
        file: String,
        /// Byte offset of the chunk.
        offset: u64,
    },
    /// A row filter (see [`crate::RowFilter`]) failed or returned the wrong number of values.
    #[error("evaluating the scan's filter: {0}")]
    Filter(crate::FilterError),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

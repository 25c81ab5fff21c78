//! # iis-log
//!
//! A pure parser for IIS log files: bytes in, Arrow [`RecordBatch`](arrow_array::RecordBatch)es
//! out, with no query engine attached. It reads W3C extended logs as IIS writes them: directives
//! anywhere, `#Fields` that change mid-file, custom fields, CRLF or LF, a missing final newline,
//! a UTF-8 byte order mark, NUL padding after a crash, invalid UTF-8 (read lossily). Every line
//! is accounted for as a row, a directive, a blank line or a [`Reject`].
//!
//! ```
//! use std::sync::Arc;
//! use arrow_buffer::Buffer;
//! use iis_log::{DecoderConfig, W3cDecoder, w3c_schema};
//!
//! let text = b"#Fields: date time c-ip sc-status\n2024-01-15 02:10:00 10.0.0.5 200\n";
//! let schema = Arc::new(w3c_schema([]));
//! let cfg = Arc::new(DecoderConfig::new(schema, None).unwrap());
//! let mut decoder = W3cDecoder::new(cfg, "u_ex240115.log");
//! decoder.decode(&Buffer::from(&text[..]), true).unwrap();
//! decoder.finish().unwrap();
//! let batch = decoder.next_batch().unwrap();
//! assert_eq!(batch.num_rows(), 1);
//! assert_eq!(decoder.stats().directives, 1);
//! ```

pub mod chunker;
pub mod datetime;
pub mod decoder;
pub mod detect;
pub mod directives;
pub mod error;
pub mod fields;
pub mod filter;
pub mod formats;
pub mod layout;
pub mod range;
pub mod reader;
pub mod reject;
pub mod schema;
pub mod separators;
pub mod sniff;
pub mod tokenize;
mod views;

pub use chunker::{Chunk, LineChunker};
pub use decoder::{DecoderConfig, W3cDecoder};
pub use directives::{Directive, DirectiveScanner, parse_directive};
pub use error::{Error, Result};
pub use fields::{DEFAULT_FIELDS, STANDARD_FIELDS, ValueType, column_name};
pub use filter::{FilterError, RowFilter};
pub use formats::{Dialect, LogFormat};
pub use range::{RangeSplitter, RangeStart};
pub use reader::{read_some, read_w3c, read_w3c_range, scan_directives};
pub use reject::{Reject, RejectReason, ScanStats};
pub use schema::{
    DATE, LOCAL_TIMESTAMP, LOG_FILENAME, LOG_ROW, TIMESTAMP, W3C_NAME_KEY, log_schema, w3c_schema,
};

//! # iisql-logparser
//!
//! Microsoft Log Parser's queries, as administrators wrote them, on DataFusion. Text flows one
//! way: a Log Parser query (or one of a Log Parser Studio library, read by [`lps`]) goes into
//! [`lp_dialect::translate`], which returns DataFusion SQL over the `logs` table and what the
//! query's `INTO` asked for; the caller runs that SQL in a context with iisql's functions
//! (the `iisql-functions` crate holds Log Parser's `EXTRACT_TOKEN`, `QUANTIZE`, `TO_LOCALTIME`
//! and the rest). Nothing here reads logs or runs queries.

pub mod lp_dialect;
pub mod lps;

pub use lp_dialect::{Translated, translate, translate_for};

//! # iisql-activesync
//!
//! Exchange ActiveSync over IIS logs, and above all certificate based authentication: which
//! devices lack certificates, which servers distrust them, revocation outages, mapping
//! regressions, KCD gateways, legacy proxies, lockouts.
//!
//! ## Roles and data flow
//!
//! - [`activesync`]: the `activesync` view over an IIS W3C table, one row per request to
//!   `/Microsoft-Server-ActiveSync`, with its parameters and codes decoded into columns.
//! - [`facts`]: the view's rows computed once per run (with "followed by a success within a
//!   minute") into a temporary Parquet table that every check reads.
//! - [`catalog`]: the saved queries of `queries/`, embedded in the crate, each a `.sql` file with
//!   a metadata header and typed parameters.
//! - [`diagnose`]: runs every check of the catalogue over the facts and turns their rows into
//!   findings with evidence, ordered by impact; [`html_report`] draws a diagnosis as one page.
//!
//! The tables come from `iisql-datasource`; the functions the view calls (`eas_request`,
//! `normalize_user`...) from `iisql-functions`, registered in the session by the caller.

pub mod activesync;
mod answered;
pub mod catalog;
pub mod diagnose;
pub mod facts;
pub mod html_report;
mod shared;

pub use activesync::register_activesync_view;
pub use catalog::{Catalog, QueryKind, SavedQuery, Severity};
pub use diagnose::{DiagnoseOptions, Diagnosis, Finding, Stage, diagnose, diagnose_with};
pub use html_report::html_report;

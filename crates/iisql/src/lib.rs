//! iisql library.

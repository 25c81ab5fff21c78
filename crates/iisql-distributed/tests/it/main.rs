//! iisql-distributed's tests, in one binary: the codecs on their own, then queries on Ballista's
//! in-process cluster on loopback compared with local execution. Built only with the `ballista`
//! feature (`cargo test -p iisql-distributed --features ballista`).
#![cfg(feature = "ballista")]

mod codec;
mod common;
mod standalone;

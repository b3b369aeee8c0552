//! The `custodian` binary as a library, so the test kit can start the real server in-process.

pub mod cli;
pub mod config;
pub mod datadir;
pub mod demo;
pub mod server;
pub mod tls;

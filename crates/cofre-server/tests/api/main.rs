//! The HTTP API, end to end: a real server on a loopback port with a real SQLite file,
//! driven by the real client library and by raw HTTP for the attack cases.

// Test helpers outside #[test] functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../shared/moto.rs"]
mod moto;
mod support;
#[path = "../shared/venv.rs"]
mod venv;

mod accounts;
mod admin;
mod admission;
mod audit;
mod backends;
mod backup;
mod bad_input;
mod disk_full;
mod files;
mod listing;
mod metrics;
mod mfa;
mod migrate;
mod openapi;
mod point_reads;
mod replicas;
mod rotation;
mod s3;
mod session_checks;
mod sharing;
mod slow_clients;
mod throttling;
mod tls;
mod tokens;
mod uploads;
mod vault;

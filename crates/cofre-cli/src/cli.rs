//! The command line, as clap types. Every flag has a `COFRE_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// cofre: an end-to-end encrypted vault for messages and files.
#[derive(Debug, Parser)]
#[command(name = "cofre", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the cofre server (HTTP API) on its data directory.
    Server(ServerArgs),
}

/// `cofre server` settings.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Data directory: created with owner-only permissions on first start.
    #[arg(long = "data", env = "COFRE_DATA", default_value = "./cofre-data")]
    pub data: PathBuf,
    /// Address and port to listen on. Keep it on loopback unless TLS terminates in front.
    #[arg(long, env = "COFRE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Log format.
    #[arg(long, env = "COFRE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written (to standard error).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

//! The `cofre` binary: parses the command line and hands over to a command.

mod cli;
mod commands;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Server(args) => commands::server::run(args),
    }
}

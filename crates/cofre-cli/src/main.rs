//! The `cofre` binary: parses the command line and hands over to a command.

mod cli;
mod commands;
mod editor;
mod interrupt;
mod prompt;
mod session;
mod target;
mod transfers;

use anyhow::Context as _;
use clap::Parser;

use cli::{Command, MfaCommand};

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    if let Command::Server(cmd) = cli.command {
        return commands::server::run(cmd);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = rt.block_on(async {
        match cli.command {
            Command::Server(_) => unreachable_server(),
            Command::Register(a) => commands::account::register(a).await,
            Command::Login(a) | Command::Unlock(a) => commands::account::login(a).await,
            Command::Lock(a) => commands::account::lock(a).await,
            Command::Agent(a) => {
                let state = session::State::open(&a.client)?;
                cofre_client::agent::serve(
                    state.agent.path(),
                    std::time::Duration::from_secs(a.idle),
                )
                .await
                .context("running the agent")
            }
            Command::Logout(a) => commands::account::logout(a).await,
            Command::Whoami(a) => commands::account::whoami(a).await,
            Command::Passwd(a) => commands::account::passwd(a).await,
            Command::Recover(a) => commands::account::recover(a).await,
            Command::Put(a) => commands::vault::put(a).await,
            Command::Note(a) => commands::vault::note(a).await,
            Command::Ls(a) => commands::vault::ls(a).await,
            Command::Get(a) => commands::vault::get(a).await,
            Command::Cat(a) => commands::vault::cat(a).await,
            Command::Rm(a) => commands::vault::rm(a).await,
            Command::Rename(a) => commands::vault::rename(a).await,
            Command::Send(a) => commands::sharing::send(a).await,
            Command::Share(a) => commands::sharing::share(a).await,
            Command::Unshare(a) => commands::sharing::unshare(a).await,
            Command::Inbox(a) => commands::sharing::inbox(a).await,
            Command::Uploads(a) => commands::uploads::run(a).await,
            Command::Edit(a) => commands::vault::edit(a).await,
            Command::Contacts(c) => commands::contacts::run(c).await,
            Command::Keys(cli::KeysCommand::Rotate(a)) => commands::keys::rotate(a).await,
            Command::Mfa(MfaCommand::Enable(a)) => commands::mfa::enable(a).await,
            Command::Mfa(MfaCommand::Confirm(a)) => commands::mfa::confirm(a).await,
            Command::Mfa(MfaCommand::Disable(a)) => commands::mfa::disable(a).await,
            Command::Mfa(MfaCommand::Status(a)) => commands::mfa::status(a).await,
            Command::Mfa(MfaCommand::RecoveryCodes(a)) => commands::mfa::recovery_codes(a).await,
            Command::Admin(cmd) => commands::admin::run(cmd).await,
            Command::Backup(cmd) => commands::backup::run(cmd).await,
        }
    });
    // A command stopped by SIGINT/SIGTERM has already removed its files; it exits
    // with the conventional status (130, 143) rather than a generic failure.
    if let Some(i) = outcome
        .as_ref()
        .err()
        .and_then(|e| e.downcast_ref::<interrupt::Interrupted>())
    {
        eprintln!("{i}");
        std::process::exit(i.exit_code());
    }
    outcome
}

/// `cofre server` returned above; this arm only keeps the match exhaustive.
fn unreachable_server() -> anyhow::Result<()> {
    anyhow::bail!("internal: server command reached the client dispatcher")
}

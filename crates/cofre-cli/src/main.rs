//! The `cofre` binary: parses the command line and hands over to a command.

mod cli;
mod code;
mod commands;
mod editor;
mod exit;
mod interrupt;
mod plain_http;
mod prompt;
mod session;
mod target;
mod times;
mod transfers;

use anyhow::Context as _;
use clap::{CommandFactory as _, FromArgMatches as _};

use cli::{Command, MfaCommand};

fn main() {
    exit::quiet_on_closed_stdout();
    // Usage errors are clap's: printed by it, status 2.
    let matches = without_empty_env(cli::Cli::command()).get_matches();
    let style = exit::Style {
        json: wants_json(&matches),
        verbose: matches.get_flag("verbose"),
    };
    let cli = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let Err(e) = run(cli) else {
        return;
    };
    // A command stopped by SIGINT/SIGTERM has already removed its files; it exits
    // with the conventional status (130, 143) rather than a generic failure.
    if let Some(i) = e.downcast_ref::<interrupt::Interrupted>() {
        eprintln!("{i}");
        std::process::exit(i.exit_code());
    }
    // Printed here, not returned from `main`: no backtrace under RUST_BACKTRACE, and
    // the exit status says what kind of failure it was.
    std::process::exit(exit::report(&e, style));
}

/// An environment variable set to the empty string (`COFRE_SERVER=`) counts as unset,
/// as if the setting were not given at all, in every subcommand.
fn without_empty_env(cmd: clap::Command) -> clap::Command {
    let cmd = cmd.mut_args(|a| {
        let empty = a
            .get_env()
            .is_some_and(|name| std::env::var_os(name).is_some_and(|v| v.is_empty()));
        if empty {
            a.env(None::<&'static str>)
        } else {
            a
        }
    });
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    subs.into_iter()
        .fold(cmd, |c, name| c.mut_subcommand(name, without_empty_env))
}

/// Whether the command line asked for JSON (`--json` on the command, at any depth).
fn wants_json(m: &clap::ArgMatches) -> bool {
    matches!(m.try_get_one::<bool>("json"), Ok(Some(true)))
        || m.subcommand().is_some_and(|(_, sub)| wants_json(sub))
}

fn run(cli: cli::Cli) -> anyhow::Result<()> {
    if let Command::Server(cmd) = cli.command {
        return commands::server::run(cmd);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        match cli.command {
            Command::Server(_) => unreachable_server(),
            Command::Register(a) => commands::account::register(a).await,
            Command::Login(a) | Command::Unlock(a) => commands::account::login(a).await,
            Command::Lock(a) => commands::account::lock(a).await,
            Command::Agent(a) => {
                let state = session::State::open(&a.client)?;
                cofre_client::agent::serve(
                    state.agent.path(),
                    state.agent.profile(),
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
            Command::Inbox(cli::InboxArgs {
                action: Some(cli::InboxCommand::Hide(a)),
                ..
            }) => commands::sharing::hide(a).await,
            Command::Inbox(a) => commands::sharing::inbox(a.list).await,
            Command::Shares(a) => commands::sharing::shares(a).await,
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
            Command::Completions(a) => commands::docs::completions(&a),
            Command::Man(a) => commands::docs::man(&a),
        }
    })
}

/// `cofre server` returned above; this arm only keeps the match exhaustive.
fn unreachable_server() -> anyhow::Result<()> {
    anyhow::bail!("internal: server command reached the client dispatcher")
}

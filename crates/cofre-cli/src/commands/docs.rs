//! `cofre completions` and `cofre man`: shell completion scripts and manual pages,
//! generated from the command-line definitions (so they always match this binary).

use std::io::Write as _;

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs, ManArgs};

/// Prints the completion script for `a.shell`.
pub fn completions(a: &CompletionsArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(a.shell, &mut Cli::command(), "cofre", &mut out);
    out.flush()?;
    Ok(())
}

/// Prints `cofre.1`, or writes every page into `a.dir`.
pub fn man(a: &ManArgs) -> anyhow::Result<()> {
    let Some(dir) = &a.dir else {
        let mut out = std::io::stdout().lock();
        clap_mangen::Man::new(Cli::command()).render(&mut out)?;
        out.flush()?;
        return Ok(());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("writing the manual pages into {}", dir.display()))?;
    println!(
        "Manual pages written to {} (`man -l {}/cofre.1` to read one).",
        dir.display(),
        dir.display()
    );
    Ok(())
}

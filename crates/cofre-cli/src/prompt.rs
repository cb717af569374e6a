//! Reading secrets: hidden prompts on a terminal, or files for non-interactive use.

use std::io::IsTerminal as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use cofre_client::core::secret::Password;
use zeroize::Zeroizing;

/// The first line of a file (a password or key kept in a file for scripts).
pub fn from_file(path: &Path) -> anyhow::Result<Zeroizing<String>> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
    );
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        bail!("{} is empty", path.display());
    }
    Ok(Zeroizing::new(line.to_owned()))
}

/// A hidden prompt (no echo). Refuses when standard input is not a terminal.
pub fn hidden(label: &str) -> anyhow::Result<Zeroizing<String>> {
    if !std::io::stdin().is_terminal() {
        bail!("{label} needed but standard input is not a terminal: use the --*-file option");
    }
    Ok(Zeroizing::new(rpassword::prompt_password(format!(
        "{label}: "
    ))?))
}

/// A password from a file, or prompted (twice when `confirm`).
pub fn password(file: Option<&Path>, label: &str, confirm: bool) -> anyhow::Result<Password> {
    if let Some(f) = file {
        return Ok(Password::new(from_file(f)?.as_str()));
    }
    let first = hidden(label)?;
    if confirm {
        let again = hidden(&format!("{label} (again)"))?;
        if *first != *again {
            bail!("the two passwords differ");
        }
    }
    Ok(Password::new(first.as_str()))
}

/// A one-time code: the given one, or prompted (visible: it is short-lived).
pub fn code(given: Option<&str>, label: &str) -> anyhow::Result<String> {
    if let Some(c) = given {
        return Ok(c.trim().to_owned());
    }
    if !std::io::stdin().is_terminal() {
        bail!("{label} needed: pass it with --code (or --totp)");
    }
    eprint!("{label}: ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// One visible line from the terminal after `question`.
pub fn line(question: &str) -> anyhow::Result<String> {
    eprint!("{question}");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line)
}

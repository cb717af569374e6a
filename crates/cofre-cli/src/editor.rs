//! Writing text in `$VISUAL`/`$EDITOR` (default `vi`) without leaving it readable:
//! the scratch file lives in a new directory only its owner can enter (0700), under
//! `$XDG_RUNTIME_DIR` when that is set (usually a tmpfs, never on disk) and the
//! system's temporary directory otherwise; the file is created 0600. The directory,
//! with anything the editor put there (swap and backup files), is removed when the
//! editor exits, on every error, and on SIGINT/SIGTERM (the editor is then killed
//! first, and `cofre` exits with 130/143).

use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::PathBuf;

use anyhow::{Context as _, bail};

use crate::interrupt::Signals;

/// Opens the editor on an empty private file and returns what was saved in it.
pub(crate) async fn compose() -> anyhow::Result<String> {
    edit("").await
}

/// Opens the editor on a private file holding `initial` and returns what was saved in
/// it (`cofre edit`).
pub(crate) async fn edit(initial: &str) -> anyhow::Result<String> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let mut signals = Signals::listen().context("listening for Ctrl-C")?;
    let dir = scratch_dir()?;
    let path = dir.path().join("note.txt");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .context("creating the note's scratch file")?;
    std::io::Write::write_all(&mut file, initial.as_bytes())
        .context("writing the note into its scratch file")?;
    drop(file);
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting the editor ({editor})"))?;
    // On a signal the editor is killed (`kill_on_drop`) before the directory goes.
    let status = signals
        .guard(child.wait())
        .await?
        .with_context(|| format!("waiting for the editor ({editor})"))?;
    if !status.success() {
        bail!("the editor exited with {status}: nothing stored");
    }
    let text = std::fs::read_to_string(&path).context("reading the note (UTF-8 text)")?;
    drop(child);
    dir.close()
        .context("removing the note's scratch directory")?;
    Ok(text)
}

/// A new 0700 directory under `$XDG_RUNTIME_DIR`, or the temporary directory.
fn scratch_dir() -> anyhow::Result<tempfile::TempDir> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    tempfile::Builder::new()
        .prefix("cofre-note-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(&base)
        .with_context(|| format!("creating a private directory in {}", base.display()))
}

//! Where `cofre get` writes an item, and how, so that nothing readable is left
//! anywhere but where the user asked:
//!
//! - a regular file (new, or replaced with `--force`) is written through a temporary
//!   file beside it (`.cofre-download-XXXXXX`, mode 0600), renamed over the target
//!   only once the last chunk verified; the temporary file is removed on any error
//!   and on SIGINT/SIGTERM (see [`crate::interrupt`]), and one left by a killed
//!   process is swept by the next `get` into the same directory;
//! - a character device (`/dev/null`, a terminal) or a FIFO is opened and streamed
//!   into directly: it is never replaced, and no temporary file is made;
//! - an existing directory given with `-o DIR` receives the item under its own name;
//! - anything else (a directory where a file would go, a socket, a block device, a
//!   symbolic link to a regular file) is refused, never replaced.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, bail};
use tempfile::NamedTempFile;

/// The name prefix of our temporary download files (and only ours are swept).
pub(crate) const TEMP_PREFIX: &str = ".cofre-download-";
/// A temporary download file not written for this long belongs to a process that
/// died: an active download writes at least every few seconds.
const STALE_AFTER: Duration = Duration::from_secs(10 * 60);

/// Where the plaintext goes.
pub(crate) enum Target {
    /// A regular file path (absent, or present and `--force` given): written through
    /// a temporary file and renamed.
    File {
        /// The final path.
        path: PathBuf,
        /// Whether a file there may be replaced.
        replace: bool,
    },
    /// A character device or FIFO, already open for writing.
    Stream {
        /// Its path, for messages.
        path: PathBuf,
        /// The open device.
        file: File,
    },
}

/// A safe local file name for an item name: its last path component.
pub(crate) fn local_name(name: &str) -> anyhow::Result<PathBuf> {
    let base = Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .with_context(|| {
            format!("the item name {name:?} is not a usable file name: give one with -o")
        })?;
    Ok(PathBuf::from(base))
}

/// Decides where an item named `item_name` goes, given `-o` (`None`: its own name in
/// the current directory) and `--force`.
pub(crate) fn choose(
    output: Option<&Path>,
    item_name: &str,
    force: bool,
) -> anyhow::Result<Target> {
    let path = match output {
        // `-o DIR` (or a link to one): the item's own name inside it.
        Some(p) if std::fs::metadata(p).is_ok_and(|m| m.is_dir()) => p.join(local_name(item_name)?),
        Some(p) => p.to_owned(),
        None => local_name(item_name)?,
    };
    let meta = match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Target::File {
                path,
                replace: false,
            });
        }
        Err(e) => return Err(e).with_context(|| format!("checking {}", path.display())),
        Ok(m) => m,
    };
    let kind = meta.file_type();
    if kind.is_file() {
        if !force {
            bail!(
                "{} exists: use --force to replace it, or -o PATH",
                path.display()
            );
        }
        return Ok(Target::File {
            path,
            replace: true,
        });
    }
    // Devices and FIFOs are written into, through a link too (`/dev/stdout`).
    let followed = std::fs::metadata(&path).ok().map(|m| m.file_type());
    if followed.is_some_and(|t| t.is_char_device() || t.is_fifo()) {
        let file = open_stream(&path)?;
        return Ok(Target::Stream { path, file });
    }
    if kind.is_symlink() {
        bail!(
            "{} is a symbolic link: cofre does not replace links or write through them to \
             files; give the real path with -o, or remove the link",
            path.display()
        );
    }
    bail!(
        "{} is {}: cofre writes only to regular files, character devices and FIFOs, \
         and replaces nothing else",
        path.display(),
        describe(&meta)
    )
}

/// "a directory", "a socket"...
fn describe(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// Opens a character device or FIFO for writing (no create, no truncate), and checks
/// that what was opened still is one.
fn open_stream(path: &Path) -> anyhow::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let t = file.metadata()?.file_type();
    if !(t.is_char_device() || t.is_fifo()) {
        bail!("{} changed while it was being opened", path.display());
    }
    Ok(file)
}

/// The directory a path's file lives in.
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// A new temporary file (0600) beside `path`; stale ones of ours in that directory
/// are removed first.
pub(crate) fn temp_beside(path: &Path) -> anyhow::Result<NamedTempFile> {
    let dir = parent_of(path);
    let tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(&dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    // Our own uid, without asking the system: the owner of the file just created.
    let me = tmp.as_file().metadata()?.uid();
    for gone in sweep(&dir, me, tmp.path(), SystemTime::now()) {
        eprintln!(
            "removed {}, the partial download of an earlier interrupted `cofre get`",
            gone.display()
        );
    }
    Ok(tmp)
}

/// Removes the temporary download files in `dir` that are ours (our prefix, a
/// regular file, owned by `uid`, one link) and stale (not modified for
/// [`STALE_AFTER`]), other than `keep`. Returns what it removed.
fn sweep(dir: &Path, uid: u32, keep: &Path, now: SystemTime) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let ours = e
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(TEMP_PREFIX));
        let path = e.path();
        if !ours || path.file_name() == keep.file_name() {
            continue;
        }
        // `DirEntry::metadata` does not follow links: a link is never swept.
        let Ok(m) = e.metadata() else { continue };
        let stale = m
            .modified()
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age >= STALE_AFTER);
        if m.file_type().is_file()
            && m.uid() == uid
            && m.nlink() == 1
            && stale
            && std::fs::remove_file(&path).is_ok()
        {
            removed.push(path);
        }
    }
    removed
}

/// Renames the finished temporary file to `path`: over a regular file only when
/// `replace`, and never over anything else that appeared there meanwhile.
pub(crate) fn save(tmp: NamedTempFile, path: &Path, replace: bool) -> anyhow::Result<()> {
    tmp.as_file().sync_all()?;
    let saved = if replace {
        match std::fs::symlink_metadata(path) {
            Ok(m) if !m.file_type().is_file() => bail!(
                "{} is no longer a regular file: not replaced",
                path.display()
            ),
            _ => tmp.persist(path),
        }
    } else {
        tmp.persist_noclobber(path)
    };
    saved.with_context(|| format!("saving {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn local_names_never_leave_the_directory() {
        assert_eq!(local_name("a/b/../c.txt").unwrap(), PathBuf::from("c.txt"));
        assert_eq!(local_name("/etc/passwd").unwrap(), PathBuf::from("passwd"));
        assert!(local_name("..").is_err());
        assert!(local_name("/").is_err());
    }

    #[test]
    fn the_sweep_takes_only_our_stale_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let old = SystemTime::now() - Duration::from_secs(3600);
        let plant = |name: &str, when: SystemTime| {
            let p = d.join(name);
            let f = File::create(&p).unwrap();
            f.set_modified(when).unwrap();
            p
        };
        let stale = plant(".cofre-download-aaaaaa", old);
        let fresh = plant(".cofre-download-bbbbbb", SystemTime::now());
        let other = plant(".other-download-cccccc", old);
        let keep = plant(".cofre-download-dddddd", old);
        let link = d.join(".cofre-download-link");
        std::os::unix::fs::symlink(&other, &link).unwrap();
        let me = std::fs::metadata(&stale).unwrap().uid();

        // Someone else's file is left alone.
        assert!(sweep(d, me + 1, &keep, SystemTime::now()).is_empty());
        let removed = sweep(d, me, &keep, SystemTime::now());
        assert_eq!(removed, vec![stale.clone()]);
        assert!(!stale.exists());
        for p in [&fresh, &other, &keep] {
            assert!(p.exists(), "{}", p.display());
        }
        assert!(std::fs::symlink_metadata(&link).is_ok());
    }
}

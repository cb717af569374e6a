//! Owner-only files: the server makes every file it writes (database and its journal
//! files, blobs, backup archives, keys) readable by its own user only, and says at
//! start which of its folders others can read or write.
//!
//! On Linux the process's umask is set to `077` when the server opens its state, so
//! the files SQLite, the blob store and the backup writer create are `0600` and new
//! folders `0700`. The database files of an older version are tightened to `0600`.

use std::path::{Path, PathBuf};

/// A folder or file that others than the owner can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenToOthers {
    /// The path.
    pub path: PathBuf,
    /// Its permission bits (`0o755`, say).
    pub mode: u32,
}

impl std::fmt::Display for OpenToOthers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} has mode {:o}: other users can read or change it; chmod 700 it",
            self.path.display(),
            self.mode
        )
    }
}

/// Makes the files and folders this process creates from now on owner-only (umask
/// `077`). Process-wide; a no-op where the platform has no umask here.
pub fn restrict_new_files() {
    #[cfg(target_os = "linux")]
    {
        let _previous = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    }
}

/// Tightens existing files to `0600` (those that exist; missing ones are skipped).
pub fn make_private(files: &[PathBuf]) {
    #[cfg(unix)]
    for file in files {
        use std::os::unix::fs::PermissionsExt as _;
        let Ok(meta) = std::fs::metadata(file) else {
            continue;
        };
        if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
            let private = std::fs::Permissions::from_mode(0o600);
            if let Err(e) = std::fs::set_permissions(file, private) {
                tracing::warn!(path = %file.display(), error = %e, "could not make the file owner-only");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = files;
}

/// The folders among `dirs` that group or others can read, write or enter.
pub fn open_to_others(dirs: &[&Path]) -> Vec<OpenToOthers> {
    let mut found = Vec::new();
    #[cfg(unix)]
    for dir in dirs {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(dir) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                found.push(OpenToOthers {
                    path: dir.to_path_buf(),
                    mode,
                });
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dirs;
    found
}

/// The server's folders (data, keys, blobs in the data directory, backups) that others
/// can use: each is logged as a warning at start.
pub fn check(config: &crate::ServerConfig) -> Vec<OpenToOthers> {
    let keys = config.keys_path();
    let blobs = config.blobs_path();
    let mut dirs = vec![config.data_dir.as_path(), keys.as_path(), blobs.as_path()];
    if let Some(b) = &config.backup {
        dirs.push(b.dir.as_path());
    }
    open_to_others(&dirs)
}

/// The SQLite database and its journal files in the data directory.
pub fn database_files(config: &crate::ServerConfig) -> Vec<PathBuf> {
    let db = config.database_path();
    let mut files = vec![db.clone()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = db.clone().into_os_string();
        name.push(suffix);
        files.push(name.into());
    }
    files
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn folders_open_to_others_are_found_and_files_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        let closed = dir.path().join("closed");
        std::fs::create_dir(&open).unwrap();
        std::fs::create_dir(&closed).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
        let found = open_to_others(&[&open, &closed, &dir.path().join("missing")]);
        assert_eq!(
            found,
            vec![OpenToOthers {
                path: open.clone(),
                mode: 0o755
            }]
        );
        assert!(found[0].to_string().contains("755"));

        let file = open.join("f");
        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        make_private(&[file.clone(), open.join("missing")]);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

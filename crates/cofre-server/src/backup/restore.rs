//! Restoring: everything is decrypted and checked in a fresh directory next to the
//! target, the database is opened (older schemas migrate forward) and checked, and only
//! then does the directory take the target's place. A failure at any step removes
//! the fresh directory, so a restore never leaves a half-written data directory.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cofre_core::keys::PrivateKey;

use super::archive::{Archive, DATABASE_PATH, Extract};
use super::create::{ProgressFn, blocking};
use super::{BackupError, BackupResult, io};
use crate::store::Store;

/// What a restore rebuilt.
#[derive(Clone, Debug)]
pub struct Restored {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
    /// Schema version before and after migrations.
    pub schema_before: i64,
    /// Schema version now.
    pub schema_after: i64,
}

/// Restores `archive` into `data_dir`. Refuses a non-empty `data_dir` unless `force`
/// (then the old directory is replaced only once the new one is complete).
pub async fn restore(
    archive: Archive,
    backup_private: &PrivateKey,
    data_dir: &Path,
    force: bool,
    progress: ProgressFn,
) -> BackupResult<Restored> {
    let existing = non_empty(data_dir)?;
    if existing && !force {
        return Err(BackupError::TargetNotEmpty(data_dir.to_owned()));
    }
    let key = archive.open_key(backup_private)?;
    let (parent, name) = split(data_dir)?;
    crate::config::create_private_dir(&parent).map_err(io(&parent))?;
    let fresh = tempfile::Builder::new()
        .prefix(&format!(".{name}.restore-"))
        .tempdir_in(&parent)
        .map_err(io(&parent))?;
    set_private(fresh.path())?;

    let archive = Arc::new(archive);
    let (a, dest) = (archive.clone(), fresh.path().to_owned());
    blocking(move || a.extract(&key, &dest, Extract::All, &*progress)).await?;
    let (before, after) = check_database(&fresh.path().join(DATABASE_PATH), &archive).await?;
    // Everything written reaches the disk before the directory takes the target's place.
    let dir = fresh.path().to_owned();
    blocking(move || sync_filesystem(&dir)).await?;

    // Swap in: the old directory (if any) is moved aside, then removed.
    let fresh = fresh.keep();
    let aside = parent.join(format!(".{name}.replaced-{}", archive.header.id_hex()));
    if existing || data_dir.exists() {
        std::fs::rename(data_dir, &aside).map_err(io(data_dir))?;
    }
    if let Err(e) = std::fs::rename(&fresh, data_dir) {
        // Put the old one back; leave nothing half-done.
        if aside.exists() {
            let _ = std::fs::rename(&aside, data_dir);
        }
        let _ = std::fs::remove_dir_all(&fresh);
        return Err(io(data_dir)(e));
    }
    super::pack::sync_dir(&parent).map_err(io(&parent))?;
    if aside.exists() {
        std::fs::remove_dir_all(&aside).map_err(io(&aside))?;
    }
    Ok(Restored {
        data_dir: data_dir.to_owned(),
        files: archive.manifest.files.len(),
        bytes: archive.restored_size(),
        schema_before: before,
        schema_after: after,
    })
}

/// Verifies `archive` with the private key, without restoring it: decrypts every
/// entry (checking hashes and every chunk), keeps only the database, in a temporary
/// directory, and checks it opens and passes the integrity check.
pub async fn verify_with_key(
    archive: Archive,
    backup_private: &PrivateKey,
    progress: ProgressFn,
) -> BackupResult<()> {
    let key = archive.open_key(backup_private)?;
    let scratch = tempfile::Builder::new()
        .prefix("cofre-backup-verify-")
        .tempdir()
        .map_err(io(&std::env::temp_dir()))?;
    let archive = Arc::new(archive);
    let (a, dest) = (archive.clone(), scratch.path().to_owned());
    blocking(move || a.extract(&key, &dest, Extract::DatabaseOnly, &*progress)).await?;
    check_database(&scratch.path().join(DATABASE_PATH), &archive).await?;
    Ok(())
}

/// Opens the restored database (migrating it forward), runs the integrity check and
/// compares its counts with the manifest's. Returns the schema version before and after.
async fn check_database(path: &Path, archive: &Archive) -> BackupResult<(i64, i64)> {
    if !path.is_file() {
        return Err(BackupError::Database("the backup holds no database".into()));
    }
    let before = archive.manifest.schema_version;
    let store = Store::open_sqlite(path)
        .await
        .map_err(|e| BackupError::Database(e.to_string()))?;
    let result = async {
        store
            .integrity_check()
            .await?
            .map_err(BackupError::Database)?;
        let counts = store.table_counts().await?;
        let m = &archive.manifest.counts;
        if (counts.users, counts.items, counts.shares) != (m.users, m.items, m.shares) {
            return Err(BackupError::Database(format!(
                "it holds {} users, {} items and {} shares; the manifest says {}, {} and {}",
                counts.users, counts.items, counts.shares, m.users, m.items, m.shares
            )));
        }
        let after = store.schema_version().await?;
        store.checkpoint().await?;
        Ok(after)
    }
    .await;
    store.close().await;
    Ok((before, result?))
}

/// Flushes every file written under `dir` to disk: one `syncfs` of its file system on
/// Linux (rather than one fsync per restored file), and a walk fsyncing each file and
/// folder elsewhere.
fn sync_filesystem(dir: &Path) -> BackupResult<()> {
    #[cfg(target_os = "linux")]
    {
        let d = File::open(dir).map_err(io(dir))?;
        rustix::fs::syncfs(&d).map_err(|e| io(dir)(e.into()))?;
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).map_err(io(&d))? {
                let p = e.map_err(io(&d))?.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    File::open(&p).and_then(|f| f.sync_all()).map_err(io(&p))?;
                }
            }
            File::open(&d).and_then(|f| f.sync_all()).map_err(io(&d))?;
        }
        Ok(())
    }
}

fn non_empty(dir: &Path) -> BackupResult<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Ok(true),
        Err(e) => Err(io(dir)(e)),
    }
}

fn split(data_dir: &Path) -> BackupResult<(PathBuf, String)> {
    let abs = std::path::absolute(data_dir).map_err(io(data_dir))?;
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| io(data_dir)(std::io::Error::other("needs a directory name")))?;
    let parent = abs
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("/"));
    Ok((parent, name))
}

#[cfg(unix)]
fn set_private(dir: &Path) -> BackupResult<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))
}

#[cfg(not(unix))]
fn set_private(_dir: &Path) -> BackupResult<()> {
    Ok(())
}

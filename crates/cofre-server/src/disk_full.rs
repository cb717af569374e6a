//! A full file system: recognising "no space left" in the errors of the SQLite database
//! and of the blob folder ([`is_disk_full`]), and the one place that reports each such
//! event ([`note_disk_full`]).
//!
//! A write refused for lack of space answers 507 `insufficient_storage`
//! ([`crate::error::ApiError::InsufficientStorage`], which names the [`Storage`] part
//! that is full); nothing else changes: reads go on, and writes work again as soon as
//! space is freed, without a restart (the store discards a database connection that an
//! error left in a state it cannot use, see `store`).

use std::error::Error;
use std::path::{Path, PathBuf};

use axum::extract::State;
use axum::response::Response;

use crate::blobs::BlobLocation;
use crate::config::ServerConfig;
use crate::state::AppState;

/// Which part of the server's storage ran out of space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// The SQLite database (its file or its write-ahead log).
    Database,
    /// The blob folder (item bodies and uploads).
    Blobs,
}

impl Storage {
    /// The name used in the log.
    pub fn name(self) -> &'static str {
        match self {
            Self::Database => "database",
            Self::Blobs => "blob folder",
        }
    }

    /// Where this part lives for a server with `config`: the database file, or the blob
    /// folder (`None` for parts not on a local file system: PostgreSQL, S3).
    pub fn path(self, config: &ServerConfig) -> Option<PathBuf> {
        match self {
            Self::Database => config
                .database_url
                .is_none()
                .then(|| config.database_path()),
            Self::Blobs => match &config.blobs {
                BlobLocation::DataDir => Some(config.data_dir.join("blobs")),
                BlobLocation::Folder(p) => Some(p.clone()),
                BlobLocation::S3(_) => None,
            },
        }
    }
}

/// SQLite's primary result code for "database or disk is full" (`SQLITE_FULL`).
const SQLITE_FULL: i32 = 13;

/// Whether `err`, or any error in its chain of sources, says that a file system is full
/// (`ENOSPC`, or a disk quota: `EDQUOT`) or that SQLite found it so (`SQLITE_FULL`).
/// Errors of object storage (S3) never count: its answers are not about this machine's
/// disks.
pub fn is_disk_full(err: &(dyn Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            )
        {
            return true;
        }
        if let Some(sqlx::Error::Database(db)) = e.downcast_ref::<sqlx::Error>()
            && db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
            && db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| c & 0xff == SQLITE_FULL)
        {
            return true;
        }
        if let Some(rusqlite::Error::SqliteFailure(f, _)) = e.downcast_ref::<rusqlite::Error>()
            && f.code == rusqlite::ErrorCode::DiskFull
        {
            return true;
        }
        if e.downcast_ref::<object_store::Error>().is_some() {
            return false;
        }
        next = e.source();
    }
    false
}

/// Reports one write refused because `which` (at `path`) is full: one log line per
/// refused write, saying which part and where. Every such event goes through here.
pub fn note_disk_full(which: Storage, path: &Path) {
    tracing::error!(
        part = which.name(),
        path = %path.display(),
        "no space left on the file system of the {}: writes answer 507 until space is freed (reads go on)",
        which.name(),
    );
}

/// Response middleware: a 507 carries the [`Storage`] part that is full (set by
/// [`crate::error::ApiError`]); this reports it with the part's path, which only the
/// server's settings know.
pub(crate) async fn note_full_responses(State(app): State<AppState>, resp: Response) -> Response {
    if let Some(&which) = resp.extensions().get::<Storage>() {
        let path = which
            .path(&app.config)
            .unwrap_or_else(|| PathBuf::from(which.name()));
        note_disk_full(which, &path);
        app.metrics.disk_full(match which {
            Storage::Database => "database",
            Storage::Blobs => "blobs",
        });
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_file_systems_are_recognised_through_the_error_chain() {
        let enospc = std::io::Error::from_raw_os_error(28);
        assert!(is_disk_full(&enospc));
        // As tokio reports a failed background write: the kind alone.
        assert!(is_disk_full(&std::io::Error::from(
            std::io::ErrorKind::StorageFull
        )));
        let blob = crate::blobs::BlobError::Io(std::io::Error::from_raw_os_error(28));
        assert!(is_disk_full(&blob));
        let sqlite = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(13), None);
        assert!(is_disk_full(&crate::store::StoreError::from(sqlite)));
        for other in [
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            std::io::Error::from_raw_os_error(5),
        ] {
            assert!(!is_disk_full(&other), "{other}");
        }
        let busy = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(5), None);
        assert!(!is_disk_full(&busy));
    }
}

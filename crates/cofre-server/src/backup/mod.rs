//! Backups: a consistent snapshot of the database and every blob it references,
//! packed into one archive encrypted to an offline backup key and signed by the server
//! (docs/FORMAT.md section 13, docs/BACKUPS.md).
//!
//! - [`create`]: take the snapshot while the server keeps serving, and pack it.
//! - [`pack`]: write an archive, file by file, in constant memory.
//! - [`archive`]: open an archive, check its structure, signature and hashes, extract it.
//! - [`restore`]: rebuild a data directory from an archive, all or nothing.
//! - [`retention`]: which backups a keep-last/daily/weekly policy keeps.
//! - [`schedule`]: backups run by the server on a timer or on an admin's request.

pub mod archive;
pub mod create;
mod decompress;
pub mod pack;
pub mod restore;
pub mod retention;
pub mod schedule;

use std::path::{Path, PathBuf};

use cofre_core::keys::PublicKey;

/// File name extension of a backup archive.
pub const EXTENSION: &str = "cbk";

/// Why a backup could not be made, read or restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The archive's structure is wrong: truncated, cut, or not a backup.
    #[error("{path} is not a valid cofre backup: {source}")]
    Malformed {
        /// The archive.
        path: PathBuf,
        /// What is wrong.
        source: cofre_core::Error,
    },
    /// The manifest signature does not verify.
    #[error("{path}: the manifest signature does not verify: the backup was altered")]
    BadSignature {
        /// The archive.
        path: PathBuf,
    },
    /// Signed by another key than the one expected.
    #[error("the backup is signed by key {found}, not by the expected {expected}")]
    SignerMismatch {
        /// Fingerprint of the archive's signer.
        found: String,
        /// The expected fingerprint.
        expected: String,
    },
    /// Restoring needs a pinned signer.
    #[error(
        "the backup is signed by key {found}; pass --signer with your server's backup signing key (or its fingerprint) to restore it"
    )]
    SignerNotPinned {
        /// Fingerprint of the archive's signer.
        found: String,
    },
    /// An entry's bytes do not match the manifest's hash.
    #[error("{entry}: its SHA-256 does not match the manifest: the backup is damaged or altered")]
    HashMismatch {
        /// The entry's path.
        entry: String,
    },
    /// The archive key does not unwrap with the key given.
    #[error("this backup was encrypted for another backup key")]
    WrongKey,
    /// An entry does not decrypt, or decrypts to other sizes than the manifest's.
    #[error("{entry}: does not decrypt: the backup is damaged or altered")]
    Decrypt {
        /// The entry's path.
        entry: String,
    },
    /// The restored database fails its integrity check or does not match the manifest.
    #[error("the restored database is not sound: {0}")]
    Database(String),
    /// Restore would overwrite data.
    #[error("{0} exists and is not empty: restore into an empty directory, or pass --force")]
    TargetNotEmpty(PathBuf),
    /// Database access.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Server key files.
    #[error(transparent)]
    Keys(#[from] crate::secrets::KeyFileError),
    /// A cryptographic operation failed (not a property of the archive).
    #[error("crypto: {0}")]
    Crypto(cofre_core::Error),
    /// A worker thread failed.
    #[error("backup worker failed: {0}")]
    Worker(String),
}

/// Result alias.
pub type BackupResult<T> = Result<T, BackupError>;

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The short, human-checkable fingerprint of a signing key (39 characters).
pub fn fingerprint(key: &PublicKey) -> String {
    cofre_core::vault::fingerprint_text(key)
}

/// Normalizes a fingerprint as typed: spaces and dashes removed, lower case.
pub fn normalize_fingerprint(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// `cofre-backup-YYYYMMDDTHHMMSSZ-<first 8 hex of the id>.cbk`.
pub fn file_name(created_at: i64, backup_id_hex: &str) -> String {
    format!(
        "cofre-backup-{}-{}.{EXTENSION}",
        utc_stamp(created_at),
        backup_id_hex.get(..8).unwrap_or(backup_id_hex)
    )
}

/// Unix seconds as `YYYYMMDDTHHMMSSZ` (UTC).
pub fn utc_stamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = crate::clock::civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_and_names() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(utc_stamp(1_764_601_199), "20251201T145959Z");
        assert_eq!(
            file_name(0, "0123456789abcdef0123456789abcdef"),
            "cofre-backup-19700101T000000Z-01234567.cbk"
        );
        assert_eq!(normalize_fingerprint("ABCD efgh-ijkl"), "abcdefghijkl");
    }
}

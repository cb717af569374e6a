//! Making a backup of a running server: a consistent database snapshot (taken in one
//! read transaction while writers carry on), then every blob the snapshot references.
//! Blobs are immutable, so copying them after the snapshot is consistent; one deleted
//! in between is left out together with its item (and the item's shares), as if the
//! deletion had happened before the snapshot.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cofre_core::backup::archive::{Compression, Counts, Header, MANIFEST_FORMAT, Manifest};
use cofre_core::keys::PublicKey;

use super::archive::DATABASE_PATH;
use super::pack::Packer;
use super::{BackupError, BackupResult, fingerprint, io};
use crate::store::Store;

/// Progress callback: bytes read from the data directory.
pub type ProgressFn = Arc<dyn Fn(u64) + Send + Sync>;

/// What a backup run made.
#[derive(Clone, Debug)]
pub struct Created {
    /// The archive.
    pub path: PathBuf,
    /// Its length.
    pub bytes: u64,
    /// Its manifest.
    pub manifest: Manifest,
    /// The signer's fingerprint.
    pub signer_fingerprint: String,
    /// Items left out because they were deleted while the backup ran.
    pub deleted_meanwhile: usize,
}

/// Backs up the server whose database is `store` and whose data directory is
/// `data_dir` into a new archive in `out_dir`, encrypted to `backup_key`.
pub async fn create(
    store: &Store,
    data_dir: &Path,
    backup_key: &PublicKey,
    out_dir: &Path,
    now: i64,
    progress: ProgressFn,
) -> BackupResult<Created> {
    let signer = crate::secrets::backup_signer(&crate::secrets::default_keys_dir(data_dir))?;
    crate::config::create_private_dir(out_dir).map_err(io(out_dir))?;
    let work = tempfile::Builder::new()
        .prefix(".cofre-backup-work-")
        .tempdir_in(out_dir)
        .map_err(io(out_dir))?;
    let snapshot_path = work.path().join(DATABASE_PATH);
    match store.backend() {
        crate::store::Backend::Sqlite => store.snapshot_into(&snapshot_path).await?,
        // PostgreSQL: every table, read in one snapshot, copied into a fresh SQLite
        // database and verified (row counts and content digests). A backup is the same
        // archive either way; it restores into an SQLite installation, from which
        // `cofre server migrate` moves it back to PostgreSQL.
        crate::store::Backend::Postgres => {
            let copy = Store::open_sqlite(&snapshot_path).await?;
            let copied = store.copy_into(&copy).await;
            copy.close().await;
            copied?;
        }
    }
    let snapshot = Store::open_sqlite_as_is(&snapshot_path).await?;
    snapshot.drop_uncommitted_items().await?;
    let ids = snapshot.committed_item_ids().await?;
    let schema_version = snapshot.schema_version().await?;

    let (header, key) = Header::create(backup_key).map_err(BackupError::Crypto)?;
    let final_path = out_dir.join(super::file_name(now, &header.id_hex()));
    let packer = Packer::create(&final_path, header, key)?;

    // Keys and blobs first; the database last, once blobs deleted meanwhile are known.
    let data = data_dir.to_owned();
    let p = progress.clone();
    let (packer, vanished) = blocking(move || {
        let mut packer = packer;
        let result = (|| {
            add_keys(&mut packer, &data)?;
            let mut vanished = Vec::new();
            for id in ids {
                let rel = format!("blobs/{}/{id}", id.get(..2).unwrap_or("00"));
                if !packer.add_file(&rel, &data.join(&rel), Compression::None, &*p)? {
                    vanished.push(id);
                }
            }
            Ok(vanished)
        })();
        match result {
            Ok(v) => Ok((packer, v)),
            Err(e) => {
                packer.abandon();
                Err(e)
            }
        }
    })
    .await?;

    let finish = async {
        snapshot.delete_items(&vanished).await?;
        let counts = snapshot.table_counts().await?;
        snapshot.checkpoint().await?;
        snapshot.close().await;
        Ok::<_, BackupError>(counts)
    };
    let counts = match finish.await {
        Ok(c) => c,
        Err(e) => {
            packer.abandon();
            return Err(e);
        }
    };
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        backup_id: packer.id_hex(),
        created_at: now,
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
        schema_version,
        signer: cofre_core::format::text::encode(signer.public_key().to_spki()),
        counts: Counts {
            users: counts.users,
            items: counts.items,
            shares: counts.shares,
        },
        files: Vec::new(),
    };
    let signer_fingerprint = fingerprint(signer.public_key());
    let deleted_meanwhile = vanished.len();
    let p = progress;
    let (path, bytes, manifest) = blocking(move || {
        let mut packer = packer;
        if let Err(e) = packer.add_file(DATABASE_PATH, &snapshot_path, Compression::Zstd, &*p) {
            packer.abandon();
            return Err(e);
        }
        packer.finish(manifest, &signer)
    })
    .await?;
    drop(work);
    Ok(Created {
        path,
        bytes,
        manifest,
        signer_fingerprint,
        deleted_meanwhile,
    })
}

/// Adds every file under `DATA/keys` (the server's secrets: without them a restored
/// server could not open TOTP secrets nor check recovery codes).
fn add_keys(packer: &mut Packer, data_dir: &Path) -> BackupResult<()> {
    let mut stack = vec![PathBuf::from("keys")];
    while let Some(rel) = stack.pop() {
        let dir = data_dir.join(&rel);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(io(&dir))?
            .collect::<Result<_, _>>()
            .map_err(io(&dir))?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let kind = e.file_type().map_err(io(&e.path()))?;
            if kind.is_dir() {
                stack.push(rel.join(&name));
            } else if kind.is_file() {
                let rel_file = rel.join(&name).to_string_lossy().replace('\\', "/");
                let bytes =
                    zeroize::Zeroizing::new(std::fs::read(e.path()).map_err(io(&e.path()))?);
                packer.add_bytes(&rel_file, &bytes)?;
            }
        }
    }
    Ok(())
}

/// Runs blocking work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> BackupResult<T> + Send + 'static,
) -> BackupResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BackupError::Worker(e.to_string()))?
}

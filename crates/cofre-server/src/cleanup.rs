//! The cleanup pass: removes uploads never committed before their expiry, and blobs
//! or uploads with no item row at all (left by a crash between the blob store and the
//! database, or by a deleted account). Runs at start and then periodically.

use crate::blobs::BlobError;
use crate::state::AppState;
use crate::store::StoreError;

/// What a pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    /// Expired uploads (row and bytes).
    pub expired_uploads: usize,
    /// Blobs or uploads without a row.
    pub orphans: usize,
}

/// Why a pass failed.
#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    /// Database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Blob store.
    #[error(transparent)]
    Blobs(#[from] BlobError),
}

/// One pass at time `now`.
pub async fn run_once(app: &AppState, now: i64) -> Result<Removed, CleanupError> {
    let mut removed = Removed::default();
    for id in app.store.expired_uploads(now).await? {
        app.blobs.delete(&id).await?;
        if app.store.delete_upload(&id).await? {
            removed.expired_uploads += 1;
        }
    }
    // New versions of committed items: the row first (the item stays as it is), then
    // the upload's bytes, never the item's blob.
    for id in app.store.expired_replacements(now).await? {
        if app.store.cancel_expired_replacement(&id, now).await? {
            app.blobs.delete_upload(&id).await?;
            removed.expired_uploads += 1;
        }
    }
    // List the blobs first, then the rows: bytes are written only after their row
    // exists, so a blob listed before the rows were read and without a row is an
    // orphan (one query for the rows, not one per blob).
    let stored = app.blobs.list().await?;
    let rows = app.store.all_item_ids().await?;
    for s in stored {
        if !rows.contains(&s.key) {
            app.blobs.delete(&s.key).await?;
            removed.orphans += 1;
        }
    }
    Ok(removed)
}

/// Runs a pass now and then every `cleanup_every_secs`, logging what it did.
pub async fn run_every(app: AppState) {
    let every = std::time::Duration::from_secs(app.config.cleanup_every_secs);
    loop {
        match run_once(&app, crate::clock::now()).await {
            Ok(r) if r == Removed::default() => {}
            Ok(r) => tracing::info!(
                expired_uploads = r.expired_uploads,
                orphans = r.orphans,
                "cleanup removed abandoned uploads and orphaned blobs"
            ),
            Err(e) => tracing::error!(error = %e, "cleanup pass failed"),
        }
        tokio::time::sleep(every).await;
    }
}

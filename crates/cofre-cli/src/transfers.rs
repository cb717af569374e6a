//! Interrupted transfers, continued by the next run: what `cofre put` and `cofre get`
//! keep in the client's state directory.
//!
//! - `uploads/<hash>.json` (mode 0600, directory 0700): one per file being uploaded,
//!   named by a hash of the server, the account and the file's canonical path. It
//!   records the file's identity (size, modification time, inode, device), the
//!   upload's id and encoded length, and the item key and stream header **sealed
//!   under the user key** (FORMAT.md 9.11): never key material in the clear. The next
//!   `cofre put` of the same, unchanged file continues the upload from what the server
//!   has; a changed file starts over (and the stale upload is cancelled).
//! - `downloads/<id>-<length>-<time>.part` (0600): the **ciphertext** a download
//!   received so far, never plaintext. The next `cofre get` of the same item decrypts
//!   and verifies it chunk by chunk, then asks the server for the rest.

use std::fs::{File, Metadata, OpenOptions};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use cofre_client::ClientError;
use cofre_client::core::format::SealedBox;
use cofre_client::resume::UploadCheckpoint;
use cofre_client::vault::VaultItem;
use serde::{Deserialize, Serialize};

use crate::commands::vault::{Vault, human};

/// Partial downloads not touched for this long are removed by the next `get`.
const KEEP_PARTIAL_DOWNLOADS: Duration = Duration::from_secs(7 * 24 * 3600);

/// The identity of a file: if any of these changed, so may have its content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct FileIdentity {
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
    inode: u64,
    device: u64,
}

impl FileIdentity {
    fn of(meta: &Metadata) -> Self {
        Self {
            size: meta.len(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
            inode: meta.ino(),
            device: meta.dev(),
        }
    }
}

/// What `uploads/<hash>.json` holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedUpload {
    version: u32,
    server: String,
    username: String,
    file: FileIdentity,
    id: String,
    encoded: u64,
    /// For a new version of an existing item: the item's creation time.
    replaces: Option<i64>,
    /// The item key and stream header, sealed under the user key (text form).
    checkpoint: String,
}

/// An upload of a file, fresh or continued, and where its state is kept.
pub(crate) struct FileUpload {
    /// The state file.
    state: PathBuf,
    /// Id, key and header.
    pub(crate) checkpoint: UploadCheckpoint,
    /// What the server already has (`None`: a new upload).
    pub(crate) received: Option<u64>,
}

fn uploads_dir(v: &Vault) -> PathBuf {
    v.state_dir.join("uploads")
}

fn state_file(v: &Vault, canonical: &Path) -> PathBuf {
    use std::os::unix::ffi::OsStrExt as _;
    let digest = cofre_client::core::primitives::digest::sha256(&[
        v.server.as_bytes(),
        &[0],
        v.username.as_bytes(),
        &[0],
        canonical.as_os_str().as_bytes(),
    ]);
    let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    uploads_dir(v).join(format!("{name}.json"))
}

/// Starts or continues the upload of the file at `path` (open, with metadata `meta`),
/// as a new item or as a new version of `replace`: continues when this machine kept
/// the state of an interrupted upload of the same, unchanged file to the same end and
/// the server still has it, saying so; otherwise starts a new one, whose state is
/// saved before anything is sent.
pub(crate) async fn begin_upload(
    v: &Vault,
    path: &Path,
    meta: &Metadata,
    replace: Option<&VaultItem>,
) -> anyhow::Result<FileUpload> {
    let canonical =
        std::fs::canonicalize(path).with_context(|| format!("resolving {}", path.display()))?;
    let state = state_file(v, &canonical);
    let identity = FileIdentity::of(meta);
    let saved: Option<SavedUpload> = match crate::session::read_json(&state) {
        Ok(s) => s,
        Err(_) => {
            // Unreadable state (another version, damage): start over.
            let _ = std::fs::remove_file(&state);
            None
        }
    };
    if let Some(saved) = saved.filter(|s| s.server == v.server && s.username == v.username) {
        let same_end = match replace {
            Some(item) => saved.replaces.is_some() && saved.id == item.id,
            None => saved.replaces.is_none(),
        };
        if saved.file == identity && same_end {
            let opened = SealedBox::from_text(&saved.checkpoint)
                .map_err(anyhow::Error::from)
                .and_then(|b| {
                    UploadCheckpoint::open(
                        &saved.id,
                        identity.size,
                        saved.encoded,
                        saved.replaces,
                        &b,
                        v.keys.user_key(),
                    )
                    .map_err(anyhow::Error::from)
                });
            match opened {
                Ok(checkpoint) => match v.client.upload_status(&v.token, &saved.id).await? {
                    Some(st) if st.size == saved.encoded => {
                        eprintln!(
                            "resuming upload of {} at {} of {}",
                            path.display(),
                            human(st.received),
                            human(st.size)
                        );
                        return Ok(FileUpload {
                            state,
                            checkpoint,
                            received: Some(st.received),
                        });
                    }
                    _ => eprintln!(
                        "the interrupted upload of {} is no longer on the server (expired or \
                         cancelled): starting over",
                        path.display()
                    ),
                },
                Err(_) => eprintln!(
                    "the saved state of an interrupted upload of {} does not open with this \
                     account's key: starting over",
                    path.display()
                ),
            }
        } else if same_end {
            eprintln!(
                "{} changed since its upload was interrupted: starting over",
                path.display()
            );
        } else {
            eprintln!(
                "an interrupted upload of {} went elsewhere (a new item or a new version): \
                 starting over",
                path.display()
            );
        }
        // The stale upload only holds quota now.
        let _ = v.client.cancel_upload(&v.token, &saved.id).await;
        let _ = std::fs::remove_file(&state);
    }
    let checkpoint = match replace {
        Some(item) => UploadCheckpoint::new_version(item, identity.size)?,
        None => UploadCheckpoint::new(identity.size)?,
    };
    let saved = SavedUpload {
        version: 1,
        server: v.server.clone(),
        username: v.username.clone(),
        file: identity,
        id: checkpoint.id.clone(),
        encoded: checkpoint.encoded,
        replaces: checkpoint.replaces,
        checkpoint: checkpoint.seal(v.keys.user_key())?.to_text(),
    };
    let dir = uploads_dir(v);
    let name = state
        .file_name()
        .and_then(|n| n.to_str())
        .context("state file name")?
        .to_owned();
    crate::session::write_json(&dir, &name, &saved)?;
    Ok(FileUpload {
        state,
        checkpoint,
        received: None,
    })
}

impl FileUpload {
    /// The upload is committed (or abandoned): forget its state.
    pub(crate) fn forget(&self) {
        let _ = std::fs::remove_file(&self.state);
    }

    /// After a failed upload: whether the next run can continue it (the state is
    /// kept), or it cannot (the state is forgotten and the upload cancelled).
    pub(crate) async fn after_failure(&self, v: &Vault, e: &anyhow::Error) -> bool {
        let hopeless = match e.downcast_ref::<ClientError>() {
            Some(ClientError::Api { status, .. }) => matches!(status, 400 | 404 | 413),
            Some(
                ClientError::Usage(_) | ClientError::Crypto(_) | ClientError::Integrity { .. },
            ) => true,
            _ => false,
        };
        if hopeless {
            let _ = v.client.cancel_upload(&v.token, &self.checkpoint.id).await;
            self.forget();
        }
        !hopeless
    }
}

/// Removes the saved state of the upload `id`, if this machine has one (after the
/// upload was cancelled).
pub(crate) fn forget_upload(v: &Vault, id: &str) {
    let Ok(entries) = std::fs::read_dir(uploads_dir(v)) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if let Ok(Some(s)) = crate::session::read_json::<SavedUpload>(&path)
            && s.id == id
        {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// The file keeping the ciphertext of a download of `item` (created empty, 0600, when
/// there is none); the ciphertext of other versions of the item, and partial
/// downloads untouched for a week, are removed.
pub(crate) fn kept_download(v: &Vault, item: &VaultItem) -> anyhow::Result<(PathBuf, File)> {
    let dir = v.state_dir.join("downloads");
    let mut b = std::fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(b.recursive(true), 0o700);
    b.create(&dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let name = format!("{}-{}-{}.part", item.id, item.encoded_size, item.updated_at);
    let now = SystemTime::now();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let Some(n) = e.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let other_version = n.starts_with(&format!("{}-", item.id)) && n != name;
            let old = e
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > KEEP_PARTIAL_DOWNLOADS);
            if n.ends_with(".part") && (other_version || old) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let path = dir.join(name);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    Ok((path, file))
}

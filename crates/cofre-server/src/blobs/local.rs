//! Blobs in a local folder: `blobs/ab/<id>` for blobs (by the first two hex digits)
//! and `blobs/uploads/<id>` for uploads. Every write is fsynced before it is
//! acknowledged; an upload becomes a blob by fsync, rename and fsync of the folder,
//! so a crash leaves either the whole blob or none.

use std::path::{Path, PathBuf};

use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _, AsyncWriteExt as _};

use super::{BlobError, BlobFuture, BlobReader, BlobStore, PartBody, StoredKey, valid_key};

/// A folder of blobs.
#[derive(Debug, Clone)]
pub struct LocalBlobs {
    root: PathBuf,
}

impl LocalBlobs {
    /// Opens (creating, owner-only) the folder `root`.
    pub fn open(root: &Path) -> std::io::Result<Self> {
        crate::config::create_private_dir(&root.join("uploads"))?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    /// Opens the existing folder `root` without creating or changing anything in it
    /// (for reading a folder another process owns, as a migration does).
    pub fn existing(root: &Path) -> std::io::Result<Self> {
        if !root.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no blob folder at {}", root.display()),
            ));
        }
        Ok(Self {
            root: root.to_owned(),
        })
    }

    fn check(key: &str) -> Result<(), BlobError> {
        if valid_key(key) {
            Ok(())
        } else {
            Err(BlobError::NotFound)
        }
    }

    fn upload_path(&self, key: &str) -> PathBuf {
        self.root.join("uploads").join(key)
    }

    fn blob_dir(&self, key: &str) -> PathBuf {
        self.root.join(key.get(..2).unwrap_or("00"))
    }

    fn blob_path(&self, key: &str) -> PathBuf {
        self.blob_dir(key).join(key)
    }
}

async fn len_or_zero(path: &Path) -> std::io::Result<u64> {
    match fs::metadata(path).await {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

async fn remove_if_exists(path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes a rename or a removal in `dir` durable.
async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir).await?.sync_all().await
}

impl BlobStore for LocalBlobs {
    fn upload_len<'a>(&'a self, key: &'a str) -> BlobFuture<'a, u64> {
        Box::pin(async move {
            Self::check(key)?;
            Ok(len_or_zero(&self.upload_path(key)).await?)
        })
    }

    fn write_part<'a>(
        &'a self,
        key: &'a str,
        offset: u64,
        mut body: PartBody<'a>,
        max_len: u64,
        max_part: u64,
    ) -> BlobFuture<'a, u64> {
        Box::pin(async move {
            Self::check(key)?;
            let path = self.upload_path(key);
            let mut opts = OpenOptions::new();
            opts.create(true).truncate(false).read(true).write(true);
            // Owner-only, whatever the umask (ciphertext, but nobody else's business).
            #[cfg(unix)]
            opts.mode(0o600);
            let mut file = opts.open(&path).await?;
            let received = file.metadata().await?.len();
            if offset > received {
                return Err(BlobError::Offset { offset, received });
            }
            file.seek(std::io::SeekFrom::Start(offset)).await?;
            let limit = max_len.saturating_sub(offset).min(max_part);
            let mut written = 0u64;
            let mut buf = vec![0u8; 256 * 1024];
            let outcome = loop {
                let n = match body.read(&mut buf).await {
                    Ok(0) => break Ok(()),
                    Ok(n) => n,
                    Err(e) => break Err(BlobError::Body(e)),
                };
                if written + n as u64 > limit {
                    break Err(BlobError::TooLarge);
                }
                let chunk = buf.get(..n).unwrap_or_default();
                if let Err(e) = file.write_all(chunk).await {
                    break Err(e.into());
                }
                written += n as u64;
            };
            // A write hands its bytes to a background thread and reports that thread's
            // failure (a full disk) only to the next operation that asks: flush asks.
            // `set_len` below would not, and would extend the file over the bytes that
            // were never written.
            let outcome = match outcome {
                Ok(()) => file.flush().await.map_err(BlobError::from),
                failed => failed,
            };
            // On failure, cut back to `offset`: bytes after it may have been
            // overwritten, and the client resends from there anyway.
            let end = if outcome.is_ok() {
                offset + written
            } else {
                offset
            };
            file.set_len(end).await?;
            file.sync_all().await?;
            outcome.map(|()| end)
        })
    }

    fn finish<'a>(&'a self, key: &'a str) -> BlobFuture<'a, ()> {
        Box::pin(async move {
            Self::check(key)?;
            let from = self.upload_path(key);
            let to = self.blob_path(key);
            if fs::metadata(&from).await.is_err() {
                return if fs::metadata(&to).await.is_ok() {
                    Ok(())
                } else {
                    Err(BlobError::NotFound)
                };
            }
            File::open(&from).await?.sync_all().await?;
            crate::config::create_private_dir(&self.blob_dir(key))?;
            fs::rename(&from, &to).await?;
            sync_dir(&self.blob_dir(key)).await?;
            sync_dir(&self.root.join("uploads")).await?;
            Ok(())
        })
    }

    fn open<'a>(&'a self, key: &'a str, offset: u64) -> BlobFuture<'a, (BlobReader, u64)> {
        Box::pin(async move {
            Self::check(key)?;
            let mut file = match File::open(self.blob_path(key)).await {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(BlobError::NotFound);
                }
                Err(e) => return Err(e.into()),
            };
            let len = file.metadata().await?.len();
            file.seek(std::io::SeekFrom::Start(offset.min(len))).await?;
            let reader: BlobReader = Box::pin(file);
            Ok((reader, len))
        })
    }

    fn replace<'a>(&'a self, key: &'a str) -> BlobFuture<'a, ()> {
        // A rename over the old file: readers that opened it keep reading it.
        self.finish(key)
    }

    fn delete<'a>(&'a self, key: &'a str) -> BlobFuture<'a, ()> {
        Box::pin(async move {
            Self::check(key)?;
            remove_if_exists(&self.upload_path(key)).await?;
            remove_if_exists(&self.blob_path(key)).await?;
            Ok(())
        })
    }

    fn delete_upload<'a>(&'a self, key: &'a str) -> BlobFuture<'a, ()> {
        Box::pin(async move {
            Self::check(key)?;
            remove_if_exists(&self.upload_path(key)).await?;
            Ok(())
        })
    }

    fn list(&self) -> BlobFuture<'_, Vec<StoredKey>> {
        Box::pin(async move {
            let mut out = Vec::new();
            let mut dirs = fs::read_dir(&self.root).await?;
            while let Some(dir) = dirs.next_entry().await? {
                let name = dir.file_name().to_string_lossy().into_owned();
                let upload = name == "uploads";
                if !upload && (name.len() != 2 || !dir.file_type().await?.is_dir()) {
                    continue;
                }
                let mut files = fs::read_dir(dir.path()).await?;
                while let Some(f) = files.next_entry().await? {
                    let key = f.file_name().to_string_lossy().into_owned();
                    if valid_key(&key) {
                        out.push(StoredKey { key, upload });
                    }
                }
            }
            Ok(out)
        })
    }
}

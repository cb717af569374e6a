//! Where item bodies live: a [`BlobStore`] holds opaque, immutable ciphertext blobs
//! keyed by item id, plus the uploads that become them. The database says which blobs
//! exist (an item is visible only once committed there); the store only keeps bytes.
//!
//! Two implementations: [`local::LocalBlobs`], a folder (the default, `DATA/blobs`),
//! and [`s3::S3Blobs`], S3-compatible object storage. [`BlobLocation`] says which one
//! a server uses (`--blobs`), and [`open_blob_store`] opens it.
//! [`copy::copy_blobs`] moves blobs from one store to another.

pub mod copy;
pub mod local;
pub mod s3;

use std::fmt::Debug;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::AsyncRead;

/// A blob-store failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// No such blob or upload.
    #[error("no such blob")]
    NotFound,
    /// The part would take the upload past its declared size or the part limit.
    #[error("part too large")]
    TooLarge,
    /// The part starts past what was received.
    #[error("offset {offset} is past the {received} bytes received")]
    Offset {
        /// The requested offset.
        offset: u64,
        /// What the store holds.
        received: u64,
    },
    /// The request body failed while it was being read (client went away).
    #[error("reading the request body: {0}")]
    Body(std::io::Error),
    /// The storage failed.
    #[error("blob storage: {0}")]
    Io(#[from] std::io::Error),
    /// The object store failed.
    #[error("object storage: {0}")]
    ObjectStore(#[from] object_store::Error),
    /// Stored data that the store did not write that way.
    #[error("blob storage: {0}")]
    Corrupt(String),
    /// The blob-store settings cannot work (missing credentials, a bad endpoint).
    #[error("{0}")]
    Settings(String),
    /// The store cannot be used (checked at start): a folder that cannot be created,
    /// a bucket that does not answer.
    #[error("{location}: {reason}")]
    Unavailable {
        /// The folder or bucket.
        location: String,
        /// Why.
        reason: String,
    },
}

/// A boxed future of the blob store.
pub type BlobFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BlobError>> + Send + 'a>>;

/// A blob's bytes from some offset.
pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// A request body being streamed in.
pub type PartBody<'a> = Pin<&'a mut (dyn AsyncRead + Send)>;

/// What the cleanup pass sees in a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    /// The item id.
    pub key: String,
    /// An upload not yet finished (rather than a blob).
    pub upload: bool,
}

/// Blob storage. Keys are item ids (validated by the caller: lowercase hex).
pub trait BlobStore: Send + Sync + Debug {
    /// Bytes of the upload `key` received so far (0 when none).
    fn upload_len<'a>(&'a self, key: &'a str) -> BlobFuture<'a, u64>;

    /// Writes `body` into the upload `key` at `offset` (at most what was received;
    /// anything after it is replaced), durably, and returns the new length. Refuses
    /// to grow the upload past `max_len` or to take more than `max_part` bytes, and
    /// then (as when the body breaks off) leaves the upload as it was before the call;
    /// only a refused part at an offset below the received length may cut the upload
    /// back to that offset (the folder store writes in place).
    fn write_part<'a>(
        &'a self,
        key: &'a str,
        offset: u64,
        body: PartBody<'a>,
        max_len: u64,
        max_part: u64,
    ) -> BlobFuture<'a, u64>;

    /// Turns the finished upload `key` into the immutable blob `key`, durably. Done
    /// again after a crash, it succeeds if the blob is already there.
    fn finish<'a>(&'a self, key: &'a str) -> BlobFuture<'a, ()>;

    /// The blob `key` from `offset` on, with the blob's total length.
    fn open<'a>(&'a self, key: &'a str, offset: u64) -> BlobFuture<'a, (BlobReader, u64)>;

    /// Turns the finished upload `key` into the blob `key`, replacing the blob that is
    /// there (a new version of an item): readers see the old blob or the new one, or,
    /// in object storage, briefly none (`NotFound`), never a mix. Done again after a
    /// crash, it succeeds if the upload is gone and a blob is there.
    fn replace<'a>(&'a self, key: &'a str) -> BlobFuture<'a, ()>;

    /// Removes the blob and the upload `key`, whichever exist.
    fn delete<'a>(&'a self, key: &'a str) -> BlobFuture<'a, ()>;

    /// Removes only the upload `key` (an abandoned new version), never the blob.
    fn delete_upload<'a>(&'a self, key: &'a str) -> BlobFuture<'a, ()>;

    /// Everything stored, for the cleanup pass.
    fn list(&self) -> BlobFuture<'_, Vec<StoredKey>>;
}

/// Whether `key` is a valid item id: 32 lowercase hex digits.
pub fn valid_key(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Where a server keeps its blobs (`--blobs`).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum BlobLocation {
    /// The folder `blobs` in the data directory (the default).
    #[default]
    DataDir,
    /// A folder elsewhere.
    Folder(PathBuf),
    /// S3-compatible object storage.
    S3(s3::S3Location),
}

/// Why a `--blobs` value was refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LocationError(String);

impl std::str::FromStr for BlobLocation {
    type Err = LocationError;

    /// `s3://BUCKET[/PREFIX]` for S3 (default region, AWS endpoint: set the rest on the
    /// [`s3::S3Location`]), anything else a folder.
    fn from_str(s: &str) -> Result<Self, LocationError> {
        let bad = |why: &str| Err(LocationError(format!("blob location {s:?}: {why}")));
        if s.is_empty() {
            return bad("empty");
        }
        let Some(rest) = s.strip_prefix("s3://") else {
            if let Some((scheme, _)) = s.split_once("://") {
                return bad(&format!(
                    "unsupported scheme {scheme:?} (a folder, or s3://BUCKET/PREFIX)"
                ));
            }
            return Ok(Self::Folder(PathBuf::from(s)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_end_matches('/');
        if !valid_bucket(bucket) {
            return bad(
                "the bucket name must be 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit",
            );
        }
        if !prefix.is_empty()
            && prefix.split('/').any(|seg| {
                seg.is_empty()
                    || seg == "."
                    || seg == ".."
                    || object_store::path::PathPart::parse(seg).is_err()
            })
        {
            return bad("the prefix must be folder names separated by single '/'");
        }
        Ok(Self::S3(s3::S3Location::new(bucket, prefix)))
    }
}

impl std::fmt::Display for BlobLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DataDir => f.write_str("DATA/blobs"),
            Self::Folder(p) => write!(f, "{}", p.display()),
            Self::S3(l) => write!(f, "{l}"),
        }
    }
}

/// S3's bucket naming rules, in short.
fn valid_bucket(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-'))
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !name.contains("..")
}

/// Opens the blob store at `location` (a folder is created, owner-only, if missing;
/// an S3 bucket must exist and answer).
pub async fn open_blob_store(
    location: &BlobLocation,
    data_dir: &Path,
) -> Result<Arc<dyn BlobStore>, BlobError> {
    let folder = match location {
        BlobLocation::DataDir => data_dir.join("blobs"),
        BlobLocation::Folder(p) => p.clone(),
        BlobLocation::S3(l) => {
            let store = s3::S3Blobs::connect(l)?;
            store.check().await?;
            return Ok(Arc::new(store));
        }
    };
    let store = local::LocalBlobs::open(&folder).map_err(|e| BlobError::Unavailable {
        location: folder.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(Arc::new(store))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_locations_parse() {
        let s3 = |v: &str| match v.parse::<BlobLocation>() {
            Ok(BlobLocation::S3(l)) => (l.bucket, l.prefix),
            other => panic!("{v}: {other:?}"),
        };
        assert_eq!(s3("s3://my-bucket"), ("my-bucket".into(), String::new()));
        assert_eq!(s3("s3://my.bucket/"), ("my.bucket".into(), String::new()));
        assert_eq!(s3("s3://b01/a/b/"), ("b01".into(), "a/b".into()));
        assert!(matches!(
            "/srv/blobs".parse::<BlobLocation>(),
            Ok(BlobLocation::Folder(p)) if p == Path::new("/srv/blobs")
        ));
        for bad in [
            "",
            "s3://",
            "s3://ab",
            "s3://Bucket",
            "s3://-bucket",
            "s3://a..b",
            "s3://bucket//x",
            "s3://bucket/a/../b",
            "gs://bucket/x",
            "https://example.com/b",
        ] {
            let e = bad.parse::<BlobLocation>().err().map(|e| e.to_string());
            assert!(e.is_some_and(|e| e.contains("blob location")), "{bad}");
        }
    }
}

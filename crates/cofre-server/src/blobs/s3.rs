//! Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph, Garage, ...), through
//! the `object_store` crate.
//!
//! # Layout
//!
//! Under the configured prefix `P` (empty: the bucket's root), for an item id `<id>`:
//!
//! - `P/uploads/<id>/<offset>`: one object per part of an upload in progress, named by
//!   the offset where it starts as 16 lowercase hex digits;
//! - `P/uploads/<id>/staging`: a part that rewrites earlier data, while it arrives;
//! - `P/blobs/<id>/<offset>`: the parts of the finished blob, server-side copies of the
//!   upload's parts;
//! - `P/blobs/<id>/complete`: the completion marker, written last. It holds the blob's
//!   length and its parts (`<offset> <length>` per line). A blob exists exactly when
//!   its marker does.
//!
//! # Consistency
//!
//! The store relies on read-after-write and list-after-write consistency (AWS S3 has
//! it since 2020; so do MinIO, Ceph and moto). One upload is written by one request at
//! a time (the server refuses concurrent writes to the same item).
//!
//! - The upload's content is its parts in offset order, each part cutting the one
//!   before it at its start; it ends at the first gap. Parts that start past that end
//!   are leftovers of an interrupted rewrite and are removed by the next write.
//! - A part at the end of what was received streams straight into its object (one
//!   `PUT` when it fits in [`CHUNK`], a multipart upload of [`CHUNK`]-sized chunks
//!   otherwise): an object appears only when complete, so a refused or broken part
//!   leaves the upload as it was.
//! - A part at an earlier offset goes to `staging` first. Only once it is whole are the
//!   later parts deleted (highest first, so an interruption leaves no gap), `staging`
//!   copied into place, and a part straddling the offset cut at it.
//! - `finish` copies the parts into `blobs/`, writes the marker, then deletes the
//!   upload; run again after a crash, it finds the marker and only tidies up.
//! - `delete` removes the marker first, so a blob is either whole or gone.
//!
//! Memory per request stays bounded whatever the blob's size: parts are streamed in
//! [`CHUNK`]-sized pieces (two in flight), and downloads are ranged `GET`s streamed
//! part after part. Multipart uploads that a crash leaves unfinished are invisible to
//! the server: give the bucket a lifecycle rule that aborts them after a day.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt as _, TryStreamExt as _};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{GetOptions, ObjectStore, ObjectStoreExt as _, PutPayload};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::io::StreamReader;
use zeroize::Zeroizing;

use super::{BlobError, BlobFuture, BlobReader, BlobStore, PartBody, StoredKey, valid_key};

/// Size of the pieces a part is streamed in (the smallest multipart chunk S3 accepts).
pub const CHUNK: usize = 5 << 20;

/// Most parts one upload may have (S3's own multipart limit): each part is an object,
/// and finishing copies each one.
pub const MAX_PARTS: usize = 10_000;

/// How many chunks of one part may be in flight at once.
const CHUNKS_IN_FLIGHT: usize = 2;

/// The completion marker's name in a blob's folder.
const MARKER: &str = "complete";

/// The name of a rewrite being received in an upload's folder.
const STAGING: &str = "staging";

/// Largest marker read back (a marker lists at most [`MAX_PARTS`] parts).
const MAX_MARKER_BYTES: u64 = 1 << 20;

/// Where the blobs are kept in S3-compatible storage (`--blobs s3://BUCKET/PREFIX`).
#[derive(Clone, Debug)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// A folder in the bucket (no leading or trailing `/`; empty: the root).
    pub prefix: String,
    /// The service's URL for a store other than AWS (`--s3-endpoint`); none: AWS.
    pub endpoint: Option<String>,
    /// The region requests are signed for (`--s3-region`).
    pub region: String,
    /// Whether a plain-HTTP endpoint is accepted (`--s3-allow-http`).
    pub allow_http: bool,
    /// Credentials given by a program embedding the server; none (as from the command
    /// line): `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
    pub credentials: Option<S3Credentials>,
}

impl S3Location {
    /// A location in `bucket` under `prefix`, with the default region and AWS's
    /// endpoint.
    pub fn new(bucket: &str, prefix: &str) -> Self {
        Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint: None,
            region: "us-east-1".to_owned(),
            allow_http: false,
            credentials: None,
        }
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}", self.bucket)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        if let Some(e) = &self.endpoint {
            write!(f, " at {e}")?;
        }
        Ok(())
    }
}

/// An access key for the object store. Never printed.
#[derive(Clone)]
pub struct S3Credentials {
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Option<Zeroizing<String>>,
}

impl S3Credentials {
    /// An access key id, its secret, and a session token for temporary credentials.
    pub fn new(access_key_id: &str, secret_access_key: &str, session_token: Option<&str>) -> Self {
        Self {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: Zeroizing::new(secret_access_key.to_owned()),
            session_token: session_token.map(|t| Zeroizing::new(t.to_owned())),
        }
    }

    /// Reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and (optional)
    /// `AWS_SESSION_TOKEN`.
    pub fn from_env() -> Result<Self, BlobError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => Ok(Self {
                access_key_id: id,
                secret_access_key: Zeroizing::new(secret),
                session_token: var("AWS_SESSION_TOKEN").map(Zeroizing::new),
            }),
            _ => Err(BlobError::Settings(
                "S3 blobs need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"
                    .into(),
            )),
        }
    }
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("S3Credentials(..)")
    }
}

/// Blobs in an S3 bucket (see the module documentation for the layout).
#[derive(Clone)]
pub struct S3Blobs {
    store: Arc<dyn ObjectStore>,
    root: Path,
    name: String,
}

impl fmt::Debug for S3Blobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Blobs")
            .field("location", &self.name)
            .finish_non_exhaustive()
    }
}

/// One stored part: where it starts and how long its object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Part {
    offset: u64,
    size: u64,
}

impl Part {
    fn end(self) -> u64 {
        self.offset + self.size
    }
}

/// What a list of parts holds: the parts in use with the length used of each (a part
/// is cut where the next one starts), the content's length, and the parts past its end.
#[derive(Debug, Default)]
struct Layout {
    used: Vec<(Part, u64)>,
    len: u64,
    stray: Vec<Part>,
}

impl Layout {
    fn of(mut parts: Vec<Part>) -> Self {
        parts.sort_by_key(|p| p.offset);
        let mut out = Self::default();
        for p in parts {
            if p.offset > out.len || !out.stray.is_empty() {
                out.stray.push(p);
                continue;
            }
            if let Some((last, used)) = out.used.last_mut() {
                *used = (*used).min(p.offset - last.offset);
            }
            out.used.push((p, p.size));
            out.len = p.end();
        }
        out
    }

    /// The marker's text: the length, then `<offset> <length>` for each non-empty part.
    fn marker(&self) -> String {
        let mut s = format!("{}\n", self.len);
        for (p, used) in &self.used {
            if *used > 0 {
                s.push_str(&format!("{} {used}\n", p.offset));
            }
        }
        s
    }

    /// Reads a marker back: the length and the `(offset, length)` of each part, which
    /// must follow each other from 0 to the length.
    fn parse_marker(text: &str) -> Option<(u64, Vec<Part>)> {
        let mut lines = text.lines();
        let len: u64 = lines.next()?.parse().ok()?;
        let mut parts = Vec::new();
        let mut end = 0u64;
        for line in lines {
            let (o, l) = line.split_once(' ')?;
            let p = Part {
                offset: o.parse().ok()?,
                size: l.parse().ok()?,
            };
            if p.offset != end {
                return None;
            }
            end = p.offset.checked_add(p.size)?;
            parts.push(p);
        }
        (end == len).then_some((len, parts))
    }
}

fn part_name(offset: u64) -> String {
    format!("{offset:016x}")
}

/// The offset a part's object name stands for, if it is a part's name.
fn parse_part_name(name: &str) -> Option<u64> {
    if name.len() == 16 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        u64::from_str_radix(name, 16).ok()
    } else {
        None
    }
}

fn not_found_is_ok(r: object_store::Result<()>) -> Result<(), BlobError> {
    match r {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

impl S3Blobs {
    /// Connects to the bucket `location` names (no request is made yet: see
    /// [`S3Blobs::check`]). Credentials come from the location or, when it has none,
    /// from the environment ([`S3Credentials::from_env`]).
    pub fn connect(location: &S3Location) -> Result<Self, BlobError> {
        let credentials = match &location.credentials {
            Some(c) => c.clone(),
            None => S3Credentials::from_env()?,
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&location.bucket)
            .with_region(&location.region)
            .with_allow_http(location.allow_http)
            .with_access_key_id(&credentials.access_key_id)
            .with_secret_access_key(credentials.secret_access_key.as_str());
        if let Some(token) = &credentials.session_token {
            builder = builder.with_token(token.as_str());
        }
        if let Some(endpoint) = &location.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder
            .build()
            .map_err(|e| BlobError::Settings(format!("S3 blob store {location}: {e}")))?;
        let root = Path::parse(&location.prefix)
            .map_err(|e| BlobError::Settings(format!("S3 prefix {:?}: {e}", location.prefix)))?;
        Ok(Self {
            store: Arc::new(store),
            root,
            name: location.to_string(),
        })
    }

    /// Blobs in any object store (for example `object_store::memory::InMemory`), under
    /// `prefix`.
    pub fn with_store(store: Arc<dyn ObjectStore>, prefix: Path) -> Self {
        let name = format!("{store} /{prefix}");
        Self {
            store,
            root: prefix,
            name,
        }
    }

    /// Checks with one listing request that the bucket exists and answers.
    pub async fn check(&self) -> Result<(), BlobError> {
        match self.store.list(Some(&self.root)).next().await {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(BlobError::Unavailable {
                location: self.name.clone(),
                reason: e.to_string(),
            }),
        }
    }

    fn upload_dir(&self, key: &str) -> Path {
        self.root.clone().join("uploads").join(key)
    }

    fn blob_dir(&self, key: &str) -> Path {
        self.root.clone().join("blobs").join(key)
    }

    fn check_key(key: &str) -> Result<(), BlobError> {
        if valid_key(key) {
            Ok(())
        } else {
            Err(BlobError::NotFound)
        }
    }

    /// The parts in the folder `dir` (other objects, like `staging`, are left out).
    async fn parts(&self, dir: &Path) -> Result<Vec<Part>, BlobError> {
        let mut out = Vec::new();
        let mut list = self.store.list(Some(dir));
        while let Some(meta) = list.try_next().await? {
            if let Some(offset) = meta.location.filename().and_then(parse_part_name) {
                out.push(Part {
                    offset,
                    size: meta.size,
                });
            }
        }
        Ok(out)
    }

    /// Deletes every object under `dir`.
    async fn delete_dir(&self, dir: &Path) -> Result<(), BlobError> {
        let found: Vec<Path> = self
            .store
            .list(Some(dir))
            .map_ok(|m| m.location)
            .try_collect()
            .await?;
        self.delete_all(found).await
    }

    /// Deletes `paths` (in bulk where the store can), missing ones included.
    async fn delete_all(&self, paths: Vec<Path>) -> Result<(), BlobError> {
        if paths.is_empty() {
            return Ok(());
        }
        let input = futures_util::stream::iter(paths.into_iter().map(Ok)).boxed();
        let mut out = self.store.delete_stream(input);
        while let Some(r) = out.next().await {
            not_found_is_ok(r.map(|_| ()))?;
        }
        Ok(())
    }

    /// Deletes `parts` of `dir` one by one, highest offset first.
    async fn delete_parts_downwards(&self, dir: &Path, parts: &[Part]) -> Result<(), BlobError> {
        let mut offsets: Vec<u64> = parts.iter().map(|p| p.offset).collect();
        offsets.sort_unstable_by(|a, b| b.cmp(a));
        for o in offsets {
            not_found_is_ok(self.store.delete(&dir.clone().join(part_name(o))).await)?;
        }
        Ok(())
    }

    /// A writer that streams into the object `path`.
    fn writer(&self, path: Path) -> BufWriter {
        BufWriter::with_capacity(Arc::clone(&self.store), path, CHUNK)
            .with_max_concurrency(CHUNKS_IN_FLIGHT)
    }

    /// Rewrites the part `p` of `dir` with only its first `len` bytes.
    async fn cut(&self, dir: &Path, p: Part, len: u64) -> Result<(), BlobError> {
        let path = dir.clone().join(part_name(p.offset));
        let mut body = self.range_stream(path.clone(), 0..len);
        let mut w = self.writer(path);
        let copied: Result<(), BlobError> = async {
            while let Some(bytes) = body.try_next().await? {
                w.put(bytes).await?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = copied {
            abort(&mut w).await;
            return Err(e);
        }
        w.shutdown().await?;
        Ok(())
    }

    /// The bytes `range` of the object `path`, streamed (nothing for an empty range).
    fn range_stream(
        &self,
        path: Path,
        range: Range<u64>,
    ) -> futures_util::stream::BoxStream<'static, object_store::Result<Bytes>> {
        if range.is_empty() {
            return futures_util::stream::empty().boxed();
        }
        let store = Arc::clone(&self.store);
        futures_util::stream::once(async move {
            let got = store
                .get_opts(&path, GetOptions::new().with_range(Some(range)))
                .await?;
            Ok::<_, object_store::Error>(got.into_stream())
        })
        .try_flatten()
        .boxed()
    }

    /// The finished blob's length and parts, if its marker is there.
    async fn read_marker(&self, key: &str) -> Result<Option<(u64, Vec<Part>)>, BlobError> {
        let path = self.blob_dir(key).join(MARKER);
        let got = match self.store.get(&path).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let corrupt = || BlobError::Corrupt(format!("the marker of blob {key} is not valid"));
        if got.meta.size > MAX_MARKER_BYTES {
            return Err(corrupt());
        }
        let bytes = got.bytes().await?;
        let text = std::str::from_utf8(&bytes).map_err(|_| corrupt())?;
        Layout::parse_marker(text).map(Some).ok_or_else(corrupt)
    }

    async fn write_part_impl(
        &self,
        key: &str,
        offset: u64,
        mut body: PartBody<'_>,
        max_len: u64,
        max_part: u64,
    ) -> Result<u64, BlobError> {
        Self::check_key(key)?;
        let dir = self.upload_dir(key);
        let parts = self.parts(&dir).await?;
        let layout = Layout::of(parts.clone());
        let received = layout.len;
        if offset > received {
            return Err(BlobError::Offset { offset, received });
        }
        if layout
            .used
            .iter()
            .filter(|(p, _)| p.offset < offset)
            .count()
            >= MAX_PARTS
        {
            return Err(BlobError::TooLarge);
        }
        // Leftovers of an interrupted rewrite are not part of the upload.
        self.delete_parts_downwards(&dir, &layout.stray).await?;
        let rewrite = offset < received;
        let target = if rewrite {
            dir.clone().join(STAGING)
        } else {
            dir.clone().join(part_name(offset))
        };
        let limit = max_len.saturating_sub(offset).min(max_part);
        let mut w = self.writer(target.clone());
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
            if let Err(e) = w.put(Bytes::copy_from_slice(chunk)).await {
                break Err(e.into());
            }
            written += n as u64;
        };
        if let Err(e) = outcome {
            abort(&mut w).await;
            return Err(e);
        }
        if written == 0 && !rewrite && !layout.used.is_empty() {
            // Nothing to add; an empty part is kept only to mark a new upload.
            abort(&mut w).await;
            return Ok(received);
        }
        w.shutdown().await?;
        if rewrite {
            let later: Vec<Part> = layout
                .used
                .iter()
                .map(|(p, _)| *p)
                .filter(|p| p.offset > offset)
                .collect();
            self.delete_parts_downwards(&dir, &later).await?;
            self.store
                .copy(&target, &dir.clone().join(part_name(offset)))
                .await?;
            not_found_is_ok(self.store.delete(&target).await)?;
            if let Some((p, _)) = layout
                .used
                .iter()
                .find(|(p, _)| p.offset < offset && p.end() > offset)
            {
                self.cut(&dir, *p, offset - p.offset).await?;
            }
        }
        Ok(offset + written)
    }

    async fn finish_impl(&self, key: &str) -> Result<(), BlobError> {
        Self::check_key(key)?;
        let upload = self.upload_dir(key);
        let blob = self.blob_dir(key);
        if self.read_marker(key).await?.is_some() {
            // Done before; only the upload may be left.
            return self.delete_dir(&upload).await;
        }
        let parts = self.parts(&upload).await?;
        if parts.is_empty() {
            return Err(BlobError::NotFound);
        }
        let layout = Layout::of(parts);
        // Parts an interrupted finish of another layout copied are not this blob's.
        let wanted: Vec<u64> = layout
            .used
            .iter()
            .filter(|(_, used)| *used > 0)
            .map(|(p, _)| p.offset)
            .collect();
        let old = self.parts(&blob).await?;
        let stale: Vec<Path> = old
            .iter()
            .filter(|p| !wanted.contains(&p.offset))
            .map(|p| blob.clone().join(part_name(p.offset)))
            .collect();
        self.delete_all(stale).await?;
        for (p, used) in &layout.used {
            if *used == 0 {
                continue;
            }
            if *used < p.size {
                // A rewrite cut short before it could trim the part it straddled.
                self.cut(&upload, *p, *used).await?;
            }
            let name = part_name(p.offset);
            self.store
                .copy(
                    &upload.clone().join(name.as_str()),
                    &blob.clone().join(name),
                )
                .await?;
        }
        self.store
            .put(&blob.join(MARKER), PutPayload::from(layout.marker()))
            .await?;
        self.delete_dir(&upload).await
    }

    async fn open_impl(&self, key: &str, offset: u64) -> Result<(BlobReader, u64), BlobError> {
        Self::check_key(key)?;
        let (len, parts) = self.read_marker(key).await?.ok_or(BlobError::NotFound)?;
        let start = offset.min(len);
        let dir = self.blob_dir(key);
        let ranges: Vec<(Path, Range<u64>)> = parts
            .into_iter()
            .filter(|p| p.end() > start)
            .map(|p| {
                (
                    dir.clone().join(part_name(p.offset)),
                    start.saturating_sub(p.offset)..p.size,
                )
            })
            .collect();
        let this = self.clone();
        let stream = futures_util::stream::iter(ranges)
            .flat_map(move |(path, range)| this.range_stream(path, range))
            .map_err(std::io::Error::from);
        let reader: BlobReader = Box::pin(StreamReader::new(stream));
        Ok((reader, len))
    }

    async fn list_impl(&self) -> Result<Vec<StoredKey>, BlobError> {
        let mut out = Vec::new();
        for (folder, upload) in [("blobs", false), ("uploads", true)] {
            let listed = self
                .store
                .list_with_delimiter(Some(&self.root.clone().join(folder)))
                .await?;
            for dir in listed.common_prefixes {
                if let Some(key) = dir.filename().filter(|k| valid_key(k)) {
                    out.push(StoredKey {
                        key: key.to_owned(),
                        upload,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Abandons what a writer sent. Its failure only leaves an unfinished multipart upload
/// behind (invisible, and removed by the bucket's lifecycle rule), so it is logged.
async fn abort(w: &mut BufWriter) {
    if let Err(e) = w.abort().await {
        tracing::warn!(error = %e, "could not abort a multipart upload");
    }
}

impl BlobStore for S3Blobs {
    fn upload_len<'a>(&'a self, key: &'a str) -> BlobFuture<'a, u64> {
        Box::pin(async move {
            Self::check_key(key)?;
            Ok(Layout::of(self.parts(&self.upload_dir(key)).await?).len)
        })
    }

    fn write_part<'a>(
        &'a self,
        key: &'a str,
        offset: u64,
        body: PartBody<'a>,
        max_len: u64,
        max_part: u64,
    ) -> BlobFuture<'a, u64> {
        Box::pin(self.write_part_impl(key, offset, body, max_len, max_part))
    }

    fn finish<'a>(&'a self, key: &'a str) -> BlobFuture<'a, ()> {
        Box::pin(self.finish_impl(key))
    }

    fn open<'a>(&'a self, key: &'a str, offset: u64) -> BlobFuture<'a, (BlobReader, u64)> {
        Box::pin(self.open_impl(key, offset))
    }

    fn replace<'a>(&'a self, key: &'a str) -> BlobFuture<'a, ()> {
        Box::pin(async move {
            Self::check_key(key)?;
            if self.parts(&self.upload_dir(key)).await?.is_empty() {
                // Replaced before (a retry after a crash), or nothing to do.
                return match self.read_marker(key).await? {
                    Some(_) => Ok(()),
                    None => Err(BlobError::NotFound),
                };
            }
            // The old marker goes first: from then on the old parts are not a blob, and
            // the finish below writes the new one's parts and marker.
            not_found_is_ok(self.store.delete(&self.blob_dir(key).join(MARKER)).await)?;
            self.finish_impl(key).await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BlobFuture<'a, ()> {
        Box::pin(async move {
            Self::check_key(key)?;
            let blob = self.blob_dir(key);
            not_found_is_ok(self.store.delete(&blob.clone().join(MARKER)).await)?;
            self.delete_dir(&blob).await?;
            self.delete_dir(&self.upload_dir(key)).await
        })
    }

    fn delete_upload<'a>(&'a self, key: &'a str) -> BlobFuture<'a, ()> {
        Box::pin(async move {
            Self::check_key(key)?;
            self.delete_dir(&self.upload_dir(key)).await
        })
    }

    fn list(&self) -> BlobFuture<'_, Vec<StoredKey>> {
        Box::pin(self.list_impl())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(offset: u64, size: u64) -> Part {
        Part { offset, size }
    }

    #[test]
    fn layout_follows_parts_to_the_first_gap() {
        let l = Layout::of(vec![p(10, 5), p(0, 10), p(20, 3)]);
        assert_eq!(l.len, 15);
        assert_eq!(l.used, vec![(p(0, 10), 10), (p(10, 5), 5)]);
        assert_eq!(l.stray, vec![p(20, 3)]);
        assert_eq!(Layout::of(vec![]).len, 0);
        assert_eq!(Layout::of(vec![p(3, 1)]).stray, vec![p(3, 1)]);
    }

    #[test]
    fn a_later_part_cuts_the_one_it_starts_in() {
        let l = Layout::of(vec![p(0, 10), p(4, 2)]);
        assert_eq!(l.len, 6);
        assert_eq!(l.used, vec![(p(0, 10), 4), (p(4, 2), 2)]);
        assert_eq!(l.marker(), "6\n0 4\n4 2\n");
    }

    #[test]
    fn markers_round_trip_and_bad_ones_are_refused() {
        let l = Layout::of(vec![p(0, 7), p(7, 0), p(7, 3)]);
        let (len, parts) = Layout::parse_marker(&l.marker()).unwrap();
        assert_eq!((len, parts), (10, vec![p(0, 7), p(7, 3)]));
        assert_eq!(Layout::parse_marker("0\n"), Some((0, vec![])));
        for bad in [
            "",
            "x\n",
            "5\n0 4\n",
            "5\n1 4\n",
            "5\n0 5\n0 0\nz",
            "1\n0 18446744073709551615\n1 1\n",
        ] {
            assert_eq!(Layout::parse_marker(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn part_names_sort_as_offsets() {
        assert_eq!(part_name(0), "0000000000000000");
        assert_eq!(parse_part_name(&part_name(0xdead_beef)), Some(0xdead_beef));
        for bad in [
            "staging",
            "complete",
            "000000000000000G",
            "00000000000000000",
            "ABCDEF0000000000",
        ] {
            assert_eq!(parse_part_name(bad), None);
        }
    }

    #[test]
    fn credentials_never_print() {
        let c = S3Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI", Some("tok"));
        let mut l = S3Location::new("bucket", "p");
        l.credentials = Some(c);
        let shown = format!("{l:?} {l}");
        assert!(!shown.contains("wJalrXUtnFEMI") && !shown.contains("tok\""));
    }
}

//! The blob-store contract ([`BlobStore`]), one suite run against every implementation:
//! `local` (a folder), `memory` (the S3 store's logic on an in-memory object store) and
//! `s3` (the S3 store on a real S3 service, moto; see `tests/shared/moto.rs`).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../shared/moto.rs"]
mod moto;
#[path = "../shared/venv.rs"]
mod venv;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use cofre_server::blobs::local::LocalBlobs;
use cofre_server::blobs::s3::S3Blobs;
use cofre_server::blobs::{BlobError, BlobStore, StoredKey};
use tokio::io::{AsyncRead, AsyncReadExt as _, ReadBuf};

/// A store to test and what must live as long as it (a folder, a moto server).
struct Subject {
    blobs: Arc<dyn BlobStore>,
    _keep: Box<dyn std::any::Any + Send>,
}

/// The store named `backend`, or `None` when it is skipped on this machine.
async fn subject(backend: &str) -> Option<Subject> {
    match backend {
        "local" => {
            let dir = tempfile::tempdir().unwrap();
            let blobs = LocalBlobs::open(&dir.path().join("blobs")).unwrap();
            Some(Subject {
                blobs: Arc::new(blobs),
                _keep: Box::new(dir),
            })
        }
        "memory" => {
            let store = Arc::new(object_store::memory::InMemory::new());
            let blobs = S3Blobs::with_store(store, "some/prefix".into());
            Some(Subject {
                blobs: Arc::new(blobs),
                _keep: Box::new(()),
            })
        }
        "s3" => {
            let moto = moto::moto()?;
            let location = moto.bucket("cofre/blobs").await;
            let blobs = S3Blobs::connect(&location).unwrap();
            blobs.check().await.unwrap();
            Some(Subject {
                blobs: Arc::new(blobs),
                _keep: Box::new(moto),
            })
        }
        other => panic!("no backend {other}"),
    }
}

/// One test per case and backend: `<backend>::<case>`.
macro_rules! suite {
    ($backend:ident: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    if let Some(s) = crate::subject(stringify!($backend)).await {
                        crate::cases::$case(&*s.blobs).await;
                    }
                }
            )*
        }
    };
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        suite!(local: $($case),*);
        suite!(memory: $($case),*);
        suite!(s3: $($case),*);
    };
}

conformance!(
    empty_and_one_byte_blobs_round_trip,
    parts_join_and_open_at_any_offset,
    resume_and_rewrite_at_earlier_offsets,
    refused_parts_leave_the_upload_as_it_was,
    finish_is_idempotent_and_unfinished_blobs_are_not_found,
    delete_and_list,
    a_large_blob_streams_through,
);

/// Bytes that depend on their position: any range can be made and checked alone.
fn byte_at(i: u64, seed: u8) -> u8 {
    ((i.wrapping_mul(2_654_435_761) >> 7) as u8) ^ seed
}

fn data(range: std::ops::Range<u64>, seed: u8) -> Vec<u8> {
    range.map(|i| byte_at(i, seed)).collect()
}

/// A reader of `byte_at(pos.., seed)` up to `end`, never holding more than one buffer.
struct Pattern {
    pos: u64,
    end: u64,
    seed: u8,
}

impl AsyncRead for Pattern {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = (self.end - self.pos).min(buf.remaining().min(64 * 1024) as u64);
        buf.put_slice(&data(self.pos..self.pos + n, self.seed));
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

/// A body that fails after `ok` bytes, as when the client goes away.
struct Broken {
    ok: usize,
}

impl AsyncRead for Broken {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.ok == 0 {
            return Poll::Ready(Err(std::io::Error::other("connection reset")));
        }
        let n = self.ok.min(buf.remaining());
        buf.put_slice(&vec![7u8; n]);
        self.ok -= n;
        Poll::Ready(Ok(()))
    }
}

mod cases {
    use super::*;

    const BIG: u64 = 1 << 40;

    pub fn key(n: u8) -> String {
        format!("{n:02x}").repeat(16)
    }

    pub async fn write(
        s: &dyn BlobStore,
        key: &str,
        offset: u64,
        bytes: &[u8],
    ) -> Result<u64, BlobError> {
        write_limited(s, key, offset, bytes, BIG, BIG).await
    }

    pub async fn write_limited(
        s: &dyn BlobStore,
        key: &str,
        offset: u64,
        mut bytes: &[u8],
        max_len: u64,
        max_part: u64,
    ) -> Result<u64, BlobError> {
        let body = Pin::new(&mut bytes);
        s.write_part(key, offset, body, max_len, max_part).await
    }

    pub async fn read(
        s: &dyn BlobStore,
        key: &str,
        offset: u64,
    ) -> Result<(Vec<u8>, u64), BlobError> {
        let (mut r, len) = s.open(key, offset).await?;
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.unwrap();
        Ok((out, len))
    }

    /// The content of a finished `key`, checked against `expected` from every offset
    /// in `offsets` (and past the end).
    pub async fn check_blob(s: &dyn BlobStore, key: &str, expected: &[u8], offsets: &[u64]) {
        let n = expected.len() as u64;
        for &o in offsets.iter().chain(&[0, n, n + 1]) {
            let (got, len) = read(s, key, o).await.unwrap();
            assert_eq!(len, n, "length from offset {o}");
            let from = o.min(n) as usize;
            assert!(got == expected[from..], "content from offset {o} of {n}");
        }
    }

    fn not_found<T>(r: Result<T, BlobError>) {
        match r {
            Err(BlobError::NotFound) => {}
            Err(e) => panic!("not NotFound but {e:?}"),
            Ok(_) => panic!("found"),
        }
    }

    pub async fn empty_and_one_byte_blobs_round_trip(s: &dyn BlobStore) {
        for (n, len) in [(1u8, 0u64), (2, 1)] {
            let k = key(n);
            let bytes = data(0..len, n);
            assert_eq!(s.upload_len(&k).await.unwrap(), 0);
            assert_eq!(write(s, &k, 0, &bytes).await.unwrap(), len);
            assert_eq!(s.upload_len(&k).await.unwrap(), len);
            not_found(s.open(&k, 0).await);
            s.finish(&k).await.unwrap();
            // The route's retried commit: the upload is gone, the blob has the length.
            assert_eq!(s.upload_len(&k).await.unwrap(), 0);
            check_blob(s, &k, &bytes, &[]).await;
        }
    }

    pub async fn parts_join_and_open_at_any_offset(s: &dyn BlobStore) {
        let k = key(3);
        // Small parts, and one past the 5 MiB chunk (a multipart upload on S3).
        let sizes = [7u64, 1, 300_000, (5 << 20) + 3, 2];
        let total: u64 = sizes.iter().sum();
        let all = data(0..total, 3);
        let mut offset = 0;
        let mut boundaries = Vec::new();
        for n in sizes {
            let got = write(s, &k, offset, &all[offset as usize..(offset + n) as usize])
                .await
                .unwrap();
            offset += n;
            assert_eq!(got, offset);
            assert_eq!(s.upload_len(&k).await.unwrap(), offset);
            boundaries.extend([offset - 1, offset, offset + 1]);
        }
        s.finish(&k).await.unwrap();
        boundaries.extend([3, 150_000, 5 << 20]);
        check_blob(s, &k, &all, &boundaries).await;
    }

    pub async fn resume_and_rewrite_at_earlier_offsets(s: &dyn BlobStore) {
        let k = key(4);
        let a = data(0..300, 4);
        assert_eq!(write(s, &k, 0, &a[..100]).await.unwrap(), 100);
        assert_eq!(write(s, &k, 100, &a[100..200]).await.unwrap(), 200);
        // Resume at what was received.
        let at = s.upload_len(&k).await.unwrap();
        assert_eq!(write(s, &k, at, &a[200..]).await.unwrap(), 300);
        // A rewrite inside a part replaces everything after it.
        let b = data(0..80, 40);
        assert_eq!(write(s, &k, 150, &b).await.unwrap(), 230);
        let mut expected = a[..150].to_vec();
        expected.extend_from_slice(&b);
        // A rewrite at a part boundary.
        let c = data(0..50, 41);
        assert_eq!(write(s, &k, 100, &c).await.unwrap(), 150);
        expected.truncate(100);
        expected.extend_from_slice(&c);
        assert_eq!(s.upload_len(&k).await.unwrap(), 150);
        // The same bytes again at offset 0 (a client starting over).
        assert_eq!(write(s, &k, 0, &expected[..120]).await.unwrap(), 120);
        expected.truncate(120);
        // An empty part at an earlier offset cuts the upload there.
        assert_eq!(write(s, &k, 110, &[]).await.unwrap(), 110);
        expected.truncate(110);
        // An empty part at the end changes nothing.
        assert_eq!(write(s, &k, 110, &[]).await.unwrap(), 110);
        assert_eq!(write(s, &k, 110, &a[110..140]).await.unwrap(), 140);
        expected.extend_from_slice(&a[110..140]);
        s.finish(&k).await.unwrap();
        check_blob(s, &k, &expected, &[1, 99, 100, 101, 109, 110, 111, 139]).await;
    }

    pub async fn refused_parts_leave_the_upload_as_it_was(s: &dyn BlobStore) {
        let k = key(5);
        let a = data(0..200, 5);
        assert_eq!(write(s, &k, 0, &a[..100]).await.unwrap(), 100);
        // More than one part may take.
        let r = write_limited(s, &k, 100, &a[100..200], BIG, 99).await;
        assert!(matches!(r, Err(BlobError::TooLarge)), "{r:?}");
        assert_eq!(s.upload_len(&k).await.unwrap(), 100);
        // Past the declared size.
        let r = write_limited(s, &k, 100, &a[100..200], 150, BIG).await;
        assert!(matches!(r, Err(BlobError::TooLarge)), "{r:?}");
        assert_eq!(s.upload_len(&k).await.unwrap(), 100);
        // Past what was received.
        let r = write(s, &k, 101, &a[101..200]).await;
        assert!(
            matches!(
                r,
                Err(BlobError::Offset {
                    offset: 101,
                    received: 100
                })
            ),
            "{r:?}"
        );
        assert_eq!(s.upload_len(&k).await.unwrap(), 100);
        // A body that breaks halfway.
        let mut broken = Broken { ok: 30 };
        let body = Pin::new(&mut broken);
        let r = s.write_part(&k, 100, body, BIG, BIG).await;
        assert!(matches!(r, Err(BlobError::Body(_))), "{r:?}");
        assert_eq!(s.upload_len(&k).await.unwrap(), 100);
        // A refused rewrite keeps at least what came before its offset (the local folder
        // cuts back to it; the S3 store keeps everything).
        let r = write_limited(s, &k, 40, &a[40..200], BIG, 10).await;
        assert!(matches!(r, Err(BlobError::TooLarge)), "{r:?}");
        let kept = s.upload_len(&k).await.unwrap();
        assert!(kept == 40 || kept == 100, "{kept}");
        // Nothing else was touched: the upload still finishes with the right bytes.
        assert_eq!(
            write(s, &k, kept, &a[kept as usize..200]).await.unwrap(),
            200
        );
        s.finish(&k).await.unwrap();
        check_blob(s, &k, &a, &[50, 100, 150]).await;
        // Keys that are not item ids.
        for bad in [
            "",
            "../etc/passwd",
            "AA",
            &"A".repeat(32),
            &format!("{}/x", key(1)),
        ] {
            not_found(write(s, bad, 0, b"x").await);
            not_found(s.upload_len(bad).await);
            not_found(s.finish(bad).await);
            not_found(s.open(bad, 0).await);
            not_found(s.delete(bad).await);
        }
    }

    pub async fn finish_is_idempotent_and_unfinished_blobs_are_not_found(s: &dyn BlobStore) {
        let k = key(6);
        not_found(s.finish(&k).await);
        not_found(s.open(&k, 0).await);
        assert_eq!(s.upload_len(&k).await.unwrap(), 0);
        let a = data(0..1000, 6);
        write(s, &k, 0, &a[..600]).await.unwrap();
        not_found(s.open(&k, 0).await);
        write(s, &k, 600, &a[600..]).await.unwrap();
        s.finish(&k).await.unwrap();
        s.finish(&k).await.unwrap();
        check_blob(s, &k, &a, &[599, 600, 601]).await;
        // Another key is not affected by this one.
        not_found(s.open(&key(7), 0).await);
    }

    pub async fn delete_and_list(s: &dyn BlobStore) {
        let sorted = |mut v: Vec<StoredKey>| {
            v.sort_by(|a, b| (&a.key, a.upload).cmp(&(&b.key, b.upload)));
            v
        };
        assert_eq!(s.list().await.unwrap(), vec![]);
        let (done, open) = (key(8), key(9));
        write(s, &done, 0, b"finished").await.unwrap();
        write(s, &done, 8, &data(0..70_000, 8)).await.unwrap();
        s.finish(&done).await.unwrap();
        write(s, &open, 0, b"in progress").await.unwrap();
        assert_eq!(
            sorted(s.list().await.unwrap()),
            vec![
                StoredKey {
                    key: done.clone(),
                    upload: false
                },
                StoredKey {
                    key: open.clone(),
                    upload: true
                },
            ]
        );
        s.delete(&done).await.unwrap();
        not_found(s.open(&done, 0).await);
        not_found(s.finish(&done).await);
        assert_eq!(
            s.list().await.unwrap(),
            vec![StoredKey {
                key: open.clone(),
                upload: true
            }]
        );
        s.delete(&open).await.unwrap();
        assert_eq!(s.upload_len(&open).await.unwrap(), 0);
        not_found(s.finish(&open).await);
        assert_eq!(s.list().await.unwrap(), vec![]);
        // Deleting what is not there is not an error.
        s.delete(&key(10)).await.unwrap();
    }

    pub async fn a_large_blob_streams_through(s: &dyn BlobStore) {
        let k = key(11);
        let part: u64 = 16 << 20;
        let total: u64 = (40 << 20) + 12_345;
        let mut offset = 0;
        while offset < total {
            let end = (offset + part).min(total);
            let mut body = Pattern {
                pos: offset,
                end,
                seed: 11,
            };
            let pinned = Pin::new(&mut body);
            let got = s.write_part(&k, offset, pinned, total, part).await.unwrap();
            assert_eq!(got, end);
            offset = end;
        }
        s.finish(&k).await.unwrap();
        for from in [0, part - 1, 33 << 20] {
            let (mut r, len) = s.open(&k, from).await.unwrap();
            assert_eq!(len, total);
            let mut pos = from;
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = r.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                assert!(
                    buf[..n] == data(pos..pos + n as u64, 11)[..],
                    "bytes at {pos}"
                );
                pos += n as u64;
            }
            assert_eq!(pos, total, "read from {from}");
        }
    }
}

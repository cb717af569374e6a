//! The pipeline's own edge cases, over a body held in memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cofre_core::secret::SymmetricKey;

use super::*;

const CTX: &[u8] = b"download-test";
/// A generous guard against a hang (not a measure of speed): every test here finishes
/// in seconds.
const HANG: Duration = Duration::from_secs(120);

/// A body in memory, served in pieces, that counts what was taken from it.
struct Memory {
    body: Arc<Vec<u8>>,
    piece: usize,
    at: usize,
    pulled: Arc<AtomicU64>,
    /// Checked before every piece: `(bytes pulled so far) -> ()`.
    check: Option<Box<dyn Fn(u64) + Send + Sync>>,
    /// Panics instead of serving the piece at this offset.
    panic_at: Option<usize>,
    /// Ends the body early, at this offset.
    end_at: Option<usize>,
    dropped: Option<tokio::sync::oneshot::Sender<()>>,
    /// Waits this long before each piece, like a slow network.
    pause: Option<Duration>,
}

impl Memory {
    fn new(body: Vec<u8>, piece: usize) -> Self {
        Self {
            body: Arc::new(body),
            piece,
            at: 0,
            pulled: Arc::new(AtomicU64::new(0)),
            check: None,
            panic_at: None,
            end_at: None,
            dropped: None,
            pause: None,
        }
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        if let Some(tx) = self.dropped.take() {
            let _ = tx.send(());
        }
    }
}

impl BodySource for Memory {
    async fn start(&mut self, from: u64) -> Result<()> {
        self.at = from as usize;
        Ok(())
    }

    async fn next(&mut self) -> Result<Option<Bytes>> {
        let end = self.end_at.unwrap_or(self.body.len()).min(self.body.len());
        if self.at >= end {
            return Ok(None);
        }
        assert!(self.panic_at.is_none_or(|p| self.at < p), "injected panic");
        if let Some(check) = &self.check {
            check(self.pulled.load(Ordering::SeqCst));
        }
        let stop = (self.at + self.piece).min(end);
        let bytes = Bytes::copy_from_slice(&self.body[self.at..stop]);
        self.pulled
            .fetch_add((stop - self.at) as u64, Ordering::SeqCst);
        self.at = stop;
        // Let the other stages run, as a network would.
        match self.pause {
            Some(d) => tokio::time::sleep(d).await,
            None => tokio::task::yield_now().await,
        }
        Ok(Some(bytes))
    }
}

fn plain(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 16) as u8)
        .collect()
}

fn encrypted(plain: &[u8]) -> (SymmetricKey, Vec<u8>) {
    let key = SymmetricKey::generate().unwrap();
    let body = stream::encrypt_to_vec(&key, CTX, plain).unwrap();
    (key, body)
}

/// Runs the pipeline from the start of `source` into `out`.
async fn download(
    key: &SymmetricKey,
    source: Memory,
    out: &mut (dyn Write + Send),
    progress: Progress<'_>,
) -> Result<u64> {
    let total = source.body.len() as u64;
    let dec = PartDecryptor::new(key, CTX, total);
    let sink = Sink {
        out,
        tee: None,
        progress,
    };
    tokio::time::timeout(HANG, run(source, dec, "item", total, sink))
        .await
        .expect("the download hung")
}

/// A writer that is slower than the source and the opener.
struct Slow(Vec<u8>);

impl Write for Slow {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::thread::sleep(Duration::from_micros(300));
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_in_any_pieces() {
    for len in [0usize, 1, 65_536, 65_537, 5 << 20] {
        let p = plain(len);
        let (key, body) = encrypted(&p);
        for piece in [7usize, 16_384, 1 << 20] {
            let mut out = Vec::new();
            let n = download(&key, Memory::new(body.clone(), piece), &mut out, &|_, _| {})
                .await
                .unwrap();
            assert_eq!(n, len as u64);
            assert_eq!(out, p, "len {len} piece {piece}");
        }
    }
}

#[test]
fn the_buffer_bound_leaves_the_client_well_under_64_mib() {
    // Every block at its largest at any chunk size, with the rest of the client
    // (about 11 MiB after a login) and the HTTP stack's own buffers beside it.
    assert!(max_buffered_bytes() <= 24 << 20, "{}", max_buffered_bytes());
    assert!(max_buffered_bytes() >= BLOCKS * (2 << 20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_at_most_its_blocks_however_large_the_body() {
    // 40 MiB of body through a slow writer: unbounded, the source would be drained
    // long before the writer is done.
    let p = plain(40 << 20);
    let (key, body) = encrypted(&p);
    let total = body.len() as u64;
    let piece = 16_384usize;
    let released = Arc::new(AtomicU64::new(0));
    let peak = Arc::new(AtomicU64::new(0));
    let mut source = Memory::new(body, piece);
    let (r, pk) = (released.clone(), peak.clone());
    source.check = Some(Box::new(move |pulled| {
        // Bytes taken from the source whose plaintext was not yet written.
        pk.fetch_max(pulled - r.load(Ordering::SeqCst), Ordering::SeqCst);
    }));
    let r = released.clone();
    let progress = move |done: u64, all: u64| {
        assert_eq!(all, total);
        r.store(done, Ordering::SeqCst);
    };
    let mut out = Slow(Vec::new());
    download(&key, source, &mut out, &progress).await.unwrap();
    assert_eq!(out.0, p);
    // The bound was never passed, and was approached (the writer was the bottleneck:
    // without a bound, the source would have been drained).
    let peak = peak.load(Ordering::SeqCst);
    assert!(peak <= (max_buffered_bytes() + piece) as u64, "peak {peak}");
    assert!(peak > (max_buffered_bytes() / 2) as u64, "peak {peak}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_chunk_in_the_middle_releases_nothing_after_the_last_good_block() {
    let p = plain(20 << 20);
    let (key, body) = encrypted(&p);
    let full = (1 << stream::DEFAULT_CHUNK_LOG2) + stream::CHUNK_OVERHEAD;
    let per_block = stream::block_capacity(stream::DEFAULT_CHUNK_LOG2) / full;
    let chunks = (body.len() - stream::HEADER_LEN).div_ceil(full);
    let bad = chunks / 2 + 3;
    assert!(!bad.is_multiple_of(per_block) && bad + 1 < chunks);
    let mut tampered = body.clone();
    tampered[stream::HEADER_LEN + bad * full + 40] ^= 0x80;
    let mut out = Vec::new();
    let err = download(&key, Memory::new(tampered, 65_536), &mut out, &|_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Integrity { .. }), "{err}");
    // Exactly the blocks before the one holding chunk `bad`: a verified prefix.
    let good = bad / per_block * per_block * (1 << stream::DEFAULT_CHUNK_LOG2);
    assert_eq!(out.len(), good);
    assert_eq!(out, p[..good]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_ends_early_or_runs_long_fails_after_its_verified_prefix() {
    let p = plain(6 << 20);
    let (key, body) = encrypted(&p);
    let mut source = Memory::new(body.clone(), 65_536);
    source.end_at = Some(body.len() - 100_000);
    let mut out = Vec::new();
    let err = download(&key, source, &mut out, &|_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Integrity { reason, .. } if reason.contains("truncated")),
        "{err}"
    );
    assert!(out.len() < p.len() && out == p[..out.len()]);
    // More bytes than the length the server claimed.
    let mut longer = body.clone();
    longer.extend_from_slice(&[0u8; 64]);
    let total = body.len() as u64;
    let dec = PartDecryptor::new(&key, CTX, total);
    let mut out = Vec::new();
    let sink = Sink {
        out: &mut out,
        tee: None,
        progress: &|_, _| {},
    };
    let err = run(Memory::new(longer, 65_536), dec, "item", total, sink)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Integrity { .. }), "{err}");
}

/// A writer that fails like a full disk after `room` bytes.
struct Full {
    room: usize,
    got: usize,
}

impl Write for Full {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.got + buf.len() > self.room {
            return Err(std::io::Error::from_raw_os_error(28));
        }
        self.got += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_writer_stops_every_stage() {
    let p = plain(30 << 20);
    let (key, body) = encrypted(&p);
    let mut source = Memory::new(body, 65_536);
    let (tx, rx) = tokio::sync::oneshot::channel();
    source.dropped = Some(tx);
    let mut out = Full {
        room: 5 << 20,
        got: 0,
    };
    let err = download(&key, source, &mut out, &|_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Output(e) if e.raw_os_error() == Some(28)),
        "{err}"
    );
    // The reader task was stopped, not left running in the background.
    tokio::time::timeout(HANG, rx)
        .await
        .expect("the reader kept running")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_panics_ends_the_download_with_an_error() {
    let p = plain(12 << 20);
    let (key, body) = encrypted(&p);
    let mut source = Memory::new(body, 65_536);
    source.panic_at = Some(7 << 20);
    let mut out = Vec::new();
    let err = download(&key, source, &mut out, &|_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Io(_)), "{err}");
    assert!(out.len() < p.len() && out == p[..out.len()]);
}

#[tokio::test(flavor = "current_thread")]
async fn runs_on_a_single_threaded_runtime_too() {
    let p = plain(9 << 20);
    let (key, body) = encrypted(&p);
    let mut out = Vec::new();
    download(&key, Memory::new(body, 100_000), &mut out, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(out, p);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_download_midway_stops_its_stages() {
    let p = plain(40 << 20);
    let (key, body) = encrypted(&p);
    let mut source = Memory::new(body, 65_536);
    source.pause = Some(Duration::from_millis(1));
    let (tx, rx) = tokio::sync::oneshot::channel();
    source.dropped = Some(tx);
    let started = Arc::new(AtomicBool::new(false));
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<()>();
    let first_tx = std::sync::Mutex::new(Some(first_tx));
    let s = started.clone();
    let progress = move |_: u64, _: u64| {
        s.store(true, Ordering::SeqCst);
        if let Some(tx) = first_tx.lock().unwrap().take() {
            let _ = tx.send(());
        }
    };
    let mut out = Vec::new();
    let total = source.body.len() as u64;
    let dec = PartDecryptor::new(&key, CTX, total);
    let sink = Sink {
        out: &mut out,
        tee: None,
        progress: &progress,
    };
    // Like ctrl-c: the download future is dropped once the first block is written.
    tokio::select! {
        r = run(source, dec, "item", total, sink) => panic!("finished first: {:?}", r.map(|_| ())),
        _ = first_rx => {}
    }
    assert!(started.load(Ordering::SeqCst));
    tokio::time::timeout(HANG, rx)
        .await
        .expect("the reader kept running")
        .unwrap();
    assert!(out.len() < p.len() && out == p[..out.len()]);
}

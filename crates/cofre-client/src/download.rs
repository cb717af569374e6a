//! The download pipeline: three stages that overlap, so that receiving, decrypting and
//! writing run at once instead of in turn.
//!
//! 1. A reader task receives the encoded body and cuts it into blocks of whole chunks
//!    ([`BlockReader`]); it also appends the ciphertext to the kept file of a
//!    resumable download, and retries a dropped connection with a range request from
//!    the end of the last complete block.
//! 2. An opener thread verifies and decrypts each block in place, its chunks in
//!    parallel on the rayon pool ([`BlockOpener`]); blocks must arrive in order, with
//!    every index once and nothing after the final chunk (FORMAT.md 8.5).
//! 3. The calling task writes the plaintext of opened blocks in order and hands the
//!    blocks back to the reader.
//!
//! Only authenticated plaintext is released, in order; a block with a failing chunk
//! releases nothing, nor does anything after it, and the error then reaches the caller
//! after the blocks before it were written (FORMAT.md 8.7: the output is a verified
//! prefix, kept only on success). Memory is bounded by a fixed set of [`BLOCKS`]
//! blocks that circulate between the stages ([`max_buffered_bytes`]), whatever the
//! size of the body. If the caller stops waiting (the future is dropped), the reader
//! task is aborted and the opener thread ends as its channels close.

use std::fs::File;
use std::future::Future;
use std::io::{IoSlice, Seek as _, SeekFrom, Write};

use bytes::Bytes;
use cofre_api::SecretString;
use cofre_core::format::stream::{self, Block, BlockOpener, BlockReader, PartDecryptor};
use reqwest::Method;
use tokio::sync::mpsc;

use crate::Client;
use crate::error::{ClientError, Result};
use crate::vault::{ATTEMPTS, Progress, integrity, tracing_free_sleep};

/// Blocks in circulation between the stages: one being filled by the reader, the rest
/// waiting to be opened, being opened, or waiting to be written.
pub(crate) const BLOCKS: usize = 8;

/// The most bytes of body (encoded or decrypted) the pipeline holds at once: every
/// block at its largest (about 2 MiB each, at any chunk size).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn max_buffered_bytes() -> usize {
    BLOCKS * stream::max_block_capacity()
}

/// Where the encoded body comes from: the server in production, memory in tests.
pub(crate) trait BodySource: Send + 'static {
    /// (Re)starts the body at encoded offset `from`.
    fn start(&mut self, from: u64) -> impl Future<Output = Result<()>> + Send;
    /// The next piece of the body, `None` at its end.
    fn next(&mut self) -> impl Future<Output = Result<Option<Bytes>>> + Send;
}

/// `GET /items/{id}/body`, with a range when starting past 0.
pub(crate) struct HttpBody {
    client: Client,
    access: SecretString,
    path: String,
    resp: Option<reqwest::Response>,
}

impl HttpBody {
    /// The body of item `id`.
    pub(crate) fn new(client: &Client, access: &SecretString, id: &str) -> Self {
        Self {
            client: client.clone(),
            access: access.clone(),
            path: format!("/items/{id}/body"),
            resp: None,
        }
    }
}

impl BodySource for HttpBody {
    async fn start(&mut self, from: u64) -> Result<()> {
        self.resp = None;
        let mut req = self
            .client
            .body_request(Method::GET, &self.path, &self.access);
        if from > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={from}-"));
        }
        let resp = req.send().await?;
        if !resp.status().is_success() {
            return Err(crate::client::api_error(resp).await);
        }
        self.resp = Some(resp);
        Ok(())
    }

    async fn next(&mut self) -> Result<Option<Bytes>> {
        match self.resp.as_mut() {
            Some(r) => Ok(r.chunk().await?),
            None => Ok(None),
        }
    }
}

/// What passes between the stages: a block, or the error that ends the download.
type Message = Result<Block>;

/// Aborts the reader task when the download ends or is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Where a download writes: the plaintext, the kept ciphertext, the progress.
pub(crate) struct Sink<'a> {
    /// The plaintext's destination.
    pub out: &'a mut (dyn Write + Send),
    /// The kept ciphertext of a resumable download, appended to from its current end.
    pub tee: Option<File>,
    /// Progress in encoded bytes.
    pub progress: Progress<'a>,
}

/// Downloads the body of item `id` (`total` encoded bytes) from `source`, continuing
/// `dec` (from its position), into `sink`. Returns the plaintext bytes written.
pub(crate) async fn run<S: BodySource>(
    source: S,
    dec: PartDecryptor,
    id: &str,
    total: u64,
    sink: Sink<'_>,
) -> Result<u64> {
    let (reader, opener) = dec.into_blocks();
    let already_done = reader.is_done();
    let (pool_tx, pool_rx) = mpsc::channel::<Block>(BLOCKS);
    for _ in 0..BLOCKS {
        let _ = pool_tx.try_send(Block::new());
    }
    // A message per block at most, plus the final error.
    let (to_open, from_reader) = mpsc::channel::<Message>(BLOCKS + 1);
    let (to_write, mut from_opener) = mpsc::channel::<Message>(BLOCKS + 1);
    let stage = ReadStage {
        reader,
        tee: sink.tee,
        pool: pool_rx,
        to_open,
        id: id.to_owned(),
    };
    let read = AbortOnDrop(tokio::spawn(stage.run(source)));
    let id_owned = id.to_owned();
    let open =
        tokio::task::spawn_blocking(move || open_stage(opener, from_reader, to_write, &id_owned));

    let mut written = 0u64;
    let mut done = already_done;
    while let Some(msg) = from_opener.recv().await {
        let block = msg?;
        write_block(sink.out, &block).map_err(ClientError::Output)?;
        written += block.plain_len();
        done = block.is_final();
        (sink.progress)(block.end(), total);
        // The reader may be gone already; then the block is just dropped (zeroized).
        let _ = pool_tx.try_send(block);
    }
    if !done {
        // The opener's channel closed without the final block: a stage that died, or
        // a body that ended early. Both stages are ending (their channels closed);
        // without the pool's sender, a reader waiting for a block ends too.
        drop(pool_tx);
        if open.await.is_err() {
            return Err(stopped("decrypting"));
        }
        let mut read = read;
        if (&mut read.0).await.is_err() {
            return Err(stopped("receiving"));
        }
        return Err(integrity(id, "the body is truncated or extended"));
    }
    sink.out.flush().map_err(ClientError::Output)?;
    Ok(written)
}

/// Writes a block's plaintext, its chunks in one vectored write where `out` takes one.
fn write_block(out: &mut (dyn Write + Send), block: &Block) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = block
        .plaintext()
        .filter(|p| !p.is_empty())
        .map(IoSlice::new)
        .collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match out.write_vectored(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn stopped(stage: &str) -> ClientError {
    ClientError::Io(std::io::Error::other(format!(
        "the download stopped: {stage} the body failed unexpectedly"
    )))
}

/// The opener thread: opens blocks in order and passes them on, until the reader's
/// channel closes, a message is an error, or the writer is gone.
fn open_stage(
    mut opener: BlockOpener,
    mut from_reader: mpsc::Receiver<Message>,
    to_write: mpsc::Sender<Message>,
    id: &str,
) {
    while let Some(msg) = from_reader.blocking_recv() {
        let msg = msg.and_then(|mut block| {
            opener.open(&mut block).map_err(|e| integrity(id, e))?;
            Ok(block)
        });
        let stop = msg.is_err();
        if to_write.blocking_send(msg).is_err() || stop {
            return;
        }
    }
}

/// The reader task's state.
struct ReadStage {
    reader: BlockReader,
    tee: Option<File>,
    pool: mpsc::Receiver<Block>,
    to_open: mpsc::Sender<Message>,
    id: String,
}

/// Why an attempt at receiving the body ended early.
enum Halt {
    /// The rest of the pipeline is gone: nothing more to do.
    Gone,
    /// A failure, to retry or report.
    Failed(ClientError),
}

impl From<ClientError> for Halt {
    fn from(e: ClientError) -> Self {
        Self::Failed(e)
    }
}

impl ReadStage {
    async fn run<S: BodySource>(mut self, mut source: S) {
        if self.reader.is_done() {
            return;
        }
        let mut block: Option<Block> = None;
        let mut failures = 0;
        loop {
            match self.attempt(&mut source, &mut block).await {
                Ok(()) | Err(Halt::Gone) => return,
                Err(Halt::Failed(ClientError::Http(_))) if failures + 1 < ATTEMPTS => {
                    failures += 1;
                    tracing_free_sleep(failures).await;
                    self.reader.discard_partial(block.as_mut());
                    if let Err(e) = self.rewind_tee() {
                        let _ = self.to_open.send(Err(e)).await;
                        return;
                    }
                }
                Err(Halt::Failed(e)) => {
                    let _ = self.to_open.send(Err(e)).await;
                    return;
                }
            }
        }
    }

    /// Keeps only the ciphertext of complete blocks in the kept file: the range
    /// request resumes there.
    fn rewind_tee(&mut self) -> Result<()> {
        let at = self.reader.position();
        if let Some(t) = self.tee.as_mut() {
            t.set_len(at)?;
            t.seek(SeekFrom::Start(at))?;
        }
        Ok(())
    }

    /// One request: receives the body from the reader's position to its end.
    async fn attempt<S: BodySource>(
        &mut self,
        source: &mut S,
        block: &mut Option<Block>,
    ) -> std::result::Result<(), Halt> {
        source.start(self.reader.position()).await?;
        while let Some(bytes) = source.next().await? {
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                let b = match block {
                    Some(b) => b,
                    None => {
                        let mut fresh = self.pool.recv().await.ok_or(Halt::Gone)?;
                        fresh.clear();
                        block.insert(fresh)
                    }
                };
                let complete = self
                    .reader
                    .fill(&mut rest, b)
                    .map_err(|e| integrity(&self.id, e))?;
                if complete {
                    let full = block.take().ok_or(Halt::Gone)?;
                    self.to_open.send(Ok(full)).await.map_err(|_| Halt::Gone)?;
                }
            }
            if let Some(t) = self.tee.as_mut() {
                t.write_all(&bytes).map_err(ClientError::Io)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

//! The chunked file stream: a STREAM construction (as in age) over AES-256-CBC +
//! HMAC-SHA256, for files of any size in constant memory.
//!
//! ```text
//! header (20) = 0x04 | 0x01 | 0x01 | log2(chunk size) | nonce (16)
//! (enc_key || mac_key) = HKDF-SHA256(ikm = key (64), salt = nonce,
//!                                    info = "cofre-stream-v1" || header || context, L = 64)
//! chunk i   = iv (16) | AES-256-CBC-PKCS7(enc_key, iv, P_i) | tag (32)
//! tag       = HMAC-SHA256(mac_key, u64be(i) || last (0x00 | 0x01) || iv || ciphertext)
//! ```
//!
//! Every chunk but the last holds exactly `chunk size` plaintext bytes; the last holds
//! 1..=chunk size (0 only when the whole plaintext is empty). Because the index and the
//! last-chunk flag are under the MAC, dropping, reordering, duplicating, truncating or
//! appending chunks all fail authentication; because the header is in the key
//! derivation, changing it fails the first chunk. A chunk's tag is verified in constant
//! time before the chunk is decrypted, so no unauthenticated plaintext is ever released.
//!
//! Ways to drive it:
//! - [`encrypt`] / [`decrypt`] over [`Read`] and [`Write`], in constant memory, with
//!   chunks processed in parallel on all cores;
//! - [`Encryptor`] / [`Decryptor`], chunk by chunk, for async callers (uploads and
//!   downloads in pieces); [`Encryptor::seal_at`] and [`Decryptor::open_at`] also take
//!   an explicit index for resumable transfers;
//! - [`encrypt_parts`] / [`PartDecryptor`], in parts of whole chunks, for network
//!   transfers that resume after a dropped connection;
//! - [`BlockReader`] / [`BlockOpener`], decryption in stages for a download pipeline
//!   (read, open blocks of chunks in parallel, write in order) in bounded memory;
//! - [`encrypt_to_vec`] / [`decrypt_to_vec`] for small inputs held in memory.

use std::io::{Read, Write};
use std::sync::mpsc::{Receiver, channel, sync_channel};

use rayon::prelude::*;

use super::{ALG_AES256CBC_HMACSHA256, TYPE_STREAM, VERSION_1};
use crate::primitives::aes_cbc::{self, Aes256CbcKey, BLOCK_LEN};
use crate::primitives::hmac::{HmacKey, TAG_LEN};
use crate::primitives::{hkdf, rand};
use crate::secret::{SecretBytes, SymmetricKey};
use crate::{Error, Result};

const WHAT: &str = "stream";
/// Length of the stream header.
pub const HEADER_LEN: usize = 20;
/// Length of the random nonce in the header.
pub const NONCE_LEN: usize = 16;
/// The HKDF info prefix of stream keys.
pub const KDF_LABEL: &[u8] = b"cofre-stream-v1";
/// Default chunk size: 2^16 = 64 KiB of plaintext per chunk.
pub const DEFAULT_CHUNK_LOG2: u8 = 16;
/// Smallest chunk size a reader accepts: 2^10 = 1 KiB.
pub const MIN_CHUNK_LOG2: u8 = 10;
/// Largest chunk size a reader accepts: 2^20 = 1 MiB (bounds a reader's memory).
pub const MAX_CHUNK_LOG2: u8 = 20;
/// Bytes an encoded chunk adds to its plaintext at most: IV, one padding block, tag.
pub const CHUNK_OVERHEAD: usize = BLOCK_LEN + BLOCK_LEN + TAG_LEN;

/// Bytes of input per batch handed to the thread pool by [`encrypt`] and [`decrypt`]
/// (32 chunks of 64 KiB, or 2 of 1 MiB). At most five batches, plus one piece of
/// look-ahead and as many recycled buffers, are alive at once: about 20 MiB whatever
/// the input size.
const BATCH_BYTES: usize = 2 << 20;

/// Chunks per batch for pieces of `piece` bytes.
fn batch_len(piece: usize) -> usize {
    (BATCH_BYTES / piece.max(1)).max(2)
}

/// The keys and parameters of one stream, derived from the item key and the header.
struct StreamKeys {
    aes: Aes256CbcKey,
    mac: HmacKey,
    chunk_size: usize,
}

impl StreamKeys {
    fn derive(key: &SymmetricKey, header: &[u8; HEADER_LEN], context: &[u8]) -> Result<Self> {
        let (log2, nonce) = parse_header(header)?;
        let mut okm = SecretBytes::<64>::zero();
        hkdf::derive(
            key.expose(),
            nonce,
            &[KDF_LABEL, header, context],
            okm.expose_mut(),
        )?;
        let (enc, mac) = okm.expose().split_at(32);
        Ok(Self {
            aes: Aes256CbcKey::new(enc)?,
            mac: HmacKey::new(mac),
            chunk_size: 1usize << log2,
        })
    }

    /// The MAC input of chunk `index`: `u64be(index) || last || iv || ciphertext`.
    fn tag(&self, index: u64, last: bool, iv: &[u8], ct: &[u8]) -> [u8; TAG_LEN] {
        self.mac
            .sign(&[&index.to_be_bytes(), &[u8::from(last)], iv, ct])
    }

    /// Checks a chunk's tag in constant time (same MAC input as [`StreamKeys::tag`]).
    fn verify_tag(&self, index: u64, last: bool, iv: &[u8], ct: &[u8], tag: &[u8]) -> Result<()> {
        self.mac
            .verify(&[&index.to_be_bytes(), &[u8::from(last)], iv, ct], tag)
    }

    fn check_plain_len(&self, index: u64, len: usize, last: bool) -> Result<()> {
        let ok = if last {
            len <= self.chunk_size && (len > 0 || index == 0)
        } else {
            len == self.chunk_size
        };
        if ok {
            Ok(())
        } else {
            Err(Error::Usage(
                "every chunk but the last must be exactly the chunk size; the last 1..=chunk size (0 only if it is the only chunk)",
            ))
        }
    }

    /// Encrypts one chunk in place. `buf` holds `BLOCK_LEN` spare bytes (for the IV)
    /// followed by the plaintext; on return it holds the whole encoded chunk.
    fn seal_in_place(
        &self,
        index: u64,
        last: bool,
        buf: &mut Vec<u8>,
        iv: &[u8; BLOCK_LEN],
    ) -> Result<()> {
        let plain_len = buf
            .len()
            .checked_sub(BLOCK_LEN)
            .ok_or(Error::Usage("chunk buffer lacks room for the IV"))?;
        self.check_plain_len(index, plain_len, last)?;
        buf.reserve(BLOCK_LEN + TAG_LEN);
        buf.get_mut(..BLOCK_LEN)
            .unwrap_or_default()
            .copy_from_slice(iv);
        self.aes.encrypt(
            iv,
            &mut Tail {
                buf,
                start: BLOCK_LEN,
            },
        )?;
        let (iv_part, ct) = buf.split_at(BLOCK_LEN);
        let tag = self.tag(index, last, iv_part, ct);
        buf.extend_from_slice(&tag);
        Ok(())
    }

    /// Encrypts one chunk given as a slice, with the given IV.
    fn seal_with_iv(
        &self,
        index: u64,
        last: bool,
        plain: &[u8],
        iv: &[u8; BLOCK_LEN],
    ) -> Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(plain.len() + CHUNK_OVERHEAD);
        buf.extend_from_slice(&[0u8; BLOCK_LEN]);
        buf.extend_from_slice(plain);
        self.seal_in_place(index, last, &mut buf, iv)?;
        Ok(buf)
    }

    fn seal(&self, index: u64, last: bool, plain: &[u8]) -> Result<Vec<u8>> {
        self.seal_with_iv(index, last, plain, &rand::array()?)
    }

    /// Verifies and decrypts one encoded chunk in place; returns the plaintext length,
    /// which is at the start of `chunk` after the IV (`chunk[16..16 + n]`).
    fn open_in_place(&self, index: u64, last: bool, chunk: &mut [u8]) -> Result<usize> {
        let max = self.chunk_size + CHUNK_OVERHEAD;
        let len_ok = if last {
            chunk.len() >= BLOCK_LEN * 2 + TAG_LEN && chunk.len() <= max
        } else {
            chunk.len() == max
        };
        if !len_ok || !(chunk.len() - TAG_LEN).is_multiple_of(BLOCK_LEN) {
            return Err(Error::Decrypt);
        }
        let (body, tag) = chunk.split_at_mut(chunk.len() - TAG_LEN);
        let (iv, ct) = body.split_at_mut(BLOCK_LEN);
        self.verify_tag(index, last, iv, ct, tag)?;
        let iv: [u8; BLOCK_LEN] = (&*iv).try_into().map_err(|_| Error::Decrypt)?;
        let n = self.aes.decrypt(&iv, ct)?;
        // Structurally impossible for chunks this code wrote; reject anything else.
        self.check_plain_len(index, n, last)
            .map_err(|_| Error::Decrypt)?;
        Ok(n)
    }

    fn open(&self, index: u64, last: bool, chunk: &[u8]) -> Result<Vec<u8>> {
        let mut buf = chunk.to_vec();
        let n = self.open_in_place(index, last, &mut buf)?;
        buf.truncate(BLOCK_LEN + n);
        buf.drain(..BLOCK_LEN);
        Ok(buf)
    }
}

/// A view of the end of a vector, so padding and encryption happen in place after the
/// IV already written at its start.
struct Tail<'a> {
    buf: &'a mut Vec<u8>,
    start: usize,
}

impl AsMut<[u8]> for Tail<'_> {
    fn as_mut(&mut self) -> &mut [u8] {
        let start = self.start;
        self.buf.get_mut(start..).unwrap_or_default()
    }
}

impl<'b> Extend<&'b u8> for Tail<'_> {
    fn extend<I: IntoIterator<Item = &'b u8>>(&mut self, iter: I) {
        self.buf.extend(iter);
    }
}

fn parse_header(header: &[u8]) -> Result<(u8, &[u8])> {
    let rest = super::check_header(WHAT, header, TYPE_STREAM, ALG_AES256CBC_HMACSHA256)?;
    let (&log2, nonce) = rest.split_first().ok_or(Error::Malformed {
        what: WHAT,
        reason: "header too short",
    })?;
    if nonce.len() != NONCE_LEN {
        return Err(Error::Malformed {
            what: WHAT,
            reason: "header must be 20 bytes",
        });
    }
    if !(MIN_CHUNK_LOG2..=MAX_CHUNK_LOG2).contains(&log2) {
        return Err(Error::Unsupported {
            what: WHAT,
            field: "chunk size exponent",
            value: log2,
        });
    }
    Ok((log2, nonce))
}

fn new_header(log2: u8, nonce: &[u8; NONCE_LEN]) -> Result<[u8; HEADER_LEN]> {
    if !(MIN_CHUNK_LOG2..=MAX_CHUNK_LOG2).contains(&log2) {
        return Err(Error::Usage("chunk size exponent must be 10..=20"));
    }
    let mut h = [0u8; HEADER_LEN];
    let (fixed, n) = h.split_at_mut(4);
    fixed.copy_from_slice(&[TYPE_STREAM, VERSION_1, ALG_AES256CBC_HMACSHA256, log2]);
    n.copy_from_slice(nonce);
    Ok(h)
}

/// Encrypts a stream chunk by chunk. Make one per stream; never reuse a header.
pub struct Encryptor {
    keys: StreamKeys,
    header: [u8; HEADER_LEN],
    next: u64,
    finished: bool,
}

impl Encryptor {
    /// A new stream with the default chunk size and a fresh random nonce.
    pub fn new(key: &SymmetricKey, context: &[u8]) -> Result<Self> {
        Self::with_chunk_log2(key, context, DEFAULT_CHUNK_LOG2)
    }

    /// A new stream with chunks of `2^log2` bytes (10..=20).
    pub fn with_chunk_log2(key: &SymmetricKey, context: &[u8], log2: u8) -> Result<Self> {
        Self::with_nonce(key, context, log2, &rand::array()?)
    }

    pub(crate) fn with_nonce(
        key: &SymmetricKey,
        context: &[u8],
        log2: u8,
        nonce: &[u8; NONCE_LEN],
    ) -> Result<Self> {
        let header = new_header(log2, nonce)?;
        let keys = StreamKeys::derive(key, &header, context)?;
        Ok(Self {
            keys,
            header,
            next: 0,
            finished: false,
        })
    }

    /// The encryptor of a stream already begun with `header` (written by
    /// [`Encryptor::header`] of an earlier one, same key and context), to encrypt its
    /// remaining chunks with [`Encryptor::seal_at`]: for an upload resumed by another
    /// process. The caller must encrypt each index exactly once per stream (a chunk
    /// sent again is simply encrypted again, with a fresh IV, and replaces the first).
    pub fn resume(key: &SymmetricKey, context: &[u8], header: &[u8]) -> Result<Self> {
        let (log2, nonce) = parse_header(header)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| Error::Malformed {
            what: WHAT,
            reason: "header must be 20 bytes",
        })?;
        Self::with_nonce(key, context, log2, &nonce)
    }

    /// The header to write before the first chunk.
    pub fn header(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }

    /// Plaintext bytes per chunk.
    pub fn chunk_size(&self) -> usize {
        self.keys.chunk_size
    }

    /// Encrypts the next chunk. Every chunk but the last must be exactly
    /// [`Encryptor::chunk_size`] bytes; after `last` no more chunks are accepted.
    pub fn seal_next(&mut self, plain: &[u8], last: bool) -> Result<Vec<u8>> {
        if self.finished {
            return Err(Error::Usage("stream already finished"));
        }
        let out = self.keys.seal(self.next, last, plain)?;
        self.next += 1;
        self.finished = last;
        Ok(out)
    }

    /// Encrypts chunk `index` without tracking order: for parallel or resumable
    /// callers, who must then encrypt every index exactly once and mark only the
    /// final one `last`.
    pub fn seal_at(&self, index: u64, plain: &[u8], last: bool) -> Result<Vec<u8>> {
        self.keys.seal(index, last, plain)
    }

    #[cfg(test)]
    pub(crate) fn seal_at_with_iv(
        &self,
        index: u64,
        plain: &[u8],
        last: bool,
        iv: &[u8; BLOCK_LEN],
    ) -> Result<Vec<u8>> {
        self.keys.seal_with_iv(index, last, plain, iv)
    }
}

/// Decrypts a stream chunk by chunk.
pub struct Decryptor {
    keys: StreamKeys,
    next: u64,
    finished: bool,
}

impl Decryptor {
    /// Parses `header` and derives the stream keys. A changed header is not detected
    /// here but by the first chunk, which then fails to authenticate.
    pub fn new(key: &SymmetricKey, context: &[u8], header: &[u8]) -> Result<Self> {
        let header: &[u8; HEADER_LEN] = header.try_into().map_err(|_| Error::Malformed {
            what: WHAT,
            reason: "header must be 20 bytes",
        })?;
        Ok(Self {
            keys: StreamKeys::derive(key, header, context)?,
            next: 0,
            finished: false,
        })
    }

    /// Plaintext bytes per chunk.
    pub fn chunk_size(&self) -> usize {
        self.keys.chunk_size
    }

    /// Encoded length of every chunk but the last.
    pub fn encoded_chunk_len(&self) -> usize {
        self.keys.chunk_size + CHUNK_OVERHEAD
    }

    /// Verifies and decrypts the next chunk; `last` says whether the caller knows it to
    /// be the final one (for example, end of input followed it).
    pub fn open_next(&mut self, chunk: &[u8], last: bool) -> Result<Vec<u8>> {
        if self.finished {
            return Err(Error::Decrypt);
        }
        let plain = self.keys.open(self.next, last, chunk)?;
        self.next += 1;
        self.finished = last;
        Ok(plain)
    }

    /// Verifies and decrypts chunk `index`, without tracking order. The caller must
    /// check that it saw every index from 0 and that exactly the final one opened
    /// with `last = true`.
    pub fn open_at(&self, index: u64, chunk: &[u8], last: bool) -> Result<Vec<u8>> {
        self.keys.open(index, last, chunk)
    }

    /// Succeeds only if the last chunk was opened: call it at end of input to detect
    /// truncation at a chunk boundary.
    pub fn finish(&self) -> Result<()> {
        if self.finished {
            Ok(())
        } else {
            Err(Error::Decrypt)
        }
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

/// Reads `reader` in pieces of `piece` bytes with one piece of look-ahead, so each
/// piece knows whether it is the last. Each buffer starts with `prefix` spare bytes
/// (room for the IV, so encryption happens in place).
struct Pieces<R> {
    reader: R,
    piece: usize,
    prefix: usize,
    ahead: Option<Vec<u8>>,
    next_index: u64,
    done: bool,
}

/// One piece of input with its stream position; after processing, `out` is the part
/// of `data` to write.
struct Piece {
    index: u64,
    last: bool,
    data: Vec<u8>,
    out: std::ops::Range<usize>,
}

impl<R: Read> Pieces<R> {
    fn new(reader: R, piece: usize, prefix: usize) -> Self {
        Self {
            reader,
            piece,
            prefix,
            ahead: None,
            next_index: 0,
            done: false,
        }
    }

    /// Reads one piece into a recycled buffer when one is available.
    fn read_one(&mut self, spares: &Receiver<Vec<u8>>) -> Result<Vec<u8>> {
        let mut buf = spares.try_recv().unwrap_or_default();
        let want = self.prefix + self.piece;
        // Reuse without zero-filling: every byte kept is overwritten below or by the IV.
        if buf.len() >= want {
            buf.truncate(want);
        } else {
            buf.resize(want, 0);
        }
        let n = read_full(
            &mut self.reader,
            buf.get_mut(self.prefix..).unwrap_or_default(),
        )?;
        buf.truncate(self.prefix + n);
        Ok(buf)
    }

    /// Up to `max` pieces; empty once the last piece has been returned.
    fn batch(&mut self, max: usize, spares: &Receiver<Vec<u8>>) -> Result<Vec<Piece>> {
        let mut out = Vec::with_capacity(max);
        while out.len() < max && !self.done {
            let data = match self.ahead.take() {
                Some(d) => d,
                None => self.read_one(spares)?,
            };
            let last = if data.len() < self.prefix + self.piece {
                true
            } else {
                let next = self.read_one(spares)?;
                let empty = next.len() == self.prefix;
                self.ahead = Some(next);
                empty
            };
            let range = 0..data.len();
            out.push(Piece {
                index: self.next_index,
                last,
                data,
                out: range,
            });
            self.next_index += 1;
            self.done = last;
        }
        Ok(out)
    }
}

/// Three stages on their own threads, so reading, computing and writing overlap: a
/// reader thread fills batches, the calling thread runs `work` over each batch on the
/// rayon pool, and a writer thread writes finished batches in order and hands their
/// buffers back to the reader. At most four batches are alive at once (bounded
/// channels), so memory stays constant whatever the input size.
///
/// Nothing of a batch in which `work` failed is written.
fn pipeline<R, W, F>(mut pieces: Pieces<R>, writer: &mut W, work: F) -> Result<u64>
where
    R: Read + Send,
    W: Write + Send,
    F: Fn(&mut Piece) -> Result<()> + Sync,
{
    let (to_work, from_reader) = sync_channel::<Result<Vec<Piece>>>(1);
    let (to_writer, from_work) = sync_channel::<Vec<Piece>>(1);
    let (recycle, spares) = channel::<Vec<u8>>();
    std::thread::scope(|s| {
        let reader = s.spawn(move || {
            loop {
                let batch = pieces.batch(batch_len(pieces.piece), &spares);
                let stop = batch.as_ref().map_or(true, Vec::is_empty);
                if to_work.send(batch).is_err() || stop {
                    break;
                }
            }
        });
        let writer = s.spawn(move || -> Result<u64> {
            let mut written = 0u64;
            for batch in from_work {
                for p in batch {
                    let bytes = p.data.get(p.out.clone()).unwrap_or_default();
                    writer.write_all(bytes)?;
                    written += bytes.len() as u64;
                    // The reader may be gone already; then the buffer is just dropped.
                    let _ = recycle.send(p.data);
                }
            }
            writer.flush()?;
            Ok(written)
        });
        let mut outcome = Ok(());
        for batch in from_reader {
            let mut batch = match batch {
                Ok(b) if b.is_empty() => break,
                Ok(b) => b,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            };
            if let Err(e) = batch.par_iter_mut().try_for_each(&work) {
                outcome = Err(e);
                break;
            }
            if to_writer.send(batch).is_err() {
                break; // The writer failed; its error is returned below.
            }
        }
        // Leaving the loop dropped the reader's channel, so a blocked reader stops.
        drop(to_writer);
        let written = writer.join().unwrap_or_else(|_| Err(panicked()));
        reader.join().map_err(|_| panicked())?;
        outcome?;
        written
    })
}

fn panicked() -> Error {
    Error::Io(std::io::Error::other("stream worker thread panicked"))
}

/// Encrypts everything `reader` yields into `writer` (header, then chunks), in constant
/// memory, encrypting chunks on all cores. Returns the bytes written.
pub fn encrypt<R, W>(key: &SymmetricKey, context: &[u8], reader: R, writer: &mut W) -> Result<u64>
where
    R: Read + Send,
    W: Write + Send,
{
    encrypt_with(&Encryptor::new(key, context)?, reader, writer)
}

/// [`encrypt`] with an [`Encryptor`] chosen by the caller (chunk size).
pub fn encrypt_with<R, W>(enc: &Encryptor, reader: R, writer: &mut W) -> Result<u64>
where
    R: Read + Send,
    W: Write + Send,
{
    writer.write_all(&enc.header)?;
    let pieces = Pieces::new(reader, enc.keys.chunk_size, BLOCK_LEN);
    let body = pipeline(pieces, writer, |p| {
        enc.keys
            .seal_in_place(p.index, p.last, &mut p.data, &rand::array()?)?;
        p.out = 0..p.data.len();
        Ok(())
    })?;
    Ok(body + HEADER_LEN as u64)
}

/// Decrypts a stream from `reader` into `writer`, verifying every chunk before its
/// plaintext is written, on all cores. Returns the plaintext bytes written.
///
/// On error, the chunks before the failing batch have been written (each of them
/// authenticated); the stream as a whole is only valid once this returns `Ok`, so
/// callers write to a temporary file and rename it afterwards.
pub fn decrypt<R, W>(
    key: &SymmetricKey,
    context: &[u8],
    mut reader: R,
    writer: &mut W,
) -> Result<u64>
where
    R: Read + Send,
    W: Write + Send,
{
    let mut header = [0u8; HEADER_LEN];
    if read_full(&mut reader, &mut header)? != HEADER_LEN {
        return Err(Error::Decrypt);
    }
    let dec = Decryptor::new(key, context, &header)?;
    let pieces = Pieces::new(reader, dec.encoded_chunk_len(), 0);
    pipeline(pieces, writer, |p| {
        let n = dec.keys.open_in_place(p.index, p.last, &mut p.data)?;
        p.out = BLOCK_LEN..BLOCK_LEN + n;
        Ok(())
    })
}

/// Encrypts an in-memory plaintext into a whole stream.
pub fn encrypt_to_vec(key: &SymmetricKey, context: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
    let mut out =
        Vec::with_capacity(encrypted_len(plain.len() as u64, DEFAULT_CHUNK_LOG2) as usize);
    encrypt(key, context, plain, &mut out)?;
    Ok(out)
}

/// Decrypts a whole in-memory stream. On any failure nothing is returned.
pub fn decrypt_to_vec(key: &SymmetricKey, context: &[u8], stream: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(stream.len());
    decrypt(key, context, stream, &mut out)?;
    Ok(out)
}

/// The encoded length of a stream of `plain_len` bytes with chunks of `2^log2` bytes.
pub fn encrypted_len(plain_len: u64, log2: u8) -> u64 {
    let chunk = 1u64 << log2;
    let full = if plain_len == 0 {
        0
    } else {
        (plain_len - 1) / chunk
    };
    let last = plain_len - full * chunk;
    HEADER_LEN as u64
        + full * (chunk + CHUNK_OVERHEAD as u64)
        + (BLOCK_LEN + aes_cbc::padded_len(last as usize) + TAG_LEN) as u64
}

mod blocks;
mod parts;
pub use blocks::{Block, BlockOpener, BlockReader, block_capacity, max_block_capacity};
pub use parts::{PartDecryptor, encrypt_parts};

#[cfg(test)]
mod tests;

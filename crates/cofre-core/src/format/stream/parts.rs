//! Streams in parts, for transfers over a network.
//!
//! [`encrypt_parts`] hands the encoded stream out in parts of whole chunks, so a part
//! that failed to upload can be sent again as is, without re-encrypting anything.
//! [`PartDecryptor`] takes the encoded stream in pieces of any size, as they arrive,
//! given its total length (which it does not trust: a wrong length makes the final
//! chunk fail), and releases each chunk's plaintext only after that chunk's tag
//! verified. After a dropped connection, [`PartDecryptor::position`] says where to
//! ask the sender to resume.

use std::io::Read;
use std::sync::mpsc::channel;

use rayon::prelude::*;
use zeroize::Zeroizing;

use super::blocks::{BlockOpener, BlockReader};
use super::{BLOCK_LEN, CHUNK_OVERHEAD, Decryptor, Encryptor, HEADER_LEN, Pieces, batch_len};
use crate::primitives::rand;
use crate::secret::SymmetricKey;
use crate::{Error, Result};

/// Encrypts everything `reader` yields with `enc` and calls `sink` with consecutive
/// parts of the encoded stream: the first part starts with the header, and every part
/// holds up to `chunks_per_part` whole chunks, encrypted in parallel. Memory stays at
/// about one part. Returns the encoded length.
pub fn encrypt_parts<R: Read>(
    enc: &Encryptor,
    reader: R,
    chunks_per_part: usize,
    mut sink: impl FnMut(Vec<u8>) -> Result<()>,
) -> Result<u64> {
    // No buffer recycling here: each part is handed away.
    let (_recycle, spares) = channel::<Vec<u8>>();
    let mut pieces = Pieces::new(reader, enc.keys.chunk_size, BLOCK_LEN);
    let mut total = 0u64;
    let mut first = true;
    loop {
        let mut batch = pieces.batch(chunks_per_part.max(1), &spares)?;
        if batch.is_empty() {
            break;
        }
        batch.par_iter_mut().try_for_each(|p| {
            enc.keys
                .seal_in_place(p.index, p.last, &mut p.data, &rand::array()?)
        })?;
        let header = if first { HEADER_LEN } else { 0 };
        let mut part =
            Vec::with_capacity(header + batch.iter().map(|p| p.data.len()).sum::<usize>());
        if first {
            part.extend_from_slice(&enc.header);
            first = false;
        }
        for p in &batch {
            part.extend_from_slice(&p.data);
        }
        total += part.len() as u64;
        sink(part)?;
    }
    Ok(total)
}

/// Decrypts a stream of known encoded length fed in pieces of any size.
pub struct PartDecryptor {
    key: SymmetricKey,
    context: Vec<u8>,
    total: u64,
    dec: Option<Decryptor>,
    /// Encoded bytes consumed as whole units (header, chunks).
    position: u64,
    next_index: u64,
    pending: Vec<u8>,
    done: bool,
}

impl PartDecryptor {
    /// A decryptor for a stream of `total_len` encoded bytes (as the sender claims).
    pub fn new(key: &SymmetricKey, context: &[u8], total_len: u64) -> Self {
        Self {
            key: key.clone(),
            context: context.to_vec(),
            total: total_len,
            dec: None,
            position: 0,
            next_index: 0,
            pending: Vec::new(),
            done: false,
        }
    }

    /// Encoded bytes consumed so far as whole units: to resume after a dropped
    /// connection, call [`PartDecryptor::discard_pending`] and ask for the stream from
    /// this offset.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Forgets bytes received after [`PartDecryptor::position`] (an incomplete chunk).
    pub fn discard_pending(&mut self) {
        self.pending.clear();
    }

    /// Whether the final chunk has been verified.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds the next piece of the encoded stream; returns the plaintext of every chunk
    /// this completed, each verified. On error nothing of the failing batch is released.
    /// Every buffer that held plaintext here, the returned one included, is zeroized
    /// when dropped.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if self.done && !bytes.is_empty() {
            return Err(Error::Decrypt);
        }
        self.pending.extend_from_slice(bytes);
        let received = self.position + self.pending.len() as u64;
        if received > self.total {
            return Err(Error::Decrypt);
        }
        if self.dec.is_none() {
            if self.pending.len() < HEADER_LEN {
                return Ok(Zeroizing::new(Vec::new()));
            }
            let header: Vec<u8> = self.pending.drain(..HEADER_LEN).collect();
            self.dec = Some(Decryptor::new(&self.key, &self.context, &header)?);
            self.position += HEADER_LEN as u64;
        }
        self.drain()
    }

    /// Opens the complete chunks in `pending`: a whole batch at a time, or whatever is
    /// there once the final chunk is complete.
    fn drain(&mut self) -> Result<Zeroizing<Vec<u8>>> {
        let Some(dec) = &self.dec else {
            return Ok(Zeroizing::new(Vec::new()));
        };
        let full = dec.chunk_size() + CHUNK_OVERHEAD;
        let batch = batch_len(full);
        let mut out = Zeroizing::new(Vec::new());
        loop {
            // Lay out the complete chunks available, up to one batch.
            let mut spans = Vec::new();
            let mut offset = 0usize;
            let mut at = self.position;
            let mut reached_last = false;
            while spans.len() < batch {
                let remaining = self.total.saturating_sub(at);
                if remaining == 0 {
                    break;
                }
                let len =
                    usize::try_from(remaining.min(full as u64)).map_err(|_| Error::Decrypt)?;
                if self.pending.len() < offset + len {
                    break;
                }
                let last = remaining <= full as u64;
                spans.push((
                    self.next_index + spans.len() as u64,
                    offset..offset + len,
                    last,
                ));
                offset += len;
                at += len as u64;
                if last {
                    reached_last = true;
                    break;
                }
            }
            if spans.is_empty() || (spans.len() < batch && !reached_last) {
                return Ok(out);
            }
            let pending = &self.pending;
            // Each chunk's plaintext is zeroized once copied out, and `out` never
            // reallocates while holding plaintext (see `append`).
            let plains = spans
                .par_iter()
                .map(|(i, r, last)| {
                    dec.open_at(*i, pending.get(r.clone()).unwrap_or_default(), *last)
                        .map(Zeroizing::new)
                })
                .collect::<Result<Vec<_>>>()?;
            for p in plains {
                append(&mut out, &p);
            }
            self.pending.drain(..offset);
            self.position = at;
            self.next_index += spans.len() as u64;
            if reached_last {
                self.done = true;
                if !self.pending.is_empty() {
                    return Err(Error::Decrypt);
                }
                return Ok(out);
            }
        }
    }

    /// The reader and opener that continue this decryption in stages (a download
    /// pipeline), from [`PartDecryptor::position`]: bytes received after it are
    /// forgotten.
    pub fn into_blocks(self) -> (BlockReader, BlockOpener) {
        super::blocks::continued(
            self.key,
            self.context,
            self.total,
            self.position,
            self.next_index,
            self.dec,
            self.done,
        )
    }

    /// Succeeds only when the whole stream was received and its final chunk verified.
    pub fn finish(&self) -> Result<()> {
        if self.done && self.pending.is_empty() && self.position == self.total {
            Ok(())
        } else {
            Err(Error::Decrypt)
        }
    }
}

/// Appends plaintext to `out` without leaving a copy behind: when `out` must grow, the
/// bytes move to a new buffer and the old one is zeroized as it drops (a plain
/// `extend_from_slice` would free the old allocation as it was).
fn append(out: &mut Zeroizing<Vec<u8>>, bytes: &[u8]) {
    let needed = out.len() + bytes.len();
    if needed > out.capacity() {
        let mut bigger = Zeroizing::new(Vec::with_capacity(needed.max(out.capacity() * 2)));
        bigger.extend_from_slice(out);
        *out = bigger;
    }
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::stream;

    fn key() -> SymmetricKey {
        SymmetricKey::generate().unwrap()
    }

    fn parts_of(plain: &[u8], log2: u8, per_part: usize) -> (SymmetricKey, Vec<Vec<u8>>) {
        let k = key();
        let enc = Encryptor::with_chunk_log2(&k, b"ctx", log2).unwrap();
        let mut parts = Vec::new();
        let n = encrypt_parts(&enc, plain, per_part, |p| {
            parts.push(p);
            Ok(())
        })
        .unwrap();
        assert_eq!(n, stream::encrypted_len(plain.len() as u64, log2));
        (k, parts)
    }

    #[test]
    fn parts_concatenate_to_a_valid_stream_and_feed_back_in_any_pieces() {
        for len in [0usize, 1, 1023, 1024, 1025, 5 * 1024, 70_000] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let (k, parts) = parts_of(&plain, 10, 3);
            let whole: Vec<u8> = parts.concat();
            assert_eq!(stream::decrypt_to_vec(&k, b"ctx", &whole).unwrap(), plain);
            for piece in [1usize, 7, 1088, 5000, whole.len().max(1)] {
                let mut d = PartDecryptor::new(&k, b"ctx", whole.len() as u64);
                let mut got = Vec::new();
                for p in whole.chunks(piece) {
                    got.extend_from_slice(&d.push(p).unwrap());
                }
                d.finish().unwrap();
                assert_eq!(got, plain, "len {len} piece {piece}");
            }
        }
    }

    #[test]
    fn resumes_from_its_position_after_a_dropped_piece() {
        let plain: Vec<u8> = (0..200_000u32).map(|i| (i % 13) as u8).collect();
        let (k, parts) = parts_of(&plain, 10, 8);
        let whole = parts.concat();
        let mut d = PartDecryptor::new(&k, b"ctx", whole.len() as u64);
        let mut got = d.push(&whole[..100_000]).unwrap().to_vec();
        d.discard_pending();
        let resume = d.position() as usize;
        assert!(resume <= 100_000);
        got.extend_from_slice(&d.push(&whole[resume..]).unwrap());
        d.finish().unwrap();
        assert_eq!(got, plain);
    }

    #[test]
    fn lies_about_length_truncation_and_tampering_fail() {
        let plain = vec![7u8; 10_000];
        let (k, parts) = parts_of(&plain, 10, 4);
        let whole = parts.concat();
        let n = whole.len() as u64;
        // A claimed length shorter or longer than the real stream.
        for claimed in [n - 1088, n - 1, n + 1, n + 1088] {
            let mut d = PartDecryptor::new(&k, b"ctx", claimed);
            let r = d.push(&whole).and_then(|_| d.finish());
            assert!(r.is_err(), "claimed {claimed} of {n}");
        }
        // Truncated input never finishes.
        let mut d = PartDecryptor::new(&k, b"ctx", n);
        let _ = d.push(&whole[..whole.len() - 10]);
        assert!(d.finish().is_err());
        // A flipped byte anywhere: an error, and nothing after the failing batch.
        for at in [0, 20, 500, whole.len() - 1] {
            let mut bad = whole.clone();
            bad[at] ^= 1;
            let mut d = PartDecryptor::new(&k, b"ctx", n);
            assert!(d.push(&bad).is_err(), "flip at {at}");
        }
        // Another context.
        let mut d = PartDecryptor::new(&k, b"other", n);
        assert!(d.push(&whole).is_err());
    }
}

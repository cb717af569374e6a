//! Decryption in stages, for a download pipeline: a reader lays the encoded stream out
//! in blocks of whole chunks ([`BlockReader`]), an opener verifies and decrypts each
//! block in place with its chunks in parallel ([`BlockOpener`]), and a writer releases
//! the plaintext of opened blocks in order ([`Block::plaintext`]).
//!
//! The reader knows the stream's claimed encoded length (as [`super::PartDecryptor`]
//! does, without trusting it: a wrong length makes the final chunk fail) and so gives
//! every chunk its index and `last` flag by its position; the opener checks that blocks
//! arrive in order, each index exactly once, and nothing after the final chunk
//! (FORMAT.md 8.5). Blocks come from a fixed set the caller recycles, each allocated
//! once at its largest size ([`block_capacity`]), so memory is bounded by the number
//! of blocks whatever the stream's size, and no plaintext is left behind by a buffer
//! growing: blocks are zeroized when dropped.

use std::ops::Range;

use rayon::prelude::*;
use zeroize::Zeroizing;

use super::{BLOCK_LEN, CHUNK_OVERHEAD, Decryptor, HEADER_LEN, MAX_CHUNK_LOG2, batch_len};
use crate::secret::SymmetricKey;
use crate::{Error, Result};

/// The largest a block of chunks of `2^log2` plaintext bytes grows: one batch of whole
/// encoded chunks (about 2 MiB, at least 2 chunks).
pub fn block_capacity(log2: u8) -> usize {
    let full = (1usize << log2) + CHUNK_OVERHEAD;
    full * batch_len(full)
}

/// The largest a block grows at any chunk size a reader accepts.
pub fn max_block_capacity() -> usize {
    (super::MIN_CHUNK_LOG2..=MAX_CHUNK_LOG2)
        .map(block_capacity)
        .max()
        .unwrap_or(0)
}

/// A run of whole consecutive chunks of the encoded stream in one buffer; after
/// [`BlockOpener::open`] succeeded, their plaintext in the same buffer.
#[derive(Default)]
pub struct Block {
    data: Zeroizing<Vec<u8>>,
    header: Option<[u8; HEADER_LEN]>,
    first_index: u64,
    start: u64,
    target: usize,
    full: usize,
    is_final: bool,
    started: bool,
    plain: Vec<Range<usize>>,
}

impl Block {
    /// An empty block; its buffer is allocated on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encoded stream offset just after this block's last chunk.
    pub fn end(&self) -> u64 {
        self.start + self.data.len() as u64
    }

    /// Whether this block ends with the stream's final chunk.
    pub fn is_final(&self) -> bool {
        self.is_final
    }

    /// Bytes the buffer holds room for (it never grows past its first allocation).
    pub fn capacity(&self) -> usize {
        self.data.capacity()
    }

    /// The verified plaintext of each chunk, in order; empty unless the block opened.
    pub fn plaintext(&self) -> impl Iterator<Item = &[u8]> {
        self.plain
            .iter()
            .map(|r| self.data.get(r.clone()).unwrap_or_default())
    }

    /// Plaintext bytes in [`Block::plaintext`].
    pub fn plain_len(&self) -> u64 {
        self.plain.iter().map(|r| r.len() as u64).sum()
    }

    /// Readies the block for reuse (its buffer is kept): a block back from the writer
    /// must be cleared before [`BlockReader::fill`] takes it again.
    pub fn clear(&mut self) {
        self.data.clear();
        self.header = None;
        self.plain.clear();
        self.started = false;
        self.is_final = false;
        self.target = 0;
    }
}

/// The reader's side: cuts the encoded bytes, as they arrive in pieces of any size,
/// into blocks of whole chunks, each with its position in the stream.
pub struct BlockReader {
    total: u64,
    /// End of the last complete block (or of the header): where to resume.
    position: u64,
    next_index: u64,
    header: Vec<u8>,
    /// The header, until a block carries it to the opener.
    header_to_send: Option<[u8; HEADER_LEN]>,
    /// Encoded length of a full chunk, once the header is known.
    full: Option<usize>,
    done: bool,
}

impl BlockReader {
    /// A reader of a stream of `total` encoded bytes (as the sender claims), from its
    /// start.
    pub fn new(total: u64) -> Self {
        Self {
            total,
            position: 0,
            next_index: 0,
            header: Vec::with_capacity(HEADER_LEN),
            header_to_send: None,
            full: None,
            done: false,
        }
    }

    /// Encoded bytes consumed as whole blocks: after a dropped connection, call
    /// [`BlockReader::discard_partial`] and ask for the stream from this offset.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Whether the block holding the final chunk is complete.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Forgets bytes received after [`BlockReader::position`]: a header or a block not
    /// yet complete (`block`, if one was being filled, which is emptied).
    pub fn discard_partial(&mut self, block: Option<&mut Block>) {
        if self.full.is_none() {
            self.header.clear();
        }
        if let Some(b) = block {
            // A block not handed over still carries the header: keep it for the next.
            if let Some(h) = b.header.take() {
                self.header_to_send = Some(h);
            }
            b.clear();
        }
    }

    /// Takes bytes from the front of `bytes` into `block` (a block from the caller's
    /// set, empty or partly filled by earlier calls). Returns `true` when `block` is
    /// complete: hand it to the opener and call again with a fresh block for what is
    /// left of `bytes`. Fails if the bytes go past the claimed length or the header is
    /// not one this reader can read.
    pub fn fill(&mut self, bytes: &mut &[u8], block: &mut Block) -> Result<bool> {
        if self.done {
            return if bytes.is_empty() {
                Ok(false)
            } else {
                Err(Error::Decrypt)
            };
        }
        let held = match self.full {
            Some(_) if block.started => block.data.len(),
            Some(_) => 0,
            None => self.header.len(),
        };
        let received = self.position + held as u64 + bytes.len() as u64;
        if received > self.total {
            return Err(Error::Decrypt);
        }
        let full = match self.full {
            Some(f) => f,
            None => {
                let take = (HEADER_LEN - self.header.len()).min(bytes.len());
                let (head, rest) = bytes.split_at(take);
                self.header.extend_from_slice(head);
                *bytes = rest;
                if self.header.len() < HEADER_LEN {
                    return Ok(false);
                }
                let header: [u8; HEADER_LEN] = self
                    .header
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::Decrypt)?;
                let (log2, _) = super::parse_header(&header)?;
                let full = (1usize << log2) + CHUNK_OVERHEAD;
                self.full = Some(full);
                self.header_to_send = Some(header);
                self.position = HEADER_LEN as u64;
                full
            }
        };
        if !block.started {
            let remaining = self.total - self.position;
            if remaining == 0 {
                // A claimed length with no room for a single chunk.
                return Err(Error::Decrypt);
            }
            let most = full * batch_len(full);
            let target = usize::try_from(remaining.min(most as u64)).map_err(|_| Error::Decrypt)?;
            block.clear();
            if block.data.capacity() < most {
                // Allocated once at its largest, so it never reallocates with
                // plaintext in it.
                block.data = Zeroizing::new(Vec::with_capacity(most));
            }
            block.started = true;
            block.header = self.header_to_send.take();
            block.first_index = self.next_index;
            block.start = self.position;
            block.target = target;
            block.full = full;
            block.is_final = remaining == target as u64;
        }
        let take = (block.target - block.data.len()).min(bytes.len());
        let (head, rest) = bytes.split_at(take);
        block.data.extend_from_slice(head);
        *bytes = rest;
        if block.data.len() < block.target {
            return Ok(false);
        }
        self.position = block.end();
        self.next_index += block.data.len().div_ceil(full) as u64;
        self.done = block.is_final;
        Ok(true)
    }
}

/// The opener's side: verifies and decrypts blocks in place, in order.
pub struct BlockOpener {
    key: SymmetricKey,
    context: Vec<u8>,
    dec: Option<Decryptor>,
    next_index: u64,
    done: bool,
    failed: bool,
}

impl BlockOpener {
    /// An opener of the stream under `key` and `context`; its keys come from the
    /// header, which the first block carries.
    pub fn new(key: &SymmetricKey, context: &[u8]) -> Self {
        Self {
            key: key.clone(),
            context: context.to_vec(),
            dec: None,
            next_index: 0,
            done: false,
            failed: false,
        }
    }

    /// Verifies every chunk of `block` (in parallel), then decrypts it in place, so
    /// that [`Block::plaintext`] yields it. On any failure nothing of the block is
    /// released, and the opener accepts nothing more.
    pub fn open(&mut self, block: &mut Block) -> Result<()> {
        block.plain.clear();
        let r = self.open_inner(block);
        if r.is_err() {
            block.plain.clear();
            self.failed = true;
        }
        r
    }

    fn open_inner(&mut self, block: &mut Block) -> Result<()> {
        if self.done
            || self.failed
            || !block.started
            || block.data.len() != block.target
            || block.first_index != self.next_index
        {
            return Err(Error::Decrypt);
        }
        if let Some(header) = block.header.take() {
            if self.dec.is_some() {
                return Err(Error::Decrypt);
            }
            self.dec = Some(Decryptor::new(&self.key, &self.context, &header)?);
        }
        let dec = self.dec.as_ref().ok_or(Error::Decrypt)?;
        let full = block.full;
        if full != dec.encoded_chunk_len() || block.data.is_empty() {
            return Err(Error::Decrypt);
        }
        let count = block.data.len().div_ceil(full);
        let first = block.first_index;
        let is_final = block.is_final;
        let lens = block
            .data
            .par_chunks_mut(full)
            .enumerate()
            .map(|(i, chunk)| {
                let last = is_final && i + 1 == count;
                dec.keys.open_in_place(first + i as u64, last, chunk)
            })
            .collect::<Result<Vec<usize>>>()?;
        block.plain = lens
            .iter()
            .enumerate()
            .map(|(i, n)| i * full + BLOCK_LEN..i * full + BLOCK_LEN + n)
            .collect();
        self.next_index += count as u64;
        self.done = is_final;
        Ok(())
    }

    /// Succeeds only once the block holding the final chunk opened.
    pub fn finish(&self) -> Result<()> {
        if self.done && !self.failed && self.dec.is_some() && self.next_index > 0 {
            Ok(())
        } else {
            Err(Error::Decrypt)
        }
    }
}

/// The reader and opener that continue a [`super::PartDecryptor`]'s decryption.
pub(super) fn continued(
    key: SymmetricKey,
    context: Vec<u8>,
    total: u64,
    position: u64,
    next_index: u64,
    dec: Option<Decryptor>,
    done: bool,
) -> (BlockReader, BlockOpener) {
    let reader = match &dec {
        Some(d) => BlockReader {
            total,
            position,
            next_index,
            header: Vec::new(),
            header_to_send: None,
            full: Some(d.encoded_chunk_len()),
            done,
        },
        None => BlockReader::new(total),
    };
    let opener = BlockOpener {
        key,
        context,
        dec,
        next_index,
        done,
        failed: false,
    };
    (reader, opener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::stream::{self, Encryptor, PartDecryptor};

    fn stream_of(plain: &[u8], log2: u8) -> (SymmetricKey, Vec<u8>) {
        let k = SymmetricKey::generate().unwrap();
        let enc = Encryptor::with_chunk_log2(&k, b"ctx", log2).unwrap();
        let mut out = Vec::new();
        stream::encrypt_with(&enc, plain, &mut out).unwrap();
        (k, out)
    }

    /// Runs reader and opener over `bytes` fed in pieces of `piece`, with a set of
    /// `pool` blocks; returns what was released and the outcome.
    fn run(
        reader: &mut BlockReader,
        opener: &mut BlockOpener,
        bytes: &[u8],
        piece: usize,
    ) -> (Vec<u8>, Result<()>) {
        let mut out = Vec::new();
        let mut block = Block::new();
        for p in bytes.chunks(piece.max(1)) {
            let mut p = p;
            while !p.is_empty() {
                match reader.fill(&mut p, &mut block) {
                    Ok(true) => {
                        if let Err(e) = opener.open(&mut block) {
                            return (out, Err(e));
                        }
                        for s in block.plaintext() {
                            out.extend_from_slice(s);
                        }
                        block.clear();
                    }
                    Ok(false) => {}
                    Err(e) => return (out, Err(e)),
                }
            }
        }
        let r = opener.finish();
        (out, r)
    }

    #[test]
    fn round_trips_at_every_size_and_piece() {
        for log2 in [10u8, 12] {
            for len in [0usize, 1, 1023, 1024, 1025, 70_000, 3 << 20] {
                let plain: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
                let (k, s) = stream_of(&plain, log2);
                for piece in [1usize, 20, 1088, 100_000, s.len()] {
                    if len > 70_000 && piece < 1088 {
                        continue;
                    }
                    let mut r = BlockReader::new(s.len() as u64);
                    let mut o = BlockOpener::new(&k, b"ctx");
                    let (got, res) = run(&mut r, &mut o, &s, piece);
                    res.unwrap();
                    assert!(r.is_done());
                    assert_eq!(got, plain, "log2 {log2} len {len} piece {piece}");
                }
            }
        }
    }

    #[test]
    fn blocks_never_outgrow_their_capacity() {
        for log2 in 10..=MAX_CHUNK_LOG2 {
            let cap = block_capacity(log2);
            assert!(cap <= max_block_capacity());
            // About 2 MiB whatever the chunk size; at least two chunks.
            assert!(cap <= (2 << 20) + 2 * CHUNK_OVERHEAD + (2 << 20) / 1024);
            assert!(cap >= 2 * ((1 << log2) + CHUNK_OVERHEAD));
        }
        let plain = vec![9u8; 5 << 20];
        let (_, s) = stream_of(&plain, 16);
        let mut r = BlockReader::new(s.len() as u64);
        let mut block = Block::new();
        let mut p = &s[..];
        let mut first_cap = None;
        while !p.is_empty() {
            if r.fill(&mut p, &mut block).unwrap() {
                let cap = *first_cap.get_or_insert(block.capacity());
                assert_eq!(block.capacity(), cap, "the buffer was reallocated");
                assert!(cap <= block_capacity(16));
                block.clear();
            }
        }
    }

    #[test]
    fn a_bad_chunk_in_the_middle_releases_nothing_of_its_block_or_after() {
        let plain: Vec<u8> = (0..(6usize << 20)).map(|i| (i % 241) as u8).collect();
        let (k, s) = stream_of(&plain, 16);
        let full = (1 << 16) + CHUNK_OVERHEAD;
        let per_block = batch_len(full);
        let chunks = s.len().div_ceil(full);
        let bad = chunks / 2; // in the middle, and not the first of its block
        assert!(!bad.is_multiple_of(per_block));
        let mut t = s.clone();
        t[HEADER_LEN + bad * full + 100] ^= 1;
        let mut r = BlockReader::new(t.len() as u64);
        let mut o = BlockOpener::new(&k, b"ctx");
        let (got, res) = run(&mut r, &mut o, &t, 65_536);
        assert!(matches!(res, Err(Error::Decrypt)));
        let good_blocks = bad / per_block;
        assert_eq!(got.len(), good_blocks * per_block * (1 << 16));
        assert_eq!(got, plain[..got.len()]);
        // The opener accepts nothing after a failure.
        let mut again = Block::new();
        let mut rest = &s[..];
        let mut r2 = BlockReader::new(s.len() as u64);
        while !r2.fill(&mut rest, &mut again).unwrap() {}
        assert!(o.open(&mut again).is_err());
        assert!(o.finish().is_err());
    }

    #[test]
    fn truncation_extension_reordering_and_lies_fail() {
        let plain = vec![3u8; 300_000];
        let (k, s) = stream_of(&plain, 10);
        let full = 1024 + CHUNK_OVERHEAD;
        let open = |bytes: &[u8], claimed: u64| {
            let mut r = BlockReader::new(claimed);
            let mut o = BlockOpener::new(&k, b"ctx");
            run(&mut r, &mut o, bytes, 4096)
        };
        // Truncated at a chunk boundary, inside a chunk, or to the header alone: the
        // claimed length is never reached, so it never finishes.
        for cut in [HEADER_LEN + full * 10, s.len() - 1, HEADER_LEN, 5] {
            let (_, r) = open(&s[..cut], s.len() as u64);
            assert!(r.is_err(), "cut at {cut}");
        }
        // The same truncation with a claimed length to match: the new final chunk
        // was written with last = 0.
        let cut = HEADER_LEN + full * 10;
        let (got, r) = open(&s[..cut], cut as u64);
        assert!(r.is_err());
        assert!(got.len() < 10 * 1024);
        // Extended, or a claimed length off either way.
        let mut longer = s.clone();
        longer.extend_from_slice(&[0u8; 100]);
        assert!(open(&longer, s.len() as u64).1.is_err());
        assert!(open(&longer, longer.len() as u64).1.is_err());
        assert!(open(&s, s.len() as u64 + 1).1.is_err());
        assert!(open(&s, s.len() as u64 - 1).1.is_err());
        assert!(open(&s, HEADER_LEN as u64).1.is_err());
        // Two chunks swapped.
        let mut swapped = s.clone();
        let (a, b) = (HEADER_LEN + full * 3, HEADER_LEN + full * 4);
        let first: Vec<u8> = s[a..b].to_vec();
        swapped.copy_within(b..b + full, a);
        swapped[b..b + full].copy_from_slice(&first);
        let (got, r) = open(&swapped, s.len() as u64);
        assert!(r.is_err());
        assert!(got.is_empty(), "the first block holds the swapped chunks");
        // A block out of order, or handed over twice.
        let (k, s) = stream_of(&vec![5u8; 5 << 20], 16);
        let mut r = BlockReader::new(s.len() as u64);
        let mut o = BlockOpener::new(&k, b"ctx");
        let (mut b0, mut b1) = (Block::new(), Block::new());
        let mut p = &s[..];
        assert!(r.fill(&mut p, &mut b0).unwrap());
        assert!(r.fill(&mut p, &mut b1).unwrap());
        assert!(o.open(&mut b1).is_err());
        let mut o = BlockOpener::new(&k, b"ctx");
        o.open(&mut b0).unwrap();
        b0.plain.clear();
        assert!(o.open(&mut b0).is_err());
    }

    #[test]
    fn continues_from_a_part_decryptor_and_after_a_discarded_partial_block() {
        let plain: Vec<u8> = (0..(5usize << 20)).map(|i| (i % 7) as u8).collect();
        let (k, s) = stream_of(&plain, 16);
        // What an earlier run kept, opened the old way.
        let mut d = PartDecryptor::new(&k, b"ctx", s.len() as u64);
        let mut got = d.push(&s[..3_000_000]).unwrap().to_vec();
        d.discard_pending();
        let (mut r, mut o) = d.into_blocks();
        assert!(r.position() <= 3_000_000);
        // A connection that drops halfway through a block.
        let mut block = Block::new();
        let from = r.position() as usize;
        let mut p = &s[from..from + 1_000_000];
        assert!(!r.fill(&mut p, &mut block).unwrap());
        r.discard_partial(Some(&mut block));
        let from = r.position() as usize;
        let (more, res) = run(&mut r, &mut o, &s[from..], 50_000);
        res.unwrap();
        got.extend_from_slice(&more);
        assert_eq!(got, plain);
        // A connection that drops after the header, inside the first block.
        let d = PartDecryptor::new(&k, b"ctx", s.len() as u64);
        let (mut r, mut o) = d.into_blocks();
        let mut p = &s[..70_000];
        assert!(!r.fill(&mut p, &mut block).unwrap());
        r.discard_partial(Some(&mut block));
        assert_eq!(r.position(), HEADER_LEN as u64);
        let (got, res) = run(&mut r, &mut o, &s[HEADER_LEN..], 65_536);
        res.unwrap();
        assert_eq!(got, plain);
        // From the very start, and after a connection that dropped inside the header.
        let d = PartDecryptor::new(&k, b"ctx", s.len() as u64);
        let (mut r, mut o) = d.into_blocks();
        let mut p = &s[..7];
        assert!(!r.fill(&mut p, &mut block).unwrap());
        r.discard_partial(Some(&mut block));
        assert_eq!(r.position(), 0);
        let (got, res) = run(&mut r, &mut o, &s, 65_536);
        res.unwrap();
        assert_eq!(got, plain);
    }
}

//! Stream tests: round trips at the sizes that matter, and every way of tampering.

use proptest::prelude::*;

use super::*;

/// Small chunks (1 KiB) so that "many chunks" stays fast.
const LOG2: u8 = MIN_CHUNK_LOG2;
const C: usize = 1 << LOG2;

fn key() -> SymmetricKey {
    SymmetricKey::generate().unwrap()
}

fn enc(key: &SymmetricKey, ctx: &[u8], plain: &[u8]) -> Vec<u8> {
    let e = Encryptor::with_chunk_log2(key, ctx, LOG2).unwrap();
    let mut out = Vec::new();
    encrypt_with(&e, plain, &mut out).unwrap();
    assert_eq!(out.len() as u64, encrypted_len(plain.len() as u64, LOG2));
    out
}

/// Decrypts through the `Write` API and returns the result and what was written.
fn dec(key: &SymmetricKey, ctx: &[u8], stream: &[u8]) -> (Result<u64>, Vec<u8>) {
    let mut out = Vec::new();
    let r = decrypt(key, ctx, stream, &mut out);
    (r, out)
}

/// Splits an encoded stream into header and chunks.
fn split_chunks(stream: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let (h, body) = stream.split_at(HEADER_LEN);
    (
        h.to_vec(),
        body.chunks(C + CHUNK_OVERHEAD)
            .map(<[u8]>::to_vec)
            .collect(),
    )
}

/// What a failed decryption may have written: a prefix made of whole, genuine chunks.
fn assert_only_whole_genuine_chunks(written: &[u8], plain: &[u8]) {
    assert_eq!(written.len() % C, 0, "partial chunk released");
    assert!(
        written.len() < plain.len().max(1),
        "all plaintext released despite error"
    );
    assert_eq!(
        written,
        &plain[..written.len()],
        "non-genuine plaintext released"
    );
}

fn sizes() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(C - 1),
        Just(C),
        Just(C + 1),
        Just(2 * C),
        Just(batch_len(C) * C),
        Just(batch_len(C) * C + 1),
        0usize..(3 * batch_len(C) * C),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn round_trip(len in sizes(), seed in any::<u8>()) {
        let k = key();
        let plain: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
        let ct = enc(&k, b"ctx", &plain);
        let (r, out) = dec(&k, b"ctx", &ct);
        prop_assert_eq!(r.unwrap(), len as u64);
        prop_assert_eq!(&out, &plain);
        prop_assert_eq!(decrypt_to_vec(&k, b"ctx", &ct).unwrap(), plain);
    }

    #[test]
    fn bit_flip_anywhere_rejected(len in 0usize..(4 * C), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let k = key();
        let plain = vec![0xA5u8; len];
        let mut ct = enc(&k, b"ctx", &plain);
        let i = pos.index(ct.len());
        ct[i] ^= 1 << bit;
        let (r, out) = dec(&k, b"ctx", &ct);
        prop_assert!(r.is_err(), "flip at byte {} bit {} accepted", i, bit);
        assert_only_whole_genuine_chunks(&out, &plain);
        prop_assert!(decrypt_to_vec(&k, b"ctx", &ct).is_err());
    }

    #[test]
    fn truncation_anywhere_rejected(len in 0usize..(4 * C), cut in any::<prop::sample::Index>()) {
        let k = key();
        let plain = vec![7u8; len];
        let ct = enc(&k, b"ctx", &plain);
        let n = cut.index(ct.len());
        let (r, out) = dec(&k, b"ctx", &ct[..n]);
        prop_assert!(matches!(r, Err(Error::Decrypt)), "truncation to {} accepted", n);
        assert_only_whole_genuine_chunks(&out, &plain);
    }
}

#[test]
fn every_single_bit_flip_of_a_small_stream_rejected() {
    let k = key();
    let plain: Vec<u8> = (0..(C + 100)).map(|i| i as u8).collect();
    let ct = enc(&k, b"ctx", &plain);
    for i in 0..ct.len() * 8 {
        let mut t = ct.clone();
        t[i / 8] ^= 1 << (i % 8);
        let (r, out) = dec(&k, b"ctx", &t);
        assert!(r.is_err(), "bit {i} accepted");
        assert_only_whole_genuine_chunks(&out, &plain);
    }
}

#[test]
fn every_truncation_at_chunk_boundaries_rejected() {
    let k = key();
    for len in [C, 2 * C, 3 * C + 5] {
        let plain = vec![1u8; len];
        let ct = enc(&k, b"ctx", &plain);
        let (h, chunks) = split_chunks(&ct);
        for keep in 0..chunks.len() {
            let mut t = h.clone();
            for c in &chunks[..keep] {
                t.extend_from_slice(c);
            }
            assert!(
                matches!(dec(&k, b"ctx", &t).0, Err(Error::Decrypt)),
                "len {len} keep {keep}"
            );
        }
    }
}

#[test]
fn reorder_drop_duplicate_append_rejected() {
    let k = key();
    let plain: Vec<u8> = (0..(3 * C + 10)).map(|i| (i % 251) as u8).collect();
    let ct = enc(&k, b"ctx", &plain);
    let (h, chunks) = split_chunks(&ct);
    let join = |order: &[usize]| {
        let mut t = h.clone();
        for &i in order {
            t.extend_from_slice(&chunks[i]);
        }
        t
    };
    let cases: &[(&str, &[usize])] = &[
        ("swap 0 1", &[1, 0, 2, 3]),
        ("swap 1 2", &[0, 2, 1, 3]),
        ("drop middle", &[0, 1, 3]),
        ("drop first", &[1, 2, 3]),
        ("duplicate", &[0, 1, 1, 2, 3]),
        ("append copy of last", &[0, 1, 2, 3, 3]),
        ("append a middle chunk", &[0, 1, 2, 3, 1]),
        ("last moved to the middle", &[0, 3, 1, 2]),
    ];
    for (name, order) in cases {
        let (r, out) = dec(&k, b"ctx", &join(order));
        assert!(matches!(r, Err(Error::Decrypt)), "{name} accepted");
        assert_only_whole_genuine_chunks(&out, &plain);
    }
    // Appending arbitrary bytes is also rejected.
    let mut t = ct.clone();
    t.extend_from_slice(b"trailing");
    assert!(dec(&k, b"ctx", &t).0.is_err());
}

#[test]
fn splicing_between_streams_and_contexts_rejected() {
    let k = key();
    let a = enc(&k, b"item/a", &vec![1u8; 2 * C]);
    let b = enc(&k, b"item/b", &vec![1u8; 2 * C]);
    assert!(dec(&k, b"item/b", &a).0.is_err(), "wrong context accepted");
    // Header of b with chunks of a (same key, same plaintext): different nonce, fails.
    let mut t = b[..HEADER_LEN].to_vec();
    t.extend_from_slice(&a[HEADER_LEN..]);
    assert!(
        dec(&k, b"item/b", &t).0.is_err(),
        "chunks moved between streams accepted"
    );
}

#[test]
fn wrong_key_rejected() {
    let ct = enc(&key(), b"ctx", b"secret");
    let (r, out) = dec(&key(), b"ctx", &ct);
    assert!(matches!(r, Err(Error::Decrypt)));
    assert!(out.is_empty());
}

#[test]
fn header_checks() {
    let k = key();
    let ct = enc(&k, b"ctx", b"abc");
    let mut bad = ct.clone();
    bad[3] = MAX_CHUNK_LOG2 + 1;
    assert!(matches!(
        dec(&k, b"ctx", &bad).0,
        Err(Error::Unsupported { .. })
    ));
    bad = ct.clone();
    bad[1] = 2;
    assert!(matches!(
        dec(&k, b"ctx", &bad).0,
        Err(Error::Unsupported { .. })
    ));
    // A valid but different chunk size: keys differ, first chunk fails.
    bad = ct.clone();
    bad[3] = LOG2 + 1;
    assert!(matches!(dec(&k, b"ctx", &bad).0, Err(Error::Decrypt)));
    assert!(dec(&k, b"ctx", &ct[..HEADER_LEN - 1]).0.is_err());
}

#[test]
fn chunk_api_matches_stream_api_and_enforces_order() {
    let k = key();
    let plain: Vec<u8> = (0..(2 * C + 3)).map(|i| i as u8).collect();
    let mut e = Encryptor::with_chunk_log2(&k, b"ctx", LOG2).unwrap();
    let mut stream = e.header().to_vec();
    let pieces: Vec<&[u8]> = plain.chunks(C).collect();
    for (i, p) in pieces.iter().enumerate() {
        stream.extend(e.seal_next(p, i + 1 == pieces.len()).unwrap());
    }
    assert!(
        e.seal_next(b"more", true).is_err(),
        "chunk after last accepted"
    );
    assert_eq!(decrypt_to_vec(&k, b"ctx", &stream).unwrap(), plain);

    let mut e2 = Encryptor::with_chunk_log2(&k, b"ctx", LOG2).unwrap();
    assert!(
        e2.seal_next(&plain[..C - 1], false).is_err(),
        "short non-last chunk accepted"
    );
    assert!(
        e2.seal_next(&vec![0; C + 1], true).is_err(),
        "oversized chunk accepted"
    );

    let (h, chunks) = split_chunks(&stream);
    let mut d = Decryptor::new(&k, b"ctx", &h).unwrap();
    let mut out = Vec::new();
    out.extend(d.open_next(&chunks[0], false).unwrap());
    assert!(d.finish().is_err(), "finish before last accepted");
    assert!(
        d.open_next(&chunks[2], true).is_err(),
        "skipped chunk accepted"
    );
    let d = Decryptor::new(&k, b"ctx", &h).unwrap();
    assert_eq!(d.open_at(1, &chunks[1], false).unwrap(), plain[C..2 * C]);
    assert!(
        d.open_at(1, &chunks[1], true).is_err(),
        "last flag not authenticated"
    );
}

#[test]
fn empty_plaintext_is_one_empty_chunk() {
    let k = key();
    let ct = enc(&k, b"", b"");
    assert_eq!(ct.len(), HEADER_LEN + 16 + 16 + 32);
    assert_eq!(decrypt_to_vec(&k, b"", &ct).unwrap(), b"");
    assert!(
        dec(&k, b"", &ct[..HEADER_LEN]).0.is_err(),
        "header alone accepted"
    );
}

#[test]
fn default_chunk_size_multi_batch_round_trip() {
    let k = key();
    let plain: Vec<u8> = (0..(5 << 20) + 7).map(|i| (i * 7) as u8).collect();
    let ct = encrypt_to_vec(&k, b"big", &plain).unwrap();
    assert_eq!(
        ct.len() as u64,
        encrypted_len(plain.len() as u64, DEFAULT_CHUNK_LOG2)
    );
    assert_eq!(decrypt_to_vec(&k, b"big", &ct).unwrap(), plain);
}

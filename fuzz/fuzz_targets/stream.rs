//! Stream decoder, two modes chosen by the first input byte.
//!
//! - Raw (first byte < 64): the rest of the input never decrypts, through the in-memory
//!   API (`decrypt_to_vec`), the `Write` API (`decrypt` into a `Vec`) and the
//!   chunk-by-chunk `Decryptor`; none of them panics.
//! - Structured: a genuine stream (plaintext of up to 8 KiB taken from the input,
//!   chunks of 1 or 2 KiB, made by `Encryptor::with_chunk_log2` and `encrypt_with`) has
//!   the length `encrypted_len` predicts, round-trips through `decrypt_to_vec` and the
//!   `Decryptor`, and does not open under another context; after the mutation the input
//!   picks (bit flip, truncation, dropped, duplicated or swapped chunk, appended byte)
//!   both decoders must reject it.
#![no_main]

use cofre_core::format::stream::{self, CHUNK_OVERHEAD, Decryptor, Encryptor, HEADER_LEN};
use cofre_core::secret::SymmetricKey;
use libfuzzer_sys::fuzz_target;

/// Largest plaintext of the structured mode: a few chunks, so runs stay fast.
const MAX_PLAIN: usize = 8192;

/// The chunk-by-chunk decoder over a whole in-memory stream: header, then chunks of the
/// encoded chunk length, the final one flagged `last`, then `finish`.
fn chunked_decrypt(key: &SymmetricKey, ctx: &[u8], bytes: &[u8]) -> Option<Vec<u8>> {
    let (header, body) = bytes.split_at_checked(HEADER_LEN)?;
    let mut dec = Decryptor::new(key, ctx, header).ok()?;
    let chunks: Vec<&[u8]> = body.chunks(dec.encoded_chunk_len()).collect();
    let mut out = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        out.extend(dec.open_next(c, i + 1 == chunks.len()).ok()?);
    }
    dec.finish().ok()?;
    Some(out)
}

/// The in-memory and the chunk-by-chunk decoder agree: `Some(plaintext)` if the
/// stream opens, `None` if not.
fn decrypt_both(key: &SymmetricKey, ctx: &[u8], bytes: &[u8]) -> Option<Vec<u8>> {
    let in_memory = stream::decrypt_to_vec(key, ctx, bytes).ok();
    let chunked = chunked_decrypt(key, ctx, bytes);
    assert_eq!(in_memory, chunked, "decrypt_to_vec and Decryptor disagree");
    in_memory
}

fuzz_target!(|data: &[u8]| {
    let key = SymmetricKey::from_secret_bytes(&[9u8; 64]);
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode < 64 {
        assert!(
            decrypt_both(&key, b"fuzz", rest).is_none(),
            "forged stream decrypted"
        );
        // The `Write` API (what `decrypt_to_vec` wraps), with a writer that is not
        // pre-sized.
        let mut out = Vec::new();
        assert!(
            stream::decrypt(&key, b"fuzz", rest, &mut out).is_err(),
            "forged stream decrypted"
        );
        return;
    }
    let Some((&param, plain)) = rest.split_first() else {
        return;
    };
    let plain = &plain[..plain.len().min(MAX_PLAIN)];
    let log2 = 10 + (param & 1);
    let chunk = (1usize << log2) + CHUNK_OVERHEAD;
    let enc = Encryptor::with_chunk_log2(&key, b"ctx", log2).unwrap();
    let mut ct = Vec::new();
    let n = stream::encrypt_with(&enc, plain, &mut ct).unwrap();
    assert_eq!(n, ct.len() as u64);
    assert_eq!(
        ct.len() as u64,
        stream::encrypted_len(plain.len() as u64, log2)
    );
    assert_eq!(
        decrypt_both(&key, b"ctx", &ct).as_deref(),
        Some(plain),
        "genuine stream did not round-trip"
    );
    // Each `decrypt_to_vec` runs the threaded pipeline (the bulk of this target's cost),
    // so the wrong-context check uses the `Decryptor` only.
    assert!(
        chunked_decrypt(&key, b"ctx2", &ct).is_none(),
        "stream opened under another context"
    );

    let body = ct.len() - HEADER_LEN;
    let chunks = body.div_ceil(chunk);
    let pick = usize::from(param >> 1);
    let mut bad = ct.clone();
    match mode % 6 {
        0 => {
            let i = pick * 131 % bad.len();
            bad[i] ^= 1 << (param % 8);
        }
        1 => bad.truncate(pick * 37 % bad.len()),
        2 if chunks > 1 => {
            let i = pick % chunks;
            let start = HEADER_LEN + i * chunk;
            bad.drain(start..(start + chunk).min(bad.len()));
        }
        3 => {
            let i = pick % chunks;
            let start = HEADER_LEN + i * chunk;
            let c = bad[start..(start + chunk).min(bad.len())].to_vec();
            bad.splice(start..start, c);
        }
        4 if chunks > 1 => {
            let i = pick % (chunks - 1);
            let a = HEADER_LEN + i * chunk;
            let b = a + chunk;
            let first = bad[a..b].to_vec();
            let second = bad[b..(b + chunk).min(bad.len())].to_vec();
            bad.splice(a..(b + second.len()), second.into_iter().chain(first));
        }
        _ => bad.push(param),
    }
    assert_ne!(bad, ct, "mutation {} left the stream unchanged", mode % 6);
    assert!(
        decrypt_both(&key, b"ctx", &bad).is_none(),
        "mutated stream accepted (mutation {})",
        mode % 6
    );
});

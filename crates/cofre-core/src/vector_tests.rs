//! The format test vectors in `docs/vectors/` (docs/FORMAT.md, section 11).
//!
//! One test, two modes:
//! - `cargo test -p cofre-core vector_tests` (check): every stored input is read back
//!   through the public API (positive vectors open, unwrap or verify to the stored
//!   values; negative vectors are rejected with the stored error class), every file is
//!   regenerated in memory and must equal the stored file byte for byte, and fresh
//!   randomized outputs (RSA-OAEP, RSA-PSS) are checked for layout.
//! - `COFRE_WRITE_VECTORS=1 cargo test -p cofre-core vector_tests` (write): the files
//!   are (re)written first, then checked as above.
//!
//! Deterministic outputs (sealed boxes, streams, key hierarchy) use fixed keys, IVs and
//! nonces through the `pub(crate)` hooks `SealedBox::seal_with_iv`,
//! `stream::Encryptor::with_nonce` and `Encryptor::seal_at_with_iv`. RSA-OAEP and
//! RSA-PSS are randomized: the RSA key in `rsa_key.json` and every stored OAEP
//! ciphertext and PSS signature are kept across regenerations as long as they still
//! unwrap or verify (and a new one is made only when one is missing), so rewriting
//! the files changes nothing unless the format changed.
//!
//! Besides exercising the code, the builders re-derive the expected bytes from the
//! primitives exactly as docs/FORMAT.md describes (MAC inputs, HKDF inputs, chunk
//! layout) and assert that the code agrees, so the specification itself is tested.

use std::path::PathBuf;

use aws_lc_rs::signature::{
    RSA_PSS_2048_8192_SHA256, RSA_PSS_SHA256, RsaKeyPair, RsaParameters, RsaPssSaltLength,
    RsaSignatureEncoding, UnparsedPublicKey,
};
use serde_json::{Value, json};

use crate::format::{SealedBox, Signature, WrappedKey, stream};
use crate::keys::{
    AccountKeys, CONTEXT_ITEM_KEY_PREFIX, CONTEXT_PRIVATE_KEY, CONTEXT_USER_KEY_PASSWORD,
    CONTEXT_USER_KEY_RECOVERY, ItemKey, KdfParams, KdfSalt, LABEL_AUTH, LABEL_ENC, LABEL_MAC,
    LABEL_RECOVERY, MasterKey, RecoveryKey, UnlockedKeys,
};
use crate::primitives::aes_cbc::Aes256CbcKey;
use crate::primitives::hkdf;
use crate::primitives::hmac::HmacKey;
use crate::primitives::rsa::{PrivateKey, PublicKey};
use crate::secret::{Password, SymmetricKey};
use crate::vault::{ItemKind, ItemMetadata, MAX_METADATA_LEN, body_context, metadata_context};
use crate::{Error, Result};

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/vectors")
}

fn hex(b: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(b)
}

fn unhex(v: &Value) -> Vec<u8> {
    data_encoding::HEXLOWER
        .decode(v.as_str().expect("hex string").as_bytes())
        .expect("lowercase hex")
}

fn s(v: &Value) -> &str {
    v.as_str().expect("string")
}

fn b64(b: &[u8]) -> String {
    crate::format::text::encode(b)
}

/// Deterministic filler: byte `i` is `(i·31 + seed) mod 256`.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn fixed<const N: usize>(seed: u8) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&pattern(N, seed));
    a
}

fn key(seed: u8) -> SymmetricKey {
    SymmetricKey::from_slice(&pattern(64, seed)).expect("64 bytes")
}

fn u32be(n: usize) -> [u8; 4] {
    u32::try_from(n).expect("fits u32").to_be_bytes()
}

/// The error class a negative vector names (FORMAT.md, section 2.3).
fn class(e: &Error) -> &'static str {
    match e {
        Error::Decrypt => "decrypt",
        Error::KeyMismatch => "key_mismatch",
        Error::BadSignature => "bad_signature",
        Error::Malformed { .. } => "malformed",
        Error::Unsupported { .. } => "unsupported",
        Error::KdfParams(_) => "kdf_params",
        Error::InvalidKey(_) => "invalid_key",
        _ => "other",
    }
}

/// A negative vector: `fields` plus its description, `"expect": "reject"` and the
/// error class cofre reports.
fn reject(description: &str, error: &str, fields: Value) -> Value {
    let mut v = fields;
    let obj = v.as_object_mut().expect("object");
    obj.insert("description".into(), description.into());
    obj.insert("expect".into(), "reject".into());
    obj.insert("error".into(), error.into());
    v
}

fn assert_rejected<T>(n: &Value, r: Result<T>) {
    match r {
        Ok(_) => panic!("negative vector accepted: {}", n["description"]),
        Err(e) => assert_eq!(
            class(&e),
            s(&n["error"]),
            "negative vector {}: {e}",
            n["description"]
        ),
    }
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(dir().join(name))
        .unwrap_or_else(|e| panic!("docs/vectors/{name}: {e}"));
    serde_json::from_str(&text).expect("json")
}

fn load_opt(name: &str) -> Option<Value> {
    let text = std::fs::read_to_string(dir().join(name)).ok()?;
    serde_json::from_str(&text).ok()
}

fn render(v: &Value) -> String {
    let mut text = serde_json::to_string_pretty(v).expect("json");
    text.push('\n');
    text
}

/// The stored hex field `field` of the entry of `list` whose description is `desc`, in
/// the previous version of a file: how randomized outputs survive regeneration.
fn previous(prev: Option<&Value>, list: &str, desc: &str, field: &str) -> Option<Vec<u8>> {
    prev?[list]
        .as_array()?
        .iter()
        .find(|e| e["description"] == desc)
        .map(|e| unhex(&e[field]))
}

/// The 64 stream key bytes, derived as FORMAT.md section 8.2 says.
fn stream_okm(k: &SymmetricKey, header: &[u8], ctx: &[u8]) -> [u8; 64] {
    let mut okm = [0u8; 64];
    hkdf::derive(
        k.expose(),
        &header[4..20],
        &[&stream_info(header, ctx)],
        &mut okm,
    )
    .expect("hkdf");
    okm
}

fn stream_info(header: &[u8], ctx: &[u8]) -> Vec<u8> {
    [stream::KDF_LABEL, header, ctx].concat()
}

/// One chunk built from the primitives as FORMAT.md section 8.3 says, with no check
/// of the plaintext length (so negative vectors can break the chunking rules).
fn raw_chunk(okm: &[u8; 64], index: u64, last: bool, iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    let mut ct = plain.to_vec();
    Aes256CbcKey::new(&okm[..32])
        .expect("aes key")
        .encrypt(iv, &mut ct)
        .expect("cbc");
    let tag = HmacKey::new(&okm[32..]).sign(&[&index.to_be_bytes(), &[u8::from(last)], iv, &ct]);
    [&iv[..], &ct, &tag].concat()
}

/// A chunk of arbitrary bytes after the IV, with a valid tag: for negative vectors
/// that break the chunk layout itself.
fn tagged_chunk(okm: &[u8; 64], index: u64, last: bool, iv: &[u8; 16], ct: &[u8]) -> Vec<u8> {
    let tag = HmacKey::new(&okm[32..]).sign(&[&index.to_be_bytes(), &[u8::from(last)], iv, ct]);
    [&iv[..], ct, &tag].concat()
}

/// HKDF-SHA256 with an empty salt (FORMAT.md section 9.3).
fn hkdf_nosalt<const N: usize>(ikm: &[u8], info: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    hkdf::derive(ikm, &[], &[info], &mut out).expect("hkdf");
    out
}

// ---------------------------------------------------------------------------------
// sealed_box.json
// ---------------------------------------------------------------------------------

const SB_CTX: &[u8] = b"cofre/v1/test";

fn sealed_box_file() -> Value {
    let k = key(0x01);
    let mut cases = Vec::new();
    let inputs: [(&str, Vec<u8>, &[u8]); 6] = [
        ("empty plaintext: one block of padding", Vec::new(), SB_CTX),
        ("one byte", vec![0x61], SB_CTX),
        ("15 bytes: one byte of padding", pattern(15, 3), SB_CTX),
        (
            "16 bytes: a whole block of padding follows",
            pattern(16, 3),
            b"cofre/v1/item/0001/meta",
        ),
        ("100 bytes, empty context", pattern(100, 9), b""),
        (
            "UTF-8 context",
            b"ol\xc3\xa1".to_vec(),
            "cofre/v1/caf\u{e9}".as_bytes(),
        ),
    ];
    for (i, (name, pt, ctx)) in inputs.into_iter().enumerate() {
        let iv = fixed::<16>(0x10 + i as u8);
        let b = SealedBox::seal_with_iv(&k, ctx, &pt, &iv).expect("seal");
        let bytes = b.as_bytes();
        let (body, tag) = bytes.split_at(bytes.len() - 32);
        let ct = &body[19..];
        // The specification's construction, from the primitives.
        let mut expect_ct = pt.clone();
        Aes256CbcKey::new(&k.expose()[..32])
            .expect("aes")
            .encrypt(&iv, &mut expect_ct)
            .expect("cbc");
        assert_eq!(ct, expect_ct.as_slice(), "{name}: ciphertext");
        let mac_input = [&bytes[..3], &u32be(ctx.len()), ctx, &iv, ct].concat();
        assert_eq!(
            HmacKey::new(&k.expose()[32..]).sign(&[&mac_input]),
            tag,
            "{name}: tag"
        );
        cases.push(json!({
            "description": name, "key": hex(k.expose()), "context": hex(ctx),
            "iv": hex(&iv), "plaintext": hex(&pt), "ciphertext": hex(ct),
            "mac_input": hex(&mac_input), "tag": hex(tag),
            "encoding": hex(bytes), "text": b.to_text(),
        }));
    }

    // Negative vectors around one good box of 83 bytes (two ciphertext blocks).
    let good =
        SealedBox::seal_with_iv(&k, SB_CTX, b"attack at dawn, 6 am", &fixed(0x05)).expect("seal");
    let g = good.as_bytes().to_vec();
    let n = g.len();
    let flip = |i: usize| {
        let mut b = g.clone();
        b[i] ^= 0x01;
        b
    };
    let with = |bytes: &[u8]| json!({"key": hex(k.expose()), "context": hex(SB_CTX), "encoding": hex(bytes)});
    // A box whose tag is valid but whose padding is not: the ciphertext of 16 zero
    // bytes without its padding block, MACed with the right key.
    let bad_padding = {
        let iv = fixed::<16>(0x06);
        let mut ct = vec![0u8; 16];
        Aes256CbcKey::new(&k.expose()[..32])
            .expect("aes")
            .encrypt(&iv, &mut ct)
            .expect("cbc");
        ct.truncate(16);
        let header = [0x01, 0x01, 0x01];
        let tag = HmacKey::new(&k.expose()[32..]).sign(&[
            &header,
            &u32be(SB_CTX.len()),
            SB_CTX,
            &iv,
            &ct,
        ]);
        [&header[..], &iv, &ct, &tag].concat()
    };
    let mut swapped_halves = k.expose()[32..].to_vec();
    swapped_halves.extend_from_slice(&k.expose()[..32]);
    let negative = vec![
        reject(
            "format type 0x02",
            "unsupported",
            with(&[&[0x02][..], &g[1..]].concat()),
        ),
        reject(
            "version 0x02",
            "unsupported",
            with(&[&[0x01, 0x02][..], &g[2..]].concat()),
        ),
        reject(
            "algorithm 0x02",
            "unsupported",
            with(&[&[0x01, 0x01, 0x02][..], &g[3..]].concat()),
        ),
        reject("IV bit flipped", "decrypt", with(&flip(3))),
        reject("first ciphertext bit flipped", "decrypt", with(&flip(19))),
        reject(
            "last ciphertext bit flipped",
            "decrypt",
            with(&flip(n - 33)),
        ),
        reject("tag bit flipped", "decrypt", with(&flip(n - 1))),
        reject(
            "first ciphertext block dropped",
            "decrypt",
            with(&[&g[..19], &g[35..]].concat()),
        ),
        reject("tag truncated by one byte", "malformed", with(&g[..n - 1])),
        reject(
            "one byte appended",
            "malformed",
            with(&[&g[..], &[0][..]].concat()),
        ),
        reject(
            "no ciphertext block (51 bytes)",
            "malformed",
            with(&[&g[..19], &g[n - 32..]].concat()),
        ),
        reject(
            "66 bytes: one short of the minimum",
            "malformed",
            with(&[&g[..35], &g[n - 31..]].concat()),
        ),
        reject("header only", "malformed", with(&g[..3])),
        reject("two bytes", "malformed", with(&g[..2])),
        reject("empty", "malformed", with(&[])),
        reject(
            "valid tag, invalid PKCS#7 padding",
            "decrypt",
            with(&bad_padding),
        ),
        reject(
            "wrong context",
            "decrypt",
            json!({"key": hex(k.expose()), "context": hex(b"cofre/v1/tesT"), "encoding": hex(&g)}),
        ),
        reject(
            "empty context instead of the right one",
            "decrypt",
            json!({"key": hex(k.expose()), "context": "", "encoding": hex(&g)}),
        ),
        reject(
            "wrong key",
            "decrypt",
            json!({"key": hex(key(0x02).expose()), "context": hex(SB_CTX), "encoding": hex(&g)}),
        ),
        reject(
            "key halves swapped (mac || enc)",
            "decrypt",
            json!({"key": hex(&swapped_halves), "context": hex(SB_CTX), "encoding": hex(&g)}),
        ),
    ];

    // Text forms that a strict decoder refuses (FORMAT.md section 10).
    let t = good.to_text();
    assert_eq!(t.len() % 4, 3, "the good box's text has 2 trailing bits");
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = t.as_bytes()[t.len() - 1];
    let pos = alphabet.iter().position(|&c| c == last).expect("alphabet");
    let trailing = format!("{}{}", &t[..t.len() - 1], alphabet[pos ^ 1] as char);
    let standard = if t.contains('-') {
        t.replacen('-', "+", 1)
    } else {
        t.replacen('_', "/", 1)
    };
    assert_ne!(standard, t);
    let text_negative = vec![
        reject(
            "padding '=' appended",
            "malformed",
            json!({"text": format!("{t}=")}),
        ),
        reject(
            "non-zero trailing bits in the last character",
            "malformed",
            json!({"text": trailing}),
        ),
        reject(
            "standard base64 alphabet ('+' or '/')",
            "malformed",
            json!({"text": standard}),
        ),
        reject(
            "a line break inside",
            "malformed",
            json!({"text": format!("{}\n{}", &t[..40], &t[40..])}),
        ),
        reject(
            "a space at the end",
            "malformed",
            json!({"text": format!("{t} ")}),
        ),
        reject(
            "two characters removed: a length of 4k + 1 is impossible",
            "malformed",
            json!({"text": &t[..t.len() - 2]}),
        ),
    ];
    json!({
        "description": "Sealed box: AES-256-CBC + PKCS#7 then HMAC-SHA256 over header, context length, context, IV and ciphertext. Keys, IVs and plaintexts are fixed; every byte is reproduced by the code.",
        "format": "docs/FORMAT.md, section 5 (Sealed box); text form: section 10",
        "cases": cases,
        "good_text": t,
        "negative": negative,
        "text_negative": text_negative,
    })
}

fn read_sealed_box(v: &Value) {
    for c in v["cases"].as_array().expect("cases") {
        let k = SymmetricKey::from_slice(&unhex(&c["key"])).expect("key");
        let b = SealedBox::from_bytes(&unhex(&c["encoding"])).expect("parses");
        assert_eq!(SealedBox::from_text(s(&c["text"])).expect("text"), b);
        assert_eq!(b.to_text(), s(&c["text"]));
        let opened = b.open(&k, &unhex(&c["context"])).expect("opens");
        assert_eq!(opened.expose(), unhex(&c["plaintext"]).as_slice());
    }
    for n in v["negative"].as_array().expect("negative") {
        let k = SymmetricKey::from_slice(&unhex(&n["key"])).expect("key");
        let r = SealedBox::from_bytes(&unhex(&n["encoding"]))
            .and_then(|b| b.open(&k, &unhex(&n["context"])));
        assert_rejected(n, r);
    }
    SealedBox::from_text(s(&v["good_text"])).expect("the good text parses");
    for n in v["text_negative"].as_array().expect("text_negative") {
        assert_rejected(n, SealedBox::from_text(s(&n["text"])));
    }
}

// ---------------------------------------------------------------------------------
// stream.json
// ---------------------------------------------------------------------------------

const ST_LOG2: u8 = 10;
const ST_CTX: &[u8] = b"cofre/v1/test-stream";

/// A stream with a fixed nonce and fixed chunk IVs (`iv_seed + i` for chunk `i`),
/// made by the code; every chunk is also rebuilt from the primitives and compared.
fn fixed_stream(
    k: &SymmetricKey,
    ctx: &[u8],
    nonce: &[u8; 16],
    plain: &[u8],
    iv_seed: u8,
) -> (Vec<u8>, Vec<Value>) {
    let enc = stream::Encryptor::with_nonce(k, ctx, ST_LOG2, nonce).expect("encryptor");
    let okm = stream_okm(k, enc.header(), ctx);
    let mut out = enc.header().to_vec();
    let mut chunks = Vec::new();
    let pieces: Vec<&[u8]> = if plain.is_empty() {
        vec![&[][..]]
    } else {
        plain.chunks(enc.chunk_size()).collect()
    };
    for (i, p) in pieces.iter().enumerate() {
        let last = i + 1 == pieces.len();
        let iv = fixed::<16>(iv_seed.wrapping_add(i as u8));
        let c = enc
            .seal_at_with_iv(i as u64, p, last, &iv)
            .expect("seal chunk");
        assert_eq!(c, raw_chunk(&okm, i as u64, last, &iv, p), "chunk {i}");
        chunks.push(json!({
            "index": i, "last": last, "iv": hex(&iv), "plaintext_len": p.len(),
            "encoded_len": c.len(), "tag": hex(&c[c.len() - 32..]),
        }));
        out.extend(c);
    }
    assert_eq!(
        out.len() as u64,
        stream::encrypted_len(plain.len() as u64, ST_LOG2)
    );
    (out, chunks)
}

fn stream_file() -> Value {
    let c = 1usize << ST_LOG2;
    let k = key(0x07);
    let nonce = fixed::<16>(0x40);
    let mut cases = Vec::new();
    for (name, len) in [
        ("empty plaintext: one empty chunk", 0),
        ("one byte", 1),
        ("exactly one chunk (1024 bytes): one full last chunk", c),
        (
            "one chunk and one byte: a full chunk, then a 1-byte last chunk",
            c + 1,
        ),
        (
            "exactly two chunks: the last is full, no empty chunk follows",
            2 * c,
        ),
        ("three chunks, the last partial (2148 bytes)", 2 * c + 100),
    ] {
        let pt = pattern(len, 0x11);
        let (encoding, chunks) = fixed_stream(&k, ST_CTX, &nonce, &pt, 0x80);
        let header = &encoding[..20];
        let okm = stream_okm(&k, header, ST_CTX);
        cases.push(json!({
            "description": name, "key": hex(k.expose()), "context": hex(ST_CTX),
            "chunk_log2": ST_LOG2, "nonce": hex(&nonce), "header": hex(header),
            "hkdf_info": hex(&stream_info(header, ST_CTX)),
            "stream_enc_key": hex(&okm[..32]), "stream_mac_key": hex(&okm[32..]),
            "chunks": chunks, "plaintext": hex(&pt), "encoding": hex(&encoding),
        }));
    }

    // Negative vectors, mostly around one three-chunk stream.
    let (three, _) = fixed_stream(&k, ST_CTX, &nonce, &pattern(2 * c + 100, 0x22), 0x90);
    let full = c + stream::CHUNK_OVERHEAD;
    let h = stream::HEADER_LEN;
    let header = three[..h].to_vec();
    let chunk = |i: usize| three[h + i * full..(h + (i + 1) * full).min(three.len())].to_vec();
    let okm = stream_okm(&k, &header, ST_CTX);
    let neg = |d: &str, e: &str, bytes: &[u8]| {
        reject(
            d,
            e,
            json!({"key": hex(k.expose()), "context": hex(ST_CTX), "encoding": hex(bytes)}),
        )
    };
    let with_header_byte = |i: usize, b: u8| {
        let mut x = three.clone();
        x[i] = b;
        x
    };
    let flip = |i: usize| {
        let mut x = three.clone();
        x[i] ^= 0x01;
        x
    };
    let enc = stream::Encryptor::with_nonce(&k, ST_CTX, ST_LOG2, &nonce).expect("encryptor");
    let early_last = enc
        .seal_at_with_iv(0, &pattern(c, 0x22), true, &fixed(0x90))
        .expect("seal");
    let (other_stream, _) =
        fixed_stream(&k, ST_CTX, &fixed(0x41), &pattern(2 * c + 100, 0x22), 0x90);
    let other_chunk1 = other_stream[h + full..h + 2 * full].to_vec();
    let negative = vec![
        neg("empty input", "decrypt", &[]),
        neg("header truncated to 19 bytes", "decrypt", &header[..19]),
        neg("header only: no chunk", "decrypt", &header),
        neg(
            "format type 0x01",
            "unsupported",
            &with_header_byte(0, 0x01),
        ),
        neg("version 0x02", "unsupported", &with_header_byte(1, 0x02)),
        neg("algorithm 0x02", "unsupported", &with_header_byte(2, 0x02)),
        neg(
            "chunk size exponent 9 (below 10)",
            "unsupported",
            &with_header_byte(3, 9),
        ),
        neg(
            "chunk size exponent 21 (above 20)",
            "unsupported",
            &with_header_byte(3, 21),
        ),
        neg(
            "chunk size exponent 10 changed to 11: other keys",
            "decrypt",
            &with_header_byte(3, 11),
        ),
        neg("nonce bit flipped: other keys", "decrypt", &flip(19)),
        neg("chunk 0 IV bit flipped", "decrypt", &flip(h)),
        neg(
            "chunk 1 ciphertext bit flipped",
            "decrypt",
            &flip(h + full + 100),
        ),
        neg(
            "last chunk tag bit flipped",
            "decrypt",
            &flip(three.len() - 1),
        ),
        neg(
            "truncated at a chunk boundary: last chunk dropped",
            "decrypt",
            &[header.clone(), chunk(0), chunk(1)].concat(),
        ),
        neg(
            "truncated inside the last chunk (one byte short)",
            "decrypt",
            &three[..three.len() - 1],
        ),
        neg(
            "truncated inside the last chunk (16 bytes short)",
            "decrypt",
            &three[..three.len() - 16],
        ),
        neg(
            "truncated to the header and one byte",
            "decrypt",
            &three[..h + 1],
        ),
        neg(
            "chunks 0 and 1 swapped (reordered)",
            "decrypt",
            &[header.clone(), chunk(1), chunk(0), chunk(2)].concat(),
        ),
        neg(
            "chunk 1 dropped",
            "decrypt",
            &[header.clone(), chunk(0), chunk(2)].concat(),
        ),
        neg(
            "chunk 1 duplicated",
            "decrypt",
            &[header.clone(), chunk(0), chunk(1), chunk(1), chunk(2)].concat(),
        ),
        neg(
            "chunk 1 appended after the last chunk",
            "decrypt",
            &[three.clone(), chunk(1)].concat(),
        ),
        neg(
            "one byte appended",
            "decrypt",
            &[&three[..], &[0][..]].concat(),
        ),
        neg(
            "32 bytes appended",
            "decrypt",
            &[&three[..], &[0; 32][..]].concat(),
        ),
        neg(
            "chunk 1 taken from another stream (other nonce)",
            "decrypt",
            &[header.clone(), chunk(0), other_chunk1, chunk(2)].concat(),
        ),
        neg(
            "first chunk flagged last, more chunks follow",
            "decrypt",
            &[header.clone(), early_last, chunk(1), chunk(2)].concat(),
        ),
        neg(
            "valid tags, but an empty last chunk follows a full chunk",
            "decrypt",
            &[
                header.clone(),
                chunk(0),
                raw_chunk(&okm, 1, true, &fixed(0x91), &[]),
            ]
            .concat(),
        ),
        neg(
            "valid tag, but the last chunk holds 1039 bytes (more than the chunk size)",
            "decrypt",
            &[
                header.clone(),
                raw_chunk(&okm, 0, true, &fixed(0x90), &pattern(c + 15, 1)),
            ]
            .concat(),
        ),
        neg(
            "valid tags, but a non-last chunk holds 1039 bytes",
            "decrypt",
            &[
                header.clone(),
                raw_chunk(&okm, 0, false, &fixed(0x90), &pattern(c + 15, 1)),
                raw_chunk(&okm, 1, true, &fixed(0x91), b"x"),
            ]
            .concat(),
        ),
        neg(
            "valid tags, but a non-last chunk holds 100 bytes",
            "decrypt",
            &[
                header.clone(),
                raw_chunk(&okm, 0, false, &fixed(0x90), &pattern(100, 1)),
                raw_chunk(&okm, 1, true, &fixed(0x91), b"x"),
            ]
            .concat(),
        ),
        neg(
            "valid tag, but no ciphertext block (a 48-byte last chunk)",
            "decrypt",
            &[
                header.clone(),
                tagged_chunk(&okm, 0, true, &fixed(0x90), &[]),
            ]
            .concat(),
        ),
        neg(
            "valid tag, but a 20-byte ciphertext (not a multiple of 16)",
            "decrypt",
            &[
                header.clone(),
                tagged_chunk(&okm, 0, true, &fixed(0x90), &pattern(20, 1)),
            ]
            .concat(),
        ),
        reject(
            "wrong context",
            "decrypt",
            json!({"key": hex(k.expose()), "context": hex(b"cofre/v1/test-streaM"), "encoding": hex(&three)}),
        ),
        reject(
            "wrong key",
            "decrypt",
            json!({"key": hex(key(0x08).expose()), "context": hex(ST_CTX), "encoding": hex(&three)}),
        ),
    ];
    json!({
        "description": "Chunked stream (STREAM construction over AES-256-CBC + HMAC-SHA256) with 1 KiB chunks (chunk_log2 = 10). Key, context, nonce and chunk IVs are fixed; every byte is reproduced by the code. stream_enc_key and stream_mac_key are the HKDF output (section 8.2); chunks[i].tag is the last 32 bytes of chunk i.",
        "format": "docs/FORMAT.md, section 8 (Stream)",
        "cases": cases,
        "negative": negative,
    })
}

fn read_stream(v: &Value) {
    for c in v["cases"].as_array().expect("cases") {
        let k = SymmetricKey::from_slice(&unhex(&c["key"])).expect("key");
        let encoding = unhex(&c["encoding"]);
        let out = stream::decrypt_to_vec(&k, &unhex(&c["context"]), &encoding)
            .unwrap_or_else(|e| panic!("{}: {e}", c["description"]));
        assert_eq!(out, unhex(&c["plaintext"]), "{}", c["description"]);
        // Chunk by chunk, through the incremental API, with the stored layout.
        let mut dec =
            stream::Decryptor::new(&k, &unhex(&c["context"]), &encoding[..20]).expect("header");
        let mut pos = 20;
        let mut plain = Vec::new();
        for ch in c["chunks"].as_array().expect("chunks") {
            let len = ch["encoded_len"].as_u64().expect("len") as usize;
            let last = ch["last"].as_bool().expect("last");
            plain.extend(
                dec.open_next(&encoding[pos..pos + len], last)
                    .expect("chunk"),
            );
            pos += len;
        }
        assert_eq!(pos, encoding.len());
        dec.finish().expect("finished");
        assert_eq!(plain, out);
    }
    for n in v["negative"].as_array().expect("negative") {
        let k = SymmetricKey::from_slice(&unhex(&n["key"])).expect("key");
        let r = stream::decrypt_to_vec(&k, &unhex(&n["context"]), &unhex(&n["encoding"]));
        assert_rejected(n, r);
    }
}

// ---------------------------------------------------------------------------------
// rsa_key.json, wrapped_key.json, signature.json
// ---------------------------------------------------------------------------------

/// PSS with salt lengths other than 32, only to make negative vectors.
static PSS_SALT_0: RsaSignatureEncoding =
    RSA_PSS_SHA256.with_pss_salt_length(RsaPssSaltLength::Custom(0));
static PSS_SALT_64: RsaSignatureEncoding =
    RSA_PSS_SHA256.with_pss_salt_length(RsaPssSaltLength::Custom(64));
static VERIFY_SALT_0: RsaParameters =
    RSA_PSS_2048_8192_SHA256.with_pss_salt_length(RsaPssSaltLength::Custom(0));
static VERIFY_SALT_64: RsaParameters =
    RSA_PSS_2048_8192_SHA256.with_pss_salt_length(RsaPssSaltLength::Custom(64));

fn rsa_key_file(sk: &PrivateKey, prev: Option<&Value>) -> Value {
    let pk = sk.public_key();
    let spki = pk.to_spki();
    assert_eq!(
        &spki[..4],
        &[0x30, 0x82, 0x01, 0xa2],
        "SPKI of RSA-3072 starts 30 82 01 a2"
    );
    // Non-minimal DER length of the outer SEQUENCE: same key, not canonical.
    let long_form = [&[0x30, 0x83, 0x00, 0x01, 0xa2][..], &spki[4..]].concat();
    let small = previous(
        prev,
        "negative",
        "RSA-2048 public key (below 3072 bits)",
        "spki",
    )
    .filter(|b| PublicKey::from_spki_any_size(b).is_ok_and(|p| p.bits() == 2048))
    .unwrap_or_else(|| {
        let k = aws_lc_rs::rsa::PrivateDecryptingKey::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .expect("rsa-2048");
        let der: aws_lc_rs::encoding::PublicKeyX509Der<'static> =
            aws_lc_rs::encoding::AsDer::as_der(&k.public_key()).expect("der");
        der.as_ref().to_vec()
    });
    json!({
        "description": "The RSA-3072 key pair used by wrapped_key.json and signature.json (generated once by cofre and kept; public exponent 65537). fingerprint = SHA-256(SPKI DER), key_id = its first 16 bytes.",
        "format": "docs/FORMAT.md, section 4 (RSA keys)",
        "private_key_pkcs8": hex(&sk.to_pkcs8().expect("pkcs8")),
        "public_key_spki": hex(spki),
        "public_key_text": pk.to_text(),
        "modulus_bits": pk.bits(),
        "fingerprint": hex(&pk.fingerprint()),
        "key_id": hex(&pk.key_id()),
        "negative": [
            reject("SPKI with a non-minimal DER length", "invalid_key", json!({"spki": hex(&long_form)})),
            reject("RSA-2048 public key (below 3072 bits)", "invalid_key", json!({"spki": hex(&small)})),
            reject("SPKI with one trailing byte", "invalid_key", json!({"spki": hex(&[spki, &[0][..]].concat())})),
        ],
    })
}

fn read_rsa_key(v: &Value) -> PrivateKey {
    let sk = PrivateKey::from_pkcs8(&unhex(&v["private_key_pkcs8"])).expect("pkcs8");
    let pk = sk.public_key();
    assert_eq!(pk.to_spki(), unhex(&v["public_key_spki"]).as_slice());
    assert_eq!(
        &PublicKey::from_text(s(&v["public_key_text"])).expect("text"),
        pk
    );
    assert_eq!(pk.fingerprint().as_slice(), unhex(&v["fingerprint"]));
    assert_eq!(pk.key_id().as_slice(), unhex(&v["key_id"]));
    assert_eq!(Some(pk.bits() as u64), v["modulus_bits"].as_u64());
    for n in v["negative"].as_array().expect("negative") {
        assert_rejected(n, PublicKey::from_spki(&unhex(&n["spki"])));
    }
    sk
}

fn wrapped_key_file(sk: &PrivateKey, prev: Option<&Value>) -> Value {
    let pk = sk.public_key();
    let key_id = pk.key_id();
    let item_key = key(0x91);
    let mut cases = Vec::new();
    let mut first = Vec::new();
    for (desc, item_id) in [
        ("item id 0001", "0001"),
        ("UUID item id", "6f1c9e2a-4b3d-4e8f-9a0b-1c2d3e4f5a6b"),
    ] {
        let ctx = ItemKey::context(item_id);
        assert_eq!(ctx, [CONTEXT_ITEM_KEY_PREFIX, item_id.as_bytes()].concat());
        let label = [&[0x02, 0x01, 0x01][..], &key_id, &u32be(ctx.len()), &ctx].concat();
        // The specification's label: a raw OAEP decryption with it gives the key.
        let unwraps = |b: &Vec<u8>| {
            WrappedKey::from_bytes(b)
                .and_then(|w| ItemKey::unwrap(&w, sk, item_id))
                .is_ok_and(|k| k.key().expose() == item_key.expose())
                && sk
                    .oaep_decrypt(&b[19..], &label)
                    .is_ok_and(|p| p.expose() == item_key.expose())
        };
        let encoding = previous(prev, "cases", desc, "encoding")
            .filter(unwraps)
            .unwrap_or_else(|| {
                ItemKey::from_symmetric(item_key.clone())
                    .wrap_for(&[pk], item_id)
                    .expect("wrap")[0]
                    .as_bytes()
                    .to_vec()
            });
        assert!(unwraps(&encoding));
        if first.is_empty() {
            first = encoding.clone();
        }
        cases.push(json!({
            "description": desc, "item_id": item_id, "context": hex(&ctx),
            "label": hex(&label), "item_key": hex(item_key.expose()),
            "encoding": hex(&encoding), "text": b64(&encoding),
        }));
    }
    let ctx = ItemKey::context("0001");
    let label = [&[0x02, 0x01, 0x01][..], &key_id, &u32be(ctx.len()), &ctx].concat();
    let no_label = previous(
        prev,
        "negative",
        "OAEP without the label (empty label)",
        "encoding",
    )
    .filter(|b| {
        sk.oaep_decrypt(&b[19..], b"")
            .is_ok_and(|p| p.expose() == item_key.expose())
    })
    .unwrap_or_else(|| {
        let ct = pk.oaep_encrypt(item_key.expose(), b"").expect("oaep");
        [&first[..19], &ct].concat()
    });
    let short_key = previous(
        prev,
        "negative",
        "right label, but a 32-byte key inside",
        "encoding",
    )
    .filter(|b| {
        sk.oaep_decrypt(&b[19..], &label)
            .is_ok_and(|p| p.len() == 32)
    })
    .unwrap_or_else(|| {
        let ct = pk
            .oaep_encrypt(&item_key.expose()[..32], &label)
            .expect("oaep");
        [&first[..19], &ct].concat()
    });
    let flip = |i: usize| {
        let mut b = first.clone();
        b[i] ^= 0x01;
        b
    };
    let neg = |d: &str, e: &str, id: &str, b: &[u8]| {
        reject(d, e, json!({"item_id": id, "encoding": hex(b)}))
    };
    let negative = vec![
        neg(
            "unwrapped with another item id (another context)",
            "decrypt",
            "0002",
            &first,
        ),
        neg(
            "key id changed: wrapped for another key",
            "key_mismatch",
            "0001",
            &flip(3),
        ),
        neg("OAEP ciphertext bit flipped", "decrypt", "0001", &flip(200)),
        neg(
            "OAEP ciphertext first byte flipped",
            "decrypt",
            "0001",
            &flip(19),
        ),
        neg(
            "format type 0x03",
            "unsupported",
            "0001",
            &[&[0x03][..], &first[1..]].concat(),
        ),
        neg(
            "version 0x02",
            "unsupported",
            "0001",
            &[&[0x02, 0x02][..], &first[2..]].concat(),
        ),
        neg(
            "OAEP ciphertext truncated to 383 bytes",
            "malformed",
            "0001",
            &first[..first.len() - 1],
        ),
        neg("no OAEP ciphertext", "malformed", "0001", &first[..19]),
        neg("key id truncated", "malformed", "0001", &first[..10]),
        neg(
            "ciphertext of 512 bytes: an accepted size, not this key's",
            "decrypt",
            "0001",
            &[&first[..], &[0u8; 128][..]].concat(),
        ),
        neg(
            "ciphertext of 1025 bytes: above 8192 bits",
            "malformed",
            "0001",
            &[&first[..], &[0u8; 641][..]].concat(),
        ),
        neg(
            "OAEP without the label (empty label)",
            "decrypt",
            "0001",
            &no_label,
        ),
        neg(
            "right label, but a 32-byte key inside",
            "decrypt",
            "0001",
            &short_key,
        ),
    ];
    json!({
        "description": "Wrapped key: a 64-byte item key encrypted with RSA-OAEP (SHA-256, MGF1-SHA-256) to the key of rsa_key.json, label = header || key_id || u32be(len(context)) || context. OAEP is randomized: the stored ciphertexts are kept and must keep unwrapping; a fresh wrap differs.",
        "format": "docs/FORMAT.md, section 6 (Wrapped key)",
        "rsa_key": "rsa_key.json",
        "key_id": hex(&key_id),
        "cases": cases,
        "negative": negative,
    })
}

fn read_wrapped_key(v: &Value, sk: &PrivateKey) {
    for c in v["cases"].as_array().expect("cases") {
        let w = WrappedKey::from_text(s(&c["text"])).expect("text");
        assert_eq!(w.as_bytes(), unhex(&c["encoding"]).as_slice());
        assert_eq!(w.recipient_key_id().as_slice(), unhex(&v["key_id"]));
        let item = ItemKey::unwrap(&w, sk, s(&c["item_id"])).expect("stored wrapped key unwraps");
        assert_eq!(item.key().expose().as_slice(), unhex(&c["item_key"]));
        assert_eq!(ItemKey::context(s(&c["item_id"])), unhex(&c["context"]));
    }
    for n in v["negative"].as_array().expect("negative") {
        let r = WrappedKey::from_bytes(&unhex(&n["encoding"]))
            .and_then(|w| ItemKey::unwrap(&w, sk, s(&n["item_id"])));
        assert_rejected(n, r);
    }
}

fn pss_with(sk_pkcs8: &[u8], enc: &'static RsaSignatureEncoding, m: &[u8]) -> Vec<u8> {
    let kp = RsaKeyPair::from_pkcs8(sk_pkcs8).expect("pkcs8");
    let mut sig = vec![0u8; kp.public_modulus_len()];
    kp.sign(enc, &aws_lc_rs::rand::SystemRandom::new(), m, &mut sig)
        .expect("sign");
    sig
}

const SIG_CTX: &[u8] = b"cofre/v1/test-signature";
const SIG_MSG: &[u8] = b"signed message";

fn signature_file(sk: &PrivateKey, prev: Option<&Value>) -> Value {
    let pk = sk.public_key();
    let key_id = pk.key_id();
    let header = [0x03, 0x01, 0x01];
    let signed = |ctx: &[u8], m: &[u8]| [&header[..], &key_id, &u32be(ctx.len()), ctx, m].concat();
    let mut cases = Vec::new();
    let mut first = Vec::new();
    for (desc, ctx, msg) in [
        ("context and message", SIG_CTX, SIG_MSG),
        ("empty context, empty message", &b""[..], &b""[..]),
    ] {
        let m = signed(ctx, msg);
        // The specification's signed message: a raw PSS verification of it succeeds.
        let verifies = |b: &Vec<u8>| {
            Signature::from_bytes(b).is_ok_and(|sig| sig.verify(pk, ctx, msg).is_ok())
                && pk.pss_verify(&m, &b[19..]).is_ok()
        };
        let encoding = previous(prev, "cases", desc, "encoding")
            .filter(verifies)
            .unwrap_or_else(|| {
                Signature::sign(sk, ctx, msg)
                    .expect("sign")
                    .as_bytes()
                    .to_vec()
            });
        assert!(verifies(&encoding));
        if first.is_empty() {
            first = encoding.clone();
        }
        cases.push(json!({
            "description": desc, "context": hex(ctx), "message": hex(msg),
            "signed_message": hex(&m), "encoding": hex(&encoding), "text": b64(&encoding),
        }));
    }
    let pkcs8 = sk.to_pkcs8().expect("pkcs8");
    let m = signed(SIG_CTX, SIG_MSG);
    let odd_salt = |desc: &str, enc: &'static RsaSignatureEncoding, ver: &'static RsaParameters| {
        previous(prev, "negative", desc, "encoding")
            .filter(|b| {
                UnparsedPublicKey::new(ver, pk.to_spki())
                    .verify(&m, &b[19..])
                    .is_ok()
            })
            .unwrap_or_else(|| [&first[..19], &pss_with(&pkcs8, enc, &m)].concat())
    };
    let salt0 = odd_salt(
        "PSS salt length 0 instead of 32",
        &PSS_SALT_0,
        &VERIFY_SALT_0,
    );
    let salt64 = odd_salt(
        "PSS salt length 64 instead of 32",
        &PSS_SALT_64,
        &VERIFY_SALT_64,
    );
    let flip = |i: usize| {
        let mut b = first.clone();
        b[i] ^= 0x01;
        b
    };
    let neg = |d: &str, e: &str, ctx: &[u8], msg: &[u8], b: &[u8]| {
        reject(
            d,
            e,
            json!({"context": hex(ctx), "message": hex(msg), "encoding": hex(b)}),
        )
    };
    let negative = vec![
        neg(
            "signature last byte flipped",
            "bad_signature",
            SIG_CTX,
            SIG_MSG,
            &flip(first.len() - 1),
        ),
        neg(
            "signature first byte flipped",
            "bad_signature",
            SIG_CTX,
            SIG_MSG,
            &flip(19),
        ),
        neg(
            "another message",
            "bad_signature",
            SIG_CTX,
            b"signed messagE",
            &first,
        ),
        neg(
            "another context",
            "bad_signature",
            b"cofre/v1/test-signaturE",
            SIG_MSG,
            &first,
        ),
        neg(
            "bytes moved from the message to the context",
            "bad_signature",
            b"cofre/v1/test-signaturesigned",
            b" message",
            &first,
        ),
        neg(
            "key id changed",
            "bad_signature",
            SIG_CTX,
            SIG_MSG,
            &flip(3),
        ),
        neg(
            "format type 0x02",
            "unsupported",
            SIG_CTX,
            SIG_MSG,
            &[&[0x02][..], &first[1..]].concat(),
        ),
        neg(
            "algorithm 0x02",
            "unsupported",
            SIG_CTX,
            SIG_MSG,
            &[&[0x03, 0x01, 0x02][..], &first[3..]].concat(),
        ),
        neg(
            "signature truncated to 383 bytes",
            "malformed",
            SIG_CTX,
            SIG_MSG,
            &first[..first.len() - 1],
        ),
        neg(
            "signature of 385 bytes (one zero byte prepended)",
            "bad_signature",
            SIG_CTX,
            SIG_MSG,
            &[&first[..19], &[0][..], &first[19..]].concat(),
        ),
        neg(
            "PSS salt length 0 instead of 32",
            "bad_signature",
            SIG_CTX,
            SIG_MSG,
            &salt0,
        ),
        neg(
            "PSS salt length 64 instead of 32",
            "bad_signature",
            SIG_CTX,
            SIG_MSG,
            &salt64,
        ),
    ];
    json!({
        "description": "Signature: RSA-PSS (SHA-256, MGF1-SHA-256, salt length 32) by the key of rsa_key.json over header || key_id || u32be(len(context)) || context || message. PSS is randomized: the stored signatures are kept and must keep verifying; a fresh signature differs.",
        "format": "docs/FORMAT.md, section 7 (Signature)",
        "rsa_key": "rsa_key.json",
        "key_id": hex(&key_id),
        "cases": cases,
        "negative": negative,
    })
}

fn read_signature(v: &Value, sk: &PrivateKey) {
    let pk = sk.public_key();
    for c in v["cases"].as_array().expect("cases") {
        let sig = Signature::from_text(s(&c["text"])).expect("text");
        assert_eq!(sig.as_bytes(), unhex(&c["encoding"]).as_slice());
        assert_eq!(sig.signer_key_id().as_slice(), unhex(&v["key_id"]));
        sig.verify(pk, &unhex(&c["context"]), &unhex(&c["message"]))
            .expect("stored signature verifies");
    }
    for n in v["negative"].as_array().expect("negative") {
        let r = Signature::from_bytes(&unhex(&n["encoding"]))
            .and_then(|sig| sig.verify(pk, &unhex(&n["context"]), &unhex(&n["message"])));
        assert_rejected(n, r);
    }
}

/// RSA-OAEP and RSA-PSS are randomized: a wrap and a signature made now must also
/// unwrap and verify, and have the stored layout (same header, key id and length).
fn fresh_rsa_outputs(sk: &PrivateKey, wrapped: &Value, sigs: &Value) {
    let c = &wrapped["cases"][0];
    let stored = unhex(&c["encoding"]);
    let item =
        ItemKey::from_symmetric(SymmetricKey::from_slice(&unhex(&c["item_key"])).expect("key"));
    let fresh = &item
        .wrap_for(&[sk.public_key()], s(&c["item_id"]))
        .expect("wrap")[0];
    assert_eq!(fresh.as_bytes()[..19], stored[..19]);
    assert_eq!(fresh.as_bytes().len(), stored.len());
    assert_ne!(fresh.as_bytes(), stored.as_slice(), "OAEP is randomized");
    let back = ItemKey::unwrap(fresh, sk, s(&c["item_id"])).expect("fresh wrap unwraps");
    assert_eq!(back.key().expose().as_slice(), unhex(&c["item_key"]));

    let c = &sigs["cases"][0];
    let stored = unhex(&c["encoding"]);
    let (ctx, msg) = (unhex(&c["context"]), unhex(&c["message"]));
    let fresh = Signature::sign(sk, &ctx, &msg).expect("sign");
    assert_eq!(fresh.as_bytes()[..19], stored[..19]);
    assert_eq!(fresh.as_bytes().len(), stored.len());
    assert_ne!(fresh.as_bytes(), stored.as_slice(), "PSS is randomized");
    fresh
        .verify(sk.public_key(), &ctx, &msg)
        .expect("fresh signature verifies");
    sk.public_key()
        .pss_verify(&unhex(&c["signed_message"]), &fresh.as_bytes()[19..])
        .expect("fresh signature is over the specified signed message");
}

// ---------------------------------------------------------------------------------
// key_hierarchy.json
// ---------------------------------------------------------------------------------

/// Typed with a decomposed "é" (e + U+0301): NFC composes it to U+00E9.
const PASSWORD_TYPED: &str = "correct horse battery staple cafe\u{301}";
const USER_KEY_SEED: u8 = 0x31;

fn key_hierarchy_file(sk: &PrivateKey) -> Value {
    let salt = KdfSalt(fixed(0x21));
    let user_key = key(USER_KEY_SEED);
    let password = Password::new(PASSWORD_TYPED);
    assert_eq!(
        password.as_bytes(),
        "correct horse battery staple caf\u{e9}".as_bytes()
    );
    let mut cases = Vec::new();
    let mut argon_protected = None;
    for (desc, params) in [
        (
            "Argon2id, the smallest accepted parameters",
            KdfParams::Argon2id {
                memory_kib: 19 * 1024,
                iterations: 2,
                parallelism: 1,
            },
        ),
        (
            "PBKDF2-HMAC-SHA256, the smallest accepted iteration count",
            KdfParams::Pbkdf2Sha256 {
                iterations: 600_000,
            },
        ),
    ] {
        let master = MasterKey::derive(&password, &salt, &params).expect("kdf");
        let auth = hkdf_nosalt::<32>(master.expose(), LABEL_AUTH);
        let auth_text = master.auth_key().expect("auth").to_text();
        assert_eq!(*auth_text, b64(&auth));
        let stretched = master.stretched_key().expect("stretch");
        let enc = hkdf_nosalt::<32>(master.expose(), LABEL_ENC);
        let mac = hkdf_nosalt::<32>(master.expose(), LABEL_MAC);
        assert_eq!(stretched.expose().as_slice(), [enc, mac].concat());
        let iv = fixed::<16>(0x51);
        let protected = SealedBox::seal_with_iv(
            &stretched,
            CONTEXT_USER_KEY_PASSWORD,
            user_key.expose(),
            &iv,
        )
        .expect("seal");
        if argon_protected.is_none() {
            argon_protected = Some((params.clone(), protected.clone()));
        }
        cases.push(json!({
            "description": desc,
            "password_typed": PASSWORD_TYPED, "password_typed_hex": hex(PASSWORD_TYPED.as_bytes()),
            "password_nfc_hex": hex(password.as_bytes()),
            "salt": hex(salt.as_bytes()), "salt_text": salt.to_text(),
            "kdf": params, "kdf_json": serde_json::to_string(&params).expect("json"),
            "master_key": hex(master.expose()),
            "auth_key": hex(&auth), "auth_key_text": *auth_text,
            "stretched_enc_key": hex(&enc), "stretched_mac_key": hex(&mac),
            "stretched_key": hex(stretched.expose()),
            "user_key": hex(user_key.expose()), "iv": hex(&iv),
            "context": hex(CONTEXT_USER_KEY_PASSWORD),
            "protected_user_key": hex(protected.as_bytes()),
            "protected_user_key_text": protected.to_text(),
        }));
    }

    let raw = fixed::<32>(0x61);
    let recovery = RecoveryKey::from_bytes(&raw);
    let display = recovery.to_display();
    let wrapping = recovery.wrapping_key().expect("recovery wrapping key");
    assert_eq!(
        wrapping.expose().as_slice(),
        hkdf_nosalt::<64>(&raw, LABEL_RECOVERY)
    );
    let riv = fixed::<16>(0x71);
    let recovery_user_key = SealedBox::seal_with_iv(
        &wrapping,
        CONTEXT_USER_KEY_RECOVERY,
        user_key.expose(),
        &riv,
    )
    .expect("seal");
    let compact: String = display.chars().filter(|&c| c != '-').collect();
    let typed = [
        display.to_lowercase(),
        display.replace('-', " "),
        compact.clone(),
        format!(" {}\t\n", display.to_lowercase().replace('-', "  ")),
    ];
    let last = compact.chars().last().expect("52 chars");
    assert!(last == 'A' || last == 'Q', "4 trailing zero bits");
    let bad_trailing = format!("{}{}", &compact[..51], if last == 'A' { 'B' } else { 'R' });
    let recovery_negative = vec![
        reject(
            "51 characters",
            "invalid_key",
            json!({"text": &compact[..51]}),
        ),
        reject(
            "53 characters",
            "invalid_key",
            json!({"text": format!("{compact}A")}),
        ),
        reject(
            "56 characters: decodes to 35 bytes",
            "invalid_key",
            json!({"text": format!("{compact}AAAA")}),
        ),
        reject(
            "non-zero trailing bits in the last character",
            "invalid_key",
            json!({"text": bad_trailing}),
        ),
        reject(
            "digit 1 (not in the base32 alphabet)",
            "invalid_key",
            json!({"text": format!("1{}", &compact[1..])}),
        ),
        reject(
            "padding '='",
            "invalid_key",
            json!({"text": format!("{compact}====")}),
        ),
    ];

    let iv_pk = fixed::<16>(0x81);
    let pkcs8 = sk.to_pkcs8().expect("pkcs8");
    let protected_private =
        SealedBox::seal_with_iv(&user_key, CONTEXT_PRIVATE_KEY, &pkcs8, &iv_pk).expect("seal");
    let (kdf, protected_user_key) = argon_protected.expect("argon2 case");
    let account = AccountKeys {
        kdf,
        salt,
        protected_user_key,
        recovery_user_key: recovery_user_key.clone(),
        public_key: sk.public_key().clone(),
        protected_private_key: protected_private.clone(),
    };

    let kdf_bad = |d: &str, e: &str, j: &str| reject(d, e, json!({"kdf_json": j}));
    let kdf_negative = vec![
        kdf_bad(
            "Argon2id memory 19455 KiB",
            "kdf_params",
            r#"{"alg":"argon2id","memory_kib":19455,"iterations":2,"parallelism":1}"#,
        ),
        kdf_bad(
            "Argon2id memory 2097153 KiB",
            "kdf_params",
            r#"{"alg":"argon2id","memory_kib":2097153,"iterations":2,"parallelism":1}"#,
        ),
        kdf_bad(
            "Argon2id 1 iteration",
            "kdf_params",
            r#"{"alg":"argon2id","memory_kib":19456,"iterations":1,"parallelism":1}"#,
        ),
        kdf_bad(
            "Argon2id 65 iterations",
            "kdf_params",
            r#"{"alg":"argon2id","memory_kib":19456,"iterations":65,"parallelism":1}"#,
        ),
        kdf_bad(
            "Argon2id parallelism 0",
            "kdf_params",
            r#"{"alg":"argon2id","memory_kib":19456,"iterations":2,"parallelism":0}"#,
        ),
        kdf_bad(
            "Argon2id parallelism 17",
            "kdf_params",
            r#"{"alg":"argon2id","memory_kib":19456,"iterations":2,"parallelism":17}"#,
        ),
        kdf_bad(
            "PBKDF2 599999 iterations",
            "kdf_params",
            r#"{"alg":"pbkdf2_sha256","iterations":599999}"#,
        ),
        kdf_bad(
            "PBKDF2 20000001 iterations",
            "kdf_params",
            r#"{"alg":"pbkdf2_sha256","iterations":20000001}"#,
        ),
        kdf_bad(
            "unknown algorithm",
            "json",
            r#"{"alg":"scrypt","iterations":600000}"#,
        ),
        kdf_bad(
            "algorithm name in another case",
            "json",
            r#"{"alg":"Argon2id","memory_kib":19456,"iterations":2,"parallelism":1}"#,
        ),
        kdf_bad(
            "unknown field",
            "json",
            r#"{"alg":"pbkdf2_sha256","iterations":600000,"salt":"AAAA"}"#,
        ),
        kdf_bad(
            "missing field",
            "json",
            r#"{"alg":"argon2id","memory_kib":19456,"iterations":2}"#,
        ),
        kdf_bad("missing alg", "json", r#"{"iterations":600000}"#),
        kdf_bad(
            "duplicate field",
            "json",
            r#"{"alg":"pbkdf2_sha256","iterations":600000,"iterations":600001}"#,
        ),
        kdf_bad(
            "number with a fraction",
            "json",
            r#"{"alg":"pbkdf2_sha256","iterations":600000.0}"#,
        ),
        kdf_bad(
            "number as a string",
            "json",
            r#"{"alg":"pbkdf2_sha256","iterations":"600000"}"#,
        ),
        kdf_bad(
            "boolean instead of a number",
            "json",
            r#"{"alg":"pbkdf2_sha256","iterations":true}"#,
        ),
        kdf_bad(
            "negative number",
            "json",
            r#"{"alg":"pbkdf2_sha256","iterations":-600000}"#,
        ),
        kdf_bad(
            "above 2^32 - 1",
            "json",
            r#"{"alg":"pbkdf2_sha256","iterations":4294967296}"#,
        ),
    ];
    let kdf_positive = [
        r#"{"alg":"argon2id","memory_kib":262144,"iterations":3,"parallelism":4}"#,
        r#"{"alg":"argon2id","memory_kib":2097152,"iterations":64,"parallelism":16}"#,
        r#"{"parallelism":1,"iterations":2,"memory_kib":19456,"alg":"argon2id"}"#,
        r#"{"alg":"pbkdf2_sha256","iterations":20000000}"#,
    ];

    json!({
        "description": "Key hierarchy: NFC password, KDF (smallest accepted parameters, so tests are quick), master key, auth key, stretched key, the user key sealed under it and under the recovery key, the private key sealed under the user key, and the account JSON a server stores. Salt, IVs, user key and recovery key are fixed; every byte is reproduced by the code (the account uses the RSA key of rsa_key.json).",
        "format": "docs/FORMAT.md, section 9 (Key hierarchy)",
        "password_kdf": cases,
        "kdf_params_accepted": kdf_positive,
        "kdf_params_negative": kdf_negative,
        "recovery": {
            "recovery_key": hex(&raw), "display": *display, "typed_forms": typed,
            "wrapping_key": hex(wrapping.expose()), "user_key": hex(user_key.expose()),
            "iv": hex(&riv), "context": hex(CONTEXT_USER_KEY_RECOVERY),
            "recovery_user_key": hex(recovery_user_key.as_bytes()),
            "recovery_user_key_text": recovery_user_key.to_text(),
            "recovery_auth_key_text": *recovery.auth_key().expect("recovery auth key").to_text(),
        },
        "recovery_negative": recovery_negative,
        "private_key": {
            "rsa_key": "rsa_key.json",
            "user_key": hex(user_key.expose()), "iv": hex(&iv_pk),
            "context": hex(CONTEXT_PRIVATE_KEY),
            "protected_private_key": hex(protected_private.as_bytes()),
        },
        "account": {
            "password_typed": PASSWORD_TYPED,
            "recovery_display": *display,
            "account_keys": serde_json::to_value(&account).expect("json"),
        },
    })
}

fn read_key_hierarchy(v: &Value, sk: &PrivateKey) {
    for c in v["password_kdf"].as_array().expect("cases") {
        let params: KdfParams = serde_json::from_str(s(&c["kdf_json"])).expect("kdf json");
        assert_eq!(
            params,
            serde_json::from_value::<KdfParams>(c["kdf"].clone()).expect("kdf")
        );
        let salt = KdfSalt::from_text(s(&c["salt_text"])).expect("salt");
        assert_eq!(salt.as_bytes(), unhex(&c["salt"]).as_slice());
        let pw = Password::new(s(&c["password_typed"]));
        assert_eq!(pw.as_bytes(), unhex(&c["password_nfc_hex"]).as_slice());
        let master = MasterKey::derive(&pw, &salt, &params).expect("kdf");
        assert_eq!(master.expose().as_slice(), unhex(&c["master_key"]));
        assert_eq!(
            *master.auth_key().expect("auth").to_text(),
            s(&c["auth_key_text"])
        );
        let stretched = master.stretched_key().expect("stretch");
        assert_eq!(stretched.expose().as_slice(), unhex(&c["stretched_key"]));
        let b = SealedBox::from_text(s(&c["protected_user_key_text"])).expect("parse");
        assert_eq!(b.as_bytes(), unhex(&c["protected_user_key"]).as_slice());
        let user = b
            .open(&stretched, CONTEXT_USER_KEY_PASSWORD)
            .expect("opens");
        assert_eq!(user.expose(), unhex(&c["user_key"]).as_slice());
    }
    for j in v["kdf_params_accepted"].as_array().expect("accepted") {
        let p: KdfParams = serde_json::from_str(s(j)).expect("accepted kdf json");
        p.validate().expect("accepted kdf params");
    }
    for n in v["kdf_params_negative"].as_array().expect("negative") {
        let r = match serde_json::from_str::<KdfParams>(s(&n["kdf_json"])) {
            Err(_) => Err("json"),
            Ok(p) => p.validate().map_err(|e| class(&e)),
        };
        assert_eq!(r.err(), Some(s(&n["error"])), "{}", n["description"]);
    }

    let r = &v["recovery"];
    for text in std::iter::once(&r["display"]).chain(r["typed_forms"].as_array().expect("typed")) {
        let rk = RecoveryKey::parse(s(text)).expect("recovery key parses");
        assert_eq!(
            rk.wrapping_key().expect("wrap").expose().as_slice(),
            unhex(&r["wrapping_key"])
        );
    }
    let rk = RecoveryKey::parse(s(&r["display"])).expect("parse");
    assert_eq!(*rk.to_display(), s(&r["display"]));
    assert_eq!(
        *rk.auth_key().expect("recovery auth key").to_text(),
        s(&r["recovery_auth_key_text"])
    );
    let b = SealedBox::from_text(s(&r["recovery_user_key_text"])).expect("parse");
    let opened = b
        .open(&rk.wrapping_key().expect("wrap"), CONTEXT_USER_KEY_RECOVERY)
        .expect("opens");
    assert_eq!(opened.expose(), unhex(&r["user_key"]).as_slice());
    for n in v["recovery_negative"].as_array().expect("negative") {
        assert_rejected(n, RecoveryKey::parse(s(&n["text"])));
    }

    let p = &v["private_key"];
    let user_key = SymmetricKey::from_slice(&unhex(&p["user_key"])).expect("key");
    let pkcs8 = SealedBox::from_bytes(&unhex(&p["protected_private_key"]))
        .expect("parse")
        .open(&user_key, CONTEXT_PRIVATE_KEY)
        .expect("opens");
    assert_eq!(
        PrivateKey::from_pkcs8(&pkcs8).expect("pkcs8").public_key(),
        sk.public_key()
    );

    // The account JSON, unlocked as a client does at login and with the recovery key.
    let a = &v["account"];
    let keys: AccountKeys = serde_json::from_value(a["account_keys"].clone()).expect("json");
    let master = MasterKey::derive(
        &Password::new(s(&a["password_typed"])),
        &keys.salt,
        &keys.kdf,
    )
    .expect("kdf");
    let unlocked = UnlockedKeys::unlock(&master, &keys).expect("unlock with the password");
    assert_eq!(
        unlocked.user_key().expose().as_slice(),
        unhex(&p["user_key"])
    );
    assert_eq!(unlocked.public_key(), sk.public_key());
    let rk = RecoveryKey::parse(s(&a["recovery_display"])).expect("parse");
    let unlocked = UnlockedKeys::unlock_with_recovery(&rk, &keys).expect("unlock with recovery");
    assert_eq!(
        unlocked.user_key().expose().as_slice(),
        unhex(&p["user_key"])
    );
}

// ---------------------------------------------------------------------------------
// vault_item.json
// ---------------------------------------------------------------------------------

const ITEM_NAME: &str = "relat\u{f3}rio mar\u{e7}o.bin";
/// 2.5 KiB: three chunks of the 1 KiB stream used here (1024, 1024 and 512 bytes).
const ITEM_BODY_LEN: usize = 2560;
const ITEM_WRAPPED_FOR: &str = "the item key wrapped for the key of rsa_key.json";

/// A context as ASCII text and as hex.
fn context_value(ctx: &[u8]) -> Value {
    json!({"ascii": std::str::from_utf8(ctx).expect("ASCII context"), "hex": hex(ctx)})
}

fn vault_item_file(sk: &PrivateKey, prev: Option<&Value>) -> Value {
    let pk = sk.public_key();
    let key_id = pk.key_id();
    let item_key = key(0xa1);
    let item = ItemKey::from_symmetric(item_key.clone());
    let id = hex(&fixed::<16>(0xb1));
    let other_id = hex(&fixed::<16>(0xb2));
    // The specification's contexts: a prefix, then the id's 32 ASCII bytes.
    let key_ctx = ItemKey::context(&id);
    let meta_ctx = metadata_context(&id);
    let body_ctx = body_context(&id);
    assert_eq!(
        key_ctx,
        [&b"cofre/v1/item-key/"[..], id.as_bytes()].concat()
    );
    assert_eq!(
        meta_ctx,
        [&b"cofre/v1/item-meta/"[..], id.as_bytes()].concat()
    );
    assert_eq!(
        body_ctx,
        [&b"cofre/v1/item-body/"[..], id.as_bytes()].concat()
    );

    // The metadata, exactly as cofre writes it: the members in order, no white space.
    let body = pattern(ITEM_BODY_LEN, 0xe1);
    let meta = ItemMetadata {
        kind: ItemKind::File,
        name: ITEM_NAME.into(),
        content_type: "application/octet-stream".into(),
        size: body.len() as u64,
        created: 1_764_590_400,
        modified: 1_764_594_000,
    };
    let meta_json = serde_json::to_string(&meta).expect("json");
    assert_eq!(
        meta_json,
        format!(
            r#"{{"kind":"file","name":"{ITEM_NAME}","content_type":"application/octet-stream","size":2560,"created":1764590400,"modified":1764594000}}"#
        )
    );
    let meta_iv = fixed::<16>(0xc1);
    let meta_box = SealedBox::seal_with_iv(item.key(), &meta_ctx, meta_json.as_bytes(), &meta_iv)
        .expect("seal");
    assert_eq!(
        ItemMetadata::open(&meta_box, &item, &id).expect("opens"),
        meta
    );
    // The production writer (random IV) seals the same plaintext.
    let written = meta.seal(&item, &id).expect("seal");
    assert_eq!(
        written.open(item.key(), &meta_ctx).expect("opens").expose(),
        meta_json.as_bytes()
    );

    // The body: a stream of 1 KiB chunks (cofre writes 64 KiB; readers take 10..=20).
    let nonce = fixed::<16>(0xc2);
    let (body_enc, chunks) = fixed_stream(item.key(), &body_ctx, &nonce, &body, 0xd0);
    assert_eq!(chunks.len(), 3);
    let header = &body_enc[..stream::HEADER_LEN];
    let okm = stream_okm(item.key(), header, &body_ctx);

    // The item key wrapped for the key of rsa_key.json: randomized, so kept while it
    // still unwraps.
    let label = [
        &[0x02, 0x01, 0x01][..],
        &key_id,
        &u32be(key_ctx.len()),
        &key_ctx,
    ]
    .concat();
    let unwraps = |b: &Vec<u8>| {
        WrappedKey::from_bytes(b)
            .and_then(|w| ItemKey::unwrap(&w, sk, &id))
            .is_ok_and(|k| k.key().expose() == item_key.expose())
            && sk
                .oaep_decrypt(&b[19..], &label)
                .is_ok_and(|p| p.expose() == item_key.expose())
    };
    let wrapped = previous(prev, "wrapped_keys", ITEM_WRAPPED_FOR, "encoding")
        .filter(unwraps)
        .unwrap_or_else(|| {
            item.wrap_for(&[pk], &id).expect("wrap")[0]
                .as_bytes()
                .to_vec()
        });
    assert!(unwraps(&wrapped));

    // Metadata boxes sealed with fixed IVs: authentic, and accepted or refused for
    // what their JSON says.
    let sealed_json = |j: &str, seed: u8| {
        let iv = fixed::<16>(seed);
        let b = SealedBox::seal_with_iv(item.key(), &meta_ctx, j.as_bytes(), &iv).expect("seal");
        json!({"item_id": id, "metadata_json": j, "iv": hex(&iv), "encoding": hex(b.as_bytes())})
    };
    let padded = |len: usize| format!("{{{}{}", " ".repeat(len - meta_json.len()), &meta_json[1..]);
    let emoji_name = "\u{1f600}".repeat(1024);
    let long_type = format!("application/{}x", "\u{e9}".repeat(121));
    assert_eq!(long_type.len(), 255);
    let accepted_json = [
        (
            "members in another order, with white space",
            format!(
                "{{ \"modified\": 1764594000, \"created\": 1764590400, \"size\": 2560,\n  \"content_type\": \"application/octet-stream\", \"name\": \"{ITEM_NAME}\", \"kind\": \"file\" }}\n"
            ),
        ),
        (
            "a note: size 2^64 - 1, negative times, empty content type",
            r#"{"kind":"note","name":"n","content_type":"","size":18446744073709551615,"created":-86400,"modified":-1}"#.to_owned(),
        ),
        (
            "name of 1,024 Unicode scalar values outside the BMP (4,096 bytes)",
            member_json("note", &emoji_name, "text/plain; charset=utf-8"),
        ),
        (
            "name written with escapes: \\u00e9 and a surrogate pair",
            member_json("file", "caf\\u00e9 \\ud83d\\ude00.txt", "text/plain"),
        ),
        (
            "content_type of 255 bytes (134 characters)",
            member_json("file", "a.bin", &long_type),
        ),
        (
            "exactly 8,192 bytes (white space after the opening brace)",
            padded(MAX_METADATA_LEN),
        ),
    ];
    let mut accepted = Vec::new();
    for (i, (desc, j)) in accepted_json.iter().enumerate() {
        let mut c = sealed_json(j, 0xc3 + i as u8);
        let b = SealedBox::from_bytes(&unhex(&c["encoding"])).expect("parse");
        let m = ItemMetadata::open(&b, &item, &id).unwrap_or_else(|e| panic!("{desc}: {e}"));
        let obj = c.as_object_mut().expect("object");
        obj.insert("description".into(), (*desc).into());
        obj.insert("members".into(), serde_json::to_value(&m).expect("json"));
        accepted.push(c);
    }

    let good = |from: &str, to: &str| {
        assert!(meta_json.contains(from), "{from}");
        meta_json.replacen(from, to, 1)
    };
    let refused_json = [
        ("unknown member", good("}", r#","folder":"docs"}"#)),
        (
            "missing member (modified)",
            good(r#","modified":1764594000"#, ""),
        ),
        (
            "duplicate member (name, with another value)",
            good(
                ",\"content_type\"",
                ",\"name\":\"other.bin\",\"content_type\"",
            ),
        ),
        (
            "wrong type: size as a string",
            good(r#""size":2560"#, r#""size":"2560""#),
        ),
        (
            "size 2^64 (above 2^64 - 1)",
            good(r#""size":2560"#, r#""size":18446744073709551616"#),
        ),
        (
            "created with a fraction",
            good(r#""created":1764590400"#, r#""created":1764590400.5"#),
        ),
        ("kind \"folder\"", good(r#""file""#, r#""folder""#)),
        ("empty name", good(ITEM_NAME, "")),
        (
            "name with a control character (U+000A, escaped)",
            good("rio mar", "rio\\nmar"),
        ),
        (
            "name with a C1 control character (U+0085, raw UTF-8)",
            good("rio mar", "rio\u{85}mar"),
        ),
        (
            "name with an escaped lone surrogate (not a Unicode scalar value)",
            good(ITEM_NAME, "\\ud800.bin"),
        ),
        (
            "name of 1,025 characters",
            good(ITEM_NAME, &format!("{}.bin", "x".repeat(1021))),
        ),
        (
            "content_type of 256 bytes (134 characters)",
            good(
                "application/octet-stream",
                &format!("application/{}", "\u{e9}".repeat(122)),
            ),
        ),
        (
            "8,193 bytes: valid members, one byte of white space too many",
            padded(MAX_METADATA_LEN + 1),
        ),
        (
            "an array of the member values instead of an object",
            r#"["file","a.bin","application/octet-stream",2560,1764590400,1764594000]"#.to_owned(),
        ),
        (
            "kind as an object ({\"file\":null}) instead of a string",
            good(r#""file""#, r#"{"file":null}"#),
        ),
    ];
    let mut metadata_negative = vec![reject(
        "metadata opened under another item id",
        "decrypt",
        json!({"item_id": other_id, "encoding": hex(meta_box.as_bytes())}),
    )];
    for (i, (desc, j)) in refused_json.iter().enumerate() {
        metadata_negative.push(reject(desc, "malformed", sealed_json(j, 0xe0 + i as u8)));
    }

    json!({
        "description": "Vault item: one item with a fixed id and item key; its metadata JSON as cofre writes it, sealed under the item key with the metadata context; its body, a stream under the item key with the body context; the item key wrapped (RSA-OAEP, randomized: the stored ciphertext is kept and must keep unwrapping) for the key of rsa_key.json with the item-key context. The body uses 1 KiB chunks (chunk_log2 = 10) to stay short: cofre writes chunk_log2 = 16, readers accept 10..=20. IVs and the nonce are fixed; every other byte is reproduced by the code. Negative: each part opened under another item id, and authentic metadata whose JSON breaks a rule.",
        "format": "docs/FORMAT.md, section 9.8 (Vault items); sections 5, 6, 8 and 10",
        "rsa_key": "rsa_key.json",
        "item_id": id,
        "item_key": hex(item_key.expose()),
        "contexts": {
            "item_key": context_value(&key_ctx),
            "metadata": context_value(&meta_ctx),
            "body": context_value(&body_ctx),
        },
        "metadata": {
            "members": serde_json::to_value(&meta).expect("json"),
            "metadata_json": meta_json, "iv": hex(&meta_iv),
            "encoding": hex(meta_box.as_bytes()), "text": meta_box.to_text(),
        },
        "body": {
            "chunk_log2": ST_LOG2, "nonce": hex(&nonce), "header": hex(header),
            "hkdf_info": hex(&stream_info(header, &body_ctx)),
            "stream_enc_key": hex(&okm[..32]), "stream_mac_key": hex(&okm[32..]),
            "chunks": chunks, "plaintext": hex(&body), "encoding": hex(&body_enc),
        },
        "wrapped_keys": [{
            "description": ITEM_WRAPPED_FOR, "key_id": hex(&key_id), "label": hex(&label),
            "encoding": hex(&wrapped), "text": b64(&wrapped),
        }],
        "metadata_accepted": accepted,
        "metadata_negative": metadata_negative,
        "body_negative": [reject(
            "body opened under another item id",
            "decrypt",
            json!({"item_id": other_id, "encoding": hex(&body_enc)}),
        )],
        "wrapped_key_negative": [reject(
            "item key unwrapped under another item id",
            "decrypt",
            json!({"item_id": other_id, "encoding": hex(&wrapped)}),
        )],
    })
}

/// Metadata JSON in cofre's member order with the given kind, name and content type.
fn member_json(kind: &str, name: &str, content_type: &str) -> String {
    format!(
        r#"{{"kind":"{kind}","name":"{name}","content_type":"{content_type}","size":0,"created":0,"modified":0}}"#
    )
}

fn read_vault_item(v: &Value, sk: &PrivateKey) {
    let id = s(&v["item_id"]);
    let item =
        ItemKey::from_symmetric(SymmetricKey::from_slice(&unhex(&v["item_key"])).expect("key"));
    let ctx = &v["contexts"];
    for (part, expect) in [
        ("item_key", ItemKey::context(id)),
        ("metadata", metadata_context(id)),
        ("body", body_context(id)),
    ] {
        assert_eq!(unhex(&ctx[part]["hex"]), expect, "{part} context");
        assert_eq!(s(&ctx[part]["ascii"]).as_bytes(), expect.as_slice());
    }

    let m = &v["metadata"];
    let b = SealedBox::from_text(s(&m["text"])).expect("text");
    assert_eq!(b.as_bytes(), unhex(&m["encoding"]).as_slice());
    let meta = ItemMetadata::open(&b, &item, id).expect("stored metadata opens");
    assert_eq!(serde_json::to_value(&meta).expect("json"), m["members"]);
    assert_eq!(
        serde_json::to_string(&meta).expect("json"),
        s(&m["metadata_json"])
    );

    let body = &v["body"];
    let plain = stream::decrypt_to_vec(item.key(), &body_context(id), &unhex(&body["encoding"]))
        .expect("stored body decrypts");
    assert_eq!(plain, unhex(&body["plaintext"]));
    assert_eq!(plain.len() as u64, meta.size);

    for w in v["wrapped_keys"].as_array().expect("wrapped keys") {
        let wk = WrappedKey::from_text(s(&w["text"])).expect("text");
        assert_eq!(wk.as_bytes(), unhex(&w["encoding"]).as_slice());
        assert_eq!(wk.recipient_key_id().as_slice(), unhex(&w["key_id"]));
        let k = ItemKey::unwrap(&wk, sk, id).expect("stored wrapped key unwraps");
        assert_eq!(k.key().expose(), item.key().expose());
        // A wrap made now unwraps too, with the stored layout.
        let fresh = &item.wrap_for(&[sk.public_key()], id).expect("wrap")[0];
        assert_eq!(fresh.as_bytes()[..19], wk.as_bytes()[..19]);
        assert_eq!(fresh.as_bytes().len(), wk.as_bytes().len());
        let back = ItemKey::unwrap(fresh, sk, id).expect("fresh wrap unwraps");
        assert_eq!(back.key().expose(), item.key().expose());
    }

    for c in v["metadata_accepted"].as_array().expect("accepted") {
        let b = SealedBox::from_bytes(&unhex(&c["encoding"])).expect("parse");
        let meta = ItemMetadata::open(&b, &item, s(&c["item_id"]))
            .unwrap_or_else(|e| panic!("{}: {e}", c["description"]));
        assert_eq!(serde_json::to_value(&meta).expect("json"), c["members"]);
    }
    for n in v["metadata_negative"].as_array().expect("negative") {
        let b = SealedBox::from_bytes(&unhex(&n["encoding"])).expect("parse");
        if let Some(j) = n["metadata_json"].as_str() {
            // Authentic: only the JSON is refused.
            let plain = b.open(item.key(), &metadata_context(s(&n["item_id"])));
            assert_eq!(plain.expect("authentic").expose(), j.as_bytes());
        }
        assert_rejected(n, ItemMetadata::open(&b, &item, s(&n["item_id"])));
    }
    for n in v["body_negative"].as_array().expect("negative") {
        let ctx = body_context(s(&n["item_id"]));
        assert_rejected(
            n,
            stream::decrypt_to_vec(item.key(), &ctx, &unhex(&n["encoding"])),
        );
    }
    for n in v["wrapped_key_negative"].as_array().expect("negative") {
        let r = WrappedKey::from_bytes(&unhex(&n["encoding"]))
            .and_then(|w| ItemKey::unwrap(&w, sk, s(&n["item_id"])));
        assert_rejected(n, r);
    }
}

// ---------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------

#[test]
fn vectors_are_reproduced_and_read() {
    let writing = std::env::var("COFRE_WRITE_VECTORS").is_ok_and(|v| v == "1");
    let stored_key = load_opt("rsa_key.json")
        .and_then(|v| PrivateKey::from_pkcs8(&unhex(&v["private_key_pkcs8"])).ok());
    let sk = match stored_key {
        Some(k) => k,
        None if writing => PrivateKey::generate().expect("keygen"),
        None => panic!("docs/vectors/rsa_key.json is missing or holds no usable key"),
    };
    let prev = |name: &str| load_opt(name);
    let built = [
        ("sealed_box.json", sealed_box_file()),
        ("stream.json", stream_file()),
        (
            "rsa_key.json",
            rsa_key_file(&sk, prev("rsa_key.json").as_ref()),
        ),
        (
            "wrapped_key.json",
            wrapped_key_file(&sk, prev("wrapped_key.json").as_ref()),
        ),
        (
            "signature.json",
            signature_file(&sk, prev("signature.json").as_ref()),
        ),
        ("key_hierarchy.json", key_hierarchy_file(&sk)),
        (
            "vault_item.json",
            vault_item_file(&sk, prev("vault_item.json").as_ref()),
        ),
    ];
    if writing {
        for (name, v) in &built {
            std::fs::write(dir().join(name), render(v)).expect("write vector file");
        }
    }

    // Read: every stored input through the public API.
    read_sealed_box(&load("sealed_box.json"));
    read_stream(&load("stream.json"));
    let sk_stored = read_rsa_key(&load("rsa_key.json"));
    assert_eq!(sk_stored.public_key(), sk.public_key());
    read_wrapped_key(&load("wrapped_key.json"), &sk);
    read_signature(&load("signature.json"), &sk);
    read_key_hierarchy(&load("key_hierarchy.json"), &sk);
    read_vault_item(&load("vault_item.json"), &sk);
    fresh_rsa_outputs(&sk, &load("wrapped_key.json"), &load("signature.json"));

    // Produce: each file, regenerated by today's code, equals the stored file.
    for (name, v) in &built {
        let stored = std::fs::read_to_string(dir().join(name)).expect("read");
        assert!(
            stored == render(v),
            "docs/vectors/{name} no longer matches what the code produces; if the format \
             changed on purpose (with a new version byte), regenerate with \
             COFRE_WRITE_VECTORS=1 cargo test -p cofre-core vector_tests"
        );
    }
}

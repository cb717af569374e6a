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

mod owner_copy;

use std::path::PathBuf;

use aws_lc_rs::signature::{
    RSA_PSS_2048_8192_SHA256, RSA_PSS_SHA256, RsaKeyPair, RsaParameters, RsaPssSaltLength,
    RsaSignatureEncoding, UnparsedPublicKey,
};
use serde_json::{Value, json};

use crate::backup::archive::{
    self as bk, Compression, Counts, FileEntry, Header, Manifest, Trailer,
};
use crate::backup::key_file::{
    BackupKeyFile, CONTEXT_BACKUP_PRIVATE_KEY, KEY_FILE_FORMAT, public_key_from_pem,
    public_key_to_pem,
};
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
    let inputs: [(&str, Vec<u8>, &[u8]); 7] = [
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
        (
            "an interrupted upload's state (9.11): item key and stream header",
            [
                pattern(64, 11),
                vec![0x04, 0x01, 0x01, 0x10],
                pattern(16, 12),
            ]
            .concat(),
            b"cofre/v1/client/upload-checkpoint/00112233445566778899aabbccddeeff",
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
    fixed_stream_log2(k, ctx, ST_LOG2, nonce, plain, iv_seed)
}

/// [`fixed_stream`] with another chunk size.
fn fixed_stream_log2(
    k: &SymmetricKey,
    ctx: &[u8],
    log2: u8,
    nonce: &[u8; 16],
    plain: &[u8],
    iv_seed: u8,
) -> (Vec<u8>, Vec<Value>) {
    let enc = stream::Encryptor::with_nonce(k, ctx, log2, nonce).expect("encryptor");
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
        stream::encrypted_len(plain.len() as u64, log2)
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
// share.json
// ---------------------------------------------------------------------------------

const SH_OWNER: &str = "alice";
const SH_RECIPIENT: &str = "bob";
const SH_OWNER_DESC: &str = "the owner's key (generated once and kept)";
const SH_NEW_DESC: &str = "the recipient's key after its rotation (generated once and kept); before it, the recipient's key is that of rsa_key.json";

/// A stored RSA key of share.json (`owner_key`, `recipient_new_key`), if usable.
fn sh_stored_key(prev: Option<&Value>, member: &str) -> Option<PrivateKey> {
    let t = prev?[member]["private_key_pkcs8"].as_str()?;
    PrivateKey::from_pkcs8(&data_encoding::HEXLOWER.decode(t.as_bytes()).ok()?).ok()
}

/// The length-prefixed fields of FORMAT.md 9.9 and 9.10, built by hand.
fn sh_fields(fields: &[&[u8]]) -> Vec<u8> {
    fields
        .iter()
        .flat_map(|f| [&u32be(f.len())[..], f].concat())
        .collect()
}

/// Reads one share case of share.json with the stored keys: every member named in the
/// case (wrapped keys, signatures, keys) is looked up in the file's tables.
fn sh_verify(v: &Value, c: &Value, keys: &[(&str, &PublicKey)]) -> Result<()> {
    let key = |name: &Value| {
        keys.iter()
            .find(|(n, _)| *n == s(name))
            .map(|(_, k)| *k)
            .expect("a key of the file")
    };
    let wrapped = |name: &Value| -> Result<Option<WrappedKey>> {
        match name.as_str() {
            None => Ok(None),
            Some(n) => WrappedKey::from_bytes(&unhex(&v["wrapped_keys"][n]["encoding"])).map(Some),
        }
    };
    let sig = |name: &Value| -> Result<Option<Signature>> {
        match name.as_str() {
            None => Ok(None),
            Some(n) => Signature::from_bytes(&unhex(&v["signatures"][n]["encoding"])).map(Some),
        }
    };
    let current = wrapped(&c["wrapped_key"])?.expect("wrapped key");
    let signature = sig(&c["signature"])?.expect("signature");
    let signed = wrapped(&c["signed_wrapped_key"])?;
    let rewrap = sig(&c["rewrap_signature"])?;
    crate::vault::ReceivedShare {
        item_id: s(&v["item_id"]),
        owner: s(&c["owner"]),
        recipient: s(&c["recipient"]),
        wrapped: &current,
        signature: &signature,
        signed_wrapped: signed.as_ref(),
        rewrap_signature: rewrap.as_ref(),
    }
    .verify(key(&c["owner_key"]), key(&c["recipient_key"]))
}

#[allow(clippy::too_many_lines, reason = "one vector file, built in order")]
fn share_file(
    sk: &PrivateKey,
    owner: &PrivateKey,
    new: &PrivateKey,
    prev: Option<&Value>,
) -> Value {
    let (old_pk, owner_pk, new_pk) = (sk.public_key(), owner.public_key(), new.public_key());
    let id = hex(&fixed::<16>(0xb1));
    let item_key = key(0xa1);
    let item = ItemKey::from_symmetric(item_key.clone());
    let other = ItemKey::from_symmetric(key(0xa2));
    assert_eq!(crate::vault::CONTEXT_SHARE, b"cofre/v1/share");
    assert_eq!(crate::vault::CONTEXT_SHARE_REWRAP, b"cofre/v1/share-rewrap");

    // Wrapped keys: randomized (OAEP), kept while they unwrap to the same key.
    let mut wrapped_keys = serde_json::Map::new();
    let mut wk = std::collections::BTreeMap::new();
    for (name, desc, for_sk, k) in [
        (
            "original",
            "the item key wrapped for the recipient's key before its rotation (rsa_key.json): what the owner signed",
            sk,
            &item,
        ),
        (
            "current",
            "the item key re-wrapped by the recipient for its new key",
            new,
            &item,
        ),
        (
            "original_again",
            "another wrap of the item key for the recipient's old key",
            sk,
            &item,
        ),
        (
            "current_again",
            "another wrap of the item key for the recipient's new key",
            new,
            &item,
        ),
        (
            "server_made",
            "another item key (of the server's making) wrapped for the recipient's new key",
            new,
            &other,
        ),
    ] {
        let unwraps = |b: &Vec<u8>| {
            WrappedKey::from_bytes(b)
                .and_then(|w| ItemKey::unwrap(&w, for_sk, &id))
                .is_ok_and(|u| u.key().expose() == k.key().expose())
        };
        let b = prev
            .and_then(|p| p["wrapped_keys"][name]["encoding"].as_str())
            .and_then(|t| data_encoding::HEXLOWER.decode(t.as_bytes()).ok())
            .filter(unwraps)
            .unwrap_or_else(|| {
                k.wrap_for(&[for_sk.public_key()], &id).expect("wrap")[0]
                    .as_bytes()
                    .to_vec()
            });
        assert!(unwraps(&b));
        wrapped_keys.insert(
            name.into(),
            json!({"description": desc, "key_id": hex(&for_sk.public_key().key_id()), "encoding": hex(&b)}),
        );
        wk.insert(name, WrappedKey::from_bytes(&b).expect("wrapped"));
    }
    let w = |n: &str| &wk[n];

    // The messages, built by hand as FORMAT.md says, equal the code's.
    let share_msg = sh_fields(&[
        id.as_bytes(),
        SH_OWNER.as_bytes(),
        SH_RECIPIENT.as_bytes(),
        w("original").as_bytes(),
    ]);
    assert_eq!(
        share_msg,
        crate::vault::share_message(&id, SH_OWNER, SH_RECIPIENT, w("original"))
    );
    let rewrap_msg = sh_fields(&[
        id.as_bytes(),
        SH_OWNER.as_bytes(),
        SH_RECIPIENT.as_bytes(),
        w("original").as_bytes(),
        w("current").as_bytes(),
    ]);
    assert_eq!(
        rewrap_msg,
        crate::vault::share_rewrap_message(
            &id,
            SH_OWNER,
            SH_RECIPIENT,
            w("original"),
            w("current")
        )
    );

    // Signatures: randomized (PSS), kept while they verify over the same message.
    let mut signatures = serde_json::Map::new();
    let share_ctx = crate::vault::CONTEXT_SHARE;
    let rewrap_ctx = crate::vault::CONTEXT_SHARE_REWRAP;
    let swapped_msg = crate::vault::share_rewrap_message(
        &id,
        SH_OWNER,
        SH_RECIPIENT,
        w("current"),
        w("original"),
    );
    let carol_msg =
        crate::vault::share_rewrap_message(&id, SH_OWNER, "carol", w("original"), w("current"));
    let current_share_msg = crate::vault::share_message(&id, SH_OWNER, SH_RECIPIENT, w("current"));
    for (name, desc, by, ctx, msg) in [
        (
            "owner",
            "the owner's share signature over the original wrapped key (9.9)",
            owner,
            share_ctx,
            &share_msg,
        ),
        (
            "rewrap",
            "the recipient's re-wrap signature, by its new key, over the original and the current wrapped key (9.10)",
            new,
            rewrap_ctx,
            &rewrap_msg,
        ),
        (
            "rewrap_by_old_key",
            "the same statement signed by the recipient's old key",
            sk,
            rewrap_ctx,
            &rewrap_msg,
        ),
        (
            "rewrap_swapped",
            "a re-wrap signature by the new key with the original and current wrapped keys in the other order",
            new,
            rewrap_ctx,
            &swapped_msg,
        ),
        (
            "rewrap_for_carol",
            "a re-wrap signature by the new key naming another recipient (carol)",
            new,
            rewrap_ctx,
            &carol_msg,
        ),
        (
            "share_by_new_key",
            "a share signature (context cofre/v1/share) by the recipient's new key over the current wrapped key",
            new,
            share_ctx,
            &current_share_msg,
        ),
    ] {
        let pk = by.public_key();
        let verifies =
            |b: &Vec<u8>| Signature::from_bytes(b).is_ok_and(|g| g.verify(pk, ctx, msg).is_ok());
        let b = prev
            .and_then(|p| p["signatures"][name]["encoding"].as_str())
            .and_then(|t| data_encoding::HEXLOWER.decode(t.as_bytes()).ok())
            .filter(verifies)
            .unwrap_or_else(|| {
                Signature::sign(by, ctx, msg)
                    .expect("sign")
                    .as_bytes()
                    .to_vec()
            });
        assert!(verifies(&b));
        let signed = [
            &[0x03, 0x01, 0x01][..],
            &pk.key_id(),
            &u32be(ctx.len()),
            ctx,
            msg,
        ]
        .concat();
        assert!(pk.pss_verify(&signed, &b[19..]).is_ok());
        signatures.insert(
            name.into(),
            json!({
                "description": desc, "key_id": hex(&pk.key_id()),
                "context": context_value(ctx), "message": hex(msg),
                "signed_message": hex(&signed), "encoding": hex(&b),
            }),
        );
    }

    let case = |desc: &str,
                wrapped: &str,
                signed: Option<&str>,
                rewrap: Option<&str>,
                owner_key: &str,
                recipient_key: &str| {
        json!({
            "description": desc, "owner": SH_OWNER, "recipient": SH_RECIPIENT,
            "wrapped_key": wrapped, "signature": "owner",
            "signed_wrapped_key": signed, "rewrap_signature": rewrap,
            "owner_key": owner_key, "recipient_key": recipient_key,
        })
    };
    let accepted = vec![
        case(
            "before the recipient's rotation: the owner's signature covers the wrapped key",
            "original",
            None,
            None,
            "owner",
            "recipient_old",
        ),
        case(
            "after it: the owner's signature covers the signed wrapped key, the recipient's re-wrap signature binds it to the current one",
            "current",
            Some("original"),
            Some("rewrap"),
            "owner",
            "recipient_new",
        ),
    ];
    let bad = |c: Value, error: &str| {
        let desc = c["description"].as_str().expect("description").to_owned();
        reject(&desc, error, c)
    };
    let mut negative = vec![
        bad(
            case(
                "the current wrapped key replaced by one the server made (another item key)",
                "server_made",
                Some("original"),
                Some("rewrap"),
                "owner",
                "recipient_new",
            ),
            "bad_signature",
        ),
        bad(
            case(
                "the current wrapped key replaced by another wrap of the same item key",
                "current_again",
                Some("original"),
                Some("rewrap"),
                "owner",
                "recipient_new",
            ),
            "bad_signature",
        ),
        bad(
            case(
                "the signed wrapped key replaced by another wrap of the same item key",
                "current",
                Some("original_again"),
                Some("rewrap"),
                "owner",
                "recipient_new",
            ),
            "bad_signature",
        ),
        bad(
            case(
                "the signed wrapped key replaced by the current one",
                "current",
                Some("current"),
                Some("rewrap"),
                "owner",
                "recipient_new",
            ),
            "bad_signature",
        ),
        bad(
            case(
                "no re-wrap record: the owner's signature does not cover the current wrapped key",
                "current",
                None,
                None,
                "owner",
                "recipient_new",
            ),
            "bad_signature",
        ),
        bad(
            case(
                "a signed wrapped key without a re-wrap signature",
                "current",
                Some("original"),
                None,
                "owner",
                "recipient_new",
            ),
            "bad_signature",
        ),
        bad(
            case(
                "a re-wrap signature without a signed wrapped key",
                "current",
                None,
                Some("rewrap"),
                "owner",
                "recipient_new",
            ),
            "bad_signature",
        ),
        bad(
            case(
                "the re-wrap signature made by the recipient's old key",
                "current",
                Some("original"),
                Some("rewrap_by_old_key"),
                "owner",
                "recipient_new",
            ),
            "bad_signature",
        ),
        bad(
            case(
                "the re-wrap signature checked with the recipient's old key",
                "current",
                Some("original"),
                Some("rewrap"),
                "owner",
                "recipient_old",
            ),
            "bad_signature",
        ),
        bad(
            case(
                "the re-wrap signature over the two wrapped keys in the other order",
                "current",
                Some("original"),
                Some("rewrap_swapped"),
                "owner",
                "recipient_new",
            ),
            "bad_signature",
        ),
        bad(
            case(
                "the re-wrap signature naming another recipient",
                "current",
                Some("original"),
                Some("rewrap_for_carol"),
                "owner",
                "recipient_new",
            ),
            "bad_signature",
        ),
        bad(
            case(
                "a share signature (the other context) by the new key in place of the re-wrap signature",
                "current",
                Some("original"),
                Some("share_by_new_key"),
                "owner",
                "recipient_new",
            ),
            "bad_signature",
        ),
        bad(
            case(
                "checked with another owner key (the recipient's new key)",
                "current",
                Some("original"),
                Some("rewrap"),
                "recipient_new",
                "recipient_new",
            ),
            "bad_signature",
        ),
    ];
    let mut for_carol = case(
        "the whole share read by another recipient (carol)",
        "current",
        Some("original"),
        Some("rewrap"),
        "owner",
        "recipient_new",
    );
    for_carol["recipient"] = "carol".into();
    negative.push(bad(for_carol, "bad_signature"));

    let v = json!({
        "description": "Shares (9.9) and shares across the recipient's key rotation (9.10): the item of vault_item.json (same id and item key) shared by alice (owner_key) with bob, whose key is that of rsa_key.json before his rotation and recipient_new_key after it. wrapped_keys and signatures are tables; each case names its members in them, and names its keys: owner = owner_key, recipient_old = rsa_key.json, recipient_new = recipient_new_key. A case is accepted when the owner's signature verifies under owner_key over the current wrapped key, or (with both a signed wrapped key and a re-wrap signature) over the signed wrapped key while the re-wrap signature verifies under recipient_key over both. RSA-OAEP and RSA-PSS are randomized: the stored wrapped keys and signatures are kept while they unwrap or verify.",
        "format": "docs/FORMAT.md, sections 9.9 (Shares and fingerprints) and 9.10 (Shares across the recipient's key rotation)",
        "rsa_key": "rsa_key.json",
        "item_id": id,
        "item_key": hex(item_key.expose()),
        "owner_key": bk_key_value(owner, SH_OWNER_DESC),
        "recipient_new_key": bk_key_value(new, SH_NEW_DESC),
        "contexts": {"share": context_value(share_ctx), "share_rewrap": context_value(rewrap_ctx)},
        "wrapped_keys": wrapped_keys,
        "signatures": signatures,
        "accepted": accepted,
        "negative": negative,
    });
    // What the file says, the code reads.
    let keys = [
        ("owner", owner_pk),
        ("recipient_old", old_pk),
        ("recipient_new", new_pk),
    ];
    for c in v["accepted"].as_array().expect("accepted") {
        sh_verify(&v, c, &keys).unwrap_or_else(|e| panic!("{}: {e}", c["description"]));
    }
    for n in v["negative"].as_array().expect("negative") {
        assert_rejected(n, sh_verify(&v, n, &keys));
    }
    v
}

fn read_share(v: &Value, sk: &PrivateKey) {
    let owner =
        PrivateKey::from_pkcs8(&unhex(&v["owner_key"]["private_key_pkcs8"])).expect("pkcs8");
    let new = PrivateKey::from_pkcs8(&unhex(&v["recipient_new_key"]["private_key_pkcs8"]))
        .expect("pkcs8");
    for (k, member) in [(&owner, "owner_key"), (&new, "recipient_new_key")] {
        assert_eq!(
            k.public_key().to_spki(),
            unhex(&v[member]["public_key_spki"]).as_slice()
        );
        assert_eq!(
            k.public_key().key_id().as_slice(),
            unhex(&v[member]["key_id"])
        );
    }
    let id = s(&v["item_id"]);
    let item_key = unhex(&v["item_key"]);
    for (name, by) in [("original", sk), ("current", &new)] {
        let w =
            WrappedKey::from_bytes(&unhex(&v["wrapped_keys"][name]["encoding"])).expect("wrapped");
        let k = ItemKey::unwrap(&w, by, id).expect("stored wrapped key unwraps");
        assert_eq!(k.key().expose().as_slice(), item_key.as_slice());
    }
    for (name, g) in v["signatures"].as_object().expect("signatures") {
        let by = [owner.public_key(), sk.public_key(), new.public_key()]
            .into_iter()
            .find(|k| k.key_id().as_slice() == unhex(&g["key_id"]))
            .expect("a key of the file");
        Signature::from_bytes(&unhex(&g["encoding"]))
            .and_then(|sig| sig.verify(by, &unhex(&g["context"]["hex"]), &unhex(&g["message"])))
            .unwrap_or_else(|e| panic!("signature {name}: {e}"));
    }
    let keys = [
        ("owner", owner.public_key()),
        ("recipient_old", sk.public_key()),
        ("recipient_new", new.public_key()),
    ];
    for c in v["accepted"].as_array().expect("accepted") {
        sh_verify(v, c, &keys).unwrap_or_else(|e| panic!("{}: {e}", c["description"]));
    }
    for n in v["negative"].as_array().expect("negative") {
        assert_rejected(n, sh_verify(v, n, &keys));
    }
}

// ---------------------------------------------------------------------------------
// backup.json
// ---------------------------------------------------------------------------------

const BK_SECRET_PATH: &str = "keys/server-secret";
const BK_DB_PATH: &str = "cofre.db";
const BK_CREATED_AT: i64 = 1_764_590_400;
const BK_SERVER_VERSION: &str = "0.1.0";
const BK_SCHEMA_VERSION: i64 = 4;
const BK_PASSPHRASE: &str = "correct horse battery staple, kept offline";
/// What reads a negative vector with the signer's private key instead of the backup key.
const BK_READ_WITH_SIGNER: &str = "signer_key";

/// The database plaintext of the backup vector: short, and repetitive enough that zstd
/// visibly shrinks it.
fn bk_db_plain() -> Vec<u8> {
    let mut p = b"SQLite format 3\0".to_vec();
    for i in 0..12 {
        p.extend_from_slice(format!("item {i:02}: its ciphertext lives in blobs/; ").as_bytes());
    }
    p
}

/// The stored (compressed) database: kept across regenerations while it still
/// decompresses to the plaintext, since another zstd version may compress differently.
fn bk_zstd(plain: &[u8], prev: Option<Vec<u8>>) -> Vec<u8> {
    let decompresses =
        |b: &Vec<u8>| zstd::stream::decode_all(b.as_slice()).is_ok_and(|d| d == plain);
    let stored = prev.filter(decompresses).unwrap_or_else(|| {
        // As the server writes it: a streaming encoder at level 3, one frame.
        let mut out = Vec::new();
        std::io::Read::read_to_end(
            &mut zstd::stream::read::Encoder::new(plain, 3).expect("zstd"),
            &mut out,
        )
        .expect("zstd");
        out
    });
    assert_eq!(stored[..4], [0x28, 0xb5, 0x2f, 0xfd], "a zstd frame");
    assert!(decompresses(&stored));
    stored
}

/// The signature bytes of an archive, found through its trailer.
fn bk_signature_of(archive: &[u8]) -> Option<Vec<u8>> {
    let end = archive.len().checked_sub(bk::TRAILER_LEN)?;
    let t = Trailer::parse(&archive[end..]).ok()?;
    let start = end.checked_sub(t.signature_len as usize)?;
    Some(archive[start..end].to_vec())
}

/// The wrapped key in an archive's header.
fn bk_wrapped_of(archive: Option<Vec<u8>>) -> Option<Vec<u8>> {
    Header::parse(&archive?)
        .ok()
        .map(|(h, _)| h.wrapped_key.as_bytes().to_vec())
}

/// The signed message of section 7 for a manifest signature.
fn bk_signed_message(signer: &PublicKey, header: &[u8], manifest: &[u8]) -> Vec<u8> {
    [
        &[0x03, 0x01, 0x01][..],
        &signer.key_id(),
        &u32be(bk::CONTEXT_MANIFEST.len()),
        bk::CONTEXT_MANIFEST,
        header,
        manifest,
    ]
    .concat()
}

/// A manifest signature by `signer`: the one in `prev_archive` while it still verifies
/// (RSA-PSS is randomized), else a new one.
fn bk_sign(
    signer: &PrivateKey,
    header: &[u8],
    manifest: &[u8],
    prev_archive: Option<Vec<u8>>,
) -> Vec<u8> {
    let pk = signer.public_key();
    let message = bk_signed_message(pk, header, manifest);
    let verifies = |s: &Vec<u8>| {
        Signature::from_bytes(s)
            .is_ok_and(|sig| bk::verify_manifest(&sig, pk, header, manifest).is_ok())
            && pk.pss_verify(&message, &s[19..]).is_ok()
    };
    let sig = prev_archive
        .as_deref()
        .and_then(bk_signature_of)
        .filter(verifies)
        .unwrap_or_else(|| {
            bk::sign_manifest(signer, header, manifest)
                .expect("sign")
                .as_bytes()
                .to_vec()
        });
    assert!(verifies(&sig));
    sig
}

/// The archive key wrapped for `backup` under `ctx`: `prev` while it still unwraps
/// (RSA-OAEP is randomized), else a new one.
fn bk_wrap(
    backup: &PrivateKey,
    archive_key: &SymmetricKey,
    ctx: &[u8],
    prev: Option<Vec<u8>>,
) -> Vec<u8> {
    let pk = backup.public_key();
    let label = [
        &[0x02, 0x01, 0x01][..],
        &pk.key_id(),
        &u32be(ctx.len()),
        ctx,
    ]
    .concat();
    let unwraps = |w: &Vec<u8>| {
        WrappedKey::from_bytes(w)
            .and_then(|w| w.unwrap(backup, ctx))
            .is_ok_and(|k| k.expose() == archive_key.expose())
            && backup
                .oaep_decrypt(&w[19..], &label)
                .is_ok_and(|p| p.expose() == archive_key.expose())
    };
    let w = prev.filter(unwraps).unwrap_or_else(|| {
        WrappedKey::wrap(archive_key, pk, ctx)
            .expect("wrap")
            .as_bytes()
            .to_vec()
    });
    assert!(unwraps(&w));
    w
}

/// `header || entries || manifest || signature || trailer`.
fn bk_assemble(header: &[u8], entries: &[Vec<u8>], manifest: &[u8], sig: &[u8]) -> Vec<u8> {
    let trailer = Trailer {
        manifest_len: u32::try_from(manifest.len()).expect("u32"),
        signature_len: u32::try_from(sig.len()).expect("u32"),
    }
    .encode();
    // The specification's trailer.
    assert_eq!(
        trailer.as_slice(),
        [&u32be(manifest.len())[..], &u32be(sig.len()), b"cofrebk1"].concat()
    );
    [header, &entries.concat(), manifest, sig, &trailer].concat()
}

/// Reads an archive as FORMAT.md section 13.6 says, through the cofre-core API: the
/// header, trailer, manifest and signature (and the pinned signer, if any) before any
/// decryption; then the archive key; then each entry's hash, stream and sizes. Returns
/// each file's path and restored bytes. A hash mismatch is reported as
/// [`Error::BadSignature`] (the entry is not what the signed manifest says).
fn bk_read(
    a: &[u8],
    backup: &PrivateKey,
    pinned: Option<&PublicKey>,
) -> Result<Vec<(String, Vec<u8>)>> {
    let bad = |reason| Error::Malformed {
        what: "backup",
        reason,
    };
    if a.len() < bk::HEADER_FIXED_LEN + bk::TRAILER_LEN {
        return Err(bad("too short"));
    }
    let (header, hl) = Header::parse(&a[..a.len().min(bk::MAX_HEADER_LEN)])?;
    let end = a.len() - bk::TRAILER_LEN;
    let t = Trailer::parse(&a[end..])?;
    let (ml, sl) = (t.manifest_len as usize, t.signature_len as usize);
    let mo = end
        .checked_sub(sl)
        .and_then(|n| n.checked_sub(ml))
        .filter(|&n| n >= hl)
        .ok_or(bad("too short"))?;
    let json = &a[mo..mo + ml];
    let m = Manifest::parse(json, &header, hl as u64, mo as u64)?;
    let signer = m.signer_key()?;
    let sig = Signature::from_bytes(&a[mo + ml..end])?;
    bk::verify_manifest(&sig, &signer, &a[..hl], json)?;
    if pinned.is_some_and(|p| p.to_spki() != signer.to_spki()) {
        return Err(Error::BadSignature);
    }
    let key = header.open_key(backup)?;
    let mut out = Vec::new();
    for (i, f) in m.files.iter().enumerate() {
        let start = usize::try_from(f.offset).expect("checked by Manifest::parse");
        let entry = &a[start..start + usize::try_from(f.length).expect("fits")];
        if hex(&crate::primitives::digest::sha256(&[entry])) != f.sha256 {
            return Err(Error::BadSignature);
        }
        let index = u32::try_from(i).expect("u32");
        let stored = stream::decrypt_to_vec(&key, &header.file_context(index, &f.path), entry)?;
        if stored.len() as u64 != f.stored_size {
            return Err(Error::Decrypt);
        }
        let restored = match f.compression {
            Compression::None => stored,
            Compression::Zstd => {
                zstd::stream::decode_all(stored.as_slice()).map_err(|_| Error::Decrypt)?
            }
        };
        if restored.len() as u64 != f.size {
            return Err(Error::Decrypt);
        }
        out.push((f.path.clone(), restored));
    }
    Ok(out)
}

/// An RSA key pair's public values, as stored in a vector.
fn bk_key_value(sk: &PrivateKey, desc: &str) -> Value {
    let pk = sk.public_key();
    json!({
        "description": desc,
        "private_key_pkcs8": hex(&sk.to_pkcs8().expect("pkcs8")),
        "public_key_spki": hex(pk.to_spki()),
        "public_key_text": pk.to_text(),
        "modulus_bits": pk.bits(),
        "fingerprint": hex(&pk.fingerprint()),
        "key_id": hex(&pk.key_id()),
        "fingerprint_text": crate::vault::fingerprint_text(pk),
    })
}

/// The manifest JSON exactly as cofre writes it, built by hand from the members: the
/// specification's member order, no white space.
fn bk_manifest_text(m: &Manifest) -> String {
    let files: Vec<String> = m
        .files
        .iter()
        .map(|f| {
            format!(
                r#"{{"path":"{}","size":{},"compression":"{}","stored_size":{},"offset":{},"length":{},"sha256":"{}"}}"#,
                f.path,
                f.size,
                match f.compression {
                    Compression::None => "none",
                    Compression::Zstd => "zstd",
                },
                f.stored_size,
                f.offset,
                f.length,
                f.sha256
            )
        })
        .collect();
    format!(
        r#"{{"format":{},"backup_id":"{}","created_at":{},"server_version":"{}","schema_version":{},"signer":"{}","counts":{{"users":{},"items":{},"shares":{}}},"files":[{}]}}"#,
        m.format,
        m.backup_id,
        m.created_at,
        m.server_version,
        m.schema_version,
        m.signer,
        m.counts.users,
        m.counts.items,
        m.counts.shares,
        files.join(",")
    )
}

fn backup_file(backup: &PrivateKey, signer: &PrivateKey, prev: Option<&Value>) -> Value {
    let bpk = backup.public_key();
    let spk = signer.public_key();
    let prev_archive = prev
        .and_then(|p| p["archive"]["encoding"].as_str())
        .map(|t| unhex(&Value::from(t)));
    let prev_neg = |desc: &str| previous(prev, "negative", desc, "archive");

    // The header: a fixed backup id, and a fixed archive key wrapped for the backup key.
    let backup_id = fixed::<16>(0x35);
    let other_id = fixed::<16>(0x3a);
    let archive_key = key(0x36);
    let key_ctx = [bk::CONTEXT_KEY_PREFIX, &backup_id].concat();
    let oaep_label = [
        &[0x02, 0x01, 0x01][..],
        &bpk.key_id(),
        &u32be(key_ctx.len()),
        &key_ctx,
    ]
    .concat();
    let w = bk_wrap(
        backup,
        &archive_key,
        &key_ctx,
        bk_wrapped_of(prev_archive.clone()),
    );
    let header = Header {
        backup_id,
        wrapped_key: WrappedKey::from_bytes(&w).expect("wrapped key"),
    };
    let hb = header.encode();
    let w_len = u16::try_from(w.len()).expect("u16").to_be_bytes();
    assert_eq!(
        hb,
        [&[0x05, 0x01, 0x01][..], &backup_id, &w_len, &w].concat()
    );
    assert_eq!(
        Header::parse(&hb).expect("header"),
        (header.clone(), hb.len())
    );
    let hl = hb.len();

    // The entries: a server secret as it is, and the database compressed.
    let secret = fixed::<32>(0x37).to_vec();
    let db = bk_db_plain();
    let prev_db_stored = prev
        .and_then(|p| p["archive"]["entries"][1]["stored"].as_str())
        .map(|t| unhex(&Value::from(t)));
    let db_stored = bk_zstd(&db, prev_db_stored);
    let specs = [
        (BK_SECRET_PATH, Compression::None, secret.clone(), secret),
        (BK_DB_PATH, Compression::Zstd, db, db_stored),
    ];
    let log2 = stream::DEFAULT_CHUNK_LOG2;
    let mut offset = hl;
    let (mut files, mut entries, mut entry_values) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (path, compression, restored, stored)) in specs.into_iter().enumerate() {
        let index = u32::try_from(i).expect("u32");
        let ctx = header.file_context(index, path);
        assert_eq!(
            ctx,
            [
                bk::CONTEXT_FILE_PREFIX,
                &backup_id,
                &index.to_be_bytes(),
                path.as_bytes()
            ]
            .concat()
        );
        let nonce = fixed::<16>(0x38 + i as u8);
        let (enc, chunks) = fixed_stream_log2(
            &archive_key,
            &ctx,
            log2,
            &nonce,
            &stored,
            0x40 + 0x10 * i as u8,
        );
        assert_eq!(
            stream::decrypt_to_vec(&archive_key, &ctx, &enc).expect("decrypts"),
            stored
        );
        let okm = stream_okm(&archive_key, &enc[..stream::HEADER_LEN], &ctx);
        let sha = hex(&crate::primitives::digest::sha256(&[&enc]));
        files.push(FileEntry {
            path: path.into(),
            size: restored.len() as u64,
            compression,
            stored_size: stored.len() as u64,
            offset: offset as u64,
            length: enc.len() as u64,
            sha256: sha.clone(),
        });
        entry_values.push(json!({
            "index": i, "path": path, "compression": compression,
            "restored": hex(&restored), "size": restored.len(),
            "stored": hex(&stored), "stored_size": stored.len(),
            "context": hex(&ctx), "chunk_log2": log2, "nonce": hex(&nonce),
            "header": hex(&enc[..stream::HEADER_LEN]),
            "hkdf_info": hex(&stream_info(&enc[..stream::HEADER_LEN], &ctx)),
            "stream_enc_key": hex(&okm[..32]), "stream_mac_key": hex(&okm[32..]),
            "chunks": chunks, "offset": offset, "length": enc.len(), "sha256": sha,
            "encoding": hex(&enc),
        }));
        offset += enc.len();
        entries.push(enc);
    }
    let manifest_offset = offset;

    // The manifest, its signature and the trailer.
    let manifest = Manifest {
        format: bk::MANIFEST_FORMAT,
        backup_id: hex(&backup_id),
        created_at: BK_CREATED_AT,
        server_version: BK_SERVER_VERSION.into(),
        schema_version: BK_SCHEMA_VERSION,
        signer: b64(spk.to_spki()),
        counts: Counts {
            users: 2,
            items: 1,
            shares: 0,
        },
        files,
    };
    let mj = manifest.to_json().expect("json");
    assert_eq!(
        std::str::from_utf8(&mj).expect("utf-8"),
        bk_manifest_text(&manifest)
    );
    assert_eq!(
        Manifest::parse(&mj, &header, hl as u64, manifest_offset as u64).expect("manifest"),
        manifest
    );
    let sig = bk_sign(signer, &hb, &mj, prev_archive);
    let archive = bk_assemble(&hb, &entries, &mj, &sig);
    let n = archive.len();
    let restored = bk_read(&archive, backup, Some(spk)).expect("the archive reads");
    assert_eq!(restored.len(), 2);

    // Negative vectors. Each is read with the backup key of rsa_key.json (or the
    // signer's key where it says so) and with the signer pinned.
    let raw = |d: &str, e: &str, bytes: &[u8]| reject(d, e, json!({"archive": hex(bytes)}));
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = archive.clone();
        f(&mut b);
        b
    };
    let flip = |i: usize| with(&|b| b[i] ^= 0x01);
    let set_u32 = |at: usize, v: u32| with(&|b| b[at..at + 4].copy_from_slice(&v.to_be_bytes()));
    let t = n - bk::TRAILER_LEN;
    let ml = mj.len();
    // A manifest JSON, validly signed by the signer, over the good header and entries:
    // the failure is in what it says, whatever order a reader checks in.
    let signed = |d: &str, e: &str, json: &[u8]| {
        let sig = bk_sign(signer, &hb, json, prev_neg(d));
        raw(d, e, &bk_assemble(&hb, &entries, json, &sig))
    };
    let mutated = |d: &str, e: &str, f: &dyn Fn(&mut Manifest)| {
        let mut m = manifest.clone();
        f(&mut m);
        signed(d, e, &m.to_json().expect("json"))
    };
    let text = std::str::from_utf8(&mj).expect("utf-8").to_owned();
    let edited = |d: &str, e: &str, from: &str, to: &str| {
        assert!(text.contains(from), "{from}");
        signed(d, e, text.replacen(from, to, 1).as_bytes())
    };
    let secret_entry = format!(r#"{{"path":"{BK_SECRET_PATH}","size":32,"#);

    // Another backup id with the same archive key wrapped for it.
    let other_ctx = [bk::CONTEXT_KEY_PREFIX, &other_id].concat();
    const OTHER_BACKUP: &str = "entries of another backup: another backup id (the archive key wrapped for it, the manifest naming it, validly signed), the same entries";
    let w_other = bk_wrap(
        backup,
        &archive_key,
        &other_ctx,
        bk_wrapped_of(prev_neg(OTHER_BACKUP)),
    );
    let other_header = Header {
        backup_id: other_id,
        wrapped_key: WrappedKey::from_bytes(&w_other).expect("wrapped key"),
    }
    .encode();
    let renamed_header = Header {
        backup_id: other_id,
        wrapped_key: header.wrapped_key.clone(),
    }
    .encode();
    let misbound_header = Header {
        backup_id,
        wrapped_key: WrappedKey::from_bytes(&w_other).expect("wrapped key"),
    }
    .encode();
    let other_manifest = {
        let mut m = manifest.clone();
        m.backup_id = hex(&other_id);
        m.to_json().expect("json")
    };
    const MISBOUND: &str = "archive key wrapped under another backup id's context (validly signed)";
    const BY_BACKUP_KEY: &str =
        "manifest signed by the backup key while it names the server's signer";
    const OTHER_SERVER: &str = "another signer: a consistent archive whose manifest names the backup key as signer and is signed by it (refused because the signer is pinned)";
    let other_server_manifest = {
        let mut m = manifest.clone();
        m.signer = b64(bpk.to_spki());
        m.to_json().expect("json")
    };
    // The entries in the other order, with the manifest following them.
    let swapped_entries = vec![entries[1].clone(), entries[0].clone()];
    let swapped_manifest = {
        let mut m = manifest.clone();
        m.files.swap(0, 1);
        m.files[0].offset = hl as u64;
        m.files[1].offset = (hl + entries[1].len()) as u64;
        m.to_json().expect("json")
    };
    const REORDERED: &str = "entries reordered, the manifest following them (validly signed): the index is in each entry's context";
    let manifest_changed = {
        let from = format!(r#""server_version":"{BK_SERVER_VERSION}""#);
        let at = text.find(&from).expect("server_version") + from.len() - 2;
        with(&|b| b[manifest_offset + at] ^= 0x01)
    };
    let mut negative = vec![
        // Structure: sizes, the trailer.
        raw("empty", "malformed", &[]),
        raw(
            "36 bytes: shorter than a header's fixed part and a trailer",
            "malformed",
            &archive[..36],
        ),
        raw("the header only", "malformed", &archive[..hl]),
        raw(
            "truncated by one byte (the trailer's end magic is cut)",
            "malformed",
            &archive[..n - 1],
        ),
        raw("the trailer removed", "malformed", &archive[..t]),
        raw(
            "truncated after the manifest (no signature, no trailer)",
            "malformed",
            &archive[..manifest_offset + ml],
        ),
        raw(
            "one byte appended",
            "malformed",
            &[&archive[..], &[0][..]].concat(),
        ),
        raw("end magic changed (cofrebk0)", "malformed", &flip(n - 1)),
        raw("trailer: manifest length 0", "malformed", &set_u32(t, 0)),
        raw(
            "trailer: manifest length one more (the manifest would start inside the last entry)",
            "malformed",
            &set_u32(t, u32::try_from(ml + 1).expect("u32")),
        ),
        raw(
            "trailer: manifest length longer than the archive",
            "malformed",
            &set_u32(t, u32::try_from(n).expect("u32")),
        ),
        raw(
            "trailer: signature length 0 (the manifest region moves onto the signature)",
            "malformed",
            &set_u32(t + 4, 0),
        ),
        raw(
            "trailer: signature length 1044 (above 3 + 16 + 1024)",
            "malformed",
            &set_u32(t + 4, 1044),
        ),
        raw(
            "signature truncated to 402 bytes (trailer adjusted)",
            "malformed",
            &bk_assemble(&hb, &entries, &mj, &sig[..sig.len() - 1]),
        ),
        raw(
            "a gap: one byte between the last entry and the manifest",
            "malformed",
            &[
                &archive[..manifest_offset],
                &[0][..],
                &archive[manifest_offset..],
            ]
            .concat(),
        ),
        raw(
            "one byte inserted after the header",
            "malformed",
            &[&archive[..hl], &[0][..], &archive[hl..]].concat(),
        ),
        raw(
            "first entry removed",
            "malformed",
            &bk_assemble(&hb, &entries[1..], &mj, &sig),
        ),
        raw(
            "last entry removed",
            "malformed",
            &bk_assemble(&hb, &entries[..1], &mj, &sig),
        ),
        // The header.
        raw("format type 0x04", "unsupported", &with(&|b| b[0] = 0x04)),
        raw("version 0x02", "unsupported", &with(&|b| b[1] = 0x02)),
        raw("algorithm 0x02", "unsupported", &with(&|b| b[2] = 0x02)),
        raw(
            "backup id bit flipped (the manifest names another backup id)",
            "malformed",
            &flip(3),
        ),
        raw(
            "backup id changed in the header and in the manifest, not re-signed",
            "bad_signature",
            &bk_assemble(&renamed_header, &entries, &other_manifest, &sig),
        ),
        raw(
            "wrapped key length field 0",
            "malformed",
            &with(&|b| b[19..21].copy_from_slice(&[0, 0])),
        ),
        raw(
            "wrapped key length field one more (the entries no longer start where the header ends)",
            "malformed",
            &with(&|b| {
                b[19..21].copy_from_slice(&u16::try_from(w.len() + 1).expect("u16").to_be_bytes())
            }),
        ),
        raw(
            "wrapped key length field beyond the archive's end",
            "malformed",
            &with(&|b| b[19..21].copy_from_slice(&[0xff, 0xff])),
        ),
        raw(
            "wrapped key with format type 0x03",
            "unsupported",
            &with(&|b| b[21] = 0x03),
        ),
        raw(
            "wrapped key's key id bit flipped (the header is signed)",
            "bad_signature",
            &flip(21 + 3),
        ),
        raw(
            "OAEP ciphertext bit flipped (the header is signed)",
            "bad_signature",
            &flip(21 + 19 + 100),
        ),
        // Entries, manifest and signature bytes.
        raw(
            "first entry: a nonce bit flipped (its SHA-256 no longer matches)",
            "bad_signature",
            &flip(hl + 5),
        ),
        raw(
            "last entry: last tag bit flipped",
            "bad_signature",
            &flip(manifest_offset - 1),
        ),
        raw(
            "entries swapped, manifest unchanged",
            "bad_signature",
            &bk_assemble(&hb, &swapped_entries, &mj, &sig),
        ),
        raw(
            "manifest byte changed (server_version 0.1.0 to 0.1.1), still valid JSON",
            "bad_signature",
            &manifest_changed,
        ),
        raw("signature last bit flipped", "bad_signature", &flip(t - 1)),
        raw(
            "signature's key id bit flipped",
            "bad_signature",
            &flip(manifest_offset + ml + 3),
        ),
        raw(
            BY_BACKUP_KEY,
            "bad_signature",
            &bk_assemble(
                &hb,
                &entries,
                &mj,
                &bk_sign(backup, &hb, &mj, prev_neg(BY_BACKUP_KEY)),
            ),
        ),
    ];
    let mut other_server = raw(
        OTHER_SERVER,
        "bad_signature",
        &bk_assemble(
            &hb,
            &entries,
            &other_server_manifest,
            &bk_sign(backup, &hb, &other_server_manifest, prev_neg(OTHER_SERVER)),
        ),
    );
    other_server
        .as_object_mut()
        .expect("object")
        .insert("accepted_without_pinning".into(), true.into());
    negative.push(other_server);
    negative.extend([
        // Manifests with a valid signature that break a rule.
        mutated("manifest format 2", "unsupported", &|m| m.format = 2),
        mutated("backup_id of another backup", "malformed", &|m| {
            m.backup_id = hex(&fixed::<16>(0x3a));
        }),
        mutated("backup_id in upper case", "malformed", &|m| {
            m.backup_id = m.backup_id.to_uppercase();
        }),
        mutated(
            "second entry's offset one byte late (not contiguous)",
            "malformed",
            &|m| m.files[1].offset += 1,
        ),
        mutated(
            "first entry's length 19 (shorter than a stream header)",
            "malformed",
            &|m| m.files[0].length = 19,
        ),
        mutated("duplicate path", "malformed", &|m| {
            m.files[1].path = BK_SECRET_PATH.into();
        }),
        mutated("path with a '..' component", "malformed", &|m| {
            m.files[1].path = "keys/../cofre.db".into();
        }),
        mutated("absolute path", "malformed", &|m| {
            m.files[0].path = format!("/{BK_SECRET_PATH}");
        }),
        mutated("path with an empty component", "malformed", &|m| {
            m.files[0].path = "keys//server-secret".into();
        }),
        mutated("path with a space", "malformed", &|m| {
            m.files[0].path = "keys/server secret".into();
        }),
        mutated("path of 256 bytes", "malformed", &|m| {
            m.files[0].path = format!("keys/{}", "x".repeat(251));
        }),
        mutated(
            "uncompressed entry whose size differs from stored_size",
            "malformed",
            &|m| m.files[0].size += 1,
        ),
        mutated("sha256 in upper case", "malformed", &|m| {
            m.files[0].sha256 = m.files[0].sha256.to_uppercase();
        }),
        mutated("sha256 of 62 hex digits", "malformed", &|m| {
            m.files[0].sha256.truncate(62);
        }),
        edited(
            "unknown top-level member",
            "malformed",
            r#"{"format":1,"#,
            r#"{"format":1,"comment":"x","#,
        ),
        edited(
            "unknown member in a file entry",
            "malformed",
            &secret_entry,
            &format!(r#"{{"mode":384,"path":"{BK_SECRET_PATH}","size":32,"#),
        ),
        edited(
            "unknown member in counts",
            "malformed",
            r#""shares":0}"#,
            r#""shares":0,"blobs":1}"#,
        ),
        edited(
            "duplicate member",
            "malformed",
            r#"{"format":1,"#,
            r#"{"format":1,"format":1,"#,
        ),
        edited(
            "missing member (schema_version)",
            "malformed",
            &format!(r#","schema_version":{BK_SCHEMA_VERSION}"#),
            "",
        ),
        edited(
            "unknown compression \"gzip\"",
            "malformed",
            r#""compression":"zstd""#,
            r#""compression":"gzip""#,
        ),
        edited(
            "size written with a fraction",
            "malformed",
            &secret_entry,
            &format!(r#"{{"path":"{BK_SECRET_PATH}","size":32.0,"#),
        ),
        edited(
            "negative size",
            "malformed",
            &secret_entry,
            &format!(r#"{{"path":"{BK_SECRET_PATH}","size":-32,"#),
        ),
        edited(
            "format as a string",
            "malformed",
            r#"{"format":1,"#,
            r#"{"format":"1","#,
        ),
        mutated("signer is not base64url", "malformed", &|m| {
            m.signer = "AQID=".into();
        }),
        mutated("signer is not a public key (SPKI)", "invalid_key", &|m| {
            m.signer = b64(&[0x30, 0x03, 0x02, 0x01, 0x01]);
        }),
    ]);
    // Validly signed manifests whose entries then fail.
    negative.push(raw(
        REORDERED,
        "decrypt",
        &bk_assemble(
            &hb,
            &swapped_entries,
            &swapped_manifest,
            &bk_sign(signer, &hb, &swapped_manifest, prev_neg(REORDERED)),
        ),
    ));
    negative.extend([
        mutated(
            "an entry renamed, validly signed: the path is in its context",
            "decrypt",
            &|m| m.files[0].path = "keys/server-secret2".into(),
        ),
        mutated(
            "stored_size one more than the stream holds (validly signed)",
            "decrypt",
            &|m| m.files[1].stored_size += 1,
        ),
        mutated(
            "size one more than the database decompresses to (validly signed)",
            "decrypt",
            &|m| m.files[1].size += 1,
        ),
        mutated(
            "the uncompressed secret marked zstd (validly signed): not a zstd frame",
            "decrypt",
            &|m| m.files[0].compression = Compression::Zstd,
        ),
        raw(
            OTHER_BACKUP,
            "decrypt",
            &bk_assemble(
                &other_header,
                &entries,
                &other_manifest,
                &bk_sign(
                    signer,
                    &other_header,
                    &other_manifest,
                    prev_neg(OTHER_BACKUP),
                ),
            ),
        ),
        raw(
            MISBOUND,
            "decrypt",
            &bk_assemble(
                &misbound_header,
                &entries,
                &mj,
                &bk_sign(signer, &misbound_header, &mj, prev_neg(MISBOUND)),
            ),
        ),
    ]);
    let mut wrong_key = raw(
        "read with another private key (the signer's): wrapped for another key",
        "key_mismatch",
        &archive,
    );
    wrong_key
        .as_object_mut()
        .expect("object")
        .insert("backup_private_key".into(), BK_READ_WITH_SIGNER.into());
    negative.push(wrong_key);

    // The passphrase-protected key file of the backup key.
    let kdf = KdfParams::Argon2id {
        memory_kib: crate::keys::kdf::ARGON2_MIN_MEMORY_KIB,
        iterations: 2,
        parallelism: 1,
    };
    let salt = KdfSalt(fixed(0x3b));
    let pass = Password::new(BK_PASSPHRASE);
    let master = MasterKey::derive(&pass, &salt, &kdf).expect("kdf");
    let stretched = master.stretched_key().expect("stretch");
    assert_eq!(
        stretched.expose().as_slice(),
        [
            hkdf_nosalt::<32>(master.expose(), LABEL_ENC),
            hkdf_nosalt::<32>(master.expose(), LABEL_MAC)
        ]
        .concat()
    );
    let kf_iv = fixed::<16>(0x3c);
    let pkcs8 = backup.to_pkcs8().expect("pkcs8");
    let sealed = SealedBox::seal_with_iv(
        &stretched,
        CONTEXT_BACKUP_PRIVATE_KEY,
        pkcs8.expose(),
        &kf_iv,
    )
    .expect("seal");
    let key_file = BackupKeyFile {
        format: KEY_FILE_FORMAT.into(),
        public_key: b64(bpk.to_spki()),
        kdf: kdf.clone(),
        salt: b64(salt.as_bytes()),
        private_key: sealed.clone(),
    };
    let kf_json = key_file.to_json().expect("json");
    assert_eq!(
        BackupKeyFile::parse(&kf_json)
            .and_then(|f| f.open(&pass))
            .expect("opens")
            .public_key(),
        bpk
    );
    let kf_bad = |d: &str, e: &str, json: String, passphrase: &str| {
        reject(
            d,
            e,
            json!({"key_file_json": json, "passphrase": passphrase}),
        )
    };
    let kf_with = |f: &dyn Fn(&mut BackupKeyFile)| {
        let mut k = key_file.clone();
        f(&mut k);
        k.to_json().expect("json")
    };
    let key_file_negative = vec![
        kf_bad(
            "wrong passphrase",
            "decrypt",
            kf_json.clone(),
            "correct horse battery staple, kept offlinE",
        ),
        kf_bad(
            "private key sealed under another context (cofre/v1/private-key)",
            "decrypt",
            kf_with(&|k| {
                k.private_key = SealedBox::seal_with_iv(
                    &stretched,
                    CONTEXT_PRIVATE_KEY,
                    pkcs8.expose(),
                    &kf_iv,
                )
                .expect("seal");
            }),
            BK_PASSPHRASE,
        ),
        kf_bad(
            "public key of another key pair (the signer's)",
            "invalid_key",
            kf_with(&|k| k.public_key = b64(spk.to_spki())),
            BK_PASSPHRASE,
        ),
        kf_bad(
            "format cofre-backup-key-v2",
            "malformed",
            kf_with(&|k| k.format = "cofre-backup-key-v2".into()),
            BK_PASSPHRASE,
        ),
        kf_bad(
            "unknown member",
            "malformed",
            kf_json.replacen("{\n", "{\n  \"comment\": \"x\",\n", 1),
            BK_PASSPHRASE,
        ),
        kf_bad(
            "salt of 15 bytes",
            "malformed",
            kf_with(&|k| k.salt = b64(&salt.as_bytes()[..15])),
            BK_PASSPHRASE,
        ),
        kf_bad(
            "Argon2id memory 19455 KiB (below the bounds of 9.2)",
            "kdf_params",
            kf_with(&|k| {
                k.kdf = KdfParams::Argon2id {
                    memory_kib: 19_455,
                    iterations: 2,
                    parallelism: 1,
                }
            }),
            BK_PASSPHRASE,
        ),
    ];

    // The public key as PEM.
    let pem = public_key_to_pem(bpk);
    let pem_body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let pem_accepted = [
        format!("\n  {pem}  \n"),
        format!("-----BEGIN PUBLIC KEY-----\n{pem_body}\n-----END PUBLIC KEY-----"),
        pem.replace('\n', "\r\n"),
    ];
    let pem_bad = |d: &str, e: &str, p: String| reject(d, e, json!({"pem": p}));
    let pem_negative = vec![
        pem_bad(
            "label RSA PUBLIC KEY",
            "malformed",
            pem.replace("PUBLIC KEY", "RSA PUBLIC KEY"),
        ),
        pem_bad(
            "text before the BEGIN line",
            "malformed",
            format!("Public key:\n{pem}"),
        ),
        pem_bad(
            "base64 padding removed",
            "malformed",
            pem.replacen('=', "", 1),
        ),
        pem_bad(
            "base64url alphabet instead of base64",
            "malformed",
            format!(
                "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
                b64(bpk.to_spki())
            ),
        ),
        pem_bad(
            "an SPKI with one trailing byte",
            "invalid_key",
            format!(
                "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
                data_encoding::BASE64.encode(&[bpk.to_spki(), &[0][..]].concat())
            ),
        ),
    ];
    assert!(
        pem.contains('='),
        "the 422-byte SPKI's base64 ends with padding"
    );

    json!({
        "description": "Backup archive: a two-file archive (a 32-byte server secret stored as it is, and a short database compressed with zstd) encrypted to the key of rsa_key.json and signed by a second RSA-3072 key (signer_key, generated once and kept), with its header, archive key, contexts, entry streams, manifest JSON, signature and trailer. The backup id, archive key, stream nonces and chunk IVs are fixed; RSA-OAEP and RSA-PSS are randomized, so the stored wrapped keys and signatures are kept while they still unwrap or verify, and the stored zstd frame is kept while it still decompresses (another zstd version may compress differently; readers only decompress). Negative vectors are read with the backup key of rsa_key.json (or the signer's key where backup_private_key says so) and the signer pinned to signer_key; hash mismatches are bad_signature. Then the backup key's passphrase-protected key file and its PEM public key.",
        "format": "docs/FORMAT.md, section 13 (Backup archive); sections 4 to 10",
        "backup_key": "rsa_key.json",
        "signer_key": bk_key_value(signer, BK_SIGNER_DESC),
        "archive": {
            "backup_id": hex(&backup_id),
            "archive_key": hex(archive_key.expose()),
            "key_context": hex(&key_ctx),
            "oaep_label": hex(&oaep_label),
            "wrapped_key": hex(&w),
            "header": hex(&hb),
            "header_len": hl,
            "entries": entry_values,
            "manifest": serde_json::to_value(&manifest).expect("json"),
            "manifest_json": text.as_str(),
            "manifest_offset": manifest_offset,
            "signature_context": context_value(bk::CONTEXT_MANIFEST),
            "signed_message": hex(&bk_signed_message(spk, &hb, &mj)),
            "signature": hex(&sig),
            "trailer": hex(&archive[t..]),
            "encoding": hex(&archive),
            "length": n,
        },
        "negative": negative,
        "key_file": {
            "passphrase": BK_PASSPHRASE,
            "passphrase_nfc_hex": hex(pass.as_bytes()),
            "kdf": kdf,
            "salt": hex(salt.as_bytes()),
            "master_key": hex(master.expose()),
            "stretched_key": hex(stretched.expose()),
            "context": context_value(CONTEXT_BACKUP_PRIVATE_KEY),
            "iv": hex(&kf_iv),
            "private_key": "rsa_key.json",
            "sealed_private_key": hex(sealed.as_bytes()),
            "key_file_json": kf_json,
        },
        "key_file_negative": key_file_negative,
        "public_key_pem": pem,
        "pem_accepted": pem_accepted,
        "pem_negative": pem_negative,
    })
}

const BK_SIGNER_DESC: &str = "The server's backup signing key (RSA-3072, generated once by cofre and kept; public exponent 65537): the manifest's signer. fingerprint_text is the form people compare (section 9.9).";

fn read_backup(v: &Value, backup: &PrivateKey) -> PrivateKey {
    let sv = &v["signer_key"];
    let signer = PrivateKey::from_pkcs8(&unhex(&sv["private_key_pkcs8"])).expect("pkcs8");
    let spk = signer.public_key();
    assert_eq!(spk.to_spki(), unhex(&sv["public_key_spki"]).as_slice());
    assert_eq!(
        &PublicKey::from_text(s(&sv["public_key_text"])).expect("text"),
        spk
    );
    assert_eq!(spk.fingerprint().as_slice(), unhex(&sv["fingerprint"]));
    assert_eq!(spk.key_id().as_slice(), unhex(&sv["key_id"]));
    assert_eq!(
        crate::vault::fingerprint_text(spk),
        s(&sv["fingerprint_text"])
    );
    assert_ne!(spk, backup.public_key(), "two keys");

    let a = &v["archive"];
    let archive = unhex(&a["encoding"]);
    assert_eq!(Some(archive.len() as u64), a["length"].as_u64());
    // The parts, through the API.
    let (header, hl) = Header::parse(&archive).expect("header");
    assert_eq!(Some(hl as u64), a["header_len"].as_u64());
    assert_eq!(header.encode(), unhex(&a["header"]));
    assert_eq!(header.backup_id.as_slice(), unhex(&a["backup_id"]));
    assert_eq!(
        header.wrapped_key.as_bytes(),
        unhex(&a["wrapped_key"]).as_slice()
    );
    assert_eq!(
        unhex(&a["key_context"]),
        [bk::CONTEXT_KEY_PREFIX, &header.backup_id].concat()
    );
    let key = header.open_key(backup).expect("the archive key unwraps");
    assert_eq!(key.expose().as_slice(), unhex(&a["archive_key"]));
    let trailer = Trailer::parse(&archive[archive.len() - bk::TRAILER_LEN..]).expect("trailer");
    assert_eq!(unhex(&a["trailer"]), trailer.encode());
    let mo = a["manifest_offset"].as_u64().expect("offset") as usize;
    let mj = &archive[mo..mo + trailer.manifest_len as usize];
    assert_eq!(mj, s(&a["manifest_json"]).as_bytes());
    let m = Manifest::parse(mj, &header, hl as u64, mo as u64).expect("manifest");
    assert_eq!(serde_json::to_value(&m).expect("json"), a["manifest"]);
    assert_eq!(&m.signer_key().expect("signer"), spk);
    let sig_bytes = &archive[mo + mj.len()..archive.len() - bk::TRAILER_LEN];
    assert_eq!(sig_bytes, unhex(&a["signature"]).as_slice());
    let sig = Signature::from_bytes(sig_bytes).expect("signature");
    bk::verify_manifest(&sig, spk, &archive[..hl], mj).expect("the manifest signature verifies");
    assert_eq!(
        unhex(&a["signed_message"]),
        bk_signed_message(spk, &archive[..hl], mj)
    );
    spk.pss_verify(&unhex(&a["signed_message"]), &sig_bytes[19..])
        .expect("over the specified signed message");
    for (i, e) in a["entries"].as_array().expect("entries").iter().enumerate() {
        let f = &m.files[i];
        let ctx = header.file_context(i as u32, &f.path);
        assert_eq!(ctx, unhex(&e["context"]));
        let enc = unhex(&e["encoding"]);
        assert_eq!(
            enc,
            archive[f.offset as usize..(f.offset + f.length) as usize]
        );
        assert_eq!(
            stream::decrypt_to_vec(&key, &ctx, &enc).expect("entry decrypts"),
            unhex(&e["stored"])
        );
    }
    // The whole reader, pinned and not.
    let files = bk_read(&archive, backup, Some(spk)).expect("the archive reads");
    assert_eq!(
        bk_read(&archive, backup, None).expect("unpinned").len(),
        files.len()
    );
    for ((path, restored), e) in files.iter().zip(a["entries"].as_array().expect("entries")) {
        assert_eq!(path, s(&e["path"]));
        assert_eq!(restored, &unhex(&e["restored"]));
    }
    for n in v["negative"].as_array().expect("negative") {
        let sk = if n["backup_private_key"] == BK_READ_WITH_SIGNER {
            &signer
        } else {
            backup
        };
        let bytes = unhex(&n["archive"]);
        assert_rejected(n, bk_read(&bytes, sk, Some(spk)));
        if n["accepted_without_pinning"] == true {
            bk_read(&bytes, sk, None).expect("accepted when the signer is not pinned");
        }
    }

    // Fresh randomized outputs have the stored layout and open.
    let (fresh, fresh_key) = Header::create(backup.public_key()).expect("header");
    assert_eq!(fresh.encode().len(), hl);
    assert_eq!(fresh.encode()[..3], archive[..3]);
    assert_eq!(
        fresh.open_key(backup).expect("opens").expose(),
        fresh_key.expose()
    );
    let fresh_sig = bk::sign_manifest(&signer, &archive[..hl], mj).expect("sign");
    assert_eq!(fresh_sig.as_bytes()[..19], sig_bytes[..19]);
    assert_eq!(fresh_sig.as_bytes().len(), sig_bytes.len());
    bk::verify_manifest(&fresh_sig, spk, &archive[..hl], mj).expect("fresh signature verifies");

    // The key file and the PEM public key.
    let k = &v["key_file"];
    let pass = Password::new(s(&k["passphrase"]));
    assert_eq!(pass.as_bytes(), unhex(&k["passphrase_nfc_hex"]).as_slice());
    let file = BackupKeyFile::parse(s(&k["key_file_json"])).expect("key file parses");
    assert_eq!(serde_json::to_value(&file.kdf).expect("json"), k["kdf"]);
    assert_eq!(
        crate::format::text::decode("salt", &file.salt).expect("salt"),
        unhex(&k["salt"])
    );
    assert_eq!(
        file.private_key.as_bytes(),
        unhex(&k["sealed_private_key"]).as_slice()
    );
    assert_eq!(file.to_json().expect("json"), s(&k["key_file_json"]));
    let opened = file.open(&pass).expect("the key file opens");
    assert_eq!(opened.public_key(), backup.public_key());
    let stretched = SymmetricKey::from_slice(&unhex(&k["stretched_key"])).expect("key");
    let pkcs8 = file
        .private_key
        .open(&stretched, CONTEXT_BACKUP_PRIVATE_KEY)
        .expect("opens under the stored stretched key");
    assert_eq!(pkcs8.expose(), backup.to_pkcs8().expect("pkcs8").expose());
    for n in v["key_file_negative"].as_array().expect("negative") {
        let r = BackupKeyFile::parse(s(&n["key_file_json"]))
            .and_then(|f| f.open(&Password::new(s(&n["passphrase"]))));
        assert_rejected(n, r);
    }
    let pem = s(&v["public_key_pem"]);
    assert_eq!(public_key_to_pem(backup.public_key()), pem);
    for p in std::iter::once(&v["public_key_pem"]).chain(v["pem_accepted"].as_array().expect("pem"))
    {
        assert_eq!(
            &public_key_from_pem(s(p)).expect("PEM parses"),
            backup.public_key()
        );
    }
    for n in v["pem_negative"].as_array().expect("negative") {
        assert_rejected(n, public_key_from_pem(s(&n["pem"])));
    }
    signer
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
    // The backup vectors' second key (the manifest signer), kept like the first.
    let stored_signer = load_opt("backup.json")
        .and_then(|v| {
            v["signer_key"]["private_key_pkcs8"]
                .as_str()
                .map(str::to_owned)
        })
        .and_then(|t| data_encoding::HEXLOWER.decode(t.as_bytes()).ok())
        .and_then(|der| PrivateKey::from_pkcs8(&der).ok());
    let signer = match stored_signer {
        Some(k) => k,
        None if writing => PrivateKey::generate().expect("keygen"),
        None => panic!("docs/vectors/backup.json is missing or holds no usable signer key"),
    };
    // The share vectors' owner key and the recipient's key after its rotation, kept.
    let share_key = |member: &str| match sh_stored_key(load_opt("share.json").as_ref(), member) {
        Some(k) => k,
        None if writing => PrivateKey::generate().expect("keygen"),
        None => panic!("docs/vectors/share.json is missing or holds no usable {member}"),
    };
    let (share_owner, share_new) = (share_key("owner_key"), share_key("recipient_new_key"));
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
        ("owner_copy.json", owner_copy::owner_copy_file()),
        (
            "share.json",
            share_file(&sk, &share_owner, &share_new, prev("share.json").as_ref()),
        ),
        (
            "backup.json",
            backup_file(&sk, &signer, prev("backup.json").as_ref()),
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
    owner_copy::read_owner_copy(&load("owner_copy.json"), &load("vault_item.json"));
    read_share(&load("share.json"), &sk);
    let signer_stored = read_backup(&load("backup.json"), &sk);
    assert_eq!(signer_stored.public_key(), signer.public_key());
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

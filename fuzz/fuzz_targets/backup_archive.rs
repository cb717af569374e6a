//! Backup archive decoders (docs/FORMAT.md section 13) never panic on arbitrary bytes,
//! and what they accept is consistent:
//! - `Header::parse` on the input: what parses re-encodes to the bytes it consumed;
//! - `Trailer::parse` on the last 16 bytes: what parses re-encodes to them;
//! - the input as a whole archive, read as a restore reads it up to the signature:
//!   header, trailer, `Manifest::parse` of the region they delimit (what it accepts
//!   names the header's backup id and has unique valid paths, its entries tiling the
//!   space between header and manifest exactly), the signer key and the signature,
//!   verified as a restore verifies it;
//! - the input as manifest JSON against a fixed header whose backup id is the one the
//!   JSON names (when it names one), and whose end is where its entries end, so inputs
//!   get past the id and tiling checks into the per-entry ones; what parses re-encodes
//!   and parses back to an equal value;
//! - the input as a backup key file and as a PEM public key: what parses re-encodes
//!   and parses back (opening a key file is not fuzzed: each try is a full Argon2id).
#![no_main]

use cofre_core::backup::BackupKeyFile;
use cofre_core::backup::archive::{
    self, Compression, HEADER_FIXED_LEN, Header, MAX_HEADER_LEN, Manifest, TRAILER_LEN, Trailer,
};
use cofre_core::backup::key_file::{public_key_from_pem, public_key_to_pem};
use cofre_core::format::{Signature, WrappedKey};
use libfuzzer_sys::fuzz_target;

/// Checks what `Manifest::parse` promises about a manifest it accepted.
fn check_manifest(m: &Manifest, header: &Header, header_len: u64, manifest_offset: u64) {
    assert_eq!(m.format, archive::MANIFEST_FORMAT);
    assert_eq!(m.backup_id, header.id_hex());
    let mut at = header_len;
    let mut paths = std::collections::HashSet::new();
    for f in &m.files {
        archive::check_path(&f.path).unwrap();
        assert!(paths.insert(f.path.as_str()), "a path twice");
        assert_eq!(f.offset, at);
        assert!(f.length >= 20);
        assert!(f.compression == Compression::Zstd || f.size == f.stored_size);
        assert_eq!(f.sha256.len(), 64);
        at += f.length;
    }
    assert_eq!(at, manifest_offset);
    let json = m.to_json().unwrap();
    let back = Manifest::parse(&json, header, header_len, manifest_offset).unwrap();
    assert_eq!(&back, m);
}

/// The input as a whole archive, checked as `Archive::open` does.
fn whole_archive(data: &[u8]) {
    if data.len() < HEADER_FIXED_LEN + TRAILER_LEN {
        return;
    }
    let Ok((header, header_len)) = Header::parse(&data[..data.len().min(MAX_HEADER_LEN)]) else {
        return;
    };
    let end = data.len() - TRAILER_LEN;
    let Ok(trailer) = Trailer::parse(&data[end..]) else {
        return;
    };
    let (ml, sl) = (
        trailer.manifest_len as usize,
        trailer.signature_len as usize,
    );
    let Some(mo) = end
        .checked_sub(sl)
        .and_then(|n| n.checked_sub(ml))
        .filter(|&n| n >= header_len)
    else {
        return;
    };
    let json = &data[mo..mo + ml];
    let Ok(m) = Manifest::parse(json, &header, header_len as u64, mo as u64) else {
        return;
    };
    check_manifest(&m, &header, header_len as u64, mo as u64);
    let (Ok(signer), Ok(sig)) = (m.signer_key(), Signature::from_bytes(&data[mo + ml..end])) else {
        return;
    };
    // Only a genuine archive (a seed) verifies; then the signature names its signer.
    if archive::verify_manifest(&sig, &signer, &data[..header_len], json).is_ok() {
        assert_eq!(sig.signer_key_id(), signer.key_id());
    }
}

/// The input as manifest JSON, against a header that names the JSON's backup id.
fn manifest_json(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let mut backup_id = [0x11u8; 16];
    if let Some(id) = v["backup_id"].as_str() {
        if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
            for (i, b) in backup_id.iter_mut().enumerate() {
                *b = u8::from_str_radix(&id[2 * i..2 * i + 2], 16).unwrap();
            }
        }
    }
    // A structurally valid wrapped key (RSA-3072 length); nothing is unwrapped here.
    let w = [&[2u8, 1, 1][..], &[0u8; 16 + 384][..]].concat();
    let header = Header {
        backup_id,
        wrapped_key: WrappedKey::from_bytes(&w).unwrap(),
    };
    let header_len = header.encode().len() as u64;
    assert_eq!(
        Header::parse(&header.encode()).unwrap(),
        (header.clone(), header_len as usize)
    );
    let ends = v["files"]
        .as_array()
        .map(|files| {
            files.iter().fold(header_len, |at, f| {
                at.saturating_add(f["length"].as_u64().unwrap_or(0))
            })
        })
        .unwrap_or(header_len);
    for offset in [ends, header_len] {
        if let Ok(m) = Manifest::parse(data, &header, header_len, offset) {
            check_manifest(&m, &header, header_len, offset);
            let _ = m.signer_key();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok((h, len)) = Header::parse(data) {
        assert!(len <= data.len() && len <= MAX_HEADER_LEN);
        assert_eq!(h.encode(), &data[..len]);
        assert_eq!(h.id_hex().len(), 32);
    }
    if data.len() >= TRAILER_LEN {
        let tail = &data[data.len() - TRAILER_LEN..];
        if let Ok(t) = Trailer::parse(tail) {
            assert_eq!(&t.encode()[..], tail);
        }
    }
    assert!(Trailer::parse(data).is_err() || data.len() == TRAILER_LEN);
    whole_archive(data);
    manifest_json(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(f) = BackupKeyFile::parse(text) {
            let json = f.to_json().unwrap();
            let back = BackupKeyFile::parse(&json).unwrap();
            assert_eq!(back.to_json().unwrap(), json);
            assert_eq!(back.public().unwrap(), f.public().unwrap());
            f.kdf.validate().unwrap();
        }
        if let Ok(k) = public_key_from_pem(text) {
            assert_eq!(public_key_from_pem(&public_key_to_pem(&k)).unwrap(), k);
        }
    }
});

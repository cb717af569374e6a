//! The backup archive: a header carrying the archive key wrapped for the backup public
//! key, one encrypted stream per file, then a manifest signed by the server and a
//! fixed-size trailer.
//!
//! ```text
//! archive = header || entry_0 || … || entry_{n-1} || manifest || signature || trailer
//! header  = 0x05 0x01 0x01 || backup_id (16) || u16be(len(W)) || W
//! entry_i = stream (section 8) of file i under K, context
//!           "cofre/v1/backup/file/" || backup_id || u32be(i) || path_i
//! trailer = u32be(len(manifest)) || u32be(len(signature)) || "cofrebk1"
//! ```
//!
//! `W` is the archive key `K` wrapped (section 6) for the backup public key with context
//! `"cofre/v1/backup/" || backup_id`; the signature (section 7) is over
//! `header || manifest` with context `"cofre/v1/backup/manifest"`.

use serde::{Deserialize, Serialize};

use crate::format::{Signature, VERSION_1, WrappedKey, stream};
use crate::primitives::rand;
use crate::primitives::rsa::{PrivateKey, PublicKey};
use crate::secret::SymmetricKey;
use crate::{Error, Result};

/// Format type byte of a backup archive.
pub const TYPE_BACKUP: u8 = 0x05;
/// Algorithm byte: RSA-OAEP-wrapped key, streams of section 8, RSA-PSS manifest signature.
pub const ALG_BACKUP_V1: u8 = 0x01;
/// Length of a backup id.
pub const BACKUP_ID_LEN: usize = 16;
/// Length of the header before the wrapped key.
pub const HEADER_FIXED_LEN: usize = 3 + BACKUP_ID_LEN + 2;
/// Longest header: a wrapped key for an 8192-bit key.
pub const MAX_HEADER_LEN: usize = HEADER_FIXED_LEN + 19 + 1024;
/// Length of the trailer.
pub const TRAILER_LEN: usize = 16;
/// The last 8 bytes of every archive.
pub const END_MAGIC: &[u8; 8] = b"cofrebk1";
/// Largest manifest accepted (about a million files).
pub const MAX_MANIFEST_LEN: u32 = 256 << 20;
/// Largest signature accepted (header, key id, an 8192-bit RSA output).
pub const MAX_SIGNATURE_LEN: u32 = 3 + 16 + 1024;
/// The manifest format this build writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;
/// Context of the wrapped archive key, followed by the backup id.
pub const CONTEXT_KEY_PREFIX: &[u8] = b"cofre/v1/backup/";
/// Context of each file's stream, followed by the backup id, `u32be(index)`, the path.
pub const CONTEXT_FILE_PREFIX: &[u8] = b"cofre/v1/backup/file/";
/// Context of the manifest signature.
pub const CONTEXT_MANIFEST: &[u8] = b"cofre/v1/backup/manifest";
/// Longest file path inside a backup.
pub const MAX_PATH_LEN: usize = 255;

const WHAT: &str = "backup";

fn malformed(reason: &'static str) -> Error {
    Error::Malformed { what: WHAT, reason }
}

/// The archive header: the backup id and the wrapped archive key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Random, names the backup and binds every context.
    pub backup_id: [u8; BACKUP_ID_LEN],
    /// The archive key, wrapped for the backup public key.
    pub wrapped_key: WrappedKey,
}

impl Header {
    /// A new header with a random id and a random archive key, wrapped for `backup_key`.
    /// Returns the header and the archive key.
    pub fn create(backup_key: &PublicKey) -> Result<(Self, SymmetricKey)> {
        let mut backup_id = [0u8; BACKUP_ID_LEN];
        rand::fill(&mut backup_id)?;
        let key = SymmetricKey::generate()?;
        let wrapped_key = WrappedKey::wrap(&key, backup_key, &key_context(&backup_id))?;
        Ok((
            Self {
                backup_id,
                wrapped_key,
            },
            key,
        ))
    }

    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        let w = self.wrapped_key.as_bytes();
        let mut out = Vec::with_capacity(HEADER_FIXED_LEN + w.len());
        out.extend_from_slice(&[TYPE_BACKUP, VERSION_1, ALG_BACKUP_V1]);
        out.extend_from_slice(&self.backup_id);
        // A wrapped key is at most 19 + 1024 bytes (WrappedKey checks it).
        out.extend_from_slice(&u16::try_from(w.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(w);
        out
    }

    /// Parses a header from the start of `bytes` (at least [`HEADER_FIXED_LEN`] bytes;
    /// pass [`MAX_HEADER_LEN`] when available). Returns it and its encoded length.
    pub fn parse(bytes: &[u8]) -> Result<(Self, usize)> {
        let rest = crate::format::check_header(WHAT, bytes, TYPE_BACKUP, ALG_BACKUP_V1)?;
        let (id, rest) = rest
            .split_first_chunk::<BACKUP_ID_LEN>()
            .ok_or(malformed("truncated header"))?;
        let (len, rest) = rest
            .split_first_chunk::<2>()
            .ok_or(malformed("truncated header"))?;
        let len = usize::from(u16::from_be_bytes(*len));
        let w = rest.get(..len).ok_or(malformed("truncated header"))?;
        let wrapped_key = WrappedKey::from_bytes(w)?;
        Ok((
            Self {
                backup_id: *id,
                wrapped_key,
            },
            HEADER_FIXED_LEN + len,
        ))
    }

    /// Unwraps the archive key with the backup private key.
    pub fn open_key(&self, backup_private: &PrivateKey) -> Result<SymmetricKey> {
        self.wrapped_key
            .unwrap(backup_private, &key_context(&self.backup_id))
    }

    /// The backup id as lowercase hex.
    pub fn id_hex(&self) -> String {
        data_encoding::HEXLOWER.encode(&self.backup_id)
    }

    /// The stream context of file `index` at `path`.
    pub fn file_context(&self, index: u32, path: &str) -> Vec<u8> {
        let mut c = Vec::with_capacity(CONTEXT_FILE_PREFIX.len() + 20 + path.len());
        c.extend_from_slice(CONTEXT_FILE_PREFIX);
        c.extend_from_slice(&self.backup_id);
        c.extend_from_slice(&index.to_be_bytes());
        c.extend_from_slice(path.as_bytes());
        c
    }
}

fn key_context(id: &[u8; BACKUP_ID_LEN]) -> Vec<u8> {
    [CONTEXT_KEY_PREFIX, id.as_slice()].concat()
}

/// How a file's bytes were stored before encryption.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// As they are (blobs, already ciphertext).
    None,
    /// Zstandard (RFC 8878), one frame.
    Zstd,
}

/// What the backed-up database held, for listing and for checking a restore.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// Accounts.
    pub users: u64,
    /// Committed items.
    pub items: u64,
    /// Active shares.
    pub shares: u64,
}

/// One file of the backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Relative path in the data directory (`/`-separated; see [`check_path`]).
    pub path: String,
    /// Size of the restored file.
    pub size: u64,
    /// How the bytes were stored.
    pub compression: Compression,
    /// Length of the stored bytes (the stream's plaintext).
    pub stored_size: u64,
    /// Offset of the entry's stream in the archive.
    pub offset: u64,
    /// Length of the entry's stream.
    pub length: u64,
    /// SHA-256 of the entry's stream (the encrypted bytes), lowercase hex.
    pub sha256: String,
}

/// The manifest: what the backup holds, signed by the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The header's backup id, lowercase hex.
    pub backup_id: String,
    /// When the snapshot was taken (Unix seconds).
    pub created_at: i64,
    /// Version of the server that made it.
    pub server_version: String,
    /// Database schema version of the snapshot.
    pub schema_version: i64,
    /// The signing public key (SPKI DER, base64url).
    pub signer: String,
    /// What the database held.
    pub counts: Counts,
    /// Every file, in archive order.
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// The JSON encoding that is signed and stored.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|_| malformed("manifest does not encode"))
    }

    /// Parses the JSON and checks it against the archive: the backup id, file paths,
    /// that entries are contiguous from `header_len` to `manifest_offset`, and sizes.
    pub fn parse(
        json: &[u8],
        header: &Header,
        header_len: u64,
        manifest_offset: u64,
    ) -> Result<Self> {
        // The format first, so a manifest of a later format (which may add members) is
        // reported as unsupported rather than malformed.
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        if let Ok(f) = serde_json::from_slice::<Format>(json)
            && f.format != MANIFEST_FORMAT
        {
            return Err(Error::Unsupported {
                what: WHAT,
                field: "manifest format",
                value: u8::try_from(f.format).unwrap_or(u8::MAX),
            });
        }
        let m: Self = serde_json::from_slice(json).map_err(|_| Error::Malformed {
            what: WHAT,
            reason: "manifest is not valid JSON of the expected shape",
        })?;
        if m.format != MANIFEST_FORMAT {
            return Err(Error::Unsupported {
                what: WHAT,
                field: "manifest format",
                value: u8::try_from(m.format).unwrap_or(u8::MAX),
            });
        }
        if m.backup_id != header.id_hex() {
            return Err(malformed("manifest names another backup id"));
        }
        let mut at = header_len;
        let mut seen = std::collections::HashSet::new();
        for f in &m.files {
            check_path(&f.path)?;
            if !seen.insert(f.path.as_str()) {
                return Err(malformed("manifest lists a path twice"));
            }
            if f.offset != at {
                return Err(malformed("manifest entries are not contiguous"));
            }
            if f.compression == Compression::None && f.size != f.stored_size {
                return Err(malformed("uncompressed entry with two sizes"));
            }
            if f.length < stream::encrypted_len(0, stream::MIN_CHUNK_LOG2) {
                return Err(malformed("entry shorter than the shortest stream"));
            }
            if f.sha256.len() != 64 || data_encoding::HEXLOWER.decode(f.sha256.as_bytes()).is_err()
            {
                return Err(malformed("entry hash is not 64 lowercase hex digits"));
            }
            at = at
                .checked_add(f.length)
                .ok_or(malformed("entry length overflows"))?;
        }
        if at != manifest_offset {
            return Err(malformed("entries do not end where the manifest starts"));
        }
        check_collisions(&m.files)?;
        Ok(m)
    }

    /// The signing public key.
    pub fn signer_key(&self) -> Result<PublicKey> {
        PublicKey::from_spki(&crate::format::text::decode("backup signer", &self.signer)?)
    }
}

/// Checks a relative path inside a backup: 1..=255 bytes, `/`-separated components of
/// ASCII letters, digits, `.`, `_` and `-`, none empty, `.` or `..`.
pub fn check_path(path: &str) -> Result<()> {
    if path.is_empty() || path.len() > MAX_PATH_LEN {
        return Err(malformed("file path length"));
    }
    for c in path.split('/') {
        if c.is_empty() || c == "." || c == ".." {
            return Err(malformed("file path component"));
        }
        if !c
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(malformed("file path character"));
        }
    }
    Ok(())
}

/// Refuses paths that would collide when restored: equal but for ASCII case (on a
/// case-insensitive file system), or one a folder of another (`a` and `a/b`).
fn check_collisions(files: &[FileEntry]) -> Result<()> {
    let lower: std::collections::HashSet<String> =
        files.iter().map(|f| f.path.to_ascii_lowercase()).collect();
    if lower.len() != files.len() {
        return Err(malformed("two paths differ only in case"));
    }
    for p in &lower {
        for (i, b) in p.bytes().enumerate() {
            if b == b'/' && lower.contains(p.get(..i).unwrap_or_default()) {
                return Err(malformed("a path is both a file and a folder"));
            }
        }
    }
    Ok(())
}

/// The fixed-size end of an archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trailer {
    /// Length of the manifest JSON.
    pub manifest_len: u32,
    /// Length of the signature.
    pub signature_len: u32,
}

impl Trailer {
    /// The encoding.
    pub fn encode(&self) -> [u8; TRAILER_LEN] {
        let mut out = [0u8; TRAILER_LEN];
        out[..4].copy_from_slice(&self.manifest_len.to_be_bytes());
        out[4..8].copy_from_slice(&self.signature_len.to_be_bytes());
        out[8..].copy_from_slice(END_MAGIC);
        out
    }

    /// Parses the last [`TRAILER_LEN`] bytes of an archive.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let b: &[u8; TRAILER_LEN] = bytes.try_into().map_err(|_| malformed("trailer length"))?;
        let (lens, magic) = b.split_at(8);
        if magic != END_MAGIC {
            return Err(malformed("does not end like a backup (truncated?)"));
        }
        let (m, s) = lens.split_at(4);
        let t = Self {
            manifest_len: u32::from_be_bytes(m.try_into().map_err(|_| malformed("trailer"))?),
            signature_len: u32::from_be_bytes(s.try_into().map_err(|_| malformed("trailer"))?),
        };
        if t.manifest_len == 0 || t.manifest_len > MAX_MANIFEST_LEN {
            return Err(malformed("manifest length"));
        }
        if t.signature_len > MAX_SIGNATURE_LEN {
            return Err(malformed("signature length"));
        }
        Ok(t)
    }
}

/// Signs `header || manifest` (the encodings) with the server's backup signing key.
pub fn sign_manifest(signer: &PrivateKey, header: &[u8], manifest: &[u8]) -> Result<Signature> {
    Signature::sign(signer, CONTEXT_MANIFEST, &[header, manifest].concat())
}

/// Verifies a manifest signature under `signer`.
pub fn verify_manifest(
    signature: &Signature,
    signer: &PublicKey,
    header: &[u8],
    manifest: &[u8],
) -> Result<()> {
    signature.verify(signer, CONTEXT_MANIFEST, &[header, manifest].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (PrivateKey, PrivateKey) {
        (
            PrivateKey::generate().unwrap(),
            PrivateKey::generate().unwrap(),
        )
    }

    #[test]
    fn header_round_trip_and_key() {
        let (backup, other) = keys();
        let (h, k) = Header::create(backup.public_key()).unwrap();
        let enc = h.encode();
        let (back, len) = Header::parse(&enc).unwrap();
        assert_eq!(len, enc.len());
        assert_eq!(back, h);
        let opened = back.open_key(&backup).unwrap();
        assert_eq!(opened.expose_secret_bytes(), k.expose_secret_bytes());
        assert!(back.open_key(&other).is_err());
        // The key is bound to the id.
        let mut moved = back.clone();
        moved.backup_id[0] ^= 1;
        assert!(moved.open_key(&backup).is_err());
        // Truncations and a bad type.
        for n in 0..enc.len() {
            assert!(Header::parse(&enc[..n]).is_err(), "{n}");
        }
        let mut bad = enc.clone();
        bad[0] = 0x04;
        assert!(matches!(
            Header::parse(&bad),
            Err(Error::Unsupported { .. })
        ));
    }

    fn manifest(h: &Header, signer: &PublicKey, header_len: u64) -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            backup_id: h.id_hex(),
            created_at: 1_700_000_000,
            server_version: "0.1.0".into(),
            schema_version: 4,
            signer: crate::format::text::encode(signer.to_spki()),
            counts: Counts::default(),
            files: vec![
                FileEntry {
                    path: "cofre.db".into(),
                    size: 100,
                    compression: Compression::Zstd,
                    stored_size: 40,
                    offset: header_len,
                    length: 200,
                    sha256: "00".repeat(32),
                },
                FileEntry {
                    path: "blobs/ab/abcdef".into(),
                    size: 10,
                    compression: Compression::None,
                    stored_size: 10,
                    offset: header_len + 200,
                    length: 100,
                    sha256: "11".repeat(32),
                },
            ],
        }
    }

    #[test]
    fn manifest_checks_and_signature() {
        let (backup, signer) = keys();
        let (h, _) = Header::create(backup.public_key()).unwrap();
        let hb = h.encode();
        let hl = hb.len() as u64;
        let m = manifest(&h, signer.public_key(), hl);
        let json = m.to_json().unwrap();
        assert_eq!(Manifest::parse(&json, &h, hl, hl + 300).unwrap(), m);
        assert!(Manifest::parse(&json, &h, hl, hl + 301).is_err(), "gap");
        assert!(
            Manifest::parse(&json, &h, hl + 1, hl + 300).is_err(),
            "offset"
        );
        let (other_h, _) = Header::create(backup.public_key()).unwrap();
        assert!(
            Manifest::parse(&json, &other_h, hl, hl + 300).is_err(),
            "id"
        );
        for bad in ["../x", "/etc/passwd", "a//b", "a/./b", "", "a b", "é"] {
            let mut b = m.clone();
            b.files[1].path = bad.into();
            let j = b.to_json().unwrap();
            assert!(Manifest::parse(&j, &h, hl, hl + 300).is_err(), "{bad:?}");
        }
        let mut dup = m.clone();
        dup.files[1].path = "cofre.db".into();
        assert!(Manifest::parse(&dup.to_json().unwrap(), &h, hl, hl + 300).is_err());
        for clash in ["COFRE.db", "cofre.db/x"] {
            let mut c = m.clone();
            c.files[1].path = clash.into();
            assert!(
                Manifest::parse(&c.to_json().unwrap(), &h, hl, hl + 300).is_err(),
                "{clash}"
            );
        }
        let mut later: serde_json::Value = serde_json::from_slice(&json).unwrap();
        later["format"] = 2.into();
        later["new_member"] = true.into();
        assert!(matches!(
            Manifest::parse(&serde_json::to_vec(&later).unwrap(), &h, hl, hl + 300),
            Err(Error::Unsupported { .. })
        ));
        let mut extra: serde_json::Value = serde_json::from_slice(&json).unwrap();
        extra["surprise"] = 1.into();
        assert!(Manifest::parse(&serde_json::to_vec(&extra).unwrap(), &h, hl, hl + 300).is_err());

        let sig = sign_manifest(&signer, &hb, &json).unwrap();
        let key = m.signer_key().unwrap();
        verify_manifest(&sig, &key, &hb, &json).unwrap();
        assert!(verify_manifest(&sig, backup.public_key(), &hb, &json).is_err());
        let mut j2 = json.clone();
        j2[10] ^= 1;
        assert!(verify_manifest(&sig, &key, &hb, &j2).is_err());
        let mut h2 = hb.clone();
        h2[5] ^= 1;
        assert!(verify_manifest(&sig, &key, &h2, &json).is_err());
    }

    #[test]
    fn trailer_round_trip_and_rejects() {
        let t = Trailer {
            manifest_len: 1234,
            signature_len: 403,
        };
        assert_eq!(Trailer::parse(&t.encode()).unwrap(), t);
        let mut bad = t.encode();
        bad[15] ^= 1;
        assert!(Trailer::parse(&bad).is_err());
        assert!(Trailer::parse(&t.encode()[1..]).is_err());
        let zero = Trailer {
            manifest_len: 0,
            signature_len: 403,
        };
        assert!(Trailer::parse(&zero.encode()).is_err());
        let huge = Trailer {
            manifest_len: 1,
            signature_len: 5000,
        };
        assert!(Trailer::parse(&huge.encode()).is_err());
    }
}

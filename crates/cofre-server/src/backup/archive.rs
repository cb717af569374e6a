//! Reading an archive: structure and signature ([`Archive::open`]), every entry's hash
//! ([`Archive::check_hashes`], no key needed), and extraction with the backup private
//! key ([`Archive::extract`]), which checks each entry's hash and authenticates every
//! chunk as it goes.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use cofre_core::backup::archive::{
    self as format, Compression, FileEntry, HEADER_FIXED_LEN, Header, MAX_HEADER_LEN, Manifest,
    TRAILER_LEN, Trailer,
};
use cofre_core::format::{Signature, stream};
use cofre_core::keys::{PrivateKey, PublicKey};
use cofre_core::primitives::digest::Sha256;
use cofre_core::secret::SymmetricKey;

use super::{BackupError, BackupResult, fingerprint, io, normalize_fingerprint};

/// An archive whose structure and manifest signature were checked.
#[derive(Debug)]
pub struct Archive {
    path: PathBuf,
    /// Total length in bytes.
    pub len: u64,
    /// The header.
    pub header: Header,
    /// The signed manifest.
    pub manifest: Manifest,
    signer: PublicKey,
}

/// What to do with each entry while extracting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extract {
    /// Write every file under the destination.
    All,
    /// Write only the database; decrypt and check the rest without keeping it.
    DatabaseOnly,
}

/// The database's path inside a backup (and in a data directory).
pub const DATABASE_PATH: &str = "cofre.db";

impl Archive {
    /// Opens `path`: checks the header, the trailer, the manifest's shape and that it
    /// covers the archive exactly, and the manifest signature (by the key it names; see
    /// [`Archive::check_signer`] for pinning).
    pub fn open(path: &Path) -> BackupResult<Self> {
        let malformed = |source| BackupError::Malformed {
            path: path.to_owned(),
            source,
        };
        let short = || {
            malformed(cofre_core::Error::Malformed {
                what: "backup",
                reason: "too short (truncated?)",
            })
        };
        let mut file = File::open(path).map_err(io(path))?;
        let len = file.metadata().map_err(io(path))?.len();
        if len < (HEADER_FIXED_LEN + TRAILER_LEN) as u64 {
            return Err(short());
        }
        let head_len = usize::try_from(len.min(MAX_HEADER_LEN as u64)).unwrap_or(MAX_HEADER_LEN);
        let mut head = vec![0u8; head_len];
        file.read_exact(&mut head).map_err(io(path))?;
        let (header, header_len) = Header::parse(&head).map_err(malformed)?;
        head.truncate(header_len);

        let mut tail = [0u8; TRAILER_LEN];
        file.seek(SeekFrom::Start(len - TRAILER_LEN as u64))
            .map_err(io(path))?;
        file.read_exact(&mut tail).map_err(io(path))?;
        let trailer = Trailer::parse(&tail).map_err(malformed)?;
        let manifest_offset = len
            .checked_sub(TRAILER_LEN as u64)
            .and_then(|n| n.checked_sub(u64::from(trailer.signature_len)))
            .and_then(|n| n.checked_sub(u64::from(trailer.manifest_len)))
            .filter(|&n| n >= header_len as u64)
            .ok_or_else(short)?;
        file.seek(SeekFrom::Start(manifest_offset))
            .map_err(io(path))?;
        let mut json = vec![0u8; trailer.manifest_len as usize];
        file.read_exact(&mut json).map_err(io(path))?;
        let mut sig = vec![0u8; trailer.signature_len as usize];
        file.read_exact(&mut sig).map_err(io(path))?;

        let manifest = Manifest::parse(&json, &header, header_len as u64, manifest_offset)
            .map_err(malformed)?;
        let signer = manifest.signer_key().map_err(malformed)?;
        let signature = Signature::from_bytes(&sig).map_err(malformed)?;
        format::verify_manifest(&signature, &signer, &head, &json).map_err(|_| {
            BackupError::BadSignature {
                path: path.to_owned(),
            }
        })?;
        Ok(Self {
            path: path.to_owned(),
            len,
            header,
            manifest,
            signer,
        })
    }

    /// The signer's fingerprint.
    pub fn signer_fingerprint(&self) -> String {
        fingerprint(&self.signer)
    }

    /// Checks the signer against a pinned fingerprint.
    pub fn check_signer(&self, expected: &str) -> BackupResult<()> {
        let found = self.signer_fingerprint();
        if normalize_fingerprint(&found) == normalize_fingerprint(expected) {
            Ok(())
        } else {
            Err(BackupError::SignerMismatch {
                found,
                expected: expected.trim().to_owned(),
            })
        }
    }

    /// Total plaintext size of the restored files.
    pub fn restored_size(&self) -> u64 {
        self.manifest.files.iter().map(|f| f.size).sum()
    }

    /// Reads every entry and compares its SHA-256 with the manifest. `progress` gets
    /// the bytes read.
    pub fn check_hashes(&self, progress: &(dyn Fn(u64) + Sync)) -> BackupResult<()> {
        let mut file = self.open_file()?;
        let mut buf = vec![0u8; 1 << 20];
        for entry in &self.manifest.files {
            file.seek(SeekFrom::Start(entry.offset))
                .map_err(io(&self.path))?;
            let mut hash = Sha256::new();
            let mut left = entry.length;
            while left > 0 {
                let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
                let chunk = buf.get_mut(..want).unwrap_or_default();
                file.read_exact(chunk).map_err(io(&self.path))?;
                hash.update(chunk);
                left -= want as u64;
                progress(want as u64);
            }
            check_hash(entry, hash)?;
        }
        Ok(())
    }

    /// Unwraps the archive key.
    pub fn open_key(&self, backup_private: &PrivateKey) -> BackupResult<SymmetricKey> {
        self.header.open_key(backup_private).map_err(|e| match e {
            cofre_core::Error::KeyMismatch | cofre_core::Error::Decrypt => BackupError::WrongKey,
            other => BackupError::Crypto(other),
        })
    }

    /// Decrypts every entry into `dest` (which must exist), checking each entry's hash
    /// and sizes. On error, what was written stays in `dest` for the caller to remove.
    pub fn extract(
        &self,
        key: &SymmetricKey,
        dest: &Path,
        mode: Extract,
        progress: &(dyn Fn(u64) + Sync),
    ) -> BackupResult<()> {
        let mut file = self.open_file()?;
        for (index, entry) in self.manifest.files.iter().enumerate() {
            file.seek(SeekFrom::Start(entry.offset))
                .map_err(io(&self.path))?;
            let index = u32::try_from(index).map_err(|_| BackupError::Worker("index".into()))?;
            let context = self.header.file_context(index, &entry.path);
            let reader = Hashing {
                inner: (&mut file).take(entry.length),
                hash: Sha256::new(),
                report: progress,
            };
            let keep = mode == Extract::All || entry.path == DATABASE_PATH;
            let target = dest.join(&entry.path);
            let out: Box<dyn WriteSync> = if keep {
                if let Some(parent) = target.parent() {
                    crate::config::create_private_dir(parent).map_err(io(parent))?;
                }
                Box::new(private_file(&target)?)
            } else {
                Box::new(Sink)
            };
            let restored = if entry.compression == Compression::None && entry.length <= SMALL_ENTRY
            {
                decrypt_small(key, &context, entry, reader, out)?
            } else {
                let (reader, restored) = decrypt_entry(key, &context, entry, reader, out)?;
                check_hash(entry, reader.hash)?;
                restored
            };
            if restored != entry.size {
                return Err(BackupError::Decrypt {
                    entry: entry.path.clone(),
                });
            }
        }
        Ok(())
    }

    fn open_file(&self) -> BackupResult<BufReader<File>> {
        let f = File::open(&self.path).map_err(io(&self.path))?;
        Ok(BufReader::with_capacity(1 << 20, f))
    }
}

fn check_hash(entry: &FileEntry, hash: Sha256) -> BackupResult<()> {
    let got = data_encoding::HEXLOWER.encode(&hash.finish());
    if cofre_core::primitives::digest::constant_time_eq(got.as_bytes(), entry.sha256.as_bytes()) {
        Ok(())
    } else {
        Err(BackupError::HashMismatch {
            entry: entry.path.clone(),
        })
    }
}

/// A destination finished at the end of its entry. Files are flushed, not synced one
/// by one: the restore syncs the whole file system once before it renames anything
/// into place ([`super::restore`]).
trait WriteSync: Write + Send {
    fn sync(&mut self) -> std::io::Result<()>;
}

impl WriteSync for std::io::BufWriter<File> {
    fn sync(&mut self) -> std::io::Result<()> {
        self.flush()
    }
}

struct Sink;

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl WriteSync for Sink {
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Counts what is written.
struct Counted<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes what is read and reports progress.
struct Hashing<'a, R> {
    inner: R,
    hash: Sha256,
    report: &'a (dyn Fn(u64) + Sync),
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(buf.get(..n).unwrap_or_default());
        (self.report)(n as u64);
        Ok(n)
    }
}

/// Entries up to this length (a 1 MiB file and its chunk overhead) are read whole and
/// decrypted on the calling thread.
const SMALL_ENTRY: u64 = (1 << 20) + (1 << 16);

/// Checks the hash of a small uncompressed entry, then decrypts it on this thread;
/// returns its length.
fn decrypt_small<R: Read>(
    key: &SymmetricKey,
    context: &[u8],
    entry: &FileEntry,
    mut reader: Hashing<'_, R>,
    mut out: Box<dyn WriteSync>,
) -> BackupResult<u64> {
    let bad = || BackupError::Decrypt {
        entry: entry.path.clone(),
    };
    let io_err = |e: std::io::Error| BackupError::Io {
        path: PathBuf::from(&entry.path),
        source: e,
    };
    let mut bytes = Vec::with_capacity(usize::try_from(entry.length).unwrap_or(0));
    reader.read_to_end(&mut bytes).map_err(io_err)?;
    // The hash first: a changed entry is reported as such, before any decryption.
    let hash = std::mem::take(&mut reader.hash);
    check_hash(entry, hash)?;
    let (header, body) = bytes.split_at_checked(stream::HEADER_LEN).ok_or_else(bad)?;
    let mut dec = stream::Decryptor::new(key, context, header).map_err(|_| bad())?;
    let chunks: Vec<&[u8]> = body.chunks(dec.encoded_chunk_len()).collect();
    if chunks.is_empty() {
        return Err(bad());
    }
    let mut restored = 0u64;
    for (i, chunk) in chunks.iter().enumerate() {
        let plain = dec
            .open_next(chunk, i + 1 == chunks.len())
            .map_err(|_| bad())?;
        out.write_all(&plain).map_err(io_err)?;
        restored += plain.len() as u64;
    }
    dec.finish().map_err(|_| bad())?;
    if restored != entry.stored_size {
        return Err(bad());
    }
    out.sync().map_err(io_err)?;
    Ok(restored)
}

/// Decrypts one entry into `out` (decompressing if needed); returns the reader (for its
/// hash) and the number of restored bytes.
fn decrypt_entry<'a, R: Read + Send>(
    key: &SymmetricKey,
    context: &[u8],
    entry: &FileEntry,
    mut reader: Hashing<'a, R>,
    out: Box<dyn WriteSync>,
) -> BackupResult<(Hashing<'a, R>, u64)> {
    let bad = || BackupError::Decrypt {
        entry: entry.path.clone(),
    };
    let io_err = |e: std::io::Error| BackupError::Io {
        path: PathBuf::from(&entry.path),
        source: e,
    };
    let mut out = Counted { inner: out, n: 0 };
    let stored = match entry.compression {
        Compression::None => {
            stream::decrypt(key, context, &mut reader, &mut out).map_err(|e| map_stream(e, &bad))?
        }
        Compression::Zstd => {
            let mut dec = super::decompress::OneFrame::new(&mut out, entry.size).map_err(io_err)?;
            let n = stream::decrypt(key, context, &mut reader, &mut dec)
                .map_err(|e| map_stream(e, &bad))?;
            dec.finish().map_err(|_| bad())?;
            n
        }
    };
    // Anything left in the entry after the stream's last chunk is not ours.
    let mut rest = [0u8; 1];
    if reader.read(&mut rest).map_err(io_err)? != 0 || stored != entry.stored_size {
        return Err(bad());
    }
    let restored = out.n;
    out.inner.sync().map_err(io_err)?;
    Ok((reader, restored))
}

fn map_stream(e: cofre_core::Error, bad: &dyn Fn() -> BackupError) -> BackupError {
    match e {
        cofre_core::Error::Io(source) if source.kind() != std::io::ErrorKind::InvalidData => {
            BackupError::Io {
                path: PathBuf::from("(backup entry)"),
                source,
            }
        }
        _ => bad(),
    }
}

/// Creates a new owner-only file (refusing to follow or replace anything).
fn private_file(path: &Path) -> BackupResult<std::io::BufWriter<File>> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let f = opts.open(path).map_err(io(path))?;
    Ok(std::io::BufWriter::with_capacity(1 << 20, f))
}

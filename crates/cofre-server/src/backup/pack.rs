//! Writing an archive: the header, then one encrypted stream per file (hashed as it is
//! written), then the signed manifest and the trailer. Memory stays bounded whatever
//! the file sizes; the archive is written under a temporary name and renamed once it
//! is complete and on disk.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use cofre_core::backup::archive::{self, Compression, FileEntry, Header, Manifest, Trailer};
use cofre_core::format::stream;
use cofre_core::keys::PrivateKey;
use cofre_core::primitives::digest::Sha256;
use cofre_core::secret::SymmetricKey;

use super::{BackupError, BackupResult, io};

/// Files up to this size are encrypted on the calling thread.
const SMALL_FILE: u64 = 1 << 20;

/// Zstandard level for the database: fast, and most of its bytes are ciphertext anyway.
const ZSTD_LEVEL: i32 = 3;

/// An archive being written.
pub struct Packer {
    out: Counting<BufWriter<File>>,
    tmp_path: PathBuf,
    final_path: PathBuf,
    header: Header,
    header_bytes: Vec<u8>,
    key: SymmetricKey,
    entries: Vec<FileEntry>,
    pending_start: u64,
}

impl std::fmt::Debug for Packer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packer")
            .field("final_path", &self.final_path)
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// A writer that counts and hashes what passes through.
struct Counting<W> {
    inner: W,
    written: u64,
    hash: Option<Sha256>,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        if let Some(h) = &mut self.hash {
            h.update(buf.get(..n).unwrap_or_default());
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that counts what it yields and reports progress.
struct Progress<'a, R> {
    inner: R,
    read: u64,
    report: &'a (dyn Fn(u64) + Sync),
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.report)(n as u64);
        Ok(n)
    }
}

impl Packer {
    /// Starts `final_path` (written as `final_path.partial` until [`Packer::finish`]).
    pub fn create(final_path: &Path, header: Header, key: SymmetricKey) -> BackupResult<Self> {
        let tmp_path = final_path.with_extension("partial");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        // Owner-only, whatever the umask.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let file: File = opts.open(&tmp_path).map_err(io(&tmp_path))?;
        let mut out = Counting {
            inner: BufWriter::with_capacity(1 << 20, file),
            written: 0,
            hash: None,
        };
        let header_bytes = header.encode();
        out.write_all(&header_bytes).map_err(io(&tmp_path))?;
        Ok(Self {
            out,
            tmp_path,
            final_path: final_path.to_owned(),
            header,
            header_bytes,
            key,
            entries: Vec::new(),
            pending_start: 0,
        })
    }

    /// The backup id (hex).
    pub fn id_hex(&self) -> String {
        self.header.id_hex()
    }

    /// Adds the file at `source` as `path`. Returns `Ok(false)`, adding nothing, when
    /// the file does not exist (a blob deleted since the snapshot).
    pub fn add_file(
        &mut self,
        path: &str,
        source: &Path,
        compression: Compression,
        progress: &(dyn Fn(u64) + Sync),
    ) -> BackupResult<bool> {
        let file = match File::open(source) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io(source)(e)),
        };
        let size = file.metadata().map_err(io(source))?.len();
        let reader = Progress {
            inner: file,
            read: 0,
            report: progress,
        };
        match compression {
            Compression::None if size <= SMALL_FILE => {
                // Small files (most blobs of a vault of notes): read whole and sealed on
                // this thread, which is much cheaper than starting the parallel pipeline.
                let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
                let mut reader = reader;
                reader.read_to_end(&mut bytes).map_err(io(source))?;
                if bytes.len() as u64 != size {
                    return Err(io(source)(std::io::Error::other(
                        "file changed while being read",
                    )));
                }
                self.add_small(path, &bytes, source)?;
                self.finish_entry(path, size, compression, size);
            }
            Compression::None => {
                let stored = self.add_stream(path, reader, source)?;
                if stored != size {
                    return Err(io(source)(std::io::Error::other(
                        "file changed while being read",
                    )));
                }
                self.finish_entry(path, size, compression, stored);
            }
            Compression::Zstd => {
                let encoder =
                    zstd::stream::read::Encoder::new(reader, ZSTD_LEVEL).map_err(io(source))?;
                let stored = self.add_stream(path, encoder, source)?;
                self.finish_entry(path, size, compression, stored);
            }
        }
        Ok(true)
    }

    /// Adds `bytes` as `path`, uncompressed.
    pub fn add_bytes(&mut self, path: &str, bytes: &[u8]) -> BackupResult<()> {
        self.add_small(path, bytes, Path::new(path))?;
        let n = bytes.len() as u64;
        self.finish_entry(path, n, Compression::None, n);
        Ok(())
    }

    /// Encrypts `bytes` as the next entry, chunk after chunk on this thread.
    fn add_small(&mut self, path: &str, bytes: &[u8], source: &Path) -> BackupResult<()> {
        let context = self.begin_entry(path, source)?;
        let mut enc = stream::Encryptor::new(&self.key, &context).map_err(BackupError::Crypto)?;
        self.out.write_all(enc.header()).map_err(io(source))?;
        let size = enc.chunk_size();
        let count = bytes.len().div_ceil(size).max(1);
        let mut chunks = bytes.chunks(size);
        for i in 0..count {
            let chunk = chunks.next().unwrap_or_default();
            let sealed = enc
                .seal_next(chunk, i + 1 == count)
                .map_err(BackupError::Crypto)?;
            self.out.write_all(&sealed).map_err(io(source))?;
        }
        Ok(())
    }

    /// Checks the path, starts the entry's hash; returns the entry's stream context.
    fn begin_entry(&mut self, path: &str, source: &Path) -> BackupResult<Vec<u8>> {
        archive::check_path(path).map_err(|e| BackupError::Malformed {
            path: source.to_owned(),
            source: e,
        })?;
        let index = u32::try_from(self.entries.len())
            .map_err(|_| BackupError::Worker("too many files".into()))?;
        self.out.hash = Some(Sha256::new());
        self.pending_start = self.out.written;
        Ok(self.header.file_context(index, path))
    }

    /// Encrypts `reader` as the next entry; returns the plaintext length.
    fn add_stream<R: Read + Send>(
        &mut self,
        path: &str,
        reader: R,
        source: &Path,
    ) -> BackupResult<u64> {
        let context = self.begin_entry(path, source)?;
        let mut counted = Progress {
            inner: reader,
            read: 0,
            report: &|_| {},
        };
        match stream::encrypt(&self.key, &context, &mut counted, &mut self.out) {
            Ok(_) => Ok(counted.read),
            Err(cofre_core::Error::Io(e)) => Err(io(source)(e)),
            Err(e) => Err(BackupError::Crypto(e)),
        }
    }

    fn finish_entry(&mut self, path: &str, size: u64, compression: Compression, stored: u64) {
        let hash = self.out.hash.take().unwrap_or_default().finish();
        self.entries.push(FileEntry {
            path: path.to_owned(),
            size,
            compression,
            stored_size: stored,
            offset: self.pending_start,
            length: self.out.written - self.pending_start,
            sha256: data_encoding::HEXLOWER.encode(&hash),
        });
    }

    /// Writes the manifest (`manifest.files` is replaced by the entries written), its
    /// signature and the trailer, syncs the file and renames it into place. Returns the
    /// archive's path, length and manifest.
    pub fn finish(
        mut self,
        mut manifest: Manifest,
        signer: &PrivateKey,
    ) -> BackupResult<(PathBuf, u64, Manifest)> {
        manifest.files = std::mem::take(&mut self.entries);
        manifest.backup_id = self.header.id_hex();
        let json = manifest.to_json().map_err(BackupError::Crypto)?;
        let sig = archive::sign_manifest(signer, &self.header_bytes, &json)
            .map_err(BackupError::Crypto)?;
        let trailer = Trailer {
            manifest_len: u32::try_from(json.len())
                .map_err(|_| BackupError::Worker("manifest too large".into()))?,
            signature_len: u32::try_from(sig.as_bytes().len())
                .map_err(|_| BackupError::Worker("signature too large".into()))?,
        };
        let tmp = self.tmp_path.clone();
        self.out.write_all(&json).map_err(io(&tmp))?;
        self.out.write_all(sig.as_bytes()).map_err(io(&tmp))?;
        self.out.write_all(&trailer.encode()).map_err(io(&tmp))?;
        let total = self.out.written;
        let file = self
            .out
            .inner
            .into_inner()
            .map_err(|e| io(&tmp)(e.into_error()))?;
        file.sync_all().map_err(io(&tmp))?;
        drop(file);
        std::fs::rename(&tmp, &self.final_path).map_err(io(&self.final_path))?;
        if let Some(dir) = self.final_path.parent() {
            sync_dir(dir).map_err(io(dir))?;
        }
        Ok((self.final_path, total, manifest))
    }

    /// Gives up: removes the partial file.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.tmp_path);
    }
}

/// Makes a rename in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)?.sync_all()
}

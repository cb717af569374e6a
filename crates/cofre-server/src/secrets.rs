//! The server's own keys, kept as owner-only files under `DATA/keys/` (or the folder
//! given with `--keys-dir`, which replicas share):
//!
//! - `signing/<created>-<kid>.p8`: Ed25519 access-token signing keys (PKCS#8 v1 DER,
//!   RFC 8410, which `openssl pkey -in FILE` and Python `cryptography` read; files
//!   written as PKCS#8 v2 by older versions still load). The
//!   newest signs; every key present verifies, so tokens signed before a rotation stay
//!   valid until they expire. `cofre server rotate-signing-key` adds one and prunes all
//!   but the two newest.
//! - `server-secret`: 32 bytes for fake prelogin salts and recovery-code tags.
//! - `at-rest.key`: 64 bytes (AES-256 + HMAC keys) sealing TOTP secrets in the database.
//! - `backup-signing.p8`: RSA-3072 key (PKCS#8) signing backup manifests, made by the
//!   first backup ([`backup_signer`]).
//!
//! They are created on first start. Losing them logs everyone out and disables TOTP
//! (secrets can no longer be opened); it never exposes user data, which the server
//! cannot read anyway.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use cofre_core::keys::ServerSecret;
use cofre_core::primitives::digest::sha256;
use cofre_core::primitives::ed25519::SigningKeyPair;
use cofre_core::secret::SymmetricKey;

/// A signing key with its id.
#[derive(Debug)]
pub struct SigningKey {
    /// `kid`: the first 8 bytes of SHA-256 of the public key, hex.
    pub kid: String,
    /// Creation time (from the file name).
    pub created: i64,
    /// The key pair.
    pub pair: SigningKeyPair,
}

/// Every server key.
#[derive(Debug)]
pub struct ServerKeys {
    /// Signing keys, newest first (never empty).
    pub signing: Vec<SigningKey>,
    /// Fake salts and recovery-code tags.
    pub secret: ServerSecret,
    /// Seals TOTP secrets at rest.
    pub at_rest: SymmetricKey,
}

/// Why the keys could not be loaded or created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A key file is not what it should be.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The key id of an Ed25519 public key.
pub fn kid_of(public_key: &[u8]) -> String {
    let h = sha256(&[public_key]);
    data_encoding::HEXLOWER.encode(h.get(..8).unwrap_or(&h))
}

/// The key folder of a data directory when none is given: `DATA/keys`.
pub fn default_keys_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("keys")
}

impl ServerKeys {
    /// Loads the keys from the key folder `dir`, creating any that are missing. Returns
    /// whether anything was created.
    pub fn load_or_create(dir: &Path, now: i64) -> Result<(Self, bool), KeyFileError> {
        let signing_dir = dir.join("signing");
        crate::config::create_private_dir(&signing_dir).map_err(io(&signing_dir))?;
        let mut created = false;

        let secret_path = dir.join("server-secret");
        let secret = match read_secret_file(&secret_path)? {
            Some(bytes) => ServerSecret::from_bytes(&bytes)
                .map_err(|_| invalid(&secret_path, "must be 32 bytes"))?,
            None => {
                let s =
                    ServerSecret::generate().map_err(|e| invalid(&secret_path, &e.to_string()))?;
                write_private_file(&secret_path, s.expose_bytes())?;
                created = true;
                s
            }
        };

        let at_rest_path = dir.join("at-rest.key");
        let at_rest = match read_secret_file(&at_rest_path)? {
            Some(bytes) => {
                let arr: &[u8; 64] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| invalid(&at_rest_path, "must be 64 bytes"))?;
                SymmetricKey::from_secret_bytes(arr)
            }
            None => {
                let k =
                    SymmetricKey::generate().map_err(|e| invalid(&at_rest_path, &e.to_string()))?;
                write_private_file(&at_rest_path, k.expose_secret_bytes())?;
                created = true;
                k
            }
        };

        let mut signing = read_signing_keys(&signing_dir)?;
        if signing.is_empty() {
            signing.push(new_signing_key(&signing_dir, now)?);
            created = true;
        }
        Ok((
            Self {
                signing,
                secret,
                at_rest,
            },
            created,
        ))
    }

    /// The key that signs new tokens.
    pub fn current(&self) -> Option<&SigningKey> {
        self.signing.first()
    }

    /// A check value of the keys that must be the same on every server sharing a
    /// database (the server secret and the at-rest key; signing keys may differ for a
    /// while during a rotation): SHA-256 over a context string and both keys, hex. It
    /// tells whether two servers hold the same keys and reveals nothing about them.
    pub fn check_value(&self) -> String {
        let h = sha256(&[
            b"cofre/v1/server-keys-check",
            self.secret.expose_bytes(),
            self.at_rest.expose_secret_bytes(),
        ]);
        data_encoding::HEXLOWER.encode(&h)
    }
}

/// Reads the signing keys in the key folder `dir` (newest first), without creating
/// any: for a running server picking up a key another server added.
pub fn read_signing_keys_in(dir: &Path) -> Result<Vec<SigningKey>, KeyFileError> {
    read_signing_keys(&dir.join("signing"))
}

/// File name of the backup signing key in the key folder.
pub const BACKUP_SIGNER_FILE: &str = "backup-signing.p8";

/// The key that signs backup manifests (in the key folder `dir`), created on first use.
pub fn backup_signer(dir: &Path) -> Result<cofre_core::keys::PrivateKey, KeyFileError> {
    crate::config::create_private_dir(dir).map_err(io(dir))?;
    let path = dir.join(BACKUP_SIGNER_FILE);
    if let Some(der) = read_secret_file(&path)? {
        return cofre_core::keys::PrivateKey::from_pkcs8(&der)
            .map_err(|e| invalid(&path, &e.to_string()));
    }
    let key =
        cofre_core::keys::PrivateKey::generate().map_err(|e| invalid(&path, &e.to_string()))?;
    let der = key.to_pkcs8().map_err(|e| invalid(&path, &e.to_string()))?;
    match write_private_file(&path, der.expose()) {
        Ok(()) => Ok(key),
        // Another process made it first: use theirs.
        Err(KeyFileError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            let der = read_secret_file(&path)?.unwrap_or_default();
            cofre_core::keys::PrivateKey::from_pkcs8(&der)
                .map_err(|e| invalid(&path, &e.to_string()))
        }
        Err(e) => Err(e),
    }
}

/// Adds a new signing key to the key folder `dir` (it signs from the next start on;
/// running servers sharing the folder accept its tokens as soon as they see one) and
/// deletes all but the two
/// newest, so tokens signed by the previous key keep verifying until they expire.
/// Returns the new key's id.
pub fn rotate_signing_key(dir: &Path, now: i64) -> Result<String, KeyFileError> {
    let signing_dir = dir.join("signing");
    crate::config::create_private_dir(&signing_dir).map_err(io(&signing_dir))?;
    let existing = read_signing_keys(&signing_dir)?;
    // A new key must sort first even if the clock went backwards.
    let created = existing.first().map_or(now, |k| now.max(k.created + 1));
    let key = new_signing_key(&signing_dir, created)?;
    for old in existing.iter().skip(1) {
        let path = signing_dir.join(file_name(old.created, &old.kid));
        std::fs::remove_file(&path).map_err(io(&path))?;
    }
    Ok(key.kid)
}

fn file_name(created: i64, kid: &str) -> String {
    format!("{created:012}-{kid}.p8")
}

fn new_signing_key(dir: &Path, created: i64) -> Result<SigningKey, KeyFileError> {
    let pair = SigningKeyPair::generate().map_err(|e| invalid(dir, &e.to_string()))?;
    let kid = kid_of(pair.public_key());
    let v1 = pair
        .to_pkcs8v1()
        .map_err(|e| invalid(dir, &e.to_string()))?;
    write_private_file(&dir.join(file_name(created, &kid)), v1.expose())?;
    Ok(SigningKey { kid, created, pair })
}

fn read_signing_keys(dir: &Path) -> Result<Vec<SigningKey>, KeyFileError> {
    let mut keys = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".p8") else {
            continue;
        };
        let Some((created, kid)) = stem.split_once('-') else {
            return Err(invalid(&path, "name must be <created>-<kid>.p8"));
        };
        let created: i64 = created
            .parse()
            .map_err(|_| invalid(&path, "name must start with the creation time"))?;
        let der = read_secret_file(&path)?.unwrap_or_default();
        let pair = SigningKeyPair::from_pkcs8(&der).map_err(|e| invalid(&path, &e.to_string()))?;
        if kid_of(pair.public_key()) != kid {
            return Err(invalid(&path, "key id in the name does not match the key"));
        }
        keys.push(SigningKey {
            kid: kid.to_owned(),
            created,
            pair,
        });
    }
    keys.sort_by_key(|k| std::cmp::Reverse(k.created));
    Ok(keys)
}

fn invalid(path: &Path, reason: &str) -> KeyFileError {
    KeyFileError::Invalid {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Reads a secret file, refusing one that others can read.
fn read_secret_file(path: &Path) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, KeyFileError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(path)
                    .map_err(io(path))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    return Err(invalid(
                        path,
                        &format!(
                            "permissions {:o} let others read it; chmod 600 it",
                            mode & 0o777
                        ),
                    ));
                }
            }
            Ok(Some(zeroize::Zeroizing::new(bytes)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

/// Writes a new owner-only file (never overwrites) and syncs it.
fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), KeyFileError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    Ok(())
}

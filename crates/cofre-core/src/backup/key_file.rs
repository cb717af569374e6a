//! The backup key pair's files. The public key is a PEM `PUBLIC KEY` (SPKI) that the
//! server is configured with; the private key file is JSON holding the public key, the
//! KDF parameters and salt, and the PKCS#8 private key in a sealed box under the
//! stretched key of the passphrase (the password derivation of section 9.2), context
//! `"cofre/v1/backup-private-key"`. It is meant to be kept offline.

use serde::{Deserialize, Serialize};

use crate::format::SealedBox;
use crate::format::text;
use crate::keys::{KdfParams, KdfSalt, MasterKey};
use crate::primitives::rsa::{PrivateKey, PublicKey};
use crate::secret::Password;
use crate::{Error, Result};

/// Context of the sealed private key.
pub const CONTEXT_BACKUP_PRIVATE_KEY: &[u8] = b"cofre/v1/backup-private-key";
/// Value of the `format` field.
pub const KEY_FILE_FORMAT: &str = "cofre-backup-key-v1";

const PEM_BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const PEM_END: &str = "-----END PUBLIC KEY-----";

/// The private key file (JSON). Reading it needs the passphrase.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupKeyFile {
    /// [`KEY_FILE_FORMAT`].
    pub format: String,
    /// The public key, SPKI DER in base64url.
    pub public_key: String,
    /// Passphrase KDF.
    pub kdf: KdfParams,
    /// Its salt, base64url.
    pub salt: String,
    /// The sealed PKCS#8 private key, base64url.
    pub private_key: SealedBox,
}

impl BackupKeyFile {
    /// Makes a new RSA-3072 backup key pair and its file, protected by `passphrase`.
    pub fn generate(passphrase: &Password, kdf: KdfParams) -> Result<(Self, PrivateKey)> {
        let private = PrivateKey::generate()?;
        let salt = KdfSalt::random()?;
        let key = MasterKey::derive(passphrase, &salt, &kdf)?.stretched_key()?;
        let sealed = SealedBox::seal(
            &key,
            CONTEXT_BACKUP_PRIVATE_KEY,
            private.to_pkcs8()?.expose(),
        )?;
        Ok((
            Self {
                format: KEY_FILE_FORMAT.into(),
                public_key: text::encode(private.public_key().to_spki()),
                kdf,
                salt: text::encode(salt.as_bytes()),
                private_key: sealed,
            },
            private,
        ))
    }

    /// Parses the JSON text of a key file (no passphrase needed).
    pub fn parse(json: &str) -> Result<Self> {
        let f: Self = serde_json::from_str(json).map_err(|_| Error::Malformed {
            what: "backup key file",
            reason: "not a cofre backup key file",
        })?;
        if f.format != KEY_FILE_FORMAT {
            return Err(Error::Malformed {
                what: "backup key file",
                reason: "unknown format",
            });
        }
        f.public()?;
        f.kdf.validate()?;
        Ok(f)
    }

    /// The JSON text.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|_| Error::Usage("key file does not encode"))
    }

    /// The public key.
    pub fn public(&self) -> Result<PublicKey> {
        PublicKey::from_spki(&text::decode("backup public key", &self.public_key)?)
    }

    /// Opens the private key with the passphrase. A wrong passphrase (or a damaged file)
    /// is [`Error::Decrypt`]; a private key that does not match the public key is
    /// [`Error::InvalidKey`].
    pub fn open(&self, passphrase: &Password) -> Result<PrivateKey> {
        let salt = KdfSalt::from_bytes(&text::decode("backup key salt", &self.salt)?)?;
        let key = MasterKey::derive(passphrase, &salt, &self.kdf)?.stretched_key()?;
        let der = self.private_key.open(&key, CONTEXT_BACKUP_PRIVATE_KEY)?;
        let private = PrivateKey::from_pkcs8(der.expose())?;
        if private.public_key().to_spki() != self.public()?.to_spki() {
            return Err(Error::InvalidKey(
                "private key does not match the public key",
            ));
        }
        Ok(private)
    }
}

/// A public key as PEM (`-----BEGIN PUBLIC KEY-----`, SPKI DER, 64-column base64).
pub fn public_key_to_pem(key: &PublicKey) -> String {
    let b64 = data_encoding::BASE64.encode(key.to_spki());
    let mut out = String::from(PEM_BEGIN);
    out.push('\n');
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(PEM_END);
    out.push('\n');
    out
}

/// Parses a PEM public key (one `PUBLIC KEY` block; whitespace around lines ignored).
pub fn public_key_from_pem(pem: &str) -> Result<PublicKey> {
    let bad = |reason| Error::Malformed {
        what: "PEM public key",
        reason,
    };
    let body = pem
        .trim()
        .strip_prefix(PEM_BEGIN)
        .and_then(|r| r.strip_suffix(PEM_END))
        .ok_or(bad("not a PEM PUBLIC KEY block"))?;
    let b64: String = body.split_whitespace().collect();
    let der = data_encoding::BASE64
        .decode(b64.as_bytes())
        .map_err(|_| bad("bad base64"))?;
    PublicKey::from_spki(&der)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> KdfParams {
        KdfParams::Argon2id {
            memory_kib: crate::keys::kdf::ARGON2_MIN_MEMORY_KIB,
            iterations: 2,
            parallelism: 1,
        }
    }

    #[test]
    fn key_file_round_trip_and_wrong_passphrase() {
        let pass = Password::new("correct horse battery staple");
        let (file, private) = BackupKeyFile::generate(&pass, fast()).unwrap();
        let json = file.to_json().unwrap();
        let back = BackupKeyFile::parse(&json).unwrap();
        let opened = back.open(&pass).unwrap();
        assert_eq!(
            opened.public_key().to_spki(),
            private.public_key().to_spki()
        );
        assert!(matches!(
            back.open(&Password::new("wrong horse battery staple")),
            Err(Error::Decrypt)
        ));
        // Another key file's public key with this sealed private key: refused.
        let (other, _) = BackupKeyFile::generate(&pass, fast()).unwrap();
        let mut mixed = back.clone();
        mixed.public_key = other.public_key.clone();
        assert!(matches!(mixed.open(&pass), Err(Error::InvalidKey(_))));
        assert!(BackupKeyFile::parse("{}").is_err());
        assert!(BackupKeyFile::parse(&json.replace(KEY_FILE_FORMAT, "x")).is_err());
    }

    #[test]
    fn pem_round_trip() {
        let k = PrivateKey::generate().unwrap();
        let pem = public_key_to_pem(k.public_key());
        assert!(pem.starts_with(PEM_BEGIN));
        let back = public_key_from_pem(&format!("\n  {pem}  \n")).unwrap();
        assert_eq!(back.to_spki(), k.public_key().to_spki());
        assert!(
            public_key_from_pem("-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----")
                .is_err()
        );
        assert!(public_key_from_pem("hello").is_err());
    }
}

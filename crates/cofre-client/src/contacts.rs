//! Contacts: the public keys of the people you share with, pinned on first use.
//!
//! The server hands out public keys, so a malicious server could hand out its own and
//! read what you send. To catch that, the client remembers each contact's key the first
//! time it is used (trust on first use) in a local file, shows its fingerprint as a short
//! string both people can compare over another channel, and refuses to use a key that
//! differs from the pinned one until the user checks and re-verifies it. A fingerprint
//! obtained over another channel can also be typed in and compared
//! ([`fingerprint_matches`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cofre_core::keys::PublicKey;
use cofre_core::vault::fingerprint_text;
use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};

/// One pinned contact.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Contact {
    /// The pinned public key.
    pub public_key: PublicKey,
    /// Its fingerprint as shown to people.
    pub fingerprint: String,
    /// Whether the user confirmed the fingerprint out of band.
    pub verified: bool,
    /// When it was pinned (Unix seconds).
    pub pinned_at: i64,
}

/// What the pinned key says about a key the server just reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyCheck {
    /// Never seen: now pinned (save to keep it). Ask the user to compare the fingerprint.
    FirstUse {
        /// The fingerprint now pinned.
        fingerprint: String,
    },
    /// Same key as pinned.
    Known {
        /// Whether the user verified it.
        verified: bool,
    },
    /// A different key than the pinned one: the contact re-keyed, or the server is
    /// lying. Do not use it until the user re-verifies.
    Changed {
        /// The pinned fingerprint.
        pinned: String,
        /// The fingerprint the server reports now.
        reported: String,
    },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    /// Server URL → username → contact.
    servers: BTreeMap<String, BTreeMap<String, Contact>>,
}

/// The contacts file (`contacts.json` in the client's config directory, mode 0600).
#[derive(Debug)]
pub struct Contacts {
    path: PathBuf,
    file: File,
}

/// Letters in a fingerprint text once spaces are removed (section 9.9 of the format).
const FINGERPRINT_CHARS: usize = 32;

/// Whether `typed` is the fingerprint text of `key`. The text is accepted as people
/// copy it: any white space or dashes between characters, any letter case (so
/// `K3FQ-2M7A...` and `k3fq2m7a...` are both read); what remains must be exactly the 32
/// base32 characters of a fingerprint text, else a usage error (a typo that drops a
/// character is reported as such, not as a different key).
pub fn fingerprint_matches(key: &PublicKey, typed: &str) -> Result<bool> {
    let compact = |t: &str| -> String {
        t.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let given = compact(typed);
    let well_formed = given.len() == FINGERPRINT_CHARS
        && given
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
    if !well_formed {
        return Err(ClientError::Usage(format!(
            "{typed:?} is not a fingerprint: expected 32 letters and digits 2-7 \
             (spaces ignored), as `cofre contacts show` prints them"
        )));
    }
    Ok(given == compact(&fingerprint_text(key)))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Contacts {
    /// Loads the contacts file at `path` (empty if it does not exist).
    pub fn load(path: &Path) -> Result<Self> {
        let file = match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                ClientError::Usage(format!(
                    "{} is corrupt ({e}); fix or remove it",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => File::default(),
            Err(e) => return Err(e.into()),
        };
        Ok(Self {
            path: path.to_owned(),
            file,
        })
    }

    /// The pinned contact, if any.
    pub fn get(&self, server: &str, username: &str) -> Option<&Contact> {
        self.file.servers.get(server)?.get(username)
    }

    /// Every contact of a server.
    pub fn all(&self, server: &str) -> Vec<(&str, &Contact)> {
        self.file
            .servers
            .get(server)
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default()
    }

    /// Compares a reported key with the pinned one, pinning it on first use.
    pub fn check(&mut self, server: &str, username: &str, key: &PublicKey) -> KeyCheck {
        let reported = fingerprint_text(key);
        let contacts = self.file.servers.entry(server.to_owned()).or_default();
        match contacts.get(username) {
            Some(c) if c.public_key == *key => KeyCheck::Known {
                verified: c.verified,
            },
            Some(c) => KeyCheck::Changed {
                pinned: c.fingerprint.clone(),
                reported,
            },
            None => {
                contacts.insert(
                    username.to_owned(),
                    Contact {
                        public_key: key.clone(),
                        fingerprint: reported.clone(),
                        verified: false,
                        pinned_at: now(),
                    },
                );
                KeyCheck::FirstUse {
                    fingerprint: reported,
                }
            }
        }
    }

    /// Marks `key` as checked by the user: pins it (replacing a previous key) as
    /// verified.
    pub fn verify(&mut self, server: &str, username: &str, key: &PublicKey) {
        self.file
            .servers
            .entry(server.to_owned())
            .or_default()
            .insert(
                username.to_owned(),
                Contact {
                    public_key: key.clone(),
                    fingerprint: fingerprint_text(key),
                    verified: true,
                    pinned_at: now(),
                },
            );
    }

    /// Writes the file (through a 0600 temporary file and a rename).
    pub fn save(&self) -> Result<()> {
        use std::io::Write as _;
        let dir = self
            .path
            .parent()
            .ok_or_else(|| ClientError::Usage("contacts file has no directory".into()))?;
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        let json = serde_json::to_vec_pretty(&self.file)
            .map_err(|e| ClientError::Usage(format!("encoding contacts: {e}")))?;
        tmp.write_all(&json)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path)
            .map_err(|e| ClientError::Io(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_typed_fingerprint_is_compared_whatever_its_spacing_and_case() {
        let a = cofre_core::keys::PrivateKey::generate().unwrap();
        let b = cofre_core::keys::PrivateKey::generate().unwrap();
        let text = fingerprint_text(a.public_key());
        assert!(fingerprint_matches(a.public_key(), &text).unwrap());
        assert!(fingerprint_matches(a.public_key(), &text.to_uppercase()).unwrap());
        assert!(fingerprint_matches(a.public_key(), &text.replace(' ', "")).unwrap());
        assert!(
            fingerprint_matches(a.public_key(), &format!("  {}\n", text.replace(' ', "-")))
                .unwrap()
        );
        assert!(!fingerprint_matches(b.public_key(), &text).unwrap());
        // One character changed: a well-formed text of another key.
        let mut other = text.clone().into_bytes();
        other[0] = if other[0] == b'a' { b'b' } else { b'a' };
        let other = String::from_utf8(other).unwrap();
        assert!(!fingerprint_matches(a.public_key(), &other).unwrap());
        // Malformed: too short, too long, outside the alphabet.
        for bad in [
            &text[..text.len() - 1],
            &format!("{text}a"),
            &text.replacen(|c: char| c.is_ascii_lowercase(), "1", 1),
            "",
        ] {
            assert!(
                matches!(
                    fingerprint_matches(a.public_key(), bad),
                    Err(ClientError::Usage(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn pins_on_first_use_and_flags_a_changed_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("contacts.json");
        let a = cofre_core::keys::PrivateKey::generate().unwrap();
        let b = cofre_core::keys::PrivateKey::generate().unwrap();
        let mut c = Contacts::load(&path).unwrap();
        assert!(matches!(
            c.check("s", "bob", a.public_key()),
            KeyCheck::FirstUse { .. }
        ));
        c.save().unwrap();
        let mut c = Contacts::load(&path).unwrap();
        assert_eq!(
            c.check("s", "bob", a.public_key()),
            KeyCheck::Known { verified: false }
        );
        // Per server: the same name elsewhere is someone else.
        assert!(matches!(
            c.check("t", "bob", b.public_key()),
            KeyCheck::FirstUse { .. }
        ));
        assert!(matches!(
            c.check("s", "bob", b.public_key()),
            KeyCheck::Changed { .. }
        ));
        c.verify("s", "bob", b.public_key());
        assert_eq!(
            c.check("s", "bob", b.public_key()),
            KeyCheck::Known { verified: true }
        );
        c.save().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}

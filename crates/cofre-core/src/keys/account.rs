//! An account's keys: creating them at registration, unlocking them at login or with
//! the recovery key, and re-wrapping the user key on a password change.

use serde::{Deserialize, Serialize};

use super::{
    AuthKey, CONTEXT_PRIVATE_KEY, CONTEXT_USER_KEY_PASSWORD, CONTEXT_USER_KEY_RECOVERY, KdfParams,
    KdfSalt, MasterKey, RecoveryKey,
};
use crate::format::SealedBox;
use crate::primitives::rsa::{PrivateKey, PublicKey};
use crate::secret::{Password, SymmetricKey};
use crate::{Error, Result};

/// What the server stores about an account's keys: public values and ciphertext only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountKeys {
    /// Password KDF and its parameters.
    pub kdf: KdfParams,
    /// Password KDF salt.
    pub salt: KdfSalt,
    /// The user key sealed under the stretched key.
    pub protected_user_key: SealedBox,
    /// The user key sealed under the recovery key's wrapping key.
    pub recovery_user_key: SealedBox,
    /// The RSA-3072 public key (SPKI).
    pub public_key: PublicKey,
    /// The PKCS#8 private key sealed under the user key.
    pub protected_private_key: SealedBox,
}

/// The result of creating an account on the client.
pub struct NewAccount {
    /// To send to the server.
    pub keys: AccountKeys,
    /// To send to the server (it stores bcrypt of it).
    pub auth_key: AuthKey,
    /// To show to the user exactly once.
    pub recovery_key: RecoveryKey,
    /// The unlocked keys, ready to use.
    pub unlocked: UnlockedKeys,
}

/// What a password change sends to the server: the user key re-wrapped under the new
/// password, with a fresh salt. The private key and every item stay as they are.
pub struct PasswordChange {
    /// The (possibly new) KDF parameters.
    pub kdf: KdfParams,
    /// A fresh salt.
    pub salt: KdfSalt,
    /// The user key sealed under the new stretched key.
    pub protected_user_key: SealedBox,
    /// The new auth key.
    pub auth_key: AuthKey,
}

/// An account's unlocked keys: the user key and the RSA private key.
pub struct UnlockedKeys {
    user_key: SymmetricKey,
    private_key: PrivateKey,
}

impl UnlockedKeys {
    /// Creates every key of a new account protected by `password`.
    pub fn create(password: &Password, kdf: KdfParams) -> Result<NewAccount> {
        let salt = KdfSalt::random()?;
        let master = MasterKey::derive(password, &salt, &kdf)?;
        let user_key = SymmetricKey::generate()?;
        let private_key = PrivateKey::generate()?;
        let recovery_key = RecoveryKey::generate()?;
        let keys = AccountKeys {
            kdf,
            salt,
            protected_user_key: SealedBox::seal(
                &master.stretched_key()?,
                CONTEXT_USER_KEY_PASSWORD,
                user_key.expose(),
            )?,
            recovery_user_key: SealedBox::seal(
                &recovery_key.wrapping_key()?,
                CONTEXT_USER_KEY_RECOVERY,
                user_key.expose(),
            )?,
            public_key: private_key.public_key().clone(),
            protected_private_key: SealedBox::seal(
                &user_key,
                CONTEXT_PRIVATE_KEY,
                &private_key.to_pkcs8()?,
            )?,
        };
        Ok(NewAccount {
            keys,
            auth_key: master.auth_key()?,
            recovery_key,
            unlocked: Self {
                user_key,
                private_key,
            },
        })
    }

    /// Unlocks with the master key derived from the password.
    pub fn unlock(master: &MasterKey, keys: &AccountKeys) -> Result<Self> {
        let user_key = keys
            .protected_user_key
            .open(&master.stretched_key()?, CONTEXT_USER_KEY_PASSWORD)?;
        Self::from_user_key(SymmetricKey::from_slice(&user_key)?, keys)
    }

    /// Unlocks with the recovery key.
    pub fn unlock_with_recovery(recovery: &RecoveryKey, keys: &AccountKeys) -> Result<Self> {
        let user_key = keys
            .recovery_user_key
            .open(&recovery.wrapping_key()?, CONTEXT_USER_KEY_RECOVERY)?;
        Self::from_user_key(SymmetricKey::from_slice(&user_key)?, keys)
    }

    /// Rebuilds unlocked keys from a user key (for example one held by a local agent).
    /// Checks that the private key matches the published public key.
    pub fn from_user_key(user_key: SymmetricKey, keys: &AccountKeys) -> Result<Self> {
        let pkcs8 = keys
            .protected_private_key
            .open(&user_key, CONTEXT_PRIVATE_KEY)?;
        let private_key = PrivateKey::from_pkcs8(&pkcs8)?;
        if private_key.public_key() != &keys.public_key {
            return Err(Error::InvalidKey(
                "private key does not match the account's public key",
            ));
        }
        Ok(Self {
            user_key,
            private_key,
        })
    }

    /// Re-wraps the user key under a new password (fresh salt). Nothing else changes.
    pub fn change_password(
        &self,
        new_password: &Password,
        kdf: KdfParams,
    ) -> Result<PasswordChange> {
        let salt = KdfSalt::random()?;
        let master = MasterKey::derive(new_password, &salt, &kdf)?;
        Ok(PasswordChange {
            protected_user_key: SealedBox::seal(
                &master.stretched_key()?,
                CONTEXT_USER_KEY_PASSWORD,
                self.user_key.expose(),
            )?,
            auth_key: master.auth_key()?,
            kdf,
            salt,
        })
    }

    /// A new RSA key pair for this account (key rotation): the private key sealed under
    /// the same user key, and the unlocked keys that use it. The user key, and so the
    /// password and the recovery key, do not change.
    pub fn new_key_pair(&self) -> Result<(PublicKey, SealedBox, Self)> {
        let private_key = PrivateKey::generate()?;
        let sealed = SealedBox::seal(
            &self.user_key,
            CONTEXT_PRIVATE_KEY,
            &private_key.to_pkcs8()?,
        )?;
        Ok((
            private_key.public_key().clone(),
            sealed,
            Self {
                user_key: self.user_key.clone(),
                private_key,
            },
        ))
    }

    /// The user key.
    pub fn user_key(&self) -> &SymmetricKey {
        &self.user_key
    }

    /// The vault metadata key (FORMAT.md 9.12), derived from the user key: opens and
    /// seals the owner's copies of item metadata.
    pub fn vault_meta_key(&self) -> crate::Result<crate::owner_copy::VaultMetaKey> {
        crate::owner_copy::VaultMetaKey::derive(&self.user_key)
    }

    /// The RSA private key (unwraps item keys, signs shares).
    pub fn private_key(&self) -> &PrivateKey {
        &self.private_key
    }

    /// The RSA public key.
    pub fn public_key(&self) -> &PublicKey {
        self.private_key.public_key()
    }
}

#[cfg(test)]
mod rotation_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_new_key_pair_is_sealed_under_the_same_user_key() {
        let kdf = KdfParams::Pbkdf2Sha256 {
            iterations: 600_000,
        };
        let new = UnlockedKeys::create(&Password::new("a long enough password"), kdf).unwrap();
        let (public, sealed, unlocked) = new.unlocked.new_key_pair().unwrap();
        assert!(public != new.keys.public_key);
        let mut rotated = new.keys.clone();
        rotated.public_key = public.clone();
        rotated.protected_private_key = sealed;
        let again = UnlockedKeys::from_user_key(new.unlocked.user_key().clone(), &rotated).unwrap();
        assert!(again.public_key() == &public && unlocked.public_key() == &public);
        // The old account keys no longer match the new private key, and vice versa.
        let mut mixed = new.keys.clone();
        mixed.protected_private_key = rotated.protected_private_key.clone();
        assert!(UnlockedKeys::from_user_key(new.unlocked.user_key().clone(), &mixed).is_err());
    }
}

impl std::fmt::Debug for UnlockedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnlockedKeys(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ItemKey;

    fn fast() -> KdfParams {
        KdfParams::Argon2id {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }

    #[test]
    fn register_unlock_change_password_recover() {
        let pw = Password::new("first password");
        let acct = UnlockedKeys::create(&pw, fast()).unwrap();
        let keys = acct.keys.clone();

        // An item wrapped before the password change.
        let item = ItemKey::generate().unwrap();
        let wrapped = item
            .wrap_for(&[acct.unlocked.public_key()], "item-1")
            .unwrap();

        // Log in: same auth key, same keys.
        let master = MasterKey::derive(&pw, &keys.salt, &keys.kdf).unwrap();
        assert_eq!(
            *master.auth_key().unwrap().to_text(),
            *acct.auth_key.to_text()
        );
        let u = UnlockedKeys::unlock(&master, &keys).unwrap();
        assert_eq!(u.user_key().expose(), acct.unlocked.user_key().expose());

        // Wrong password.
        let bad = MasterKey::derive(&Password::new("wrong"), &keys.salt, &keys.kdf).unwrap();
        assert!(matches!(
            UnlockedKeys::unlock(&bad, &keys),
            Err(Error::Decrypt)
        ));

        // Password change re-wraps the user key only.
        let change = u
            .change_password(&Password::new("second password"), fast())
            .unwrap();
        let keys2 = AccountKeys {
            kdf: change.kdf.clone(),
            salt: change.salt,
            protected_user_key: change.protected_user_key.clone(),
            ..keys.clone()
        };
        assert_ne!(keys2.protected_user_key, keys.protected_user_key);
        let m2 =
            MasterKey::derive(&Password::new("second password"), &keys2.salt, &keys2.kdf).unwrap();
        assert_eq!(
            *m2.auth_key().unwrap().to_text(),
            *change.auth_key.to_text()
        );
        let u2 = UnlockedKeys::unlock(&m2, &keys2).unwrap();
        let again = ItemKey::unwrap(&wrapped[0], u2.private_key(), "item-1").unwrap();
        assert_eq!(again.key().expose(), item.key().expose());
        assert!(
            UnlockedKeys::unlock(&master, &keys2).is_err(),
            "old password still unlocks"
        );

        // Recovery key still opens the same user key after the change.
        let shown = acct.recovery_key.to_display();
        let r = UnlockedKeys::unlock_with_recovery(&RecoveryKey::parse(&shown).unwrap(), &keys2)
            .unwrap();
        assert_eq!(r.user_key().expose(), acct.unlocked.user_key().expose());
        let wrong = RecoveryKey::generate().unwrap();
        assert!(UnlockedKeys::unlock_with_recovery(&wrong, &keys2).is_err());
    }

    #[test]
    fn swapped_public_key_detected_on_unlock() {
        let pw = Password::new("pw");
        let a = UnlockedKeys::create(&pw, fast()).unwrap();
        let b = UnlockedKeys::create(&pw, fast()).unwrap();
        let mut keys = a.keys.clone();
        keys.public_key = b.keys.public_key.clone();
        let m = MasterKey::derive(&pw, &keys.salt, &keys.kdf).unwrap();
        assert!(matches!(
            UnlockedKeys::unlock(&m, &keys),
            Err(Error::InvalidKey(_))
        ));
    }

    #[test]
    fn account_keys_json_round_trip() {
        let a = UnlockedKeys::create(&Password::new("pw"), fast()).unwrap();
        let j = serde_json::to_string(&a.keys).unwrap();
        assert_eq!(serde_json::from_str::<AccountKeys>(&j).unwrap(), a.keys);
    }
}

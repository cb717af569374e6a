//! Password change and account recovery, on the client side: the user key is re-wrapped
//! here; the server only swaps hashes and ciphertext.

use cofre_api::SecretString;
use cofre_api::account::{
    ChangePasswordRequest, NewPassword, RecoverRequest, RecoveryKeysRequest, RecoveryKeysResponse,
};
use cofre_api::auth::Policy;
use cofre_core::keys::{AccountKeys, RecoveryKey, UnlockedKeys};
use cofre_core::secret::Password;
use reqwest::Method;

use crate::Client;
use crate::client::derive_master;
use crate::error::{ClientError, Result};

fn new_password_material(
    keys: &UnlockedKeys,
    new: &Password,
    policy: &Policy,
) -> Result<NewPassword> {
    let change = keys.change_password(new, policy.kdf.clone())?;
    Ok(NewPassword {
        auth_key: change.auth_key.to_text().into(),
        kdf: change.kdf,
        salt: change.salt,
        protected_user_key: change.protected_user_key,
    })
}

impl Client {
    /// The caller's key material (public key and ciphertext).
    pub async fn account_keys(&self, access: &SecretString) -> Result<AccountKeys> {
        self.call::<(), _>(Method::GET, "/account/keys", Some(access), None)
            .await
    }

    /// Changes the password: proves the current one, re-wraps the user key under the
    /// new one (nothing else is re-encrypted). The server revokes the other sessions.
    pub async fn change_password(
        &self,
        access: &SecretString,
        username: &str,
        current: &Password,
        new: &Password,
    ) -> Result<()> {
        let policy = self.policy().await?;
        crate::password::check(new, &policy, &[username])?;
        let keys = self.account_keys(access).await?;
        let master = derive_master(current, keys.salt, keys.kdf.clone()).await?;
        let unlocked = UnlockedKeys::unlock(&master, &keys)
            .map_err(|_| ClientError::WrongCredentials("the current password is wrong".into()))?;
        let new_copy = Password::new(new.expose_str());
        let material = tokio::task::spawn_blocking(move || {
            new_password_material(&unlocked, &new_copy, &policy)
        })
        .await
        .map_err(|_| ClientError::Usage("key derivation was cancelled".into()))??;
        let req = ChangePasswordRequest {
            current_auth_key: master.auth_key()?.to_text().into(),
            new: material,
        };
        self.call_empty(Method::POST, "/account/password", Some(access), Some(&req))
            .await
    }

    /// Recovers an account with its recovery key: sets a new password, keeps every key
    /// and item. Every session is revoked; log in again afterwards.
    pub async fn recover(
        &self,
        username: &str,
        recovery_key: &RecoveryKey,
        new: &Password,
    ) -> Result<()> {
        let policy = self.policy().await?;
        crate::password::check(new, &policy, &[username])?;
        let recovery_auth_key: SecretString = recovery_key.auth_key()?.to_text().into();
        let req = RecoveryKeysRequest {
            username: username.to_owned(),
            recovery_auth_key: recovery_auth_key.clone(),
        };
        let resp: RecoveryKeysResponse = self
            .call(Method::POST, "/account/recover/keys", None, Some(&req))
            .await?;
        let unlocked = UnlockedKeys::unlock_with_recovery(recovery_key, &resp.keys)?;
        let new_copy = Password::new(new.expose_str());
        let material = tokio::task::spawn_blocking(move || {
            new_password_material(&unlocked, &new_copy, &policy)
        })
        .await
        .map_err(|_| ClientError::Usage("key derivation was cancelled".into()))??;
        let req = RecoverRequest {
            username: username.to_owned(),
            recovery_auth_key,
            new: material,
        };
        self.call_empty(Method::POST, "/account/recover", None, Some(&req))
            .await
    }
}

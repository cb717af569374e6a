//! Key rotations in progress, and the writes a rotation makes: re-wrapped item keys
//! (the caller's items and items shared with them) and re-signed outgoing shares.

use cofre_core::keys::AccountKeys;
use sqlx::Row as _;

use super::{StoreError, StoreResult, is_unique_violation, optional};

/// A pending key pair, as stored (text forms).
#[derive(Clone, Debug)]
pub struct PendingRow {
    /// SPKI text form.
    pub public_key: String,
    /// Sealed PKCS#8 text form.
    pub protected_private_key: String,
}

/// An outgoing share row.
#[derive(Clone, Debug)]
pub struct OutgoingRow {
    /// Item.
    pub item_id: String,
    /// Recipient username.
    pub recipient: String,
    /// The wrapped key the owner's signature covers, text (the original one if the
    /// recipient re-wrapped it since).
    pub wrapped_key: String,
    /// Signature text.
    pub signature: String,
    /// Share time.
    pub created_at: i64,
}

impl super::Store {
    /// The caller's pending rotation.
    pub async fn pending_rotation(&self, user_id: &str) -> StoreResult<Option<PendingRow>> {
        let row = optional(
            sqlx::query(
                "SELECT public_key, protected_private_key FROM key_rotations WHERE user_id = $1",
            )
            .bind(user_id)
            .fetch_one(self.pool())
            .await,
        )?;
        row.map(|r| {
            Ok(PendingRow {
                public_key: r.try_get("public_key")?,
                protected_private_key: r.try_get("protected_private_key")?,
            })
        })
        .transpose()
    }

    /// Starts a rotation; false when one is already pending.
    pub async fn start_rotation(
        &self,
        user_id: &str,
        p: &PendingRow,
        now: i64,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "INSERT INTO key_rotations (user_id, public_key, protected_private_key, started_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(user_id)
        .bind(&p.public_key)
        .bind(&p.protected_private_key)
        .bind(now)
        .execute(self.pool())
        .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// A page of the shares `owner_id` made, by (share time, item id, recipient).
    pub async fn outgoing_shares(
        &self,
        owner_id: &str,
        after: Option<(i64, &str, &str)>,
        limit: u32,
    ) -> StoreResult<Vec<OutgoingRow>> {
        let (t, id, who) = after.unwrap_or((i64::MIN, "", ""));
        let rows = sqlx::query(
            "SELECT s.item_id, u.username, \
               COALESCE(s.signed_wrapped_key, s.wrapped_key) AS wrapped_key, \
               s.signature, s.created_at \
             FROM item_shares s JOIN items i ON i.id = s.item_id \
             JOIN users u ON u.id = s.recipient_id \
             WHERE i.owner_id = $1 AND (s.created_at > $2 OR (s.created_at = $2 AND \
               (s.item_id > $3 OR (s.item_id = $3 AND u.username > $4)))) \
             ORDER BY s.created_at, s.item_id, u.username LIMIT $5",
        )
        .bind(owner_id)
        .bind(t)
        .bind(id)
        .bind(who)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutgoingRow {
                    item_id: r.try_get("item_id")?,
                    recipient: r.try_get("username")?,
                    wrapped_key: r.try_get("wrapped_key")?,
                    signature: r.try_get("signature")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Replaces the wrapped key of one of `owner_id`'s committed items.
    pub async fn set_own_item_key(
        &self,
        owner_id: &str,
        id: &str,
        text: &str,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE items SET wrapped_key = $3 WHERE id = $1 AND owner_id = $2 AND committed = 1",
        )
        .bind(id)
        .bind(owner_id)
        .bind(text)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The owner's username and the wrapped key the owner signed (the share's signed
    /// wrapped key, or its current one before any re-wrap) of an item shared with
    /// `recipient_id`; `None` when there is no such share.
    pub async fn received_share_original(
        &self,
        recipient_id: &str,
        id: &str,
    ) -> StoreResult<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT u.username, COALESCE(s.signed_wrapped_key, s.wrapped_key) AS original \
             FROM item_shares s JOIN items i ON i.id = s.item_id \
             JOIN users u ON u.id = i.owner_id \
             WHERE s.item_id = $1 AND s.recipient_id = $2",
        )
        .bind(id)
        .bind(recipient_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((r.try_get("username")?, r.try_get("original")?)))
            .transpose()
    }

    /// Replaces the wrapped key of an item shared with `recipient_id` and its re-wrap
    /// signature, only if the wrapped key the owner signed is still `original` (an
    /// owner who shared the item again meanwhile signed another one: then nothing is
    /// written and `false` returned). The wrapped key it replaces becomes the share's
    /// signed wrapped key unless one is kept already (the original stays across
    /// rotations).
    pub async fn set_received_key(
        &self,
        recipient_id: &str,
        id: &str,
        original: &str,
        text: &str,
        rewrap_signature: &str,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE item_shares SET \
               signed_wrapped_key = COALESCE(signed_wrapped_key, wrapped_key), \
               wrapped_key = $3, rewrap_signature = $4 \
             WHERE item_id = $1 AND recipient_id = $2 \
               AND COALESCE(signed_wrapped_key, wrapped_key) = $5",
        )
        .bind(id)
        .bind(recipient_id)
        .bind(text)
        .bind(rewrap_signature)
        .bind(original)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Replaces the signature of a share `owner_id` made.
    pub async fn set_share_signature(
        &self,
        owner_id: &str,
        item_id: &str,
        recipient_id: &str,
        text: &str,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE item_shares SET signature = $4 WHERE item_id = $1 AND recipient_id = $2 \
             AND item_id IN (SELECT id FROM items WHERE owner_id = $3)",
        )
        .bind(item_id)
        .bind(recipient_id)
        .bind(owner_id)
        .bind(text)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Every wrapped key the account holds (own committed items, then items shared
    /// with it) and every signature on shares it made: what must be on the new key
    /// before a rotation finishes.
    pub async fn rotation_material(
        &self,
        user_id: &str,
    ) -> StoreResult<(Vec<String>, Vec<String>)> {
        let keys = sqlx::query(
            "SELECT wrapped_key AS k FROM items WHERE owner_id = $1 AND committed = 1 \
             UNION ALL SELECT wrapped_key AS k FROM item_shares WHERE recipient_id = $1",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        let sigs = sqlx::query(
            "SELECT s.signature AS k FROM item_shares s JOIN items i ON i.id = s.item_id \
             WHERE i.owner_id = $1",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        let text = |rows: Vec<sqlx::any::AnyRow>| -> StoreResult<Vec<String>> {
            rows.iter()
                .map(|r| {
                    r.try_get::<Option<String>, _>("k")
                        .map(Option::unwrap_or_default)
                        .map_err(StoreError::from)
                })
                .collect()
        };
        Ok((text(keys)?, text(sigs)?))
    }

    /// Makes the pending key pair the account's and forgets the rotation, in one
    /// transaction.
    pub async fn finish_rotation(
        &self,
        user_id: &str,
        keys: &AccountKeys,
        now: i64,
    ) -> StoreResult<()> {
        let keys_json = serde_json::to_string(keys).map_err(|e| StoreError::Corrupt {
            what: "account keys",
            reason: e.to_string(),
        })?;
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE users SET keys_json = $1, updated_at = $2 WHERE id = $3")
            .bind(&keys_json)
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM key_rotations WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

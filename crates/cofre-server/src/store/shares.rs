//! Shares: which other accounts may read an item, each with the item key wrapped for
//! them and the owner's signature. Reads through a share return the recipient's
//! wrapped key; only the owner changes an item or its shares.

use std::sync::LazyLock;

use sqlx::Row as _;

use super::items::{COLUMNS, ItemRow, from_row};
use super::row::Columns;
use super::{StoreError, StoreResult, is_unique_violation, optional};

/// A share as listed for its owner.
#[derive(Clone, Debug)]
pub struct ShareRow {
    /// The recipient's username.
    pub recipient: String,
    /// When.
    pub created_at: i64,
}

/// A new share.
pub struct NewShare<'a> {
    /// The item (already checked to be the caller's).
    pub item_id: &'a str,
    /// The recipient's account id.
    pub recipient_id: &'a str,
    /// The wrapped key, text form.
    pub wrapped_key: &'a str,
    /// The owner's signature, text form.
    pub signature: &'a str,
    /// Now.
    pub now: i64,
}

/// Columns of an item read through a share: the recipient's key, the owner's
/// signature, and after a re-wrap the key the owner signed and the re-wrap signature.
fn shared_columns() -> String {
    COLUMNS.replace("i.wrapped_key", "s.wrapped_key AS wrapped_key")
        + ", s.signature AS signature, s.signed_wrapped_key AS signed_wrapped_key, \
           s.rewrap_signature AS rewrap_signature"
}

fn shared_from_row(row: &impl Columns) -> StoreResult<ItemRow> {
    let mut item = from_row(row)?;
    // The owner's copy of the metadata is the owner's alone (FORMAT.md 9.12).
    item.owner_metadata = None;
    item.signature = Some(row.text("signature")?);
    item.signed_wrapped_key = row.opt_text("signed_wrapped_key")?;
    item.rewrap_signature = row.opt_text("rewrap_signature")?;
    Ok(item)
}

/// What [`super::Store::shared_item`] runs (`$1` the item id, `$2` the recipient's id).
static SHARED_ITEM: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM item_shares s JOIN items i ON i.id = s.item_id \
         JOIN users u ON u.id = i.owner_id \
         WHERE s.item_id = $1 AND s.recipient_id = $2 AND i.committed = 1",
        shared_columns()
    )
});

impl super::Store {
    /// Adds the share of an item with an account, or replaces its key and signature
    /// (and forgets a re-wrap of the previous key).
    pub async fn put_share(&self, s: &NewShare<'_>) -> StoreResult<()> {
        let r = sqlx::query(
            "INSERT INTO item_shares (item_id, recipient_id, wrapped_key, signature, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(s.item_id)
        .bind(s.recipient_id)
        .bind(s.wrapped_key)
        .bind(s.signature)
        .bind(s.now)
        .execute(self.pool())
        .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => {
                // A new share: what a re-wrap of the previous one kept is forgotten.
                sqlx::query(
                    "UPDATE item_shares SET wrapped_key = $3, signature = $4, \
                     signed_wrapped_key = NULL, rewrap_signature = NULL \
                     WHERE item_id = $1 AND recipient_id = $2",
                )
                .bind(s.item_id)
                .bind(s.recipient_id)
                .bind(s.wrapped_key)
                .bind(s.signature)
                .execute(self.pool())
                .await?;
                Ok(())
            }
            Err(e) => Err(StoreError::from(e)),
        }
    }

    /// Removes a share (the owner revoking it, or the recipient hiding it); false when
    /// there was none.
    pub async fn delete_share(&self, item_id: &str, recipient_id: &str) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM item_shares WHERE item_id = $1 AND recipient_id = $2")
            .bind(item_id)
            .bind(recipient_id)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The recipients of an item.
    pub async fn shares_of(&self, item_id: &str) -> StoreResult<Vec<ShareRow>> {
        let rows = sqlx::query(
            "SELECT u.username, s.created_at FROM item_shares s \
             JOIN users u ON u.id = s.recipient_id WHERE s.item_id = $1 \
             ORDER BY s.created_at, u.username",
        )
        .bind(item_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ShareRow {
                    recipient: r.try_get("username")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// A committed item shared with `recipient_id`, with the recipient's wrapped key.
    pub async fn shared_item(&self, recipient_id: &str, id: &str) -> StoreResult<Option<ItemRow>> {
        if let Some(found) = self.point_read(
            &SHARED_ITEM,
            rusqlite::named_params! { "$1": id, "$2": recipient_id },
            |r| shared_from_row(r),
        ) {
            return found;
        }
        let row = optional(
            sqlx::query(sqlx::AssertSqlSafe(SHARED_ITEM.as_str()))
                .bind(id)
                .bind(recipient_id)
                .fetch_one(self.pool())
                .await,
        )?;
        row.as_ref().map(shared_from_row).transpose()
    }

    /// A page of items shared with `recipient_id`, oldest share first, after the
    /// cursor `(share time, item id)`.
    pub async fn shared_items(
        &self,
        recipient_id: &str,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> StoreResult<Vec<(i64, ItemRow)>> {
        let (t, id) = after.unwrap_or((i64::MIN, ""));
        let sql = format!(
            "SELECT {}, s.created_at AS shared_at FROM item_shares s \
             JOIN items i ON i.id = s.item_id JOIN users u ON u.id = i.owner_id \
             WHERE s.recipient_id = $1 AND i.committed = 1 \
               AND (s.created_at > $2 OR (s.created_at = $2 AND s.item_id > $3)) \
             ORDER BY s.created_at, s.item_id LIMIT $4",
            shared_columns()
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(recipient_id)
            .bind(t)
            .bind(id)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<i64, _>("shared_at")?, shared_from_row(r)?)))
            .collect()
    }
}

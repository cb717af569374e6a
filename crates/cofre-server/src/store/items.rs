//! Items: ownership, state (upload or committed), sizes, and the sealed metadata and
//! wrapped key as text. Every query names the owner, so another account's item is
//! indistinguishable from a missing one.

use std::sync::LazyLock;

use sqlx::Row as _;

use super::row::Columns;
use super::{StoreError, StoreResult, optional};

/// An item row.
#[derive(Clone, Debug)]
pub struct ItemRow {
    /// Id (32 hex digits, chosen by the client).
    pub id: String,
    /// The owner's account id.
    pub owner_id: String,
    /// The owner's username.
    pub owner: String,
    /// Whether the upload was committed (the item is visible).
    pub committed: bool,
    /// Encoded body length.
    pub size: u64,
    /// Sealed metadata, base64url (set at commit).
    pub metadata: Option<String>,
    /// The owner's wrapped item key, base64url (set at commit).
    pub wrapped_key: Option<String>,
    /// The owner's copy of the metadata (FORMAT.md 9.12), base64url: absent on items
    /// written before it existed, and on items read through a share.
    pub owner_metadata: Option<String>,
    /// Commit time (upload start until then).
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// When an uncommitted upload expires.
    pub expires_at: i64,
    /// For an item read through a share: the owner's signature over it (and
    /// `wrapped_key` is the recipient's).
    pub signature: Option<String>,
    /// For an item read through a share the recipient re-wrapped in a key rotation:
    /// the wrapped key the owner's signature covers.
    pub signed_wrapped_key: Option<String>,
    /// With `signed_wrapped_key`: the recipient's signature over the re-wrap.
    pub rewrap_signature: Option<String>,
    /// A new version of this committed item on its way, if any.
    pub replacing: Option<Replacing>,
}

/// A new version of a committed item being uploaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replacing {
    /// Its declared encoded length.
    pub size: u64,
    /// When it started.
    pub created_at: i64,
    /// When the cleanup removes it if it is not committed.
    pub expires_at: i64,
}

/// A new upload.
pub struct NewUpload<'a> {
    /// Id.
    pub id: &'a str,
    /// Owner.
    pub owner_id: &'a str,
    /// Declared encoded length.
    pub size: u64,
    /// Now.
    pub now: i64,
    /// Expiry of the upload.
    pub expires_at: i64,
    /// The owner's quota.
    pub quota: u64,
}

/// What a commit stores, as text forms: the sealed metadata, the owner's wrapped key
/// and, from clients that write it, the owner's copy of the metadata.
pub struct SealedParts<'a> {
    /// Metadata under the item key.
    pub metadata: &'a str,
    /// The item key wrapped for the owner.
    pub wrapped_key: &'a str,
    /// The owner's copy of the metadata (FORMAT.md 9.12).
    pub owner_metadata: Option<&'a str>,
}

/// Why an upload could not start.
#[derive(Debug, thiserror::Error)]
pub enum CreateItemError {
    /// The id exists.
    #[error("item id taken")]
    Taken,
    /// Over quota.
    #[error("quota exceeded")]
    Quota {
        /// Bytes used before this item.
        used: u64,
    },
    /// Anything else.
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(super) const COLUMNS: &str = "i.id, i.owner_id, u.username, i.committed, i.size, i.metadata, \
                       i.wrapped_key, i.created_at, i.updated_at, i.expires_at, \
                       i.replacing_size, i.replacing_created_at, i.replacing_expires_at, \
                       i.owner_metadata";

pub(super) fn to_u64(v: i64, what: &'static str) -> StoreResult<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt {
        what,
        reason: v.to_string(),
    })
}

fn to_i64(v: u64) -> StoreResult<i64> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt {
        what: "size",
        reason: "over 2^63".into(),
    })
}

pub(super) fn from_row(row: &impl Columns) -> StoreResult<ItemRow> {
    Ok(ItemRow {
        id: row.text("id")?,
        owner_id: row.text("owner_id")?,
        owner: row.text("username")?,
        committed: row.int("committed")? != 0,
        size: to_u64(row.int("size")?, "item size")?,
        metadata: row.opt_text("metadata")?,
        wrapped_key: row.opt_text("wrapped_key")?,
        owner_metadata: row.opt_text("owner_metadata")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
        expires_at: row.int("expires_at")?,
        signature: None,
        signed_wrapped_key: None,
        rewrap_signature: None,
        replacing: match (
            row.opt_int("replacing_size")?,
            row.opt_int("replacing_created_at")?,
            row.opt_int("replacing_expires_at")?,
        ) {
            (Some(size), Some(created_at), Some(expires_at)) => Some(Replacing {
                size: to_u64(size, "new version size")?,
                created_at,
                expires_at,
            }),
            _ => None,
        },
    })
}

/// Bytes an account holds: committed items, uploads, and new versions on their way
/// (SQL over `items`, for `WHERE owner_id = ...`).
const HELD: &str = "COALESCE(SUM(size + COALESCE(replacing_size, 0)), 0)";

/// What [`super::Store::item`] runs (`$1` the item id, `$2` the owner's account id).
static ITEM: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM items i JOIN users u ON u.id = i.owner_id \
         WHERE i.id = $1 AND i.owner_id = $2"
    )
});

impl super::Store {
    /// Bytes an account uses (committed items and uploads in progress) and how many
    /// committed items it has.
    pub async fn usage(&self, owner_id: &str) -> StoreResult<(u64, u64)> {
        let row = sqlx::query(
            // PostgreSQL sums BIGINT into NUMERIC: cast back for one portable type.
            sqlx::AssertSqlSafe(format!(
                "SELECT CAST({HELD} AS BIGINT) AS used, \
                        CAST(COALESCE(SUM(committed), 0) AS BIGINT) AS items \
                 FROM items WHERE owner_id = $1"
            )),
        )
        .bind(owner_id)
        .fetch_one(self.pool())
        .await?;
        Ok((
            to_u64(row.try_get("used")?, "usage")?,
            to_u64(row.try_get("items")?, "item count")?,
        ))
    }

    /// Starts an upload if the owner stays within the quota. The quota check and the
    /// insert are one statement, in a transaction that first takes the owner's row
    /// lock (a no-op update), so concurrent uploads (on any number of servers sharing
    /// the database) cannot both squeeze in: on PostgreSQL under READ COMMITTED the
    /// second waits for the first to commit and its check then sees the first's item;
    /// SQLite has one writer at a time anyway.
    pub async fn create_upload(&self, u: &NewUpload<'_>) -> Result<(), CreateItemError> {
        let size = to_i64(u.size)?;
        let quota = to_i64(u.quota)?;
        let mut tx = self.pool().begin().await.map_err(StoreError::from)?;
        sqlx::query("UPDATE users SET id = id WHERE id = $1")
            .bind(u.owner_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO items (id, owner_id, committed, size, created_at, updated_at, expires_at) \
             SELECT $1, $2, 0, $3, $4, $4, $5 \
             WHERE (SELECT {HELD} FROM items WHERE owner_id = $2) + $3 <= $6"
        )))
        .bind(u.id)
        .bind(u.owner_id)
        .bind(size)
        .bind(u.now)
        .bind(u.expires_at)
        .bind(quota)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(r) if r.rows_affected() == 1 => {
                tx.commit().await.map_err(StoreError::from)?;
                Ok(())
            }
            Ok(_) => {
                drop(tx);
                Err(CreateItemError::Quota {
                    used: self.usage(u.owner_id).await?.0,
                })
            }
            Err(e) if super::is_unique_violation(&e) => Err(CreateItemError::Taken),
            Err(e) => Err(StoreError::from(e).into()),
        }
    }

    /// An item of `owner_id` (committed or not).
    pub async fn item(&self, owner_id: &str, id: &str) -> StoreResult<Option<ItemRow>> {
        if let Some(found) = self.point_read(
            &ITEM,
            rusqlite::named_params! { "$1": id, "$2": owner_id },
            |r| from_row(r),
        ) {
            return found;
        }
        let row = optional(
            sqlx::query(sqlx::AssertSqlSafe(ITEM.as_str()))
                .bind(id)
                .bind(owner_id)
                .fetch_one(self.pool())
                .await,
        )?;
        row.as_ref().map(from_row).transpose()
    }

    /// Marks an upload committed with its sealed metadata, wrapped key and the
    /// owner's copy of the metadata (if the client sent one). Returns false when there
    /// is no such uncommitted upload of `owner_id`.
    pub async fn commit_item(
        &self,
        owner_id: &str,
        id: &str,
        sealed: &SealedParts<'_>,
        now: i64,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE items SET committed = 1, metadata = $3, wrapped_key = $4, \
                              owner_metadata = $6, created_at = $5, updated_at = $5 \
             WHERE id = $1 AND owner_id = $2 AND committed = 0",
        )
        .bind(id)
        .bind(owner_id)
        .bind(sealed.metadata)
        .bind(sealed.wrapped_key)
        .bind(now)
        .bind(sealed.owner_metadata)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Replaces a committed item's sealed metadata (rename), and the owner's copy of
    /// it with the one given (none: the old copy, made beside the old metadata, is
    /// dropped).
    pub async fn set_item_metadata(
        &self,
        owner_id: &str,
        id: &str,
        metadata: &str,
        owner_metadata: Option<&str>,
        now: i64,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE items SET metadata = $3, owner_metadata = $5, updated_at = $4 \
             WHERE id = $1 AND owner_id = $2 AND committed = 1",
        )
        .bind(id)
        .bind(owner_id)
        .bind(metadata)
        .bind(now)
        .bind(owner_metadata)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Sets owner's copies of metadata (FORMAT.md 9.12) of committed items of
    /// `owner_id`, in one transaction. Each entry is `(id, metadata, owner_metadata)`
    /// and is stored only while the item's metadata is still `metadata` (the box the
    /// copy was made beside): a copy computed before a concurrent rename or new version
    /// is dropped. Returns the ids stored.
    pub async fn set_owner_metadata(
        &self,
        owner_id: &str,
        copies: &[(&str, &str, &str)],
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.pool().begin().await?;
        let mut stored = Vec::new();
        for (id, metadata, owner_metadata) in copies {
            let r = sqlx::query(
                "UPDATE items SET owner_metadata = $4 \
                 WHERE id = $1 AND owner_id = $2 AND committed = 1 AND metadata = $3",
            )
            .bind(*id)
            .bind(owner_id)
            .bind(*metadata)
            .bind(*owner_metadata)
            .execute(&mut *tx)
            .await?;
            if r.rows_affected() == 1 {
                stored.push((*id).to_owned());
            }
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// Deletes an item of `owner_id`; false when there is none.
    pub async fn delete_item(&self, owner_id: &str, id: &str) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM items WHERE id = $1 AND owner_id = $2")
            .bind(id)
            .bind(owner_id)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// A page of committed items of `owner_id`, oldest first, after the cursor
    /// `(created_at, id)`.
    pub async fn list_items(
        &self,
        owner_id: &str,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> StoreResult<Vec<ItemRow>> {
        let (t, id) = after.unwrap_or((i64::MIN, ""));
        let sql = format!(
            "SELECT {COLUMNS} FROM items i JOIN users u ON u.id = i.owner_id \
             WHERE i.owner_id = $1 AND i.committed = 1 \
               AND (i.created_at > $2 OR (i.created_at = $2 AND i.id > $3)) \
             ORDER BY i.created_at, i.id LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner_id)
            .bind(t)
            .bind(id)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every unfinished upload of `owner_id`, new items and new versions (expired ones
    /// not yet removed included: they count against the quota until then).
    pub async fn pending_uploads(&self, owner_id: &str) -> StoreResult<Vec<ItemRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM items i JOIN users u ON u.id = i.owner_id \
             WHERE i.owner_id = $1 AND (i.committed = 0 OR i.replacing_size IS NOT NULL) \
             ORDER BY i.created_at, i.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Bytes reserved by the unfinished uploads of `owner_id`.
    pub async fn pending_bytes(&self, owner_id: &str) -> StoreResult<u64> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN committed = 0 THEN size ELSE 0 END \
                                      + COALESCE(replacing_size, 0)), 0) AS BIGINT) AS pending \
             FROM items WHERE owner_id = $1",
        )
        .bind(owner_id)
        .fetch_one(self.pool())
        .await?;
        to_u64(row.try_get("pending")?, "pending bytes")
    }

    /// Starts a new version of the committed item `id` of `owner_id`, of `size`
    /// encoded bytes, if the owner stays within `quota` counting both versions (the
    /// quota check and the update under the owner's row lock, as for
    /// [`Self::create_upload`]). `Taken` when a new version is already on its way;
    /// `Ok(false)` when there is no such committed item.
    pub async fn start_replacement(&self, u: &NewUpload<'_>) -> Result<bool, CreateItemError> {
        let size = to_i64(u.size)?;
        let quota = to_i64(u.quota)?;
        let mut tx = self.pool().begin().await.map_err(StoreError::from)?;
        sqlx::query("UPDATE users SET id = id WHERE id = $1")
            .bind(u.owner_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let row = optional(
            sqlx::query(
                "SELECT replacing_size FROM items WHERE id = $1 AND owner_id = $2 AND committed = 1",
            )
            .bind(u.id)
            .bind(u.owner_id)
            .fetch_one(&mut *tx)
            .await,
        )?;
        let Some(row) = row else {
            return Ok(false);
        };
        if row
            .try_get::<Option<i64>, _>("replacing_size")
            .map_err(StoreError::from)?
            .is_some()
        {
            return Err(CreateItemError::Taken);
        }
        let used = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT CAST({HELD} AS BIGINT) AS used FROM items WHERE owner_id = $1"
        )))
        .bind(u.owner_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?
        .try_get::<i64, _>("used")
        .map_err(StoreError::from)?;
        if used.saturating_add(size) > quota {
            return Err(CreateItemError::Quota {
                used: to_u64(used, "usage")?,
            });
        }
        sqlx::query(
            "UPDATE items SET replacing_size = $3, replacing_created_at = $4, \
                              replacing_expires_at = $5 \
             WHERE id = $1 AND owner_id = $2 AND committed = 1",
        )
        .bind(u.id)
        .bind(u.owner_id)
        .bind(size)
        .bind(u.now)
        .bind(u.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(true)
    }

    /// Makes the new version of `id` the item: its size, the new sealed metadata,
    /// wrapped key and owner's copy, in one statement. False when no new version is on
    /// its way.
    pub async fn commit_replacement(
        &self,
        owner_id: &str,
        id: &str,
        sealed: &SealedParts<'_>,
        now: i64,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE items SET size = replacing_size, metadata = $3, wrapped_key = $4, \
                              owner_metadata = $6, \
                              updated_at = $5, replacing_size = NULL, \
                              replacing_created_at = NULL, replacing_expires_at = NULL \
             WHERE id = $1 AND owner_id = $2 AND committed = 1 \
               AND replacing_size IS NOT NULL",
        )
        .bind(id)
        .bind(owner_id)
        .bind(sealed.metadata)
        .bind(sealed.wrapped_key)
        .bind(now)
        .bind(sealed.owner_metadata)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Abandons the new version of the item `id` of `owner_id`; the item stays as it
    /// is. False when there was none.
    pub async fn cancel_replacement(&self, owner_id: &str, id: &str) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE items SET replacing_size = NULL, replacing_created_at = NULL, \
                              replacing_expires_at = NULL \
             WHERE id = $1 AND owner_id = $2 AND replacing_size IS NOT NULL",
        )
        .bind(id)
        .bind(owner_id)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Abandons the new version of `id` if it expired before `now` (the cleanup).
    pub async fn cancel_expired_replacement(&self, id: &str, now: i64) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE items SET replacing_size = NULL, replacing_created_at = NULL, \
                              replacing_expires_at = NULL \
             WHERE id = $1 AND replacing_expires_at < $2",
        )
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Ids of items whose new version expired before `now`.
    pub async fn expired_replacements(&self, now: i64) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM items WHERE replacing_expires_at < $1")
            .bind(now)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("id").map_err(StoreError::from))
            .collect()
    }

    /// Ids of uploads that expired before `now`.
    pub async fn expired_uploads(&self, now: i64) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM items WHERE committed = 0 AND expires_at < $1")
            .bind(now)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("id").map_err(StoreError::from))
            .collect()
    }

    /// Deletes an upload if it is still uncommitted.
    pub async fn delete_upload(&self, id: &str) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM items WHERE id = $1 AND committed = 0")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Every item id (committed or not), for the cleanup pass.
    pub async fn all_item_ids(&self) -> StoreResult<std::collections::HashSet<String>> {
        let rows = sqlx::query("SELECT id FROM items")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("id").map_err(StoreError::from))
            .collect()
    }
}

//! What backups need from the database: a consistent copy taken while the server
//! serves, and the queries that prepare and describe that copy.

use std::path::Path;

use sqlx::Row as _;

use super::{Store, StoreResult};

/// Row counts of a database, as a backup's manifest records them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableCounts {
    /// Accounts.
    pub users: u64,
    /// Committed items.
    pub items: u64,
    /// Shares.
    pub shares: u64,
}

impl Store {
    /// Writes a transactionally consistent copy of the database to `path` (SQLite
    /// `VACUUM INTO`: one read transaction, so writers carry on meanwhile). `path`
    /// must not exist.
    pub async fn snapshot_into(&self, path: &Path) -> StoreResult<()> {
        sqlx::query("VACUUM INTO $1")
            .bind(path.to_string_lossy().into_owned())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Removes uploads that were never committed (their bytes are not backed up).
    pub async fn drop_uncommitted_items(&self) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM items WHERE committed = 0")
            .execute(self.pool())
            .await?
            .rows_affected())
    }

    /// Ids of every committed item, in id order.
    pub async fn committed_item_ids(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM items WHERE committed = 1 ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("id").map_err(Into::into))
            .collect()
    }

    /// Deletes items (and, by cascade, their shares).
    pub async fn delete_items(&self, ids: &[String]) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        for id in ids {
            sqlx::query("DELETE FROM items WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Row counts for the manifest.
    pub async fn table_counts(&self) -> StoreResult<TableCounts> {
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM users) AS users,
                    (SELECT COUNT(*) FROM items WHERE committed = 1) AS items,
                    (SELECT COUNT(*) FROM item_shares) AS shares",
        )
        .fetch_one(self.pool())
        .await?;
        let get = |c: &str| -> StoreResult<u64> {
            let v: i64 = r.try_get(c)?;
            Ok(u64::try_from(v).unwrap_or(0))
        };
        Ok(TableCounts {
            users: get("users")?,
            items: get("items")?,
            shares: get("shares")?,
        })
    }

    /// SQLite's `PRAGMA integrity_check`: `Ok(())` or the problems it lists.
    pub async fn integrity_check(&self) -> StoreResult<Result<(), String>> {
        let rows = sqlx::query("PRAGMA integrity_check")
            .fetch_all(self.pool())
            .await?;
        let lines: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
        Ok(if lines == ["ok"] {
            Ok(())
        } else {
            Err(lines.join("; "))
        })
    }

    /// Moves everything in the write-ahead log into the database file, so the file
    /// alone is the whole database.
    pub async fn checkpoint(&self) -> StoreResult<()> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_all(self.pool())
            .await?;
        Ok(())
    }
}

//! Reading a result row by column name, whichever driver returned it: sqlx's `AnyRow`
//! (both backends) or a rusqlite row (the SQLite point reads of [`super::point_reads`]).
//! Each table module decodes its rows once, through this trait, so the two read paths
//! cannot drift apart.

use sqlx::Row as _;

use super::StoreResult;

/// A result row whose columns are read by name.
pub(crate) trait Columns {
    /// A `TEXT NOT NULL` column.
    fn text(&self, name: &str) -> StoreResult<String>;
    /// A nullable `TEXT` column.
    fn opt_text(&self, name: &str) -> StoreResult<Option<String>>;
    /// A `BIGINT NOT NULL` column (also flags, as 0/1).
    fn int(&self, name: &str) -> StoreResult<i64>;
    /// A nullable `BIGINT` column.
    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>>;
}

impl Columns for sqlx::any::AnyRow {
    fn text(&self, name: &str) -> StoreResult<String> {
        Ok(self.try_get(name)?)
    }

    fn opt_text(&self, name: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get(name)?)
    }

    fn int(&self, name: &str) -> StoreResult<i64> {
        Ok(self.try_get(name)?)
    }

    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get(name)?)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, name: &str) -> StoreResult<String> {
        Ok(self.get(name)?)
    }

    fn opt_text(&self, name: &str) -> StoreResult<Option<String>> {
        Ok(self.get(name)?)
    }

    fn int(&self, name: &str) -> StoreResult<i64> {
        Ok(self.get(name)?)
    }

    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>> {
        Ok(self.get(name)?)
    }
}

//! Copying a whole database into another one, on either backend (SQLite to PostgreSQL
//! today; the same code serves the other direction), and checking the copy.
//!
//! sqlx's `Any` driver needs typed binds, so the tables are described once here in
//! [`TABLES`]: every table but `schema_migrations`, in foreign-key order, with each
//! column's kind. [`Store::check_schema`] compares that list with a live database and
//! refuses a copy when they differ, so a migration that adds a table or a column
//! cannot be forgotten here (a test compares it with a freshly migrated database too).
//!
//! The copy reads the source inside one transaction (one snapshot) and writes the
//! destination inside one transaction, which it commits only after every table's row
//! count and content digest match the source's. The digest is SHA-256 over the rows in
//! primary-key order (byte order for text keys on both backends), each field written
//! as an 8-byte big-endian length and its bytes (`u64::MAX` for NULL; integers as
//! their 8-byte big-endian value). Audit rows are copied as they are, so their hash
//! chain verifies on the destination.
//!
//! No column is an identity or serial column (ids are random text, audit sequence
//! numbers are chosen by the server), so no sequence needs moving after the copy.

use std::path::{Path, PathBuf};

use futures_util::TryStreamExt as _;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row as _};

use cofre_core::primitives::digest::Sha256;

use super::{Backend, Store, StoreError, StoreResult};

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// `TEXT`.
    Text,
    /// `BIGINT`.
    Integer,
    /// `BLOB` (SQLite) / `BYTEA` (PostgreSQL).
    Blob,
}

/// One column of a copied table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Its name.
    pub name: &'static str,
    /// What it holds.
    pub kind: ColumnKind,
    /// Whether it may be NULL.
    pub nullable: bool,
}

/// One copied table.
#[derive(Clone, Copy, Debug)]
pub struct TableSpec {
    /// Its name.
    pub name: &'static str,
    /// Every column, in declaration order.
    pub columns: &'static [ColumnSpec],
    /// The primary-key columns, which order the rows.
    pub key: &'static [&'static str],
}

const fn col(name: &'static str, kind: ColumnKind, nullable: bool) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        nullable,
    }
}

const fn text(name: &'static str) -> ColumnSpec {
    col(name, ColumnKind::Text, false)
}

const fn text_or_null(name: &'static str) -> ColumnSpec {
    col(name, ColumnKind::Text, true)
}

const fn int(name: &'static str) -> ColumnSpec {
    col(name, ColumnKind::Integer, false)
}

const fn int_or_null(name: &'static str) -> ColumnSpec {
    col(name, ColumnKind::Integer, true)
}

/// Every table a copy moves, parents before children (foreign-key order).
pub const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "users",
        columns: &[
            text("id"),
            text("username"),
            text("auth_hash"),
            text("recovery_hash"),
            text("keys_json"),
            text("role"),
            int("locked"),
            int("created_at"),
            int("updated_at"),
        ],
        key: &["id"],
    },
    TableSpec {
        name: "mfa_totp",
        columns: &[
            text("user_id"),
            text("secret_sealed"),
            int("enabled"),
            int("last_step"),
            int("created_at"),
        ],
        key: &["user_id"],
    },
    TableSpec {
        name: "mfa_recovery_codes",
        columns: &[text("user_id"), text("tag"), int_or_null("used_at")],
        key: &["user_id", "tag"],
    },
    TableSpec {
        name: "sessions",
        columns: &[
            text("id"),
            text("user_id"),
            int("created_at"),
            int("expires_at"),
            int_or_null("revoked_at"),
            text_or_null("revoked_reason"),
            text_or_null("address"),
        ],
        key: &["id"],
    },
    TableSpec {
        name: "refresh_tokens",
        columns: &[
            text("token_hash"),
            text("session_id"),
            int("created_at"),
            int_or_null("used_at"),
        ],
        key: &["token_hash"],
    },
    TableSpec {
        name: "throttle",
        columns: &[text("key"), int("full_at_ms")],
        key: &["key"],
    },
    TableSpec {
        name: "invites",
        columns: &[
            text("token_hash"),
            text_or_null("created_by"),
            int("created_at"),
            int("expires_at"),
            int_or_null("used_at"),
            text_or_null("used_by"),
        ],
        key: &["token_hash"],
    },
    TableSpec {
        name: "settings",
        columns: &[text("key"), text("value")],
        key: &["key"],
    },
    TableSpec {
        name: "audit_log",
        columns: &[
            int("seq"),
            int("at"),
            text("event"),
            text_or_null("actor"),
            text_or_null("subject"),
            text_or_null("address"),
            text("outcome"),
            text("prev_hash"),
            text("hash"),
        ],
        key: &["seq"],
    },
    TableSpec {
        name: "items",
        columns: &[
            text("id"),
            text("owner_id"),
            int("committed"),
            int("size"),
            text_or_null("metadata"),
            text_or_null("wrapped_key"),
            int("created_at"),
            int("updated_at"),
            int("expires_at"),
            int_or_null("replacing_size"),
            int_or_null("replacing_created_at"),
            int_or_null("replacing_expires_at"),
            text_or_null("owner_metadata"),
        ],
        key: &["id"],
    },
    TableSpec {
        name: "item_shares",
        columns: &[
            text("item_id"),
            text("recipient_id"),
            text("wrapped_key"),
            text("signature"),
            int("created_at"),
            text_or_null("signed_wrapped_key"),
            text_or_null("rewrap_signature"),
        ],
        key: &["item_id", "recipient_id"],
    },
    TableSpec {
        name: "key_rotations",
        columns: &[
            text("user_id"),
            text("public_key"),
            text("protected_private_key"),
            int("started_at"),
        ],
        key: &["user_id"],
    },
    TableSpec {
        name: "leases",
        columns: &[text("name"), text("holder"), int("expires_at")],
        key: &["name"],
    },
];

/// The table the migrations bookkeeping lives in (not copied: each database has its own).
pub const MIGRATIONS_TABLE: &str = "schema_migrations";

/// A column as a live database declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveColumn {
    /// Its name.
    pub name: String,
    /// Its declared type, as the database reports it (`TEXT`, `bigint`, …).
    pub declared: String,
    /// What that type means for a copy (`None`: a type the copy does not handle).
    pub kind: Option<ColumnKind>,
    /// Whether it may be NULL.
    pub nullable: bool,
}

/// A table as a live database declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveTable {
    /// Its name.
    pub name: String,
    /// Its columns, in declaration order.
    pub columns: Vec<LiveColumn>,
}

/// What one table held, as a copy or a check saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableReport {
    /// The table.
    pub table: &'static str,
    /// Its rows.
    pub rows: u64,
    /// The content digest (see the module documentation), hex.
    pub digest: String,
}

/// The outcome of a copy or of a check: every table, in [`TABLES`] order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// One entry per table.
    pub tables: Vec<TableReport>,
}

impl CopyReport {
    /// Rows in every table together.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// Rows of one table (0 when it is not in the report).
    pub fn rows(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .find(|t| t.table == table)
            .map_or(0, |t| t.rows)
    }
}

/// One field of a row, typed as the spec says.
enum Value {
    Null,
    Text(String),
    Integer(i64),
    Blob(Vec<u8>),
}

fn kind_of(backend: Backend, declared: &str) -> Option<ColumnKind> {
    let t = declared.trim().to_ascii_lowercase();
    match (backend, t.as_str()) {
        (_, "text") => Some(ColumnKind::Text),
        (_, "bigint") => Some(ColumnKind::Integer),
        (Backend::Sqlite, "blob") | (Backend::Postgres, "bytea") => Some(ColumnKind::Blob),
        _ => None,
    }
}

fn select_sql(backend: Backend, t: &TableSpec) -> String {
    let columns: Vec<&str> = t.columns.iter().map(|c| c.name).collect();
    let order: Vec<String> = t
        .key
        .iter()
        .map(|k| {
            let text_key = t
                .columns
                .iter()
                .any(|c| c.name == *k && c.kind == ColumnKind::Text);
            // Byte order on both sides: SQLite compares text with memcmp by default;
            // PostgreSQL's "C" collation does the same for UTF-8.
            if text_key && backend == Backend::Postgres {
                format!("{k} COLLATE \"C\"")
            } else {
                (*k).to_owned()
            }
        })
        .collect();
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        t.name,
        order.join(", ")
    )
}

fn insert_sql(t: &TableSpec) -> String {
    let columns: Vec<&str> = t.columns.iter().map(|c| c.name).collect();
    let params: Vec<String> = (1..=t.columns.len()).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({})",
        t.name,
        columns.join(", "),
        params.join(", ")
    )
}

fn read_row(t: &TableSpec, row: &AnyRow) -> StoreResult<Vec<Value>> {
    let mut out = Vec::with_capacity(t.columns.len());
    for (i, c) in t.columns.iter().enumerate() {
        let v = match c.kind {
            ColumnKind::Text => row.try_get::<Option<String>, _>(i)?.map(Value::Text),
            ColumnKind::Integer => row.try_get::<Option<i64>, _>(i)?.map(Value::Integer),
            ColumnKind::Blob => row.try_get::<Option<Vec<u8>>, _>(i)?.map(Value::Blob),
        };
        out.push(v.unwrap_or(Value::Null));
    }
    Ok(out)
}

fn hash_row(h: &mut Sha256, row: &[Value]) {
    let mut field = |bytes: Option<&[u8]>| match bytes {
        None => h.update(&u64::MAX.to_be_bytes()),
        Some(b) => {
            h.update(&(b.len() as u64).to_be_bytes());
            h.update(b);
        }
    };
    for v in row {
        match v {
            Value::Null => field(None),
            Value::Text(s) => field(Some(s.as_bytes())),
            Value::Integer(n) => field(Some(&n.to_be_bytes())),
            Value::Blob(b) => field(Some(b)),
        }
    }
}

/// Row count and content digest of one table, read through `conn`.
async fn digest_table(
    conn: &mut AnyConnection,
    backend: Backend,
    t: &'static TableSpec,
) -> StoreResult<TableReport> {
    let mut h = Sha256::new();
    let mut rows = 0u64;
    let mut stream = sqlx::query(AssertSqlSafe(select_sql(backend, t))).fetch(&mut *conn);
    while let Some(row) = stream.try_next().await? {
        hash_row(&mut h, &read_row(t, &row)?);
        rows += 1;
    }
    Ok(TableReport {
        table: t.name,
        rows,
        digest: data_encoding::HEXLOWER.encode(&h.finish()),
    })
}

/// Every table's count and digest, read through `conn`.
async fn digest_all(conn: &mut AnyConnection, backend: Backend) -> StoreResult<CopyReport> {
    let mut tables = Vec::with_capacity(TABLES.len());
    for t in TABLES {
        tables.push(digest_table(conn, backend, t).await?);
    }
    Ok(CopyReport { tables })
}

/// Fails on the first table whose count or digest differs.
fn compare(source: &CopyReport, destination: &CopyReport) -> StoreResult<()> {
    for (s, d) in source.tables.iter().zip(&destination.tables) {
        if s.rows != d.rows {
            return Err(StoreError::Mismatch {
                table: s.table,
                what: "row count",
                in_source: s.rows.to_string(),
                in_destination: d.rows.to_string(),
            });
        }
        if s.digest != d.digest {
            return Err(StoreError::Mismatch {
                table: s.table,
                what: "content digest",
                in_source: s.digest.clone(),
                in_destination: d.digest.clone(),
            });
        }
    }
    if source.tables.len() != destination.tables.len() {
        return Err(StoreError::Schema(
            "the two sides list different tables".into(),
        ));
    }
    Ok(())
}

/// Starts a read transaction that sees one snapshot for its whole life.
async fn begin_snapshot(store: &Store) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
    let mut tx = store.pool().begin().await?;
    if store.backend() == Backend::Postgres {
        // Must be the transaction's first statement. (SQLite's read transaction takes
        // its snapshot at the first read and keeps it.)
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// The first table of `tables` (which must exist) that has a row, through `conn`.
async fn first_non_empty(
    conn: &mut AnyConnection,
    tables: impl Iterator<Item = &'static TableSpec>,
) -> StoreResult<Option<&'static str>> {
    for t in tables {
        let sql = format!("SELECT 1 AS one FROM {} LIMIT 1", t.name);
        if sqlx::query(AssertSqlSafe(sql))
            .fetch_optional(&mut *conn)
            .await?
            .is_some()
        {
            return Ok(Some(t.name));
        }
    }
    Ok(None)
}

impl Store {
    /// The tables and columns of the live database (every table but
    /// [`MIGRATIONS_TABLE`]), sorted by table name.
    pub async fn live_schema(&self) -> StoreResult<Vec<LiveTable>> {
        let names: Vec<String> = match self.backend {
            Backend::Sqlite => sqlx::query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            ),
            Backend::Postgres => sqlx::query(
                "SELECT table_name::text AS name FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY name",
            ),
        }
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("name"))
        .collect::<Result<_, _>>()?;
        let mut out = Vec::new();
        for name in names.into_iter().filter(|n| n != MIGRATIONS_TABLE) {
            let rows = match self.backend {
                Backend::Sqlite => sqlx::query(
                    "SELECT name, type AS declared,
                            CASE WHEN \"notnull\" = 0 AND pk = 0 THEN 1 ELSE 0 END AS nullable
                     FROM pragma_table_info($1) ORDER BY cid",
                ),
                Backend::Postgres => sqlx::query(
                    "SELECT column_name::text AS name, data_type::text AS declared,
                            CASE WHEN is_nullable = 'YES' THEN 1 ELSE 0 END AS nullable
                     FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name = $1
                     ORDER BY ordinal_position",
                ),
            }
            .bind(&name)
            .fetch_all(self.pool())
            .await?;
            let columns = rows
                .iter()
                .map(|r| {
                    let declared: String = r.try_get("declared")?;
                    let nullable: i32 = r
                        .try_get::<i32, _>("nullable")
                        .or_else(|_| r.try_get::<i64, _>("nullable").map(|v| i32::from(v != 0)))?;
                    Ok(LiveColumn {
                        name: r.try_get("name")?,
                        kind: kind_of(self.backend, &declared),
                        declared,
                        nullable: nullable != 0,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            out.push(LiveTable { name, columns });
        }
        Ok(out)
    }

    /// Checks that the live database has exactly the tables and columns of [`TABLES`]
    /// (names, order, kinds, nullability); the error lists every difference.
    pub async fn check_schema(&self) -> StoreResult<()> {
        let problems = schema_differences(&self.live_schema().await?);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Schema(problems.join("; ")))
        }
    }

    /// Fails with [`StoreError::NotEmpty`] when any table of [`TABLES`] that exists in
    /// this database has a row (a database without tables yet is empty).
    pub async fn ensure_empty(&self) -> StoreResult<()> {
        let live: Vec<String> = self
            .live_schema()
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        let mut conn = self.pool().acquire().await?;
        let present = TABLES.iter().filter(|t| live.iter().any(|n| n == t.name));
        match first_non_empty(&mut conn, present).await? {
            Some(table) => Err(StoreError::NotEmpty { table }),
            None => Ok(()),
        }
    }

    /// Row counts of every table of [`TABLES`], in that order.
    pub async fn row_counts(&self) -> StoreResult<Vec<(&'static str, u64)>> {
        let mut out = Vec::with_capacity(TABLES.len());
        for t in TABLES {
            let sql = format!("SELECT COUNT(*) AS n FROM {}", t.name);
            let n: i64 = sqlx::query(AssertSqlSafe(sql))
                .fetch_one(self.pool())
                .await?
                .try_get("n")?;
            out.push((t.name, u64::try_from(n).unwrap_or(0)));
        }
        Ok(out)
    }

    /// Copies every row of every table into `dst`, which must be migrated to the same
    /// schema and hold no data. See [`Store::copy_into_with_progress`].
    pub async fn copy_into(&self, dst: &Store) -> StoreResult<CopyReport> {
        self.copy_into_with_progress(dst, &|_, _| {}).await
    }

    /// Copies every row of every table into `dst` and verifies the copy.
    ///
    /// Both schemas must match [`TABLES`] ([`StoreError::Schema`]) and `dst` must hold
    /// no row ([`StoreError::NotEmpty`]). The source is read in one snapshot; `dst` is
    /// written in one transaction, committed only when every table's row count and
    /// content digest, read back inside that transaction, equal the source's
    /// ([`StoreError::Mismatch`]); on any error nothing is left in `dst`. `progress`
    /// hears `(table, rows copied so far in it)` now and then.
    pub async fn copy_into_with_progress(
        &self,
        dst: &Store,
        progress: &(dyn Fn(&'static str, u64) + Sync),
    ) -> StoreResult<CopyReport> {
        self.check_schema().await?;
        dst.check_schema().await?;
        let mut src_tx = begin_snapshot(self).await?;
        let mut dst_tx = dst.pool().begin().await?;
        if let Some(table) = first_non_empty(&mut dst_tx, TABLES.iter()).await? {
            return Err(StoreError::NotEmpty { table });
        }
        for t in TABLES {
            let insert: std::sync::Arc<str> = insert_sql(t).into();
            let mut copied = 0u64;
            progress(t.name, 0);
            let mut rows =
                sqlx::query(AssertSqlSafe(select_sql(self.backend, t))).fetch(&mut *src_tx);
            while let Some(row) = rows.try_next().await? {
                let mut q = sqlx::query(AssertSqlSafe(insert.clone()));
                for (v, c) in read_row(t, &row)?.into_iter().zip(t.columns) {
                    q = match (v, c.kind) {
                        (Value::Null, ColumnKind::Text) => q.bind(None::<String>),
                        (Value::Null, ColumnKind::Integer) => q.bind(None::<i64>),
                        (Value::Null, ColumnKind::Blob) => q.bind(None::<Vec<u8>>),
                        (Value::Text(s), _) => q.bind(s),
                        (Value::Integer(n), _) => q.bind(n),
                        (Value::Blob(b), _) => q.bind(b),
                    };
                }
                q.execute(&mut *dst_tx).await?;
                copied += 1;
                if copied.is_multiple_of(1000) {
                    progress(t.name, copied);
                }
            }
            progress(t.name, copied);
        }
        let source = digest_all(&mut src_tx, self.backend).await?;
        let copied = digest_all(&mut dst_tx, dst.backend).await?;
        compare(&source, &copied)?;
        dst_tx.commit().await?;
        src_tx.rollback().await?;
        Ok(copied)
    }

    /// Compares this database with `other`, table by table: row counts and content
    /// digests, each side read in one snapshot. Returns this side's report, or
    /// [`StoreError::Mismatch`] for the first difference.
    pub async fn verify_copy(&self, other: &Store) -> StoreResult<CopyReport> {
        self.check_schema().await?;
        other.check_schema().await?;
        let mut a = begin_snapshot(self).await?;
        let mut b = begin_snapshot(other).await?;
        let source = digest_all(&mut a, self.backend).await?;
        let copy = digest_all(&mut b, other.backend).await?;
        a.rollback().await?;
        b.rollback().await?;
        compare(&source, &copy)?;
        Ok(source)
    }
}

/// Writes a consistent copy of the SQLite database `db` to `out` (which must not
/// exist) without writing to `db`, its write-ahead log or anything else beside it.
///
/// When no write-ahead log or journal is beside `db` (no server has it open, and the
/// last one closed it cleanly), the file alone is the database and is copied as is,
/// then checked again: if a log appeared meanwhile, the copy is discarded. Otherwise
/// the copy is SQLite's `VACUUM INTO` through a read-only connection, which is
/// consistent even while a server writes (SQLite may then touch its shared-memory
/// index, `-shm`, which holds no data).
pub async fn snapshot_sqlite(db: &Path, out: &Path) -> StoreResult<()> {
    let beside = |suffix: &str| {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    let quiet = || !beside("-wal").exists() && !beside("-journal").exists();
    let file_err = |path: &Path| {
        let path = path.to_owned();
        move |source| StoreError::File { path, source }
    };
    if !db.is_file() {
        return Err(StoreError::File {
            path: db.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such database file"),
        });
    }
    if quiet() {
        tokio::fs::copy(db, out).await.map_err(file_err(db))?;
        if quiet() {
            return Ok(());
        }
        tokio::fs::remove_file(out).await.map_err(file_err(out))?;
    }
    let store = Store::open_sqlite_read_only(db).await?;
    let snapshot = store.snapshot_into(out).await;
    store.close().await;
    snapshot
}

/// Every difference between a live schema and [`TABLES`], in words.
pub fn schema_differences(live: &[LiveTable]) -> Vec<String> {
    let mut problems = Vec::new();
    for l in live {
        if !TABLES.iter().any(|t| t.name == l.name) {
            problems.push(format!("table {} is not in the copy's list", l.name));
        }
    }
    for t in TABLES {
        let Some(l) = live.iter().find(|l| l.name == t.name) else {
            problems.push(format!("table {} is missing from the database", t.name));
            continue;
        };
        let names: Vec<&str> = l.columns.iter().map(|c| c.name.as_str()).collect();
        let spec: Vec<&str> = t.columns.iter().map(|c| c.name).collect();
        if names != spec {
            problems.push(format!(
                "table {} has columns ({}), the copy knows ({})",
                t.name,
                names.join(", "),
                spec.join(", ")
            ));
            continue;
        }
        for (c, s) in l.columns.iter().zip(t.columns) {
            if c.kind != Some(s.kind) {
                problems.push(format!(
                    "column {}.{} is declared {}, the copy expects {:?}",
                    t.name, c.name, c.declared, s.kind
                ));
            }
            if c.nullable != s.nullable {
                problems.push(format!(
                    "column {}.{} is {}nullable, the copy expects the opposite",
                    t.name,
                    c.name,
                    if c.nullable { "" } else { "not " }
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[tokio::test]
    async fn the_table_list_matches_a_freshly_migrated_sqlite_database() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("cofre.db"))
            .await
            .unwrap();
        let live = store.live_schema().await.unwrap();
        assert_eq!(schema_differences(&live), Vec::<String>::new());
        assert_eq!(live.len(), TABLES.len());
        store.check_schema().await.unwrap();
        store.close().await;
    }

    #[tokio::test]
    async fn an_unknown_table_or_column_is_a_schema_difference() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("cofre.db"))
            .await
            .unwrap();
        store
            .raw_execute("ALTER TABLE items ADD COLUMN colour TEXT")
            .await
            .unwrap();
        store
            .raw_execute("CREATE TABLE widgets (id TEXT PRIMARY KEY)")
            .await
            .unwrap();
        let err = store.check_schema().await.unwrap_err().to_string();
        assert!(err.contains("widgets"), "{err}");
        assert!(err.contains("colour"), "{err}");
        store.close().await;
    }

    #[test]
    fn every_table_orders_by_columns_it_has_and_parents_come_first() {
        for (i, t) in TABLES.iter().enumerate() {
            for k in t.key {
                assert!(t.columns.iter().any(|c| c.name == *k), "{}.{k}", t.name);
            }
            // A column named after a parent table's id points at an earlier table.
            for c in t.columns {
                let parent = match c.name {
                    "user_id" | "owner_id" | "recipient_id" => Some("users"),
                    "session_id" => Some("sessions"),
                    "item_id" => Some("items"),
                    _ => None,
                };
                if let Some(p) = parent {
                    let at = TABLES.iter().position(|x| x.name == p).unwrap();
                    assert!(at < i, "{} comes after its parent {p}", t.name);
                }
            }
        }
    }

    #[test]
    fn the_digest_encoding_separates_fields() {
        let digest = |row: Vec<Value>| {
            let mut h = Sha256::new();
            hash_row(&mut h, &row);
            h.finish()
        };
        let a = digest(vec![Value::Text("ab".into()), Value::Text("c".into())]);
        let b = digest(vec![Value::Text("a".into()), Value::Text("bc".into())]);
        let c = digest(vec![Value::Text(String::new()), Value::Null]);
        let d = digest(vec![Value::Null, Value::Text(String::new())]);
        assert_ne!(a, b);
        assert_ne!(c, d);
    }
}

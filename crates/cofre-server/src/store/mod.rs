//! Persistence: one [`Store`] over an SQL pool, with one module per table group.
//!
//! Queries are plain runtime SQL that SQLite and PostgreSQL both accept (`$1`
//! placeholders, `TEXT`/`BIGINT` columns, `ON CONFLICT`, `RETURNING`), run through
//! sqlx's `Any` driver; the migrations are shared too, except the audit log's
//! append-only triggers. Times are Unix seconds; flags are 0/1 integers.

pub mod audit;
pub mod backup;
pub mod copy;
pub mod invites;
pub mod items;
pub mod leases;
pub mod mfa;
mod point_reads;
pub mod rotation;
mod row;
pub mod sessions;
pub mod settings;
pub mod shares;
pub mod throttle;
pub mod users;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use point_reads::PointReadStats;
use sqlx::Connection as _;
use sqlx::Executor as _;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Row as _};

/// A storage failure. The message is for the server log; clients get `internal`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database reported an error.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// SQLite reported an error on the point-read path (see `point_reads`).
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value could not be read back (corrupt or from a newer version).
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt {
        /// Which value.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Concurrent writers kept winning the same race (for example the audit log's
    /// head, appended to by several servers); the write was not done.
    #[error("{0}: gave up after repeated write conflicts")]
    Contention(&'static str),
    /// The database has migrations this build does not know (a newer cofre wrote it).
    #[error("database schema version {found} is newer than this build's {known}")]
    TooNew {
        /// Highest applied version.
        found: i64,
        /// Highest version this build knows.
        known: i64,
    },
    /// A copy's destination already holds data.
    #[error("destination database is not empty (table {table} has rows)")]
    NotEmpty {
        /// The first table found with rows.
        table: &'static str,
    },
    /// A copy does not match its source.
    #[error(
        "verification failed: table {table}: the {what} differs (source {in_source}, destination {in_destination})"
    )]
    Mismatch {
        /// The table.
        table: &'static str,
        /// `row count` or `content digest`.
        what: &'static str,
        /// The source's value.
        in_source: String,
        /// The destination's value.
        in_destination: String,
    },
    /// A database file could not be read or copied.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database has tables or columns the copy does not know, or lacks ones it does.
    #[error("the database schema does not match this build's table list: {0}")]
    Schema(String),
}

/// Result alias for the store.
pub type StoreResult<T> = Result<T, StoreError>;

/// One embedded migration.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

/// The migrations, applied in order at start: portable SQL that both backends run.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "accounts",
        sql: include_str!("../../migrations/common/0001_accounts.sql"),
    },
    Migration {
        version: 2,
        name: "vault",
        sql: include_str!("../../migrations/common/0002_vault.sql"),
    },
    Migration {
        version: 3,
        name: "shares",
        sql: include_str!("../../migrations/common/0003_shares.sql"),
    },
    Migration {
        version: 4,
        name: "key_rotation",
        sql: include_str!("../../migrations/common/0004_key_rotation.sql"),
    },
    Migration {
        version: 5,
        name: "leases",
        sql: include_str!("../../migrations/common/0005_leases.sql"),
    },
    Migration {
        version: 6,
        name: "throttle_buckets",
        sql: include_str!("../../migrations/common/0006_throttle_buckets.sql"),
    },
    Migration {
        version: 7,
        name: "share_rewrap",
        sql: include_str!("../../migrations/common/0007_share_rewrap.sql"),
    },
    Migration {
        version: 8,
        name: "item_replacements",
        sql: include_str!("../../migrations/common/0008_item_replacements.sql"),
    },
    Migration {
        version: 9,
        name: "owner_metadata",
        sql: include_str!("../../migrations/common/0009_owner_metadata.sql"),
    },
];

/// The schema version this build migrates databases to.
pub fn latest_schema_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// What differs per backend: the audit log's append-only triggers (installed with
/// migration 1; trigger bodies are not portable SQL).
const SQLITE_AUDIT_TRIGGERS: &str =
    include_str!("../../migrations/sqlite/0001_audit_append_only.sql");
/// The PostgreSQL counterpart of [`SQLITE_AUDIT_TRIGGERS`] (PL/pgSQL).
const POSTGRES_AUDIT_TRIGGERS: &str =
    include_str!("../../migrations/postgres/0001_audit_append_only.sql");

/// Which database engine a [`Store`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The database behind the server.
#[derive(Clone, Debug)]
pub struct Store {
    /// On SQLite, the inline path for the hot point reads. Declared first so that it is
    /// dropped first: read-only connections must not be the last ones to the file (see
    /// [`Store::close`]).
    point_reads: Option<Arc<point_reads::PointReads>>,
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path`: WAL journal, foreign
    /// keys enforced on every connection, a 5-second busy timeout, migrations applied,
    /// and the hot point reads served inline (see `point_reads`).
    pub async fn open_sqlite(path: &Path) -> StoreResult<Self> {
        let mut store = Self::connect_sqlite(path, "rwc").await?;
        // The journal mode is stored in the file: once is enough.
        sqlx::query("PRAGMA journal_mode = WAL")
            .fetch_optional(&store.pool)
            .await?;
        store.migrate(SQLITE_AUDIT_TRIGGERS).await?;
        store.point_reads = Some(Arc::new(point_reads::PointReads::open(path)?));
        Ok(store)
    }

    /// The same store with every read through the sqlx pool (tests compare the two
    /// paths with it).
    pub fn without_point_reads(mut self) -> Self {
        self.point_reads = None;
        self
    }

    /// What the inline point-read path has done (`None` without one: PostgreSQL, or
    /// turned off), for tests and diagnostics.
    pub fn point_read_stats(&self) -> Option<PointReadStats> {
        self.point_reads.as_ref().map(|r| r.stats())
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://…`) with a pool of
    /// connections, and applies the migrations.
    pub async fn open_postgres(url: &str) -> StoreResult<Self> {
        let store = Self::connect_postgres(url).await?;
        store.apply_migrations().await?;
        Ok(store)
    }

    /// Connects to the PostgreSQL database at `url` without applying migrations (to
    /// look at a database before changing it; [`Store::apply_migrations`] does the rest).
    pub async fn connect_postgres(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let options: AnyConnectOptions = url.parse()?;
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            backend: Backend::Postgres,
            point_reads: None,
        })
    }

    /// Applies the migrations this build knows and the database lacks.
    pub async fn apply_migrations(&self) -> StoreResult<()> {
        self.migrate(match self.backend {
            Backend::Sqlite => SQLITE_AUDIT_TRIGGERS,
            Backend::Postgres => POSTGRES_AUDIT_TRIGGERS,
        })
        .await
    }

    /// Opens an existing SQLite database as it is: no migration, no change of journal
    /// mode (for backups, which must copy a database without changing its schema).
    pub async fn open_sqlite_as_is(path: &Path) -> StoreResult<Self> {
        Self::connect_sqlite(path, "rw").await
    }

    /// Opens an existing SQLite database read-only: nothing is written to the database
    /// or its write-ahead log (SQLite may still create or update the shared-memory index
    /// beside them, `-shm`, which holds no data).
    pub async fn open_sqlite_read_only(path: &Path) -> StoreResult<Self> {
        Self::connect_sqlite(path, "ro").await
    }

    async fn connect_sqlite(path: &Path, mode: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}?mode={mode}", url_path(path));
        let options: AnyConnectOptions = url.parse()?;
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            // sqlx would otherwise ping every idle connection before handing it out:
            // for SQLite one more round trip to the connection's worker thread per
            // query, about a third of a small query's cost. A connection to a local
            // file does not go stale; one that fails anyway fails its query (the pool
            // still pings on release and drops a broken connection then).
            //
            // A connection that still counts itself inside a transaction once it is
            // given back is closed, not reused. That happens when SQLite ended a
            // transaction on its own: a write failing with SQLITE_FULL (a full disk) rolls
            // the whole transaction back, sqlx's ROLLBACK then fails ("no transaction is
            // active") and sqlx keeps counting one level. On that connection, the next
            // transaction would begin as a SAVEPOINT, and a rollback of it (ROLLBACK TO)
            // would leave the transaction and its write lock open for good: every other
            // writer would get "database is locked" until a restart, long after space
            // was freed.
            .test_before_acquire(false)
            .after_release(|conn, _meta| {
                Box::pin(async move {
                    if !conn.is_in_transaction() {
                        return Ok(true);
                    }
                    // A transaction was dropped without a commit: its rollback was queued,
                    // and a round trip runs it.
                    conn.ping().await?;
                    Ok(!conn.is_in_transaction())
                })
            })
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            backend: Backend::Sqlite,
            point_reads: None,
        })
    }

    /// The database engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for the table modules.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Runs a point read inline when this store has the path for it; `None` when it has
    /// not, or the read went unanswered there: then the caller runs `sql` through the
    /// pool. `sql` is the same text for both paths.
    pub(crate) fn point_read<T>(
        &self,
        sql: &str,
        params: point_reads::Params<'_>,
        decode: impl FnOnce(&rusqlite::Row<'_>) -> StoreResult<T>,
    ) -> Option<StoreResult<Option<T>>> {
        self.point_reads.as_ref()?.query_one(sql, params, decode)
    }

    /// Whether the database answers (the readiness probe).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await.is_ok()
    }

    /// Reads an SQLite pragma (for tests and diagnostics).
    pub async fn pragma(&self, name: &'static str) -> StoreResult<String> {
        let sql = match name {
            "journal_mode" => "PRAGMA journal_mode",
            "foreign_keys" => "PRAGMA foreign_keys",
            _ => {
                return Err(StoreError::Corrupt {
                    what: "pragma name",
                    reason: name.into(),
                });
            }
        };
        let row = sqlx::query(sql).fetch_one(&self.pool).await?;
        // journal_mode is text, foreign_keys an integer.
        Ok(row
            .try_get::<String, _>(0)
            .or_else(|_| row.try_get::<i64, _>(0).map(|v| v.to_string()))?)
    }

    /// Applies the migrations not applied yet; `audit_triggers` is the backend's part of
    /// migration 1.
    async fn migrate(&self, audit_triggers: &'static str) -> StoreResult<()> {
        let migrations = MIGRATIONS;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let applied: i64 =
            sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
                .fetch_one(&self.pool)
                .await?
                .try_get("v")?;
        let known = migrations.last().map_or(0, |m| m.version);
        if applied > known {
            return Err(StoreError::TooNew {
                found: applied,
                known,
            });
        }
        for m in migrations.iter().filter(|m| m.version > applied) {
            let mut tx = self.pool.begin().await?;
            sqlx::raw_sql(m.sql).execute(&mut *tx).await?;
            if m.version == 1 {
                sqlx::raw_sql(audit_triggers).execute(&mut *tx).await?;
            }
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(crate::clock::now())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(
                version = m.version,
                name = m.name,
                "applied database migration"
            );
        }
        Ok(())
    }

    /// Runs one SQL statement as is (for maintenance commands and tests; never with
    /// client input).
    pub async fn raw_execute(&self, sql: &str) -> StoreResult<u64> {
        Ok(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// The highest applied migration.
    pub async fn schema_version(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
                .fetch_one(&self.pool)
                .await?
                .try_get("v")?,
        )
    }

    /// Closes every connection (at shutdown).
    pub async fn close(&self) {
        // The read-only point-read connections first: the pool's last connection then
        // checkpoints the write-ahead log and removes it.
        if let Some(reads) = &self.point_reads {
            reads.close();
        }
        self.pool.close().await;
    }
}

/// A filesystem path as the path part of an `sqlite://` URL (percent-encoding the
/// characters a URL would otherwise interpret).
fn url_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            '#' => out.push_str("%23"),
            ' ' => out.push_str("%20"),
            c => out.push(c),
        }
    }
    out
}

/// Maps a "no row" result to `None`.
pub(crate) fn optional<T>(r: Result<T, sqlx::Error>) -> StoreResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(sqlx::Error::RowNotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Whether an error is a uniqueness violation (for "username taken").
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}

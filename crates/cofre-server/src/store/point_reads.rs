//! The hot point reads on SQLite (every request's session check, one item by id) run on
//! the calling thread through a small pool of read-only rusqlite connections.
//!
//! sqlx gives each SQLite connection a worker thread and hands every query to it and
//! back; for a primary-key lookup those two thread hand-offs cost several times the
//! lookup itself. Here the lookup runs where the request already is. It never waits:
//! the connections have no busy timeout, so a read that would have to wait for a lock
//! (rare in WAL mode: a recovery after a crash, or another process holding the file in
//! exclusive locking mode) gives up at once and the
//! caller runs the same query through sqlx, whose worker thread may wait. The same
//! applies to any other SQLite error here: the sqlx path gives the authoritative answer.
//!
//! Running on the caller's thread is the point and the price: a read blocks its runtime
//! worker for as long as it takes, a few microseconds for the indexed lookups done
//! here, longer only when SQLite has to read a page from disk (the pages involved, the
//! sessions and users tables and the items' primary key, are small and stay cached).
//! It never sleeps on a lock. Writes and every other read stay on the sqlx pool.
//!
//! Nothing is cached beyond SQLite's own page cache: each read is its own transaction
//! and sees every commit made before it, by this process or another one.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rusqlite::{Connection, OpenFlags, ToSql};

use super::StoreResult;

/// Idle connections kept at least; reads run inline, so at most one per thread that
/// makes them (the runtime's workers) is busy at a time. More than
/// `max(MIN_IDLE, cores)` are closed when given back.
const MIN_IDLE: usize = 8;

/// Prepared statements kept per connection (the point reads are a handful of queries).
const STATEMENT_CACHE: usize = 16;

/// Named parameters of a point read (`$1`, `$2`, … as in the shared SQL).
pub(crate) type Params<'a> = &'a [(&'a str, &'a dyn ToSql)];

/// What the point-read path has done since the store was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PointReadStats {
    /// Reads answered inline.
    pub served: u64,
    /// Reads that found SQLite locked or failing and went through the sqlx pool.
    pub fell_back: u64,
}

/// A pool of read-only connections to one SQLite file.
pub(crate) struct PointReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
    served: AtomicU64,
    fallbacks: AtomicU64,
    closed: AtomicBool,
}

impl std::fmt::Debug for PointReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PointReads")
            .field("path", &self.path)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl PointReads {
    /// A pool for the database at `path` (which must exist, migrated); one connection is
    /// opened now so that a file SQLite cannot read fails here, not on a request.
    pub(crate) fn open(path: &Path) -> StoreResult<Self> {
        let first = connect(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            idle: Mutex::new(vec![first]),
            max_idle: std::thread::available_parallelism()
                .map_or(MIN_IDLE, |n| n.get().max(MIN_IDLE)),
            served: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        })
    }

    /// Runs `sql` and decodes its first row, if any. `None` means the read was not done
    /// here (the database was locked, or SQLite failed): the caller runs it through sqlx.
    /// A decoding error is the caller's answer, as it would be through sqlx.
    pub(crate) fn query_one<T>(
        &self,
        sql: &str,
        params: Params<'_>,
        decode: impl FnOnce(&rusqlite::Row<'_>) -> StoreResult<T>,
    ) -> Option<StoreResult<Option<T>>> {
        if self.closed.load(Ordering::Acquire) {
            return None;
        }
        let conn = match self.take() {
            Ok(conn) => conn,
            Err(e) => return self.fell_back(&e),
        };
        let result = (|| -> rusqlite::Result<Option<StoreResult<T>>> {
            let mut stmt = conn.prepare_cached(sql)?;
            let mut rows = stmt.query(params)?;
            Ok(rows.next()?.map(decode))
        })();
        match result {
            Ok(found) => {
                self.served.fetch_add(1, Ordering::Relaxed);
                self.give_back(conn);
                Some(found.transpose())
            }
            // A connection that failed is closed rather than reused.
            Err(e) => self.fell_back(&e),
        }
    }

    /// The counts so far (for tests and diagnostics).
    pub(crate) fn stats(&self) -> PointReadStats {
        PointReadStats {
            served: self.served.load(Ordering::Relaxed),
            fell_back: self.fallbacks.load(Ordering::Relaxed),
        }
    }

    /// Closes every connection and answers nothing more (the caller's pool decides what
    /// a closed store says). Done before the sqlx pool closes, so that the last
    /// connection to the file is a read-write one, which checkpoints the write-ahead log
    /// and removes it; a read-only connection closing last would leave it behind.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    fn take(&self) -> rusqlite::Result<Connection> {
        let idle = self.idle.lock().map(|mut idle| idle.pop());
        match idle {
            Ok(Some(conn)) => Ok(conn),
            _ => connect(&self.path),
        }
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.max_idle
            && !self.closed.load(Ordering::Acquire)
        {
            idle.push(conn);
        }
    }

    fn fell_back<T>(&self, e: &rusqlite::Error) -> Option<T> {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                tracing::debug!("database locked: point read handed to the pool");
            }
            _ => tracing::warn!(error = %e, "point read failed: handed to the pool"),
        }
        None
    }
}

/// A read-only connection that never waits for a lock.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::ZERO)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    const READ: &str = "SELECT v FROM t WHERE k = $1";

    /// A database in rollback-journal mode, where a writer's exclusive lock does keep
    /// readers out (in WAL mode, which the server uses, readers are locked out only
    /// during recovery or by a connection in exclusive locking mode).
    fn database() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = DELETE; CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL);
             INSERT INTO t VALUES ('a', 'one');",
        )
        .unwrap();
        (dir, path)
    }

    fn read(reads: &PointReads, key: &str) -> Option<StoreResult<Option<String>>> {
        reads.query_one(READ, rusqlite::named_params! { "$1": key }, |r| {
            use crate::store::row::Columns as _;
            r.text("v")
        })
    }

    #[test]
    fn reads_rows_and_misses() {
        let (_dir, path) = database();
        let reads = PointReads::open(&path).unwrap();
        assert_eq!(read(&reads, "a").unwrap().unwrap().as_deref(), Some("one"));
        assert!(read(&reads, "b").unwrap().unwrap().is_none());
        let stats = reads.stats();
        assert_eq!((stats.served, stats.fell_back), (2, 0));
        // One connection was enough for reads made one after another.
        assert_eq!(reads.idle.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_locked_database_is_not_waited_for() {
        let (_dir, path) = database();
        let reads = PointReads::open(&path).unwrap();
        let writer = Connection::open(&path).unwrap();
        writer.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let started = Instant::now();
        assert!(
            read(&reads, "a").is_none(),
            "read through an exclusive lock"
        );
        // No busy wait: SQLite's default would be seconds.
        assert!(started.elapsed() < Duration::from_millis(500));
        assert_eq!(reads.stats().fell_back, 1);
        writer.execute_batch("COMMIT").unwrap();
        assert_eq!(read(&reads, "a").unwrap().unwrap().as_deref(), Some("one"));
        assert_eq!(reads.stats().served, 1);
    }

    #[test]
    fn sees_commits_made_elsewhere_at_once() {
        let (_dir, path) = database();
        let reads = PointReads::open(&path).unwrap();
        assert_eq!(read(&reads, "a").unwrap().unwrap().as_deref(), Some("one"));
        let writer = Connection::open(&path).unwrap();
        writer.execute("UPDATE t SET v = 'two'", []).unwrap();
        assert_eq!(read(&reads, "a").unwrap().unwrap().as_deref(), Some("two"));
        writer.execute("DELETE FROM t", []).unwrap();
        assert!(read(&reads, "a").unwrap().unwrap().is_none());
    }

    #[test]
    fn failures_are_handed_back_and_nothing_is_written() {
        let (_dir, path) = database();
        let reads = PointReads::open(&path).unwrap();
        // A statement SQLite refuses: handed to the caller's other path.
        let bad = reads.query_one("SELECT nope FROM t", &[], |_| Ok(()));
        assert!(bad.is_none());
        // The connections are read-only.
        let write = reads.query_one("DELETE FROM t RETURNING k", &[], |_| Ok(()));
        assert!(write.is_none());
        assert_eq!(reads.stats().fell_back, 2);
        assert_eq!(read(&reads, "a").unwrap().unwrap().as_deref(), Some("one"));
        // A missing file is an error when opening, not a new empty database.
        let gone = path.with_file_name("missing.sqlite");
        assert!(PointReads::open(&gone).is_err());
        assert!(!gone.exists());
    }

    #[test]
    fn closed_reads_nothing_and_keeps_no_connection() {
        let (_dir, path) = database();
        let reads = PointReads::open(&path).unwrap();
        assert!(read(&reads, "a").is_some());
        reads.close();
        assert!(reads.idle.lock().unwrap().is_empty());
        assert!(read(&reads, "a").is_none());
        assert!(reads.idle.lock().unwrap().is_empty());
    }

    #[test]
    fn a_decoding_error_is_the_answer() {
        let (_dir, path) = database();
        let reads = PointReads::open(&path).unwrap();
        let r = reads.query_one(READ, rusqlite::named_params! { "$1": "a" }, |r| {
            use crate::store::row::Columns as _;
            r.int("v")
        });
        assert!(matches!(r, Some(Err(crate::store::StoreError::Sqlite(_)))));
        assert_eq!(reads.stats().fell_back, 0);
    }
}

//! `cofre server migrate`, through the real binaries: fill a server on SQLite (two
//! accounts, one with TOTP, notes, files of several sizes, a share, a sent note), stop
//! it, migrate its data directory into a fresh PostgreSQL database with the blobs
//! copied to another folder, and: the source data directory is byte-for-byte as it was,
//! a second migration into the now filled database is refused, and a server started on
//! PostgreSQL with the same data directory lets both users log in (TOTP too) and read
//! every item byte for byte, with the audit log intact.
//!
//! Needs PostgreSQL at 127.0.0.1:5432 (user `postgres`, trust): without it the test says
//! it is skipped, except under `CI=true`, where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sqlx::Connection as _;
use support::{FAST, cli, contents, enable_mfa, random_file, totp_code as code, write};

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn local(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(args)
        .env_remove("COFRE_MIGRATE_TO")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// Every file under `root` (relative path -> SHA-256 of its bytes).
fn hash_tree(root: &Path) -> BTreeMap<PathBuf, [u8; 32]> {
    let mut out = BTreeMap::new();
    let mut todo = vec![root.to_owned()];
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let h =
                    cofre_client::core::primitives::digest::sha256(&[&std::fs::read(&p).unwrap()]);
                out.insert(p.strip_prefix(root).unwrap().to_owned(), h);
            }
        }
    }
    out
}

/// Stops a server with SIGTERM, as an operator would, and waits for it to exit.
fn stop(mut server: support::Server) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    server.child.wait().unwrap();
}

/// A fresh PostgreSQL database (name, URL), or why there is none.
fn fresh_postgres(rt: &tokio::runtime::Runtime, tag: &str) -> Result<(String, String), String> {
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let mut admin = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            sqlx::AnyConnection::connect(ADMIN_URL),
        )
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())?;
        let name = format!("cofre_cli_migrate_{}_{tag}", std::process::id());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .map_err(|e| e.to_string())?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .map_err(|e| e.to_string())?;
        admin.close().await.ok();
        Ok((
            name.clone(),
            format!("postgres://postgres@127.0.0.1:5432/{name}"),
        ))
    })
}

/// Drops the database on drop (also when the test fails).
struct DropDb<'a>(&'a tokio::runtime::Runtime, String);

impl Drop for DropDb<'_> {
    fn drop(&mut self) {
        let name = self.1.clone();
        self.0.block_on(async {
            if let Ok(mut admin) = sqlx::AnyConnection::connect(ADMIN_URL).await {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await;
            }
        });
    }
}

#[test]
fn migrate_a_filled_sqlite_installation_to_postgresql() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (name, url) = match fresh_postgres(&rt, "a") {
        Ok(db) => db,
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PostgreSQL at 127.0.0.1:5432 is required under CI=true: {why}")
        }
        Err(why) => {
            eprintln!(
                "SKIPPED migrate_a_filled_sqlite_installation_to_postgresql: no PostgreSQL at 127.0.0.1:5432 ({why})"
            );
            return;
        }
    };
    let _db = DropDb(&rt, name);

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = support::start(&data, FAST);
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    let (alice, bob) = (
        cli(&server, dir.path(), "alice"),
        cli(&server, dir.path(), "bob"),
    );
    alice.ok(&["register", "alice", "--password-file", &pw]);
    bob.ok(&["register", "bob", "--password-file", &pw]);
    alice.ok(&["login", "alice", "--password-file", &pw]);
    bob.ok(&["login", "bob", "--password-file", &pw]);
    let alice_totp = enable_mfa(&alice);
    alice.ok(&["note", "alice's note"]);
    let empty = dir.path().join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    alice.ok(&["put", empty.to_str().unwrap()]);
    let big = dir.path().join("big.bin");
    random_file(&big, (5 << 20) + 4321, 0x2545_f491_4f6c_dd1d);
    alice.ok(&["put", big.to_str().unwrap()]);
    let small = dir.path().join("report.txt");
    std::fs::write(&small, b"quarterly numbers\n").unwrap();
    bob.ok(&["put", small.to_str().unwrap()]);
    alice.ok(&["share", "big.bin", "bob"]);
    alice.ok(&["send", "bob", "--note", "dinner at eight"]);
    let before_alice = contents(&alice, dir.path());
    let before_bob = contents(&bob, dir.path());
    assert_eq!(before_alice.len(), 4);
    assert_eq!(before_bob.len(), 3);
    stop(server);

    let data_s = data.to_str().unwrap();
    let from = format!("sqlite:{data_s}");
    let tree = hash_tree(&data);
    assert!(tree.contains_key(Path::new("cofre.db")));
    assert!(tree.keys().any(|p| p.starts_with("keys")));

    // A destination that does not answer: a clear error, non-zero exit.
    let out = local(&[
        "server",
        "migrate",
        "--from",
        &from,
        "--to",
        "postgres://postgres@127.0.0.1:1/nothing",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("destination"), "{err}");
    // A source that is not a data directory.
    let out = local(&[
        "server",
        "migrate",
        "--from",
        dir.path().join("nowhere").to_str().unwrap(),
        "--to",
        &url,
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no cofre database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Blobs cannot go into the source data directory, which is only read.
    let out = local(&[
        "server",
        "migrate",
        "--from",
        &from,
        "--to",
        &url,
        "--blobs-to",
        data.join("blobs-copy").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("outside the source data directory"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The migration, blobs copied to another folder too.
    let blobs_to = dir.path().join("blobs-copy");
    let out = local(&[
        "server",
        "migrate",
        "--from",
        &from,
        "--to",
        &url,
        "--blobs-to",
        blobs_to.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("content digests match"), "{stdout}");
    assert!(stdout.contains("audit log intact"), "{stdout}");
    assert!(stdout.contains("5 blobs"), "{stdout}");
    assert!(stdout.contains("at-rest.key"), "{stdout}");
    assert!(stdout.contains("--database"), "{stdout}");

    // The source is byte-for-byte as it was, no file added or removed.
    assert_eq!(hash_tree(&data), tree, "the source data directory changed");
    // The copied blobs are the source's.
    let copied = hash_tree(&blobs_to);
    for (path, h) in &tree {
        if let Ok(rel) = path.strip_prefix("blobs")
            && !rel.starts_with("uploads")
        {
            assert_eq!(copied.get(rel), Some(h), "blob {}", rel.display());
        }
    }

    // Again into the same, now filled, database: refused, nothing changed.
    let out = local(&["server", "migrate", "--from", &from, "--to", &url]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("destination database is not empty"), "{err}");

    // Without --blobs-to, into another database: the blobs stay in the data directory.
    let (name2, url2) = fresh_postgres(&rt, "b").unwrap();
    let _db2 = DropDb(&rt, name2);
    let out = local(&["server", "migrate", "--from", data_s, "--to", &url2]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("blobs not copied"), "{stdout}");
    assert!(
        stdout.contains(&format!("cofre server --data {data_s} --database {url2}")),
        "{stdout}"
    );
    assert_eq!(hash_tree(&data), tree, "the source data directory changed");

    // A server on PostgreSQL, same data directory: everything is there.
    let server = support::start(&data, &[FAST, &["--database", url.as_str()]].concat());
    let (alice, bob) = (
        cli(&server, dir.path(), "alice"),
        cli(&server, dir.path(), "bob"),
    );
    let err = alice.fails(&["login", "alice", "--password-file", &pw]);
    assert!(err.contains("--totp"), "MFA is still on: {err}");
    alice.ok(&[
        "login",
        "alice",
        "--password-file",
        &pw,
        "--totp",
        &code(&alice_totp, 0),
    ]);
    bob.ok(&["login", "bob", "--password-file", &pw]);
    assert_eq!(contents(&alice, dir.path()), before_alice);
    assert_eq!(contents(&bob, dir.path()), before_bob);
    assert!(
        before_alice
            .values()
            .any(|b| *b == std::fs::read(&big).unwrap())
    );
    let audit = alice.ok(&["admin", "audit"]);
    assert!(audit.contains("mfa.enable"), "{audit}");

    // Maintenance tasks follow --database too: an admin made now exists on PostgreSQL
    // (and not in the old SQLite file, which is left as it was).
    let out = local(&[
        "server",
        "create-admin",
        "root",
        "--password-file",
        &pw,
        "--data",
        data_s,
        "--database",
        &url,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = cli(&server, dir.path(), "root");
    root.ok(&["login", "root", "--password-file", &pw]);
    let out = local(&["server", "cleanup", "--data", data_s, "--database", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stop(server);
    assert_eq!(
        hash_tree(&data).get(Path::new("cofre.db")),
        tree.get(Path::new("cofre.db")),
        "the old SQLite file is untouched"
    );
}

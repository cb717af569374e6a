//! The vault through the real binaries: put (file and standard input), note, ls (text
//! and JSON), get (to a file, refusing to overwrite, and to standard output), cat,
//! rename, rm, and how names resolve.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use support::{Cli, FAST, write};

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn put_note_ls_get_cat_rename_rm() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::start(&dir.path().join("data"), FAST);
    let config = dir.path().join("client");
    let cli = Cli {
        server: format!("http://127.0.0.1:{}", server.port),
        config: &config,
        socket: dir.path().join("run").join("agent.sock"),
    };
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    cli.ok(&["register", "alice", "--password-file", &pw]);

    // Nothing works before login.
    let err = cli.fails(&["ls"]);
    assert!(err.contains("cofre login"), "{err}");
    cli.ok(&["login", "alice", "--password-file", &pw]);
    assert!(cli.ok(&["ls"]).contains("No items yet"));

    // A file of a few chunks and a bit.
    let big = data(3 * 65_536 + 7);
    let big_path = dir.path().join("big.bin");
    std::fs::write(&big_path, &big).unwrap();
    let out = cli.ok(&["put", big_path.to_str().unwrap()]);
    assert!(out.contains("big.bin"), "{out}");
    let big_id = out.split_whitespace().next().unwrap().to_owned();
    assert_eq!(big_id.len(), 32);

    // Standard input, and a note.
    let piped = cli.run_with_stdin(&["put", "-", "--name", "piped.txt"], Some(b"from a pipe"));
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    cli.ok(&[
        "note",
        "remember the milk\nand the bread",
        "--title",
        "todo",
    ]);
    let untitled = cli.run_with_stdin(&["note"], Some(b"\n  first line wins  \nsecond"));
    assert!(
        untitled.status.success(),
        "{}",
        String::from_utf8_lossy(&untitled.stderr)
    );
    let empty = cli.run_with_stdin(&["note"], Some(b"   \n"));
    assert!(!empty.status.success());

    let ls = cli.ok(&["ls"]);
    for name in ["big.bin", "piped.txt", "todo", "first line wins"] {
        assert!(ls.contains(name), "{name} missing:\n{ls}");
    }
    assert!(ls.contains("192.0 KiB"), "{ls}");
    let json: serde_json::Value = serde_json::from_str(&cli.ok(&["ls", "--json"])).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let row = rows.iter().find(|r| r["name"] == "big.bin").unwrap();
    assert_eq!(row["size"], big.len() as u64);
    assert_eq!(row["kind"], "file");
    assert_eq!(row["owner"], "alice");
    assert!(
        rows.iter()
            .any(|r| r["name"] == "todo" && r["kind"] == "note")
    );

    // get: by name into a file; refuses to overwrite; --force; by id prefix to stdout.
    let out_path = dir.path().join("copy.bin");
    cli.ok(&["get", "big.bin", "-o", out_path.to_str().unwrap()]);
    assert_eq!(std::fs::read(&out_path).unwrap(), big);
    let err = cli.fails(&["get", "big.bin", "-o", out_path.to_str().unwrap()]);
    assert!(err.contains("exists"), "{err}");
    cli.ok(&[
        "get",
        "big.bin",
        "-o",
        out_path.to_str().unwrap(),
        "--force",
    ]);
    let raw = cli.run(&["get", &big_id[..8], "-o", "-"]);
    assert!(raw.status.success());
    assert_eq!(raw.stdout, big);
    // No temporary files left beside the output.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".cofre-download-")
        })
        .collect();
    assert!(leftovers.is_empty());

    assert_eq!(cli.ok(&["cat", "todo"]), "remember the milk\nand the bread");
    assert_eq!(cli.ok(&["cat", "piped.txt"]), "from a pipe");

    // rename, then the old name is gone.
    cli.ok(&["rename", "todo", "groceries"]);
    assert!(cli.ok(&["cat", "groceries"]).starts_with("remember"));
    let err = cli.fails(&["cat", "todo"]);
    assert!(err.contains("no item"), "{err}");

    // Two items with one name: the command lists both ids instead of guessing.
    let out = cli.ok(&["put", big_path.to_str().unwrap()]);
    let second_id = out.split_whitespace().next().unwrap().to_owned();
    let err = cli.fails(&["get", "big.bin", "-o", "-"]);
    assert!(err.contains(&big_id) && err.contains(&second_id), "{err}");

    // rm by full id; the other copy remains and now resolves by name.
    cli.ok(&["rm", &second_id]);
    let raw = cli.run(&["cat", "big.bin"]);
    assert!(raw.status.success());
    assert_eq!(raw.stdout, big);
    let json: serde_json::Value = serde_json::from_str(&cli.ok(&["ls", "--json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 4);

    // After lock, the vault is closed again.
    cli.ok(&["lock"]);
    assert!(cli.fails(&["cat", "groceries"]).contains("cofre login"));
}

/// Runs SQL on the server's database while it runs; returns the rows it changed.
fn sql(data: &std::path::Path, q: &str) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = cofre_server::store::Store::open_sqlite(&data.join("cofre.db"))
            .await
            .unwrap();
        let n = store.raw_execute(q).await.unwrap();
        store.close().await;
        n
    })
}

/// `(name, size)` of each row of `cofre ls --json`, sorted.
fn listed(cli: &Cli<'_>) -> Vec<(String, u64)> {
    let json: serde_json::Value = serde_json::from_str(&cli.ok(&["ls", "--json"])).unwrap();
    let mut rows: Vec<(String, u64)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert!(r.get("error").is_none(), "{r}");
            (
                r["name"].as_str().unwrap().to_owned(),
                r["size"].as_u64().unwrap(),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn ls_and_get_on_a_vault_of_old_items_and_swapped_owner_copies() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data");
    let server = support::start(&db, FAST);
    let config = dir.path().join("client");
    let cli = Cli {
        server: format!("http://127.0.0.1:{}", server.port),
        config: &config,
        socket: dir.path().join("run").join("agent.sock"),
    };
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    cli.ok(&["register", "alice", "--password-file", &pw]);
    cli.ok(&["login", "alice", "--password-file", &pw]);
    let file = dir.path().join("report.bin");
    std::fs::write(&file, data(70_000)).unwrap();
    let report_id = cli
        .ok(&["put", file.to_str().unwrap()])
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    cli.ok(&["note", "first note", "--title", "one"]);
    cli.ok(&["note", "second note", "--title", "two"]);
    let expect = vec![
        ("one".to_owned(), 10),
        ("report.bin".to_owned(), 70_000),
        ("two".to_owned(), 11),
    ];
    assert_eq!(listed(&cli), expect);
    // Every item was stored with an owner copy.
    assert_eq!(
        sql(
            &db,
            "UPDATE items SET owner_metadata = owner_metadata WHERE owner_metadata IS NOT NULL"
        ),
        3
    );

    // Two items as an older client left them: listing still shows all three, and
    // stores the missing copies.
    assert_eq!(
        sql(
            &db,
            &format!("UPDATE items SET owner_metadata = NULL WHERE id <> '{report_id}'")
        ),
        2
    );
    assert_eq!(listed(&cli), expect);
    assert_eq!(
        sql(
            &db,
            "UPDATE items SET owner_metadata = owner_metadata WHERE owner_metadata IS NOT NULL"
        ),
        3
    );
    assert_eq!(cli.ok(&["cat", "one"]), "first note");

    // The server gives the report another item's copy: it still lists and opens under
    // its own name (the copy does not open beside its metadata), and gets a good one.
    assert_eq!(
        sql(
            &db,
            &format!(
                "UPDATE items SET owner_metadata = (SELECT owner_metadata FROM items \
                 WHERE id <> '{report_id}' LIMIT 1) WHERE id = '{report_id}'"
            )
        ),
        1
    );
    assert_eq!(listed(&cli), expect);
    let out = dir.path().join("copy.bin");
    cli.ok(&["get", "report.bin", "-o", out.to_str().unwrap()]);
    assert_eq!(std::fs::read(&out).unwrap(), data(70_000));
    cli.ok(&["rename", "report.bin", "report-2025.bin"]);
    assert_eq!(
        listed(&cli),
        vec![
            ("one".to_owned(), 10),
            ("report-2025.bin".to_owned(), 70_000),
            ("two".to_owned(), 11),
        ]
    );
}

//! New versions of an item: `cofre put NAME` warns when NAME is taken, `--replace`
//! stores a new version under the same id (a share recipient reads the new content),
//! and `cofre edit NOTE` opens the note in `$EDITOR` and saves it back the same way,
//! storing nothing when the text did not change. Real processes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::{Cli, FAST, write};

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ids(c: &Cli<'_>, name: &str) -> Vec<String> {
    let rows: Vec<serde_json::Value> = serde_json::from_str(&c.ok(&["ls", "--json"])).unwrap();
    rows.iter()
        .filter(|r| r["name"] == name && r["shared_with_me"] == false)
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn put_warns_on_a_taken_name_and_replace_keeps_the_id_and_its_shares() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::start(&dir.path().join("data"), FAST);
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    let alice = support::cli(&server, dir.path(), "alice");
    let bob = support::cli(&server, dir.path(), "bob");
    for (c, name) in [(&alice, "alice"), (&bob, "bob")] {
        c.ok(&["register", name, "--password-file", &pw]);
        c.ok(&["login", name, "--password-file", &pw]);
    }
    let file = write(dir.path(), "report.txt", "first version");
    let out = alice.ok(&["put", &file]);
    let id = out.split_whitespace().next().unwrap().to_owned();
    alice.ok(&["share", "report.txt", "bob"]);
    assert_eq!(bob.ok(&["cat", &id]), "first version\n");

    // The same name again, without --replace: a warning naming the item and the flag;
    // a second item is stored as before.
    let out = alice.run(&["put", &file]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("already have an item named"), "{err}");
    assert!(err.contains(&id) && err.contains("--replace"), "{err}");
    let both = ids(&alice, "report.txt");
    assert_eq!(both.len(), 2);
    // Two of that name: --replace refuses to guess.
    let err = alice.fails(&["put", &file, "--replace"]);
    assert!(err.contains("2 items are named"), "{err}");
    let dup = both.iter().find(|i| **i != id).unwrap();
    alice.ok(&["rm", dup]);

    // --replace: the same id, the new bytes, for the owner and for bob.
    std::fs::write(&file, "second version, longer than the first").unwrap();
    let out = alice.run(&["put", &file, "--replace"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with(&id), "{stdout}");
    assert!(stdout.contains("new version"), "{stdout}");
    assert!(!stderr_of(&out).contains("warning"));
    assert_eq!(ids(&alice, "report.txt"), vec![id.clone()]);
    assert_eq!(
        alice.ok(&["cat", "report.txt"]),
        "second version, longer than the first"
    );
    assert_eq!(
        bob.ok(&["cat", &id]),
        "second version, longer than the first"
    );
    assert!(
        alice.ok(&["uploads"]).contains("No unfinished uploads"),
        "nothing left pending"
    );

    // --replace with no item of that name stores a new one, and says so.
    let other = write(dir.path(), "fresh.txt", "fresh");
    let out = alice.run(&["put", &other, "--replace"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("storing a new one"));
    assert_eq!(ids(&alice, "fresh.txt").len(), 1);
}

/// Runs `cofre edit ITEM` with `EDITOR` set to `editor`, its scratch files under
/// `tmp`.
fn edit(c: &Cli<'_>, item: &str, editor: &Path, tmp: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(["edit", item])
        .arg("--server")
        .arg(&c.server)
        .arg("--config-dir")
        .arg(c.config)
        .env("COFRE_AGENT_SOCKET", &c.socket)
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("VISUAL")
        .env("EDITOR", editor)
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn script(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn edit_saves_a_new_version_and_unchanged_text_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::start(&dir.path().join("data"), FAST);
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    let alice = support::cli(&server, dir.path(), "alice");
    alice.ok(&["register", "alice", "--password-file", &pw]);
    alice.ok(&["login", "alice", "--password-file", &pw]);
    let out = alice.ok(&["note", "--title", "memo", "buy milk"]);
    let id = out.split_whitespace().next().unwrap().to_owned();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();

    // The editor sees the note, changes it: a new version under the same id.
    let seen = dir.path().join("seen.txt");
    let editor = script(
        dir.path(),
        "ed.sh",
        &format!(
            "cp \"$1\" {}\nprintf 'buy milk\\nand bread\\n' > \"$1\"",
            seen.display()
        ),
    );
    let out = edit(&alice, "memo", &editor, &tmp);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&id) && stdout.contains("new version"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), "buy milk");
    assert_eq!(alice.ok(&["cat", "memo"]), "buy milk\nand bread\n");
    assert_eq!(ids(&alice, "memo"), vec![id.clone()]);
    // The scratch directory is gone.
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);

    // An editor that changes nothing: nothing stored, and it says so.
    let out = edit(&alice, "memo", Path::new("true"), &tmp);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("No changes"));
    assert!(alice.ok(&["uploads"]).contains("No unfinished uploads"));

    // A file is not a note.
    let f = write(dir.path(), "data.bin", "bytes");
    alice.ok(&["put", &f]);
    let out = edit(&alice, "data.bin", &editor, &tmp);
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("not a note"),
        "{}",
        stderr_of(&out)
    );
}

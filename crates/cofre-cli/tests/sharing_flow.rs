//! Sending and sharing between three users through the real binaries: send, inbox,
//! share, unshare, shares, contacts (pinned on first use, verified by fingerprint), a
//! server that swaps a public key being caught on both sides; a recipient's key
//! rotation keeping its inbox, and hiding items from it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::path::Path;

use support::{Cli, FAST, write};

fn cli<'a>(server: &support::Server, dir: &'a Path, name: &str) -> Cli<'a> {
    Cli {
        server: format!("http://127.0.0.1:{}", server.port),
        config: Box::leak(dir.join(name).into_boxed_path()),
        socket: dir.join(format!("run-{name}")).join("agent.sock"),
    }
}

/// Runs SQL on the server's database while it runs (as a malicious operator would).
fn tamper(data: &Path, sql: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = cofre_server::store::Store::open_sqlite(&data.join("cofre.db"))
            .await
            .unwrap();
        assert_eq!(store.raw_execute(sql).await.unwrap(), 1, "{sql}");
        store.close().await;
    });
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn send_share_unshare_contacts_and_a_swapped_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = support::start(&data, FAST);
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    let (alice, bob, carol) = (
        cli(&server, dir.path(), "alice"),
        cli(&server, dir.path(), "bob"),
        cli(&server, dir.path(), "carol"),
    );
    for (c, name) in [(&alice, "alice"), (&bob, "bob"), (&carol, "carol")] {
        c.ok(&["register", name, "--password-file", &pw]);
        c.ok(&["login", name, "--password-file", &pw]);
    }

    // Alice sends bob a note: his key is pinned on first use, with its fingerprint.
    let out = alice.run(&["send", "bob", "--note", "hello bob"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("First time with bob"), "{err}");
    let bob_own = bob.ok(&["contacts", "show"]);
    let bob_fp = bob_own.split(": ").nth(1).unwrap().trim().to_owned();
    assert!(
        err.contains(&bob_fp),
        "the fingerprint shown is bob's own:\n{err}\n{bob_own}"
    );

    // Bob's inbox: from alice, signature checked against her key pinned now.
    let out = bob.run(&["inbox"]);
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("hello bob") && listing.contains("alice"),
        "{listing}"
    );
    assert!(stderr_of(&out).contains("not yet verified in person: alice"));
    assert_eq!(bob.ok(&["cat", "hello bob"]), "hello bob");
    // Bob compares fingerprints with alice and verifies.
    let alice_fp = alice.ok(&["contacts", "show"]);
    let alice_fp = alice_fp.split(": ").nth(1).unwrap().trim().to_owned();
    assert!(bob.ok(&["contacts", "show", "alice"]).contains(&alice_fp));
    assert!(
        bob.fails(&["contacts", "verify", "alice"])
            .contains("--yes")
    );
    bob.ok(&["contacts", "verify", "alice", "--yes"]);
    let out = bob.run(&["inbox"]);
    assert!(!stderr_of(&out).contains("not yet verified"));
    assert!(bob.ok(&["contacts", "list"]).contains("verified"));
    // In bob's ls, with who shared it (the table and the JSON).
    let table = bob.ok(&["ls"]);
    assert!(table.lines().next().unwrap().contains("FROM"), "{table}");
    let row = table.lines().find(|l| l.contains("hello bob")).unwrap();
    assert!(row.contains("alice") && row.contains("note"), "{row}");
    let json: serde_json::Value = serde_json::from_str(&bob.ok(&["ls", "--json"])).unwrap();
    let row = &json.as_array().unwrap()[0];
    assert_eq!(
        (row["owner"].as_str(), row["shared_with_me"].as_bool()),
        (Some("alice"), Some(true))
    );

    // Alice rotates her key pair: her items still open, bob is warned that her key
    // changed until he verifies the new fingerprint, then reads her note again.
    let out = alice.ok(&["keys", "rotate"]);
    assert!(out.contains("Rotated"), "{out}");
    let new_fp = out
        .lines()
        .find(|l| l.starts_with("Your new fingerprint"))
        .unwrap();
    let new_fp = new_fp.split(": ").nth(1).unwrap().trim().to_owned();
    assert_ne!(new_fp, alice_fp);
    assert!(alice.ok(&["contacts", "show"]).contains(&new_fp));
    let out = bob.run(&["inbox"]);
    assert!(stderr_of(&out).contains("CHANGED"), "{}", stderr_of(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("hello bob"));
    bob.ok(&["contacts", "verify", "alice", "--yes"]);
    assert_eq!(bob.ok(&["cat", "hello bob"]), "hello bob");

    // Share an existing file with carol, then revoke.
    let file = dir.path().join("plan.bin");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 97) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    alice.ok(&["put", file.to_str().unwrap()]);
    assert!(carol.fails(&["cat", "plan.bin"]).contains("no item"));
    alice.ok(&["share", "plan.bin", "carol"]);
    let got = carol.run(&["get", "plan.bin", "-o", "-"]);
    assert!(got.status.success(), "{}", stderr_of(&got));
    assert!(got.stdout == bytes);
    // Carol cannot re-share or delete it: it is not hers.
    assert!(
        carol
            .fails(&["share", "plan.bin", "bob"])
            .contains("no item")
    );
    assert!(carol.fails(&["rm", "plan.bin"]).contains("no item"));
    let out = alice.ok(&["unshare", "plan.bin", "carol"]);
    assert!(out.contains("already downloaded"), "{out}");
    assert!(carol.fails(&["cat", "plan.bin"]).contains("no item"));
    assert!(carol.ok(&["inbox"]).contains("Nothing shared"));

    // The server swaps bob's public key for carol's: alice's pin refuses to send.
    let items_before = alice.ok(&["ls", "--json"]);
    tamper(
        &data,
        "UPDATE users SET keys_json = (SELECT keys_json FROM users WHERE username = 'carol') \
         WHERE username = 'bob'",
    );
    let err = alice.fails(&["send", "bob", "--note", "for bob only"]);
    assert!(
        err.contains("CHANGED") && err.contains("Nothing was done"),
        "{err}"
    );
    assert_eq!(
        alice.ok(&["ls", "--json"]),
        items_before,
        "nothing was uploaded"
    );

    // And it swaps alice's key too: bob's inbox hides her share and says why.
    tamper(
        &data,
        "UPDATE users SET keys_json = (SELECT keys_json FROM users WHERE username = 'carol') \
         WHERE username = 'alice'",
    );
    let out = bob.run(&["inbox"]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("hello bob"));
    assert!(stderr_of(&out).contains("CHANGED"), "{}", stderr_of(&out));
    assert!(bob.fails(&["cat", "hello bob"]).contains("no item"));
}

#[test]
fn received_shares_survive_the_recipients_key_rotation_and_can_be_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = support::start(&data, FAST);
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    let (alice, bob) = (
        cli(&server, dir.path(), "alice"),
        cli(&server, dir.path(), "bob"),
    );
    for (c, name) in [(&alice, "alice"), (&bob, "bob")] {
        c.ok(&["register", name, "--password-file", &pw]);
        c.ok(&["login", name, "--password-file", &pw]);
    }
    alice.ok(&["send", "bob", "--note", "hello bob"]);
    alice.ok(&["send", "bob", "--note", "second note"]);
    let file = dir.path().join("plan.bin");
    let bytes: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    alice.ok(&["put", file.to_str().unwrap()]);
    assert!(
        alice
            .ok(&["shares", "plan.bin"])
            .contains("shared with nobody")
    );
    alice.ok(&["share", "plan.bin", "bob"]);
    assert_eq!(bob.ok(&["cat", "hello bob"]), "hello bob");

    // Who has access, as a table and as JSON.
    let table = alice.ok(&["shares", "plan.bin"]);
    assert!(
        table.lines().next().unwrap().contains("RECIPIENT") && table.contains("bob"),
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&alice.ok(&["shares", "plan.bin", "--json"])).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["recipient"], "bob");
    assert!(rows[0]["shared_at"].as_i64().unwrap() > 0);
    assert!(bob.fails(&["shares", "plan.bin"]).contains("no item"));

    // Bob rotates his keys: everything he received is still in his inbox and opens.
    let out = bob.ok(&["keys", "rotate"]);
    assert!(out.contains("Rotated"), "{out}");
    let out = bob.run(&["inbox"]);
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    for name in ["hello bob", "second note", "plan.bin"] {
        assert!(listing.contains(name), "{name} missing:\n{listing}");
    }
    assert!(!stderr_of(&out).contains("warning"), "{}", stderr_of(&out));
    assert_eq!(bob.ok(&["cat", "hello bob"]), "hello bob");
    let got = bob.run(&["get", "plan.bin", "-o", "-"]);
    assert!(got.status.success(), "{}", stderr_of(&got));
    assert!(got.stdout == bytes);
    // And after a second rotation too.
    bob.ok(&["keys", "rotate"]);
    assert_eq!(bob.ok(&["cat", "second note"]), "second note");

    // The server swaps the re-wrap statements of two shares: the one it broke leaves
    // the inbox with a warning, the other still opens.
    let json: serde_json::Value = serde_json::from_str(&bob.ok(&["inbox", "--json"])).unwrap();
    let id_of = |name: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (hello, second) = (id_of("hello bob"), id_of("second note"));
    tamper(
        &data,
        &format!(
            "UPDATE item_shares SET rewrap_signature = \
             (SELECT rewrap_signature FROM item_shares WHERE item_id = '{second}') \
             WHERE item_id = '{hello}'"
        ),
    );
    let out = bob.run(&["inbox"]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("hello bob"));
    let err = stderr_of(&out);
    assert!(err.contains("warning") && err.contains(&hello), "{err}");
    assert!(bob.fails(&["cat", "hello bob"]).contains("no item"));
    assert_eq!(bob.ok(&["cat", "second note"]), "second note");

    // Bob hides it from his inbox, by id (its name is not trusted); then the other one
    // by name. Alice's items are untouched.
    assert!(
        bob.fails(&["inbox", "hide", "hello bob"])
            .contains("not in your inbox")
    );
    let out = bob.ok(&["inbox", "hide", &hello[..8]]);
    assert!(out.contains(&hello), "{out}");
    let out = bob.run(&["inbox"]);
    assert!(!stderr_of(&out).contains(&hello), "{}", stderr_of(&out));
    bob.ok(&["inbox", "hide", "second note"]);
    let listing = bob.ok(&["inbox"]);
    assert!(
        !listing.contains("second note") && listing.contains("plan.bin"),
        "{listing}"
    );
    assert!(
        bob.fails(&["inbox", "hide", "second note"])
            .contains("not in your inbox")
    );
    let mine = alice.ok(&["ls"]);
    assert!(
        mine.contains("hello bob") && mine.contains("second note"),
        "{mine}"
    );
    assert!(
        alice
            .ok(&["shares", "hello bob"])
            .contains("shared with nobody")
    );
}

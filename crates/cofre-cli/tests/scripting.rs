//! The command line for people and for scripts, through the real binaries: exit codes
//! that say what happened, messages without HTTP internals that say what to do next,
//! `--json` output (and JSON errors), one-time codes typed as people type them,
//! registration's cheap checks before the key derivation, the plain-HTTP warning,
//! a closed pipe, `RUST_BACKTRACE`, `NO_COLOR` and an empty `COFRE_SERVER`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::{Cli, FAST, cli, write};

/// The documented exit statuses.
const USAGE: i32 = 2;
const NOT_LOGGED_IN: i32 = 3;
const AUTH_FAILED: i32 = 4;
const NOT_FOUND: i32 = 5;
const INTEGRITY: i32 = 6;
const NO_SPACE: i32 = 7;
const UNAVAILABLE: i32 = 8;

const PASSWORD: &str = "correct horse battery staple 7";

/// Runs the `cofre` binary with `args` (no `--server` added) and extra environment.
fn cofre(c: &Cli<'_>, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cofre"));
    cmd.args(args)
        .arg("--config-dir")
        .arg(c.config)
        .env("COFRE_AGENT_SOCKET", &c.socket)
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("COFRE_PASSWORD_FILE")
        .env_remove("COFRE_TOTP")
        .env_remove("COFRE_SERVER")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The exit status, stdout and stderr of a run.
fn status(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs with the test client's server and requires the exit status `want`; returns
/// stderr.
fn fails_with(c: &Cli<'_>, args: &[&str], want: i32) -> String {
    let (code, out, err) = status(&c.run(args));
    assert_eq!(code, want, "cofre {args:?}:\n{out}\n{err}");
    err
}

/// No HTTP internals in a message meant for people.
fn plain(err: &str) {
    for internal in [
        "HTTP 4",
        "HTTP 5",
        "Unauthorized",
        "NotFound",
        "InvalidCredentials",
    ] {
        assert!(!err.contains(internal), "{internal:?} in {err}");
    }
}

/// Locks the agents of these clients when dropped (a failed test included), so that
/// none waits out its idle timeout.
struct Agents(Vec<(PathBuf, PathBuf)>);

impl Agents {
    fn of(clients: &[&Cli<'_>]) -> Self {
        Self(
            clients
                .iter()
                .map(|c| (c.config.to_owned(), c.socket.clone()))
                .collect(),
        )
    }
}

impl Drop for Agents {
    fn drop(&mut self) {
        for (config, socket) in &self.0 {
            let _ = Command::new(env!("CARGO_BIN_EXE_cofre"))
                .args(["lock", "--config-dir"])
                .arg(config)
                .env("COFRE_AGENT_SOCKET", socket)
                .output();
        }
    }
}

/// A server with alice registered and logged in (the first account: an admin).
fn setup<'a>(dir: &'a Path, extra: &[&str]) -> (support::Server, Cli<'a>, String) {
    let data = dir.join("data");
    let mut args = FAST.to_vec();
    args.extend_from_slice(extra);
    let server = support::start(&data, &args);
    let alice = cli(&server, dir, "alice");
    let pw = write(dir, "pw", PASSWORD);
    alice.ok(&["register", "alice", "--password-file", &pw]);
    alice.ok(&["login", "alice", "--password-file", &pw]);
    (server, alice, pw)
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The only blob file in the server's blob folder.
fn only_blob(data: &Path) -> PathBuf {
    let mut found = Vec::new();
    let mut stack = vec![data.join("blobs")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p.file_name().unwrap() != "uploads" {
                    stack.push(p);
                }
            } else {
                found.push(p);
            }
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
    found.pop().unwrap()
}

#[test]
fn exit_codes_say_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, pw) = setup(dir.path(), &["--quota", "64K"]);
    let _agents = Agents::of(&[&alice]);
    let data = dir.path().join("data");

    // 2: usage, clap's and ours.
    fails_with(&alice, &["frobnicate"], USAGE);
    let err = fails_with(&alice, &["register", "x!"], USAGE);
    assert!(err.contains("username"), "{err}");

    // 3: not logged in (another profile), as a message and as JSON on stderr.
    let nobody = cli(&server, dir.path(), "nobody");
    let err = fails_with(&nobody, &["whoami"], NOT_LOGGED_IN);
    assert!(err.contains("run `cofre login`"), "{err}");
    let err = fails_with(&nobody, &["ls", "--json"], NOT_LOGGED_IN);
    let body: serde_json::Value = serde_json::from_str(err.trim()).unwrap();
    assert_eq!(body["error"]["code"], "not_logged_in", "{body}");
    assert_eq!(body["error"]["exit_code"], NOT_LOGGED_IN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cofre login")
    );

    // 4: a wrong password; the server's code only with -v or --json.
    let wrong = write(dir.path(), "wrong", "not the password at all 99");
    let err = fails_with(
        &nobody,
        &["login", "alice", "--password-file", &wrong],
        AUTH_FAILED,
    );
    assert!(err.contains("invalid username or credentials"), "{err}");
    assert!(!err.contains("invalid_credentials"), "{err}");
    plain(&err);
    let err = fails_with(
        &nobody,
        &["login", "alice", "--password-file", &wrong, "-v"],
        AUTH_FAILED,
    );
    assert!(err.contains("invalid_credentials"), "{err}");

    // 5: no such item, no such user (said plainly).
    let notes = write(dir.path(), "notes.txt", "the notes");
    alice.ok(&["put", &notes]);
    let err = fails_with(&alice, &["get", "no-such-item"], NOT_FOUND);
    assert!(err.contains("no item is named"), "{err}");
    let err = fails_with(&alice, &["share", "notes.txt", "nosuchuser"], NOT_FOUND);
    assert!(
        err.contains("there is no user named \"nosuchuser\""),
        "{err}"
    );
    plain(&err);

    // 6: a tampered body.
    let blob = only_blob(&data);
    let mut bytes = std::fs::read(&blob).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&blob, &bytes).unwrap();
    let err = fails_with(&alice, &["cat", "notes.txt"], INTEGRITY);
    assert!(err.contains("integrity"), "{err}");

    // 7: over the quota.
    let big = dir.path().join("big.bin");
    support::random_file(&big, 256 << 10, 7);
    let err = fails_with(&alice, &["put", big.to_str().unwrap()], NO_SPACE);
    assert!(err.contains("quota"), "{err}");

    // 8: the server is gone (the session is still held), or was never there.
    drop(server);
    let err = fails_with(&alice, &["ls"], UNAVAILABLE);
    assert!(err.contains("cannot reach the server"), "{err}");
    let gone = Cli {
        server: format!("http://127.0.0.1:{}", closed_port()),
        config: alice.config,
        socket: alice.socket.clone(),
    };
    let err = fails_with(
        &gone,
        &["login", "alice", "--password-file", &pw],
        UNAVAILABLE,
    );
    assert!(err.contains("cannot reach the server"), "{err}");
    plain(&err);

    // RUST_BACKTRACE=1 does not turn an ordinary error into a backtrace.
    let (code, _, err) = status(&cofre(
        &gone,
        &[
            "login",
            "alice",
            "--password-file",
            &pw,
            "--server",
            &gone.server,
        ],
        &[("RUST_BACKTRACE", "1")],
    ));
    assert_eq!(code, UNAVAILABLE, "{err}");
    assert!(!err.to_lowercase().contains("backtrace"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn a_revoked_session_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, pw) = setup(dir.path(), &[]);
    let laptop = cli(&server, dir.path(), "laptop");
    let _agents = Agents::of(&[&alice, &laptop]);
    laptop.ok(&["login", "alice", "--password-file", &pw]);
    laptop.ok(&["logout", "--all"]);
    let err = fails_with(&alice, &["ls"], NOT_LOGGED_IN);
    assert_eq!(
        err.matches("your session ended: run `cofre login`").count(),
        1,
        "{err}"
    );
    assert_eq!(err.matches("cofre login").count(), 1, "{err}");
    plain(&err);
}

/// How many failed logins the audit log holds.
fn failed_logins(admin: &Cli<'_>) -> usize {
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&admin.ok(&["admin", "audit", "--json", "--limit", "1000"])).unwrap();
    rows.iter()
        .filter(|r| r["event"] == "login" && r["outcome"] == "failed")
        .count()
}

/// `cofre login` for `c` on a terminal (under `script`), typing `input`.
fn login_on_a_terminal(c: &Cli<'_>, pw: &str, input: &str) -> (i32, String) {
    let cmd = format!(
        "{} login alice --password-file {pw} --server {} --config-dir {}",
        env!("CARGO_BIN_EXE_cofre"),
        c.server,
        c.config.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("COFRE_AGENT_SOCKET", &c.socket)
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("COFRE_TOTP")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn one_time_codes_as_people_type_them() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, pw) = setup(dir.path(), &[]);
    let secret = support::enable_mfa(&alice);
    let phone = cli(&server, dir.path(), "phone");
    let _agents = Agents::of(&[&alice, &phone]);

    // Malformed codes are refused here: no guess is spent, nothing is derived.
    let before = failed_logins(&alice);
    for bad in ["12345", "1234567", "12a456", "abcd-efg1"] {
        let flag = if bad.contains('-') {
            "--recovery-code"
        } else {
            "--totp"
        };
        let err = fails_with(
            &phone,
            &["login", "alice", "--password-file", &pw, flag, bad],
            USAGE,
        );
        assert!(err.contains("nothing was sent"), "{err}");
    }
    assert_eq!(failed_logins(&alice), before, "no guess was spent");

    // A code typed as "123 456" is accepted.
    let code = support::totp_code(&secret, 0);
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    phone.ok(&["login", "alice", "--password-file", &pw, "--totp", &spaced]);
    phone.ok(&["lock"]);

    // On a terminal, a wrong code asks for the code again, not the password.
    let good = support::totp_code(&secret, 1);
    let wrong = ["000000", "111111", "222222"]
        .into_iter()
        .find(|w| (-1..=1).all(|s| support::totp_code(&secret, s) != *w))
        .unwrap();
    let (code, text) = login_on_a_terminal(&phone, &pw, &format!("{wrong}\n{good}\n"));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("your password was accepted"), "{text}");
    assert_eq!(text.matches("One-time code").count(), 2, "{text}");
    assert!(text.contains("Logged in as alice"), "{text}");
    assert!(!text.contains("Password:"), "{text}");
    assert!(phone.ok(&["whoami"]).contains("alice"));
    drop(server);
}

#[test]
fn registration_checks_the_cheap_things_before_deriving_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, _pw) = setup(dir.path(), &["--registration", "invite"]);
    let bob = cli(&server, dir.path(), "bob");
    let _agents = Agents::of(&[&alice, &bob]);

    // Invite-only: said before the password is asked for (standard input is not a
    // terminal here, so reaching the prompt would fail with another message).
    let err = fails_with(&bob, &["register", "bob"], 1);
    assert!(err.contains("invitation"), "{err}");
    assert!(!err.contains("terminal"), "{err}");

    // An invalid username: before anything else.
    let err = fails_with(&bob, &["register", "b@d name"], USAGE);
    assert!(err.contains("username"), "{err}");

    // A weak password: refused before the key derivation announces itself.
    let invite: serde_json::Value =
        serde_json::from_str(&alice.ok(&["admin", "invite", "--json"])).unwrap();
    let token = invite["token"].as_str().unwrap();
    let weak = write(dir.path(), "weak", "password1234");
    let err = fails_with(
        &bob,
        &[
            "register",
            "bob",
            "--password-file",
            &weak,
            "--invite",
            token,
        ],
        USAGE,
    );
    assert!(err.contains("too easy to guess"), "{err}");
    assert!(!err.contains("Creating your keys"), "{err}");

    // A server that does not answer: before the password prompt too.
    let gone = Cli {
        server: format!("http://127.0.0.1:{}", closed_port()),
        config: bob.config,
        socket: bob.socket.clone(),
    };
    let err = fails_with(&gone, &["register", "bob"], UNAVAILABLE);
    assert!(!err.contains("terminal"), "{err}");

    // The invite works, and the username is still free.
    let good = write(dir.path(), "good", PASSWORD);
    bob.ok(&[
        "register",
        "bob",
        "--password-file",
        &good,
        "--invite",
        token,
    ]);
}

#[test]
fn credentials_over_plain_http_to_another_machine_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let c = Cli {
        server: String::new(),
        config: Box::leak(dir.path().join("c").into_boxed_path()),
        socket: dir.path().join("run").join("agent.sock"),
    };
    let remote = "http://vault.cofre-test.invalid:8080";
    // Each command warns before it asks for anything (standard input is no terminal,
    // so the prompt that follows fails) or sends anything.
    for args in [
        vec!["login", "alice", "--server", remote],
        vec!["recover", "alice", "--server", remote],
        vec!["register", "alice", "--server", remote],
    ] {
        let (code, _, err) = status(&cofre(&c, &args, &[]));
        assert_ne!(code, 0);
        let warned = err
            .find("plain http://")
            .unwrap_or_else(|| panic!("{args:?}: {err}"));
        assert!(err.contains("warning:"), "{err}");
        let failed = err.find("cofre:").unwrap();
        assert!(warned < failed, "the warning comes first: {err}");
    }
    // Loopback and https are quiet.
    for server in ["http://127.0.0.1:9", "https://vault.cofre-test.invalid"] {
        let (_, _, err) = status(&cofre(&c, &["login", "alice", "--server", server], &[]));
        assert!(!err.contains("plain http://"), "{server}: {err}");
    }
}

#[test]
fn json_for_every_command_that_prints_data() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, pw) = setup(dir.path(), &[]);
    let bob = cli(&server, dir.path(), "bob");
    let _agents = Agents::of(&[&alice]);
    bob.ok(&["register", "bob", "--password-file", &pw]);

    let who: serde_json::Value = serde_json::from_str(&alice.ok(&["whoami", "--json"])).unwrap();
    assert_eq!(who["username"], "alice");
    assert_eq!(who["role"], "admin");
    assert_eq!(who["mfa_enabled"], false);
    assert_eq!(who["server"], alice.server.as_str());

    let notes = write(dir.path(), "notes.txt", "the notes");
    let put: serde_json::Value =
        serde_json::from_str(&alice.ok(&["put", &notes, "--json"])).unwrap();
    let id = put["id"].as_str().unwrap();
    assert_eq!(put["name"], "notes.txt");
    assert_eq!(put["size"], 10);
    assert!(alice.ok(&["cat", id]).contains("the notes"));

    let contacts: serde_json::Value =
        serde_json::from_str(&alice.ok(&["contacts", "list", "--json"])).unwrap();
    assert_eq!(contacts, serde_json::json!([]));
    alice.ok(&["share", id, "bob"]);
    let contacts: serde_json::Value =
        serde_json::from_str(&alice.ok(&["contacts", "list", "--json"])).unwrap();
    assert_eq!(contacts[0]["username"], "bob", "{contacts}");
    assert_eq!(contacts[0]["verified"], false);
    assert!(contacts[0]["fingerprint"].as_str().unwrap().len() > 20);

    let mfa: serde_json::Value =
        serde_json::from_str(&alice.ok(&["mfa", "status", "--json"])).unwrap();
    assert_eq!(mfa["enabled"], false, "{mfa}");

    // The audit log: newest first, RFC 3339 times, usernames; --since filters.
    let users: Vec<serde_json::Value> =
        serde_json::from_str(&alice.ok(&["admin", "users", "--json"])).unwrap();
    let bob_id = users.iter().find(|u| u["username"] == "bob").unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    alice.ok(&["admin", "lock", "bob"]);
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&alice.ok(&["admin", "audit", "--json"])).unwrap();
    let seqs: Vec<i64> = rows.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    assert_eq!(rows[0]["event"], "admin.lock", "{}", rows[0]);
    assert_eq!(rows[0]["actor"], "alice", "{}", rows[0]);
    assert_eq!(rows[0]["subject"], "bob", "{}", rows[0]);
    assert_eq!(rows[0]["subject_id"], bob_id.as_str(), "{}", rows[0]);
    let at = rows[0]["at"].as_str().unwrap();
    assert!(
        at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
        "{at}"
    );
    let recent: Vec<serde_json::Value> =
        serde_json::from_str(&alice.ok(&["admin", "audit", "--json", "--since", "1h"])).unwrap();
    assert_eq!(recent.len(), rows.len());
    let none: Vec<serde_json::Value> = serde_json::from_str(&alice.ok(&[
        "admin",
        "audit",
        "--json",
        "--since",
        "2999-01-01T00:00:00Z",
    ]))
    .unwrap();
    assert!(none.is_empty(), "{none:?}");
    let table = alice.ok(&["admin", "audit", "--limit", "1"]);
    assert!(
        table.contains("admin.lock") && table.contains("alice") && table.contains("bob"),
        "{table}"
    );
    drop(server);
}

#[test]
fn pipes_backtraces_colour_and_empty_settings() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, alice, pw) = setup(dir.path(), &[]);
    let _agents = Agents::of(&[&alice]);
    let big = dir.path().join("big.bin");
    support::random_file(&big, 24 << 20, 3);
    alice.ok(&["put", big.to_str().unwrap()]);

    // `cofre cat big | head -c 10`: quiet, status 0.
    let mut child = Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(["cat", "big.bin", "--config-dir"])
        .arg(alice.config)
        .env("COFRE_AGENT_SOCKET", &alice.socket)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 10];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(head.as_slice(), &std::fs::read(&big).unwrap()[..10]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // `cofre ls | head -0`: the reader is gone before the first line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(["ls", "--config-dir"])
        .arg(alice.config)
        .env("COFRE_AGENT_SOCKET", &alice.socket)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // An empty COFRE_SERVER means unset: the remembered server is used.
    alice.ok(&["lock"]);
    let (code, _, err) = status(&cofre(
        &alice,
        &["login", "alice", "--password-file", &pw],
        &[("COFRE_SERVER", "")],
    ));
    assert_eq!(code, 0, "{err}");

    // Progress bars on a terminal, none with NO_COLOR.
    let on_terminal = |env: &[(&str, &str)], name: &str| {
        let cmd = format!(
            "{} put {} --name {name} --config-dir {}",
            env!("CARGO_BIN_EXE_cofre"),
            big.display(),
            alice.config.display()
        );
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"])
            .env("COFRE_AGENT_SOCKET", &alice.socket)
            .env_remove("NO_COLOR")
            .env("TERM", "xterm")
            .stdin(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(
        on_terminal(&[], "copy-1").contains("uploading"),
        "bars drawn on a terminal"
    );
    let plain_text = on_terminal(&[("NO_COLOR", "1")], "copy-2");
    assert!(!plain_text.contains("uploading"), "{plain_text}");
    assert!(!plain_text.contains('\u{1b}'), "{plain_text:?}");
}

#[test]
fn no_colour_in_the_server_log_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let log = |env: &[(&str, &str)], name: &str| {
        let cmd = format!(
            "{} server --listen 127.0.0.1:0 --data {}",
            env!("CARGO_BIN_EXE_cofre"),
            dir.path().join(name).display()
        );
        let mut c = Command::new("script");
        c.args(["-qfec", &cmd, "/dev/null"])
            .env_remove("NO_COLOR")
            .env("TERM", "xterm")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c.spawn().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut text = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&text).contains("listening") {
            let n = stdout.read(&mut buf).unwrap();
            assert!(n > 0, "{}", String::from_utf8_lossy(&text));
            text.extend_from_slice(&buf[..n]);
        }
        child.kill().unwrap();
        let _ = child.wait();
        String::from_utf8_lossy(&text).into_owned()
    };
    assert!(log(&[], "a").contains('\u{1b}'), "colour on a terminal");
    let plain_log = log(&[("NO_COLOR", "1")], "b");
    assert!(!plain_log.contains('\u{1b}'), "{plain_log:?}");
}

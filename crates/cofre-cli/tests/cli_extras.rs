//! The edges of the command line, through the real binary: one agent per profile (two
//! config directories logged in side by side, each with its own session and its own
//! contact pins), `admin delete` confirmation, `contacts verify --fingerprint` and
//! `contacts show` failing on a changed key, and the generated completion scripts and
//! manual pages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::{FAST, write};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn cofre(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A client profile that does not choose its agent socket: the default, keyed by its
/// config directory, under a private `XDG_RUNTIME_DIR`.
struct Profile {
    server: String,
    config: PathBuf,
    runtime: PathBuf,
}

impl Profile {
    fn run(&self, args: &[&str]) -> Output {
        self.run_in(&self.config, args)
    }

    /// Runs with `config` as the config directory (another spelling of it, say).
    fn run_in(&self, config: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_cofre"))
            .args(args)
            .arg("--server")
            .arg(&self.server)
            .arg("--config-dir")
            .arg(config)
            .env("XDG_RUNTIME_DIR", &self.runtime)
            .env_remove("COFRE_AGENT_SOCKET")
            .env_remove("COFRE_PASSWORD_FILE")
            .env_remove("COFRE_TOTP")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "cofre {args:?} failed:\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// The usernames pinned in this profile's contacts file.
    fn pinned(&self) -> Vec<String> {
        let Ok(bytes) = std::fs::read(self.config.join("contacts.json")) else {
            return Vec::new();
        };
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        v["servers"][&self.server]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// The agent sockets under `runtime`.
fn sockets(runtime: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(runtime.join("cofre"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    all.sort();
    all
}

#[test]
fn two_profiles_are_logged_in_side_by_side_each_with_its_own_pins() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::start(&dir.path().join("data"), FAST);
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    let runtime = dir.path().join("xdg");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    let url = format!("http://127.0.0.1:{}", server.port);
    let profile = |name: &str| Profile {
        server: url.clone(),
        config: dir.path().join(format!("profile-{name}")),
        runtime: runtime.clone(),
    };
    let (alice, bob) = (profile("alice"), profile("bob"));

    alice.ok(&["register", "alice", "--password-file", &pw]);
    bob.ok(&["register", "bob", "--password-file", &pw]);
    alice.ok(&["login", "alice", "--password-file", &pw]);
    let alice_socket = sockets(&runtime);
    assert_eq!(alice_socket.len(), 1, "{alice_socket:?}");
    let alice_socket = alice_socket[0].clone();
    bob.ok(&["login", "bob", "--password-file", &pw]);

    // Two agents, each on a private socket named after its profile.
    let both = sockets(&runtime);
    assert_eq!(both.len(), 2, "{both:?}");
    for s in &both {
        let name = s.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("agent-") && name.ends_with(".sock"),
            "{name}"
        );
        let mode = std::fs::metadata(s).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    let mode = std::fs::metadata(runtime.join("cofre"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);

    // Logging bob in did not replace alice's session.
    assert!(alice.ok(&["whoami"]).starts_with("alice "));
    assert!(bob.ok(&["whoami"]).starts_with("bob "));
    // Another spelling of alice's directory is the same profile, the same agent.
    std::fs::create_dir(dir.path().join("elsewhere")).unwrap();
    let spelled = dir
        .path()
        .join("elsewhere")
        .join("..")
        .join("profile-alice");
    let out = alice.run_in(&spelled, &["whoami"]);
    assert!(text(&out.stdout).starts_with("alice "), "{out:?}");

    // Each user's pins go to its own profile's file.
    alice.ok(&["send", "bob", "--note", "hello bob"]);
    assert_eq!(alice.pinned(), ["bob"]);
    assert!(bob.pinned().is_empty(), "{:?}", bob.pinned());
    assert!(bob.ok(&["inbox"]).contains("hello bob"));
    bob.ok(&["contacts", "verify", "alice", "--yes"]);
    assert_eq!(bob.pinned(), ["alice"]);
    assert_eq!(alice.pinned(), ["bob"]);
    assert!(alice.ok(&["whoami"]).starts_with("alice "));
    assert!(bob.ok(&["whoami"]).starts_with("bob "));

    // A socket given explicitly still wins; aimed at another profile's agent, that
    // agent refuses to hand out, replace or end its session.
    let sock = alice_socket.to_str().unwrap();
    let out = bob.run(&["whoami", "--agent-socket", sock]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("another profile"), "{out:?}");
    assert!(!text(&out.stdout).contains("alice"));
    let out = bob.run(&[
        "login",
        "bob",
        "--password-file",
        &pw,
        "--agent-socket",
        sock,
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("another profile"), "{out:?}");
    let out = bob.run(&["lock", "--agent-socket", sock]);
    assert!(!out.status.success(), "{out:?}");
    assert!(alice.ok(&["whoami"]).starts_with("alice "));
    assert!(bob.ok(&["whoami"]).starts_with("bob "));

    // Locking one profile leaves the other logged in.
    alice.ok(&["lock"]);
    assert!(!alice.run(&["whoami"]).status.success());
    assert!(bob.ok(&["whoami"]).starts_with("bob "));
    bob.ok(&["lock"]);
    assert!(sockets(&runtime).is_empty(), "{:?}", sockets(&runtime));
}

/// Runs `cofre args` with a pseudo-terminal as standard input, typing `typed` into it.
fn on_terminal(c: &support::Cli<'_>, args: &[&str], typed: &str) -> Output {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    use std::io::Write as _;
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(args)
        .arg("--server")
        .arg(&c.server)
        .arg("--config-dir")
        .arg(c.config)
        .env("COFRE_AGENT_SOCKET", &c.socket)
        .stdin(Stdio::from(slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut master = std::fs::File::from(master);
    master.write_all(typed.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    drop(master);
    out
}

#[test]
fn admin_delete_wants_the_name_again_or_yes() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::start(&dir.path().join("data"), FAST);
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    let admin = support::cli(&server, dir.path(), "root");
    let bob = support::cli(&server, dir.path(), "bob");
    admin.ok(&["register", "root", "--password-file", &pw]);
    admin.ok(&["login", "root", "--password-file", &pw]);
    bob.ok(&["register", "bob", "--password-file", &pw]);
    let exists = |name: &str| {
        admin
            .ok(&["admin", "users"])
            .lines()
            .any(|l| l.split_whitespace().next() == Some(name))
    };
    assert!(exists("bob"));

    // No terminal, no --yes: refused, with what to do, and nothing deleted.
    let out = admin.run(&["admin", "delete", "bob"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("not a terminal") && err.contains("--yes"),
        "{err}"
    );
    assert!(exists("bob"));

    // On a terminal, a name that is not the same one deletes nothing.
    let out = on_terminal(&admin, &["admin", "delete", "bob"], "bobby\n");
    assert!(!out.status.success(), "{out:?}");
    let err = text(&out.stderr);
    assert!(
        err.contains("Type the username again") && err.contains("nothing was deleted"),
        "{err}"
    );
    assert!(exists("bob"));
    // The same name, typed again (case and spaces as a username allows), does.
    let out = on_terminal(&admin, &["admin", "delete", "bob"], "  Bob\n");
    assert!(out.status.success(), "{out:?}");
    assert!(text(&out.stdout).contains("bob: deleted"));
    assert!(!exists("bob"));

    // --yes deletes without asking, terminal or not.
    let carol = support::cli(&server, dir.path(), "carol");
    carol.ok(&["register", "carol", "--password-file", &pw]);
    assert!(exists("carol"));
    assert!(
        admin
            .ok(&["admin", "delete", "carol", "--yes"])
            .contains("carol: deleted")
    );
    assert!(!exists("carol"));
    assert!(
        !carol
            .run(&["login", "carol", "--password-file", &pw])
            .status
            .success()
    );
}

/// The fingerprint `c` reads out for itself (`contacts show`).
fn own_fingerprint(c: &support::Cli<'_>) -> String {
    let out = c.ok(&["contacts", "show"]);
    out.split(": ").nth(1).unwrap().trim().to_owned()
}

#[test]
fn contacts_verify_against_a_fingerprint_and_show_fails_on_a_changed_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::start(&dir.path().join("data"), FAST);
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    let (alice, bob, carol) = (
        support::cli(&server, dir.path(), "alice"),
        support::cli(&server, dir.path(), "bob"),
        support::cli(&server, dir.path(), "carol"),
    );
    for (c, name) in [(&alice, "alice"), (&bob, "bob"), (&carol, "carol")] {
        c.ok(&["register", name, "--password-file", &pw]);
        c.ok(&["login", name, "--password-file", &pw]);
    }
    let pins = alice.config.join("contacts.json");
    let bob_fp = own_fingerprint(&bob);
    assert_eq!(bob_fp.len(), 39, "{bob_fp}");

    // A fingerprint that is not carol's: refused loudly, nothing pinned.
    let out = alice.run(&["contacts", "verify", "carol", "--fingerprint", &bob_fp]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("FINGERPRINTS DIFFER") && err.contains("Nothing was pinned"),
        "{err}"
    );
    assert!(!pins.exists(), "nothing was written");
    // Not a fingerprint at all (a character missing): said so, nothing pinned.
    let out = alice.run(&["contacts", "verify", "bob", "--fingerprint", &bob_fp[1..]]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("not a fingerprint"), "{out:?}");
    assert!(!pins.exists());

    // Bob's own, typed without spaces in capitals: it matches, and is pinned verified.
    let typed = bob_fp.replace(' ', "").to_uppercase();
    let out = alice.ok(&["contacts", "verify", "bob", "--fingerprint", &typed]);
    assert!(
        out.contains("matches") && out.contains("bob verified"),
        "{out}"
    );
    let list = alice.ok(&["contacts", "list"]);
    let row = list.lines().find(|l| l.starts_with("bob")).unwrap();
    assert!(row.contains(&bob_fp) && row.contains("(verified)"), "{row}");
    // The key is unchanged: show succeeds.
    let out = alice.run(&["contacts", "show", "bob"]);
    assert!(out.status.success(), "{out:?}");
    assert!(!text(&out.stdout).contains("WARNING"));

    // Bob rotates his keys: alice's show prints the warning and exits non-zero.
    let rotated = bob.ok(&["keys", "rotate"]);
    let new_fp = rotated
        .lines()
        .find_map(|l| l.strip_prefix("Your new fingerprint"))
        .and_then(|l| l.split(": ").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    assert_ne!(new_fp, bob_fp);
    let out = alice.run(&["contacts", "show", "bob"]);
    assert!(!out.status.success(), "{out:?}");
    assert!(text(&out.stdout).contains("WARNING"), "{out:?}");
    assert!(text(&out.stdout).contains(&new_fp));
    assert!(text(&out.stderr).contains("CHANGED"), "{out:?}");

    // Verifying against the old fingerprint fails and leaves the old pin as it was.
    let before = std::fs::read(&pins).unwrap();
    let out = alice.run(&["contacts", "verify", "bob", "--fingerprint", &bob_fp]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("FINGERPRINTS DIFFER"));
    assert_eq!(std::fs::read(&pins).unwrap(), before);
    assert!(!alice.run(&["contacts", "show", "bob"]).status.success());
    // The new one, as bob reads it out (dashes for spaces): pinned; show is quiet again.
    assert_eq!(own_fingerprint(&bob), new_fp);
    alice.ok(&[
        "contacts",
        "verify",
        "bob",
        "--fingerprint",
        &new_fp.replace(' ', "-"),
    ]);
    let out = alice.run(&["contacts", "show", "bob"]);
    assert!(out.status.success(), "{out:?}");
    assert!(text(&out.stdout).contains(&new_fp));
    assert!(
        alice
            .ok(&["send", "bob", "--note", "after rotation"])
            .contains("Sent")
    );
}

#[test]
fn completion_scripts_and_manual_pages_come_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let visible = [
        "server",
        "register",
        "login",
        "whoami",
        "put",
        "get",
        "contacts",
        "admin",
        "backup",
        "completions",
        "man",
    ];

    // bash: a script bash accepts, which completes subcommands and their options.
    let out = cofre(&["completions", "bash"]);
    assert!(out.status.success(), "{out:?}");
    let script = dir.path().join("cofre.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(check.status.success(), "bash -n: {check:?}");
    let complete = |words: &str| {
        let cmd = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE=\"{words}\"; COMP_POINT=${{#COMP_LINE}}; \
             _cofre cofre \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = Command::new("bash").arg("-c").arg(cmd).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        text(&out.stdout)
    };
    let subs = complete("cofre ''");
    for s in visible {
        assert!(subs.lines().any(|l| l == s), "{s} not offered:\n{subs}");
    }
    let opts = complete("cofre contacts verify --f");
    assert!(opts.lines().any(|l| l == "--fingerprint"), "{opts}");

    // zsh and fish scripts name the binary and its commands.
    let zsh = text(&cofre(&["completions", "zsh"]).stdout);
    assert!(
        zsh.starts_with("#compdef cofre") && zsh.contains("contacts"),
        "{zsh}"
    );
    let fish = text(&cofre(&["completions", "fish"]).stdout);
    assert!(
        fish.contains("complete -c cofre") && fish.contains("completions"),
        "{fish}"
    );
    assert!(!cofre(&["completions", "tcsh"]).status.success());

    // The manual page: roff with a title and every visible command.
    let out = cofre(&["man"]);
    assert!(out.status.success(), "{out:?}");
    let page = text(&out.stdout);
    assert!(page.contains("\n.TH cofre 1 "), "{page}");
    for s in visible {
        assert!(page.contains(&format!("cofre\\-{s}(1)")), "{s} missing");
    }
    // groff formats it without a warning.
    let mut groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("groff (the manual page formatter) is installed");
    {
        use std::io::Write as _;
        groff.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    }
    let formatted = groff.wait_with_output().unwrap();
    assert!(formatted.status.success(), "{formatted:?}");
    assert_eq!(text(&formatted.stderr), "", "groff warnings");
    // And `man` reads it as a local file, as the README says.
    let read = Command::new("man")
        .args(["-l", "-"])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .stdin(Stdio::from(
            std::fs::File::open(write_bytes(dir.path(), "cofre.1", &out.stdout)).unwrap(),
        ))
        .output()
        .unwrap();
    assert!(read.status.success(), "{read:?}");
    let shown = text(&read.stdout);
    assert!(
        shown.contains("NAME") && shown.contains("SUBCOMMANDS"),
        "{shown}"
    );

    // --dir: one page per command, the nested ones too, none for the hidden agent.
    let pages = dir.path().join("man1");
    let out = cofre(&["man", "--dir", pages.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    for p in [
        "cofre.1",
        "cofre-put.1",
        "cofre-contacts-verify.1",
        "cofre-admin-delete.1",
        "cofre-server-migrate.1",
    ] {
        let body = std::fs::read_to_string(pages.join(p)).unwrap_or_else(|_| panic!("{p}"));
        assert!(body.contains(".TH"), "{p}");
    }
    assert!(!pages.join("cofre-agent.1").exists());
    let login = std::fs::read_to_string(pages.join("cofre-login.1")).unwrap();
    assert!(
        login.contains("\\fBCOFRE_SERVER\\fR environment variable"),
        "settings name their variable"
    );
    assert!(
        std::fs::read_to_string(pages.join("cofre-contacts-verify.1"))
            .unwrap()
            .contains("fingerprint")
    );
}

fn write_bytes(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

//! Nothing readable is left anywhere but where the user put it: `cofre get` stopped by
//! SIGINT/SIGTERM removes its temporary file (and the next `get` sweeps one a killed
//! process left), `get` writes into devices and FIFOs without replacing them and into
//! `-o DIR` under the item's name, `cofre note` edits in a private file that is gone
//! afterwards even on a signal, and the agent keeps its keys out of core dumps and
//! locked in memory. Real processes, real signals.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::os::unix::fs::FileTypeExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use support::{Cli, FAST, write};

/// A server and a logged-in `alice`.
fn setup(dir: &Path) -> (support::Server, Cli<'_>) {
    let server = support::start(&dir.join("data"), FAST);
    let cli = support::cli(&server, dir, "alice");
    let pw = write(dir, "pw", "correct horse battery staple 7");
    cli.ok(&["register", "alice", "--password-file", &pw]);
    cli.ok(&["login", "alice", "--password-file", &pw]);
    (server, cli)
}

/// `cofre ARGS` started in the background (stdout and stderr piped).
fn spawn(cli: &Cli<'_>, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(args)
        .arg("--server")
        .arg(&cli.server)
        .arg("--config-dir")
        .arg(cli.config)
        .env("COFRE_AGENT_SOCKET", &cli.socket)
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn kill(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal} {pid}");
}

/// Our temporary download files in `dir`.
fn temps(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".cofre-download-"))
        })
        .collect()
}

#[test]
fn a_signal_during_get_leaves_no_plaintext_and_stale_files_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, cli) = setup(dir.path());
    let big = dir.path().join("big.bin");
    support::random_file(&big, 64 << 20, 7);
    cli.ok(&["put", big.to_str().unwrap()]);
    std::fs::remove_file(&big).unwrap();

    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let target = out_dir.join("copy.bin");
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let child = spawn(&cli, &["get", "big.bin", "-o", target.to_str().unwrap()]);
        // Wait until plaintext is being written, then signal.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let started = temps(&out_dir)
                .iter()
                .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0));
            if started {
                break;
            }
            assert!(Instant::now() < deadline, "the download never started");
            std::thread::sleep(Duration::from_millis(1));
        }
        kill(child.id(), signal);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert_eq!(temps(&out_dir), Vec::<PathBuf>::new(), "after SIG{signal}");
        assert!(!target.exists(), "after SIG{signal}");
    }

    // A temporary file left by a killed process (SIGKILL cannot be caught) is swept
    // by the next `get` into the same directory once stale; a fresh one (perhaps a
    // download in progress) and other names are left alone.
    let plant = |name: &str, age: Duration| {
        let p = out_dir.join(name);
        let f = std::fs::File::create(&p).unwrap();
        std::io::Write::write_all(&mut &f, b"plaintext of a killed download").unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
        p
    };
    let stale = plant(".cofre-download-Stale1", Duration::from_secs(3600));
    let fresh = plant(".cofre-download-Fresh1", Duration::ZERO);
    let other = plant(".notours-download-x", Duration::from_secs(3600));
    write(dir.path(), "small.txt", "small");
    cli.ok(&["put", dir.path().join("small.txt").to_str().unwrap()]);
    let small = out_dir.join("small.txt");
    let out = cli.run(&["get", "small.txt", "-o", small.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Stale1"),
        "the sweep says what it removed"
    );
    assert!(!stale.exists());
    assert!(fresh.exists() && other.exists());
    assert_eq!(std::fs::read_to_string(&small).unwrap(), "small\n");
}

#[test]
fn get_writes_into_devices_fifos_and_directories_and_replaces_only_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, cli) = setup(dir.path());
    cli.ok(&["note", "--title", "notes.txt", "the secret note"]);

    // A character device is written into, not replaced (no --force needed: nothing
    // is replaced).
    cli.ok(&["get", "notes.txt", "-o", "/dev/null"]);
    assert!(
        std::fs::symlink_metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );

    // A FIFO: the reader receives the plaintext, the FIFO stays a FIFO.
    let fifo = dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let reader_path = fifo.clone();
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::read(&reader_path));
    });
    cli.ok(&["get", "notes.txt", "-o", fifo.to_str().unwrap(), "--force"]);
    let got = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the FIFO's reader got nothing");
    assert_eq!(got.unwrap(), b"the secret note");
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );

    // -o DIR saves DIR/<item name>.
    let into = dir.path().join("into");
    std::fs::create_dir(&into).unwrap();
    cli.ok(&["get", "notes.txt", "-o", into.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(into.join("notes.txt")).unwrap(),
        b"the secret note"
    );
    // ...and a directory where the file would go is never replaced, even with --force.
    let blocked = dir.path().join("blocked");
    std::fs::create_dir_all(blocked.join("notes.txt").join("inside")).unwrap();
    let err = cli.fails(&[
        "get",
        "notes.txt",
        "-o",
        blocked.to_str().unwrap(),
        "--force",
    ]);
    assert!(err.contains("directory"), "{err}");
    assert!(blocked.join("notes.txt").join("inside").is_dir());

    // A socket is never replaced.
    let sock = dir.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let err = cli.fails(&["get", "notes.txt", "-o", sock.to_str().unwrap(), "--force"]);
    assert!(err.contains("socket"), "{err}");
    assert!(
        std::fs::symlink_metadata(&sock)
            .unwrap()
            .file_type()
            .is_socket()
    );

    // A symbolic link to a regular file is refused: neither the link nor the file it
    // points to changes.
    let real = dir.path().join("real.txt");
    std::fs::write(&real, "keep me").unwrap();
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let err = cli.fails(&["get", "notes.txt", "-o", link.to_str().unwrap(), "--force"]);
    assert!(err.contains("symbolic link"), "{err}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "keep me");

    // A regular file is still replaced with --force, and only with it.
    let plain = dir.path().join("plain.txt");
    std::fs::write(&plain, "old").unwrap();
    assert!(
        cli.fails(&["get", "notes.txt", "-o", plain.to_str().unwrap()])
            .contains("--force")
    );
    cli.ok(&["get", "notes.txt", "-o", plain.to_str().unwrap(), "--force"]);
    assert_eq!(std::fs::read(&plain).unwrap(), b"the secret note");
    assert!(temps(dir.path()).is_empty());
}

/// `cofre note` on a terminal (under `script`, which gives it one), with `EDITOR` a
/// script that records the modes of its file and directory, and its parent's pid.
fn note_on_a_terminal(cli: &Cli<'_>, runtime: &Path, editor: &Path) -> Child {
    let cmd = format!(
        "{} note --server {} --config-dir {}",
        env!("CARGO_BIN_EXE_cofre"),
        cli.server,
        cli.config.display()
    );
    Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("COFRE_AGENT_SOCKET", &cli.socket)
        .env("XDG_RUNTIME_DIR", runtime)
        .env("EDITOR", editor)
        .env_remove("VISUAL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `path` exists and has `lines` lines; returns them.
fn wait_lines(path: &Path, lines: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            let l: Vec<String> = s.lines().map(str::to_owned).collect();
            if l.len() >= lines {
                return l;
            }
        }
        assert!(Instant::now() < deadline, "the editor never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The pid of the `cofre note` process above `pid` (the editor's shell).
fn cofre_above(mut pid: u32) -> u32 {
    for _ in 0..5 {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args.first().is_some_and(|a| a.ends_with(b"cofre")) {
            return pid;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = stat.rsplit_once(')').unwrap().1;
        pid = after.split_whitespace().nth(1).unwrap().parse().unwrap();
    }
    panic!("no cofre process above the editor");
}

#[test]
fn the_note_editor_works_in_a_private_file_that_is_always_removed() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let (_server, cli) = setup(dir.path());
    let runtime = dir.path().join("xdg");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    let record = dir.path().join("record");
    let editor = dir.path().join("editor.sh");
    let script = |then: &str| {
        std::fs::write(
            &editor,
            format!(
                "#!/bin/sh\nstat -c %a \"$1\" > {r}.tmp\nstat -c %a \"$(dirname \"$1\")\" >> {r}.tmp\n\
                 echo \"$1\" >> {r}.tmp\necho $PPID >> {r}.tmp\nmv {r}.tmp {r}\n{then}\n",
                r = record.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    };

    // Saved and stored: file 0600, directory 0700 under $XDG_RUNTIME_DIR, gone after.
    script("printf 'the door code is 4711\\n' > \"$1\"");
    let out = note_on_a_terminal(&cli, &runtime, &editor)
        .wait_with_output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let rec = wait_lines(&record, 4);
    assert_eq!(rec[0], "600", "the note file's mode");
    assert_eq!(rec[1], "700", "the note directory's mode");
    let note_dir = Path::new(&rec[2]).parent().unwrap().to_owned();
    assert_eq!(note_dir.parent().unwrap(), runtime);
    assert!(!note_dir.exists(), "the note directory is removed");
    assert!(cli.ok(&["cat", "the door code is 4711"]).contains("4711"));

    // Stopped by a signal while the editor runs: the directory is gone, the editor
    // killed, the exit status 128 + the signal.
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        std::fs::remove_file(&record).unwrap();
        script("printf 'half-written secret\\n' > \"$1\"\nsleep 30");
        let child = note_on_a_terminal(&cli, &runtime, &editor);
        let rec = wait_lines(&record, 4);
        let note_dir = Path::new(&rec[2]).parent().unwrap().to_owned();
        let cofre = cofre_above(rec[3].parse().unwrap());
        assert!(note_dir.exists());
        kill(cofre, signal);
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "SIG{signal}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(!note_dir.exists(), "SIG{signal} left the note directory");
        assert_eq!(std::fs::read_dir(&runtime).unwrap().count(), 0);
    }
}

#[test]
fn the_agent_locks_its_keys_and_never_dumps_core() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::start(&dir.path().join("data"), FAST);
    let cli = support::cli(&server, dir.path(), "alice");
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    cli.ok(&["register", "alice", "--password-file", &pw]);
    // Our own agent, so that its standard error can be read.
    let mut agent = Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(["agent", "--idle", "60", "--config-dir"])
        .arg(cli.config)
        .env("COFRE_AGENT_SOCKET", &cli.socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cli.socket.exists() {
        assert!(Instant::now() < deadline, "the agent did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    cli.ok(&["login", "alice", "--password-file", &pw]);
    assert!(
        cli.ok(&["whoami"]).contains("alice"),
        "the session is in our agent"
    );
    let pid = agent.id();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{core}");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let locked_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Not dumpable: /proc/PID belongs to root (visible only when we are not root).
    let me = std::fs::metadata(dir.path()).map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    if me.as_ref().is_ok_and(|&u| u != 0) {
        let owner = std::fs::metadata(format!("/proc/{pid}/environ"))
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap();
        assert_eq!(owner, 0, "the agent is still dumpable");
    }
    cli.ok(&["lock"]);
    let _ = agent.wait();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut agent.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        locked_kib > 0 || stderr.contains("cannot lock"),
        "neither locked (VmLck {locked_kib} kB) nor a warning: {stderr}"
    );
}

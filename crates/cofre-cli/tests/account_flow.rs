//! The README's story through the real binaries: start `cofre server`, register, log
//! in, enable MFA from the QR code's secret, log out and back in with a code, change
//! the password, recover with the recovery key, and verify the audit log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::path::Path;
use std::process::Command;

use support::{Cli, FAST, write};

use cofre_client::core::totp::TotpSecret;

fn code(secret: &TotpSecret, offset_steps: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let t = (i64::try_from(now).unwrap() + offset_steps * 30) as u64;
    secret.code_at(t).unwrap()
}

#[test]
fn register_mfa_login_passwd_recover_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("client");
    let server = support::start(&data, FAST);
    let cli = Cli {
        server: format!("http://127.0.0.1:{}", server.port),
        config: &config,
        socket: dir.path().join("run").join("agent.sock"),
    };
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    let pw2 = write(dir.path(), "pw2", "violet tractor umbrella lagoon 42");
    let pw3 = write(dir.path(), "pw3", "seventeen quiet orange kites 5");
    let weak = write(dir.path(), "weak", "password1234");

    // A weak password is refused with a reason, before anything is sent.
    let err = cli.fails(&["register", "alice", "--password-file", &weak]);
    assert!(err.contains("too easy to guess"), "{err}");

    let out = cli.ok(&["register", "alice", "--password-file", &pw]);
    assert!(out.contains("Registered alice"), "{out}");
    assert!(out.contains("administrator"), "{out}");
    assert!(
        out.contains("nobody"),
        "the warning about losing both: {out}"
    );
    let recovery_key = out
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 64 && l.matches('-').count() == 12)
        .expect("recovery key line")
        .to_owned();

    // The agent forgets the session after its idle timeout.
    cli.ok(&["login", "alice", "--password-file", &pw, "--idle", "2"]);
    cli.ok(&["whoami"]);
    std::thread::sleep(std::time::Duration::from_millis(3500));
    let err = cli.fails(&["whoami"]);
    assert!(err.contains("not logged in"), "{err}");

    let out = cli.ok(&["login", "alice", "--password-file", &pw, "--idle", "300"]);
    assert!(out.contains("unlocked until"), "{out}");
    let who = cli.ok(&["whoami"]);
    assert!(
        who.contains("alice (admin)") && who.contains("authentication off"),
        "{who}"
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&cli.socket), 0o600, "agent socket");
        assert_eq!(
            mode(cli.socket.parent().unwrap()),
            0o700,
            "agent socket directory"
        );
        assert_eq!(mode(&config.join("config.json")), 0o600);
        // Nothing secret on disk: only the server and the username.
        let on_disk = std::fs::read_to_string(config.join("config.json")).unwrap();
        assert!(
            !on_disk.contains("token") && !on_disk.contains("correct horse"),
            "{on_disk}"
        );
        // And the device token, owner-only, never printed.
        let devices = config.join("devices.json");
        assert_eq!(mode(&devices), 0o600);
        let kept: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&devices).unwrap()).unwrap();
        assert_eq!(kept.as_array().unwrap().len(), 1, "{kept}");
        assert_eq!(kept[0]["username"], "alice");
        let token = kept[0]["token"].as_str().unwrap().to_owned();
        assert!(token.starts_with("v1."));
        assert!(!out.contains(&token) && !who.contains(&token));
        assert_eq!(
            std::fs::read_dir(&config).unwrap().count(),
            2,
            "only config.json and devices.json"
        );
        // The next login presents it: the server hands the same one back.
        let out = cli.ok(&["login", "alice", "--password-file", &pw, "--idle", "300"]);
        assert!(!out.contains(&token));
        let again: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&devices).unwrap()).unwrap();
        assert_eq!(again[0]["token"].as_str().unwrap(), token, "{again}");
    }
    // Lock, then unlock again.
    cli.ok(&["lock"]);
    let err = cli.fails(&["whoami"]);
    assert!(err.contains("not logged in"), "{err}");
    cli.ok(&["unlock", "alice", "--password-file", &pw]);
    cli.ok(&["whoami"]);

    // MFA: the QR code, then the secret it encodes.
    let out = cli.ok(&["mfa", "enable"]);
    assert!(
        out.contains('█') || out.contains('▀') || out.contains('▄'),
        "QR code drawn: {out}"
    );
    let secret_b32 = out
        .lines()
        .find_map(|l| l.strip_prefix("or enter this key by hand: "))
        .unwrap()
        .trim()
        .to_owned();
    let secret = TotpSecret::from_bytes(
        &data_encoding::BASE32_NOPAD
            .decode(secret_b32.as_bytes())
            .unwrap(),
    )
    .unwrap();
    let out = cli.ok(&["mfa", "confirm", "--code", &code(&secret, -1)]);
    let recovery_codes: Vec<String> = out
        .lines()
        .map(str::trim)
        .filter(|l| l.len() == 9 && l.as_bytes()[4] == b'-')
        .map(str::to_owned)
        .collect();
    assert_eq!(recovery_codes.len(), 10, "{out}");
    assert!(
        cli.ok(&["mfa", "status"])
            .contains("on (10 recovery codes left)")
    );

    // Log out and back in: a code is needed.
    cli.ok(&["logout"]);
    let err = cli.fails(&["whoami"]);
    assert!(err.contains("not logged in"), "{err}");
    let err = cli.fails(&["login", "alice", "--password-file", &pw]);
    assert!(err.contains("--totp"), "{err}");
    cli.ok(&[
        "login",
        "alice",
        "--password-file",
        &pw,
        "--totp",
        &code(&secret, 0),
    ]);
    assert!(cli.ok(&["whoami"]).contains("authentication on"));

    // Change the password.
    cli.ok(&[
        "passwd",
        "--password-file",
        &pw,
        "--new-password-file",
        &pw2,
    ]);
    let err = cli.fails(&[
        "login",
        "alice",
        "--password-file",
        &pw,
        "--totp",
        &code(&secret, 1),
    ]);
    assert!(err.contains("invalid username or credentials"), "{err}");
    cli.ok(&[
        "login",
        "alice",
        "--password-file",
        &pw2,
        "--totp",
        &code(&secret, 1),
    ]);

    // Recover with the recovery key: a new password, same account.
    let rk = write(dir.path(), "rk", &recovery_key.to_lowercase());
    cli.ok(&[
        "recover",
        "alice",
        "--recovery-key-file",
        &rk,
        "--new-password-file",
        &pw3,
    ]);
    let err = cli.fails(&["whoami"]);
    assert!(
        err.contains("not logged in"),
        "recovery ends the sessions: {err}"
    );
    cli.ok(&[
        "login",
        "alice",
        "--password-file",
        &pw3,
        "--recovery-code",
        &recovery_codes[0],
    ]);
    let users = cli.ok(&["admin", "users"]);
    assert!(
        users.contains("alice") && users.contains("admin"),
        "{users}"
    );
    let audit = cli.ok(&["admin", "audit"]);
    for e in ["register", "mfa.enable", "password.change", "recovery"] {
        assert!(audit.contains(e), "{e} missing from:\n{audit}");
    }

    cli.ok(&["lock"]);
    assert!(
        !cli.socket.exists(),
        "the agent removes its socket when it exits"
    );

    // Stop the server and verify the audit chain offline.
    drop(server);
    let out = Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(["server", "audit", "verify", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("intact"), "{text}");
}

#[test]
fn create_admin_then_invite_only_registration() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("client");
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    let out = Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args([
            "server",
            "create-admin",
            "root",
            "--password-file",
            &pw,
            "--data",
        ])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Created administrator root") && text.contains("recovery key"),
        "{text}"
    );

    let mut args = FAST.to_vec();
    args.extend(["--registration", "invite"]);
    let server = support::start(&data, &args);
    let cli = Cli {
        server: format!("http://127.0.0.1:{}", server.port),
        config: &config,
        socket: dir.path().join("run").join("agent.sock"),
    };
    cli.ok(&["login", "root", "--password-file", &pw, "--idle", "300"]);
    assert!(cli.ok(&["whoami"]).contains("root (admin)"));
    let err = cli.fails(&["register", "bob", "--password-file", &pw]);
    assert!(err.contains("invite"), "{err}");
    let invite: serde_json::Value =
        serde_json::from_str(&cli.ok(&["admin", "invite", "--json"])).unwrap();
    let token = invite["token"].as_str().unwrap();
    cli.ok(&["register", "bob", "--password-file", &pw, "--invite", token]);
    let err = cli.fails(&[
        "register",
        "carol",
        "--password-file",
        &pw,
        "--invite",
        token,
    ]);
    assert!(err.contains("invite"), "single use: {err}");
    cli.ok(&["admin", "lock", "bob"]);
    assert!(
        cli.ok(&["admin", "users"]).contains("yes"),
        "bob shows as locked"
    );
    cli.ok(&["lock"]);
}

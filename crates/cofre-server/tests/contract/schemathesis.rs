//! Running schemathesis against the server under test.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::Accounts;
use crate::support::TestServer;

/// The version this suite is written against (its checks and options change between
/// releases, so it is pinned).
const PACKAGE: &str = "schemathesis==4.32.5";

/// Generated cases per operation, and the seed that makes a run repeatable.
const MAX_EXAMPLES: &str = "40";
const SEED: &str = "20261203";

/// Operations left out of the generated run because a random request would end the
/// session the run authenticates with (they are exercised by the scenarios instead).
const SESSION_ENDING: &[&str] = &[
    "/api/v1/auth/logout",
    "/api/v1/auth/logout-all",
    "/api/v1/account/password",
    "/api/v1/account/recover",
    "/api/v1/account/rotation",
    "/api/v1/account/rotation/finish",
    "/api/v1/mfa/totp/confirm",
    "/api/v1/admin/users/{id}/logout",
];

/// The schemathesis program, or `None` where it cannot be installed (said on stderr;
/// a failure under `CI=true`).
pub fn installed() -> Option<PathBuf> {
    match crate::venv::python_tool("schemathesis", &[PACKAGE], "schemathesis") {
        Ok(bin) => Some(bin),
        Err(why) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("the contract test needs schemathesis under CI: {why}");
            }
            eprintln!("SKIPPED the OpenAPI contract test: schemathesis cannot be installed: {why}");
            None
        }
    }
}

/// Runs every check on every operation but [`SESSION_ENDING`]: the administrators'
/// operations as `accounts.admin`, the others as `accounts.user`. Panics with
/// schemathesis's report on any failure.
pub async fn run(bin: &Path, s: &TestServer, accounts: &Accounts) {
    pass(bin, s, &accounts.user_token, &["--exclude-tag", "admin"]).await;
    // Last, since requiring MFA ends every session without it, the admin's too.
    let policy = "/api/v1/admin/policy";
    pass(
        bin,
        s,
        &accounts.admin_token,
        &["--include-tag", "admin", "--exclude-path", policy],
    )
    .await;
    pass(bin, s, &accounts.admin_token, &["--include-path", policy]).await;
}

async fn pass(bin: &Path, s: &TestServer, token: &str, select: &[&str]) {
    let report = tempfile::tempdir().unwrap();
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/contract/schemathesis.toml"
    );
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("--config-file")
        .arg(config)
        .arg("run")
        .arg(s.url("/openapi.json"))
        // No --checks: every check runs (schemathesis's default), and the per-phase
        // setting of schemathesis.toml applies (a --checks option would override it).
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", SEED])
        .args(["--generation-database", "none"])
        // One worker: with the fixed seed, two would send the same generated ids at
        // once and race each other (one creating, the other deleting).
        .args(["--workers", "1"])
        .args(["--request-timeout", "30"])
        .args(["--no-color", "--output-truncate", "false"])
        .arg("--header")
        .arg(format!("Authorization: Bearer {token}"))
        .arg("--report-dir")
        .arg(report.path())
        .args(select);
    for path in SESSION_ENDING {
        cmd.args(["--exclude-path", path]);
    }
    // Its caches and reports go to the temporary folder, not the source tree.
    let out = cmd
        .current_dir(report.path())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("starting schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis found the server and its OpenAPI document disagreeing ({}):\n{stdout}\n{stderr}",
        out.status
    );
    eprintln!(
        "{}",
        stdout.lines().rev().take(12).collect::<Vec<_>>().join("\n")
    );
}

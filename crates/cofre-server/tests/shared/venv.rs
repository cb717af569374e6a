//! Python programs the tests drive (moto's S3 server, schemathesis), each installed on
//! first use into its own virtual environment in the target folder
//! (`target/test-tools/NAME-venv`) with `python3 -m venv` and `pip install`. A file lock
//! keeps test binaries running at the same time from installing one twice; a marker
//! file records a finished installation, so a failed one is redone.

// Shared by several test binaries, each using part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// `target/test-tools`.
pub fn tools_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent()
        .map_or(tmp.clone(), PathBuf::from)
        .join("test-tools")
}

/// Runs `cmd`, returning a short description of the failure (the last lines of its
/// standard error) if it fails.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{shown}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: String = err.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        Err(format!("{shown} failed ({}): {tail}", out.status))
    }
}

/// The program `program` of the virtual environment `name`, installing `packages` into
/// it first if that has not been done.
pub fn python_tool(name: &str, packages: &[&str], program: &str) -> Result<PathBuf, String> {
    let tools = tools_dir();
    let venv = tools.join(format!("{name}-venv"));
    let bin = venv.join("bin").join(program);
    let done = venv.join("installed");
    if done.exists() {
        return Ok(bin);
    }
    std::fs::create_dir_all(&tools).map_err(|e| format!("{}: {e}", tools.display()))?;
    let lock = std::fs::File::create(tools.join(format!("{name}-venv.lock")))
        .map_err(|e| format!("lock file: {e}"))?;
    lock.lock().map_err(|e| format!("lock file: {e}"))?;
    if done.exists() {
        return Ok(bin);
    }
    let _ = std::fs::remove_dir_all(&venv);
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(packages))?;
    std::fs::write(&done, b"").map_err(|e| format!("{}: {e}", done.display()))?;
    Ok(bin)
}

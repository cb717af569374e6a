//! Every vector of `docs/vectors/` through the web vault's WebCrypto implementation,
//! inside Debian's Chromium (headless).
//!
//! The test builds the bundle from `web/` into `target/web` (`npm ci`, `tsc --noEmit`,
//! esbuild), serves it and the vector files on a loopback port, and drives
//! `/usr/bin/chromium` (or `COFRE_CHROMIUM`) through `playwright-core` to the vector
//! page. It then checks the page's report: nothing failed, every file of
//! `docs/vectors/` was checked, and for each file every element of each top-level
//! array was run (so a file or a group that is silently skipped fails the test).
//!
//! Without `node` or Chromium it prints `SKIPPED browser vectors: <why>` and passes,
//! except under `CI=true`, where it fails (`.ci/run` installs Chromium).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use cofre_web::bundle;
use cofre_web::serve::{Asset, StaticServer, content_type};
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/web`.
fn work_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().map_or(tmp.clone(), PathBuf::from).join("web")
}

fn chromium() -> PathBuf {
    std::env::var_os("COFRE_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Why the browser test cannot run here, if it cannot.
fn missing_tools() -> Option<String> {
    for tool in ["node", "npm"] {
        let ok = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    let chromium = chromium();
    if !chromium.is_file() {
        return Some(format!(
            "{} is missing (Debian: apt-get install chromium)",
            chromium.display()
        ));
    }
    None
}

/// The vector files, and per file the length of each top-level array.
fn vector_files() -> BTreeMap<String, (Vec<u8>, BTreeMap<String, usize>)> {
    let dir = repo_root().join("docs/vectors");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        let arrays = value
            .as_object()
            .unwrap_or_else(|| panic!("{name} is not a JSON object"))
            .iter()
            .filter_map(|(k, v)| v.as_array().map(|a| (k.clone(), a.len())))
            .collect();
        files.insert(name, (bytes, arrays));
    }
    files
}

#[test]
fn every_vector_passes_in_chromium() {
    if let Some(why) = missing_tools() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("the browser vector test needs node, npm and Chromium under CI: {why}");
        }
        eprintln!("SKIPPED browser vectors: {why}");
        return;
    }

    let built = bundle::build(&work_dir()).unwrap_or_else(|e| panic!("building web/: {e}"));
    match built.npm_ci {
        Some(d) => eprintln!("npm ci: {:.1} s", d.as_secs_f64()),
        None => eprintln!("npm ci: skipped (packages of this package-lock.json already installed)"),
    }
    eprintln!("type check and bundle: {:.1} s", built.build.as_secs_f64());
    for (name, sum) in &built.sha256 {
        eprintln!("bundle sha256 {sum}  {name}");
    }

    // The page, the bundle and the vectors, served on loopback.
    let vectors = vector_files();
    assert!(
        vectors.len() >= 9,
        "docs/vectors has {} files",
        vectors.len()
    );
    let mut assets = HashMap::new();
    for entry in std::fs::read_dir(&built.out_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let body = std::fs::read(&path).unwrap();
        assets.insert(
            format!("/{name}"),
            Asset {
                content_type: content_type(&name),
                body,
            },
        );
    }
    for (name, (bytes, _)) in &vectors {
        assets.insert(
            format!("/vectors/{name}"),
            Asset {
                content_type: content_type(name),
                body: bytes.clone(),
            },
        );
    }
    let index: Vec<&String> = vectors.keys().collect();
    assets.insert(
        "/vectors/index.json".to_owned(),
        Asset {
            content_type: "application/json",
            body: serde_json::to_vec(&index).unwrap(),
        },
    );
    let server = StaticServer::start(assets).unwrap();

    let started = Instant::now();
    let out = Command::new("node")
        .arg(built.work_dir.join("test/run-browser.mjs"))
        .arg("--url")
        .arg(server.url("/index.html"))
        .arg("--chromium")
        .arg(chromium())
        .current_dir(&built.work_dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report_line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("COFRE-VECTORS "))
        .unwrap_or_else(|| {
            panic!(
                "no report from the browser ({}):\n{stdout}\n{stderr}",
                out.status
            )
        });
    let report: Value = serde_json::from_str(report_line).unwrap();

    let failures: Vec<String> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ok"] != Value::Bool(true))
        .map(|r| {
            format!(
                "{} [{}] {}: {}",
                r["file"], r["group"], r["name"], r["error"]
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "failed in Chromium:\n{}\n{stderr}",
        failures.join("\n")
    );
    assert!(
        out.status.success(),
        "the driver failed: {}\n{stderr}",
        out.status
    );

    // Every file was checked, and every element of every top-level array in it.
    let counts = report["counts"].as_object().unwrap();
    let reported: BTreeSet<&String> = counts.keys().collect();
    let on_disk: BTreeSet<&String> = vectors.keys().collect();
    assert_eq!(
        reported, on_disk,
        "files checked in the browser vs. files in docs/vectors"
    );
    let mut in_files = 0;
    for (name, (_, arrays)) in &vectors {
        let ran = counts[name].as_object().unwrap();
        for (array, len) in arrays {
            let n = ran.get(array).and_then(Value::as_u64).unwrap_or(0);
            assert_eq!(
                n, *len as u64,
                "{name}: {array} has {len} vectors, the browser ran {n}"
            );
            in_files += len;
        }
    }
    let passed = report["passed"].as_u64().unwrap();
    assert_eq!(report["failed"].as_u64(), Some(0));
    assert!(
        passed as usize > in_files,
        "{passed} checks for {in_files} array vectors"
    );
    eprintln!(
        "browser vectors: {passed} passed in {} ({} array vectors in {} files, the rest whole-file checks); {seconds:.1} s in the browser",
        report["browserVersion"].as_str().unwrap_or("Chromium"),
        in_files,
        vectors.len()
    );
}

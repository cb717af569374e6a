//! Building the web vault's bundle (`web/`) with the project's own npm files.
//!
//! The sources are copied into a work folder (so `node_modules` and the output never
//! land in the source tree), `npm ci` installs exactly what `package-lock.json` pins
//! (skipped when the work folder already holds that lock file's install), `tsc
//! --noEmit` type-checks in strict mode, and `node build.mjs` bundles with esbuild and
//! writes `SHA256SUMS`. The same sources give the same bytes, so the sums identify a
//! build.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What can go wrong while building the bundle.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A build step (npm ci, the type check, the bundler) failed.
    #[error("`{step}` failed ({status}): {output}")]
    Step {
        /// The command that failed.
        step: String,
        /// Its exit status, or why it did not start.
        status: String,
        /// The end of what it printed.
        output: String,
    },
    /// The build's `SHA256SUMS` is missing or not in the expected form.
    #[error("the build's SHA256SUMS is not usable: {0}")]
    Sums(String),
}

/// The files of `web/` that a build reads (everything else there is output or local).
const SOURCES: &[&str] = &[
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "build.mjs",
    "src",
    "test",
];

/// A finished build.
#[derive(Debug)]
pub struct Bundle {
    /// The work folder: the copied sources and `node_modules`.
    pub work_dir: PathBuf,
    /// The folder of built files (`index.html`, `*.js`, `SHA256SUMS`).
    pub out_dir: PathBuf,
    /// Lowercase hex SHA-256 of each built file, by file name.
    pub sha256: BTreeMap<String, String>,
    /// How long `npm ci` took (`None` when the installed packages were reused).
    pub npm_ci: Option<Duration>,
    /// How long the type check and the bundler took together.
    pub build: Duration,
}

/// `web/` of this repository.
pub fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), BuildError> {
    if from.is_dir() {
        fs::create_dir_all(to).map_err(io(to))?;
        for entry in fs::read_dir(from).map_err(io(from))? {
            let entry = entry.map_err(io(from))?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        fs::copy(from, to).map(|_| ()).map_err(io(from))
    }
}

fn run(step: &str, cmd: &mut Command) -> Result<(), BuildError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| BuildError::Step {
            step: step.to_owned(),
            status: format!("did not start: {e}"),
            output: String::new(),
        })?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let mut tail: Vec<&str> = text.lines().rev().take(30).collect();
    tail.reverse();
    let tail = tail.join("\n");
    Err(BuildError::Step {
        step: step.to_owned(),
        status: out.status.to_string(),
        output: tail,
    })
}

/// Builds the bundle from `web/` into `work_dir` (sources and packages) and
/// `work_dir/dist` (output). Needs `node` and `npm` on the `PATH` and the npm registry
/// the first time (or after `package-lock.json` changed).
pub fn build(work_dir: &Path) -> Result<Bundle, BuildError> {
    let web = web_dir();
    fs::create_dir_all(work_dir).map_err(io(work_dir))?;
    for name in SOURCES {
        let to = work_dir.join(name);
        if to.is_dir() {
            fs::remove_dir_all(&to).map_err(io(&to))?;
        }
        copy_tree(&web.join(name), &to)?;
    }

    // `npm ci` again only when the lock file differs from the one last installed.
    let lock = fs::read(work_dir.join("package-lock.json")).map_err(io(work_dir))?;
    let stamp = work_dir.join("node_modules/.cofre-installed-lock.json");
    let npm_ci = if fs::read(&stamp).ok().as_deref() == Some(lock.as_slice()) {
        None
    } else {
        let started = Instant::now();
        run(
            "npm ci",
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(work_dir),
        )?;
        fs::write(&stamp, &lock).map_err(io(&stamp))?;
        Some(started.elapsed())
    };

    let started = Instant::now();
    run(
        "tsc --noEmit",
        Command::new("node")
            .args([
                "node_modules/typescript/bin/tsc",
                "--noEmit",
                "-p",
                "tsconfig.json",
            ])
            .current_dir(work_dir),
    )?;
    let out_dir = work_dir.join("dist");
    run(
        "node build.mjs",
        Command::new("node")
            .arg("build.mjs")
            .arg("--outdir")
            .arg(&out_dir)
            .current_dir(work_dir),
    )?;
    let build = started.elapsed();

    let sums_path = out_dir.join("SHA256SUMS");
    let sums = fs::read_to_string(&sums_path).map_err(io(&sums_path))?;
    let mut sha256 = BTreeMap::new();
    for line in sums.lines() {
        let (sum, name) = line
            .split_once("  ")
            .ok_or_else(|| BuildError::Sums(format!("line {line:?}")))?;
        if sum.len() != 64 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BuildError::Sums(format!("line {line:?}")));
        }
        sha256.insert(name.to_owned(), sum.to_owned());
    }
    if sha256.is_empty() {
        return Err(BuildError::Sums("no files".to_owned()));
    }
    Ok(Bundle {
        work_dir: work_dir.to_path_buf(),
        out_dir,
        sha256,
        npm_ci,
        build,
    })
}

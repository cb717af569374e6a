//! One server on SQLite, one on PostgreSQL, and two replicas on one PostgreSQL
//! database, under the same load in one run.
//!
//! `scripts/bench-scale.sh` (or `COFRE_BIN=$PWD/target/release/cofre cargo bench -p
//! cofre-server --bench scale_load`) starts three setups side by side, each `cofre
//! server` a process of its own from the binary `COFRE_BIN` (`cargo build --release -p
//! cofre-cli`) on loopback with cheap account settings (bcrypt cost 10; Argon2id
//! m = 19 MiB, t = 2, p = 1: logins are not measured):
//!
//! - **SQLite**: one server on a data directory of its own (its SQLite file);
//! - **PostgreSQL, 1 replica**: one server with `--database` on a fresh database;
//! - **PostgreSQL, 2 replicas**: two servers (two processes, two ports) on another fresh
//!   database and one shared data directory (so one key folder and one local blob
//!   folder), the second started once the first has made the keys.
//!
//! In each setup it registers one account, logs in and uploads a 1 KiB note; a token
//! from the first replica serves on the second. Then `SCALE_ROUNDS` rounds, the setups
//! interleaved (their order rotating each round, so machine noise falls on all of
//! them):
//!
//! 1. requests per second of `GET /healthz` (the reference: no token, no database) and
//!    of `GET /api/v1/items/{id}` of the note with a valid token, with the load
//!    generator of the other benches (`LOAD_TASKS` tasks sharing one keep-alive HTTP
//!    client, 1 s of warm-up, then `LOAD_SECS` counted); with two replicas the requests
//!    go to them in turn (round robin over both base URLs);
//! 2. upload throughput: `UPLOADS` concurrent `Client::upload`s (`Source::Sized`) of as
//!    many files of `UPLOAD_MIB` MiB of random bytes, spread over the replicas in turn
//!    (after an untimed `sync`); aggregate MB/s from the first start to the last
//!    commit. The items are deleted after each round.
//!
//! CPU is read from `/proc`: the server processes, the PostgreSQL backends serving the
//! setup's database (found by their process title; PostgreSQL's shared background
//! processes, such as the WAL writer, count as other processes), this process (the
//! load generator, and the client encrypting the uploads), and the rest of the machine.
//! It prints Markdown tables: medians, per-round ranges, and ratios to `/healthz` and to
//! the SQLite setup measured in the same rounds.
//!
//! The PostgreSQL databases, `cofre_scale_PID_RANDOM_one` and `…_two`, are created on
//! the server at `SCALE_PG_URL` (through its `postgres` database) and dropped at the
//! end, also when the bench fails. The data directories and files live in a
//! temporary directory (`$TMPDIR`), removed at the end; it needs about twice `UPLOADS`
//! × `UPLOAD_MIB` free.
//!
//! Only `cargo bench` runs it: without the `--bench` argument (`cargo test
//! --all-targets`) it does nothing. Without `COFRE_BIN` it says so and does nothing.
//!
//! Environment: `COFRE_BIN`, `SCALE_PG_URL` (default `postgres://postgres@127.0.0.1:5432`),
//! `SCALE_ROUNDS` (3), `LOAD_SECS` (5), `LOAD_TASKS` (64), `UPLOADS` (4), `UPLOAD_MIB`
//! (64), `WAIT_IDLE_S` (0; N > 0 waits up to N s before each measurement for the
//! machine to be 90 % idle). `LOAD_SECS`, `UPLOADS` or `UPLOAD_MIB` = 0 skips that part.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::load::{Rate, load_with};
use common::process::{CpuMark, cpu_secs, spawn_server, wait_idle};
use common::{MIB, env_usize, median, range, write_random_file};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use cofre_client::Client;
use cofre_client::client::{LoggedIn, SecondFactor};
use cofre_client::vault::{NewItem, Source};
use cofre_core::primitives::rand;
use cofre_core::secret::Password;
use cofre_core::vault::ItemKind;
use sqlx::Connection as _;

const PASSWORD: &str = "correct horse battery staple 7";
const USER: &str = "bench";

fn no_progress(_: u64, _: u64) {}

// --- PostgreSQL ----------------------------------------------------------------------

/// The databases this run created, dropped when it ends (after the servers: declare it
/// before them).
struct Databases {
    server: String,
    names: Vec<String>,
}

impl Databases {
    fn admin_url(&self) -> String {
        format!("{}/postgres", self.server)
    }

    /// Creates a database named `cofre_scale_PID_RANDOM_{suffix}`; returns its URL.
    async fn create(&mut self, suffix: &str) -> String {
        let name = format!(
            "cofre_scale_{}_{}_{suffix}",
            std::process::id(),
            data_encoding::HEXLOWER.encode(&rand::array::<4>().unwrap())
        );
        let mut admin = sqlx::AnyConnection::connect(&self.admin_url())
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {} (SCALE_PG_URL): {e}", self.server));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.ok();
        self.names.push(name.clone());
        format!("{}/{name}", self.server)
    }

    /// The CPU seconds used so far by the backends serving `name` (those that have
    /// ended no longer count).
    fn backend_cpu(name: &str) -> f64 {
        let needle = format!(" {name} ");
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return 0.0;
        };
        dir.filter_map(|e| {
            let pid = e.ok()?.file_name().into_string().ok()?;
            if !pid.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let title = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let title = String::from_utf8_lossy(&title);
            (title.starts_with("postgres: ") && title.contains(&needle))
                .then(|| cpu_secs(&pid))
                .flatten()
        })
        .sum()
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        if self.names.is_empty() {
            return;
        }
        let (url, names) = (self.admin_url(), std::mem::take(&mut self.names));
        // Its own runtime on its own thread: this may run inside the bench's runtime.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let mut admin = sqlx::AnyConnection::connect(&url).await?;
                for name in &names {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await?;
                }
                admin.close().await
            })
            .map_err(std::io::Error::other)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!(
                "scale_load: could not drop the databases cofre_scale_{}_*: drop them by hand",
                std::process::id()
            );
        }
    }
}

// --- The setups ----------------------------------------------------------------------

/// Server processes on one database, stopped when dropped.
#[derive(Default)]
struct Replicas {
    bases: Vec<String>,
    clients: Vec<Client>,
    children: Vec<std::process::Child>,
    pids: Vec<String>,
}

impl Drop for Replicas {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One or more servers on one database, with an account and a note.
struct Setup {
    name: &'static str,
    /// The PostgreSQL database's name (none: SQLite).
    database: Option<String>,
    replicas: Replicas,
    login: Arc<LoggedIn>,
    note: String,
}

impl Setup {
    async fn start(
        name: &'static str,
        bin: &std::ffi::OsStr,
        data: &Path,
        database: Option<String>,
        count: usize,
    ) -> Self {
        let extra: Vec<&str> = match &database {
            Some(url) => vec!["--database", url],
            None => Vec::new(),
        };
        let mut replicas = Replicas::default();
        // One after the other: the first makes the keys the others read.
        for _ in 0..count {
            let (child, addr) = spawn_server(bin, data, &extra);
            let base = format!("http://{addr}");
            replicas.pids.push(child.id().to_string());
            replicas.children.push(child);
            replicas.clients.push(Client::new(&base).unwrap());
            replicas.bases.push(base);
        }
        let client = &replicas.clients[0];
        client
            .register(USER, &Password::new(PASSWORD), None)
            .await
            .unwrap();
        let l = client
            .login(USER, &Password::new(PASSWORD), SecondFactor::None)
            .await
            .unwrap();
        let text: Vec<u8> = (0..1024u32).map(|i| b'a' + (i % 26) as u8).collect();
        let note = client
            .upload(
                &l.tokens.access_token,
                &l.keys,
                NewItem {
                    kind: ItemKind::Note,
                    name: "note".into(),
                    content_type: "text/plain; charset=utf-8".into(),
                },
                Source::Bytes(text),
                &no_progress,
            )
            .await
            .unwrap();
        // The token and the note through every replica.
        for c in &replicas.clients {
            c.item(&l.tokens.access_token, &l.keys, &note.id)
                .await
                .unwrap();
        }
        Setup {
            name,
            database: database.and_then(|u| Some(u.rsplit_once('/')?.1.to_owned())),
            replicas,
            login: Arc::new(l),
            note: note.id,
        }
    }

    fn token(&self) -> &str {
        self.login.tokens.access_token.expose()
    }

    fn pids(&self) -> &[String] {
        &self.replicas.pids
    }

    /// The CPU seconds of the setup's PostgreSQL backends so far (0 on SQLite).
    fn database_cpu(&self) -> f64 {
        self.database.as_deref().map_or(0.0, Databases::backend_cpu)
    }

    fn urls(&self, path: &str) -> Vec<String> {
        self.replicas
            .bases
            .iter()
            .map(|b| format!("{b}{path}"))
            .collect()
    }
}

// --- Measurements --------------------------------------------------------------------

/// A request-rate window and the CPU the setup's PostgreSQL backends used in it.
struct Window {
    rate: Rate,
    /// Cores.
    database_cpu: f64,
}

async fn rate_window(http: &reqwest::Client, s: &Setup, path: &str) -> Window {
    let tasks = env_usize("LOAD_TASKS", 64).max(1);
    let secs = env_usize("LOAD_SECS", 5) as f64;
    wait_idle().await;
    let (rate, db) = load_with(
        http,
        &s.urls(path),
        s.token(),
        tasks,
        secs,
        s.pids(),
        || s.database_cpu(),
    )
    .await;
    Window {
        database_cpu: db.max(0.0) / rate.secs,
        rate,
    }
}

/// One batch of concurrent uploads.
struct Batch {
    secs: f64,
    /// CPU seconds: this process (the clients), the servers, the PostgreSQL backends,
    /// everything else.
    client_cpu: f64,
    server_cpu: f64,
    database_cpu: f64,
    other_cpu: f64,
}

async fn upload_batch(s: &Setup, files: &[PathBuf], len: u64) -> Batch {
    let _ = std::process::Command::new("sync").status();
    wait_idle().await;
    let mark = CpuMark::now(s.pids());
    let db0 = s.database_cpu();
    let t = Instant::now();
    let mut handles = Vec::new();
    for (k, path) in files.iter().enumerate() {
        let client = s.replicas.clients[k % s.replicas.clients.len()].clone();
        let login = s.login.clone();
        let file = std::fs::File::open(path).unwrap();
        handles.push(tokio::spawn(async move {
            client
                .upload(
                    &login.tokens.access_token,
                    &login.keys,
                    NewItem {
                        kind: ItemKind::File,
                        name: "random.bin".into(),
                        content_type: "application/octet-stream".into(),
                    },
                    Source::Sized(Box::new(file), len),
                    &no_progress,
                )
                .await
                .unwrap()
                .id
        }));
    }
    let mut ids = Vec::new();
    for h in handles {
        ids.push(h.await.expect("an upload failed"));
    }
    let secs = t.elapsed().as_secs_f64();
    let (client_cpu, server_cpu, other) = mark.since(s.pids());
    let database_cpu = (s.database_cpu() - db0).max(0.0);
    for id in ids {
        s.replicas.clients[0]
            .delete_item(&s.login.tokens.access_token, &id)
            .await
            .unwrap();
    }
    Batch {
        secs,
        client_cpu,
        server_cpu,
        database_cpu,
        other_cpu: (other - database_cpu).max(0.0),
    }
}

// --- Reports -------------------------------------------------------------------------

/// `median (lo–hi)` of `v`, with `digits` decimals.
fn spread(v: &[f64], digits: usize) -> String {
    let ((lo, hi), m) = (range(v), median(v));
    format!("{m:.digits$} ({lo:.digits$}–{hi:.digits$})")
}

/// `a[i] / b[i]` per round.
fn ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(a, b)| a / b).collect()
}

struct Rates {
    health: Vec<Window>,
    item: Vec<Window>,
}

fn print_rates(setups: &[Setup], results: &[Rates]) {
    let tasks = env_usize("LOAD_TASKS", 64).max(1);
    let secs = env_usize("LOAD_SECS", 5);
    let rounds = results.first().map_or(0, |r| r.item.len());
    let rps = |w: &[Window]| w.iter().map(|w| w.rate.rps).collect::<Vec<_>>();
    let sqlite_items = rps(&results[0].item);
    println!(
        "### Requests per second, {tasks} tasks, {secs} s each after 1 s of warm-up, {rounds} rounds, setups interleaved"
    );
    println!();
    println!(
        "| setup | `GET /healthz` req/s (range) | **`GET /api/v1/items/{{id}}`** req/s (range) | items ÷ `/healthz` (range) | items ÷ SQLite (range) | servers: cores, µs CPU per item request | PostgreSQL backends: cores, µs CPU per item request | load generator: cores | other processes: cores |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (s, r) in setups.iter().zip(results) {
        let (health, item) = (rps(&r.health), rps(&r.item));
        let med = |f: &dyn Fn(&Window) -> f64| median(&r.item.iter().map(f).collect::<Vec<_>>());
        let server = med(&|w| w.rate.server_cpu.unwrap_or(0.0));
        let server_us = med(&|w| w.rate.server_cpu.unwrap_or(0.0) * 1e6 / w.rate.rps);
        let db = med(&|w| w.database_cpu);
        let db_us = med(&|w| w.database_cpu * 1e6 / w.rate.rps);
        let database = if s.database.is_some() {
            format!("{db:.2}, {db_us:.0}")
        } else {
            "— (in the server)".into()
        };
        println!(
            "| {} | {} | {} | {} | {} | {server:.2}, {server_us:.0} | {database} | {:.2} | {:.2} |",
            s.name,
            spread(&health, 0),
            spread(&item, 0),
            spread(&ratios(&item, &health), 2),
            spread(&ratios(&item, &sqlite_items), 2),
            med(&|w| w.rate.client_cpu),
            med(&|w| (w.rate.other_cpu - w.database_cpu).max(0.0)),
        );
    }
    println!();
    println!("Per round, req/s (`/healthz`, items):");
    println!();
    for (s, r) in setups.iter().zip(results) {
        let per: Vec<String> = r
            .health
            .iter()
            .zip(&r.item)
            .map(|(h, i)| format!("{:.0} / {:.0}", h.rate.rps, i.rate.rps))
            .collect();
        println!("- {}: {}", s.name, per.join("; "));
    }
    println!();
}

fn print_uploads(setups: &[Setup], results: &[Vec<Batch>], uploads: usize, len: u64) {
    let bytes = uploads as f64 * len as f64;
    let mbs = |b: &[Batch]| b.iter().map(|b| bytes / 1e6 / b.secs).collect::<Vec<_>>();
    let sqlite = mbs(&results[0]);
    let rounds = results.first().map_or(0, Vec::len);
    println!(
        "### Uploads: {uploads} concurrent `Client::upload`s of {} MiB each, {rounds} rounds, setups interleaved",
        len / MIB
    );
    println!();
    println!(
        "| setup | aggregate MB/s (range) | ÷ SQLite (range) | CPU s per GB uploaded: clients (this process) / servers / PostgreSQL backends / other processes |"
    );
    println!("| --- | ---: | ---: | ---: |");
    let gb = bytes / 1e9;
    for (s, b) in setups.iter().zip(results) {
        let m = mbs(b);
        let per =
            |f: &dyn Fn(&Batch) -> f64| median(&b.iter().map(|x| f(x) / gb).collect::<Vec<_>>());
        let db = if s.database.is_some() {
            format!("{:.2}", per(&|x| x.database_cpu))
        } else {
            "—".into()
        };
        println!(
            "| {} | {} | {} | {:.2} / {:.2} / {db} / {:.2} |",
            s.name,
            spread(&m, 0),
            spread(&ratios(&m, &sqlite), 2),
            per(&|x| x.client_cpu),
            per(&|x| x.server_cpu),
            per(&|x| x.other_cpu),
        );
    }
    println!();
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` (or `--all-targets`) runs
    // this binary without it.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("scale_load: not run by `cargo bench` (no --bench argument): skipped");
        return;
    }
    let Some(bin) = std::env::var_os("COFRE_BIN") else {
        eprintln!(
            "scale_load: needs COFRE_BIN, a `cofre` binary to run the servers from (scripts/bench-scale.sh sets it): skipped"
        );
        return;
    };
    sqlx::any::install_default_drivers();
    let rounds = env_usize("SCALE_ROUNDS", 3).max(1);
    let uploads = env_usize("UPLOADS", 4);
    let len = env_usize("UPLOAD_MIB", 64) as u64 * MIB;
    let load_secs = env_usize("LOAD_SECS", 5);

    let pg = std::env::var("SCALE_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    // Declared before the setups, so dropped after their servers have stopped.
    let mut dbs = Databases {
        server: pg.trim_end_matches('/').to_owned(),
        names: Vec::new(),
    };
    let dir = tempfile::tempdir().unwrap();
    let one = dbs.create("one").await;
    let two = dbs.create("two").await;
    let setups = vec![
        Setup::start(
            "SQLite, 1 server",
            &bin,
            &dir.path().join("sqlite"),
            None,
            1,
        )
        .await,
        Setup::start(
            "PostgreSQL, 1 replica",
            &bin,
            &dir.path().join("pg1"),
            Some(one),
            1,
        )
        .await,
        Setup::start(
            "PostgreSQL, 2 replicas",
            &bin,
            &dir.path().join("pg2"),
            Some(two),
            2,
        )
        .await,
    ];
    for s in &setups {
        eprintln!("scale_load: {}: {}", s.name, s.replicas.bases.join(", "));
    }

    let files: Vec<PathBuf> = if uploads > 0 && len > 0 {
        eprintln!(
            "scale_load: writing {uploads} random files of {} MiB",
            len / MIB
        );
        (0..uploads)
            .map(|k| {
                let p = dir.path().join(format!("upload-{k}"));
                write_random_file(&p, len);
                p
            })
            .collect()
    } else {
        Vec::new()
    };

    let http = reqwest::Client::new();
    let mut rates: Vec<Rates> = setups
        .iter()
        .map(|_| Rates {
            health: Vec::new(),
            item: Vec::new(),
        })
        .collect();
    let mut batches: Vec<Vec<Batch>> = setups.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        // The setups' order rotates, so none is always measured first.
        let order: Vec<usize> = (0..setups.len())
            .map(|k| (k + round) % setups.len())
            .collect();
        if load_secs > 0 {
            eprintln!("scale_load: request-rate round {}/{rounds}", round + 1);
            for &i in &order {
                let s = &setups[i];
                rates[i]
                    .health
                    .push(rate_window(&http, s, "/healthz").await);
                let item = format!("/api/v1/items/{}", s.note);
                rates[i].item.push(rate_window(&http, s, &item).await);
            }
        }
        if !files.is_empty() {
            eprintln!("scale_load: upload round {}/{rounds}", round + 1);
            for &i in &order {
                batches[i].push(upload_batch(&setups[i], &files, len).await);
            }
        }
    }

    println!(
        "Setups: {}; {} cores (`available_parallelism`).",
        setups
            .iter()
            .map(|s| format!("{} ({})", s.name, s.replicas.bases.join(", ")))
            .collect::<Vec<_>>()
            .join("; "),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    if load_secs > 0 {
        print_rates(&setups, &rates);
    }
    if !files.is_empty() {
        print_uploads(&setups, &batches, uploads, len);
    }
    drop(setups);
    drop(dbs);
}

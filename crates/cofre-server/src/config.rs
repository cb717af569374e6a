//! Server settings and the data directory they point at.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use cofre_core::keys::KdfParams;

use crate::blobs::BlobLocation;

/// Every server setting. [`ServerConfig::new`] gives the defaults; the CLI maps each
/// field to a flag and a `COFRE_*` environment variable. Its `Debug` output hides any
/// password in `database_url`.
#[derive(Clone)]
pub struct ServerConfig {
    /// The data directory (created on first start, mode 0700): database and keys.
    pub data_dir: PathBuf,
    /// A PostgreSQL database (`postgres://…`) instead of the SQLite file in the data
    /// directory. Keys stay in the data directory.
    pub database_url: Option<String>,
    /// Where the server's keys live (default `DATA/keys`). Replicas sharing one
    /// database must share these keys: give each the same files (a mounted secret,
    /// say). The database remembers a check value of the first keys it served with and
    /// refuses a server started with others.
    pub keys_dir: Option<PathBuf>,
    /// Where item bodies are kept: `DATA/blobs` by default, another folder, or S3.
    pub blobs: BlobLocation,
    /// The address to listen on. Loopback by default.
    pub listen: SocketAddr,
    /// Load balancers and reverse proxies whose `X-Forwarded-For` header is believed:
    /// a request from one of these networks is attributed (for throttling and the
    /// audit log) to the right-most address in the header that is not itself a
    /// trusted proxy. Empty by default: the header is ignored.
    pub trusted_proxies: Vec<IpNet>,
    /// bcrypt cost for auth-key hashes (default 12, at least 10).
    pub bcrypt_cost: u32,
    /// How many bcrypt computations may run at once (the rest queue).
    pub bcrypt_threads: usize,
    /// Whether anyone may register; otherwise an admin's invite is needed (the very
    /// first account never needs one).
    pub open_registration: bool,
    /// Access-token lifetime in seconds.
    pub access_ttl_secs: i64,
    /// Session (refresh-token chain) lifetime in seconds.
    pub session_ttl_secs: i64,
    /// The tokens' `iss`.
    pub issuer: String,
    /// The tokens' `aud`.
    pub audience: String,
    /// KDF parameters for new accounts and for fake prelogin answers.
    pub kdf: KdfParams,
    /// Password policy published to clients: minimum length.
    pub password_min_length: usize,
    /// Password policy published to clients: minimum zxcvbn score.
    pub password_min_score: u8,
    /// Guessing budget of an account from unknown devices (also of each device token
    /// and each session): attempts allowed at once.
    pub account_free_failures: i64,
    /// Guessing budget of a client address: attempts allowed at once.
    pub address_free_failures: i64,
    /// Seconds for one attempt of an account's (device's, session's) budget to come back.
    pub account_refill_secs: i64,
    /// Seconds for one attempt of an address's budget to come back.
    pub address_refill_secs: i64,
    /// Registration attempts a client address may make at once (per server process).
    pub registration_burst: u32,
    /// Seconds for one more registration attempt to be earned back, per address.
    pub registration_refill_secs: u64,
    /// Prelogin requests a client address may make at once (per server process).
    pub prelogin_burst: u32,
    /// Seconds for one more prelogin to be earned back, per address.
    pub prelogin_refill_secs: u64,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Serve HTTPS with this certificate chain and private key (PEM files).
    pub tls: Option<TlsFiles>,
    /// Storage quota per account, in encoded (ciphertext) bytes.
    pub quota_bytes: u64,
    /// Largest single item, in encoded bytes.
    pub max_item_bytes: u64,
    /// Largest body part accepted in one upload request, in bytes.
    pub max_part_bytes: u64,
    /// Seconds an upload may stay uncommitted before the cleanup removes it.
    pub upload_expiry_secs: i64,
    /// Seconds between cleanup passes (abandoned uploads, orphaned blobs).
    pub cleanup_every_secs: u64,
    /// Backups made by the server (scheduled or on an admin's request); none: disabled.
    pub backup: Option<BackupConfig>,
    /// Read timeouts and connection caps against slow or stalled clients.
    pub connections: crate::listener::ConnectionLimits,
    /// Serve `GET /metrics` on this separate address too (plain HTTP; keep it on
    /// loopback or an internal network). None by default.
    pub metrics_listen: Option<SocketAddr>,
    /// The bearer token `GET /metrics` asks for (at least 16 visible ASCII
    /// characters). With one set, the main listener serves `/metrics` to its holder;
    /// without, only the separate listener serves it. Never shown in `Debug` or logs.
    pub metrics_token: Option<cofre_api::SecretString>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Every field, so that a new one is not forgotten silently: destructured.
        let Self {
            data_dir: _,
            database_url: _,
            keys_dir: _,
            blobs: _,
            listen: _,
            trusted_proxies: _,
            bcrypt_cost: _,
            bcrypt_threads: _,
            open_registration: _,
            access_ttl_secs: _,
            session_ttl_secs: _,
            issuer: _,
            audience: _,
            kdf: _,
            password_min_length: _,
            password_min_score: _,
            account_free_failures: _,
            address_free_failures: _,
            account_refill_secs: _,
            address_refill_secs: _,
            registration_burst: _,
            registration_refill_secs: _,
            prelogin_burst: _,
            prelogin_refill_secs: _,
            max_body_bytes: _,
            tls: _,
            quota_bytes: _,
            max_item_bytes: _,
            max_part_bytes: _,
            upload_expiry_secs: _,
            cleanup_every_secs: _,
            backup: _,
            connections: _,
            metrics_listen: _,
            metrics_token: _,
        } = self;
        f.debug_struct("ServerConfig")
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redacted_url),
            )
            .field("keys_dir", &self.keys_dir)
            .field("blobs", &self.blobs)
            .field("listen", &self.listen)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("bcrypt_cost", &self.bcrypt_cost)
            .field("bcrypt_threads", &self.bcrypt_threads)
            .field("open_registration", &self.open_registration)
            .field("access_ttl_secs", &self.access_ttl_secs)
            .field("session_ttl_secs", &self.session_ttl_secs)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("kdf", &self.kdf)
            .field("password_min_length", &self.password_min_length)
            .field("password_min_score", &self.password_min_score)
            .field("account_free_failures", &self.account_free_failures)
            .field("address_free_failures", &self.address_free_failures)
            .field("account_refill_secs", &self.account_refill_secs)
            .field("address_refill_secs", &self.address_refill_secs)
            .field("registration_burst", &self.registration_burst)
            .field("registration_refill_secs", &self.registration_refill_secs)
            .field("prelogin_burst", &self.prelogin_burst)
            .field("prelogin_refill_secs", &self.prelogin_refill_secs)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("tls", &self.tls)
            .field("quota_bytes", &self.quota_bytes)
            .field("max_item_bytes", &self.max_item_bytes)
            .field("max_part_bytes", &self.max_part_bytes)
            .field("upload_expiry_secs", &self.upload_expiry_secs)
            .field("cleanup_every_secs", &self.cleanup_every_secs)
            .field("backup", &self.backup)
            .field("connections", &self.connections)
            .field("metrics_listen", &self.metrics_listen)
            .field("metrics_token", &self.metrics_token)
            .finish()
    }
}

/// Where the server writes backups, encrypted to which key, how often, how many kept.
#[derive(Clone, Debug)]
pub struct BackupConfig {
    /// The folder receiving archives.
    pub dir: PathBuf,
    /// The backup public key file (PEM), from `cofre backup keygen`.
    pub key_file: PathBuf,
    /// Seconds between scheduled backups (none: only on request).
    pub every_secs: Option<u64>,
    /// Keep this many newest archives.
    pub keep_last: usize,
    /// Also keep the newest archive of each of this many days.
    pub keep_daily: usize,
    /// Also keep the newest archive of each of this many weeks.
    pub keep_weekly: usize,
}

/// An IP network: an address and a prefix length (`10.0.0.0/8`, `fd00::/8`; a bare
/// address is a single host).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: std::net::IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or network (like 10.0.0.0/8)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

/// A PEM certificate chain and its private key.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Lowest bcrypt cost accepted.
pub const MIN_BCRYPT_COST: u32 = 10;

impl ServerConfig {
    /// The defaults, with the given data directory and listening address.
    pub fn new(data_dir: PathBuf, listen: SocketAddr) -> Self {
        Self {
            data_dir,
            database_url: None,
            keys_dir: None,
            blobs: BlobLocation::DataDir,
            listen,
            trusted_proxies: Vec::new(),
            bcrypt_cost: 12,
            bcrypt_threads: std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1).max(1)),
            open_registration: true,
            access_ttl_secs: 15 * 60,
            session_ttl_secs: 30 * 24 * 3600,
            issuer: "cofre".into(),
            audience: "cofre-api".into(),
            kdf: KdfParams::default(),
            password_min_length: 12,
            password_min_score: 3,
            account_free_failures: 5,
            address_free_failures: 20,
            account_refill_secs: 300,
            address_refill_secs: 60,
            // docs/ACCOUNTS.md, "Admission": 5 at once, then 3 an hour per address.
            registration_burst: 5,
            registration_refill_secs: 20 * 60,
            // A login's prelogin: 30 at once, then one a second per address.
            prelogin_burst: 30,
            prelogin_refill_secs: 1,
            max_body_bytes: 1024 * 1024,
            tls: None,
            quota_bytes: 10 << 30,
            max_item_bytes: 8 << 30,
            max_part_bytes: 16 << 20,
            upload_expiry_secs: 24 * 3600,
            cleanup_every_secs: 3600,
            backup: None,
            connections: crate::listener::ConnectionLimits::default(),
            metrics_listen: None,
            metrics_token: None,
        }
    }

    /// Checks the settings that have hard limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |what: &str| Err(ConfigError::Invalid(what.to_owned()));
        if !(MIN_BCRYPT_COST..=31).contains(&self.bcrypt_cost) {
            return bad("bcrypt cost must be between 10 and 31");
        }
        if self.bcrypt_threads == 0 {
            return bad("bcrypt threads must be at least 1");
        }
        if self.access_ttl_secs < 30 || self.access_ttl_secs > 24 * 3600 {
            return bad("access-token lifetime must be between 30 seconds and 24 hours");
        }
        if self.session_ttl_secs < self.access_ttl_secs {
            return bad("session lifetime must be at least the access-token lifetime");
        }
        if self.kdf.validate().is_err() {
            return bad("KDF parameters are outside the accepted bounds");
        }
        if self.account_refill_secs < 1 || self.address_refill_secs < 1 {
            return bad("refill times must be at least 1 second");
        }
        if self.account_free_failures < 1 || self.address_free_failures < 1 {
            return bad("free failures must be at least 1");
        }
        if self.registration_burst < 1 || self.prelogin_burst < 1 {
            return bad("registration and prelogin bursts must be at least 1");
        }
        if self.registration_refill_secs < 1 || self.prelogin_refill_secs < 1 {
            return bad("registration and prelogin refill times must be at least 1 second");
        }
        if self.max_body_bytes < 4096 {
            return bad("the body limit must be at least 4096 bytes");
        }
        if self.max_part_bytes < (1 << 20) {
            return bad("the upload part limit must be at least 1 MiB");
        }
        if self.max_item_bytes < 1024 {
            return bad("the item size limit must be at least 1 KiB");
        }
        if self.upload_expiry_secs < 60 {
            return bad("the upload expiry must be at least 60 seconds");
        }
        if self.cleanup_every_secs < 1 {
            return bad("the cleanup interval must be at least 1 second");
        }
        if let Err(why) = self.connections.validate() {
            return bad(&why);
        }
        if self.backup.is_some() && self.keys_dir.is_some() {
            return bad(
                "server backups take the keys from the data directory: leave --keys-dir unset to use them",
            );
        }
        if self.backup.is_some() && !matches!(self.blobs, BlobLocation::DataDir) {
            return bad(
                "server backups read the blob folder in the data directory: they cannot be combined with --blobs elsewhere (back the bucket or folder up with its own tools) for now",
            );
        }
        if let BlobLocation::S3(l) = &self.blobs
            && let Some(endpoint) = &l.endpoint
        {
            if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
                return bad("the S3 endpoint must be an http:// or https:// URL");
            }
            if endpoint.starts_with("http://") && !l.allow_http {
                return bad(
                    "the S3 endpoint is plain HTTP: pass --s3-allow-http if that is intended (loopback or a trusted network only)",
                );
            }
        }
        if let Some(t) = &self.metrics_token
            && (t.expose().len() < 16 || !t.expose().bytes().all(|b| b.is_ascii_graphic()))
        {
            return bad(
                "the metrics token must be at least 16 visible ASCII characters (no spaces)",
            );
        }
        if let Some(b) = &self.backup {
            if b.every_secs.is_some_and(|s| s < 60) {
                return bad("the backup interval must be at least 60 seconds");
            }
            if b.keep_last < 1 {
                return bad("backup retention must keep at least 1 archive");
            }
        }
        Ok(())
    }

    /// The SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("cofre.db")
    }

    /// The server's key folder: `keys_dir`, or `DATA/keys`.
    pub fn keys_path(&self) -> PathBuf {
        self.keys_dir
            .clone()
            .unwrap_or_else(|| crate::secrets::default_keys_dir(&self.data_dir))
    }

    /// The blob folder in the data directory (the default blob location).
    pub fn blobs_path(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }
}

/// Errors preparing the server's environment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The data directory could not be created or is not usable.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    Invalid(String),
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

impl ServerConfig {
    /// Creates the data directory if it is missing (owner-only permissions) and checks
    /// that it is a directory. Returns whether it was created now.
    pub fn prepare_data_dir(&self) -> Result<bool, ConfigError> {
        let err = |source| ConfigError::DataDir {
            path: self.data_dir.clone(),
            source,
        };
        let created = !self.data_dir.exists();
        if created {
            create_private_dir(&self.data_dir).map_err(err)?;
        } else if !self.data_dir.is_dir() {
            return Err(err(std::io::Error::other("exists and is not a directory")));
        }
        Ok(created)
    }

    /// The URL scheme clients use.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// True when the listening address is reachable from other machines.
    pub fn is_exposed(&self) -> bool {
        !self.listen.ip().is_loopback()
    }
}

/// Creates `path` (and parents) with owner-only permissions.
#[cfg(unix)]
pub(crate) fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

/// Creates `path` (and parents).
#[cfg(not(unix))]
pub(crate) fn create_private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::s3::S3Location;

    fn refused(c: &ServerConfig, why: &str) {
        match c.validate() {
            Err(ConfigError::Invalid(m)) => assert!(m.contains(why), "{m}"),
            other => panic!("expected a refusal naming {why:?}, got {other:?}"),
        }
    }

    #[test]
    fn s3_blob_settings_are_checked() {
        let mut c = ServerConfig::new("/srv/cofre".into(), "127.0.0.1:0".parse().unwrap());
        let mut l = S3Location::new("bucket", "cofre");
        c.blobs = BlobLocation::S3(l.clone());
        c.validate().unwrap();
        l.endpoint = Some("http://127.0.0.1:9000".into());
        c.blobs = BlobLocation::S3(l.clone());
        refused(&c, "--s3-allow-http");
        l.allow_http = true;
        c.blobs = BlobLocation::S3(l.clone());
        c.validate().unwrap();
        l.endpoint = Some("ftp://127.0.0.1".into());
        c.blobs = BlobLocation::S3(l);
        refused(&c, "http:// or https://");
    }

    #[test]
    fn metrics_tokens_are_long_and_printable() {
        let mut c = ServerConfig::new("/srv/cofre".into(), "127.0.0.1:0".parse().unwrap());
        for bad in ["short", "sixteen chars ok", "tab\tinside-the-token-here"] {
            c.metrics_token = Some(cofre_api::SecretString::new(bad));
            refused(&c, "metrics token");
        }
        c.metrics_token = Some(cofre_api::SecretString::new("0123456789abcdef"));
        c.validate().unwrap();
    }

    #[test]
    fn server_backups_need_the_blob_folder_in_the_data_directory() {
        let mut c = ServerConfig::new("/srv/cofre".into(), "127.0.0.1:0".parse().unwrap());
        c.backup = Some(BackupConfig {
            dir: "/srv/backups".into(),
            key_file: "/srv/backup.pub".into(),
            every_secs: None,
            keep_last: 3,
            keep_daily: 0,
            keep_weekly: 0,
        });
        c.validate().unwrap();
        for elsewhere in [
            BlobLocation::Folder("/mnt/blobs".into()),
            BlobLocation::S3(S3Location::new("bucket", "")),
        ] {
            c.blobs = elsewhere;
            refused(&c, "server backups read the blob folder");
        }
    }
}

/// A database URL as it may be shown or logged: any password in it (`user:password@`)
/// replaced by `***`, and any query string (which may carry one too) by `?…`.
pub fn redacted_url(url: &str) -> String {
    let (url, query) = match url.split_once('?') {
        Some((u, _)) => (u, "?…"),
        None => (url, ""),
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return format!("{url}{query}");
    };
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (rest, None),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let path = path.map(|p| format!("/{p}")).unwrap_or_default();
    format!("{scheme}://{authority}{path}{query}")
}

#[cfg(test)]
mod redaction_tests {
    use super::redacted_url;

    #[test]
    fn passwords_are_hidden_in_database_urls() {
        for (url, shown) in [
            (
                "postgres://cofre:s3cret@db.example:5432/cofre",
                "postgres://cofre:***@db.example:5432/cofre",
            ),
            (
                "postgres://postgres@127.0.0.1/x",
                "postgres://postgres@127.0.0.1/x",
            ),
            ("postgres://h", "postgres://h"),
            ("postgres://u:p@h", "postgres://u:***@h"),
            (
                "postgres://u@h/db?password=s3cret&sslmode=require",
                "postgres://u@h/db?…",
            ),
            ("postgres://u:p:q@h/db", "postgres://u:***@h/db"),
        ] {
            assert_eq!(redacted_url(url), shown, "{url}");
            assert!(!redacted_url(url).contains("s3cret"));
        }
        let mut c = super::ServerConfig::new("d".into(), "127.0.0.1:0".parse().unwrap());
        c.database_url = Some("postgres://cofre:s3cret@db/cofre".into());
        c.metrics_token = Some(cofre_api::SecretString::new("m3trics-t0ken-s3cret"));
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("s3cret") && shown.contains("cofre:***@db"),
            "{shown}"
        );
        assert!(shown.contains("metrics_token: Some(<redacted>)"), "{shown}");
    }
}

//! The client's state on disk: which server and user (config), and the current
//! session's tokens. Files are owner-only (0600) and written atomically. Never the
//! password, never an unwrapped key.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use cofre_client::Client;
use cofre_client::api::SecretString;
use cofre_client::api::auth::SessionTokens;
use serde::{Deserialize, Serialize};

use crate::cli::ClientArgs;

/// The default server URL.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Remembered settings.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Config {
    /// Server URL.
    pub server: Option<String>,
    /// Last username.
    pub username: Option<String>,
}

/// A logged-in session.
#[derive(Debug, Serialize, Deserialize)]
pub struct Session {
    /// Server URL.
    pub server: String,
    /// Username.
    pub username: String,
    /// Session id.
    pub session_id: String,
    /// Access token.
    pub access_token: SecretString,
    /// When it expires (Unix seconds).
    pub access_expires_at: i64,
    /// Refresh token (single use).
    pub refresh_token: SecretString,
}

/// Where the state lives, and the server to talk to.
pub struct State {
    dir: PathBuf,
    /// Remembered settings.
    pub config: Config,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl State {
    /// Opens the state directory (`--config-dir`, `$XDG_CONFIG_HOME/cofre`, or
    /// `~/.config/cofre`).
    pub fn open(args: &ClientArgs) -> anyhow::Result<Self> {
        let dir = match &args.config_dir {
            Some(d) => d.clone(),
            None => match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
                Some(x) => PathBuf::from(x).join("cofre"),
                None => PathBuf::from(
                    std::env::var_os("HOME").context("HOME is not set; pass --config-dir")?,
                )
                .join(".config")
                .join("cofre"),
            },
        };
        let config = read_json(&dir.join("config.json"))?.unwrap_or_default();
        Ok(Self { dir, config })
    }

    /// The server URL: the flag, then the remembered one, then the default.
    pub fn server(&self, args: &ClientArgs) -> String {
        args.server
            .clone()
            .or_else(|| self.config.server.clone())
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned())
    }

    /// Remembers server and username.
    pub fn remember(&mut self, server: &str, username: &str) -> anyhow::Result<()> {
        self.config.server = Some(server.to_owned());
        self.config.username = Some(username.to_owned());
        write_json(&self.dir, "config.json", &self.config)
    }

    /// Saves a new session.
    pub fn save_session(
        &self,
        server: &str,
        username: &str,
        t: &SessionTokens,
    ) -> anyhow::Result<()> {
        let s = Session {
            server: server.to_owned(),
            username: username.to_owned(),
            session_id: t.session_id.clone(),
            access_token: t.access_token.clone(),
            access_expires_at: now() + i64::try_from(t.expires_in).unwrap_or(0),
            refresh_token: t.refresh_token.clone(),
        };
        write_json(&self.dir, "session.json", &s)
    }

    /// Forgets the session.
    pub fn clear_session(&self) -> anyhow::Result<()> {
        match std::fs::remove_file(self.dir.join("session.json")) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).context("removing the session file"),
        }
    }

    /// The current session, refreshed if its access token is about to expire.
    pub async fn session(&self) -> anyhow::Result<(Client, Session)> {
        let Some(mut s) = read_json::<Session>(&self.dir.join("session.json"))? else {
            bail!("not logged in: run `cofre login` first");
        };
        let client = Client::new(&s.server)?;
        if s.access_expires_at - 30 <= now() {
            s = self.refresh(&client, s).await?;
        }
        Ok((client, s))
    }

    async fn refresh(&self, client: &Client, s: Session) -> anyhow::Result<Session> {
        match client.refresh(&s.refresh_token).await {
            Ok(t) => {
                self.save_session(&s.server, &s.username, &t)?;
                read_json(&self.dir.join("session.json"))?.context("session file vanished")
            }
            Err(e) => {
                self.clear_session()?;
                bail!("the session has ended ({e}): run `cofre login` again")
            }
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(serde_json::from_slice(&b).with_context(|| {
            format!("{} is corrupt; delete it", path.display())
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes `name` in `dir` (created 0700) through a 0600 temporary file and a rename.
fn write_json<T: Serialize>(dir: &Path, name: &str, value: &T) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(&serde_json::to_vec_pretty(value)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(name)).with_context(|| format!("saving {name}"))?;
    Ok(())
}

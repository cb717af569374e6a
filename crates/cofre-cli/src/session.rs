//! The client's state: which server and user (a config file, owner-only, written
//! atomically), the device tokens servers gave this machine (owner-only, never
//! printed), and the session, which only the local agent holds, in memory. The state
//! directory is the profile: each has its own agent (its own socket), and the agent
//! serves no other profile. Never the
//! password, a session token or an unwrapped key on disk: a device token opens nothing,
//! it only gives this machine a login-guessing budget of its own.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use cofre_client::Client;
use cofre_client::agent::{AgentClient, AgentError, AgentSession};
use cofre_client::api::SecretString;
use serde::{Deserialize, Serialize};

use crate::cli::ClientArgs;
use crate::exit::{Failure, Problem};

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

/// A device token a server gave this machine for one account.
#[derive(Debug, Serialize, Deserialize)]
struct DeviceToken {
    server: String,
    username: String,
    token: SecretString,
}

/// The device tokens file.
const DEVICES: &str = "devices.json";

/// The name a server knows an account by (as typed, when it cannot be a username).
fn normalized(username: &str) -> String {
    cofre_client::api::Username::parse(username)
        .map_or_else(|_| username.to_owned(), |u| u.as_str().to_owned())
}

/// Where the state lives, the server to talk to, and the agent holding the session.
pub struct State {
    dir: PathBuf,
    /// Remembered settings.
    pub config: Config,
    /// The local agent.
    pub agent: AgentClient,
}

impl State {
    /// Opens the state directory (`--config-dir`, `$XDG_CONFIG_HOME/cofre`, or
    /// `~/.config/cofre`).
    pub fn open(args: &ClientArgs) -> anyhow::Result<Self> {
        let dir = match args
            .config_dir
            .as_ref()
            .filter(|d| !d.as_os_str().is_empty())
        {
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
        let socket = args
            .agent_socket
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| cofre_client::agent::default_socket(&dir));
        let profile = cofre_client::agent::profile_id(&dir);
        Ok(Self {
            dir,
            config,
            agent: AgentClient::new(socket, profile),
        })
    }

    /// The server URL: the flag, then the remembered one, then the default. An empty
    /// value (`COFRE_SERVER=`) counts as unset.
    pub fn server(&self, args: &ClientArgs) -> String {
        args.server
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| self.config.server.clone())
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned())
    }

    /// A client for `server`, trusting `--ca-cert` if given; and that CA's PEM text.
    pub fn client(args: &ClientArgs, server: &str) -> anyhow::Result<(Client, Option<String>)> {
        let ca = match args.ca_cert.as_ref().filter(|p| !p.as_os_str().is_empty()) {
            Some(p) => Some(
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
            ),
            None => None,
        };
        Ok((
            Client::with_ca(server, ca.as_deref().map(str::as_bytes))?,
            ca,
        ))
    }

    /// The state directory itself (interrupted transfers keep their state under it).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The pinned contacts file.
    pub fn contacts_path(&self) -> PathBuf {
        self.dir.join("contacts.json")
    }

    /// Remembers server and username.
    pub fn remember(&mut self, server: &str, username: &str) -> anyhow::Result<()> {
        self.config.server = Some(server.to_owned());
        self.config.username = Some(username.to_owned());
        write_json(&self.dir, "config.json", &self.config)
    }

    /// The device token `server` gave this machine for `username`, if any.
    pub fn device_token(
        &self,
        server: &str,
        username: &str,
    ) -> anyhow::Result<Option<SecretString>> {
        let username = normalized(username);
        let all: Vec<DeviceToken> = read_json(&self.dir.join(DEVICES))?.unwrap_or_default();
        Ok(all
            .into_iter()
            .find(|d| d.server == server && d.username == username)
            .map(|d| d.token))
    }

    /// Keeps the device token `server` gave this machine for `username` (replacing an
    /// older one), in an owner-only file.
    pub fn remember_device(
        &self,
        server: &str,
        username: &str,
        token: &SecretString,
    ) -> anyhow::Result<()> {
        let username = normalized(username);
        let mut all: Vec<DeviceToken> = read_json(&self.dir.join(DEVICES))?.unwrap_or_default();
        all.retain(|d| !(d.server == server && d.username == username));
        all.push(DeviceToken {
            server: server.to_owned(),
            username,
            token: token.clone(),
        });
        write_json(&self.dir, DEVICES, &all)
    }

    /// Hands a new session to the agent, starting the agent if none is running.
    pub async fn unlock(&self, session: AgentSession, idle_secs: u64) -> anyhow::Result<()> {
        if !self.agent.is_running().await {
            let exe = std::env::current_exe().context("locating the cofre binary")?;
            std::process::Command::new(exe)
                .arg("agent")
                .arg("--agent-socket")
                .arg(self.agent.path())
                .arg("--config-dir")
                .arg(&self.dir)
                .arg("--idle")
                .arg(idle_secs.to_string())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .context("starting the cofre agent")?;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while !self.agent.is_running().await {
                if std::time::Instant::now() > deadline {
                    bail!(
                        "the cofre agent did not start (socket {})",
                        self.agent.path().display()
                    );
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
        self.agent.put(session).await?;
        Ok(())
    }

    /// The unlocked session, with a fresh access token (the agent refreshes it).
    pub async fn session(&self) -> anyhow::Result<(Client, AgentSession)> {
        match self.agent.session().await {
            Ok(Some(s)) => Ok((s.client()?, s)),
            Ok(None) => Err(Problem::not_logged_in(
                "not logged in (or locked): run `cofre login`",
            )),
            Err(e @ AgentError::OtherProfile { .. }) => {
                Err(Problem::of(Failure::Usage, e.to_string()))
            }
            Err(AgentError::SessionEnded) => Err(Problem::not_logged_in(
                "your session ended: run `cofre login`",
            )),
            // The session is kept: the next command tries again.
            Err(AgentError::Unreachable(why)) => Err(Problem::of(
                Failure::Unavailable,
                format!("cannot reach the server to renew the session ({why}): try again later"),
            )),
            Err(e) => {
                let _ = self.agent.lock().await;
                Err(Problem::not_logged_in(format!("{e}: run `cofre login`")))
            }
        }
    }

    /// Forgets the session (the agent zeroizes it and exits).
    pub async fn lock(&self) -> anyhow::Result<()> {
        self.agent.lock().await?;
        Ok(())
    }
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(serde_json::from_slice(&b).with_context(|| {
            format!("{} is corrupt; delete it", path.display())
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes `name` in `dir` (created 0700) through a 0600 temporary file and a rename.
pub(crate) fn write_json<T: Serialize>(dir: &Path, name: &str, value: &T) -> anyhow::Result<()> {
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

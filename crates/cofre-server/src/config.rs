//! Server settings and the data directory they point at.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where the server keeps its state and where it listens.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The data directory (created on first start, mode 0700).
    pub data_dir: PathBuf,
    /// The address to listen on. Loopback by default.
    pub listen: SocketAddr,
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

    /// True when the listening address is reachable from other machines.
    pub fn is_exposed(&self) -> bool {
        !self.listen.ip().is_loopback()
    }
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)
}

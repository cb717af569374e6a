//! Ctrl-C and SIGTERM while plaintext sits in a file of ours (a download's temporary
//! file, a note being edited): the work is raced against the signals, and on a signal
//! it is dropped, which removes the file, before the process exits with 128 + the
//! signal number (130 for SIGINT, 143 for SIGTERM).
//!
//! Listening starts before the file exists: once installed, the handlers replace the
//! default action (terminate at once), so a signal can never end the process between
//! the file's creation and its removal.

use std::future::Future;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// The work was stopped by a signal; everything it owned has been dropped.
#[derive(Debug)]
pub struct Interrupted {
    name: &'static str,
    number: i32,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "interrupted by {}: no plaintext was left behind",
            self.name
        )
    }
}

impl std::error::Error for Interrupted {}

impl Interrupted {
    /// The conventional exit status: 128 + the signal number.
    pub fn exit_code(&self) -> i32 {
        128 + self.number
    }
}

/// SIGINT and SIGTERM, listened to from creation on.
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    /// Starts listening (from now on these signals no longer end the process by
    /// themselves).
    pub fn listen() -> std::io::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Runs `work` unless a signal comes first; then `work` is dropped (with the files
    /// it owns) and the signal is returned as an error.
    pub async fn guard<F: Future>(&mut self, work: F) -> Result<F::Output, Interrupted> {
        tokio::select! {
            out = work => Ok(out),
            _ = self.interrupt.recv() => Err(Interrupted { name: "SIGINT", number: 2 }),
            _ = self.terminate.recv() => Err(Interrupted { name: "SIGTERM", number: 15 }),
        }
    }
}

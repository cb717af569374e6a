//! The audit log: an append-only, hash-chained record of security events.
//!
//! Row `n` stores `hash_n = SHA-256(prev_hash || encode(seq, at, event, actor, subject,
//! address, outcome))` in hex, where `prev_hash` is row `n-1`'s hash (64 zeros for the
//! first row) and `encode` writes each field as a 4-byte big-endian length and its UTF-8
//! bytes (length `0xFFFFFFFF` for an absent field; integers as decimal text). Editing,
//! deleting or reordering any row breaks the chain from that row on; [`verify`] finds
//! the first broken row. No secret is ever written to a row.

use tokio::sync::Mutex;

use cofre_core::primitives::digest::sha256;

use crate::store::audit::AuditRow;
use crate::store::{Store, StoreResult};

/// `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event to record.
#[derive(Clone, Debug, Default)]
pub struct Event<'a> {
    /// What happened, e.g. `login.failed`.
    pub event: &'a str,
    /// Acting user id.
    pub actor: Option<&'a str>,
    /// Concerned user id or username.
    pub subject: Option<&'a str>,
    /// Client address.
    pub address: Option<&'a str>,
    /// `ok`, `failed` or `denied`.
    pub outcome: &'a str,
}

/// Appends events. The chain head is cached in memory; appends in this process are
/// serialized by a mutex, and across processes (replicas sharing one database) by the
/// primary key on `seq`: a row is written only as the successor of the head it names,
/// so when another server appended first the insert is refused, the head is read
/// again and the row is rebuilt on top of it. The chain therefore stays one chain
/// whatever number of servers write to it.
#[derive(Debug)]
pub struct AuditLog {
    head: Mutex<(i64, String)>,
}

/// How many times [`AuditLog::record`] rebuilds a row on a newer head before giving up.
const MAX_APPEND_ATTEMPTS: usize = 64;

impl AuditLog {
    /// Loads the chain head from the store.
    pub async fn load(store: &Store) -> StoreResult<Self> {
        Ok(Self {
            head: Mutex::new(load_head(store).await?),
        })
    }

    /// Appends an event. A failure is logged and returned; callers on a request path
    /// log it and go on (the event is also in the server log).
    pub async fn record(&self, store: &Store, e: &Event<'_>, now: i64) -> StoreResult<()> {
        let mut head = self.head.lock().await;
        let mut attempt = 0;
        let row = loop {
            let mut row = AuditRow {
                seq: head.0 + 1,
                at: now,
                event: e.event.to_owned(),
                actor: e.actor.map(str::to_owned),
                subject: e.subject.map(str::to_owned),
                address: e.address.map(str::to_owned),
                outcome: e.outcome.to_owned(),
                prev_hash: head.1.clone(),
                hash: String::new(),
            };
            row.hash = row_hash(&row);
            if store.insert_audit(&row).await? {
                break row;
            }
            // Another server appended row `seq`: build on the real head.
            attempt += 1;
            if attempt >= MAX_APPEND_ATTEMPTS {
                return Err(crate::store::StoreError::Contention("audit log append"));
            }
            *head = load_head(store).await?;
        };
        tracing::info!(
            target: "cofre::audit",
            seq = row.seq,
            event = e.event,
            actor = e.actor,
            subject = e.subject,
            address = e.address,
            outcome = e.outcome,
            "audit"
        );
        *head = (row.seq, row.hash);
        Ok(())
    }
}

async fn load_head(store: &Store) -> StoreResult<(i64, String)> {
    Ok(store
        .audit_head()
        .await?
        .unwrap_or_else(|| (0, GENESIS.to_owned())))
}

/// The hash a row must carry, given its `prev_hash` and fields.
pub fn row_hash(r: &AuditRow) -> String {
    let mut buf = Vec::with_capacity(256);
    let mut field = |v: Option<&str>| match v {
        None => buf.extend_from_slice(&u32::MAX.to_be_bytes()),
        Some(s) => {
            let len = u32::try_from(s.len()).unwrap_or(u32::MAX - 1);
            buf.extend_from_slice(&len.to_be_bytes());
            buf.extend_from_slice(s.as_bytes());
        }
    };
    field(Some(&r.seq.to_string()));
    field(Some(&r.at.to_string()));
    field(Some(&r.event));
    field(r.actor.as_deref());
    field(r.subject.as_deref());
    field(r.address.as_deref());
    field(Some(&r.outcome));
    let prev = data_encoding::HEXLOWER_PERMISSIVE
        .decode(r.prev_hash.as_bytes())
        .unwrap_or_default();
    data_encoding::HEXLOWER.encode(&sha256(&[&prev, &buf]))
}

/// The result of checking the whole chain.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every row links to the previous one and carries the right hash.
    Intact {
        /// Rows checked.
        rows: i64,
    },
    /// The first row that does not verify, and why.
    Broken {
        /// Its sequence number (or the expected one, for a gap).
        seq: i64,
        /// What is wrong.
        reason: String,
    },
}

/// Checks the whole chain, reading it in pages.
pub async fn verify(store: &Store) -> StoreResult<Verdict> {
    let mut prev_hash = GENESIS.to_owned();
    let mut expected_seq = 1;
    loop {
        let page = store.audit_rows(expected_seq - 1, 1000).await?;
        if page.is_empty() {
            break;
        }
        for r in &page {
            if r.seq != expected_seq {
                return Ok(Verdict::Broken {
                    seq: expected_seq,
                    reason: format!("row {expected_seq} is missing (next is {})", r.seq),
                });
            }
            if r.prev_hash != prev_hash {
                return Ok(Verdict::Broken {
                    seq: r.seq,
                    reason: "does not link to the previous row".into(),
                });
            }
            if row_hash(r) != r.hash {
                return Ok(Verdict::Broken {
                    seq: r.seq,
                    reason: "contents do not match its hash (edited)".into(),
                });
            }
            prev_hash.clone_from(&r.hash);
            expected_seq += 1;
        }
    }
    Ok(Verdict::Intact {
        rows: expected_seq - 1,
    })
}

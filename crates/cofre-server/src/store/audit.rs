//! The audit log's rows. Chaining and verification are in [`crate::audit`].

use sqlx::Row as _;

use super::{Store, StoreResult};

/// One stored audit row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    /// Position, from 1.
    pub seq: i64,
    /// Time.
    pub at: i64,
    /// Event name.
    pub event: String,
    /// Acting user id.
    pub actor: Option<String>,
    /// Concerned user id or username.
    pub subject: Option<String>,
    /// Client address.
    pub address: Option<String>,
    /// Outcome.
    pub outcome: String,
    /// Previous row's hash (hex).
    pub prev_hash: String,
    /// This row's hash (hex).
    pub hash: String,
}

impl Store {
    /// The last row's sequence number and hash, if any.
    pub async fn audit_head(&self) -> StoreResult<Option<(i64, String)>> {
        let row = super::optional(
            sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_one(self.pool())
                .await,
        )?;
        Ok(match row {
            None => None,
            Some(r) => Some((r.try_get("seq")?, r.try_get("hash")?)),
        })
    }

    /// Appends a row. Returns `false`, writing nothing, when a row with the same `seq`
    /// exists already (another server appended first): the caller reloads the head.
    pub async fn insert_audit(&self, r: &AuditRow) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO audit_log (seq, at, event, actor, subject, address, outcome, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(r.seq)
        .bind(r.at)
        .bind(&r.event)
        .bind(r.actor.as_deref())
        .bind(r.subject.as_deref())
        .bind(r.address.as_deref())
        .bind(&r.outcome)
        .bind(&r.prev_hash)
        .bind(&r.hash)
        .execute(self.pool())
        .await;
        match done {
            Ok(_) => Ok(true),
            Err(e) if super::is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Rows after `after`, in order, at most `limit`.
    pub async fn audit_rows(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditRow>> {
        sqlx::query(
            "SELECT seq, at, event, actor, subject, address, outcome, prev_hash, hash
             FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(AuditRow {
                seq: r.try_get("seq")?,
                at: r.try_get("at")?,
                event: r.try_get("event")?,
                actor: r.try_get("actor")?,
                subject: r.try_get("subject")?,
                address: r.try_get("address")?,
                outcome: r.try_get("outcome")?,
                prev_hash: r.try_get("prev_hash")?,
                hash: r.try_get("hash")?,
            })
        })
        .collect()
    }

    /// Rows for people to read: after `after`, at or after time `since`, at most
    /// `limit`, newest first when `newest_first`, each with the usernames its actor and
    /// subject ids belong to (when the account still exists).
    pub async fn audit_listing(
        &self,
        after: i64,
        since: i64,
        limit: i64,
        newest_first: bool,
    ) -> StoreResult<Vec<AuditListing>> {
        macro_rules! listing {
            ($order:literal) => {
                concat!(
                    "SELECT a.seq, a.at, a.event, a.actor, a.subject, a.address, a.outcome,
                            a.prev_hash, a.hash, ua.username AS actor_name,
                            us.username AS subject_name
                     FROM audit_log a
                     LEFT JOIN users ua ON ua.id = a.actor
                     LEFT JOIN users us ON us.id = a.subject
                     WHERE a.seq > $1 AND a.at >= $2
                     ORDER BY a.seq ",
                    $order,
                    " LIMIT $3"
                )
            };
        }
        let sql = if newest_first {
            listing!("DESC")
        } else {
            listing!("ASC")
        };
        sqlx::query(sql)
            .bind(after)
            .bind(since)
            .bind(limit)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| {
                Ok(AuditListing {
                    row: AuditRow {
                        seq: r.try_get("seq")?,
                        at: r.try_get("at")?,
                        event: r.try_get("event")?,
                        actor: r.try_get("actor")?,
                        subject: r.try_get("subject")?,
                        address: r.try_get("address")?,
                        outcome: r.try_get("outcome")?,
                        prev_hash: r.try_get("prev_hash")?,
                        hash: r.try_get("hash")?,
                    },
                    actor_name: r.try_get("actor_name")?,
                    subject_name: r.try_get("subject_name")?,
                })
            })
            .collect()
    }
}

/// An audit row with the usernames of its actor and subject, when they are user ids of
/// existing accounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditListing {
    /// The row.
    pub row: AuditRow,
    /// The actor's username.
    pub actor_name: Option<String>,
    /// The subject's username.
    pub subject_name: Option<String>,
}

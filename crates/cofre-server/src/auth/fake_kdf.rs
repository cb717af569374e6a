//! The KDF parameters prelogin answers for a username that has no account.
//!
//! Answering the server's current default would make every account with older
//! parameters stand out (an unknown name never shows them). Instead an unknown name
//! gets one of the parameter sets existing accounts use, drawn with their frequencies
//! by a number keyed by the server secret ([`ServerSecret::fake_kdf_choice`]): the
//! same name always gets the same set (while the mix of accounts stays about the
//! same), and a set that 5% of accounts use is shown for about 5% of unknown names, so
//! the KDF fields of one answer say nothing about whether the account exists.
//!
//! The mix is read from the database at most once a minute per server process.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cofre_core::keys::KdfParams;
use cofre_core::keys::ServerSecret;

use crate::store::{Store, StoreResult};

/// How long a read of the mix is used before it is read again.
const REFRESH: Duration = Duration::from_secs(60);

/// The KDF parameter sets in use, each with how many accounts use it.
type Sets = Arc<Vec<(KdfParams, u64)>>;

/// The KDF parameter sets of existing accounts with their counts, cached.
#[derive(Debug, Default)]
pub struct KdfMix {
    cached: Mutex<Option<(Instant, Sets)>>,
}

impl KdfMix {
    /// The parameters to answer for `name`, which has no account; `default` (the
    /// server's setting) while no account exists.
    pub async fn for_unknown(
        &self,
        store: &Store,
        secret: &ServerSecret,
        name: &str,
        default: &KdfParams,
    ) -> StoreResult<KdfParams> {
        let sets = self.sets(store).await?;
        Ok(pick(&sets, secret.fake_kdf_choice(name))
            .unwrap_or(default)
            .clone())
    }

    async fn sets(&self, store: &Store) -> StoreResult<Arc<Vec<(KdfParams, u64)>>> {
        {
            let g = self
                .cached
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((at, sets)) = g.as_ref()
                && at.elapsed() < REFRESH
            {
                return Ok(Arc::clone(sets));
            }
        }
        let sets = Arc::new(merge(store.kdf_counts().await?));
        *self
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((Instant::now(), Arc::clone(&sets)));
        Ok(sets)
    }
}

/// Parses and merges the counted sets (equal parameters written differently count
/// together; unparsable ones are skipped), in a stable order (by their JSON), so that
/// small changes in the counts move few names from one set to another.
fn merge(rows: Vec<(String, i64)>) -> Vec<(KdfParams, u64)> {
    let mut sets: Vec<(KdfParams, u64)> = Vec::new();
    for (text, n) in rows {
        let (Ok(kdf), Ok(n)) = (serde_json::from_str::<KdfParams>(&text), u64::try_from(n)) else {
            continue;
        };
        match sets.iter_mut().find(|(k, _)| *k == kdf) {
            Some((_, c)) => *c += n,
            None => sets.push((kdf, n)),
        }
    }
    sets.sort_by_cached_key(|(k, _)| serde_json::to_string(k).unwrap_or_default());
    sets
}

/// The set at `choice` (a uniform 64-bit number) scaled onto the cumulative counts.
fn pick(sets: &[(KdfParams, u64)], choice: u64) -> Option<&KdfParams> {
    let total: u128 = sets.iter().map(|(_, n)| u128::from(*n)).sum();
    if total == 0 {
        return None;
    }
    let mut at = (u128::from(choice) * total) >> 64;
    for (kdf, n) in sets {
        let n = u128::from(*n);
        if at < n {
            return Some(kdf);
        }
        at -= n;
    }
    sets.last().map(|(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argon(memory_kib: u32) -> KdfParams {
        KdfParams::Argon2id {
            memory_kib,
            iterations: 3,
            parallelism: 4,
        }
    }

    #[test]
    fn picks_follow_the_counts() {
        let sets = vec![(argon(65_536), 1), (argon(262_144), 3)];
        assert_eq!(pick(&sets, 0), Some(&argon(65_536)));
        assert_eq!(pick(&sets, u64::MAX / 4 - 1), Some(&argon(65_536)));
        assert_eq!(pick(&sets, u64::MAX / 4 + 1), Some(&argon(262_144)));
        assert_eq!(pick(&sets, u64::MAX), Some(&argon(262_144)));
        assert_eq!(pick(&[], 7), None);
    }

    #[test]
    fn merge_joins_equal_sets_written_differently() {
        let rows = vec![
            (
                r#"{"alg":"argon2id","memory_kib":1024,"iterations":3,"parallelism":4}"#.into(),
                2,
            ),
            (
                r#"{"parallelism":4,"iterations":3,"memory_kib":1024,"alg":"argon2id"}"#.into(),
                3,
            ),
            ("not json".into(), 9),
        ];
        let sets = merge(rows);
        assert_eq!(sets, vec![(argon(1024), 5)]);
    }
}

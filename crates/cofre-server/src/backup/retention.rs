//! Which backups a retention policy keeps: the newest `keep_last`, plus the newest of
//! each of the last `keep_daily` days and of the last `keep_weekly` ISO weeks (Monday to
//! Sunday, UTC) that have a backup. Everything else is deleted. Times come from the
//! archive names, so the policy needs no key and opens nothing.

use std::collections::HashSet;

/// A retention policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Always keep this many newest backups (at least 1).
    pub keep_last: usize,
    /// Keep the newest backup of each of this many most recent days with backups.
    pub keep_daily: usize,
    /// Keep the newest backup of each of this many most recent weeks with backups.
    pub keep_weekly: usize,
}

/// A backup in the folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// File name.
    pub name: String,
    /// When it was made (Unix seconds, from the name).
    pub created_at: i64,
}

/// Splits `backups` into (kept, deleted) names, each newest first.
pub fn plan(backups: &[Listed], policy: &Retention) -> (Vec<String>, Vec<String>) {
    let mut sorted: Vec<&Listed> = backups.iter().collect();
    sorted.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.name.cmp(&a.name)));
    let mut days = HashSet::new();
    let mut weeks = HashSet::new();
    let (mut keep, mut delete) = (Vec::new(), Vec::new());
    for (i, b) in sorted.iter().enumerate() {
        let day = b.created_at.div_euclid(86_400);
        // 1970-01-01 was a Thursday: shifting by 3 days starts weeks on Monday.
        let week = (day + 3).div_euclid(7);
        let mut kept = i < policy.keep_last.max(1);
        if days.len() < policy.keep_daily && !days.contains(&day) {
            days.insert(day);
            kept = true;
        }
        if weeks.len() < policy.keep_weekly && !weeks.contains(&week) {
            weeks.insert(week);
            kept = true;
        }
        if kept {
            keep.push(b.name.clone());
        } else {
            delete.push(b.name.clone());
        }
    }
    (keep, delete)
}

/// Reads the creation time back from a name made by [`super::file_name`].
pub fn parse_name(name: &str) -> Option<i64> {
    let rest = name.strip_prefix("cofre-backup-")?;
    let rest = rest.strip_suffix(&format!(".{}", super::EXTENSION))?;
    let (stamp, id) = rest.split_once('-')?;
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let b = stamp.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = stamp.get(r)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some(crate::clock::days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    /// Monday 2026-11-30 00:00 UTC.
    const MONDAY: i64 = 1_795_996_800;

    fn at(t: i64) -> Listed {
        Listed {
            name: super::super::file_name(t, "0123456789abcdef"),
            created_at: t,
        }
    }

    #[test]
    fn names_round_trip() {
        for t in [0, 951_782_400, MONDAY, MONDAY + 12_345, 4_102_444_799] {
            assert_eq!(parse_name(&at(t).name), Some(t), "{t}");
        }
        assert_eq!(super::super::utc_stamp(MONDAY), "20261130T000000Z");
        for bad in [
            "cofre-backup-20261130T000000Z-0123456.cbk",
            "cofre-backup-20261330T000000Z-01234567.cbk",
            "cofre-backup-20261130T000000-01234567.cbk",
            "cofre-backup-20261130T000000Z-01234567.cbk.partial",
            "notes.txt",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }

    /// Simulates a server backing up every 6 hours for 60 days, applying the policy
    /// after each run as the scheduler does, and checks exactly what is left.
    #[test]
    fn simulated_schedule_keeps_exactly_the_policy() {
        let policy = Retention {
            keep_last: 4,
            keep_daily: 7,
            keep_weekly: 4,
        };
        let mut folder: Vec<Listed> = Vec::new();
        let start = MONDAY - 60 * DAY;
        let mut t = start;
        while t <= MONDAY + 18 * 3600 {
            folder.push(at(t));
            let (keep, delete) = plan(&folder, &policy);
            assert_eq!(keep.len() + delete.len(), folder.len());
            folder.retain(|b| keep.contains(&b.name));
            t += 6 * 3600;
        }
        let mut times: Vec<i64> = folder.iter().map(|b| b.created_at).collect();
        times.sort_unstable();
        times.reverse();
        // The last 4 runs: Monday 18:00, 12:00, 06:00, 00:00.
        let mut expected: Vec<i64> = (0..4).map(|i| MONDAY + 18 * 3600 - i * 6 * 3600).collect();
        // The newest of each of the 7 days: Monday (already kept), then Sunday back to
        // Tuesday of the previous week, each at 18:00.
        expected.extend((1..7).map(|d| MONDAY - d * DAY + 18 * 3600));
        // The newest of each of 4 weeks: this week (Monday 18:00, kept), last week
        // (Sunday 18:00, kept), then the two Sundays before.
        expected.extend([MONDAY - 8 * DAY + 18 * 3600, MONDAY - 15 * DAY + 18 * 3600]);
        expected.sort_unstable();
        expected.reverse();
        assert_eq!(times, expected);
    }

    #[test]
    fn keep_last_alone_and_minimum_of_one() {
        let folder: Vec<Listed> = (0..10).map(|i| at(MONDAY + i * 3600)).collect();
        let (keep, delete) = plan(
            &folder,
            &Retention {
                keep_last: 3,
                keep_daily: 0,
                keep_weekly: 0,
            },
        );
        assert_eq!(
            keep,
            vec![
                at(MONDAY + 9 * 3600).name,
                at(MONDAY + 8 * 3600).name,
                at(MONDAY + 7 * 3600).name
            ]
        );
        assert_eq!(delete.len(), 7);
        let (keep, _) = plan(
            &folder,
            &Retention {
                keep_last: 0,
                keep_daily: 0,
                keep_weekly: 0,
            },
        );
        assert_eq!(
            keep,
            vec![at(MONDAY + 9 * 3600).name],
            "the newest is always kept"
        );
    }
}

//! Times as scripts and people read them: RFC 3339 in UTC (`2026-01-31T08:00:00Z`)
//! out, and RFC 3339 or a plain date in.

use cofre_server::clock::{civil_from_days, days_from_civil};

/// Unix seconds as RFC 3339 in UTC, e.g. `2026-01-31T08:00:00Z`.
pub fn rfc3339(t: i64) -> String {
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn number(s: &str, digits: usize) -> Option<i64> {
    (s.len() == digits && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Parses `YYYY-MM-DD` (UTC midnight) or an RFC 3339 time
/// (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`) to Unix seconds.
pub fn parse(s: &str) -> Option<i64> {
    let s = s.trim();
    let date = s.get(..10)?;
    let y = number(date.get(..4)?, 4)?;
    let m = number(date.get(5..7)?, 2)?;
    let d = number(date.get(8..10)?, 2)?;
    if date.get(4..5)? != "-" || date.get(7..8)? != "-" || !(1..=12).contains(&m) {
        return None;
    }
    if !(1..=31).contains(&d) {
        return None;
    }
    let day = days_from_civil(y, m, d) * 86_400;
    let rest = s.get(10..)?;
    if rest.is_empty() {
        return Some(day);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let h = number(rest.get(..2)?, 2)?;
    let mi = number(rest.get(3..5)?, 2)?;
    let se = number(rest.get(6..8)?, 2)?;
    if rest.get(2..3)? != ":" || rest.get(5..6)? != ":" || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut zone = rest.get(8..)?;
    if let Some(frac) = zone.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        zone = frac.get(digits..)?;
    }
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let oh = number(zone.get(1..3)?, 2)?;
            let om = number(zone.get(4..6)?, 2)?;
            if zone.get(3..4)? != ":" || zone.len() != 6 || oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    Some(day + h * 3600 + mi * 60 + se - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_offsets() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3_661), "2000-02-29T01:01:01Z");
        assert_eq!(parse("2000-02-29T01:01:01Z"), Some(951_782_400 + 3_661));
        assert_eq!(parse("2000-02-29"), Some(951_782_400));
        assert_eq!(
            parse("2000-02-29T03:01:01.25+02:00"),
            Some(951_782_400 + 3_661)
        );
        assert_eq!(
            parse("2000-02-28T20:01:01-05:00"),
            Some(951_782_400 + 3_661)
        );
        for bad in [
            "",
            "2000-13-01",
            "2000-02-29T25:00:00Z",
            "2000-02-29T01:01:01",
            "7d",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}

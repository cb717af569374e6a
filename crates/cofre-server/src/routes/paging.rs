//! The paging convention of the list routes (docs/API.md, "Paging"): `?limit=N` in
//! `1..=1000`, and `?after=CURSOR` where the cursor is the previous page's `next`.
//! A cursor is `TIME.ID` (`TIME.ID.USERNAME` for outgoing shares): the row's time in
//! Unix seconds (an optional `-` and 1 to 18 digits) and its 32-hex-digit id. The
//! OpenAPI document declares exactly these rules ([`LIMIT_MAX`], [`CURSOR_PATTERN`]),
//! and a value outside them is `400 bad_request` rather than silently changed.

use crate::blobs::valid_key;
use crate::error::ApiError;

/// The largest page a list route answers.
pub const LIMIT_MAX: u32 = 1000;

/// The pattern of a `TIME.ID` cursor, as the OpenAPI document declares it.
pub const CURSOR_PATTERN: &str = r"^-?[0-9]{1,18}\.[0-9a-f]{32}$";

/// The pattern of a `TIME.ID.USERNAME` cursor (outgoing shares).
pub const SHARE_CURSOR_PATTERN: &str = r"^-?[0-9]{1,18}\.[0-9a-f]{32}\..*$";

/// The page size: `default` when absent, else `limit` if it is in `1..=LIMIT_MAX`.
pub fn limit(limit: Option<u32>, default: u32) -> Result<u32, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=LIMIT_MAX).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::BadRequest(format!(
            "limit must be 1..={LIMIT_MAX}, not {n}"
        ))),
    }
}

/// Parses a `TIME.ID` cursor.
pub fn cursor(c: &str) -> Result<(i64, String), ApiError> {
    let (t, id) = c.split_once('.').ok_or_else(bad_cursor)?;
    Ok((time(t)?, id_part(id)?))
}

/// Parses a `TIME.ID.USERNAME` cursor (the username is the rest, as written).
pub fn share_cursor(c: &str) -> Result<(i64, String, String), ApiError> {
    let mut parts = c.splitn(3, '.');
    let t = time(parts.next().unwrap_or_default())?;
    let id = id_part(parts.next().ok_or_else(bad_cursor)?)?;
    let who = parts.next().ok_or_else(bad_cursor)?;
    Ok((t, id, who.to_owned()))
}

fn bad_cursor() -> ApiError {
    ApiError::BadRequest("invalid cursor (send back the previous page's next)".into())
}

/// An optional `-` and 1 to 18 ASCII digits (no `+`, no spaces: what the pattern says).
fn time(t: &str) -> Result<i64, ApiError> {
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_cursor());
    }
    t.parse().map_err(|_| bad_cursor())
}

fn id_part(id: &str) -> Result<String, ApiError> {
    if valid_key(id) {
        Ok(id.to_owned())
    } else {
        Err(bad_cursor())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_the_range_are_refused_not_clamped() {
        assert_eq!(limit(None, 200).unwrap(), 200);
        assert_eq!(limit(Some(1), 200).unwrap(), 1);
        assert_eq!(limit(Some(LIMIT_MAX), 200).unwrap(), LIMIT_MAX);
        assert!(limit(Some(0), 200).is_err());
        assert!(limit(Some(LIMIT_MAX + 1), 200).is_err());
    }

    #[test]
    fn cursors_follow_the_declared_pattern_exactly() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            cursor(&format!("1764590400.{id}")).unwrap(),
            (1_764_590_400, id.into())
        );
        assert_eq!(cursor(&format!("-5.{id}")).unwrap().0, -5);
        for bad in [
            format!("+5.{id}"),
            format!(" 5.{id}"),
            format!(".{id}"),
            format!("-.{id}"),
            format!("1234567890123456789.{id}"),
            format!("5.{}", id.to_uppercase()),
            format!("5.{id}."),
            "5".to_owned(),
            String::new(),
        ] {
            assert!(cursor(&bad).is_err(), "{bad:?}");
        }
        let (t, i, who) = share_cursor(&format!("7.{id}.bob.smith")).unwrap();
        assert_eq!((t, i.as_str(), who.as_str()), (7, id, "bob.smith"));
        assert!(share_cursor(&format!("7.{id}")).is_err());
    }
}

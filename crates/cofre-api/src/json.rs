//! JSON number rules shared by request types. JSON has one number type: `84` and
//! `84.0` are the same number, and JSON Schema's `integer` admits both. Request
//! members declared as integers therefore accept a number with a zero fraction, and
//! refuse any other fraction, a negative value or one out of range (`400 bad_request`).

use serde::Deserializer;
use serde::de::{Error, Visitor};

/// Deserializes a non-negative integer written as a JSON integer or as a number with
/// a zero fraction (`84.0`), exactly representable and in `u64`'s range.
pub fn integral_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = u64;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a non-negative integer")
        }

        fn visit_u64<E: Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }

        fn visit_i64<E: Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::custom("a negative number where a size belongs"))
        }

        fn visit_f64<E: Error>(self, v: f64) -> Result<u64, E> {
            // 2^64 as f64; every integral f64 below it converts exactly.
            const LIMIT: f64 = 18_446_744_073_709_551_616.0;
            if v.is_finite() && v.fract() == 0.0 && (0.0..LIMIT).contains(&v) {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Ok(v as u64)
            } else {
                Err(E::custom(format!("{v} is not a non-negative integer")))
            }
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct N {
        #[serde(deserialize_with = "super::integral_u64")]
        n: u64,
    }

    fn n(json: &str) -> Option<u64> {
        serde_json::from_str::<N>(json).ok().map(|v| v.n)
    }

    #[test]
    fn integers_and_zero_fractions_are_read_other_numbers_refused() {
        assert_eq!(n(r#"{"n":84}"#), Some(84));
        assert_eq!(n(r#"{"n":84.0}"#), Some(84));
        assert_eq!(n(r#"{"n":8.4e1}"#), Some(84));
        assert_eq!(n(r#"{"n":18446744073709551615}"#), Some(u64::MAX));
        for bad in [
            r#"{"n":84.5}"#,
            r#"{"n":-1}"#,
            r#"{"n":-1.0}"#,
            r#"{"n":1e30}"#,
            r#"{"n":"84"}"#,
            r#"{"n":null}"#,
            r#"{"n":true}"#,
        ] {
            assert_eq!(n(bad), None, "{bad}");
        }
    }
}

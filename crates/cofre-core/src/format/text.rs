//! The text form of every binary encoding: unpadded base64url (RFC 4648 §5), used in
//! JSON. Decoding is strict: padding, whitespace and non-canonical trailing bits are
//! rejected, so one value has exactly one text form.

use crate::{Error, Result};

/// Encodes bytes as unpadded base64url.
pub fn encode(bytes: &[u8]) -> String {
    data_encoding::BASE64URL_NOPAD.encode(bytes)
}

/// Decodes unpadded base64url, rejecting anything non-canonical.
pub fn decode(what: &'static str, text: &str) -> Result<Vec<u8>> {
    data_encoding::BASE64URL_NOPAD
        .decode(text.as_bytes())
        .map_err(|_| Error::Malformed {
            what,
            reason: "not canonical unpadded base64url",
        })
}

/// Implements `to_text`, `from_text`, `Display` and serde (as a base64url string) for a
/// type with `as_bytes` and `from_bytes`.
macro_rules! impl_text_form {
    ($ty:ident) => {
        impl $ty {
            /// The unpadded base64url text form of the binary encoding.
            pub fn to_text(&self) -> String {
                $crate::format::text::encode(self.as_bytes())
            }

            /// Parses the text form (strict base64url, then the binary checks).
            pub fn from_text(text: &str) -> $crate::Result<Self> {
                Self::from_bytes(&$crate::format::text::decode(stringify!($ty), text)?)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_text())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::from_text(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use impl_text_form;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_decoding() {
        assert_eq!(decode("x", "AQI").unwrap(), vec![1, 2]);
        assert!(decode("x", "AQI=").is_err(), "padding");
        assert!(decode("x", "AQJ").is_err(), "non-canonical trailing bits");
        assert!(decode("x", "AQ I").is_err(), "whitespace");
        assert!(decode("x", "+/8").is_err(), "standard alphabet");
    }
}

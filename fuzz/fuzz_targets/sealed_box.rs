//! Sealed box decoder: parsing either accepts the exact bytes (re-encoding is the
//! identity) or fails cleanly; opening fuzz input under a fixed key and context never
//! succeeds (nobody forges the MAC) and never panics; the text form round-trips, and
//! a text form that parses is the canonical one (re-encoding gives the input back).
#![no_main]

use cofre_core::format::SealedBox;
use cofre_core::secret::SymmetricKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = SymmetricKey::from_secret_bytes(&[7u8; 64]);
    if let Ok(b) = SealedBox::from_bytes(data) {
        assert_eq!(b.as_bytes(), data);
        assert!(b.open(&key, b"fuzz").is_err(), "forged sealed box opened");
        assert_eq!(SealedBox::from_text(&b.to_text()).unwrap(), b);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(b) = SealedBox::from_text(text) {
            assert_eq!(b.to_text(), text, "text form is not canonical");
            assert!(b.open(&key, b"fuzz").is_err(), "forged sealed box opened");
        }
    }
});

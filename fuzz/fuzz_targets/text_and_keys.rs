//! Text decoders: base64url, KDF salt, recovery key, auth key, KDF parameters JSON and
//! the account keys JSON a server hands a client at login.
//! None may panic. What parses must re-encode to the input (base64url, salt, auth key;
//! the recovery key up to case, whitespace and dashes) or, for JSON, re-serialise to a
//! value that parses back equal; `KdfParams::validate` must not panic either.
#![no_main]

use cofre_core::format::text;
use cofre_core::keys::{AccountKeys, AuthKey, KdfParams, KdfSalt, RecoveryKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(bytes) = text::decode("fuzz", s) {
            assert_eq!(
                text::encode(&bytes),
                s,
                "base64url decoding is not canonical"
            );
        }
        if let Ok(salt) = KdfSalt::from_text(s) {
            assert_eq!(salt.to_text(), s);
        }
        if let Ok(k) = RecoveryKey::parse(s) {
            // Parsing ignores case, whitespace and dashes and nothing else, and base32
            // decoding checks the trailing bits: what is left is the display form.
            let shown = k.to_display();
            let typed: String = s
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .map(|c| c.to_ascii_uppercase())
                .collect();
            assert_eq!(
                shown.replace('-', ""),
                typed,
                "recovery key text not canonical"
            );
            assert_eq!(*RecoveryKey::parse(&shown).unwrap().to_display(), *shown);
        }
        if let Ok(a) = AuthKey::from_text(s) {
            assert_eq!(*a.to_text(), s);
        }
    }
    if let Ok(p) = serde_json::from_slice::<KdfParams>(data) {
        let _ = p.validate();
        let again: KdfParams = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(again, p);
    }
    if let Ok(k) = serde_json::from_slice::<AccountKeys>(data) {
        let again: AccountKeys = serde_json::from_str(&serde_json::to_string(&k).unwrap()).unwrap();
        assert_eq!(again, k);
    }
});

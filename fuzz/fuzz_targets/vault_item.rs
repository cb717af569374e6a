//! The vault decoders never panic on anything a server could send:
//! - item metadata (authentic but arbitrary JSON): what parses is valid, and survives
//!   sealing and opening again unchanged;
//! - a body fed to the part decryptor in pieces of any size with any claimed length:
//!   it succeeds only when the stream is valid, and then gives what the whole-stream
//!   decoder gives.
#![no_main]

use cofre_core::format::SealedBox;
use cofre_core::format::stream::{self, PartDecryptor};
use cofre_core::keys::ItemKey;
use cofre_core::secret::SymmetricKey;
use cofre_core::vault::{ItemMetadata, body_context, metadata_context};
use libfuzzer_sys::fuzz_target;

const ID: &str = "00112233445566778899aabbccddeeff";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let key = SymmetricKey::from_secret_bytes(&[7u8; 64]);
    if mode % 2 == 0 {
        let item = ItemKey::from_symmetric(key);
        let sealed = SealedBox::seal(item.key(), &metadata_context(ID), rest).unwrap();
        if let Ok(meta) = ItemMetadata::open(&sealed, &item, ID) {
            meta.validate().unwrap();
            let again = meta.seal(&item, ID).unwrap();
            assert_eq!(ItemMetadata::open(&again, &item, ID).unwrap(), meta);
        }
    } else {
        let piece = usize::from(mode / 2).max(1) * 97;
        let ctx = body_context(ID);
        for claimed in [rest.len() as u64, rest.len() as u64 + 1] {
            let mut d = PartDecryptor::new(&key, &ctx, claimed);
            let mut out = Vec::new();
            let mut ok = true;
            for p in rest.chunks(piece) {
                match d.push(p) {
                    Ok(plain) => out.extend_from_slice(&plain),
                    Err(_) => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok && d.finish().is_ok() {
                assert_eq!(stream::decrypt_to_vec(&key, &ctx, rest).unwrap(), out);
            }
        }
    }
});

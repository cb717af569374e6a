//! `docs/vectors/owner_copy.json` (FORMAT.md 9.12): the owner's copy of the item of
//! `vault_item.json`, sealed under the vault metadata key derived from the user key of
//! `key_hierarchy.json`, beside that item's metadata box; and the copies a reader must
//! refuse.

use serde_json::{Value, json};

use super::{
    ITEM_NAME, USER_KEY_SEED, assert_rejected, b64, context_value, fixed, hex, hkdf_nosalt, key,
    reject, s, unhex,
};
use crate::format::SealedBox;
use crate::keys::ItemKey;
use crate::owner_copy::{LABEL_VAULT_META_KEY, VaultMetaKey, owner_copy_context};
use crate::primitives::digest::sha256;
use crate::secret::SymmetricKey;
use crate::vault::{ItemKind, ItemMetadata, metadata_context};

/// The metadata of `vault_item.json`, renamed.
const RENAMED: &str = "relat\u{f3}rio abril.bin";

fn meta(name: &str) -> ItemMetadata {
    ItemMetadata {
        kind: ItemKind::File,
        name: name.into(),
        content_type: "application/octet-stream".into(),
        size: 2560,
        created: 1_764_590_400,
        modified: 1_764_594_000,
    }
}

/// Builds the file.
pub(super) fn owner_copy_file() -> Value {
    let user_key = key(USER_KEY_SEED);
    let vmk_bytes = hkdf_nosalt::<64>(user_key.expose(), LABEL_VAULT_META_KEY);
    let vmk = VaultMetaKey::derive(&user_key).expect("derive");
    assert_eq!(vmk.key().expose().as_slice(), vmk_bytes.as_slice());

    // The item of vault_item.json: same id, item key, metadata box (same IV).
    let item = ItemKey::from_symmetric(key(0xa1));
    let id = hex(&fixed::<16>(0xb1));
    let other_id = hex(&fixed::<16>(0xb2));
    let m = meta(ITEM_NAME);
    let json_text = serde_json::to_string(&m).expect("json");
    let item_box = SealedBox::seal_with_iv(
        item.key(),
        &metadata_context(&id),
        json_text.as_bytes(),
        &fixed::<16>(0xc1),
    )
    .expect("seal");

    // The specification's context, built by hand.
    let hash = sha256(&[item_box.as_bytes()]);
    let ctx = [
        &b"cofre/v1/item-meta-owner/"[..],
        id.as_bytes(),
        b"/",
        hex(&hash).as_bytes(),
    ]
    .concat();
    assert_eq!(ctx, owner_copy_context(&id, &item_box));
    let iv = fixed::<16>(0xc3);
    let copy = SealedBox::seal_with_iv(vmk.key(), &ctx, json_text.as_bytes(), &iv).expect("seal");
    assert_eq!(
        ItemMetadata::open_owner_copy(&copy, &vmk, &id, &item_box).expect("opens"),
        m
    );
    // The production writer (random IV) seals the same plaintext.
    let written = m.seal_owner_copy(&vmk, &id, &item_box).expect("seal");
    assert_eq!(
        written.open(vmk.key(), &ctx).expect("opens").expose(),
        json_text.as_bytes()
    );

    // A rename: a new item-key box, and its own owner copy.
    let renamed = meta(RENAMED);
    let renamed_json = serde_json::to_string(&renamed).expect("json");
    let renamed_box = SealedBox::seal_with_iv(
        item.key(),
        &metadata_context(&id),
        renamed_json.as_bytes(),
        &fixed::<16>(0xc4),
    )
    .expect("seal");
    let renamed_ctx = owner_copy_context(&id, &renamed_box);
    let renamed_copy = SealedBox::seal_with_iv(
        vmk.key(),
        &renamed_ctx,
        renamed_json.as_bytes(),
        &fixed::<16>(0xc5),
    )
    .expect("seal");

    let other_user = VaultMetaKey::derive(&key(0x32)).expect("derive");
    let seal = |k: &SymmetricKey, c: &[u8], p: &[u8], seed: u8| {
        SealedBox::seal_with_iv(k, c, p, &fixed::<16>(seed)).expect("seal")
    };
    let mut flipped = copy.as_bytes().to_vec();
    if let Some(last) = flipped.last_mut() {
        *last ^= 0x01;
    }
    let upper_ctx = [
        &b"cofre/v1/item-meta-owner/"[..],
        id.as_bytes(),
        b"/",
        data_encoding::HEXUPPER.encode(&hash).as_bytes(),
    ]
    .concat();
    let bad_json = r#"{"kind":"file","name":"x","content_type":"","size":0,"created":0,"modified":0,"tag":"a"}"#;
    let negative = |d: &str, err: &str, item_id: &str, item_meta: &SealedBox, owner: &[u8]| {
        reject(
            d,
            err,
            json!({
                "item_id": item_id,
                "item_metadata": hex(item_meta.as_bytes()),
                "owner_copy": hex(owner),
            }),
        )
    };
    let negatives = vec![
        negative(
            "the copy served as another item's (same metadata box, other id)",
            "decrypt",
            &other_id,
            &item_box,
            copy.as_bytes(),
        ),
        negative(
            "a stale copy: the one from before the rename, beside the renamed item's box",
            "decrypt",
            &id,
            &renamed_box,
            copy.as_bytes(),
        ),
        negative(
            "the renamed item's copy beside the old box",
            "decrypt",
            &id,
            &item_box,
            renamed_copy.as_bytes(),
        ),
        negative(
            "another account's copy of the same item (its vault metadata key)",
            "decrypt",
            &id,
            &item_box,
            seal(other_user.key(), &ctx, json_text.as_bytes(), 0xc6).as_bytes(),
        ),
        negative(
            "sealed under the user key itself, not the derived key",
            "decrypt",
            &id,
            &item_box,
            seal(&user_key, &ctx, json_text.as_bytes(), 0xc7).as_bytes(),
        ),
        negative(
            "sealed under the item key with the owner-copy context",
            "decrypt",
            &id,
            &item_box,
            seal(item.key(), &ctx, json_text.as_bytes(), 0xc8).as_bytes(),
        ),
        negative(
            "the item-key metadata box offered as the owner copy",
            "decrypt",
            &id,
            &item_box,
            item_box.as_bytes(),
        ),
        negative(
            "a context without the box hash",
            "decrypt",
            &id,
            &item_box,
            seal(
                vmk.key(),
                &[&b"cofre/v1/item-meta-owner/"[..], id.as_bytes()].concat(),
                json_text.as_bytes(),
                0xc9,
            )
            .as_bytes(),
        ),
        negative(
            "the box hash in upper-case hex",
            "decrypt",
            &id,
            &item_box,
            seal(vmk.key(), &upper_ctx, json_text.as_bytes(), 0xca).as_bytes(),
        ),
        negative(
            "the item-key context (cofre/v1/item-meta/ || id) under the vault metadata key",
            "decrypt",
            &id,
            &item_box,
            seal(
                vmk.key(),
                &metadata_context(&id),
                json_text.as_bytes(),
                0xcb,
            )
            .as_bytes(),
        ),
        negative(
            "the last tag bit flipped",
            "decrypt",
            &id,
            &item_box,
            &flipped,
        ),
        {
            let mut n = negative(
                "authentic, but the JSON has an unknown member",
                "malformed",
                &id,
                &item_box,
                seal(vmk.key(), &ctx, bad_json.as_bytes(), 0xcc).as_bytes(),
            );
            n["metadata_json"] = bad_json.into();
            n
        },
    ];

    json!({
        "description": "The owner's copy of an item's metadata (9.12): the item of vault_item.json (same id, item key and metadata box) and the user key of key_hierarchy.json. The vault metadata key is HKDF-SHA256(user key, salt = empty, info = hkdf_info, L = 64); the copy is a sealed box under it with context \"cofre/v1/item-meta-owner/\" || id || \"/\" || lowercase hex of SHA-256 of the item-key metadata box's binary encoding, over the same metadata JSON. Each negative case names the item id, the item-key metadata box the copy is served beside, and the copy; the reader holds user_key.",
        "format": "FORMAT.md 9.12",
        "user_key": hex(user_key.expose()),
        "hkdf_info": context_value(LABEL_VAULT_META_KEY),
        "vault_meta_key": hex(&vmk_bytes),
        "item_id": id,
        "item_key": hex(item.key().expose()),
        "cases": [
            {
                "description": "the item as stored",
                "metadata_json": json_text,
                "members": serde_json::to_value(&m).expect("json"),
                "item_metadata": hex(item_box.as_bytes()),
                "item_metadata_sha256": hex(&hash),
                "context": context_value(&ctx),
                "iv": hex(&iv),
                "encoding": hex(copy.as_bytes()),
                "text": b64(copy.as_bytes()),
            },
            {
                "description": "after a rename: a new item-key box and a new copy beside it",
                "metadata_json": renamed_json,
                "members": serde_json::to_value(&renamed).expect("json"),
                "item_metadata": hex(renamed_box.as_bytes()),
                "item_metadata_sha256": hex(&sha256(&[renamed_box.as_bytes()])),
                "context": context_value(&renamed_ctx),
                "iv": hex(&fixed::<16>(0xc5)),
                "encoding": hex(renamed_copy.as_bytes()),
                "text": b64(renamed_copy.as_bytes()),
            },
        ],
        "negative": negatives,
    })
}

/// Reads the file through the public API.
pub(super) fn read_owner_copy(v: &Value, vault_item: &Value) {
    let user_key = SymmetricKey::from_slice(&unhex(&v["user_key"])).expect("key");
    let vmk = VaultMetaKey::derive(&user_key).expect("derive");
    assert_eq!(vmk.key().expose().as_slice(), unhex(&v["vault_meta_key"]));
    let id = s(&v["item_id"]);
    let item =
        ItemKey::from_symmetric(SymmetricKey::from_slice(&unhex(&v["item_key"])).expect("key"));
    assert_eq!(id, s(&vault_item["item_id"]));
    assert_eq!(v["item_key"], vault_item["item_key"]);
    for (i, c) in v["cases"].as_array().expect("cases").iter().enumerate() {
        let item_box = SealedBox::from_bytes(&unhex(&c["item_metadata"])).expect("box");
        if i == 0 {
            assert_eq!(c["item_metadata"], vault_item["metadata"]["encoding"]);
        }
        let copy = SealedBox::from_text(s(&c["text"])).expect("text");
        assert_eq!(copy.as_bytes(), unhex(&c["encoding"]).as_slice());
        let m = ItemMetadata::open_owner_copy(&copy, &vmk, id, &item_box).expect("copy opens");
        // Both copies say the same.
        assert_eq!(
            m,
            ItemMetadata::open(&item_box, &item, id).expect("box opens")
        );
        assert_eq!(serde_json::to_value(&m).expect("json"), c["members"]);
        assert_eq!(
            owner_copy_context(id, &item_box),
            unhex(&c["context"]["hex"])
        );
    }
    for n in v["negative"].as_array().expect("negative") {
        let item_box = SealedBox::from_bytes(&unhex(&n["item_metadata"])).expect("box");
        let r = SealedBox::from_bytes(&unhex(&n["owner_copy"])).and_then(|copy| {
            ItemMetadata::open_owner_copy(&copy, &vmk, s(&n["item_id"]), &item_box)
        });
        assert_rejected(n, r);
    }
}

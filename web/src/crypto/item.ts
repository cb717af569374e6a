/**
 * Vault items (FORMAT.md 9.8): the three contexts bound to the item id, and the
 * metadata JSON (exactly six members, strict types, at most 8,192 bytes), parsed only
 * after its sealed box authenticated.
 */
import { type Bytes, toHex, utf8, wipe } from "./bytes";
import { reject } from "./errors";
import { I64_MAX, I64_MIN, JsonSyntaxError, U64_MAX, decodeUtf8Strict, hasExactly, isIntIn, isScalarString, parseJson } from "./json";
import { open } from "./sealed";
import { SymmetricKey, hkdfKey, sha256 } from "./symmetric";

/** The longest metadata plaintext. */
export const MAX_METADATA_LEN = 8192;
/** The metadata members, in the order cofre writes them. */
export const ITEM_MEMBERS = ["kind", "name", "content_type", "size", "created", "modified"] as const;

/** An item's metadata (9.8). */
export interface ItemMetadata {
  /** A text note or a file. */
  kind: "note" | "file";
  /** 1 to 1,024 Unicode scalar values, no control character. */
  name: string;
  /** MIME type, at most 255 bytes. */
  content_type: string;
  /** Plaintext length of the body. */
  size: bigint;
  /** Unix seconds. */
  created: bigint;
  /** Unix seconds. */
  modified: bigint;
}

/** The three contexts of an item (9.8). */
export interface ItemContexts {
  /** `"cofre/v1/item-key/" || id`. */
  key: Bytes;
  /** `"cofre/v1/item-meta/" || id`. */
  meta: Bytes;
  /** `"cofre/v1/item-body/" || id`. */
  body: Bytes;
}

/** Whether `id` is an item id: 32 lowercase hex characters. */
export function isItemId(id: string): boolean {
  return /^[0-9a-f]{32}$/.test(id);
}

/** The contexts of the item `id`. */
export function itemContexts(id: string): ItemContexts {
  if (!isItemId(id)) throw new RangeError("an item id is 32 lowercase hexadecimal characters");
  return {
    key: utf8("cofre/v1/item-key/" + id),
    meta: utf8("cofre/v1/item-meta/" + id),
    body: utf8("cofre/v1/item-body/" + id),
  };
}

/** Parses authentic metadata plaintext (9.8); any violation is *malformed*. */
export function parseItemMetadata(plain: Uint8Array): ItemMetadata {
  if (plain.length > MAX_METADATA_LEN) reject("malformed", "longer than 8,192 bytes");
  let v;
  try {
    v = parseJson(decodeUtf8Strict(plain));
  } catch (e) {
    if (e instanceof JsonSyntaxError || e instanceof TypeError) reject("malformed", `not the metadata JSON: ${String(e)}`);
    throw e;
  }
  if (!hasExactly(v, ITEM_MEMBERS)) return reject("malformed", "not exactly the members of 9.8");
  const kind = v.get("kind");
  if (kind !== "note" && kind !== "file") reject("malformed", "kind");
  const name = v.get("name");
  if (!isScalarString(name)) return reject("malformed", "name is not a string of scalar values");
  const count = [...name].length;
  if (count < 1 || count > 1024) reject("malformed", "name is not 1 to 1,024 scalar values");
  if (/\p{Cc}/u.test(name)) reject("malformed", "control character in the name");
  const contentType = v.get("content_type");
  if (!isScalarString(contentType) || utf8(contentType).length > 255) {
    return reject("malformed", "content_type is not a string of at most 255 bytes");
  }
  const size = v.get("size");
  if (!isIntIn(size, 0n, U64_MAX)) return reject("malformed", "size");
  const created = v.get("created");
  const modified = v.get("modified");
  if (!isIntIn(created, I64_MIN, I64_MAX) || !isIntIn(modified, I64_MIN, I64_MAX)) {
    return reject("malformed", "times are not 64-bit integers");
  }
  return { kind, name, content_type: contentType, size, created, modified };
}

/** The metadata as cofre writes it: the members in the order of 9.8, no white space. */
export function writeItemMetadata(m: ItemMetadata): Bytes {
  const s = JSON.stringify;
  return utf8(
    `{"kind":${s(m.kind)},"name":${s(m.name)},"content_type":${s(m.content_type)},` +
      `"size":${m.size},"created":${m.created},"modified":${m.modified}}`,
  );
}

/** Opens and parses an item's metadata box (9.8): authenticated first, then parsed. */
export async function openItemMetadata(itemKey: SymmetricKey, id: string, box: Uint8Array): Promise<ItemMetadata> {
  return parseItemMetadata(await open(itemKey, itemContexts(id).meta, box));
}

/** The HKDF info of the vault metadata key (9.12). */
export const VAULT_META_KEY_INFO = utf8("cofre/v1/vault-meta-key");

/**
 * The vault metadata key (9.12): HKDF-SHA256(user key, salt empty,
 * `"cofre/v1/vault-meta-key"`, 64 bytes), imported non-extractable. It seals the owner's
 * copies of its items' metadata, so listing needs no RSA operation.
 */
export async function vaultMetaKey(userKey: SymmetricKey): Promise<SymmetricKey> {
  const raw = await hkdfKey(userKey.hkdf, new Uint8Array(0), VAULT_META_KEY_INFO, 64);
  try {
    return await SymmetricKey.import(raw);
  } finally {
    wipe(raw);
  }
}

/**
 * The context of item `id`'s owner copy beside the metadata box `box` (its binary
 * encoding, 9.12): `"cofre/v1/item-meta-owner/" || id || "/" || hex(SHA-256(box))`.
 */
export async function ownerCopyContext(id: string, box: Bytes): Promise<Bytes> {
  if (!isItemId(id)) throw new RangeError("an item id is 32 lowercase hexadecimal characters");
  return utf8("cofre/v1/item-meta-owner/" + id + "/" + toHex(await sha256(box)));
}

/**
 * Opens the owner copy `copy` of item `id` served beside the metadata box `box`, and
 * parses its metadata (9.12). A copy of another item or account, or one made beside
 * another box (before a rename), fails as *decrypt*: the caller then falls back to the
 * item key (9.8).
 */
export async function openOwnerCopy(key: SymmetricKey, id: string, box: Bytes, copy: Bytes): Promise<ItemMetadata> {
  return parseItemMetadata(await open(key, await ownerCopyContext(id, box), copy));
}

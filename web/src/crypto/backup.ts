/**
 * Backup archives (FORMAT.md 13): the header and trailer, the signed manifest, reading
 * (13.6: every structural and signature check before any decryption, then the archive
 * key and each entry as a stream), the passphrase-protected backup key file and the
 * PEM public key (13.8).
 */
import { type Bytes, concat, copy, equalPublic, readU16be, readU32be, toHex, u32be, utf8 } from "./bytes";
import { CofreError, decryptError, reject } from "./errors";
import { FormatType, checkHeader } from "./header";
import {
  I64_MAX,
  I64_MIN,
  type JsonObject,
  type JsonValue,
  JsonSyntaxError,
  U32_MAX,
  U64_MAX,
  decodeUtf8Strict,
  hasExactly,
  isIntIn,
  isScalarString,
  parseJson,
} from "./json";
import { type KdfParams, checkKdfParams, masterKey, stretchedKey } from "./keys";
import type { Argon2idFn } from "./argon2";
import { PrivateKey, PublicKey } from "./rsa";
import { open, parseSealed } from "./sealed";
import { verify } from "./signature";
import { decryptToBytes } from "./stream";
import { SymmetricKey, sha256 } from "./symmetric";
import { base64DecodeCanonical, base64Encode, textDecode } from "./text";
import { splitRsaEnvelope, unwrap } from "./wrapped";
import { zstdDecompressOneFrame } from "./zstd";

const HEADER_FIXED_LEN = 3 + 16 + 2;
const MAX_HEADER_LEN = HEADER_FIXED_LEN + 19 + 1024;
const TRAILER_LEN = 16;
const END_MAGIC = utf8("cofrebk1");
const MAX_MANIFEST_LEN = 256 << 20;
const MAX_SIGNATURE_LEN = 3 + 16 + 1024;
/** Context prefix of the archive key (13.3). */
export const CTX_BACKUP_KEY_PREFIX = utf8("cofre/v1/backup/");
/** Context prefix of an entry (13.3). */
export const CTX_BACKUP_FILE_PREFIX = utf8("cofre/v1/backup/file/");
/** Context of the manifest signature (13.5). */
export const CTX_BACKUP_MANIFEST = utf8("cofre/v1/backup/manifest");
/** Context of the backup private key in its key file (13.8). */
export const CTX_BACKUP_PRIVATE_KEY = utf8("cofre/v1/backup-private-key");
/** The key file's `format`. */
export const BACKUP_KEY_FILE_FORMAT = "cofre-backup-key-v1";

const MANIFEST_MEMBERS = ["format", "backup_id", "created_at", "server_version", "schema_version", "signer", "counts", "files"];
const COUNTS_MEMBERS = ["users", "items", "shares"];
const FILE_MEMBERS = ["path", "size", "compression", "stored_size", "offset", "length", "sha256"];
const KEY_FILE_MEMBERS = ["format", "public_key", "kdf", "salt", "private_key"];

/** A file object of the manifest (13.4). */
export interface ManifestFile {
  /** Where the file goes, relative to the data directory. */
  path: string;
  /** Length of the restored file. */
  size: bigint;
  /** How the stored bytes were made. */
  compression: "none" | "zstd";
  /** Length of the stored bytes. */
  stored_size: bigint;
  /** Where the entry's stream starts. */
  offset: bigint;
  /** The entry's stream length. */
  length: bigint;
  /** SHA-256 of the entry's stream, lowercase hex. */
  sha256: string;
}

/** The manifest (13.4). */
export interface Manifest {
  /** 1. */
  format: bigint;
  /** Lowercase hex of the header's backup id. */
  backup_id: string;
  /** Unix seconds. */
  created_at: bigint;
  /** Free text. */
  server_version: string;
  /** The snapshot's schema version. */
  schema_version: bigint;
  /** Text form of the signing key's SPKI. */
  signer: string;
  /** Accounts, items, shares. */
  counts: { users: bigint; items: bigint; shares: bigint };
  /** Every entry, in archive order. */
  files: ManifestFile[];
}

/** Strict JSON of a text (or of UTF-8 bytes, through `text`), anything else *malformed*. */
function parseJsonOr(text: () => string, why: string): JsonValue {
  try {
    return parseJson(text());
  } catch (e) {
    if (e instanceof JsonSyntaxError || e instanceof TypeError) return reject("malformed", why);
    throw e;
  }
}

/** The header (13.2): backup id, wrapped archive key, header length. */
export function parseBackupHeader(data: Uint8Array): { backupId: Bytes; wrapped: Bytes; headerLen: number } {
  checkHeader(data, FormatType.Backup);
  if (data.length < HEADER_FIXED_LEN) reject("malformed", "truncated header");
  const w = readU16be(data, 19);
  if (data.length < HEADER_FIXED_LEN + w) reject("malformed", "truncated header");
  const wrapped = copy(data.subarray(HEADER_FIXED_LEN, HEADER_FIXED_LEN + w));
  splitRsaEnvelope(wrapped, FormatType.WrappedKey);
  return { backupId: copy(data.subarray(3, 19)), wrapped, headerLen: HEADER_FIXED_LEN + w };
}

/** The trailer (13.2): manifest and signature lengths. */
export function parseBackupTrailer(t: Uint8Array): { manifestLen: number; signatureLen: number } {
  if (t.length !== TRAILER_LEN || !equalPublic(t.subarray(8), END_MAGIC)) reject("malformed", "does not end like a backup");
  const manifestLen = readU32be(t, 0);
  const signatureLen = readU32be(t, 4);
  if (manifestLen < 1 || manifestLen > MAX_MANIFEST_LEN) reject("malformed", "manifest length");
  if (signatureLen > MAX_SIGNATURE_LEN) reject("malformed", "signature length");
  return { manifestLen, signatureLen };
}

/** The context of entry `index` (13.3). */
export function fileContext(backupId: Uint8Array, index: number, path: string): Bytes {
  return concat(CTX_BACKUP_FILE_PREFIX, backupId, u32be(index), utf8(path));
}

/** Checks a path (13.4): 1 to 255 bytes of non-empty components, neither `.` nor `..`, of `A–Z a–z 0–9 . _ -`. */
export function checkBackupPath(path: string): void {
  const len = utf8(path).length;
  if (len < 1 || len > 255) reject("malformed", "path length");
  for (const c of path.split("/")) {
    if (c === "" || c === "." || c === "..") reject("malformed", "path component");
    if (!/^[A-Za-z0-9._-]+$/.test(c)) reject("malformed", "path character");
  }
}

/** Parses and checks the manifest (13.4) against the header length and the manifest's offset. */
export function parseManifest(data: Uint8Array, backupId: Uint8Array, headerLen: number, manifestOffset: number): Manifest {
  const v = parseJsonOr(() => decodeUtf8Strict(data), "manifest is not JSON");
  if (v instanceof Map && isIntIn(v.get("format"), 0n, U32_MAX) && v.get("format") !== 1n) {
    reject("unsupported", "manifest format");
  }
  const u64 = (o: JsonObject, k: string): boolean => isIntIn(o.get(k), 0n, U64_MAX);
  const shape =
    hasExactly(v, MANIFEST_MEMBERS) &&
    isIntIn(v.get("format"), 0n, U32_MAX) &&
    isScalarString(v.get("backup_id")) &&
    isIntIn(v.get("created_at"), I64_MIN, I64_MAX) &&
    isScalarString(v.get("server_version")) &&
    isIntIn(v.get("schema_version"), I64_MIN, I64_MAX) &&
    isScalarString(v.get("signer")) &&
    hasExactly(v.get("counts"), COUNTS_MEMBERS) &&
    COUNTS_MEMBERS.every((k) => u64(v.get("counts") as JsonObject, k)) &&
    Array.isArray(v.get("files")) &&
    (v.get("files") as unknown[]).every(
      (f) =>
        hasExactly(f as JsonObject, FILE_MEMBERS) &&
        isScalarString((f as JsonObject).get("path")) &&
        ["none", "zstd"].includes((f as JsonObject).get("compression") as string) &&
        isScalarString((f as JsonObject).get("sha256")) &&
        ["size", "stored_size", "offset", "length"].every((k) => u64(f as JsonObject, k)),
    );
  if (!shape) return reject("malformed", "manifest is not JSON of the expected shape");
  const obj = v as JsonObject;
  const counts = obj.get("counts") as JsonObject;
  const m: Manifest = {
    format: obj.get("format") as bigint,
    backup_id: obj.get("backup_id") as string,
    created_at: obj.get("created_at") as bigint,
    server_version: obj.get("server_version") as string,
    schema_version: obj.get("schema_version") as bigint,
    signer: obj.get("signer") as string,
    counts: { users: counts.get("users") as bigint, items: counts.get("items") as bigint, shares: counts.get("shares") as bigint },
    files: (obj.get("files") as JsonObject[]).map((f) => ({
      path: f.get("path") as string,
      size: f.get("size") as bigint,
      compression: f.get("compression") as "none" | "zstd",
      stored_size: f.get("stored_size") as bigint,
      offset: f.get("offset") as bigint,
      length: f.get("length") as bigint,
      sha256: f.get("sha256") as string,
    })),
  };
  if (m.format !== 1n) reject("unsupported", "manifest format");
  if (m.backup_id !== toHex(backupId)) reject("malformed", "manifest names another backup id");
  let at = BigInt(headerLen);
  const seen = new Set<string>();
  for (const f of m.files) {
    checkBackupPath(f.path);
    if (seen.has(f.path)) reject("malformed", "a path twice");
    seen.add(f.path);
    if (f.offset !== at) reject("malformed", "entries are not contiguous");
    if (f.compression === "none" && f.size !== f.stored_size) reject("malformed", "uncompressed entry with two sizes");
    if (f.length < 84n) reject("malformed", "entry shorter than the shortest stream");
    if (!/^[0-9a-f]{64}$/.test(f.sha256)) reject("malformed", "sha256 is not 64 lowercase hex digits");
    at += f.length;
    if (at > U64_MAX) reject("malformed", "offsets overflow");
  }
  if (at !== BigInt(manifestOffset)) reject("malformed", "entries do not end where the manifest starts");
  const lower = m.files.map((f) => f.path.toLowerCase());
  const lowerSet = new Set(lower);
  if (lowerSet.size !== lower.length) reject("malformed", "two paths differ only in case");
  for (const p of lower) {
    for (let i = 0; i < p.length; i++) {
      if (p[i] === "/" && lowerSet.has(p.slice(0, i))) reject("malformed", "a path is both a file and a folder");
    }
  }
  return m;
}

/** What 13.6 steps 1–8 establish, with no secret. */
export interface OpenedBackup {
  /** The 16-byte backup id. */
  backupId: Bytes;
  /** The wrapped archive key. */
  wrapped: Bytes;
  /** The header's length. */
  headerLen: number;
  /** The checked manifest. */
  manifest: Manifest;
  /** The key the manifest names, which verified its signature. */
  signer: PublicKey;
}

/**
 * 13.6 steps 1–8: structure, manifest and signature, before any decryption. With
 * `pinnedSpki`, a manifest signed by another key is *bad_signature*.
 */
export async function openBackup(data: Uint8Array, pinnedSpki?: Uint8Array): Promise<OpenedBackup> {
  if (data.length < HEADER_FIXED_LEN + TRAILER_LEN) reject("malformed", "too short");
  const { backupId, wrapped, headerLen } = parseBackupHeader(data.subarray(0, MAX_HEADER_LEN));
  const { manifestLen, signatureLen } = parseBackupTrailer(data.subarray(data.length - TRAILER_LEN));
  const mo = data.length - TRAILER_LEN - signatureLen - manifestLen;
  if (mo < headerLen) reject("malformed", "too short");
  const manifestBytes = copy(data.subarray(mo, mo + manifestLen));
  const manifest = parseManifest(manifestBytes, backupId, headerLen, mo);
  const signer = await PublicKey.import(textDecode(manifest.signer));
  await verify(
    signer,
    CTX_BACKUP_MANIFEST,
    concat(data.subarray(0, headerLen), manifestBytes),
    data.subarray(mo + manifestLen, data.length - TRAILER_LEN),
  );
  if (pinnedSpki !== undefined && !equalPublic(signer.spki, pinnedSpki)) {
    reject("bad_signature", "signed by another key than the pinned one");
  }
  return { backupId, wrapped, headerLen, manifest, signer };
}

/** A restored file. */
export interface RestoredFile {
  /** Its path under the data directory. */
  path: string;
  /** Its bytes. */
  data: Bytes;
}

/**
 * Reads a whole archive (13.6): steps 1–8, then the archive key (*key_mismatch*,
 * *decrypt*), then each entry: its SHA-256 against the signed manifest
 * (*bad_signature*), its stream, sizes and decompression (*decrypt*). Returns the files
 * only if every step succeeded for every entry.
 */
export async function readBackup(data: Uint8Array, backupKey: PrivateKey, pinnedSpki?: Uint8Array): Promise<RestoredFile[]> {
  const { backupId, wrapped, manifest } = await openBackup(data, pinnedSpki);
  const raw = await unwrap(backupKey, concat(CTX_BACKUP_KEY_PREFIX, backupId), wrapped);
  const key = await SymmetricKey.import(raw);
  raw.fill(0);
  const files: RestoredFile[] = [];
  for (const [i, f] of manifest.files.entries()) {
    const entry = copy(data.subarray(Number(f.offset), Number(f.offset + f.length)));
    if (toHex(await sha256(entry)) !== f.sha256) reject("bad_signature", "entry does not match the signed manifest");
    const stored = await decryptToBytes(key, fileContext(backupId, i, f.path), entry);
    if (BigInt(stored.length) !== f.stored_size) throw decryptError();
    let restored: Bytes | null = stored;
    if (f.compression === "zstd") {
      restored = f.size > BigInt(Number.MAX_SAFE_INTEGER) ? null : zstdDecompressOneFrame(stored, Number(f.size));
    }
    if (restored === null || BigInt(restored.length) !== f.size) throw decryptError();
    files.push({ path: f.path, data: restored });
  }
  return files;
}

/** A parsed backup key file (13.8), before the passphrase. */
export interface BackupKeyFile {
  /** The KDF parameters. */
  kdf: KdfParams;
  /** The salt's text form (checked when opening). */
  saltText: string;
  /** The public key. */
  publicKey: PublicKey;
  /** The sealed PKCS#8. */
  sealed: Bytes;
}

/**
 * Parses a key file (13.8), in this order: the JSON shape (with the `kdf` object's
 * shape and the sealed box's text form and structure): *malformed*; `format`:
 * *malformed*; the public key: *malformed*, *invalid_key*; the KDF bounds: *kdf_params*.
 */
export async function parseBackupKeyFile(text: string): Promise<BackupKeyFile> {
  const v = parseJsonOr(() => text, "not a backup key file");
  if (!hasExactly(v, KEY_FILE_MEMBERS) || !["format", "public_key", "salt", "private_key"].every((k) => typeof v.get(k) === "string")) {
    return reject("malformed", "not a backup key file");
  }
  let kdf: KdfParams | null = null;
  let kdfError: CofreError | null = null;
  try {
    kdf = checkKdfParams(v.get("kdf"));
  } catch (e) {
    if (!(e instanceof CofreError)) throw e;
    if (e.cls !== "kdf_params") reject("malformed", `not a backup key file: ${e.message}`);
    kdfError = e;
  }
  let sealed: Bytes;
  try {
    sealed = textDecode(v.get("private_key") as string);
    parseSealed(sealed);
  } catch (e) {
    if (e instanceof CofreError) return reject("malformed", `not a backup key file: ${e.message}`);
    throw e;
  }
  if (v.get("format") !== BACKUP_KEY_FILE_FORMAT) reject("malformed", "unknown format");
  const publicKey = await PublicKey.import(textDecode(v.get("public_key") as string));
  if (kdfError !== null) throw kdfError;
  return { kdf: kdf!, saltText: v.get("salt") as string, publicKey, sealed };
}

/**
 * Opens a key file with its passphrase (13.8): a 16-byte salt (*malformed*), the
 * sealed box (*decrypt* for a wrong passphrase), the PKCS#8 (*invalid_key*), and its
 * public key equal to `public_key` (*invalid_key*).
 */
export async function openBackupKeyFile(text: string, passphrase: string, argon2id?: Argon2idFn): Promise<PrivateKey> {
  const file = await parseBackupKeyFile(text);
  const salt = textDecode(file.saltText);
  if (salt.length !== 16) reject("malformed", "salt is not 16 bytes");
  const mk = await masterKey(passphrase, salt, file.kdf, argon2id);
  const sk = await stretchedKey(mk);
  mk.fill(0);
  const pkcs8 = await open(sk, CTX_BACKUP_PRIVATE_KEY, file.sealed);
  const key = await PrivateKey.import(pkcs8);
  pkcs8.fill(0);
  if (!equalPublic(key.publicKey.spki, file.publicKey.spki)) reject("invalid_key", "private key does not match public_key");
  return key;
}

const PEM_BEGIN = "-----BEGIN PUBLIC KEY-----";
const PEM_END = "-----END PUBLIC KEY-----";

/** The PEM public key as cofre writes it (13.8). */
export function writePem(spki: Uint8Array): string {
  const b64 = base64Encode(spki);
  let out = PEM_BEGIN + "\n";
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + "\n";
  return out + PEM_END + "\n";
}

/** Parses a PEM public key (13.8): exact BEGIN/END lines, canonical padded base64 (*malformed*), an acceptable key (*invalid_key*). */
export function parsePem(text: string): Promise<PublicKey> {
  const body = text.trim();
  if (!body.startsWith(PEM_BEGIN) || !body.endsWith(PEM_END) || body.length < PEM_BEGIN.length + PEM_END.length) {
    reject("malformed", "not a PEM PUBLIC KEY block");
  }
  const b64 = body.slice(PEM_BEGIN.length, body.length - PEM_END.length).replace(/\s+/g, "");
  return PublicKey.import(base64DecodeCanonical(b64));
}

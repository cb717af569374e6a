/**
 * The key hierarchy (FORMAT.md 9): the password (9.1) and its KDF (9.2, Argon2id in a
 * worker or PBKDF2 through WebCrypto), the keys derived with HKDF (9.3), the recovery
 * key (9.5) and the account's keys (9.6), unlocked with the password or the recovery key.
 */
import { type Argon2idFn, argon2idInWorker } from "./argon2";
import { type Bytes, concat, copy, equalPublic, utf8, wipe } from "./bytes";
import { CofreError, reject } from "./errors";
import { type JsonObject, type JsonValue, JsonSyntaxError, U32_MAX, hasExactly, isIntIn, parseJson } from "./json";
import { PrivateKey, PublicKey } from "./rsa";
import { open, parseSealed } from "./sealed";
import { SymmetricKey, hkdf } from "./symmetric";
import { base32DecodeStrict, base32Encode, textDecode } from "./text";

/** Contexts of FORMAT.md 9.4. */
export const CTX_USER_KEY_PASSWORD = utf8("cofre/v1/user-key/password");
/** Contexts of FORMAT.md 9.4. */
export const CTX_USER_KEY_RECOVERY = utf8("cofre/v1/user-key/recovery");
/** Contexts of FORMAT.md 9.4. */
export const CTX_PRIVATE_KEY = utf8("cofre/v1/private-key");

/** KDF parameters (9.2), checked against the bounds. */
export type KdfParams =
  | { alg: "argon2id"; memoryKib: number; iterations: number; parallelism: number }
  | { alg: "pbkdf2_sha256"; iterations: number };

const KDF_MEMBERS: Record<string, readonly string[]> = {
  argon2id: ["alg", "memory_kib", "iterations", "parallelism"],
  pbkdf2_sha256: ["alg", "iterations"],
};

/** The password's bytes (9.1): NFC, then UTF-8; nothing else. */
export function passwordBytes(password: string): Bytes {
  return utf8(password.normalize("NFC"));
}

/** Checks a parsed KDF object (9.2): its shape (*json*), then its bounds (*kdf_params*). */
export function checkKdfParams(v: JsonValue | undefined): KdfParams {
  const alg = v instanceof Map ? v.get("alg") : undefined;
  if (typeof alg !== "string" || !Object.hasOwn(KDF_MEMBERS, alg)) reject("json", "alg");
  const members = KDF_MEMBERS[alg]!;
  if (!hasExactly(v, members)) return reject("json", "members");
  const n = (name: string): number => {
    const x = v.get(name);
    if (!isIntIn(x, 0n, U32_MAX)) reject("json", `${name} is not a 32-bit unsigned integer`);
    return Number(x);
  };
  if (alg === "argon2id") {
    const memoryKib = n("memory_kib");
    const iterations = n("iterations");
    const parallelism = n("parallelism");
    if (memoryKib < 19456 || memoryKib > 2097152) reject("kdf_params", "memory_kib");
    if (iterations < 2 || iterations > 64) reject("kdf_params", "iterations");
    if (parallelism < 1 || parallelism > 16) reject("kdf_params", "parallelism");
    return { alg, memoryKib, iterations, parallelism };
  }
  const iterations = n("iterations");
  if (iterations < 600000 || iterations > 20000000) reject("kdf_params", "iterations");
  return { alg: "pbkdf2_sha256", iterations };
}

/** Parses KDF parameters JSON (9.2): not JSON, a duplicate or a fraction is *json*. */
export function parseKdfParams(text: string): KdfParams {
  return checkKdfParams(parseJsonAs(text, "json"));
}

/** Parses strict JSON, reporting any syntax error as `cls`. */
export function parseJsonAs(text: string, cls: "json" | "malformed"): JsonValue {
  try {
    return parseJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) reject(cls, e.message);
    throw e;
  }
}

/** The master key (9.2): 32 bytes from the password, salt and checked parameters. */
export async function masterKey(
  password: string,
  salt: Bytes,
  params: KdfParams,
  argon2id: Argon2idFn = argon2idInWorker,
): Promise<Bytes> {
  const pw = passwordBytes(password);
  try {
    if (params.alg === "argon2id") {
      return await argon2id({
        password: copy(pw),
        salt,
        memoryKib: params.memoryKib,
        iterations: params.iterations,
        parallelism: params.parallelism,
      });
    }
    const key = await crypto.subtle.importKey("raw", pw, "PBKDF2", false, ["deriveBits"]);
    const bits = await crypto.subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt, iterations: params.iterations },
      key,
      256,
    );
    return new Uint8Array(bits);
  } finally {
    wipe(pw);
  }
}

const EMPTY = new Uint8Array(0);

/** The auth key (9.3): HKDF(master, "", "cofre/v1/auth", 32). */
export function authKey(master: Bytes): Promise<Bytes> {
  return hkdf(master, EMPTY, utf8("cofre/v1/auth"), 32);
}

/** The stretched key's 64 bytes (9.3): two separate 32-byte expansions. */
export async function stretchedKeyBytes(master: Bytes): Promise<Bytes> {
  const [enc, mac] = await Promise.all([
    hkdf(master, EMPTY, utf8("cofre/v1/enc"), 32),
    hkdf(master, EMPTY, utf8("cofre/v1/mac"), 32),
  ]);
  return concat(enc, mac);
}

/** The stretched key as a symmetric key. */
export async function stretchedKey(master: Bytes): Promise<SymmetricKey> {
  const raw = await stretchedKeyBytes(master);
  try {
    return await SymmetricKey.import(raw);
  } finally {
    wipe(raw);
  }
}

// --- 9.5 Recovery key -----------------------------------------------------------------

/** The recovery key's display form: base32, 13 groups of 4 joined by '-'. */
export function recoveryDisplay(raw: Uint8Array): string {
  const text = base32Encode(raw);
  const groups: string[] = [];
  for (let i = 0; i < text.length; i += 4) groups.push(text.slice(i, i + 4));
  return groups.join("-");
}

const WHITE_SPACE = /[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/gu;

/** Parses a typed recovery key (9.5); anything but 32 bytes in strict base32 is *invalid_key*. */
export function parseRecovery(typed: string): Bytes {
  const cleaned = typed.replace(/-/g, "").replace(WHITE_SPACE, "").replace(/[a-z]/g, (c) => c.toUpperCase());
  if (cleaned.length !== 52) reject("invalid_key", "not 52 base32 characters");
  const raw = base32DecodeStrict(cleaned);
  if (raw === null || raw.length !== 32) return reject("invalid_key", "not a recovery key");
  return raw;
}

/** The recovery wrapping key's 64 bytes (9.5). */
export function recoveryWrappingKeyBytes(raw: Bytes): Promise<Bytes> {
  return hkdf(raw, EMPTY, utf8("cofre/v1/recovery"), 64);
}

/** The recovery wrapping key as a symmetric key. */
export async function recoveryWrappingKey(raw: Bytes): Promise<SymmetricKey> {
  const bytes = await recoveryWrappingKeyBytes(raw);
  try {
    return await SymmetricKey.import(bytes);
  } finally {
    wipe(bytes);
  }
}

/** The recovery auth key (9.5). */
export function recoveryAuthKey(raw: Bytes): Promise<Bytes> {
  return hkdf(raw, EMPTY, utf8("cofre/v1/recovery-auth"), 32);
}

// --- 9.6 The account's keys -----------------------------------------------------------

/** The account JSON of 9.6, parsed and checked (no secret needed). */
export interface AccountKeys {
  /** The KDF parameters, within bounds. */
  kdf: KdfParams;
  /** The 16-byte salt. */
  salt: Bytes;
  /** Sealed box: the user key under the stretched key. */
  protectedUserKey: Bytes;
  /** Sealed box: the user key under the recovery wrapping key. */
  recoveryUserKey: Bytes;
  /** The account's public key. */
  publicKey: PublicKey;
  /** Sealed box: the PKCS#8 private key under the user key. */
  protectedPrivateKey: Bytes;
}

const ACCOUNT_MEMBERS = [
  "kdf",
  "salt",
  "protected_user_key",
  "recovery_user_key",
  "public_key",
  "protected_private_key",
] as const;

/**
 * Parses the account JSON (9.6): every member required (*json*), unknown members
 * ignored, strict text forms (*malformed*), a 16-byte salt, sealed boxes that parse,
 * an acceptable public key (*invalid_key*), KDF parameters in bounds.
 */
export async function parseAccount(text: string): Promise<AccountKeys> {
  const v = parseJsonAs(text, "json");
  if (!(v instanceof Map) || !ACCOUNT_MEMBERS.every((m) => v.has(m))) reject("json", "account members");
  const obj = v as JsonObject;
  const s = (name: string): string => {
    const x = obj.get(name);
    if (typeof x !== "string") reject("json", `${name} is not a string`);
    return x;
  };
  const kdf = checkKdfParams(obj.get("kdf"));
  const salt = textDecode(s("salt"));
  if (salt.length !== 16) reject("malformed", "salt is not 16 bytes");
  const boxes = ["protected_user_key", "recovery_user_key", "protected_private_key"].map((n) => {
    const b = textDecode(s(n));
    parseSealed(b);
    return b;
  });
  const publicKey = await PublicKey.import(textDecode(s("public_key")));
  return {
    kdf,
    salt,
    protectedUserKey: boxes[0]!,
    recoveryUserKey: boxes[1]!,
    protectedPrivateKey: boxes[2]!,
    publicKey,
  };
}

/** What unlocking gives: the user key and the account's private key (non-extractable). */
export interface Unlocked {
  /** The user key. */
  userKey: SymmetricKey;
  /** The RSA private key, whose public key equals the account's `public_key`. */
  privateKey: PrivateKey;
}

/**
 * Unlocks (9.6) with the stretched key (`"password"`) or the recovery wrapping key
 * (`"recovery"`): opens the user key (*decrypt* for a wrong password), then the
 * private key, and checks its public key against `public_key` (*invalid_key*: a server
 * that swapped the public key is caught).
 */
export async function unlock(account: AccountKeys, via: "password" | "recovery", wrappingKey: SymmetricKey): Promise<Unlocked> {
  const box = via === "password" ? account.protectedUserKey : account.recoveryUserKey;
  const context = via === "password" ? CTX_USER_KEY_PASSWORD : CTX_USER_KEY_RECOVERY;
  const raw = await open(wrappingKey, context, box);
  if (raw.length !== 64) reject("invalid_key", "the user key is not 64 bytes");
  const userKey = await SymmetricKey.import(raw);
  wipe(raw);
  const pkcs8 = await open(userKey, CTX_PRIVATE_KEY, account.protectedPrivateKey);
  let privateKey: PrivateKey;
  try {
    privateKey = await PrivateKey.import(pkcs8);
  } finally {
    wipe(pkcs8);
  }
  if (!equalPublic(privateKey.publicKey.spki, account.publicKey.spki)) {
    throw new CofreError("invalid_key", "the private key does not match public_key");
  }
  return { userKey, privateKey };
}

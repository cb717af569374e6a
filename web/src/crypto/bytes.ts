/**
 * Byte-string helpers used by every format module (FORMAT.md section 1): concatenation,
 * big-endian integers, hex and UTF-8. Nothing here is a cryptographic primitive, and
 * nothing here compares secrets (MAC tags are verified by WebCrypto, `crypto.subtle.verify`).
 */

/** A byte string backed by a plain ArrayBuffer (what WebCrypto accepts as `BufferSource`). */
export type Bytes = Uint8Array<ArrayBuffer>;

/** `a || b || …` (FORMAT.md 1). */
export function concat(...parts: Uint8Array[]): Bytes {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `u32be(n)`: `n` as 4 big-endian bytes; `n` must be in `0..=2^32−1`. */
export function u32be(n: number): Bytes {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError("u32be: out of range");
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/** `u64be(n)`: `n` as 8 big-endian bytes. */
export function u64be(n: number | bigint): Bytes {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), false);
  return out;
}

/** Reads a big-endian unsigned integer of 2 or 4 bytes at `at`. */
export function readU16be(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(at, false);
}

/** Reads a big-endian `u32` at `at`. */
export function readU32be(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, false);
}

/** A copy of `b` in a fresh buffer of its own (so it is a `Bytes`). */
export function copy(b: Uint8Array): Bytes {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

/**
 * Equality of two **public** byte strings (key ids, SPKI bytes, header fields).
 * Not constant-time: never use it for MAC tags or other secrets.
 */
export function equalPublic(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lowercase hex of `b`. */
export function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** Bytes of a lowercase or uppercase hex string (even length, hex digits only). */
export function fromHex(s: string): Bytes {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new TypeError("not hex");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** UTF-8 bytes of `s` (FORMAT.md 1: strings in quotes are their ASCII/UTF-8 bytes). */
export function utf8(s: string): Bytes {
  return new TextEncoder().encode(s);
}

/** `count` bytes from `crypto.getRandomValues`. */
export function randomBytes(count: number): Bytes {
  const out = new Uint8Array(count);
  crypto.getRandomValues(out);
  return out;
}

/** Overwrites `b` with zeros (a best effort: JavaScript may hold other copies). */
export function wipe(b: Uint8Array): void {
  b.fill(0);
}

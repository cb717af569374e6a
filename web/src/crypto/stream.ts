/**
 * Stream (FORMAT.md 8): the STREAM construction over AES-256-CBC and HMAC-SHA256 with
 * per-stream keys from HKDF. The reader follows 8.5 with one chunk of look-ahead and
 * releases each chunk's plaintext only after its own tag verified (8.7); the writer
 * keeps one piece of look-ahead (8.4), so neither needs the total length. Up to eight
 * chunks are in WebCrypto at once (they are independent given their index and flag,
 * 8.4), released in order, so memory stays at a few chunks whatever the size.
 */
import { type Bytes, concat, randomBytes, u64be, utf8, wipe } from "./bytes";
import { decryptError, reject } from "./errors";
import { FormatType, checkHeader, header } from "./header";
import {
  type SymmetricKey,
  cbcDecrypt,
  cbcEncrypt,
  hkdfKey,
  hmacSign,
  hmacVerify,
  importAesKey,
  importHmacKey,
} from "./symmetric";

/** The stream header's length (8.1). */
export const STREAM_HEADER_LEN = 20;
/** The chunk-size exponent writers use (64 KiB chunks). */
export const DEFAULT_LOG2C = 16;
/** Accepted chunk-size exponents (8.1). */
export const MIN_LOG2C = 10;
/** Accepted chunk-size exponents (8.1). */
export const MAX_LOG2C = 20;
const LABEL = utf8("cofre-stream-v1");

/** The 20-byte header of 8.1. */
export function streamHeader(log2c: number, nonce: Uint8Array): Bytes {
  if (nonce.length !== 16) throw new RangeError("the nonce is 16 bytes");
  return concat(header(FormatType.Stream), new Uint8Array([log2c]), nonce);
}

/** The HKDF `info` of 8.2: `"cofre-stream-v1" || header || context`. */
export function streamInfo(hdr: Uint8Array, context: Uint8Array): Bytes {
  return concat(LABEL, hdr, context);
}

/** The 64 bytes `enc_key || mac_key` of 8.2 (exposed for the test vectors). */
export function streamKeyBytes(key: SymmetricKey, hdr: Bytes, context: Uint8Array): Promise<Bytes> {
  return hkdfKey(key.hkdf, hdr.slice(4, 20), streamInfo(hdr, context), 64);
}

/** The stream's keys as non-extractable CryptoKeys. */
interface StreamKeys {
  enc: CryptoKey;
  mac: CryptoKey;
}

async function streamKeys(key: SymmetricKey, hdr: Bytes, context: Uint8Array): Promise<StreamKeys> {
  const okm = await streamKeyBytes(key, hdr, context);
  try {
    const [enc, mac] = await Promise.all([importAesKey(okm.slice(0, 32)), importHmacKey(okm.slice(32, 64))]);
    return { enc, mac };
  } finally {
    wipe(okm);
  }
}

function macInput(index: number, last: boolean, iv: Uint8Array, ciphertext: Uint8Array): Bytes {
  return concat(u64be(index), new Uint8Array([last ? 1 : 0]), iv, ciphertext);
}

/** Where a stream function reads bytes from: pieces of any size, in order. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

function syncToAsync(it: Iterator<Uint8Array>): AsyncIterator<Uint8Array> {
  return { next: () => Promise.resolve(it.next()) };
}

/** Reads a source of byte pieces in requested sizes, with a look-ahead test for its end. */
class ByteReader {
  private readonly pieces: Uint8Array[] = [];
  private buffered = 0;
  private ended = false;
  private readonly source: AsyncIterator<Uint8Array>;

  constructor(source: ByteSource) {
    this.source = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : syncToAsync(source[Symbol.iterator]());
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.source.next();
    if (r.done === true) {
      this.ended = true;
      return false;
    }
    if (r.value.length > 0) {
      this.pieces.push(r.value);
      this.buffered += r.value.length;
    }
    return true;
  }

  /** Up to `n` bytes, fewer only at the end of the input. */
  async readUpTo(n: number): Promise<Bytes> {
    while (this.buffered < n && (await this.pull())) {
      // keep pulling
    }
    const take = Math.min(n, this.buffered);
    const out = new Uint8Array(take);
    let at = 0;
    while (at < take) {
      const p = this.pieces[0]!;
      const k = Math.min(p.length, take - at);
      out.set(p.subarray(0, k), at);
      at += k;
      if (k === p.length) this.pieces.shift();
      else this.pieces[0] = p.subarray(k);
    }
    this.buffered -= take;
    return out;
  }

  /** Whether the input has no byte left (pulls until it knows). */
  async atEnd(): Promise<boolean> {
    while (this.buffered === 0) {
      if (!(await this.pull())) return true;
    }
    return false;
  }
}

/** Options of {@link encryptStream}; the defaults are what writers use (random nonce and IVs, `log2C` 16). */
export interface StreamWriteOptions {
  /** Chunk-size exponent, 10..=20. */
  log2c?: number;
  /** The 16-byte nonce (random unless given: only the test vectors give it). */
  nonce?: Bytes;
  /** Supplies each chunk's 16-byte IV (random unless given). */
  iv?: () => Bytes;
}

/**
 * Encrypts a source of plaintext pieces as a stream (8.4): yields the header, then each
 * chunk. The last chunk is recognised with one piece of look-ahead; an empty input
 * gives one empty last chunk.
 */
export async function* encryptStream(
  key: SymmetricKey,
  context: Uint8Array,
  source: ByteSource,
  options: StreamWriteOptions = {},
): AsyncGenerator<Bytes> {
  const log2c = options.log2c ?? DEFAULT_LOG2C;
  if (!Number.isInteger(log2c) || log2c < MIN_LOG2C || log2c > MAX_LOG2C) throw new RangeError("log2C is 10..=20");
  const hdr = streamHeader(log2c, options.nonce ?? randomBytes(16));
  const keys = await streamKeys(key, hdr, context);
  const size = 2 ** log2c;
  const reader = new ByteReader(source);
  yield hdr;
  const inflight: Promise<Bytes>[] = [];
  for (let index = 0; ; index++) {
    const piece = await reader.readUpTo(size);
    const last = piece.length < size || (await reader.atEnd());
    const iv = options.iv ? options.iv() : randomBytes(16);
    const sealed = sealChunk(keys, index, last, iv, piece);
    sealed.catch(() => undefined); // awaited below, in order
    inflight.push(sealed);
    while (inflight.length >= (last ? 1 : IN_FLIGHT)) yield await inflight.shift()!;
    if (last) return;
  }
}

/** Chunks encrypted or decrypted at the same time (WebCrypto runs them off the main thread). */
const IN_FLIGHT = 8;

async function sealChunk(keys: StreamKeys, index: number, last: boolean, iv: Bytes, piece: Bytes): Promise<Bytes> {
  const ciphertext = await cbcEncrypt(keys.enc, iv, piece);
  wipe(piece);
  const tag = await hmacSign(keys.mac, macInput(index, last, iv, ciphertext));
  return concat(iv, ciphertext, tag);
}

/** Verifies and decrypts chunk `index` (8.5 steps 5–6); any failure is the one *decrypt* error. */
async function openChunk(keys: StreamKeys, index: number, last: boolean, chunk: Bytes, size: number): Promise<Bytes> {
  const iv = chunk.slice(0, 16);
  const ciphertext = chunk.slice(16, chunk.length - 32);
  const tag = chunk.slice(chunk.length - 32);
  if (!(await hmacVerify(keys.mac, tag, macInput(index, last, iv, ciphertext)))) throw decryptError();
  const plain = await cbcDecrypt(keys.enc, iv, ciphertext);
  if (plain === null) throw decryptError();
  const plainOk = last ? plain.length <= size && (plain.length >= 1 || index === 0) : plain.length === size;
  if (!plainOk) throw decryptError();
  return plain;
}

/**
 * Decrypts a stream (8.5), yielding each chunk's plaintext only after its tag
 * verified. The stream is authentic only if the generator ends without an error: a
 * caller that writes plaintext out as it goes must discard it on error (8.7). A
 * header shorter than 20 bytes and every failure after the header check are *decrypt*;
 * a wrong type, version, algorithm or `log2C` is *unsupported*.
 */
export async function* decryptStream(
  key: SymmetricKey,
  context: Uint8Array,
  source: ByteSource,
): AsyncGenerator<Bytes> {
  const reader = new ByteReader(source);
  const hdr = await reader.readUpTo(STREAM_HEADER_LEN);
  if (hdr.length < STREAM_HEADER_LEN) throw decryptError();
  checkHeader(hdr, FormatType.Stream);
  const log2c = hdr[3]!;
  if (log2c < MIN_LOG2C || log2c > MAX_LOG2C) reject("unsupported", "chunk size exponent");
  const keys = await streamKeys(key, hdr, context);
  const size = 2 ** log2c;
  // Up to IN_FLIGHT chunks are checked at once; they are released in order, each only
  // once its own tag verified, and nothing is released after a failure.
  const inflight: Promise<Bytes>[] = [];
  for (let index = 0; ; index++) {
    const chunk = await reader.readUpTo(size + 64);
    const last = chunk.length < size + 64 || (await reader.atEnd());
    const lengthOk = last ? chunk.length >= 64 && chunk.length <= size + 64 : chunk.length === size + 64;
    if (!lengthOk || (chunk.length - 32) % 16 !== 0) throw decryptError();
    const opened = openChunk(keys, index, last, chunk, size);
    opened.catch(() => undefined); // awaited below, in order; never an unhandled rejection
    inflight.push(opened);
    while (inflight.length >= (last ? 1 : IN_FLIGHT)) yield await inflight.shift()!;
    if (last) return;
  }
}

/** The pieces of a byte string, at most `pieceLen` bytes each (a source for the stream functions). */
export async function* piecesOf(data: Uint8Array, pieceLen = 1 << 20): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += pieceLen) yield data.subarray(at, at + pieceLen);
}

/** A `ReadableStream` as an async iterable of its pieces. */
export async function* piecesOfReadable(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * A `ReadableStream` of the authenticated plaintext of a stream read from `input`:
 * it errors (with the {@link CofreError}) at the first chunk that fails, after having
 * delivered only chunks whose tags verified (8.7).
 */
export function decryptingReadable(
  key: SymmetricKey,
  context: Uint8Array,
  input: ReadableStream<Uint8Array>,
): ReadableStream<Bytes> {
  const chunks = decryptStream(key, context, piecesOfReadable(input));
  return new ReadableStream<Bytes>({
    async pull(controller) {
      const r = await chunks.next();
      if (r.done === true) controller.close();
      else controller.enqueue(r.value);
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}

/** Concatenates the pieces of a generator of byte strings. */
export async function collect(pieces: AsyncIterable<Uint8Array>): Promise<Bytes> {
  const all: Uint8Array[] = [];
  for await (const p of pieces) all.push(p);
  return concat(...all);
}

/** Decrypts a whole stream held in memory; returns nothing unless the whole stream is authentic. */
export function decryptToBytes(key: SymmetricKey, context: Uint8Array, data: Uint8Array): Promise<Bytes> {
  return collect(decryptStream(key, context, piecesOf(data)));
}

/** Encrypts a byte string held in memory as one stream. */
export function encryptToBytes(
  key: SymmetricKey,
  context: Uint8Array,
  plaintext: Uint8Array,
  options: StreamWriteOptions = {},
): Promise<Bytes> {
  return collect(encryptStream(key, context, piecesOf(plaintext), options));
}

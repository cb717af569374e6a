/**
 * Argon2id (RFC 9106, FORMAT.md 9.2) for the password KDF: WebCrypto has no Argon2, so
 * it comes from `hash-wasm`'s WebAssembly build, run in a dedicated Web Worker
 * (`argon2-worker.ts`, built as `argon2-worker.js` beside the page's script) so that
 * the page never freezes during a derivation of hundreds of MiB. One worker per
 * derivation, ended afterwards, so its memory is given back.
 */
import type { Bytes } from "./bytes";

/** The inputs of one Argon2id derivation (tag length 32, no secret, no associated data). */
export interface Argon2idInput {
  /** The password bytes (FORMAT.md 9.1). */
  password: Bytes;
  /** The 16-byte salt. */
  salt: Bytes;
  /** `m`, in KiB. */
  memoryKib: number;
  /** `t`. */
  iterations: number;
  /** `p`. */
  parallelism: number;
}

/** A function that derives the 32-byte Argon2id tag. */
export type Argon2idFn = (input: Argon2idInput) => Promise<Bytes>;

/** The message the worker answers with. */
export type Argon2WorkerReply = { ok: true; tag: Uint8Array } | { ok: false; error: string };

let workerUrl: URL | string = new URL("./argon2-worker.js", import.meta.url);

/** Sets where the worker script is served (default: `argon2-worker.js` beside this bundle). */
export function setArgon2WorkerUrl(url: URL | string): void {
  workerUrl = url;
}

/** Argon2id in a Web Worker. */
export const argon2idInWorker: Argon2idFn = (input) =>
  new Promise<Bytes>((resolve, rejectPromise) => {
    const worker = new Worker(workerUrl, { type: "module", name: "cofre-argon2id" });
    const done = (): void => worker.terminate();
    worker.onmessage = (ev: MessageEvent<Argon2WorkerReply>) => {
      done();
      const reply = ev.data;
      if (reply.ok) resolve(new Uint8Array(reply.tag));
      else rejectPromise(new Error(`Argon2id failed: ${reply.error}`));
    };
    worker.onerror = (ev: ErrorEvent) => {
      done();
      rejectPromise(new Error(`Argon2id worker failed: ${ev.message}`));
    };
    worker.postMessage(input);
  });

/**
 * The Web Worker that runs Argon2id (hash-wasm's WebAssembly) for `argon2.ts`: one
 * request, one reply.
 */
import { argon2id } from "hash-wasm";
import type { Argon2WorkerReply, Argon2idInput } from "./argon2";

interface WorkerScope {
  onmessage: ((ev: MessageEvent<Argon2idInput>) => void) | null;
  postMessage(message: Argon2WorkerReply): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (ev) => {
  const { password, salt, memoryKib, iterations, parallelism } = ev.data;
  argon2id({ password, salt, memorySize: memoryKib, iterations, parallelism, hashLength: 32, outputType: "binary" }).then(
    (tag) => {
      password.fill(0);
      scope.postMessage({ ok: true, tag });
    },
    (e: unknown) => scope.postMessage({ ok: false, error: String(e) }),
  );
};

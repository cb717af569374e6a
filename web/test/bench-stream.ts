/**
 * The browser-side stream benchmark page (not part of CI): encrypts and decrypts
 * `?mib=N` MiB (default 64) of random bytes as one FORMAT.md 8 stream with
 * `log2C` = 16, through the same `encryptStream`/`decryptStream` the web vault uses,
 * `?rounds=R` times, checks the round trip byte for byte, and publishes MB/s as
 * `window.__cofreBench` (scripts/bench-web-stream.sh drives it).
 */
import * as c from "../src/crypto/index";

interface Round {
  encryptSeconds: number;
  decryptSeconds: number;
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const mib = Number(params.get("mib") ?? "64");
  const rounds = Number(params.get("rounds") ?? "3");
  const size = mib * 1024 * 1024;
  const plain = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(plain.subarray(at, at + 65536));
  const key = await c.SymmetricKey.import(c.randomBytes(64));
  const ctx = c.utf8("cofre/v1/item-body/00000000000000000000000000000000");
  const results: Round[] = [];
  let ok = true;
  for (let r = 0; r < rounds; r++) {
    let t0 = performance.now();
    const pieces: Uint8Array[] = [];
    for await (const p of c.encryptStream(key, ctx, c.piecesOf(plain, 1 << 20))) pieces.push(p);
    const encryptSeconds = (performance.now() - t0) / 1000;
    t0 = performance.now();
    let at = 0;
    for await (const p of c.decryptStream(key, ctx, pieces)) {
      for (let i = 0; i < p.length; i += 4096) {
        if (p[i] !== plain[at + i]) ok = false;
      }
      if (p.length > 0 && p[p.length - 1] !== plain[at + p.length - 1]) ok = false;
      at += p.length;
    }
    const decryptSeconds = (performance.now() - t0) / 1000;
    if (at !== size) ok = false;
    results.push({ encryptSeconds, decryptSeconds });
    const line = document.createElement("p");
    line.textContent = `round ${r + 1}: encrypt ${(size / 1e6 / encryptSeconds).toFixed(1)} MB/s, decrypt ${(size / 1e6 / decryptSeconds).toFixed(1)} MB/s`;
    document.body.append(line);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const enc = median(results.map((x) => x.encryptSeconds));
  const dec = median(results.map((x) => x.decryptSeconds));
  (window as unknown as { __cofreBench: unknown }).__cofreBench = {
    done: true,
    passed: ok ? 1 : 0,
    failed: ok ? 0 : 1,
    results: ok ? [] : [{ file: "bench", group: "round trip", name: "decrypted bytes differ", ok: false, error: "mismatch" }],
    mib,
    rounds: results,
    encryptMBps: size / 1e6 / enc,
    decryptMBps: size / 1e6 / dec,
    userAgent: navigator.userAgent,
  };
}

void main();

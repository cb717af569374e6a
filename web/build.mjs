// Builds the web vault's bundles with esbuild: the same sources give the same bytes
// (no timestamps, no absolute paths, no source maps), and the SHA-256 of every output
// file is printed and written to SHA256SUMS beside them.
//
//   node build.mjs [--outdir DIR]      (default: dist)
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const at = args.indexOf("--outdir");
const outdir = resolve(at >= 0 ? args[at + 1] : join(here, "dist"));

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

await esbuild.build({
  absWorkingDir: here,
  entryPoints: {
    "cofre-crypto": "src/crypto/index.ts",
    "argon2-worker": "src/crypto/argon2-worker.ts",
    "vectors-test": "test/vectors.ts",
    "bench-stream": "test/bench-stream.ts",
  },
  outdir,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome120"],
  minify: false,
  sourcemap: false,
  legalComments: "inline",
  charset: "utf8",
  logLevel: "warning",
});
for (const page of ["index.html", "bench-stream.html"]) copyFileSync(join(here, "test", page), join(outdir, page));

const lines = [];
for (const name of readdirSync(outdir).sort()) {
  if (name === "SHA256SUMS") continue;
  const sum = createHash("sha256").update(readFileSync(join(outdir, name))).digest("hex");
  lines.push(`${sum}  ${name}`);
}
writeFileSync(join(outdir, "SHA256SUMS"), lines.join("\n") + "\n");
for (const line of lines) console.log(line);
console.log(`built into ${outdir}`);

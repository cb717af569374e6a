// Checks that every npm package package-lock.json pins (direct or not, build or
// runtime) carries a permissive licence from the list below; prints them all.
// Needs no network: the lock file records each package's licence.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ALLOWED = new Set(["MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "0BSD"]);
const here = dirname(fileURLToPath(import.meta.url));
const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));
let bad = 0;
for (const [path, pkg] of Object.entries(lock.packages ?? {})) {
  if (path === "") continue;
  const name = path.replace(/^.*node_modules\//, "");
  const ok = ALLOWED.has(pkg.license);
  if (!ok) bad++;
  console.log(`${ok ? "ok  " : "BAD "} ${name}@${pkg.version} ${pkg.license ?? "(no licence recorded)"}${pkg.dev ? " (build/test only)" : ""}`);
}
if (bad > 0) {
  console.error(`${bad} package(s) without an allowed licence (${[...ALLOWED].join(", ")})`);
  process.exit(1);
}

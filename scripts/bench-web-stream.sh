#!/usr/bin/env bash
# Measures the web vault's stream (docs/FORMAT.md 8) in Debian's Chromium, headless:
# encrypts and decrypts MIB MiB (default 64) of random bytes as one stream with 64 KiB
# chunks through web/src/crypto/stream.ts on WebCrypto, ROUNDS times (default 3), checks
# the round trip, and prints the median MB/s of each direction. Not part of CI.
#
#   scripts/bench-web-stream.sh
#   MIB=256 ROUNDS=5 scripts/bench-web-stream.sh
#
# Needs Node.js 20+, npm and /usr/bin/chromium (apt-get install chromium). The web/
# sources are copied to $CARGO_TARGET_DIR/web-bench (default target/web-bench), where
# `npm ci` installs the locked packages and the bundle is built; the page is served by
# the driver on a loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."

MIB=${MIB:-64}
ROUNDS=${ROUNDS:-3}
case "$MIB$ROUNDS" in *[!0-9]*) echo "MIB and ROUNDS must be integers" >&2; exit 2 ;; esac
[ "$MIB" -gt 0 ] && [ "$ROUNDS" -gt 0 ] || { echo "MIB and ROUNDS must be > 0" >&2; exit 2; }
CHROMIUM=${COFRE_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "bench-web-stream: $CHROMIUM is missing (apt-get install chromium)" >&2; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "bench-web-stream: needs node and npm" >&2; exit 1; }

WORK=${CARGO_TARGET_DIR:-target}/web-bench
mkdir -p "$WORK"
rm -rf "$WORK/src" "$WORK/test"
cp -R web/package.json web/package-lock.json web/tsconfig.json web/build.mjs web/src web/test "$WORK/"
if ! cmp -s "$WORK/package-lock.json" "$WORK/node_modules/.cofre-installed-lock.json"; then
    (cd "$WORK" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$WORK/package-lock.json" "$WORK/node_modules/.cofre-installed-lock.json"
fi
node "$WORK/build.mjs" --outdir "$WORK/dist" >/dev/null
out=$(node "$WORK/test/run-browser.mjs" --serve "$WORK/dist" --page "bench-stream.html?mib=$MIB&rounds=$ROUNDS" \
    --report __cofreBench --timeout 3600 --chromium "$CHROMIUM")
echo "$out" | sed -n 's/^COFRE-VECTORS //p' | node -e '
let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
  const r = JSON.parse(s);
  for (const [i, x] of r.rounds.entries()) {
    const mb = (r.mib * 1048576) / 1e6;
    console.log(`round ${i + 1}: encrypt ${(mb / x.encryptSeconds).toFixed(1)} MB/s, decrypt ${(mb / x.decryptSeconds).toFixed(1)} MB/s`);
  }
  console.log(`| Chromium ${r.browserVersion} | ${r.mib} MiB | encrypt ${r.encryptMBps.toFixed(1)} MB/s | decrypt ${r.decryptMBps.toFixed(1)} MB/s | round trip ${r.failed === 0 ? "identical" : "DIFFERS"} |`);
  process.exit(r.failed === 0 ? 0 : 1);
});'

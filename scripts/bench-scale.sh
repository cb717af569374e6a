#!/usr/bin/env bash
# Runs the scale bench (crates/cofre-server/benches/scale_load.rs): one server on
# SQLite, one on PostgreSQL, and two replicas on one PostgreSQL database, each server a
# process of its own. Builds the release `cofre` binary, then points the bench at it
# with COFRE_BIN. Prints Markdown tables ready to paste into docs/BENCHMARKS.md.
#
#   scripts/bench-scale.sh                                      # 5 s windows, 4 × 64 MiB uploads, 3 rounds
#   LOAD_SECS=3 SCALE_ROUNDS=3 UPLOAD_MIB=32 scripts/bench-scale.sh   # shorter
#   LOAD_SECS=1 SCALE_ROUNDS=1 UPLOAD_MIB=8 scripts/bench-scale.sh    # a quick smoke run
#
# Needs PostgreSQL (default postgres://postgres@127.0.0.1:5432, trust authentication;
# set SCALE_PG_URL otherwise): the bench creates two databases of its own there and
# drops them at the end. Every knob of the bench passes through (see the top of
# scale_load.rs). The servers' data directories and the upload files live in a
# temporary directory ($TMPDIR, default /tmp), removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

UPLOADS=${UPLOADS:-4}
UPLOAD_MIB=${UPLOAD_MIB:-64}
for v in "$UPLOADS" "$UPLOAD_MIB"; do
  case "$v" in *[!0-9]* | '') echo "UPLOADS and UPLOAD_MIB must be integers" >&2; exit 2 ;; esac
done
export UPLOADS UPLOAD_MIB
TARGET_DIR=${CARGO_TARGET_DIR:-target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR=$PWD/$TARGET_DIR ;; esac
log() { echo "bench-scale: $*" >&2; }

tmp=${TMPDIR:-/tmp}
need_kib=$(( UPLOADS * UPLOAD_MIB * 1024 * 2 + 262144 ))
avail_kib=$(df -Pk "$tmp" | awk 'NR==2{print $4}')
[ "$avail_kib" -gt "$need_kib" ] || { log "need $((need_kib / 1024)) MiB free in $tmp"; exit 1; }

log "building the cofre binary (release)"
cargo build --quiet --release -p cofre-cli
export COFRE_BIN=$TARGET_DIR/release/cofre

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
log "running the bench: $cpu, nproc = $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)"
cargo bench --quiet -p cofre-server --bench scale_load
log "done; load average $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# Runs the vault bench (crates/cofre-server/benches/vault_load.rs) with the server as
# its own process: builds the release `cofre` binary, then points the bench at it with
# COFRE_BIN, so the server's peak memory and CPU are measured apart from the client's.
# Prints Markdown tables ready to paste into docs/BENCHMARKS.md.
#
#   scripts/bench-vault.sh                                   # 1 GiB file, 100,000 items
#   VAULT_FILE_MIB=64 VAULT_ITEMS=2000 LOAD_SECS=1 LOAD_ROUNDS=1 VAULT_ROUNDS=1 \
#       scripts/bench-vault.sh                               # a quick smoke run
#
# Every knob of the bench passes through (see the top of vault_load.rs). The file, the
# server's data directory and the downloads live in a temporary directory ($TMPDIR,
# default /tmp), removed at the end; it needs about three times VAULT_FILE_MIB free.
set -euo pipefail
cd "$(dirname "$0")/.."

VAULT_FILE_MIB=${VAULT_FILE_MIB:-1024}
case "$VAULT_FILE_MIB" in *[!0-9]* | '') echo "VAULT_FILE_MIB must be an integer" >&2; exit 2 ;; esac
export VAULT_FILE_MIB
TARGET_DIR=${CARGO_TARGET_DIR:-target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR=$PWD/$TARGET_DIR ;; esac
log() { echo "bench-vault: $*" >&2; }

tmp=${TMPDIR:-/tmp}
need_kib=$(( VAULT_FILE_MIB * 1024 * 3 + 262144 ))
avail_kib=$(df -Pk "$tmp" | awk 'NR==2{print $4}')
[ "$avail_kib" -gt "$need_kib" ] || { log "need $((need_kib / 1024)) MiB free in $tmp"; exit 1; }

log "building the cofre binary (release)"
cargo build --quiet --release -p cofre-cli
export COFRE_BIN=$TARGET_DIR/release/cofre

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
log "running the bench: $cpu, nproc = $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)"
cargo bench --quiet -p cofre-server --bench vault_load
log "done; load average $(cut -d' ' -f1-3 /proc/loadavg)"

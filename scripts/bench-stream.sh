#!/usr/bin/env bash
# Times cofre's file stream against `openssl enc -aes-256-cbc` and `rage` on the same
# random file, interleaved round by round, and prints medians, ratios and peak memory
# as Markdown ready to paste into docs/BENCHMARKS.md.
#
#   scripts/bench-stream.sh                          # 1 GiB, 5 rounds
#   SIZE_MIB=4096 ROUNDS=3 scripts/bench-stream.sh
#   WAIT_IDLE_S=600 ROUNDS=7 scripts/bench-stream.sh # on a shared machine, see below
#
# Each round runs: cofre enc, cofre dec, openssl enc, openssl enc -d, rage -e, rage -d
# (rage is skipped, with a message, when `rage`/`rage-keygen` are not installed:
# `cargo install --locked rage`). Wall time, CPU time and max RSS come from GNU time
# (installed with apt-get when missing and possible; otherwise bash's clock and
# /proc/PID/status VmHWM, sampled). Work files live in a temporary directory under the
# cargo target directory (on disk, the same for every tool) and are removed on exit.
# Before every timed command the previous output is deleted and `sync` runs (untimed),
# so no tool pays for another's write-back. cofre's, openssl's and rage's round trips
# are each checked with cmp in the first round.
#
# Shared machines: for every timed command the script also records "foreign CPU", the
# CPU seconds the rest of the machine used meanwhile (from /proc/stat), and prints it
# per round. WAIT_IDLE_S=N makes each round first wait, up to N seconds, for a
# 2-second window in which the machine is at least 90 % idle.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=${SIZE_MIB:-1024}
ROUNDS=${ROUNDS:-5}
WAIT_IDLE_S=${WAIT_IDLE_S:-0}
case "$SIZE_MIB$ROUNDS$WAIT_IDLE_S" in *[!0-9]*) echo "SIZE_MIB, ROUNDS and WAIT_IDLE_S must be integers" >&2; exit 2 ;; esac
[ "$SIZE_MIB" -gt 0 ] && [ "$ROUNDS" -gt 0 ] || { echo "SIZE_MIB and ROUNDS must be > 0" >&2; exit 2; }
TARGET_DIR=${CARGO_TARGET_DIR:-target}
log() { echo "bench-stream: $*" >&2; }

command -v openssl >/dev/null || { log "openssl is required"; exit 1; }
TIME=${GNU_TIME:-/usr/bin/time} # GNU_TIME=/nonexistent exercises the fallback
if [ ! -x "$TIME" ] && [ -z "${GNU_TIME:-}" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    log "installing GNU time"
    apt-get install -y -qq time >/dev/null 2>&1 || true
fi
if [ -x "$TIME" ]; then
    TIMER="GNU time"
else
    TIMER="bash clock + /proc VmHWM sampled every 20 ms (GNU time not available)"
    log "GNU time not found: falling back to $TIMER"
fi

have_rage=0
if command -v rage >/dev/null && command -v rage-keygen >/dev/null; then
    have_rage=1
else
    log "rage/rage-keygen not installed: SKIPPING the rage comparison (cargo install --locked rage)"
fi

log "building the stream_file example (release)"
cargo build --quiet --release -p cofre-core --example stream_file
BIN=$TARGET_DIR/release/examples/stream_file

mkdir -p "$TARGET_DIR"
WORK=$(mktemp -d "$TARGET_DIR/bench-stream.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
need_kib=$(( SIZE_MIB * 1024 * 3 + 65536 ))
avail_kib=$(df -Pk "$WORK" | awk 'NR==2{print $4}')
[ "$avail_kib" -gt "$need_kib" ] || { log "need $((need_kib / 1024)) MiB free in $WORK"; exit 1; }

log "creating a $SIZE_MIB MiB random file"
head -c "$(( SIZE_MIB * 1048576 ))" /dev/urandom > "$WORK/plain"
KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
IV=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
if [ $have_rage = 1 ]; then
    rage-keygen -o "$WORK/identity" 2>/dev/null
    RECIPIENT=$(grep -o 'age1[0-9a-z]*' "$WORK/identity" | head -1)
fi

HZ=$(getconf CLK_TCK)
# Busy and total jiffies of the whole machine, from the first line of /proc/stat.
busy_total() { awk '/^cpu /{t=0; for(i=2;i<=NF;i++) t+=$i; print t-$5-$6, t; exit}' /proc/stat; }

wait_idle() {
    [ "$WAIT_IDLE_S" -gt 0 ] || return 0
    local deadline=$(( SECONDS + WAIT_IDLE_S )) b0 t0 b1 t1
    while :; do
        read -r b0 t0 < <(busy_total); sleep 2; read -r b1 t1 < <(busy_total)
        if [ $(( (b1 - b0) * 10 )) -le $(( t1 - t0 )) ]; then return 0; fi
        if [ "$SECONDS" -ge "$deadline" ]; then log "machine still busy after ${WAIT_IDLE_S}s; running anyway"; return 0; fi
    done
}

# timed NAME OUT CMD...: deletes OUT, syncs, runs CMD and appends
# "wall_s max_rss_kib user_s sys_s foreign_cpu_s" to $WORK/NAME.
timed() {
    local name=$1 out=$2 b0 t0 b1 t1 line
    shift 2
    rm -f "$out"
    sync
    read -r b0 t0 < <(busy_total)
    if [ -x "$TIME" ]; then
        "$TIME" -f '%e %M %U %S' -o "$WORK/$name.t" "$@"
        line=$(cat "$WORK/$name.t")
    else
        local start end pid hwm=0 h
        start=$EPOCHREALTIME
        "$@" & pid=$!
        while kill -0 "$pid" 2>/dev/null; do
            h=$(awk '/^VmHWM/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
            [ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
            sleep 0.02
        done
        wait "$pid"
        end=$EPOCHREALTIME
        line=$(awk -v s="$start" -v e="$end" -v m="$hwm" 'BEGIN{printf "%.2f %d 0 0", e-s, m}')
    fi
    read -r b1 t1 < <(busy_total)
    echo "$line" | awk -v b=$(( b1 - b0 )) -v hz="$HZ" '{f=b/hz-$3-$4; if(f<0)f=0; printf "%s %s %s %s %.2f\n", $1, $2, $3, $4, f}' >> "$WORK/$name"
}

check() { # check WHAT FILE: the round trip must reproduce the input exactly
    cmp -s "$WORK/plain" "$2" || { log "$1 round trip FAILED: output differs from input"; exit 1; }
    log "$1 round trip verified (cmp)"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$ROUNDS"); do
    wait_idle
    log "round $round/$ROUNDS (load $(cut -d' ' -f1 /proc/loadavg))"
    timed cofre_enc "$WORK/c.enc" "$BIN" enc "$WORK/plain" "$WORK/c.enc"
    timed cofre_dec "$WORK/c.dec" "$BIN" dec "$WORK/c.enc" "$WORK/c.dec"
    [ "$round" = 1 ] && check cofre "$WORK/c.dec"
    rm -f "$WORK/c.enc" "$WORK/c.dec"
    timed openssl_enc "$WORK/o.enc" openssl enc -aes-256-cbc -K "$KEY" -iv "$IV" -in "$WORK/plain" -out "$WORK/o.enc"
    timed openssl_dec "$WORK/o.dec" openssl enc -d -aes-256-cbc -K "$KEY" -iv "$IV" -in "$WORK/o.enc" -out "$WORK/o.dec"
    [ "$round" = 1 ] && check openssl "$WORK/o.dec"
    rm -f "$WORK/o.enc" "$WORK/o.dec"
    if [ $have_rage = 1 ]; then
        timed rage_enc "$WORK/r.age" rage -e -r "$RECIPIENT" -o "$WORK/r.age" "$WORK/plain"
        timed rage_dec "$WORK/r.dec" rage -d -i "$WORK/identity" -o "$WORK/r.dec" "$WORK/r.age"
        [ "$round" = 1 ] && check rage "$WORK/r.dec"
        rm -f "$WORK/r.age" "$WORK/r.dec"
    fi
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- Report -----------------------------------------------------------------------
median() { sort -g | awk '{a[NR]=$1} END {printf "%.4f\n", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
two() { awk -v x="$1" 'BEGIN{printf "%.2f", x}'; }
col() { cut -d' ' -f"$2" < "$WORK/$1"; }
med_s() { col "$1" 1 | median; }
cpu_s() { if [ -x "$TIME" ]; then two "$(awk '{print $3+$4}' < "$WORK/$1" | median)"; else echo n/a; fi; }
rss_mib() { col "$1" 2 | sort -n | tail -1 | awk '{printf "%.1f", $1/1024}'; }
mbps() { awk -v s="$1" -v m="$SIZE_MIB" 'BEGIN{printf "%.0f", m*1048576/1e6/s}'; }
# Ratio of medians (cofre throughput / tool throughput), with the range of the per-round
# paired ratios in brackets.
ratio() {
    local r range
    r=$(awk -v c="$(med_s "$1")" -v t="$(med_s "$2")" 'BEGIN{printf "%.2f", t/c}')
    range=$(paste -d' ' <(col "$1" 1) <(col "$2" 1) | awk '{r=$2/$1; if(NR==1||r<lo)lo=r; if(NR==1||r>hi)hi=r} END{printf "%.2f–%.2f", lo, hi}')
    echo "$r ($range)"
}
rounds_list() { awk '{printf "%s%s (%s)", (NR > 1 ? ", " : ""), $1, $5}' < "$WORK/$1"; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'aes|sha_ni|avx2|vaes|avx512f' | paste -sd, -)
mem=$(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)
echo
echo "- CPU: $cpu ($flags), nproc = $(nproc), $mem RAM, Linux $(uname -r)"
echo "- $(openssl version | cut -d' ' -f1-2); $( [ $have_rage = 1 ] && rage --version || echo 'rage: not installed (skipped)'); $(rustc --version | cut -d' ' -f1-2)"
echo "- File: $SIZE_MIB MiB of random data on $(df -P "$WORK" | awk 'NR==2{print $1}') (page cache), $ROUNDS rounds interleaved, $(date -u +%Y-%m-%d)"
echo "- Timer: $TIMER; load average at start $LOAD_START, at end $LOAD_END"
echo
echo "| operation | tool | median s | MB/s | CPU s (user+sys) | max RSS MiB | cofre ÷ tool, throughput (per-round range) |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
tools="cofre openssl"
[ $have_rage = 1 ] && tools="$tools rage"
for op in enc dec; do
    for tool in $tools; do
        t=$(med_s "${tool}_$op")
        case $tool-$op in
            cofre-*) name="cofre (stream_file $op)" ;;
            openssl-enc) name="openssl enc" ;;
            openssl-dec) name="openssl enc -d" ;;
            rage-enc) name="rage -e" ;;
            rage-dec) name="rage -d" ;;
        esac
        if [ "$tool" = cofre ]; then r="—"; else r=$(ratio "cofre_$op" "${tool}_$op"); fi
        if [ "$op" = enc ]; then opname=encrypt; else opname=decrypt; fi
        echo "| $opname | $name | $(two "$t") | $(mbps "$t") | $(cpu_s "${tool}_$op") | $(rss_mib "${tool}_$op") | $r |"
    done
done
echo
echo "Wall seconds per round (in brackets: CPU seconds used by the rest of the machine meanwhile):"
echo
for op in enc dec; do
    for tool in $tools; do
        echo "- ${tool}_$op: $(rounds_list "${tool}_$op")"
    done
done

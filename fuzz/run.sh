#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, one after another:
#   fuzz/run.sh [SECONDS_PER_TARGET]     (default 60)
# Exits non-zero if any target fails (a crash, a failed assertion, a leak or a timeout);
# the failing input is then in fuzz/artifacts/<target>/ and the end of the log is printed.
# cargo fuzz needs nightly-only flags; RUSTC_BOOTSTRAP=1 lets the stable compiler accept them.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
case $secs in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=()
for t in $(cargo fuzz list); do
    echo "==> fuzz $t for ${secs}s"
    mkdir -p "corpus/$t"
    # New inputs go to corpus/<t> (ignored by git); seeds/<t> holds real encodings to mutate.
    if cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1; then
        # libFuzzer's summary: "Done N runs in S second(s)" and the peak memory.
        grep -E '^(Done [0-9]+ runs|stat::peak_rss_mb)' "$log" || tail -n 4 "$log"
    else
        tail -n 100 "$log"  # the panic message, the reproducer and its path
        echo "FUZZ FAILURE in $t (reproducer under fuzz/artifacts/$t/)"
        failed+=("$t")
    fi
done
if ((${#failed[@]})); then
    echo "failed targets: ${failed[*]}"
    exit 1
fi
echo "all targets ran ${secs}s without a finding"

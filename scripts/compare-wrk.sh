#!/usr/bin/env bash
# Compares ssobench's load generator with wrk on exactly one endpoint, GET /shopping-cart with a
# live session: starts one `mock-services serve` process (on loopback), runs `wrk -t1 -c USERS`
# against it, then `loadtest --scenario cart-view --users USERS --generator-threads 1` against
# the same process, one after the other, and prints both tools' requests/s, CPU (read from
# /proc over each tool's measured window only), requests/s per core, cart p50/p99, and the
# ratios ssobench / wrk.
#
#   scripts/compare-wrk.sh [USERS] [SECONDS] [BACKEND]      (defaults: 32, 10, dashmap)
#
# Installs wrk (Debian package) when missing. Traffic goes to loopback only, for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."

users=${1:-32}
seconds=${2:-10}
backend=${3:-dashmap}
case "$backend" in dashmap|scc|redis) ;; *) echo "backend must be dashmap, scc or redis" >&2; exit 2 ;; esac
[ "$seconds" -ge 4 ] || { echo "SECONDS must be at least 4" >&2; exit 2; }

. scripts/lib/stack.sh
ensure_wrk
[ "$backend" = redis ] && scripts/ensure-redis.sh

cargo build --release -q -p mock-services -p loadtest
work=$(mktemp -d)
stack_pid=
trap 'if [ -n "$stack_pid" ]; then kill "$stack_pid" 2>/dev/null || true; wait "$stack_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
start_stack "$backend" "$work"

# CPU seconds (user + system, all threads, exited ones included) of a process, from /proc.
cpu_seconds() {
  awk -v tck="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / tck }' "/proc/$1/stat"
}
now() { date +%s.%N; }

# wrk needs a session: log in as a browser would.
session=$(login_session "$work")

echo "GET $store/shopping-cart, $users connections, ${seconds}s each, backend $backend, $(nproc) cores:" \
  "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"

# 1. wrk, its CPU read over its run minus the first and last second (connection set-up, exit).
wrk -t1 -c"$users" -d"${seconds}s" --latency -H "Cookie: ssobench_store_session=$session" \
  "$store/shopping-cart" >"$work/wrk.out" &
wrk_pid=$!
sleep 1
wrk_cpu0=$(cpu_seconds "$wrk_pid"); wrk_t0=$(now)
sleep $((seconds - 2))
wrk_cpu1=$(cpu_seconds "$wrk_pid"); wrk_t1=$(now)
wait "$wrk_pid"
wrk_rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.out")
# wrk prints latencies as 288.00us, 1.63ms or 1.02s: in ms.
to_ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }; printf "%.3f", v }'; }
wrk_p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.out" | to_ms)
wrk_p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.out" | to_ms)
wrk_cores=$(awk -v a="$wrk_cpu0" -v b="$wrk_cpu1" -v s="$wrk_t0" -v e="$wrk_t1" 'BEGIN { printf "%.3f", (b - a) / (e - s) }')

# 2. ssobench, against the same stack process: its own generator CPU over its measured window.
target/release/loadtest --target "$store" --target-idp "$idp" --target-forums "$forums" \
  --target-pid "$stack_pid" --scenario cart-view --users "$users" --run-time "${seconds}s" \
  --generator-threads 1 --quiet --reports-dir "$work/reports" >"$work/ssobench.out" 2>"$work/ssobench.err" || {
  echo "the ssobench run failed:" >&2; cat "$work/ssobench.err" "$work/ssobench.out" >&2; exit 1; }
sso_rps=$(awk '/ req\/s, / { for (i = 1; i <= NF; i++) if ($(i + 1) == "req/s,") { print $i; exit } }' "$work/ssobench.out")
sso_cores=$(awk '/^generator: / {print $2}' "$work/ssobench.out")
read -r sso_p50 sso_p99 < <(awk '$1 == "store:" && $2 == "GET" && $3 == "/shopping-cart" { printf "%.3f %.3f\n", $6 / 1000, $7 / 1000 }' "$work/ssobench.out")
verdict=$(grep -E '^(Generator-bound|The )' "$work/ssobench.out" || true)

awk -v wr="$wrk_rps" -v wc="$wrk_cores" -v w50="$wrk_p50" -v w99="$wrk_p99" \
    -v sr="$sso_rps" -v sc="$sso_cores" -v s50="$sso_p50" -v s99="$sso_p99" 'BEGIN {
  printf "%-10s %12s %10s %16s %9s %9s\n", "generator", "requests/s", "CPU cores", "requests/s/core", "p50 ms", "p99 ms"
  printf "%-10s %12.0f %10.2f %16.0f %9.3f %9.3f\n", "wrk -t1", wr, wc, wr / wc, w50, w99
  printf "%-10s %12.0f %10.2f %16.0f %9.3f %9.3f\n", "ssobench", sr, sc, sr / sc, s50, s99
  printf "ssobench / wrk: requests/s per core %.2fx (target >= 0.50), cart p50 %.2fx (target <= 1.50), requests/s %.2fx\n", (sr / sc) / (wr / wc), s50 / w50, sr / wr
}'
echo "ssobench's verdict on its run: $verdict"

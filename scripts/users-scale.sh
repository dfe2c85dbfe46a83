#!/usr/bin/env bash
# Many users per generator: runs the cart scenario with 1,000, 10,000 and 100,000 users (or the
# counts given as arguments) from one `loadtest` process against a separate `serve` on loopback,
# each user thinking 20–40 s between pages and closing connections idle for 1 s, and prints per
# step what the users cost: users started and how long that took, the generator's memory
# (before, with them, per user), its CPU and timer lag, descriptors, connection churn, errors.
#
#   scripts/users-scale.sh                 # 1000 10000 100000
#   scripts/users-scale.sh 2000 20000      # other counts
#
# Environment: RAMP (users/s, default 1000), RUN_TIME (default 60s), WAIT (default 20s..40s),
# IDLE (--keep-alive-idle, default 1s), REPORTS_DIR (default: loadtest's, the workspace's
# `reports/`; each step's report stays there, its path printed).
# Every run is bounded by its run time; load goes only to 127.0.0.1–3.
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000 10000 100000)
ramp=${RAMP:-1000}
run_time=${RUN_TIME:-60s}
wait=${WAIT:-20s..40s}
idle=${IDLE:-1s}
target=${CARGO_TARGET_DIR:-target}/release
largest=0
for n in "${counts[@]}"; do [ "$n" -gt "$largest" ] && largest=$n; done

cargo build --release -q -p loadtest -p mock-services
out=$(mktemp -d)
trap 'kill "$serve_pid" 2>/dev/null || true; rm -rf "$out"' EXIT
# Ports apart from the defaults, so a stack already running on them is not measured.
"$target/mock-services" serve --users "$largest" \
  --idp-addr 127.0.0.1:19010 --store-addr 127.0.0.2:19011 --forums-addr 127.0.0.3:19012 \
  --store-url http://127.0.0.2:19011 --forums-url http://127.0.0.3:19012 \
  >"$out/serve.out" 2>"$out/serve.err" &
serve_pid=$!
for _ in $(seq 50); do grep -q forums "$out/serve.out" 2>/dev/null && break; sleep 0.2; done
grep -q forums "$out/serve.out" || { echo "serve did not start:"; cat "$out/serve.err"; exit 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs);" \
  "descriptor limit $(ulimit -Hn); ramp $ramp users/s, run $run_time, think $wait, idle limit $idle"
for n in "${counts[@]}"; do
  echo
  echo "== $n users =="
  set +e
  "$target/loadtest" --target http://127.0.0.2:19011 --target-idp http://127.0.0.1:19010 \
    --target-forums http://127.0.0.3:19012 --target-pid "$serve_pid" --accounts "$largest" \
    --users "$n" --ramp-rate "$ramp" --scenario cart --wait "$wait" --keep-alive-idle "$idle" \
    --run-time "$run_time" ${REPORTS_DIR:+--reports-dir "$REPORTS_DIR"} --quiet >"$out/run.out" 2>&1
  status=$?
  set -e
  grep -E '^[0-9]+ requests in|^users:|^The .* limit|generator used|^PROBLEM|^error|refused|^results:' \
    "$out/run.out" || cat "$out/run.out"
  [ "$status" -eq 0 ] || echo "(loadtest exited $status)"
done

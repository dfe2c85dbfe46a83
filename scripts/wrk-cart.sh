#!/usr/bin/env bash
# Measures the session hot path through HTTP: starts the whole stack on loopback, logs one user
# in (password at the IdP, code exchange), then runs wrk against GET /shopping-cart with that
# session cookie. Prints wrk's requests/s and latency distribution.
#
#   scripts/wrk-cart.sh [dashmap|scc|redis] [seconds] [connections]
#
# Installs wrk (Debian package) when missing. Traffic goes to 127.0.0.2 only, for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."

backend=${1:-dashmap}
seconds=${2:-10}
connections=${3:-64}
case "$backend" in dashmap|scc|redis) ;; *) echo "backend must be dashmap, scc or redis" >&2; exit 2 ;; esac

. scripts/lib/stack.sh
ensure_wrk
[ "$backend" = redis ] && scripts/ensure-redis.sh

cargo build --release -q -p mock-services
work=$(mktemp -d)
stack_pid=
trap 'kill "$stack_pid" 2>/dev/null || true; wait "$stack_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
start_stack "$backend" "$work"
session=$(login_session "$work")
curl -sf -b "ssobench_store_session=$session" "$store/shopping-cart" | grep -q 'id="cart"' \
  || { echo "the cart page did not load with the session" >&2; exit 1; }

echo "wrk: GET $store/shopping-cart, backend $backend, $connections connections, ${seconds}s, $(nproc) cores"
wrk -t2 -c"$connections" -d"${seconds}s" --latency \
  -H "Cookie: ssobench_store_session=$session" "$store/shopping-cart"

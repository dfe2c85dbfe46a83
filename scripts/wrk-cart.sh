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

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "wrk is missing: install it with apt-get install wrk" >&2; exit 1
  fi
  echo "Installing wrk (Debian package) ..." >&2
  "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq wrk >/dev/null
fi
[ "$backend" = redis ] && scripts/ensure-redis.sh

cargo build --release -q -p mock-services
work=$(mktemp -d)
trap 'kill "$stack_pid" 2>/dev/null || true; wait "$stack_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
target/release/mock-services serve --backend "$backend" \
  --idp-addr 127.0.0.1:0 --store-addr 127.0.0.2:0 --forums-addr 127.0.0.3:0 >"$work/urls" 2>"$work/log" &
stack_pid=$!
for _ in $(seq 100); do grep -q '^forums ' "$work/urls" 2>/dev/null && break; sleep 0.1; done
grep -q '^forums ' "$work/urls" || { echo "the stack did not start:" >&2; cat "$work/log" >&2; exit 1; }
store=$(awk '$1 == "store" {print $2}' "$work/urls")
idp=$(awk '$1 == "idp" {print $2}' "$work/urls")

# Log in as a browser would, hop by hop: /login → IdP (its query carries the form's fields) →
# password POST → callback → session cookie.
jar="$work/jar"
authorize=$(curl -sf -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "$store/login")
callback=$(curl -sf -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' \
  --data "${authorize#*\?}&loginId=user1%40example.com&password=password" "$idp/oauth2/authorize")
curl -sf -c "$jar" -b "$jar" -o /dev/null "$callback"
session=$(awk '$6 == "ssobench_store_session" {print $7}' "$jar")
[ -n "$session" ] || { echo "login failed: no session cookie" >&2; exit 1; }
curl -sf -b "ssobench_store_session=$session" "$store/shopping-cart" | grep -q 'id="cart"' \
  || { echo "the cart page did not load with the session" >&2; exit 1; }

echo "wrk: GET $store/shopping-cart, backend $backend, $connections connections, ${seconds}s, $(nproc) cores"
wrk -t2 -c"$connections" -d"${seconds}s" --latency \
  -H "Cookie: ssobench_store_session=$session" "$store/shopping-cart"

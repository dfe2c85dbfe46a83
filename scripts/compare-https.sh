#!/usr/bin/env bash
# Measures what HTTPS costs the load generator: two stacks of the same build and settings, one
# served over plain HTTP and one over HTTPS (a throwaway CA and certificate from
# `mock-services dev-cert`), and the same load run against each in turn, PAIRS times
# (interleaved, so drift of the machine falls on both). Prints each run's requests/s, logins/s,
# generator CPU per request and per login, and TLS handshakes, then the median HTTPS / HTTP
# ratios.
#
#   scripts/compare-https.sh [SCENARIO] [PAIRS] [SECONDS] [USERS] [-- LOADTEST FLAGS...]
#   (defaults: journey, 3, 15, 128; the journey with no cart reads and a 200 ms store timeout,
#   so that logins dominate)
#
# Traffic goes to loopback only, for a bounded time. Needs python3 (to read results.json).
set -euo pipefail
cd "$(dirname "$0")/.."

scenario=${1:-journey}
pairs=${2:-3}
seconds=${3:-15}
users=${4:-128}
shift $(( $# < 4 ? $# : 4 ))
[ "${1:-}" = "--" ] && shift
extra=("$@")
command -v python3 >/dev/null || { echo "python3 is needed to read results.json" >&2; exit 1; }

. scripts/lib/stack.sh
cargo build --release -q -p mock-services -p loadtest
work=$(mktemp -d)
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; rm -rf "$work"' EXIT

target/release/mock-services dev-cert --out "$work/tls" >/dev/null
mkdir -p "$work/plain" "$work/https"
start_stack dashmap "$work/plain" --idle-timeout 200ms
pids+=("$stack_pid"); plain=("$idp" "$store" "$forums" "$stack_pid")
start_stack dashmap "$work/https" --idle-timeout 200ms \
  --tls-cert "$work/tls/cert.pem" --tls-key "$work/tls/key.pem" --ca-cert "$work/tls/ca.pem"
pids+=("$stack_pid"); https=("$idp" "$store" "$forums" "$stack_pid")

echo "scenario $scenario, $users users, ${seconds}s runs, $pairs interleaved pairs, $(nproc) cores:" \
  "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
run() { # run NAME IDP STORE FORUMS PID
  local name=$1 dir="$work/runs/$1"
  target/release/loadtest --target "$3" --target-idp "$2" --target-forums "$4" --target-pid "$5" \
    --ca-cert "$work/tls/ca.pem" --scenario "$scenario" --users "$users" --run-time "${seconds}s" \
    --warm-up 2s --store-idle-timeout 200ms --cart-reads 0 --quiet --reports-dir "$dir" \
    "${extra[@]}" >"$dir.out" 2>&1 || { echo "run $name failed:" >&2; cat "$dir.out" >&2; exit 1; }
}
mkdir -p "$work/runs"
for pair in $(seq "$pairs"); do
  run "http-$pair" "${plain[@]}"
  run "https-$pair" "${https[@]}"
done

python3 - "$work/runs" "$pairs" <<'PY'
import glob, json, statistics, sys
runs, pairs = sys.argv[1], int(sys.argv[2])
def figures(name):
    r = json.load(open(glob.glob(f"{runs}/{name}/*/results.json")[0]))
    g, t = r["generator"], r.get("transport", {}).get("tls") or {}
    rps, lps = r["requests_per_second"], r["logins_per_second"]
    return dict(rps=rps, lps=lps, cores=g["cpu_cores"], errors=r["errors_total"],
                per_request=g["cpu_cores"] / rps * 1e6 if rps else 0,
                per_login=g["cpu_cores"] / lps * 1e6 if lps else 0,
                full=t.get("handshakes_full", 0), resumed=t.get("handshakes_resumed", 0))
print(f"{'run':10} {'req/s':>8} {'logins/s':>9} {'gen cores':>9} {'µs/request':>11} {'µs/login':>9} {'handshakes':>11} {'errors':>6}")
ratios = {"per_request": [], "per_login": []}
for pair in range(1, pairs + 1):
    plain, tls = figures(f"http-{pair}"), figures(f"https-{pair}")
    for name, f in ((f"http-{pair}", plain), (f"https-{pair}", tls)):
        print(f"{name:10} {f['rps']:8.0f} {f['lps']:9.1f} {f['cores']:9.3f} {f['per_request']:11.1f} "
              f"{f['per_login']:9.0f} {f['full']:>5}+{f['resumed']:<5} {f['errors']:6}")
    for key in ratios:
        if plain[key]:
            ratios[key].append(tls[key] / plain[key])
for key, values in ratios.items():
    if values:
        print(f"HTTPS / HTTP generator CPU {key.replace('_', ' ')}: median {statistics.median(values):.2f}x "
              f"(pairs {', '.join(f'{v:.2f}' for v in values)})")
PY

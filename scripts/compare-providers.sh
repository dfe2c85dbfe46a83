#!/usr/bin/env bash
# Measures logins against a real, independent provider beside the mock IdP: panva's
# oidc-provider (targets/oidc-provider/, its own login and consent pages, the mock store and
# forums as its relying parties through `serve --provider`) and the bundled mock IdP, each
# over plain HTTP and over HTTPS (a throwaway CA from `mock-services dev-cert`). The same
# journey runs against the four in turn, PAIRS times (interleaved), and each run's logins/s,
# generator CPU per login and the stack's CPU are printed, then the medians.
#
#   scripts/compare-providers.sh [PAIRS] [SECONDS] [USERS]      (defaults: 3, 15, 64)
#
# The journey runs with no cart reads and a 1 s store timeout, so that logins dominate. Every
# service listens on loopback; every run is bounded. Needs python3 (to read results.json)
# and node (targets/oidc-provider/start.sh installs what it can and says what it cannot).
set -euo pipefail
cd "$(dirname "$0")/.."

pairs=${1:-3}
seconds=${2:-15}
users=${3:-64}
command -v python3 >/dev/null || { echo "python3 is needed to read results.json" >&2; exit 1; }

. scripts/lib/stack.sh
cargo build --release -q -p mock-services -p loadtest
targets/oidc-provider/start.sh --install-only
work=$(mktemp -d)
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; if [ -n "${KEEP:-}" ]; then echo "runs kept in $work" >&2; else rm -rf "$work"; fi' EXIT
target/release/mock-services dev-cert --out "$work/tls" >/dev/null
tls=(--tls-cert "$work/tls/cert.pem" --tls-key "$work/tls/key.pem" --ca-cert "$work/tls/ca.pem")
free_port() { python3 -c "import socket; s = socket.socket(); s.bind(('$1', 0)); print(s.getsockname()[1])"; }

# The mock stack, plain and HTTPS: "NAME IDP STORE FORUMS PIDS" per configuration.
configs=()
for scheme in http https; do
  mkdir -p "$work/mock-$scheme"
  extra=(); [ "$scheme" = https ] && extra=("${tls[@]}")
  start_stack dashmap "$work/mock-$scheme" --idle-timeout 1s "${extra[@]}"
  pids+=("$stack_pid")
  configs+=("mock-$scheme $idp $store $forums $stack_pid")
done

# oidc-provider and the apps as its relying parties, plain and HTTPS.
for scheme in http https; do
  dir="$work/op-$scheme"; mkdir -p "$dir"
  store_port=$(free_port 127.0.0.2); forums_port=$(free_port 127.0.0.3)
  store="$scheme://127.0.0.2:$store_port"; forums="$scheme://127.0.0.3:$forums_port"
  op_tls=(); [ "$scheme" = https ] && op_tls=(--tls-cert "$work/tls/cert.pem" --tls-key "$work/tls/key.pem")
  targets/oidc-provider/start.sh --issuer "$scheme://127.0.0.4:0" \
    --client "store:store-secret:$store/oauth-callback" --post-logout "store:$store/" \
    --client "forums:forums-secret:$forums/oauth-callback" --post-logout "forums:$forums/" \
    "${op_tls[@]}" >"$dir/ready" 2>"$dir/op.log" &
  op_pid=$!; pids+=("$op_pid")
  for _ in $(seq 300); do grep -q '^ready ' "$dir/ready" 2>/dev/null && break; sleep 0.1; done
  grep -q '^ready ' "$dir/ready" || { echo "oidc-provider did not start:" >&2; cat "$dir/op.log" >&2; exit 1; }
  issuer=$(awk '$1 == "ready" {print $2}' "$dir/ready")
  app_tls=(); [ "$scheme" = https ] && app_tls=("${tls[@]}")
  target/release/mock-services serve --provider "$issuer" \
    --store-client store:store-secret --forums-client forums:forums-secret \
    --store-addr "127.0.0.2:$store_port" --forums-addr "127.0.0.3:$forums_port" \
    --idle-timeout 1s "${app_tls[@]}" >"$dir/urls" 2>"$dir/apps.log" &
  apps_pid=$!; pids+=("$apps_pid")
  for _ in $(seq 100); do grep -q '^forums ' "$dir/urls" 2>/dev/null && break; sleep 0.1; done
  grep -q '^forums ' "$dir/urls" || { echo "the apps did not start:" >&2; cat "$dir/apps.log" >&2; exit 1; }
  # node is exec'd by start.sh: its pid is the script's.
  configs+=("oidc-provider-$scheme $issuer $store $forums $apps_pid,$op_pid")
done

echo "journey (no cart reads, 1 s store timeout), $users users, ${seconds}s runs, $pairs interleaved" \
  "rounds, $(nproc) cores: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
mkdir -p "$work/runs"
for round in $(seq "$pairs"); do
  for config in "${configs[@]}"; do
    read -r name idp store forums stack_pids <<<"$config"
    first=${stack_pids%%,*}; more=${stack_pids#"$first"}; more=${more#,}
    more_flags=(); [ -n "$more" ] && more_flags=(--stack-pids "$more")
    dir="$work/runs/$name-$round"
    target/release/loadtest --target "$store" --target-idp "$idp" --target-forums "$forums" \
      --target-pid "$first" "${more_flags[@]}" --ca-cert "$work/tls/ca.pem" \
      --scenario journey --cart-reads 0 --store-idle-timeout 1s --users "$users" \
      --run-time "${seconds}s" --warm-up 2s --quiet --reports-dir "$dir" >"$dir.out" 2>&1 \
      || { echo "run $name-$round failed:" >&2; cat "$dir.out" >&2; exit 1; }
  done
done

python3 - "$work/runs" "$pairs" "${configs[@]}" <<'PY'
import glob, json, statistics, sys
runs, pairs, configs = sys.argv[1], int(sys.argv[2]), [c.split()[0] for c in sys.argv[3:]]
def figures(name):
    r = json.load(open(glob.glob(f"{runs}/{name}/*/results.json")[0]))
    g, lps = r["generator"], r["logins_per_second"]
    return dict(lps=lps, cores=g["cpu_cores"], stack=g.get("stack_cpu_cores") or 0.0,
                errors=r["errors_total"], per_login=g["cpu_cores"] / lps * 1e6 if lps else 0.0,
                failed=sum(v for k, v in r.get("login_outcomes", {}).items() if k != "completed"))
print(f"{'run':22} {'logins/s':>9} {'gen cores':>9} {'gen µs/login':>12} {'stack cores':>11} {'errors':>6} {'failed logins':>13}")
medians = {}
for name in configs:
    rows = [figures(f"{name}-{round}") for round in range(1, pairs + 1)]
    for round, f in enumerate(rows, 1):
        print(f"{name + '-' + str(round):22} {f['lps']:9.1f} {f['cores']:9.3f} {f['per_login']:12.0f} "
              f"{f['stack']:11.2f} {f['errors']:6} {f['failed']:13}")
    medians[name] = {k: statistics.median(f[k] for f in rows) for k in ("lps", "per_login", "stack")}
print("medians:")
for name, m in medians.items():
    print(f"  {name:20} {m['lps']:9.1f} logins/s, generator {m['per_login']:.0f} µs/login, stack {m['stack']:.2f} cores")
PY

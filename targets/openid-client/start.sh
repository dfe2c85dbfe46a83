#!/usr/bin/env bash
# Runs openid-client (panva's certified OpenID Connect relying party) against
# an IdP, one line per check (see check.mjs for the arguments):
#   - makes sure node and npm are present (Debian's nodejs/npm packages are
#     installed with apt-get when they are missing) and that Node.js is new
#     enough for the pinned packages;
#   - runs `npm ci` when node_modules is missing or older than package-lock.json;
#   - then execs `node check.mjs "$@"`.
# `start.sh --install-only` does all but the last step.
# Works from any working directory; only the checks write to stdout.
set -euo pipefail
# A SIGINT while a setup step runs stops the script (bash would otherwise go
# on once the step ends); exec below hands signals to node.
trap 'exit 130' INT

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib-node.sh
source "$here/../lib-node.sh"

# openid-client 6.x needs Node.js 20 or later; undici 7 needs >= 20.18.1.
ssobench_ensure_node 20.18.1 "openid-client 6.9.1 with undici 7.30.3"
ssobench_ensure_npm_deps "$here"

if [[ ${1:-} == --install-only ]]; then
    exit 0
fi
exec node "$here/check.mjs" "$@"

#!/usr/bin/env bash
# Starts the independent OpenID provider used by ssobench's tests
# (panva's oidc-provider, see server.mjs for the arguments):
#   - makes sure node and npm are present (Debian's nodejs/npm packages are
#     installed with apt-get when they are missing) and that Node.js is new
#     enough for the pinned oidc-provider;
#   - runs `npm ci` when node_modules is missing or older than package-lock.json;
#   - then execs `node server.mjs "$@"`.
# `start.sh --install-only` does all but the last step.
# Works from any working directory; only the server writes to stdout.
set -euo pipefail
# A SIGINT while a setup step runs stops the script (bash would otherwise go
# on once the step ends); exec below hands signals to node.
trap 'exit 130' INT

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib-node.sh
source "$here/../lib-node.sh"

# oidc-provider 9.x runs on Node.js >= 20.18 (it uses URL.parse and
# crypto.hash); upstream supports Node.js 22 LTS and later and prints an
# "Unsupported runtime" warning on 20.x.
ssobench_ensure_node 20.18.0 "oidc-provider 9.13.3"
ssobench_ensure_npm_deps "$here"

if [[ ${1:-} == --install-only ]]; then
    exit 0
fi
exec node "$here/server.mjs" "$@"

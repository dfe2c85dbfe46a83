#!/usr/bin/env bash
# Runs every test of the workspace, the Redis ones included (installing redis-server first when
# it is missing), then checks the Kubernetes manifests against the API's schemas, then builds the
# book and checks its links. One build profile, release, shared
# with `cargo run --release` and the benches.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-redis.sh
cargo test --workspace --release "$@"

cargo build --release --workspace --bins
echo "== the manifests of loadtest kube, against the Kubernetes schemas"
scripts/validate-manifests.sh
echo "== the book (docs/): help texts from the binaries, mdbook build, every internal link checked"
scripts/book.sh

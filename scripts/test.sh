#!/usr/bin/env bash
# Runs every test of the workspace, the Redis ones included (installing redis-server first when
# it is missing). One build profile, release, shared with `cargo run --release` and the benches.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-redis.sh
cargo test --workspace --release "$@"

#!/usr/bin/env bash
# Makes sure `redis-server` is on PATH (the Redis tests and `--backend redis` start their own
# throwaway server from it). Installs Debian's package when missing and we are allowed to.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi

install_cmd=(apt-get install -y --no-install-recommends redis-server)
if ! command -v apt-get >/dev/null 2>&1; then
  echo "redis-server is missing and this is not a Debian-like system:" >&2
  echo "install Redis (>= 6.2) with your package manager, then run this again." >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "redis-server is missing; install it as root: apt-get install redis-server" >&2
  exit 1
fi

echo "Installing redis-server (Debian package) ..." >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" "${install_cmd[@]}" >/dev/null
# The package may start a system-wide server on port 6379; ssobench never uses it, its tests
# start their own servers on free ports.
command -v redis-server >/dev/null 2>&1 || {
  echo "redis-server still not on PATH after installing it" >&2
  exit 1
}

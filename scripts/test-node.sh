#!/usr/bin/env bash
# Brings the test node (test/harness/node-cluster.ts, docs/test-node.md) up and down by hand:
#
#   bash scripts/test-node.sh up      # in the foreground; prints how to reach it; Ctrl-C stops it
#   bash scripts/test-node.sh down    # from another shell
#
# Needs root (network namespaces, mounts, containerd) and what `bash scripts/setup.sh --test` installs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ "$(id -u)" -eq 0 ] || { echo "test-node: run as root (it makes a network namespace and runs containerd)" >&2; exit 1; }
[ -f dist/test/harness/node-cli.js ] || npm run --silent build
exec node dist/test/harness/node-cli.js "${1:-}"

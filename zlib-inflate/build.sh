#!/usr/bin/env bash
# Builds the zlib-inflate addon (libdeflate for ROOT's ZLIB baskets, core/root/libdeflate-addon.ts)
# into build/zlib-inflate.node, outside git. A plain compiler call against the Node-API headers of
# the node on PATH (Node's own release layout: bin/node beside include/node), so no node-gyp and
# nothing downloaded. Node-API is ABI-stable: the addon works on any later Node. Needs a C compiler
# and Debian's libdeflate-dev (scripts/setup.sh and the Dockerfile install both).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

node_bin="$(readlink -f "$(command -v node)")"
headers="$(dirname "$(dirname "$node_bin")")/include/node"
if [ ! -f "$headers/node_api.h" ]; then
  echo "zlib-inflate: no Node-API headers in $headers (node is $node_bin)" >&2
  exit 1
fi
mkdir -p build
# Written aside and renamed: a process that loads the addon meanwhile never sees half a file.
# -O3: GCC vectorizes the byte-swap loops only from -O3.
cc -std=c11 -O3 -Wall -Wextra -Werror -fPIC -shared -I"$headers" zlib-inflate/zlib_inflate.c -ldeflate -o build/zlib-inflate.node.tmp
mv build/zlib-inflate.node.tmp build/zlib-inflate.node

#!/usr/bin/env bash
# Sets up a fresh Debian machine for hzz-operator: Node 24, a font, npm dependencies, the build, the
# Python reference. With --test it also installs what the test suite runs against for real:
# RabbitMQ (started here); kube-apiserver, etcd, kubectl and helm (built or unpacked into
# ~/.cache, outside the repo); and the test node: containerd, runc, the CNI plugins and iptables
# from Debian, the kubelet, kube-scheduler and kube-proxy built like the API server, and the
# images its pods run (scripts/build-images.sh). Idempotent: a second run takes seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

want_tests=false
[ "${1:-}" = "--test" ] && want_tests=true

sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

# Node 24 LTS: 20, which the machine may come with, reached end of life. The official binary ships
# in the npm package node-linux-<arch> (arch as Node names it: x64, arm64), the one way to it from
# a machine that reaches only package registries. It is unpacked into the cache, outside the
# repository, and linked as /usr/local/bin/node: that precedes /usr/bin on PATH, so `node …` and
# npm's `#!/usr/bin/env node` run on it.
NODE_VERSION=24.22.3
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 24 ]; then
  node_dir="$HOME/.cache/hzz-operator/node-v$NODE_VERSION"
  if [ ! -x "$node_dir/bin/node" ]; then
    echo "setup: installing Node $NODE_VERSION into $node_dir"
    unpack=$(mktemp -d)
    (cd "$unpack" && npm pack "node-linux-$(node -p process.arch)@$NODE_VERSION" --loglevel=error --no-update-notifier >/dev/null)
    tar -xzf "$unpack"/node-linux-*.tgz -C "$unpack"
    mkdir -p "$(dirname "$node_dir")"
    rm -rf "$node_dir"
    mv "$unpack/package" "$node_dir"
    rm -rf "$unpack"
  fi
  $sudo_cmd ln -sf "$node_dir/bin/node" /usr/local/bin/node
  hash -r
  if [ "$(node_major)" -lt 24 ]; then
    echo "setup: /usr/local/bin/node is Node $NODE_VERSION, but \`node\` on PATH is $(command -v node) $(node --version); put /usr/local/bin first" >&2
    exit 1
  fi
fi

# The plot's font: core/plot.ts registers its file (and says why). libdeflate and a C compiler for
# the inflate addon (zlib-inflate/build.sh).
packages=(fonts-dejavu-core libdeflate-dev gcc libc6-dev)
# The test node's runtime and network (test/harness/node-cluster.ts); openssl makes its certificates.
$want_tests && packages+=(rabbitmq-server containerd runc containernetworking-plugins iptables openssl)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
bash zlib-inflate/build.sh

python3 -c "import uproot, awkward, vector, isal" 2>/dev/null || {
  echo "setup: pip install -r reference/requirements.txt"
  python3 -m pip install --quiet --disable-pip-version-check -r reference/requirements.txt
}

if $want_tests; then
  bash scripts/install-k8s-tools.sh
  # After the build above: the project's image is built from this checkout.
  bash scripts/build-images.sh
  if ! rabbitmqctl -q status >/dev/null 2>&1; then
    echo "setup: starting rabbitmq-server"
    rabbitmq-server -detached
  fi
  # await_startup fails at once while the node has not yet registered with
  # epmd, so first wait for the node to answer at all.
  for _ in $(seq 1 120); do
    rabbitmqctl -q ping >/dev/null 2>&1 && break
    sleep 1
  done
  if ! rabbitmqctl -q await_startup --timeout 120; then
    echo "setup: rabbitmq-server did not start; its log:" >&2
    tail -n 50 /var/log/rabbitmq/*.log >&2 || true
    exit 1
  fi
fi
echo "setup: done"

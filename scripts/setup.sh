#!/usr/bin/env bash
# Sets up a fresh Debian machine for hzz-operator: system packages, npm dependencies (node-canvas
# builds from source), the build, the Python reference. With --test it also installs what the test
# suite runs against for real: RabbitMQ (started here), and kube-apiserver, etcd, kubectl and helm
# (built or unpacked into ~/.cache, outside the repo). Idempotent: a second run takes seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

want_tests=false
[ "${1:-}" = "--test" ] && want_tests=true

packages=(build-essential pkg-config libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev fonts-dejavu-core)
$want_tests && packages+=(rabbitmq-server)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# node-gyp must not download Node headers (no internet): use the ones installed with Node.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
node -e "require('canvas')" 2>/dev/null || npm rebuild canvas --loglevel=error
npm run --silent build

python3 -c "import uproot, awkward, vector" 2>/dev/null || {
  echo "setup: pip install -r reference/requirements.txt"
  python3 -m pip install --quiet --disable-pip-version-check -r reference/requirements.txt
}

if $want_tests; then
  bash scripts/install-k8s-tools.sh
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

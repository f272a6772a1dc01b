#!/usr/bin/env bash
# Sets up a fresh Debian machine for hzz-operator: a font, npm dependencies, the build, the Python
# reference. With --test it also installs what the test suite runs against for real: RabbitMQ
# (started here), and kube-apiserver, etcd, kubectl and helm (built or unpacked into ~/.cache,
# outside the repo). Idempotent: a second run takes seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

want_tests=false
[ "${1:-}" = "--test" ] && want_tests=true

# The plot's font: core/plot.ts registers its file (and says why).
packages=(fonts-dejavu-core)
$want_tests && packages+=(rabbitmq-server)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
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

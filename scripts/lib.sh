# shellcheck shell=bash
# Helpers shared by scripts/install-k8s-tools.sh and scripts/build-images.sh; sourced, not run.
# Both keep what they make outside the repository and print one line per step.

log() { printf '%s\n' "$*"; }

# Prints how a failed step ended, then stops the script.
fail() {
  local what="$1" logfile="$2"
  echo "$what failed; last lines of $logfile:" >&2
  tail -n 40 "$logfile" >&2 || true
  exit 1
}

# Runs "$@" in a subshell with set -e in force, its output appended to LOGFILE; on failure says
# which step failed and shows the log. Not `( ... ) || fail`: bash ignores set -e inside a command
# whose status is tested, so a failing line in the middle would go unnoticed.
run_step() {
  local what="$1" logfile="$2"; shift 2
  local rc
  set +e
  ( set -e; "$@" ) >>"$logfile" 2>&1
  rc=$?
  set -e
  [[ $rc -eq 0 ]] || fail "$what" "$logfile"
}

# Stops unless DIR (named by the variable VAR) lies outside the repository at REPO_ROOT: binaries,
# root filesystems and archives of hundreds of MB must never end up in a commit.
require_outside_repo() {
  local var="$1" dir="$2"
  case "$dir/" in
    "$REPO_ROOT"/*) echo "$var ($dir) is inside the repository; choose a directory outside it" >&2; exit 1 ;;
  esac
}

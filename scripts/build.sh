#!/usr/bin/env bash
# Configures and builds one CMake preset: scripts/build.sh [dev|ci|tsan|release] [targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache needs a writable cache folder even when HOME is unset (as under some CI runners).
export CCACHE_DIR="${CCACHE_DIR:-${HOME:-/tmp}/.cache/ccache}"
preset=${1:-release}
shift || true
cmake --preset "$preset" >/dev/null
if [ "$#" -gt 0 ]; then
  cmake --build --preset "$preset" --target "$@"
else
  cmake --build --preset "$preset"
fi

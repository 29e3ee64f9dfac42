#!/usr/bin/env bash
# clang-tidy-16 over the project's own sources with the repository's .clang-tidy, using the
# compile commands of the ci preset (built first if missing). Reports findings; exit 1 when
# clang-tidy reports an error. Slow on 2 cores (every translation unit): CI's security job runs
# it, scripts/test.sh does not.
#   scripts/tidy.sh [regex of files, default: every .cpp under common guardrails trading-engine pharma-mes]
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-'(common|guardrails|trading-engine|pharma-mes)/.*\.cpp$'}
[ -f build/ci/compile_commands.json ] || { cmake --preset ci >/dev/null; }
# The QuickFIX island is C++14 with throw() specifications clang-tidy cannot judge usefully.
run-clang-tidy-16 -quiet -p build/ci -j "$(nproc)" "$filter" 2>&1 |
  grep -v -E '^(Enabled checks|  |$)|warnings generated|Suppressed|Use -header-filter' | tee /tmp/tidy.$$ || true
if grep -q ' error: ' /tmp/tidy.$$; then
  rm -f /tmp/tidy.$$
  exit 1
fi
rm -f /tmp/tidy.$$

#!/usr/bin/env bash
# README command 2: install, build and pass every test.
#   1. install the Debian packages (idempotent)
#   2. clang-format check on every tracked C++ file
#   3. `ci` preset (Debug + ASan + UBSan + -Werror): build, ctest -LE benchmark (the browser test
#      gets npm playwright-core first; MQTT tests start their own Mosquitto)
#   4. a short smoke run of every benchmark binary (ctest -L benchmark)
#   5. `tsan` preset: the test executables that exercise threads, under ThreadSanitizer
#   6. `fuzz` preset: each libFuzzer harness for FUZZ_SECONDS (default 20)
#   7. the deployment artifacts: scripts/check-deploy.sh (release build, images built and run as
#      their pod templates, manifests/compose/Terraform checked) and its broken-copy tests
#   8. the deployment drills (scripts/drill.sh mes, then venue): three blue/green deployments of
#      each product under load, every target met
#   9. the dashboards (scripts/check-dashboards.sh): the rules' promtool tests, then the demo
#      under Prometheus and every panel's query through its HTTP API
# Exits non-zero on the first failure. SKIP_TSAN=1 / SKIP_FUZZ=1 / SKIP_DEPLOY=1 / SKIP_DRILL=1
# / SKIP_DASHBOARDS=1 skip steps 5 / 6 / 7 / 8 / 9 locally.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
root=$(pwd)
export CCACHE_DIR="${CCACHE_DIR:-${HOME:-/tmp}/.cache/ccache}"
started=$(date +%s)
step() { printf '\n=== %s (%ss)\n' "$*" "$(( $(date +%s) - started ))"; }

step "install dependencies"
scripts/install-deps.sh

step "clang-format check"
files=$(git ls-files '*.cpp' '*.hpp' '*.h' '*.cc')
if [ -n "$files" ]; then
  # shellcheck disable=SC2086
  clang-format --dry-run -Werror $files
fi
echo "formatting ok"

step "build (ci preset: ASan + UBSan, warnings as errors)"
scripts/build.sh ci

step "browser test dependencies (npm playwright-core, driving Debian's chromium)"
# playwright-core needs Node.js >= 20; Debian 12's is 18 (scripts/node.sh installs one if so).
node_bin=$(scripts/node.sh)
PATH="$(dirname "$node_bin"):$PATH"
export PATH
echo "node $(node --version) at $node_bin"
(cd tests/pharma-mes/browser && npm ci --no-audit --no-fund --loglevel=error)

step "start PostgreSQL 15 for the MES store tests (private socket directory, no TCP)"
pg_dir=$(mktemp -d /tmp/gv-test-pg.XXXXXX)
trap 'scripts/postgres.sh stop "$pg_dir" || true; rm -rf "$pg_dir"' EXIT
MES_TEST_POSTGRES=$(scripts/postgres.sh start "$pg_dir" $((40000 + RANDOM % 20000)))
export MES_TEST_POSTGRES
echo "PostgreSQL at $MES_TEST_POSTGRES"

step "tests"
ctest --test-dir build/ci -LE benchmark -j "$jobs" --timeout 300 --no-tests=error --output-on-failure

step "benchmark smoke run"
ctest --test-dir build/ci -L benchmark --timeout 300 --no-tests=error --output-on-failure

if [ "${SKIP_TSAN:-0}" != "1" ]; then
  step "ThreadSanitizer: concurrency tests"
  cmake --preset tsan >/dev/null
  # The test executables that exercise threads (producers + drain, io threads, drain thread, the
  # huge-page populating thread), and the real processes behind the FIX and MQTT tests (the
  # venue's engine hand-off and FIX connections in both threading modes, the MES's MQTT ingest
  # and spool threads).
  tsan_tests="core_test metrics_test status_integration_test http_integration_test mes_store_test
    mes_service_test trading_fix_integration_test trading_fix_garbage_test mes_sensors_test
    trading_journal_follower_test"
  tsan_tests=$(tr -s ' \n' ' ' <<<"$tsan_tests")  # one line
  tsan_tests=${tsan_tests% }
  # Reports from code that is not ours (QuickFIX's mutex, Paho's callbacks): tests/tsan.supp.
  export TSAN_OPTIONS="suppressions=$root/tests/tsan.supp"
  # shellcheck disable=SC2086
  cmake --build --preset tsan --target $tsan_tests
  # ASLR with high entropy breaks older TSan runtimes; setarch -R runs without randomisation.
  setarch "$(uname -m)" -R ctest --test-dir build/tsan -R "^(${tsan_tests// /|})\\." -j "$jobs" --timeout 300 --no-tests=error --output-on-failure
fi

if [ "${SKIP_FUZZ:-0}" != "1" ]; then
  step "fuzz: every parser harness for ${FUZZ_SECONDS:-20} s (libFuzzer, ASan + UBSan)"
  fuzzers="decimal burn_rate evidence routes journal snapshot gateway session_store fix_framer time_zone mes_text mes_api mes_archive mes_ingest status_document deploy_metrics traceparent sox_records"
  cmake --preset fuzz >/dev/null
  # shellcheck disable=SC2046,SC2086  # one target per word
  cmake --build --preset fuzz --target $(printf 'fuzz_%s ' $fuzzers)
  work=$(mktemp -d)
  for f in $fuzzers; do
    mkdir -p "$work/$f"
    # The machine's zoneinfo files are further seeds for the TZif parser (read, never copied).
    extra_seeds=()
    if [ "$f" = time_zone ] && [ -d /usr/share/zoneinfo/Europe ]; then
      extra_seeds=(/usr/share/zoneinfo/Europe)
    fi
    # New corpus entries go to a scratch folder; the committed seeds stay as they are.
    if ! (cd "$work" && "$root/build/fuzz/fuzz/fuzz_$f" -max_total_time="${FUZZ_SECONDS:-20}" \
          -rss_limit_mb=2048 "$work/$f" "$root/fuzz/corpus/$f" "${extra_seeds[@]}" \
          >"$work/$f.log" 2>&1); then
      grep -v '^{"ts"' "$work/$f.log" | tail -40
      echo "fuzz_$f found a crash (input saved in $work)" >&2
      exit 1
    fi
    echo "fuzz_$f: $(grep -E '^Done' "$work/$f.log")"
  done
  rm -rf "$work"
fi

if [ "${SKIP_DEPLOY:-0}" != "1" ]; then
  step "deployment artifacts: images built and run, manifests, compose and Terraform checked"
  # Release binaries for the images (the install tree the Containerfiles take, so the images do
  # not compile the project a second time), then every check of scripts/check-deploy.sh.
  scripts/check-deploy.sh
  step "deployment checks refuse broken copies"
  tests/deploy/check_deploy_test.sh
fi

if [ "${SKIP_DRILL:-0}" != "1" ]; then
  step "drill: pharma-mes blue/green on PostgreSQL, Mosquitto and HAProxy (scripts/drill.sh mes)"
  # Three deployments under load; exits non-zero unless every target is met (its last line).
  DRILL_KEEP=0 scripts/drill.sh mes
  step "drill: trading-engine cutovers under FIX order flow through HAProxy (scripts/drill.sh venue)"
  # A good cutover, a rollback after promotion, a refusal before it; 0 lost orders, 0 duplicate
  # fills, 0 sequence resets, equal digests (its last line).
  DRILL_KEEP=0 scripts/drill.sh venue
fi

if [ "${SKIP_DASHBOARDS:-0}" != "1" ]; then
  step "dashboards: rules unit tests, the demo under Prometheus, every panel's query (scripts/check-dashboards.sh)"
  scripts/check-dashboards.sh
fi

step "all tests passed"

#!/usr/bin/env bash
# Configures, builds and runs the whole test suite (unit, integration, interop) with
# AddressSanitizer + UndefinedBehaviorSanitizer (GITSOPS_SANITIZE=ON, shared dependencies).
# Every report is fatal, and every report counts: the integration tests run git, which runs
# git-sops as a filter and a hook, and many tests expect a nonzero exit on purpose, so an
# aborting child could pass for an expected failure. Each sanitizer therefore also writes its
# report to a file under $BUILD_DIR/sanitizer-logs, and any file there fails this script.
# Pass extra CTest arguments, e.g. -R filter. JOBS sets build and test parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-build/sanitize}
SHARED=${SHARED:-$(cd .. && pwd)/shared}
JOBS=${JOBS:-$(nproc)}
start=$(date +%s)

# -O1: the usual sanitizer trade-off (readable stacks, a third of the -O0 run time).
# TEST_TIMEOUT: CTest's limit per shell test (900 s in normal builds). Under ASan git-sops runs
# several times slower, and on a loaded machine the slowest tests can pass 900 s without a fault.
cmake -S . -B "$BUILD_DIR" -G Ninja -DGITSOPS_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DGITSOPS_SHARED="$SHARED" \
      -DGITSOPS_SHELL_TEST_TIMEOUT="${TEST_TIMEOUT:-2700}" ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"

if [ -f "$SHARED/peers/install.sh" ]; then
  bash "$SHARED/peers/install.sh" "$BUILD_DIR/peers" >/dev/null
fi

LOGS=$(realpath "$BUILD_DIR")/sanitizer-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
# halt_on_error: the first report ends the process (UBSan also needs -fno-sanitize-recover=all,
# which CMakeLists.txt passes). log_path: the report goes to $LOGS/<tool>.<pid> instead of a
# stderr that a test may swallow or compare.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:strict_init_order=1:log_path=$LOGS/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$LOGS/ubsan"
export LSAN_OPTIONS="suppressions=$ROOT/tests/sanitize/lsan.supp:print_suppressions=0"

# The fault-injection tests repeat one scenario FAULT_TRIALS times (default 20): under ASan a
# 1,000-file git add through the filter is ~10x slower and 20 trials overrun CTest's 900 s. Five
# trials still reach every code path the kills interrupt; the trial statistics come from the
# normal suite.
export FAULT_TRIALS=${FAULT_TRIALS:-5}
# tamper.sh allows each case TAMPER_LIMIT s of CPU (default 2) and stops it at 5x that. ASan and
# LSan cost ~4x CPU: check --staged of its 200,000-key Secret took 3.6 s CPU and 14 s wall here
# (0.95 s and 1.9 s without sanitizers) and was killed at 10 s. The CPU limit is a performance
# property, which the normal suite checks.
export TAMPER_LIMIT=${TAMPER_LIMIT:-8}

status=0
(cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS" "$@") || status=$?

reports=$(find "$LOGS" -type f | sort)
if [ -n "$reports" ]; then
  echo "sanitizer reports ($(echo "$reports" | wc -l)):" >&2
  for f in $reports; do echo "== $f" >&2; cat "$f" >&2; done
  [ "$status" -ne 0 ] || status=1
else
  echo "sanitizer reports: none"
fi
echo "sanitize.sh: wall time $(( $(date +%s) - start )) s"
exit "$status"

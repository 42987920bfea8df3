#!/usr/bin/env bash
# Runs the whole test suite once under valgrind memcheck: the unit test executables directly,
# the shell tests (integration, interop) with GIT_SOPS and the first git-sops on PATH being
# tests/valgrind/git-sops, so the filter and hook runs git starts are checked as well.
# A plain -O1 -g build (no sanitizers: valgrind and ASan do not mix) in $BUILD_DIR.
#
#   scripts/valgrind.sh [REGEX]     only the tests whose name (e.g. integration_filter_sops,
#                                   unit_age) matches REGEX
# GITSOPS_VG_TRACK_ORIGINS=no: faster, same errors, reports without the origin of a value.
# Reports land in $BUILD_DIR/valgrind-logs/<test>/vg.<pid>; any nonempty one fails the script.
# Slow: valgrind costs ~1 s of start-up per git-sops process and 20-50x on crypto loops.
# Checks that fail under valgrind without a finding (the tests' premises do not hold here):
# - lifecycle_edit "the hint names kubectl", lifecycle_init "missing kubectl: says why": valgrind
#   runs glibc's posix_spawn (clone with CLONE_VM|CLONE_VFORK) as a plain fork, so a program
#   missing from PATH no longer fails posix_spawnp with ENOENT; the child exits 127 instead (a
#   5-line C program shows the same), and git-sops reports kubectl's failure without the hint.
#   For the same reason unit_base's "a program that cannot start" fails its three checks.
# - merge_driver "install configures the merge driver", git_install's full-path checks: they
#   expect `install` to write $GIT_SOPS, but here git-sops on PATH is the wrapper (so that git's
#   filter and hook runs go through valgrind too), and /proc/self/exe is the real binary, never
#   the wrapper: install writes the plain name, or the real binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-build/valgrind}
SHARED=${SHARED:-$(cd .. && pwd)/shared}
JOBS=${JOBS:-$(nproc)}
FILTER=${1:-.}
TEST_TIMEOUT=${TEST_TIMEOUT:-5400}
start=$(date +%s)

if [ "${NO_BUILD:-0}" != 1 ]; then  # NO_BUILD=1: test the build folder as it is
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
        -DGITSOPS_STATIC_DEPS=OFF -DGITSOPS_SHARED="$SHARED" ${CMAKE_ARGS:-} >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS"
fi
if [ -f "$SHARED/peers/install.sh" ]; then
  bash "$SHARED/peers/install.sh" "$BUILD_DIR/peers" >/dev/null
fi

BUILD=$(realpath "$BUILD_DIR")
LOGS=$BUILD/valgrind-logs
rm -rf "$LOGS"
mkdir -p "$LOGS/link"
ln -s "$BUILD/git-sops" "$LOGS/link/git-sops"
export GITSOPS_VG_REAL=$BUILD/git-sops GITSOPS_VG_LINK=$LOGS/link
export GITSOPS_VG_SUPP=$ROOT/tests/valgrind/memcheck.supp
GITSOPS_VG_BIN=$(command -v valgrind) || { echo "valgrind.sh: valgrind not found" >&2; exit 1; }
export GITSOPS_VG_BIN
export SHARED PEERS_NODE_MODULES=$BUILD/peers/node_modules TESTLIB=$ROOT/tests/lib.sh
export GIT_SOPS=$ROOT/tests/valgrind/git-sops
export PATH=$ROOT/tests/valgrind:$PATH
export BUILD LOGS TEST_TIMEOUT
# Tests with wall-clock limits (filter_protocol's "fails within a second") stretch them by this
# factor: valgrind's start-up alone is 2-3 s per git-sops process on a loaded machine.
export GITSOPS_TEST_SLOWDOWN=${GITSOPS_TEST_SLOWDOWN:-10}

# run_one NAME COMMAND...: one test, its output in $LOGS/NAME.out, its reports in $LOGS/NAME/.
run_one() {
  local name=$1; shift
  export GITSOPS_VG_LOGS=$LOGS/$name
  mkdir -p "$GITSOPS_VG_LOGS"
  local t0=$SECONDS rc=0
  (cd "$BUILD" && timeout "$TEST_TIMEOUT" "$@") > "$LOGS/$name.out" 2>&1 || rc=$?
  find "$GITSOPS_VG_LOGS" -type f -empty -delete
  local n
  n=$(find "$GITSOPS_VG_LOGS" -type f | wc -l)
  printf '%-36s exit %-3s %4ss  valgrind reports: %s\n' "$name" "$rc" $((SECONDS - t0)) "$n"
}
export -f run_one

{
  for exe in "$BUILD"/tests/unit_*; do
    [ -x "$exe" ] || continue
    name=$(basename "$exe")
    echo "$name valgrind --tool=memcheck -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --track-origins=${GITSOPS_VG_TRACK_ORIGINS:-yes} --num-callers=30 --suppressions=$GITSOPS_VG_SUPP --log-file=$LOGS/$name/vg.%p $exe"
  done
  for t in tests/integration/*.sh tests/interop/*.sh; do
    kind=$(basename "$(dirname "$t")")
    echo "${kind}_$(basename "$t" .sh) bash $ROOT/$t"
  done
} | grep -E "^[^ ]*($FILTER)" | xargs -P "$JOBS" -L 1 bash -c 'run_one "$@"' _ | tee "$LOGS/summary.txt"

status=0
failed=$(awk '$3 != 0 || $NF != 0' "$LOGS/summary.txt")
if [ -n "$failed" ]; then
  echo "failed or reported:" >&2
  echo "$failed" >&2
  status=1
fi
reports=$(find "$LOGS" -mindepth 2 -type f -name 'vg.*' | sort)
for f in $reports; do echo "== $f" >&2; cat "$f" >&2; done
echo "valgrind.sh: $(wc -l < "$LOGS/summary.txt") tests, $(echo -n "$reports" | grep -c . || true) reports, wall time $(( $(date +%s) - start )) s"
exit "$status"

# Shared helpers for the shell tests under tests/integration and tests/interop.
# CTest sets GIT_SOPS (the binary under test), SHARED (../shared) and PEERS_NODE_MODULES.
set -uo pipefail

: "${GIT_SOPS:?GIT_SOPS must name the git-sops binary}"
: "${SHARED:?SHARED must name the shared folder}"
export PEERS_NODE_MODULES=${PEERS_NODE_MODULES:-}

T_PASSED=0
T_FAILED=0
T_NAME=${0##*/}

# A private scratch folder, removed on exit; HOME points into it so no test sees the user's keys.
T_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/git-sops-test.XXXXXX")
trap 'rm -rf "$T_ROOT"' EXIT
export HOME="$T_ROOT/home" XDG_CONFIG_HOME="$T_ROOT/home/.config"
mkdir -p "$HOME"
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD SOPS_AGE_SSH_PRIVATE_KEY_FILE SOPS_CONFIG
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@example.com \
       GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@example.com
git config --global init.defaultBranch main
git config --global advice.detachedHead false

pass() { T_PASSED=$((T_PASSED + 1)); }
fail() { T_FAILED=$((T_FAILED + 1)); echo "FAIL [$T_NAME]: $*" >&2; }

# check DESCRIPTION COMMAND...: passes when the command exits 0.
check() { local d=$1; shift; if "$@"; then pass; else fail "$d"; fi; }
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() { if [ "$2" == "$3" ]; then pass; else fail "$1: expected [$2], got [$3]"; fi; }
# check_exit DESCRIPTION CODE COMMAND...: passes when the command exits with CODE.
check_exit() {
  local d=$1 want=$2; shift 2
  "$@" >/dev/null 2>&1
  local got=$?
  if [ "$got" -eq "$want" ]; then pass; else fail "$d: exit $got, wanted $want"; fi
}
# check_files_equal DESCRIPTION A B
check_files_equal() { if cmp -s "$2" "$3"; then pass; else fail "$1: $2 and $3 differ"; fi; }

peers_ready() { [ -n "$PEERS_NODE_MODULES" ] && [ -d "$PEERS_NODE_MODULES/age-encryption" ]; }

# Prints the closing line CTest's log shows and sets the exit status.
finish() {
  echo "$T_NAME: $T_PASSED passed, $T_FAILED failed"
  [ "$T_FAILED" -eq 0 ]
}

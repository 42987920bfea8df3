# Helpers for tests/integration/lifecycle_*.sh, sourced after $TESTLIB: the fake cluster, a
# scratch repository, reading files back, and the leak scan.
#
# Where things live during a test (all under $T_ROOT, removed at exit):
#   $HOME, $TMPDIR         scanned for leaks
#   $REPO                  the repository (worktree and .git), scanned, objects decompressed too
#   $FAKE_KUBE_DIR         the fake cluster: its Secrets and its log of argv and stdin. This is the
#                          only place a private key may be, so the scan leaves it out.
#   $T_ROOT/bin            test editors

FAKE_KUBECTL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export FAKE_KUBE_DIR="$T_ROOT/kube"
export TMPDIR="$T_ROOT/tmp"
T_BIN="$T_ROOT/bin"
mkdir -p "$FAKE_KUBE_DIR" "$TMPDIR" "$T_BIN"
echo fake-local >"$FAKE_KUBE_DIR/current-context"
printf 'fake-local\nfake-remote\n' >"$FAKE_KUBE_DIR/contexts"
export PATH="$FAKE_KUBECTL_DIR:$PATH"
unset FAKE_KUBE_FAIL SOPS_EDITOR EDITOR GIT_SOPS_TEST_CRASH_AT
# Scratch folders of `git sops edit` go to $XDG_RUNTIME_DIR when it is tmpfs: a private tmpfs
# folder per test, so tests running side by side do not see each other's.
export XDG_RUNTIME_DIR
XDG_RUNTIME_DIR=$(mktemp -d /dev/shm/git-sops-test.XXXXXX)
trap 'rm -rf "$T_ROOT" "$XDG_RUNTIME_DIR"' EXIT

# new_repo NAME: a fresh repository at $T_ROOT/NAME, made the current folder and $REPO.
new_repo() {
  REPO="$T_ROOT/$1"
  mkdir -p "$REPO" && cd "$REPO" && git init -q . && git commit -q --allow-empty -m root
}

# cluster_key [CONTEXT] [NAMESPACE] [SECRET] [ENTRY]: the private key the fake cluster holds.
cluster_key() {
  local f="$FAKE_KUBE_DIR/secrets/${1:-fake-local}/${2:-flux-system}/${3:-sops-age}"
  [ -f "$f" ] || return 1
  python3 -c 'import json,sys,base64; d=json.load(open(sys.argv[1]))["data"]; e=sys.argv[2]
if e in d: sys.stdout.write(base64.b64decode(d[e]).decode())' "$f" "${4:-age.agekey}"
}

# public_of KEY: the age1 recipient of a private key.
public_of() { printf '%s\n' "$1" | age-keygen -y 2>/dev/null; }

# show FILE: the decrypted file, through `git sops edit` with an editor that prints it and
# changes nothing (exit 200).
cat >"$T_BIN/print-editor" <<'EOF'
#!/bin/sh
cat "$1"
EOF
chmod +x "$T_BIN/print-editor"
show() { SOPS_EDITOR="$T_BIN/print-editor" "$GIT_SOPS" edit "$1" 2>/dev/null; }

# Every private key a test saw, for the leak scan.
T_KEYS=()
remember_key() { [ -n "$1" ] && T_KEYS+=("$1"); }

# no_leak WHAT: no remembered private key (nor its base64) in $HOME, $TMPDIR, the repository
# (files and decompressed objects), the scratch folder, or any argv in the kube log.
no_leak() {
  local what=$1 k b64 found=""
  for k in "${T_KEYS[@]}"; do
    b64=$(printf '%s' "$k" | base64 -w0)
    for needle in "$k" "$b64" "${k%?}"; do
      if grep -rqF -- "$needle" "$HOME" "$TMPDIR" ${REPO:+"$REPO"} 2>/dev/null; then found="files"; fi
      if [ -n "${REPO:-}" ] && [ -d "$REPO/.git" ] &&
         git -C "$REPO" cat-file --batch-all-objects --batch 2>/dev/null | grep -qaF -- "$needle"; then
        found="git objects"
      fi
      if grep -v '^stdin: ' "$FAKE_KUBE_DIR/log" 2>/dev/null | grep -qF -- "$needle"; then found="kubectl argv"; fi
    done
    grep -rqF -- "$k" "$XDG_RUNTIME_DIR" 2>/dev/null && found="scratch folder"
  done
  if [ -z "$found" ]; then pass; else fail "$what: a private key leaked into $found"; fi
}

# scratch_folders: the number of git-sops edit folders left behind.
scratch_folders() { find "$XDG_RUNTIME_DIR" -mindepth 1 -maxdepth 1 -name 'git-sops-edit.*' | wc -l; }

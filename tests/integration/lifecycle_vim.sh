#!/usr/bin/env bash
# git sops edit driven through a real vim inside tmux: change a value and save; then save invalid
# YAML, answer the "reopen editor?" prompt on the terminal, fix it and save.
source "$TESTLIB"
source "$(dirname "$0")/../fake-kubectl/lifecycle.sh"
OUT="$T_ROOT/out"
mkdir -p "$OUT"

if ! command -v tmux >/dev/null || ! command -v vim >/dev/null; then
  echo "lifecycle_vim.sh: skipped (needs tmux and vim; install.sh installs tmux and vim-tiny)"
  finish
  exit
fi

printf '#!/bin/bash\nsed -i "s/  key: value/  user: admin\\n  password: old-value/" "$1"\n' >"$T_BIN/fill"
chmod +x "$T_BIN/fill"
new_repo repo
"$GIT_SOPS" init >/dev/null 2>&1 || fail "init"
key=$(cluster_key); remember_key "$key"
F=apps/grafana-secret.yaml
EDITOR="$T_BIN/fill" "$GIT_SOPS" edit "$F" 2>/dev/null
git add -A && git commit -qm secret

# A private tmux server, gone at exit.
unset TMUX
export TMUX_TMPDIR="$T_ROOT/tmux"
mkdir -p "$TMUX_TMPDIR"
SOCK="git-sops-test-$$"
trap 'tmux -L "$SOCK" kill-server 2>/dev/null; rm -rf "$T_ROOT" "$XDG_RUNTIME_DIR"' EXIT

screen() { tmux -L "$SOCK" capture-pane -p -t edit 2>/dev/null; }
# wait_for TEXT: until the terminal shows TEXT (10 s at most).
wait_for() {
  for _ in $(seq 100); do screen | grep -qF -- "$1" && return 0; sleep 0.1; done
  echo "--- terminal, waiting for [$1]:" >&2; screen >&2; return 1
}
keys() { tmux -L "$SOCK" send-keys -t edit "$@"; }
# edit_in_vim: starts `git sops edit` with vim in a new tmux session; its exit status goes to $OUT/rc.
edit_in_vim() {
  rm -f "$OUT/rc"
  tmux -L "$SOCK" new-session -d -s edit -x 120 -y 30 \
    "cd '$REPO' && SOPS_EDITOR='vim -u NONE -N -n' '$GIT_SOPS' edit '$F'; echo \$? >'$OUT/rc'; sleep 60"
}
wait_exit() {
  for _ in $(seq 100); do [ -s "$OUT/rc" ] && { cat "$OUT/rc"; tmux -L "$SOCK" kill-session -t edit; return; }; sleep 0.1; done
  echo timeout; screen >&2
}

# ---- change one value and save ---------------------------------------------------------------------
edit_in_vim
check "vim shows the decrypted value" wait_for "password: old-value"
keys "/old-value" Enter "cWnew-value" Escape ":wq" Enter
check_eq "edit through vim: exit 0" 0 "$(wait_exit)"
check_eq "the new value is saved" "new-value" "$(show "$F" | sed -n 's/.*password: //p')"
# (lastmodified has a one-second resolution: it may or may not change in so short a test)
check_eq "only that value and mac (and lastmodified) changed" "mac password " \
  "$(git diff -U0 -- "$F" | grep '^[-+] ' | sed 's/^[-+] *//; s/:.*//' | grep -v '^lastmodified$' | sort -u | tr '\n' ' ')"
check_eq "no scratch folder left" 0 "$(scratch_folders)"
git commit -qam "vim edit"

# ---- invalid YAML, "reopen editor?" answered with Enter, then fixed -----------------------------------------
edit_in_vim
check "vim shows the file again" wait_for "password: new-value"
keys "G" "o" "broken: [unclosed" Escape ":wq" Enter
check "the prompt appears on the terminal" wait_for "Reopen the editor to fix it? [Y/n]"
check "the YAML error is shown above it" bash -c "tmux -L '$SOCK' capture-pane -p -t edit | grep -q '$F'"
keys Enter
check "vim reopens with the edit kept" wait_for "broken: [unclosed"
keys ":g/broken/d" Enter "/new-value" Enter "cWfixed-value" Escape ":wq" Enter
check_eq "fixed after reopening: exit 0" 0 "$(wait_exit)"
check_eq "the fix is saved" "fixed-value" "$(show "$F" | sed -n 's/.*password: //p')"
check_eq "no scratch folder left after the reopen" 0 "$(scratch_folders)"

# ---- quitting without saving: unchanged, exit 200 ---------------------------------------------------------------
cp "$F" "$OUT/before"
edit_in_vim
check "vim shows the file" wait_for "password: fixed-value"
keys ":q!" Enter
check_eq "quit without saving: exit 200" 200 "$(wait_exit)"
check_files_equal "quit without saving: file unchanged" "$OUT/before" "$F"

no_leak "vim"
finish

#!/usr/bin/env bash
# git sops edit with scripted editors: create from a skeleton, one changed value gives a one-value
# diff, invalid YAML then fixed, no change -> 200, Ctrl-C and SIGTERM remove the scratch folder
# and keep the file, keys from the environment or from the cluster.
source "$TESTLIB"
source "$(dirname "$0")/../fake-kubectl/lifecycle.sh"
OUT="$T_ROOT/out"
mkdir -p "$OUT"

editor() {  # NAME BODY: a test editor script ($1 is the file it edits)
  printf '#!/bin/bash\n%s\n' "$2" >"$T_BIN/$1"
  chmod +x "$T_BIN/$1"
}

new_repo repo
"$GIT_SOPS" init >/dev/null 2>"$OUT/init.err" || fail "init: $(cat "$OUT/init.err")"
key=$(cluster_key); remember_key "$key"; pub=$(public_of "$key")
F=apps/grafana-secret.yaml

# ---- a new file starts from a Secret skeleton and is encrypted by its rule ------------------------
editor fill 'sed -i "s/  key: value/  admin-user: admin\n  admin-password: hunter2\n  api-token: t0ken/" "$1"'
EDITOR="$T_BIN/fill" "$GIT_SOPS" edit "$F" 2>"$OUT/new.err"
rc=$?; check_eq "edit of a new file exits 0 ($(cat "$OUT/new.err"))" 0 "$rc"
check "the new file is encrypted for the cluster key" grep -qF "recipient: $pub" "$F"
check "values are encrypted" grep -q 'admin-password: ENC\[AES256_GCM' "$F"
check "no plaintext value in the file" bash -c "! grep -q hunter2 '$F'"
check "the skeleton's name comes from the file name" grep -q 'name: grafana-secret' "$F"
check_eq "decrypts to what was typed" "hunter2" "$(show "$F" | sed -n 's/.*admin-password: //p')"
check_eq "no scratch folder left" 0 "$(scratch_folders)"
git add -A && git commit -qm secret
no_leak "new file"

# ---- one value changed: only that value's ciphertext (and lastmodified, mac) change ------------------
editor change 'sed -i "s/hunter2/correct-horse/" "$1"'
EDITOR="$T_BIN/change" "$GIT_SOPS" edit "$F" 2>"$OUT/change.err"
rc=$?; check_eq "edit exits 0 ($(cat "$OUT/change.err"))" 0 "$rc"
check "without SOPS_AGE_KEY the key came from the cluster" grep -q 'using the age key of secret flux-system/sops-age' "$OUT/change.err"
# (lastmodified has a one-second resolution: it may or may not change in so short a test)
changed=$(git diff -U0 -- "$F" | grep '^[-+] ' | sed 's/^[-+] *//; s/:.*//' | grep -v '^lastmodified$' | sort -u | tr '\n' ' ')
check_eq "git diff shows only the changed value and mac (and lastmodified)" "admin-password mac " "$changed"
check_eq "one line added per changed key" 2 "$(git diff -U0 -- "$F" | grep '^+ ' | grep -vc 'lastmodified:')"
check_eq "the new value decrypts" "correct-horse" "$(show "$F" | sed -n 's/.*admin-password: //p')"
check_eq "other values unchanged" "admin" "$(show "$F" | sed -n 's/.*admin-user: //p')"
git commit -qam change
no_leak "one value changed"

# ---- SOPS_EDITOR wins over EDITOR; the editor command is split shell-style -------------------------------
editor with-arg 'v=$1; shift; sed -i "s/t0ken/$v/" "$1"'
SOPS_EDITOR="'$T_BIN/with-arg' 'n3w t0ken'" EDITOR=false "$GIT_SOPS" edit "$F" 2>"$OUT/split.err"
rc=$?; check_eq "SOPS_EDITOR with a quoted argument ($(cat "$OUT/split.err"))" 0 "$rc"
check_eq "the quoted argument arrived as one word" "n3w t0ken" "$(show "$F" | sed -n 's/.*api-token: //p')"
git commit -qam split

# ---- no change: exit 200, nothing written ------------------------------------------------------------
cp "$F" "$OUT/before"
EDITOR=true "$GIT_SOPS" edit "$F" 2>"$OUT/same.err"
check_eq "unchanged file: exit 200" 200 "$?"
check_files_equal "unchanged file: nothing written" "$OUT/before" "$F"
# Only formatting changed (same values): as unchanged.
editor reindent 'sed -i "s/^  /    /" "$1"'
EDITOR="$T_BIN/reindent" "$GIT_SOPS" edit "$F" 2>/dev/null
check_eq "same values, other indentation: exit 200" 200 "$?"
check_files_equal "same values: nothing written" "$OUT/before" "$F"

# ---- invalid YAML without a terminal: abort, keep the file --------------------------------------------
editor break 'printf "stringData: [unclosed\n" >"$1"'
EDITOR="$T_BIN/break" setsid -w "$GIT_SOPS" edit "$F" </dev/null >"$OUT/broken.out" 2>"$OUT/broken.err"
check_eq "invalid YAML without a terminal: exit 1" 1 "$?"
check "the YAML error is shown" grep -q "$F" "$OUT/broken.err"
check "says there is no terminal to ask" grep -q 'no terminal' "$OUT/broken.err"
check_files_equal "invalid YAML: file unchanged" "$OUT/before" "$F"
check_eq "invalid YAML: no scratch folder left" 0 "$(scratch_folders)"

# A top-level sops key is refused the same way.
editor sopskey 'printf "sops: {}\n" >>"$1"'
EDITOR="$T_BIN/sopskey" setsid -w "$GIT_SOPS" edit "$F" </dev/null 2>"$OUT/sops.err"
check_eq "a 'sops' key in the edit: exit 1" 1 "$?"
check "explains the reserved key" grep -q "reserved for the sops metadata" "$OUT/sops.err"
check_files_equal "'sops' key: file unchanged" "$OUT/before" "$F"

# ---- invalid YAML, then fixed on the second run (answer on the terminal) ----------------------------
# The editor keeps a counter: first run breaks the file, second run fixes it and changes a value.
editor twice 'n=$(cat "'"$OUT"'/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n >"'"$OUT"'/count"
if [ $n -eq 1 ]; then cp "$1" "'"$OUT"'/good"; printf "stringData: [unclosed\n" >>"$1"
else cp "'"$OUT"'/good" "$1"; sed -i "s/admin$/root/" "$1"; fi'
rm -f "$OUT/count"
printf '\n' | EDITOR="$T_BIN/twice" script -qec "'$GIT_SOPS' edit '$F'" /dev/null >"$OUT/twice.out" 2>&1
rc=$?; check_eq "invalid then fixed: exit 0 ($(tr -d '\r' <"$OUT/twice.out" | tail -3))" 0 "$rc"
check_eq "the editor ran twice" 2 "$(cat "$OUT/count")"
check "the prompt was shown on the terminal" grep -q 'Reopen the editor' "$OUT/twice.out"
check_eq "the fix was saved" "root" "$(show "$F" | sed -n 's/.*admin-user: //p')"
check_eq "invalid then fixed: no scratch folder left" 0 "$(scratch_folders)"
git commit -qam fixed
rm -f "$OUT/good" "$OUT/twice.out"

# Answering no: the edit is abandoned, the file unchanged.
cp "$F" "$OUT/before"
rm -f "$OUT/count"
printf 'n\n' | EDITOR="$T_BIN/twice" script -qec "'$GIT_SOPS' edit '$F'" /dev/null >"$OUT/no.out" 2>&1
check_eq "answering no: exit 1" 1 "$?"
check_files_equal "answering no: file unchanged" "$OUT/before" "$F"
rm -f "$OUT/good"

# ---- Ctrl-C and SIGTERM while the editor runs ------------------------------------------------------
for sig in INT TERM; do
  editor "kill-$sig" 'echo "$1" >"'"$OUT"'/scratch"; sed -i "s/root/killed/" "$1"; kill -'"$sig"' $PPID; sleep 0.5'
  cp "$F" "$OUT/before"
  # (in a command substitution, so that bash's "Terminated" line stays out of the log)
  rc=$( { EDITOR="$T_BIN/kill-$sig" "$GIT_SOPS" edit "$F"; echo $?; } 2>/dev/null )
  want=$((128 + $(kill -l "$sig")))
  check_eq "SIG$sig: git-sops dies of the signal" "$want" "$rc"
  scratch=$(cat "$OUT/scratch")
  check "SIG$sig: the scratch file was on tmpfs" test "$(stat -f -c %T "$(dirname "$(dirname "$scratch")")")" = tmpfs
  check "SIG$sig: scratch folder removed" test ! -e "$(dirname "$scratch")"
  check_eq "SIG$sig: no scratch folder left" 0 "$(scratch_folders)"
  check_files_equal "SIG$sig: original file unchanged" "$OUT/before" "$F"
done

# ---- scratch file: private folder, mode 0600, named like the file -------------------------------------
editor inspect 'stat -c %a "$(dirname "$1")" >"'"$OUT"'/dirmode"; stat -c %a "$1" >"'"$OUT"'/filemode"; basename "$1" >"'"$OUT"'/name"'
EDITOR="$T_BIN/inspect" "$GIT_SOPS" edit "$F" 2>/dev/null
check_eq "scratch folder mode" 700 "$(cat "$OUT/dirmode")"
check_eq "scratch file mode" 600 "$(cat "$OUT/filemode")"
check_eq "scratch file named like the file" grafana-secret.yaml "$(cat "$OUT/name")"

# ---- keys from the environment first: the cluster is not asked -------------------------------------
calls=$(wc -l <"$FAKE_KUBE_DIR/log")
SOPS_AGE_KEY="$key" FAKE_KUBE_FAIL=refused EDITOR="$T_BIN/change" "$GIT_SOPS" edit "$F" 2>"$OUT/env.err"
check_eq "SOPS_AGE_KEY: edit works while the cluster is unreachable" 200 "$?"
check_eq "SOPS_AGE_KEY: kubectl not run" "$calls" "$(wc -l <"$FAKE_KUBE_DIR/log")"

# The editor does not inherit SOPS_AGE_KEY.
editor envcheck 'env | grep -c "^SOPS_AGE_KEY=" >"'"$OUT"'/envcount"'
SOPS_AGE_KEY="$key" EDITOR="$T_BIN/envcheck" "$GIT_SOPS" edit "$F" 2>/dev/null
check_eq "the editor's environment has no SOPS_AGE_KEY" 0 "$(cat "$OUT/envcount")"

# No key anywhere: the error says where it looked, nothing is written.
cp "$F" "$OUT/before"
FAKE_KUBE_FAIL=refused EDITOR="$T_BIN/change" "$GIT_SOPS" edit "$F" 2>"$OUT/nokey.err"
check_eq "no key: exit 1 (cluster unreachable)" 1 "$?"
check "no key: one clear line about the cluster" grep -q 'cannot reach the cluster' "$OUT/nokey.err"
check_files_equal "no key: file unchanged" "$OUT/before" "$F"

# ---- a file no rule routes cannot be created ----------------------------------------------------------
EDITOR="$T_BIN/fill" "$GIT_SOPS" edit notes/readme.yaml 2>"$OUT/norule.err"
check_eq "no rule: exit 1" 1 "$?"
check "no rule: says so" grep -q 'no matching creation rules' "$OUT/norule.err"
check "no rule: nothing created" test ! -e notes/readme.yaml

# ---- a fresh clone has no records: the cluster kubectl points at is tried -------------------------------
git commit -qam "before clone" >/dev/null 2>&1
git clone -q "$REPO" "$T_ROOT/clone" && cd "$T_ROOT/clone" && REPO="$T_ROOT/clone"
check "the clone has no cluster records" test ! -e .git/git-sops/clusters
EDITOR="$T_BIN/change" "$GIT_SOPS" edit "$F" 2>"$OUT/clone.err"
rc=$?
check_eq "fresh clone: edit through kubectl's current context ($(tail -1 "$OUT/clone.err"))" 200 "$rc"
check "fresh clone: the current context's Secret was used" grep -q 'context fake-local' "$OUT/clone.err"
mkdir -p "$T_ROOT/nopath"
PATH="$T_ROOT/nopath" EDITOR="$T_BIN/change" "$GIT_SOPS" edit "$F" 2>"$OUT/clone.err"
rc=$?
check_eq "fresh clone without kubectl: could not retrieve the key (128)" 128 "$rc"
check "fresh clone without kubectl: the hint names kubectl" grep -q 'kubectl not found' "$OUT/clone.err"

no_leak "edit"
finish

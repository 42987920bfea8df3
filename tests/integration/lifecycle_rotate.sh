#!/usr/bin/env bash
# git sops rotate: SIGKILL at every step (GIT_SOPS_TEST_CRASH_AT), then a rerun; every file opens
# with the old or the new key at any moment, and with the new key alone afterwards; only the
# rule's files change; --finish, --abort, init --force, --no-cluster.
source "$TESTLIB"
source "$(dirname "$0")/../fake-kubectl/lifecycle.sh"
OUT="$T_ROOT/out"
mkdir -p "$OUT"

printf '#!/bin/bash\nsed -i "s/  key: value/  user: u-$(basename "$1")\\n  password: p-$RANDOM/" "$1"\n' >"$T_BIN/fill"
chmod +x "$T_BIN/fill"
recipients() { grep 'recipient:' "$1" | sed 's/.*recipient: //' | sort | tr '\n' ' '; }
# opens_with KEY FILE: the file decrypts to its saved plaintext with KEY alone (no cluster).
opens_with() { [ "$(SOPS_AGE_KEY="$1" FAKE_KUBE_FAIL=refused show "$2")" == "$(cat "$OUT/plain/$2")" ]; }
# crash STEP OUT ERR: `git sops rotate` killed at STEP; prints its exit status (in a command
# substitution, so that bash's "Killed" line stays out of the log).
crash() {
  echo "$( { GIT_SOPS_TEST_CRASH_AT="$1" "$GIT_SOPS" rotate >"$2" 2>"$3"; echo $?; } 2>/dev/null )"
}
opens_either() { opens_with "$1" "$3" || opens_with "$2" "$3"; }

new_repo repo
"$GIT_SOPS" init >/dev/null 2>&1 || fail "init"
"$GIT_SOPS" init --rule 'remote/.*\.yaml$' --context fake-remote >/dev/null 2>&1 || fail "init remote"
remember_key "$(cluster_key)"; remember_key "$(cluster_key fake-remote)"
FILES=(apps/a-secret.yaml apps/b-secret.yaml infra/c-secret.yaml)
for f in "${FILES[@]}" remote/db.yaml; do
  EDITOR="$T_BIN/fill" "$GIT_SOPS" edit "$f" 2>/dev/null || fail "create $f"
  mkdir -p "$OUT/plain/$(dirname "$f")"; show "$f" >"$OUT/plain/$f"
done
git add -A && git commit -qm secrets
check_eq "three files in the local rule" 3 "$(grep -l "$(public_of "$(cluster_key)")" "${FILES[@]}" | wc -l)"

# ---- a crash at each step, then a rerun -------------------------------------------------------------------
for step in planned key-stored file-1 file-2 file-3 config finish; do
  old=$(cluster_key); oldpub=$(public_of "$old")
  rc=$(crash "$step" "$OUT/crash.out" "$OUT/crash.err")
  check_eq "crash at $step: killed ($(tail -1 "$OUT/crash.err"))" 137 "$rc"
  mid=$(cluster_key); remember_key "$mid"
  for f in "${FILES[@]}"; do
    check "crash at $step: $f opens with the old or the new key alone" opens_either "$old" "$mid" "$f"
    check "crash at $step: $f opens through the cluster" test "$(show "$f")" == "$(cat "$OUT/plain/$f")"
  done
  check "crash at $step: the journal holds no private key" bash -c "! grep -rq AGE-SECRET-KEY .git/git-sops"
  no_leak "crash at $step"

  "$GIT_SOPS" rotate >"$OUT/rerun.out" 2>"$OUT/rerun.err"
  rc=$?; check_eq "rerun after $step: exit 0 ($(tail -1 "$OUT/rerun.err"))" 0 "$rc"
  new=$(cluster_key); newpub=$(public_of "$new"); remember_key "$new"
  check "rerun after $step: a new key" test "$newpub" != "$oldpub"
  check_eq "rerun after $step: the new key is printed" "$(tr -d '\n' <<<"$new")" "$(grep '^AGE-SECRET-KEY' "$OUT/rerun.out")"
  rm -f "$OUT/rerun.out" "$OUT/crash.out"
  check_eq "rerun after $step: the cluster keeps the old key beside it" "$oldpub" \
    "$(public_of "$(cluster_key fake-local flux-system sops-age age-old.agekey)")"
  for f in "${FILES[@]}"; do
    check_eq "after $step: $f is for the new key only" "$newpub " "$(recipients "$f")"
    check "after $step: $f opens with the new key alone" opens_with "$new" "$f"
  done
  check "after $step: the other cluster's file is untouched" git diff --quiet -- remote/db.yaml
  check "after $step: .sops.yaml lists the new key" grep -qF "age: $newpub" .sops.yaml
  check "after $step: .sops.yaml no longer lists the old key" bash -c "! grep -qF '$oldpub' .sops.yaml"
  check "after $step: .sops.yaml keeps its comments" grep -q '^# Creation rules for sops' .sops.yaml
  check_eq "after $step: only the key changed in .sops.yaml" 2 "$(git diff -U0 .sops.yaml | grep -c '^[-+] ')"
  check "after $step: the journal is gone" test ! -e .git/git-sops/rotate
  no_leak "rerun after $step"

  check_exit "--finish before the commit: refused (HEAD still needs the old key)" 1 "$GIT_SOPS" rotate --finish
  git commit -qam "rotated ($step)"
  check_exit "--finish after the commit" 0 "$GIT_SOPS" rotate --finish
  check_eq "--finish drops the old key" "" "$(cluster_key fake-local flux-system sops-age age-old.agekey)"
done

# ---- a rotation does not start while the previous one is not finished ---------------------------------
crash finish /dev/null /dev/null >/dev/null
"$GIT_SOPS" rotate >/dev/null 2>&1 && git commit -qam again
remember_key "$(cluster_key)"
"$GIT_SOPS" rotate >/dev/null 2>"$OUT/unfinished.err"
check_eq "a second rotation before --finish: refused" 1 "$?"
check "says to run --finish" grep -q 'rotate --finish' "$OUT/unfinished.err"
"$GIT_SOPS" rotate --finish 2>/dev/null || fail "finish"

# ---- --abort rolls everything back -----------------------------------------------------------------------
for step in file-2 config; do
  old=$(cluster_key)
  crash "$step" /dev/null /dev/null >/dev/null
  remember_key "$(cluster_key)"
  "$GIT_SOPS" rotate --abort 2>"$OUT/abort.err"
  rc=$?; check_eq "abort after $step: exit 0 ($(cat "$OUT/abort.err"))" 0 "$rc"
  check "abort after $step: files and .sops.yaml as committed" git diff --quiet
  check_eq "abort after $step: the cluster holds the old key again" "$old" "$(cluster_key)"
  check_eq "abort after $step: no second entry" "" "$(cluster_key fake-local flux-system sops-age age-old.agekey)"
  check "abort after $step: the journal is gone" test ! -e .git/git-sops/rotate
  for f in "${FILES[@]}"; do check "abort after $step: $f opens with the old key" opens_with "$old" "$f"; done
done
check_exit "abort with nothing in progress" 1 "$GIT_SOPS" rotate --abort

# ---- a file nobody can open: nothing is rotated -----------------------------------------------------
stranger=$(age-keygen 2>/dev/null | grep '^# public key' | sed 's/.*: //')
printf 'creation_rules:\n  - age: %s\n' "$stranger" >"$OUT/stranger.yaml"
SOPS_CONFIG="$OUT/stranger.yaml" EDITOR="$T_BIN/fill" "$GIT_SOPS" edit apps/z-secret.yaml 2>/dev/null
git add apps/z-secret.yaml && git commit -qm stranger
before=$(cluster_key)
"$GIT_SOPS" rotate >/dev/null 2>"$OUT/stranger.err"
check "an unopenable file stops the rotation before any change" test $? -ne 0
check "names the file" grep -q 'apps/z-secret.yaml' "$OUT/stranger.err"
check_eq "the cluster key is unchanged" "$before" "$(cluster_key)"
check "no file changed" git diff --quiet
check "no journal left" test ! -e .git/git-sops/rotate
git rm -q apps/z-secret.yaml && git commit -qm "no stranger"

# ---- init --force is a rotation ---------------------------------------------------------------------------
old=$(cluster_key)
"$GIT_SOPS" init --force >"$OUT/force.out" 2>"$OUT/force.err"
rc=$?; check_eq "init --force: exit 0 ($(tail -1 "$OUT/force.err"))" 0 "$rc"
new=$(cluster_key); remember_key "$new"
check "init --force: new key in the cluster" test "$new" != "$old"
for f in "${FILES[@]}"; do check "init --force: $f opens with the new key alone" opens_with "$new" "$f"; done
rm -f "$OUT/force.out"
no_leak "init --force"

# ---- a late update from elsewhere overwrites the new key: rotate says so, --abort restores ----------
# The kubectl of an interrupted run can land after a rerun's own update. Here a wrapper around the
# fake cluster plays it: right after rotate's patch, another key lands in age.agekey.
remote_old=$(cluster_key fake-remote)
intruder=$(age-keygen 2>/dev/null | grep '^AGE-SECRET-KEY')
mkdir -p "$T_ROOT/late"
cat >"$T_ROOT/late/kubectl" <<EOF
#!/bin/bash
"$FAKE_KUBECTL_DIR/kubectl" "\$@" || exit
case " \$* " in *" patch "*)
  printf '{"data":{"age.agekey":"%s"}}' "$(printf '%s\n' "$intruder" | base64 -w0)" | "$FAKE_KUBECTL_DIR/kubectl" "\$@" >/dev/null ;;
esac
EOF
chmod +x "$T_ROOT/late/kubectl"
PATH="$T_ROOT/late:$PATH" "$GIT_SOPS" rotate --rule 'remote/.*\.yaml$' >"$OUT/late.out" 2>"$OUT/late.err"
rc=$?; check_eq "late update: rotate fails ($(tail -1 "$OUT/late.err"))" 1 "$rc"
check "late update: the message names the key the cluster now holds" grep -qF "(it now holds $(public_of "$intruder")" "$OUT/late.err"
check "late update: the message names the way out" grep -q 'git sops rotate --abort' "$OUT/late.err"
check "late update: no key printed" bash -c "! grep -q AGE-SECRET-KEY '$OUT/late.out'"
check "late update: the journal is kept" test -e .git/git-sops/rotate
"$GIT_SOPS" rotate --abort >/dev/null 2>"$OUT/late-abort.err"
rc=$?; check_eq "late update: --abort ($(tail -1 "$OUT/late-abort.err"))" 0 "$rc"
check "after --abort: remote/db.yaml opens with the old key alone" opens_with "$remote_old" remote/db.yaml
check "after --abort: .sops.yaml lists the old key again" grep -qF "$(public_of "$remote_old")" .sops.yaml
check_eq "after --abort: the cluster keeps the old key" "$(public_of "$remote_old")" \
  "$(public_of "$(cluster_key fake-remote flux-system sops-age age-old.agekey)")"
rm -f "$OUT/late.out"

# ---- --no-cluster: the new key is printed first and needed again to resume ------------------------
new_repo nocluster
"$GIT_SOPS" init --no-cluster >"$OUT/nc.out" 2>/dev/null
k1=$(grep '^AGE-SECRET-KEY' "$OUT/nc.out"); remember_key "$k1"
for f in "${FILES[@]}"; do
  EDITOR="$T_BIN/fill" "$GIT_SOPS" edit "$f" 2>/dev/null
  mkdir -p "$OUT/plain/$(dirname "$f")"; SOPS_AGE_KEY="$k1" show "$f" >"$OUT/plain/$f"
done
git add -A && git commit -qm secrets
calls=$(wc -l <"$FAKE_KUBE_DIR/log")
check_eq "--no-cluster crash: killed" 137 "$(SOPS_AGE_KEY="$k1" crash file-1 "$OUT/nc.out" /dev/null)"
k2=$(grep '^AGE-SECRET-KEY' "$OUT/nc.out"); remember_key "$k2"
check "--no-cluster: the new key was printed before any file changed" test -n "$k2"
SOPS_AGE_KEY="$k1" "$GIT_SOPS" rotate >/dev/null 2>"$OUT/nc.err"
check_eq "--no-cluster resume without the new key: refused" 1 "$?"
check "asks for the printed key" grep -q 'was printed by the interrupted run' "$OUT/nc.err"
SOPS_AGE_KEY="$k1
$k2" "$GIT_SOPS" rotate >"$OUT/nc.out" 2>"$OUT/nc.err"
rc=$?; check_eq "--no-cluster resume with both keys ($(tail -1 "$OUT/nc.err"))" 0 "$rc"
for f in "${FILES[@]}"; do check "--no-cluster: $f opens with the new key alone" opens_with "$k2" "$f"; done
check ".sops.yaml lists the new --no-cluster key" grep -qF "$(public_of "$k2")" .sops.yaml
check_eq "--no-cluster: kubectl never ran" "$calls" "$(wc -l <"$FAKE_KUBE_DIR/log")"
rm -f "$OUT/nc.out"
no_leak "--no-cluster rotation"
git add -A && git commit -qm "rotated without a cluster"

# ---- a decrypted worktree: rotate refuses until it is locked ---------------------------------------
"$GIT_SOPS" install >/dev/null && git add .gitattributes && git commit -qm "filter" --no-verify
SOPS_AGE_KEY="$k2" "$GIT_SOPS" unlock >/dev/null 2>&1
check "unlocked: the files are plaintext" bash -c "! grep -q '^sops:' apps/a-secret.yaml"
SOPS_AGE_KEY="$k2" "$GIT_SOPS" rotate >"$OUT/dec.out" 2>"$OUT/dec.err"
check_eq "rotate in a decrypted worktree: refused" 1 "$?"
check "the refusal names the way out" grep -q 'run `git sops lock`, then rotate' "$OUT/dec.err"
check_eq "the refusal changed nothing" "" "$(git status --porcelain)"
check "no key printed by the refusal" bash -c "! grep -q AGE-SECRET-KEY '$OUT/dec.out'"
SOPS_AGE_KEY="$k2" "$GIT_SOPS" lock >/dev/null 2>&1
SOPS_AGE_KEY="$k2" "$GIT_SOPS" rotate >"$OUT/dec.out" 2>"$OUT/dec.err"
rc=$?; check_eq "after lock, rotate works ($(tail -1 "$OUT/dec.err"))" 0 "$rc"
k3=$(grep '^AGE-SECRET-KEY' "$OUT/dec.out"); remember_key "$k3"
for f in "${FILES[@]}"; do check "after lock and rotate: $f opens with the new key alone" opens_with "$k3" "$f"; done
rm -f "$OUT/dec.out"

finish

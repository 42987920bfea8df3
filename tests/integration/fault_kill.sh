#!/usr/bin/env bash
# SIGKILL at random moments during `git sops encrypt -i`, `git sops edit`, `git sops rotate` and a
# 1,000-file `git add` through the filter process. After every kill: each file decrypts to its
# old or its new content, no plaintext is left anywhere (worktree, git dir, $TMPDIR, the edit
# scratch folder, every git object, the index), and a rerun completes.
#
# "Random": the delay before the SIGKILL is drawn uniformly over 1.2x the command's measured run
# time (so a few trials land after it finished), from bash's RANDOM seeded with FAULT_SEED.
# FAULT_TRIALS trials per command (default 20 to keep CI short; the issue's figure is 100).
source "$TESTLIB"
source "$(dirname "$0")/../fake-kubectl/lifecycle.sh"
OUT="$T_ROOT/out"
mkdir -p "$OUT"

TRIALS=${FAULT_TRIALS:-20}
SEED=${FAULT_SEED:-20261128}
RANDOM=$SEED
echo "fault_kill: seed $SEED, $TRIALS trials per command"
MARK=PLAINMARK   # every plaintext value carries it; no ciphertext can

# ---- helpers --------------------------------------------------------------------------------------

now_us() { date +%s%6N; }
# run_ms CMD...: wall time of one run in the background, as the trials run it, in microseconds.
run_us() {
  local t0 t1
  t0=$(now_us)
  { "$@" >/dev/null 2>&1 & wait $!; } 2>/dev/null
  t1=$(now_us)
  echo $((t1 - t0))
}
# measure_us CMD...: the median of three runs.
measure_us() { { run_us "$@"; run_us "$@"; run_us "$@"; } | sort -n | sed -n 2p; }
# draw_us MAX: a delay in [0, MAX) microseconds from the seeded RANDOM.
draw_us() { echo $(( (RANDOM * 32768 + RANDOM) % $1 )); }
# kill_after US OUT ERR CMD...: starts CMD, SIGKILLs it after US microseconds, prints its exit
# status (137 when the kill landed). The shell's "Killed" notice goes to /dev/null. CMD must be a
# program (bash execs it in the background job), not a shell function: the kill would hit the
# subshell running the function and leave the command running.
kill_after() {
  local us=$1 out=$2 err=$3 pid rc
  shift 3
  {
    "$@" >"$out" 2>"$err" &
    pid=$!
    sleep "$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
  } 2>/dev/null
  echo "$rc"
}
# kubectl_left: true while a fake kubectl of this test (started by a killed run, now an orphan)
# is still running. Builtins only: this runs after every kill.
kubectl_left() {
  local p args env
  for p in /proc/[0-9]*; do
    { mapfile -d '' -t args < "$p/cmdline"; } 2>/dev/null || continue
    [ "${args[1]:-}" = "$FAKE_KUBECTL_DIR/kubectl" ] || [ "${args[2]:-}" = "$FAKE_KUBECTL_DIR/kubectl" ] || continue
    { mapfile -d '' -t env < "$p/environ"; } 2>/dev/null || continue
    [[ " ${env[*]} " == *" FAKE_KUBE_DIR=$FAKE_KUBE_DIR "* ]] && return 0
  done
  return 1
}
# wait_kubectl: what a user's rerun comes after: the interrupted run's kubectl has ended (its
# update landed or failed). Without the wait, its late update races the rerun's own (up to 10 s).
wait_kubectl() {
  local i
  for i in $(seq 1 200); do kubectl_left || return 0; sleep 0.05; done
}
# leaks PLACE...: the places (files under the given folders) that hold the marker.
leaks() { grep -rlaF -- "$MARK" "$@" 2>/dev/null; }
# object_leaks REPO: how many of REPO's objects (loose and packed, staged or not) hold the marker.
object_leaks() { git -C "$1" cat-file --batch-all-objects --batch 2>/dev/null | grep -caF -- "$MARK"; }
# wait_scratch_gone: the edit scratch folder is removed by a process that outlives a SIGKILLed
# `git sops edit`; give it up to 2 s.
wait_scratch_gone() {
  local i
  for i in $(seq 1 40); do
    [ "$(scratch_folders)" -eq 0 ] && return 0
    sleep 0.05
  done
  return 1
}
# tally NAME: counts outcomes in an associative array printed at the end.
declare -A TALLY
tally() { TALLY[$1]=$(( ${TALLY[$1]:-0} + 1 )); }
report() {
  local k
  printf '%s\n' "${!TALLY[@]}" | sort | while IFS= read -r k; do echo "  $k: ${TALLY[$k]}"; done
}

"$GIT_SOPS" keygen -o "$T_ROOT/key.txt" 2>/dev/null
R=$("$GIT_SOPS" keygen -y "$T_ROOT/key.txt")
export SOPS_AGE_KEY_FILE="$T_ROOT/key.txt"

# ---- encrypt -i -----------------------------------------------------------------------------------
# A 3,000-value file, so that the run is long enough for kills to land inside it.
W="$T_ROOT/enc"
mkdir -p "$W"
for i in $(seq 1 3000); do echo "key$i: $MARK-value-$i"; done >"$OUT/enc.plain.yaml"
cp "$OUT/enc.plain.yaml" "$W/big.yaml"
(cd "$W" && "$GIT_SOPS" encrypt -i --age "$R" big.yaml) || fail "encrypt -i runs"
(cd "$W" && "$GIT_SOPS" decrypt big.yaml >"$OUT/enc.check") && cmp -s "$OUT/enc.check" "$OUT/enc.plain.yaml" ||
  fail "encrypt -i round trip"
cp "$OUT/enc.plain.yaml" "$W/big.yaml"
T=$(cd "$W" && measure_us "$GIT_SOPS" encrypt -i --age "$R" big.yaml)
echo "encrypt -i: one run takes ${T} us"
for t in $(seq 1 "$TRIALS"); do
  cp "$OUT/enc.plain.yaml" "$W/big.yaml"
  us=$(draw_us $((T * 12 / 10)))
  rc=$(cd "$W" && kill_after "$us" /dev/null "$OUT/enc.err" "$GIT_SOPS" encrypt -i --age "$R" big.yaml)
  [ "$rc" -eq 137 ] && tally "encrypt -i: killed" || tally "encrypt -i: finished before the kill (exit $rc)"
  if cmp -s "$W/big.yaml" "$OUT/enc.plain.yaml"; then
    tally "encrypt -i: file still the old plaintext"
  elif (cd "$W" && "$GIT_SOPS" decrypt big.yaml 2>/dev/null | cmp -s - "$OUT/enc.plain.yaml"); then
    tally "encrypt -i: file encrypted, decrypts to the same plaintext"
  else
    fail "encrypt -i trial $t (kill after $us us): big.yaml is neither the old plaintext nor its encryption"
  fi
  tmps=$(find "$W" -name '.big.yaml.git-sops-*.tmp' | wc -l)
  [ "$tmps" -gt 0 ] && tally "encrypt -i: a ciphertext temporary file left beside the file"
  found=$(find "$W" -type f ! -name big.yaml -exec grep -laF -- "$MARK" {} + ; leaks "$TMPDIR" "$XDG_RUNTIME_DIR")
  check_eq "encrypt -i trial $t: no plaintext outside the file itself" "" "$found"
  find "$W" -name '.big.yaml.git-sops-*.tmp' -delete
done

# ---- edit -----------------------------------------------------------------------------------------
# One 2,000-value Secret; the editor moves every value from generation G to G+1.
new_repo edit
printf 'creation_rules:\n  - path_regex: \\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: %s\n' "$R" >.sops.yaml
{
  printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: big\ntype: Opaque\nstringData:\n'
  for i in $(seq 1 2000); do echo "  k$i: $MARK-g0-$i"; done
} >"$OUT/edit.src"
"$GIT_SOPS" encrypt "$OUT/edit.src" --filename-override big.yaml >big.yaml 2>"$OUT/edit.err" || fail "edit setup: $(cat "$OUT/edit.err")"
git add -A && git commit -qm big
# The editor takes 0.1 s, a stand-in for the person typing, so that kills also land while it runs.
printf '#!/bin/bash\nsleep 0.1\nsed -i "s/%s-g$EDIT_FROM-/%s-g$EDIT_TO-/" "$1"\n' "$MARK" "$MARK" >"$T_BIN/next-gen"
chmod +x "$T_BIN/next-gen"
gen=0
# Run through env(1), so that the process kill_after signals is git-sops itself, not a subshell.
edit_to_next() { env EDIT_FROM=$gen EDIT_TO=$((gen + 1)) EDITOR="$T_BIN/next-gen" "$GIT_SOPS" edit big.yaml; }
cp big.yaml "$OUT/edit.saved"
T=$( { run_us edit_to_next; cp "$OUT/edit.saved" big.yaml; run_us edit_to_next; cp "$OUT/edit.saved" big.yaml;
       run_us edit_to_next; cp "$OUT/edit.saved" big.yaml; } | sort -n | sed -n 2p)
echo "edit: one run takes ${T} us"
for t in $(seq 1 "$TRIALS"); do
  "$GIT_SOPS" decrypt big.yaml >"$OUT/edit.old" 2>/dev/null || fail "edit trial $t: the file does not open before the kill"
  sed "s/$MARK-g$gen-/$MARK-g$((gen + 1))-/" "$OUT/edit.old" >"$OUT/edit.new"
  us=$(draw_us $((T * 12 / 10)))
  rc=$(kill_after "$us" /dev/null "$OUT/edit.err" env EDIT_FROM=$gen EDIT_TO=$((gen + 1)) EDITOR="$T_BIN/next-gen" \
         "$GIT_SOPS" edit big.yaml)
  [ "$rc" -eq 137 ] && tally "edit: killed" || tally "edit: finished before the kill (exit $rc)"
  "$GIT_SOPS" decrypt big.yaml >"$OUT/edit.now" 2>/dev/null
  if cmp -s "$OUT/edit.now" "$OUT/edit.old"; then
    tally "edit: file has the old content"
  elif cmp -s "$OUT/edit.now" "$OUT/edit.new"; then
    tally "edit: file has the new content"; gen=$((gen + 1))
  else
    fail "edit trial $t (kill after $us us): big.yaml decrypts to neither the old nor the new content"
  fi
  check "edit trial $t (kill after $us us): the scratch folder is removed" wait_scratch_gone
  check_eq "edit trial $t: no plaintext in the repository, \$TMPDIR or the scratch folder" "" \
    "$(leaks "$REPO" "$TMPDIR" "$XDG_RUNTIME_DIR")"
  find "$REPO" -name '.big.yaml.git-sops-*.tmp' | grep -q . && tally "edit: a ciphertext temporary file left beside the file"
  find "$REPO" -name '.big.yaml.git-sops-*.tmp' -delete
done
git add -A
check_eq "edit: no git object holds plaintext" 0 "$(object_leaks "$REPO")"

# ---- rotate ---------------------------------------------------------------------------------------
# Six Secrets of the rule, the key in the (fake) cluster; rotate re-encrypts them all.
unset SOPS_AGE_KEY_FILE
new_repo rotate
"$GIT_SOPS" init >/dev/null 2>"$OUT/init.err" || fail "rotate setup: init: $(cat "$OUT/init.err")"
printf '#!/bin/bash\nsed -i "s/  key: value/  user: u-$(basename "$1")\\n  password: %s-$RANDOM/" "$1"\n' "$MARK" >"$T_BIN/fill"
chmod +x "$T_BIN/fill"
ROT_FILES=()
for i in 1 2 3 4 5 6; do
  f=apps/s$i-secret.yaml
  ROT_FILES+=("$f")
  EDITOR="$T_BIN/fill" "$GIT_SOPS" edit "$f" 2>/dev/null || fail "rotate setup: create $f"
  mkdir -p "$OUT/plain/apps"
  SOPS_AGE_KEY="$(cluster_key)" "$GIT_SOPS" decrypt "$f" >"$OUT/plain/$f"
done
git add -A && git commit -qm secrets
# opens_with KEY FILE: decrypts to its saved plaintext with KEY alone.
opens_with() { SOPS_AGE_KEY="$1" "$GIT_SOPS" decrypt "$2" 2>/dev/null | cmp -s - "$OUT/plain/$2"; }
# settle: what a user does after a crash: rerun (resumes the journal), commit, --finish.
# A kubectl started by the killed run outlives it and may store that run's key while the rerun
# looks: the rerun then stops (keeping the journal) and a second one resumes.
settle() {
  if [ -e .git/git-sops/rotate ]; then
    if ! "$GIT_SOPS" rotate >/dev/null 2>"$OUT/rerun.err"; then
      tally "rotate: first rerun stopped ($(tail -1 "$OUT/rerun.err" | cut -c1-60)...), second resumed"
      "$GIT_SOPS" rotate >/dev/null 2>"$OUT/rerun.err" ||
        fail "rotate trial $t: the rerun fails: $(tail -1 "$OUT/rerun.err") [journal: $(tr '\n' ' ' < .git/git-sops/rotate 2>/dev/null | cut -c1-300); cluster: $(public_of "$(cluster_key)") old: $(public_of "$(cluster_key fake-local flux-system sops-age age-old.agekey)")]"
    fi
  fi
  git diff --quiet || git commit -qam "rotated (trial $t)"
  "$GIT_SOPS" rotate --finish >/dev/null 2>&1
}
old=$(cluster_key)
T=$(run_us "$GIT_SOPS" rotate)
t=0; settle
T=$(( (T + $(run_us "$GIT_SOPS" rotate)) / 2 )); settle
echo "rotate: one run takes ${T} us"
for t in $(seq 1 "$TRIALS"); do
  old=$(cluster_key); T_KEYS=("$old")
  us=$(draw_us $((T * 12 / 10)))
  rc=$(kill_after "$us" "$OUT/rot.out" "$OUT/rot.err" "$GIT_SOPS" rotate)
  rm -f "$OUT/rot.out"   # holds the printed new key when the run got that far
  wait_kubectl
  [ "$rc" -eq 137 ] && tally "rotate: killed" || tally "rotate: finished before the kill (exit $rc)"
  mid=$(cluster_key); remember_key "$mid"
  n_old=0 n_new=0
  for f in "${ROT_FILES[@]}"; do
    if opens_with "$old" "$f"; then n_old=$((n_old + 1))
    elif [ "$mid" != "$old" ] && opens_with "$mid" "$f"; then n_new=$((n_new + 1))
    else fail "rotate trial $t (kill after $us us): $f opens with neither the old nor the new key"; fi
  done
  if [ "$n_new" -eq 0 ]; then tally "rotate: every file still for the old key"
  elif [ "$n_old" -eq 0 ]; then tally "rotate: every file for the new key"
  else tally "rotate: files split between old and new key (mid-rotation)"; fi
  check_eq "rotate trial $t: no plaintext in the repository, \$TMPDIR or the scratch folder" "" \
    "$(leaks "$REPO" "$TMPDIR" "$XDG_RUNTIME_DIR")"
  no_leak "rotate trial $t"
  settle
  new=$(cluster_key); remember_key "$new"
  for f in "${ROT_FILES[@]}"; do
    check "rotate trial $t: after the rerun $f opens with the current key alone" opens_with "$new" "$f"
  done
  find "$REPO" -name '.*.git-sops-*.tmp' | grep -q . && tally "rotate: a ciphertext temporary file left beside a file"
  find "$REPO" -name '.*.git-sops-*.tmp' -delete
done
check_eq "rotate: no git object holds plaintext" 0 "$(object_leaks "$REPO")"

# ---- git add of 1,000 files through the filter process -------------------------------------------
export SOPS_AGE_KEY_FILE="$T_ROOT/key.txt"
new_repo add
"$GIT_SOPS" install >/dev/null 2>&1 || fail "git sops install"
printf 'creation_rules:\n  - path_regex: ^s/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: %s\n' "$R" >.sops.yaml
git add .sops.yaml .gitattributes && git commit -q --no-verify -m rules
mkdir s
N=1000
secret_file() {  # I GEN
  printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s%d\ntype: Opaque\nstringData:\n  password: %s-%d-g%d\n' \
    "$1" "$MARK" "$1" "$2" >"s/$1.yaml"
}
declare -a GEN
for i in $(seq 1 $N); do GEN[i]=0; secret_file "$i" 0; done
git add s 2>"$OUT/add.err" || fail "git add of $N files: $(cat "$OUT/add.err")"
git commit -q --no-verify -m "$N secrets"
T=$(touch s/*.yaml; run_us git add s)
echo "git add: one run over $N touched files takes ${T} us"
# staged_plain I: the plaintext of file I's staged blob.
staged_plain() { git cat-file blob ":s/$1.yaml" | "$GIT_SOPS" decrypt --input-type yaml --output-type yaml - 2>/dev/null; }
for t in $(seq 1 "$TRIALS"); do
  # 20 files get new content; every file is touched so that git cleans all 1,000 again.
  changed=()
  for j in $(seq 1 20); do
    i=$(( RANDOM % N + 1 ))
    changed+=("$i")
    GEN[i]=$(( GEN[i] + 1 ))
    secret_file "$i" "${GEN[i]}"
  done
  touch s/*.yaml
  us=$(draw_us $((T * 12 / 10)))
  rc=$(kill_after "$us" /dev/null "$OUT/add.err" git add s)
  [ "$rc" -eq 137 ] && tally "git add: killed" || tally "git add: finished before the kill (exit $rc)"
  [ -e .git/index.lock ] && tally "git add: index.lock left (removed, as git says to)"
  rm -f .git/index.lock
  "$GIT_SOPS" check --staged >"$OUT/check.out" 2>&1
  check_eq "git add trial $t (kill after $us us): git sops check --staged finds no plaintext" 0 "$?"
  check_eq "git add trial $t: no git object holds plaintext" 0 "$(object_leaks "$REPO")"
  check_eq "git add trial $t: no plaintext in the git dir or \$TMPDIR" "" "$(leaks "$REPO/.git" "$TMPDIR")"
  n_old=0 n_new=0
  for i in "${changed[@]}"; do
    got=$(staged_plain "$i" | sed -n 's/^ *password: //p')
    if [ "$got" == "$MARK-$i-g${GEN[i]}" ]; then n_new=$((n_new + 1))
    elif [[ "$got" =~ ^$MARK-$i-g[0-9]+$ ]] && [ "${got##*-g}" -lt "${GEN[i]}" ]; then n_old=$((n_old + 1))
    else fail "git add trial $t: the staged s/$i.yaml decrypts to neither its old nor its new content"; fi
  done
  if [ "$n_new" -eq 0 ]; then tally "git add: changed files all still staged old"
  elif [ "$n_old" -eq 0 ]; then tally "git add: changed files all staged new"
  else tally "git add: changed files split between old and new"; fi
  git add s 2>"$OUT/add.err" || fail "git add trial $t: the rerun fails: $(cat "$OUT/add.err")"
  for i in "${changed[@]}"; do
    check_eq "git add trial $t: after the rerun s/$i.yaml is staged new" "$MARK-$i-g${GEN[i]}" \
      "$(staged_plain "$i" | sed -n 's/^ *password: //p')"
  done
done
check_eq "git add: nothing left to stage after the last rerun" "" "$(git diff --name-only s)"

echo "fault_kill outcomes ($TRIALS trials per command, seed $SEED):"
report
finish

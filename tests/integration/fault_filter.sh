#!/usr/bin/env bash
# The long-running filter process SIGKILLed while git streams files to it (`git add` of a 16 MiB
# Secret and 1,000 small ones through filter.sops.process): git fails naming a file, the index
# and the object store hold no plaintext, no index.lock is left, and the next `git add` stages
# everything encrypted. FAULT_TRIALS kills (default 20) at delays drawn from FAULT_SEED.
source "$TESTLIB"
OUT="$T_ROOT/out"
mkdir -p "$OUT"
TRIALS=${FAULT_TRIALS:-20}
SEED=${FAULT_SEED:-20261128}
RANDOM=$SEED
echo "fault_filter: seed $SEED, $TRIALS trials"
MARK=PLAINMARK

now_us() { date +%s%6N; }
draw_us() { echo $(( (RANDOM * 32768 + RANDOM) % $1 )); }
declare -A TALLY
tally() { TALLY[$1]=$(( ${TALLY[$1]:-0} + 1 )); }

"$GIT_SOPS" keygen -o "$T_ROOT/key.txt" 2>/dev/null
R=$("$GIT_SOPS" keygen -y "$T_ROOT/key.txt")
export SOPS_AGE_KEY_FILE="$T_ROOT/key.txt"

git init -q "$T_ROOT/repo" && cd "$T_ROOT/repo" || exit 1
"$GIT_SOPS" install >/dev/null 2>&1 || fail "git sops install"
check_eq "the filter is required" true "$(git config filter.sops.required)"
printf 'creation_rules:\n  - path_regex: ^s/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: %s\n' "$R" >.sops.yaml
git add .sops.yaml .gitattributes && git commit -q --no-verify -m rules
mkdir s
secret_file() {  # I GEN
  printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s%d\ntype: Opaque\nstringData:\n  password: %s-%d-g%d\n' \
    "$1" "$MARK" "$1" "$2" >"s/$1.yaml"
}
for i in $(seq 1 1000); do secret_file "$i" 0; done
# The big one is sent first (git adds in path order): the marker repeats, so any fragment of it
# that reached an object would be found.
big_file() {  # GEN
  { printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: big\ntype: Opaque\nstringData:\n  blob: '
    yes "$MARK-g$1-0123456789abcdef" | head -c 4194304 | tr -d '\n'; echo; } >s/0-big.yaml
}
big_file 0

# filter_pid GITPID: the git-sops process serving git (git starts it through `sh -c`).
children() { cat /proc/"$1"/task/"$1"/children 2>/dev/null; }
filter_pid() {
  local c g
  for c in $(children "$1"); do
    [ "$(cat /proc/"$c"/comm 2>/dev/null)" = git-sops ] && { echo "$c"; return; }
    for g in $(children "$c"); do
      [ "$(cat /proc/"$g"/comm 2>/dev/null)" = git-sops ] && { echo "$g"; return; }
    done
  done
}

# staged_ok: no staged or stored plaintext, no lock left.
staged_ok() {
  "$GIT_SOPS" check --staged >"$OUT/check.out" 2>&1
  check_eq "$1: git sops check --staged finds nothing ($(head -3 "$OUT/check.out"))" 0 "$?"
  check_eq "$1: no git object holds plaintext" 0 \
    "$(git cat-file --batch-all-objects --batch | grep -caF -- "$MARK")"
  check "$1: no index.lock left" test ! -e .git/index.lock
}

git add s 2>"$OUT/add.err" || fail "the first git add: $(cat "$OUT/add.err")"
staged_ok "first git add"
# The run time of an add as the trials make it: the big file and ten small ones changed, all touched.
big_file 999999; secret_file 1 999999; touch s/*.yaml
t0=$(now_us)
git add s 2>"$OUT/add.err" || fail "the second git add: $(cat "$OUT/add.err")"
T=$(( $(now_us) - t0 ))
echo "fault_filter: git add of a changed 4 MiB Secret and 1,000 touched small ones takes ${T} us"

for t in $(seq 1 "$TRIALS"); do
  big_file "$t"
  for j in $(seq 1 10); do secret_file $((RANDOM % 1000 + 1)) "$t"; done
  touch s/*.yaml
  us=$(draw_us "$T")
  {
    git add s 2>"$OUT/add.err" &
    gitpid=$!
    fpid=""
    for i in $(seq 1 400); do
      fpid=$(filter_pid "$gitpid")
      [ -n "$fpid" ] && break
      sleep 0.005
    done
    sleep "$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))"
    if [ -n "$fpid" ]; then kill -9 "$fpid" 2>/dev/null; fi
    wait "$gitpid"
    rc=$?
  } 2>/dev/null
  if [ -z "$fpid" ]; then
    tally "git add ended before the filter process was seen"
  elif [ "$rc" -eq 0 ]; then
    tally "filter process killed after git add had everything (git add exit 0)"
  elif ! grep -qi 'filter' "$OUT/add.err" && grep -q 'the remote end hung up unexpectedly' "$OUT/add.err"; then
    # Killed before the handshake ended (a slow start, e.g. under ASan): no file was sent yet, so
    # git can only say the process went away. It must still fail, and nothing may be staged.
    tally "filter process killed during the handshake, before any file (git add exit $rc)"
    check_eq "trial $t: git add fails when the filter dies in its handshake" 128 "$rc"
  else
    tally "filter process killed mid-protocol (git add exit $rc)"
    check "trial $t (kill after $us us): git names the file it was filtering ($(tail -1 "$OUT/add.err"))" \
      grep -qE "s/[0-9a-z-]+\.yaml" "$OUT/add.err"
    check "trial $t: git says the filter failed" grep -qi 'filter' "$OUT/add.err"
    [ "$rc" -le 128 ] || fail "trial $t: git add died of a signal ($rc)"   # 128: git's die()
    [ "$t" -le 3 ] && echo "  trial $t, git says: $(tr '\n' ' ' <"$OUT/add.err" | head -c 400)"
  fi
  staged_ok "trial $t"
  git add s 2>"$OUT/add.err"
  check_eq "trial $t: the next git add succeeds ($(tail -1 "$OUT/add.err"))" 0 "$?"
  check_eq "trial $t: nothing left unstaged" "" "$(git diff --name-only s)"
  want="$MARK-g$t-0123"
  check_eq "trial $t: the big file is staged encrypted, current version" "$want" \
    "$(git cat-file blob :s/0-big.yaml | "$GIT_SOPS" decrypt --input-type yaml --output-type yaml - 2>/dev/null |
       sed -n 's/^ *blob: //p' | head -c ${#want})"
  staged_ok "trial $t, after the rerun"
  # Every object was scanned: unreachable ones (killed and superseded versions) can go, so the
  # scans stay the size of one trial instead of growing with every 4 MiB blob.
  git prune --expire=now
done

echo "fault_filter outcomes ($TRIALS trials, seed $SEED):"
printf '%s\n' "${!TALLY[@]}" | sort | while IFS= read -r k; do echo "  $k: ${TALLY[$k]}"; done
finish

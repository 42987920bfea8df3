#!/usr/bin/env bash
# The tamper and bad-input suite: tests/tamper/gen.py writes a corpus of tampered and hostile
# files into the scratch folder (keys, sources and cases are all made at run time), and every
# case runs through the command it targets. Each must meet its expectation (see gen.py), never
# die of a signal, use under TAMPER_LIMIT seconds (2) of CPU and never print a planted value
# unless it printed the authentic plaintext of an accepted case. Wall time is reported; it fails
# a case only beyond 5x the limit (a hang), since the test machines are shared and busy, and
# `timeout` stops any run there (10 s). Prints counts by outcome at the end. scripts/sanitize.sh
# raises TAMPER_LIMIT: ASan and LeakSanitizer multiply the CPU time by about 4.
source "$TESTLIB"
LIMIT=${TAMPER_LIMIT:-2}
C="$T_ROOT/corpus"
GEN="$(dirname "$0")/../tamper/gen.py"
n=$(python3 "$GEN" "$C" 2>"$T_ROOT/gen.err")
check_eq "the generator runs ($(tail -1 "$T_ROOT/gen.err"))" "" "$(cat "$T_ROOT/gen.err")"
check "at least 500 cases" test "${n:-0}" -ge 500
echo "tamper: $n cases"
KEY="$C/keys/key.txt"

# A repository for clean, smudge (decrypted worktree) and check: one rule for s/.
REPO="$T_ROOT/repo"
git init -q "$REPO"
printf 'creation_rules:\n  - path_regex: ^s/\n    age: %s\n' "$("$GIT_SOPS" keygen -y "$KEY")" >"$REPO/.sops.yaml"
git -C "$REPO" config git-sops.decryptedWorktree true
CONFIG_BLOB=$(git -C "$REPO" hash-object -w "$REPO/.sops.yaml")

O="$T_ROOT/stdout" E="$T_ROOT/stderr" TF="$T_ROOT/time" AGEOUT="$T_ROOT/age.out"
TIMEFORMAT='%3R %3U %3S'
declare -A OUTCOME EXITS ACCEPTED
MAX_WALL=0 MAX_CPU=0 MAX_CASE="" SLOW=0

run_case() {  # CMD FILE IDENT EXT
  local cmd=$1 file=$2 ident=$3 ext=$4 keyvar=SOPS_AGE_KEY_FILE
  [[ "$ident" == *ssh_ed25519 ]] && keyvar=SOPS_AGE_SSH_PRIVATE_KEY_FILE
  case "$cmd" in
    decrypt) env "$keyvar=$ident" timeout "$5" "$GIT_SOPS" decrypt "$file" ;;
    agedec) timeout "$5" "$GIT_SOPS" age -d -i "$ident" -o "$AGEOUT" "$file" ;;
    filestatus) timeout "$5" "$GIT_SOPS" filestatus "$file" ;;
    clean | smudge) (cd "$REPO" && env "$keyvar=$ident" timeout "$5" "$GIT_SOPS" "$cmd" -- "s/case$ext" <"$file") ;;
    # (clean runs with an empty index: a file identical to its staged blob is passed through as
    # checked when it was staged, which is not what these cases are about)
    check) (cd "$REPO" && timeout "$5" "$GIT_SOPS" check --staged) ;;
  esac
}
stage() {  # FILE EXT: the index holds .sops.yaml and the case at s/case.EXT, nothing else
  local blob
  blob=$(git -C "$REPO" hash-object -w --no-filters "$1")
  git -C "$REPO" read-tree --empty
  git -C "$REPO" update-index --add --cacheinfo "100644,$CONFIG_BLOB,.sops.yaml" --cacheinfo "100644,$blob,s/case$2"
}
ms() { local v=${1/./}; echo $((10#$v)); }
# uncommented FILE: the file without its comments (YAML/dotenv '#', INI ';' and '#') and blank lines.
uncommented() { sed -E 's/(^|[[:space:]])[#;].*$//; s/[[:space:]]+$//; /^$/d' "$1"; }

while IFS=$'\t' read -r id cmd expect file ident markers auth category desc; do
  ext=.${file##*.}
  rm -f "$AGEOUT"
  [ "$cmd" = check ] && stage "$file" "$ext"
  [ "$cmd" = clean ] && git -C "$REPO" read-tree --empty
  { time run_case "$cmd" "$file" "$ident" "$ext" $((LIMIT * 5)) >"$O" 2>"$E"; } 2>"$TF"
  rc=$?
  read -r wall usr sys <"$TF"
  wall=$(ms "$wall"); cpu=$(( $(ms "$usr") + $(ms "$sys") ))
  if [ "$cpu" -gt $((LIMIT * 1000)) ] && [ "$rc" -ne 124 ]; then
    # One more run decides (CPU time too varies a little on a busy machine).
    SLOW=$((SLOW + 1))
    rm -f "$AGEOUT"
    { time run_case "$cmd" "$file" "$ident" "$ext" $((LIMIT * 5)) >"$O" 2>"$E"; } 2>"$TF"
    rc=$?
    read -r wall usr sys <"$TF"
    wall=$(ms "$wall"); cpu=$(( $(ms "$usr") + $(ms "$sys") ))
  fi
  [ "$wall" -gt "$MAX_WALL" ] && MAX_WALL=$wall
  [ "$cpu" -gt "$MAX_CPU" ] && { MAX_CPU=$cpu; MAX_CASE="$id $desc"; }
  EXITS[$rc]=$(( ${EXITS[$rc]:-0} + 1 ))

  mapfile -t err <"$E"
  lines=${#err[@]}
  one_line=0
  [ "$lines" -eq 1 ] && [[ "${err[0]}" == "git-sops: "* ]] && one_line=1
  leaked=0
  if [ "$expect" = passthrough ]; then
    grep -aqF -f "$markers" "$E" && leaked=1   # stdout is the stored file itself
  else
    grep -aqF -f "$markers" "$O" "$E" && leaked=1
  fi
  authentic=0
  if [ "$rc" -eq 0 ]; then
    if [ "$cmd" = agedec ]; then cmp -s "$AGEOUT" "$C/src/age.plain" && authentic=1
    elif [ "$auth" != - ]; then cmp -s "$O" "$auth" && authentic=1; fi
  fi
  rejected=0
  [ "$rc" -ge 1 ] && [ "$rc" -le 128 ] && [ "$rc" -ne 124 ] && [ "$one_line" -eq 1 ] && [ ! -s "$O" ] && [ ! -e "$AGEOUT" ] && rejected=1

  why="" outcome=""
  if [ "$rc" -eq 124 ] || [ "$rc" -gt 128 ]; then
    why="exit $rc (timeout or signal)"
  elif [ "$cpu" -gt $((LIMIT * 1000)) ] || [ "$wall" -gt $((LIMIT * 5000)) ]; then
    why="took ${wall} ms (${cpu} ms CPU)"
  else
    case "$expect" in
      reject) [ "$rejected" -eq 1 ] && outcome="rejected" || why="not a one-line rejection" ;;
      either)
        if [ "$rejected" -eq 1 ]; then outcome="rejected"
        elif [ "$rc" -eq 0 ] && [ "$authentic" -eq 1 ]; then outcome="accepted, authentic plaintext"; leaked=0
        else why="neither a one-line rejection nor the authentic plaintext"; fi ;;
      comment)
        if [ "$rejected" -eq 1 ]; then outcome="rejected"
        elif [ "$rc" -eq 0 ] && [ "$(uncommented "$O")" == "$(uncommented "$auth")" ] &&
             grep -q 'AES256_GCM\|type:comm' "$O"; then
          outcome="accepted, values authentic, the comment shown as its ciphertext (sops does the same)"; leaked=0
        else why="neither rejected nor only the comment left encrypted"; fi ;;
      keyname)
        if [ "$rejected" -eq 1 ]; then outcome="rejected"
        elif [ "$rc" -eq 0 ] && [ "$(diff "$O" "$auth" | grep -c '^[<>]')" -eq 2 ]; then
          outcome="accepted, only the cleartext key name differs (sops does the same)"; leaked=0
        else why="neither rejected nor only the key name changed"; fi ;;
      passthrough)
        if [ "$rc" -eq 0 ] && cmp -s "$O" "$file" && [ "$lines" -le 1 ]; then outcome="passed through unchanged"
        else why="smudge did not pass the stored bytes through with at most one warning"; fi ;;
      encrypts)
        if [ "$rc" -eq 0 ] && grep -q 'ENC\[AES256_GCM' "$O" && [ "$lines" -eq 0 ]; then outcome="encrypted"
        else why="clean did not encrypt it"; fi ;;
      status)
        if [ "$rc" -eq 0 ] && grep -q '"encrypted":false' "$O"; then outcome="status: not encrypted"
        else why="filestatus gave no answer"; fi ;;
      flagged)
        if [ "$rc" -eq 1 ] && grep -q '^error: s/case' "$O"; then outcome="flagged"
        else why="check did not flag it"; fi ;;
    esac
  fi
  [ "$leaked" -eq 1 ] && why="${why:+$why; }a planted value was printed"
  if [ -n "$why" ]; then
    fail "case $id ($cmd, $category): $desc: $why [exit $rc, stderr: $(head -c 300 "$E" | tr '\n' '|')]"
    outcome="FAILED"
  else
    pass
  fi
  OUTCOME["$cmd $expect -> $outcome"]=$(( ${OUTCOME["$cmd $expect -> $outcome"]:-0} + 1 ))
  [[ "$outcome" == accepted* ]] && ACCEPTED["$category ($expect)"]=$(( ${ACCEPTED["$category ($expect)"]:-0} + 1 ))
done <"$C/manifest.tsv"

echo "tamper: outcomes by command, expectation and result:"
printf '%s\n' "${!OUTCOME[@]}" | sort | while IFS= read -r k; do printf '  %5d  %s\n' "${OUTCOME[$k]}" "$k"; done
echo "tamper: accepted tampers by category (each justified in gen.py; values always authentic):"
printf '%s\n' "${!ACCEPTED[@]}" | sort | while IFS= read -r k; do printf '  %5d  %s\n' "${ACCEPTED[$k]}" "$k"; done
echo "tamper: exit codes: $(for k in $(printf '%s\n' "${!EXITS[@]}" | sort -n); do printf '%s:%s ' "$k" "${EXITS[$k]}"; done)"
echo "tamper: longest run ${MAX_WALL} ms wall; most CPU ${MAX_CPU} ms (case $MAX_CASE); $SLOW case(s) run twice after a first run over the CPU limit"
finish

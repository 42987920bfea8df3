#!/usr/bin/env bash
# Benchmarks the sops filter driver against git-crypt's filter and against no filter (the floor),
# on the same COUNT (default 10,000) small Kubernetes Secret manifests that a .sops.yaml rule
# covers, in one run. Per mode, in a fresh repository each time:
#   - `git add` of every file (plaintext in, what the mode stores out);
#   - `git status` after `touch` of every file: git re-cleans them all, and must show nothing
#     modified (the "modified" column counts what it did show);
#   - a fresh checkout: the files removed, then `git checkout -- secrets`.
# Modes: no filter; a null filter process (scripts/bench/null_filter.c: the protocol in plain C,
# every file answered with its own bytes: what any filter process costs git); the git-sops filter
# process on ConfigMaps no rule covers (its protocol cost); git-crypt (`git-crypt init`, filter=git-crypt diff=git-crypt); git-sops with
# the worktree keeping ciphertext (the default: smudge passes blobs through); git-sops with a
# decrypted worktree (smudge decrypts; the key is available), whose `git status` is also timed
# without the key (clean then relies on its cache).
# Each figure is the median of RUNS (default 3) runs, in milliseconds, with its ratio to no filter.
#
#   scripts/bench/filter.sh [GIT_SOPS_BINARY]      (default: build/filter-rel/git-sops)
# Environment: COUNT, RUNS, MODES ("none protocol git-crypt sops sops-decrypted"), BENCH_DIR.
# Needs git and git-crypt. Not a test: it prints a markdown table and exits 0.
set -euo pipefail
cd "$(dirname "$0")/../.."

GIT_SOPS=$(realpath "${1:-${GIT_SOPS:-build/filter-rel/git-sops}}")
COUNT=${COUNT:-10000}
RUNS=${RUNS:-3}
MODES=${MODES:-none null protocol git-crypt sops sops-decrypted}
for tool in git git-crypt "$GIT_SOPS"; do
  command -v "$tool" >/dev/null || { echo "bench/filter.sh: $tool not found" >&2; exit 2; }
done

base=${BENCH_DIR:-$([ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")}
work=$(mktemp -d "$base/git-sops-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A hermetic git: no user or system config, no hooks, a fixed identity.
export HOME="$work/home" GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com \
       GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
mkdir -p "$HOME"
git config --global init.defaultBranch main
# The commit after `git add` packs the 10,000 new objects (gc --auto): in the foreground, so that
# no background gc runs beside the timed commands, and status reads a packed repository, as it
# would in daily use.
git config --global gc.autoDetach false
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD SOPS_AGE_SSH_PRIVATE_KEY_FILE SOPS_CONFIG

"$GIT_SOPS" keygen -o "$work/key.txt" 2>/dev/null
if [[ " $MODES " == *" null "* ]]; then
  cc -O2 -o "$work/null_filter" scripts/bench/null_filter.c
fi
RECIPIENT=$("$GIT_SOPS" keygen -y "$work/key.txt")

# The same manifests for every mode; ConfigMaps of the same size for the protocol floor.
mkdir -p "$work/files/secrets" "$work/configmaps/secrets"
for ((i = 0; i < COUNT; i++)); do
  name=s$(printf %05d "$i").yaml
  printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-%05d\n  namespace: apps\ntype: Opaque\nstringData:\n  username: user-%05d\n  password: pw-%05d-%s\n' \
    "$i" "$i" "$i" "$RANDOM$RANDOM" > "$work/files/secrets/$name"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-%05d\n  namespace: apps\ndata:\n  username: user-%05d\n  level: lv-%05d-%s\n' \
    "$i" "$i" "$i" "$RANDOM$RANDOM" > "$work/configmaps/secrets/$name"
done

sops_rules() {
  printf 'creation_rules:\n  - path_regex: ^secrets/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: %s\n' \
    "$RECIPIENT" > .sops.yaml
}
setup_none() { :; }
setup_null() {
  git config filter.null.process "$work/null_filter"
  git config filter.null.required true
  printf 'secrets/** filter=null\n' > .gitattributes
}
setup_git-crypt() {
  git-crypt init >/dev/null
  printf 'secrets/** filter=git-crypt diff=git-crypt\n' > .gitattributes
}
setup_sops() { "$GIT_SOPS" install >/dev/null && sops_rules; }
setup_sops-decrypted() { "$GIT_SOPS" install --decrypted-worktree >/dev/null && sops_rules; }
# The cost of git's filter process protocol itself: the same count of ConfigMaps that no rule
# covers go through `git-sops filter-process`, which passes them through unparsed.
setup_protocol() {
  "$GIT_SOPS" install >/dev/null
  printf 'creation_rules:\n  - path_regex: ^elsewhere/\n    age: %s\n' "$RECIPIENT" > .sops.yaml
}

# timed NAME COMMAND...: appends "wall_ms cpu_ms" to $work/NAME (CPU = user + system time of the
# command and the filter processes it waited for); output goes to $work/out.
timed() {
  local name=$1 t
  shift
  t=$( { TIMEFORMAT='%R %U %S'; time "$@" > "$work/out"; } 2>&1 | tail -1)
  awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }' <<< "$t" >> "$work/$name"
}

touch_all() { find secrets -type f -exec touch {} +; }

run_mode() {  # MODE RUN
  local mode=$1 repo="$work/$1-$2"
  git init -q "$repo"
  cd "$repo"
  "setup_$mode"
  git add -A && git commit -q --no-verify --allow-empty -m setup
  cp -r "$work/$([ "$mode" = protocol ] && echo configmaps || echo files)/secrets" .
  export SOPS_AGE_KEY_FILE="$work/key.txt"

  timed "$mode.add" git add secrets
  git commit -q --no-verify -m secrets

  sleep 1  # past the racy-git second of the commit's index: status re-cleans because of the touch
  touch_all
  timed "$mode.status" git status --porcelain
  grep -c . "$work/out" >> "$work/$mode.modified" || true

  if [ "$mode" = sops-decrypted ]; then
    touch_all
    unset SOPS_AGE_KEY_FILE
    timed "$mode.status-nokey" git status --porcelain
    grep -c . "$work/out" >> "$work/$mode.modified-nokey" || true
    export SOPS_AGE_KEY_FILE="$work/key.txt"
  fi

  rm -rf secrets
  timed "$mode.checkout" git checkout -- secrets
  local back
  back=$(find secrets -type f | wc -l)
  [ "$back" -eq "$COUNT" ] || { echo "bench/filter.sh: $mode: checkout restored $back of $COUNT files" >&2; exit 1; }
  cd "$work"
  rm -rf "$repo"
}

for ((run = 1; run <= RUNS; run++)); do
  for mode in $MODES; do
    echo "bench/filter.sh: run $run/$RUNS, $mode" >&2
    run_mode "$mode" "$run"
  done
done

# median FILE COLUMN
median() { awk -v c="$2" '{ print $c }' "$1" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
cell() {  # MODE OP COLUMN: "median ms (ratio to no filter)"
  local m floor
  [ -f "$work/$1.$2" ] || { printf -- '-'; return; }
  m=$(median "$work/$1.$2" "$3")
  if [ -f "$work/none.${2%-nokey}" ]; then
    floor=$(median "$work/none.${2%-nokey}" "$3")
    awk -v m="$m" -v f="$floor" 'BEGIN { printf "%d ms (%.1fx)", m, (f > 0 ? m / f : 0) }'
  else
    printf '%d ms' "$m"
  fi
}
label() {
  case $1 in
    none) echo "no filter (floor)" ;;
    null) echo "null filter process in C (any filter's protocol cost)" ;;
    protocol) echo "git-sops filter process, nothing to encrypt (protocol cost)" ;;
    git-crypt) echo "git-crypt" ;;
    sops) echo "git-sops, ciphertext worktree" ;;
    sops-decrypted) echo "git-sops, decrypted worktree" ;;
  esac
}
modified() { if [ -f "$work/$1.$2" ]; then sort -n "$work/$1.$2" | tail -1; else echo -; fi; }

echo
echo "$COUNT Secret manifests; $(git --version), $(git-crypt --version 2>&1 | head -1), $("$GIT_SOPS" --version);"
echo "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); medians of $RUNS runs; ratio = time / no filter"
table() {  # COLUMN TITLE
  echo
  echo "$2"
  echo
  echo "| mode | git add | git status after touch | modified shown | fresh checkout |"
  echo "|---|---|---|---|---|"
  for mode in $MODES; do
    echo "| $(label "$mode") | $(cell "$mode" add "$1") | $(cell "$mode" status "$1") | $(modified "$mode" modified) | $(cell "$mode" checkout "$1") |"
    if [ "$mode" = sops-decrypted ]; then
      echo "| $(label "$mode"), no key | | $(cell "$mode" status-nokey "$1") | $(modified "$mode" modified-nokey) | |"
    fi
  done
}
table 1 "Wall time, median:"
table 2 "CPU time (user + system, git and the filter processes), median: steadier on a loaded machine."
if [ -f "$work/git-crypt.add" ] && [ -f "$work/sops.add" ]; then
  echo
  for c in 1 2; do
    awk -v c="$(median "$work/git-crypt.add" $c)" -v s="$(median "$work/sops.add" $c)" -v what="$([ $c = 1 ] && echo wall || echo CPU)" \
      'BEGIN { printf "git add, %s time: git-sops is %.1fx faster than git-crypt\n", what, c / s }'
  done
fi

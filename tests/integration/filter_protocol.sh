#!/usr/bin/env bash
# The filter driver under real git, at the pass-through stage: 200 files added, committed and
# checked out through one `git-sops filter-process` per git command; the single-shot clean,
# smudge and textconv commands; and malformed input failing fast with a clear message.
source "$TESTLIB"

now_ms() { date +%s%3N; }
quiet() { "$@" >/dev/null 2>&1; }

R="$T_ROOT/many"
git init -q "$R"
cd "$R" || exit 1
"$GIT_SOPS" install >/dev/null
git add .gitattributes && git commit -q --no-verify -m attributes

for i in $(seq 1 200); do
  d="apps/app$((i % 10))"
  mkdir -p "$d"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\ndata:\n  n: "%d"\n' "$i" "$i" > "$d/cm$i.yaml"
done
printf '{"plain": true}\n' > apps/not-sops.txt
printf 'line with a trailing CR\r\n' > apps/crlf.yaml
: > apps/empty.yaml

# `git add`: one filter process for every file, a clean request per matching file.
GIT_TRACE_PACKET="$T_ROOT/add.trace" git add apps
check "git add through the filter process" test $? -eq 0
check_eq "one filter process for git add" "1" "$(grep -c 'git> git-filter-client' "$T_ROOT/add.trace")"
check_eq "every yaml file cleaned" "202" "$(grep -c 'git> command=clean' "$T_ROOT/add.trace")"
check_eq "every request answered with success" "202" "$(grep -c 'git< status=success' "$T_ROOT/add.trace")"
check_eq "non-matching files are not sent" "0" "$(grep -c 'pathname=apps/not-sops.txt' "$T_ROOT/add.trace")"

# The hook command lands with the policy module; the filter is what is tested here.
check "commit" git commit -q --no-verify -m "200 files"
check_eq "pass-through: the blob is the file" "$(cat apps/app3/cm13.yaml)" "$(git cat-file -p HEAD:apps/app3/cm13.yaml)"
check "pass-through keeps CR bytes" cmp -s apps/crlf.yaml <(git cat-file -p HEAD:apps/crlf.yaml)
check_eq "empty file stays empty" "0" "$(git cat-file -s HEAD:apps/empty.yaml)"
check_eq "nothing modified after commit" "" "$(git status --porcelain)"

# `git checkout`: the files come back through smudge, again one process.
cp -r apps "$T_ROOT/apps.expected"
rm -rf apps
GIT_TRACE_PACKET="$T_ROOT/checkout.trace" git checkout -- apps
check "checkout through the filter process" test $? -eq 0
check_eq "one filter process for checkout" "1" "$(grep -c 'git> git-filter-client' "$T_ROOT/checkout.trace")"
check_eq "every yaml file smudged" "202" "$(grep -c 'git> command=smudge' "$T_ROOT/checkout.trace")"
check "checked-out files are identical" diff -r "$T_ROOT/apps.expected" apps
check_eq "status clean after checkout" "" "$(git status --porcelain)"

# Branch switch with changed files, and textconv in git diff.
git checkout -q -b other
printf 'extra: 1\n' >> apps/app1/cm1.yaml
check "commit on a branch" git commit -q --no-verify -am change
check "switch back" git checkout -q main
check_eq "main's content is back" "$(cat "$T_ROOT/apps.expected/app1/cm1.yaml")" "$(cat apps/app1/cm1.yaml)"
check "diff through textconv" bash -c "git diff main other -- apps/app1/cm1.yaml | grep -q '^+extra: 1'"
printf 'worktree: change\n' >> apps/app2/cm2.yaml
check "worktree diff through textconv" bash -c "git diff -- apps/app2/cm2.yaml | grep -q '^+worktree: change'"
git checkout -q -- apps/app2/cm2.yaml

# Without a process driver git falls back to the single-shot commands (an empty override with
# -c would not do: git then fails to start the empty process).
git config --unset filter.sops.process
rm -rf apps
GIT_TRACE="$T_ROOT/single.trace" git checkout -- apps
check "single-shot smudge checkout" diff -r "$T_ROOT/apps.expected" apps
check_eq "single-shot smudge ran once per file" "202" "$(grep -c "git-sops smudge -- " "$T_ROOT/single.trace")"
"$GIT_SOPS" install >/dev/null
check "install puts the process driver back" quiet git config filter.sops.process

# --- the commands on their own -----------------------------------------------------------------
check_eq "clean copies stdin" "a: 1" "$(printf 'a: 1\n' | "$GIT_SOPS" clean -- x.yaml)"
check_eq "smudge accepts a path starting with -" "b" "$(printf 'b' | "$GIT_SOPS" smudge -- -odd.yaml)"
printf 'c: 3\n' > "$T_ROOT/tc.yaml"
check_eq "textconv prints the file" "c: 3" "$("$GIT_SOPS" textconv -- "$T_ROOT/tc.yaml")"
out=$("$GIT_SOPS" textconv -- "$T_ROOT/missing.yaml" 2>&1)
check_eq "textconv of a missing file fails" "100" "$?"
check "textconv names the file" grep -q "missing.yaml" <<< "$out"
head -c 3000000 /dev/urandom > "$T_ROOT/big.bin"
check "clean passes 3 MB of binary through" cmp -s "$T_ROOT/big.bin" <("$GIT_SOPS" clean -- big.bin < "$T_ROOT/big.bin")

# --- malformed input: nonzero, one clear line, no waiting ---------------------------------------
# GITSOPS_TEST_SLOWDOWN (default 1) stretches every time limit below by that factor: under
# valgrind the start-up of git-sops alone takes 2-3 s. The hold stays 1.5x the limit, so a server
# that waits for input is still told apart from a slow one.
SLOW=${GITSOPS_TEST_SLOWDOWN:-1}
LIMIT_MS=$((1000 * SLOW))
# run_malformed NAME BYTES: stdin stays open for 1.5 limits after BYTES, so a server that waits for
# more input instead of failing would be caught by the time limit.
run_malformed() {
  local name=$1 bytes=$2 start end rc
  start=$(now_ms)
  { printf '%b' "$bytes"; sleep "$((LIMIT_MS * 3 / 2))e-3"; } | {
    timeout $((5 * SLOW)) "$GIT_SOPS" filter-process > "$T_ROOT/$name.out" 2> "$T_ROOT/$name.err"
    echo $? > "$T_ROOT/$name.rc"
    now_ms > "$T_ROOT/$name.end"
  }
  end=$(cat "$T_ROOT/$name.end")
  rc=$(cat "$T_ROOT/$name.rc")
  check "$name: exits nonzero (got $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
  check "$name: within $LIMIT_MS ms ($((end - start)) ms)" test $((end - start)) -lt "$LIMIT_MS"
}
run_malformed bad-length '00zz'
check_eq "bad length message" "git-sops: filter-process: invalid pkt-line length '00zz' (expected 4 hex digits)" \
  "$(cat "$T_ROOT/bad-length.err")"
run_malformed special '0016git-filter-client\n0001'
check "special packet message" grep -q "unexpected special pkt-line '0001'" "$T_ROOT/special.err"
run_malformed too-long 'fff5'
check "too long message" grep -q "exceeds the maximum of 65520" "$T_ROOT/too-long.err"
run_malformed no-v2 '0016git-filter-client\n000eversion=3\n0000'
check "version message" grep -q "git-sops speaks version 2" "$T_ROOT/no-v2.err"

hs='0016git-filter-client\n000eversion=2\n0000''0015capability=clean\n0000'
for tail in 0008part 0009part; do  # at a packet boundary, and inside a packet
  printf '%b' "${hs}0012command=clean\n0016pathname=cut.yaml\n0000$tail" | timeout $((5 * SLOW)) "$GIT_SOPS" filter-process \
    > /dev/null 2> "$T_ROOT/cut.err"
  rc=$?
  check "EOF mid-content ($tail): nonzero, not a timeout (got $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
  check "EOF mid-content ($tail) names the file" grep -q "content of cut.yaml" "$T_ROOT/cut.err"
  check "EOF mid-content ($tail) is one line" test "$(wc -l < "$T_ROOT/cut.err")" -eq 1
done
printf '%b' "$hs" | timeout $((5 * SLOW)) "$GIT_SOPS" filter-process > "$T_ROOT/clean-eof.out" 2>&1
check_eq "EOF between requests exits 0" "0" "$?"

finish

#!/usr/bin/env bash
# The plaintext-secret policy through real git: the pre-receive hook behind `git push` (objects
# in quarantine, new/deleted branches, tags, refs/notes/textconv, GitLab's GL-HOOK-ERR), the
# pre-commit hook behind `git commit` (index only, GIT_INDEX_FILE, initial commit), and
# `git sops check` in every mode with its exit codes and JSON/SARIF output.
source "$TESTLIB"

SRC=$(cd "$(dirname "$TESTLIB")/.." && pwd)
FIX="$SHARED/fixtures/sops-3.13.2"
quiet() { "$@" >/dev/null 2>&1; }
# Adds and commits without the sops filter, so the hook alone is under test.
nofilter=(-c filter.sops.process= -c filter.sops.clean= -c filter.sops.smudge= -c filter.sops.required=false)
gitnf() { git "${nofilter[@]}" "$@"; }

plain_secret() {
  printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2-SECRETVALUE\n'
}
config_map() { printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm%s\ndata:\n  n: "%s"\n' "$1" "$1"; }

# --- a server: bare repository with the pre-receive shim calling the binary under test ----------
SERVER="$T_ROOT/server.git"
git init -q --bare "$SERVER"
sed "s|^git_sops=git-sops\$|git_sops='$GIT_SOPS'|" "$SRC/hooks/pre-receive" > "$SERVER/hooks/pre-receive"
chmod +x "$SERVER/hooks/pre-receive"
check "shim points at the binary under test" grep -q "git_sops='$GIT_SOPS'" "$SERVER/hooks/pre-receive"

C="$T_ROOT/client"
git clone -q "$SERVER" "$C" 2>/dev/null
cd "$C" || exit 1
mkdir -p apps
config_map 0 > apps/cm.yaml
git add apps && git commit -qm base
check "base push accepted" quiet git push -q origin main

# 50 commits; the 25th adds a plaintext Secret and the 26th deletes it again: the tip is clean,
# the history is not.
for i in $(seq 1 50); do
  config_map "$i" > apps/cm.yaml
  if [ "$i" -eq 25 ]; then plain_secret > apps/db-secret.yaml; fi
  if [ "$i" -eq 26 ]; then rm apps/db-secret.yaml; fi
  git add -A apps && git commit -qm "change $i"
done
BAD=$(git rev-parse HEAD~25)
check_eq "the bad commit is the 25th" "change 25" "$(git log -1 --format=%s "$BAD")"
out=$(git push origin main 2>&1)
rc=$?
check "push with a buried plaintext Secret is rejected" test $rc -ne 0
check "rejection names the commit" grep -q "commit ${BAD:0:12} (change 25)" <<< "$out"
check "rejection names the path and key" grep -q "apps/db-secret.yaml: stringData.password" <<< "$out"
check "rejection names the finding" grep -q "Kubernetes Secret holds this value in clear" <<< "$out"
check "rejection says how to fix" grep -q "push rejected: 1 problem(s) in 1 commit(s)" <<< "$out"
check "the secret value never appears" bash -c '! grep -q SECRETVALUE <<< "$1"' _ "$out"
check_eq "server ref unchanged" "$(git rev-parse HEAD~50)" "$(git -C "$SERVER" rev-parse main)"
check "quarantined objects were dropped" bash -c '! git -C "$1" cat-file -e "$2" 2>/dev/null' _ "$SERVER" "$BAD"

# GitLab: every line the pusher sees is marked for the web UI.
out=$(GL_ID=user-1 GL_REPOSITORY=project-1 git push origin main 2>&1)
check "GitLab: rejected" test $? -ne 0
check "GitLab: lines start with GL-HOOK-ERR" grep -q "^remote: GL-HOOK-ERR: git-sops: error: commit ${BAD:0:12}" <<< "$out"
check "GitLab: the verdict too" grep -q "^remote: GL-HOOK-ERR: git-sops: push rejected" <<< "$out"

# Fix the history: rebuild from the 24th commit with the Secret encrypted by sops.
git reset -q --hard HEAD~26
for i in $(seq 25 50); do
  config_map "$i" > apps/cm.yaml
  if [ "$i" -eq 25 ]; then cp "$FIX/enc/secret-mixed.regex.yaml" apps/db-secret.yaml; fi
  git add -A apps && git commit -qm "change $i (fixed)"
done
out=$(git push origin main 2>&1)
check "fixed history accepted" test $? -eq 0
check_eq "server has the fixed tip" "$(git rev-parse HEAD)" "$(git -C "$SERVER" rev-parse main)"

# New branches: clean accepted; one adding a plaintext Secret rejected.
git checkout -q -b feature
config_map 99 > apps/feature.yaml && git add apps && git commit -qm feature
check "new clean branch accepted" quiet git push origin feature
git checkout -q -b leak main
plain_secret > apps/leak.yaml && git add apps && git commit -qm leak
out=$(git push origin leak 2>&1)
check "new branch with a Secret rejected" test $? -ne 0
check "new branch: path named" grep -q "apps/leak.yaml" <<< "$out"
git checkout -q main
check "branch at an existing commit accepted" quiet git push origin main:refs/heads/copy
check "deleting a branch accepted" quiet git push origin :feature
check_exit "deleted on the server" 1 git -C "$SERVER" rev-parse --verify -q refs/heads/feature^{commit}

# Tags: an annotated tag of a clean commit passes; a tag of a new commit with a secret does not.
git tag -a v1 -m "release 1" main
check "annotated tag accepted" quiet git push origin v1
git tag leaky leak
out=$(git push origin leaky 2>&1)
check "tag of a leaking commit rejected" test $? -ne 0
check "tag rejection names the path" grep -q "apps/leak.yaml" <<< "$out"
check "deleting a tag accepted" quiet git push origin :v1

# A private key in a commit message is not a file; a key in a file is.
git checkout -q -b keys main
cp "$FIX/ssh_ed25519" apps/deploy_key && git add apps && git commit -qm "deploy key"
out=$(git push origin keys 2>&1)
check "private key rejected" test $? -ne 0
check "private key named" grep -q "apps/deploy_key: OpenSSH private key at line 1" <<< "$out"
git checkout -q main

# refs/notes/textconv/* holds cached plaintext: never accepted.
git notes --ref=textconv/sops add -m "plaintext cache" HEAD
out=$(git push origin refs/notes/textconv/sops 2>&1)
check "push to refs/notes/textconv/* rejected" test $? -ne 0
check "textconv rejection explained" grep -q "refs/notes/textconv/sops: refs/notes/textconv/ caches textconv output" <<< "$out"
git notes --ref=other add -m "fine" HEAD
check "other notes accepted" quiet git push origin refs/notes/other

# The hook's own input handling: both id lengths, deletions, garbage.
Z40=$(printf '0%.0s' $(seq 40)); Z64=$(printf '0%.0s' $(seq 64))
TIP=$(git rev-parse main)
hook() { (cd "$SERVER" && GIT_DIR=. "$GIT_SOPS" hook pre-receive); }
check "deletion with 40-digit ids" quiet hook <<< "$TIP $Z40 refs/heads/x"
check "deletion with 64-digit ids" quiet hook <<< "$(printf 'a%.0s' $(seq 64)) $Z64 refs/heads/x"
check "existing commit under a new name" quiet hook <<< "$Z40 $TIP refs/heads/y"
check "CRLF and blank lines" quiet hook <<< "$(printf '\n%s %s refs/heads/y\r\n' "$Z40" "$TIP")"
out=$(hook <<< "$Z64 $(printf 'b%.0s' $(seq 64)) refs/heads/z" 2>&1)
check "a SHA-256 push to this SHA-1 build fails closed" test $? -eq 1
check "and says why" grep -q "SHA-256" <<< "$out"
check_exit "malformed input fails closed" 1 hook <<< "not a ref update"
check_exit "unknown object fails closed" 1 hook <<< "$Z40 $(printf 'c%.0s' $(seq 40)) refs/heads/z"

# --- pre-commit through `git commit` with the installed hook ----------------------------------
L="$T_ROOT/local"
git init -q "$L"
cd "$L" || exit 1
check "install" quiet "$GIT_SOPS" install
check "pre-commit shim installed" test -x .git/hooks/pre-commit
plain_secret > secret.yaml
gitnf add secret.yaml
out=$(gitnf commit -m "initial with a secret" 2>&1)
check "initial commit with a plaintext Secret stopped" test $? -ne 0
check "pre-commit names path and key" grep -q "secret.yaml: stringData.password" <<< "$out"
check "pre-commit: no value" bash -c '! grep -q SECRETVALUE <<< "$1"' _ "$out"
check_exit "nothing committed" 1 git rev-parse --verify -q HEAD
cp "$FIX/enc/secret-mixed.regex.yaml" secret.yaml
gitnf add secret.yaml
check "encrypted file commits" quiet gitnf commit -m "sealed"
# The worktree does not count, the index does.
plain_secret > secret.yaml
check "plaintext only in the worktree: commit of other files goes on" \
  quiet gitnf commit --allow-empty -m "empty"
gitnf add secret.yaml
cp "$FIX/enc/secret-mixed.regex.yaml" secret.yaml
check_exit "plaintext staged, sealed in the worktree: stopped" 1 gitnf commit -m "staged plaintext"
gitnf reset -q secret.yaml
# `git commit <path>` builds a temporary index (GIT_INDEX_FILE) from the worktree file.
plain_secret > secret.yaml
out=$(gitnf commit -m "only this path" secret.yaml 2>&1)
check "git commit <path>: temporary index checked" test $? -ne 0
check "git commit <path>: the finding" grep -q "secret.yaml: stringData.password" <<< "$out"
cp "$FIX/enc/secret-mixed.regex.yaml" secret.yaml
# A .sops.yaml rule covering a file that is already committed in clear.
config_map 1 > settings.yaml && gitnf add settings.yaml && gitnf commit -qm settings
printf 'creation_rules:\n  - path_regex: ^settings\\.yaml$\n    age: %s\n' \
  age1g74wj3g2m2l2x37frsn6q0efutcsl2zgrt0uwv9r64dpsawaughq5lxmhp > .sops.yaml
gitnf add .sops.yaml
out=$(gitnf commit -m "new rule" 2>&1)
check "a new rule makes unchanged files count" test $? -ne 0
check "rule finding named" grep -q "settings.yaml: a .sops.yaml creation rule covers this path" <<< "$out"
gitnf reset -q .sops.yaml && rm .sops.yaml
check "pre-commit framework definition" grep -q "entry: git-sops hook pre-commit" "$SRC/.pre-commit-hooks.yaml"

# --- git sops check -----------------------------------------------------------------------------
cd "$C" || exit 1
sops_check() { "$GIT_SOPS" check "$@"; }
check_exit "default (--tree HEAD) on a clean tip" 0 sops_check
check_exit "--tree of the leaking branch" 1 sops_check --tree leak
check_exit "--all sees the leaking branch" 1 sops_check --all
check_exit "--range of clean commits" 0 sops_check --range main~3..main
check_exit "--range with the leak" 1 sops_check --range main..leak
check_exit "--staged, nothing staged" 0 sops_check --staged
plain_secret > apps/staged.yaml && git add apps/staged.yaml
check_exit "--staged with a plaintext Secret" 1 sops_check --staged
git reset -q apps/staged.yaml && rm apps/staged.yaml
check_exit "two modes" 2 sops_check --all --staged
check_exit "unknown option" 2 sops_check --bogus
check_exit "bad format" 2 sops_check --format xml
check_exit "bad range" 2 sops_check --range main
check_exit "unknown revision" 2 sops_check --tree no-such-rev
check_exit "not a repository" 2 bash -c 'cd "$1" && GIT_CEILING_DIRECTORIES="$1" "$2" check' _ "$T_ROOT" "$GIT_SOPS"
check "help" quiet sops_check --help
check_exit "default on a repository without commits" 0 bash -c 'git init -q "$1" && cd "$1" && "$2" check' _ "$T_ROOT/empty" "$GIT_SOPS"
# A plaintext added, deleted and added again is one finding, at the commit that first added it.
git checkout -q -b again main
plain_secret > apps/again.yaml && git add apps && git commit -qm "first time"
FIRST=$(git rev-parse HEAD)
git rm -q apps/again.yaml && git commit -qm "gone"
plain_secret > apps/again.yaml && git add apps && git commit -qm "second time"
check_eq "one finding, at the first commit" "1 $FIRST" "$(sops_check --range main..again --format json 2>/dev/null |
  python3 -c 'import json,sys; f=json.load(sys.stdin)["findings"]; print(len(f), f[0]["commit"])')"
git checkout -q main && git branch -q -D again
# Merges: files taken from either side were checked where that side got them; what the merge
# itself adds (an "evil merge") is the merge's.
git checkout -q -b side main
config_map 201 > apps/side.yaml && git add apps && git commit -qm "side"
git checkout -q -b mainline main
config_map 202 > apps/mainline.yaml && git add apps && git commit -qm "mainline"
git merge -q --no-ff side -m "merge side"
plain_secret > apps/evil.yaml && git add apps && git commit -q --amend --no-edit
MERGE=$(git rev-parse HEAD)
check_eq "evil merge: one finding, at the merge" "1 $MERGE apps/evil.yaml" "$(sops_check --range main..mainline --format json 2>/dev/null |
  python3 -c 'import json,sys; f=json.load(sys.stdin)["findings"]; print(len(f), f[0]["commit"], f[0]["path"])')"
git checkout -q main && git branch -q -D side mainline
# A shallow clone (CI checkouts): one revision can be checked, a history walk says what to do.
git clone -q --depth 2 "file://$SERVER" "$T_ROOT/shallow" 2>/dev/null
check_exit "shallow clone: --tree works" 0 bash -c 'cd "$1" && "$2" check' _ "$T_ROOT/shallow" "$GIT_SOPS"
out=$(cd "$T_ROOT/shallow" && "$GIT_SOPS" check --all 2>&1)
check "shallow clone: --all is a repository error" test $? -eq 2
check "shallow clone: says how to fix" grep -q "git fetch --unshallow" <<< "$out"

# A longer history: a plaintext added at commit 300, deleted, and added again at commit 900 is
# one finding, at commit 300; every commit is diffed once.
LONG="$T_ROOT/long.git"
git init -q --bare "$LONG"
python3 - <<'PY' | git -C "$LONG" fast-import --quiet
import sys
out = sys.stdout.buffer
def data(b):
    out.write(b"data %d\n" % len(b) + b + b"\n")
secret = b"kind: Secret\nstringData:\n  password: hunter2-SECRETVALUE\n"
for n in range(1, 1201):
    out.write(b"commit refs/heads/main\nmark :%d\ncommitter t <t@example.com> %d +0000\n" % (n, 1700000000 + n))
    data(b"commit %d" % n)
    out.write(b"M 100644 inline apps/cm.yaml\n")
    data(b"kind: ConfigMap\ndata: {n: '%d'}\n" % n)
    if n in (300, 900):
        out.write(b"M 100644 inline apps/leak.yaml\n")
        data(secret)
    if n in (301, 901):
        out.write(b"D apps/leak.yaml\n")
PY
C300=$(git -C "$LONG" log --format=%H --grep='^commit 300$')
check_eq "long history: one finding, at commit 300" "1 $C300" "$(cd "$LONG" && "$GIT_SOPS" check --all --format json 2>/dev/null |
  python3 -c 'import json,sys; f=json.load(sys.stdin)["findings"]; print(len(f), f[0]["commit"])')"
check_eq "long history: every commit checked once" "1200" \
  "$(cd "$LONG" && "$GIT_SOPS" check --all 2>&1 >/dev/null | sed -n 's/.* across \([0-9]*\) commit(s)$/\1/p')"

sops_check --all --format json > "$T_ROOT/all.json" 2>/dev/null
check "JSON parses" quiet python3 -m json.tool "$T_ROOT/all.json"
check_eq "JSON counts the leaking commit and the key" "2" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["errors"])' "$T_ROOT/all.json")"
sops_check --all --format sarif > "$T_ROOT/all.sarif" 2>/dev/null
check "SARIF parses" quiet python3 -m json.tool "$T_ROOT/all.sarif"
check "SARIF shape" python3 - "$T_ROOT/all.sarif" <<'EOF'
import json, sys
log = json.load(open(sys.argv[1]))
assert log["version"] == "2.1.0"
run = log["runs"][0]
rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
assert run["tool"]["driver"]["name"] == "git-sops"
assert set(rules) == {"plaintext-secret", "rule-not-encrypted", "partly-plaintext", "private-key", "recipient-drift"}
assert len(run["results"]) == 2
for r in run["results"]:
    assert r["ruleId"] in rules and rules[r["ruleIndex"]] == r["ruleId"]
    assert r["level"] in ("error", "warning")
    assert r["message"]["text"] and "SECRETVALUE" not in r["message"]["text"]
    loc = r["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].startswith("apps/")
    assert loc["region"]["startLine"] >= 1
EOF
sops_check --format sarif > "$T_ROOT/clean.sarif" 2>/dev/null
check_eq "clean SARIF has no results" "0" \
  "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["runs"][0]["results"]))' "$T_ROOT/clean.sarif")"

finish

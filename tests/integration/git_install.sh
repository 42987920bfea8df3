#!/usr/bin/env bash
# `git sops install` / `git sops uninstall` in real repositories: running twice changes nothing,
# uninstall removes exactly what install added, an existing hook is chained and restored,
# core.hooksPath and linked worktrees are respected, and the drivers name the right binary.
source "$TESTLIB"

# This binary reachable as plain `git-sops` on a PATH (a symlink, as package managers do), and a
# stand-in that answers `git-sops hook ...` (the hook command lands with the policy module) by
# logging, and passes everything else to the binary under test.
mkdir -p "$T_ROOT/bin" "$T_ROOT/stub"
ln -s "$GIT_SOPS" "$T_ROOT/bin/git-sops"
cat > "$T_ROOT/stub/git-sops" <<EOF
#!/bin/sh
if [ "\$1" = hook ]; then
	echo "hook \$2 \$(cat)" >> "\$STUB_LOG"
	exit \${STUB_EXIT:-0}
fi
exec "$GIT_SOPS" "\$@"
EOF
chmod +x "$T_ROOT/stub/git-sops"
export STUB_LOG="$T_ROOT/stub.log"
: > "$STUB_LOG"
ON_PATH="$T_ROOT/bin:$PATH"
STUBBED="$T_ROOT/stub:$PATH"

quiet() { "$@" >/dev/null 2>&1; }
new_repo() { git init -q "$1" && git -C "$1" commit -q --allow-empty -m init; }
hooks_listing() { (cd "$1" && ls -l --time-style=+ . | grep -v '\.sample$' | sed 1d); }

# --- install twice, uninstall: byte-identical config and attributes -------------------------------
R="$T_ROOT/basic"
new_repo "$R"
printf '*.png binary\n# the user'"'"'s own line\n*.md text' > "$R/.gitattributes"
git -C "$R" add .gitattributes && git -C "$R" commit -qm attributes
git -C "$R" config user.extra kept
cp "$R/.git/config" "$T_ROOT/config.before"
cp "$R/.gitattributes" "$T_ROOT/attributes.before"
hooks_listing "$R/.git/hooks" > "$T_ROOT/hooks.before"

out=$(cd "$R" && "$GIT_SOPS" install 2>&1)
check "install succeeds" test $? -eq 0
check_eq "process driver" "$GIT_SOPS filter-process" "$(git -C "$R" config --local filter.sops.process)"
check_eq "clean driver" "$GIT_SOPS clean -- %f" "$(git -C "$R" config --local filter.sops.clean)"
check_eq "smudge driver" "$GIT_SOPS smudge -- %f" "$(git -C "$R" config --local filter.sops.smudge)"
check_eq "required" "true" "$(git -C "$R" config --local filter.sops.required)"
check_eq "textconv" "$GIT_SOPS textconv --" "$(git -C "$R" config --local diff.sops.textconv)"
check_eq "merge driver" "$GIT_SOPS merge %O %A %B %L %P" "$(git -C "$R" config --local merge.sops.driver)"
check "merge driver has a name" quiet git -C "$R" config --local merge.sops.name
check_exit "never cachetextconv" 1 git -C "$R" config diff.sops.cachetextconv
check "says the path is pinned" grep -q "by its full path" <<< "$out"
check_eq "attributes route yaml to sops" "sops" "$(cd "$R" && git check-attr filter -- x/secret.yaml | sed 's/.*: //')"
# `!filter` makes the attribute unspecified, so .sops.yaml goes through no filter and diffs as text.
check_eq ".sops.yaml is never filtered" "unspecified" "$(cd "$R" && git check-attr filter -- .sops.yaml | sed 's/.*: //')"
check_eq "user lines kept first" "$(cat "$T_ROOT/attributes.before")" "$(head -3 "$R/.gitattributes")"
check "pre-commit shim" test -x "$R/.git/hooks/pre-commit"
check "pre-receive shim" test -x "$R/.git/hooks/pre-receive"
check "record under the common dir" test -s "$R/.git/git-sops/installed"

cp "$R/.git/config" "$T_ROOT/config.once"
cp "$R/.gitattributes" "$T_ROOT/attributes.once"
hooks_listing "$R/.git/hooks" > "$T_ROOT/hooks.once"
cp "$R/.git/git-sops/installed" "$T_ROOT/record.once"
out=$(cd "$R" && "$GIT_SOPS" install 2>&1)
check "second install succeeds" test $? -eq 0
check "second install says nothing changed" grep -q "nothing changed" <<< "$out"
check_files_equal "config unchanged by the second install" "$T_ROOT/config.once" "$R/.git/config"
check_files_equal "attributes unchanged by the second install" "$T_ROOT/attributes.once" "$R/.gitattributes"
hooks_listing "$R/.git/hooks" > "$T_ROOT/hooks.twice"
check_files_equal "hooks unchanged by the second install" "$T_ROOT/hooks.once" "$T_ROOT/hooks.twice"
check_files_equal "record unchanged by the second install" "$T_ROOT/record.once" "$R/.git/git-sops/installed"

(cd "$R" && "$GIT_SOPS" uninstall >/dev/null)
check "uninstall succeeds" test $? -eq 0
check_files_equal "config restored byte for byte" "$T_ROOT/config.before" "$R/.git/config"
check_files_equal "attributes restored byte for byte" "$T_ROOT/attributes.before" "$R/.gitattributes"
hooks_listing "$R/.git/hooks" > "$T_ROOT/hooks.after"
check_files_equal "hooks folder as before" "$T_ROOT/hooks.before" "$T_ROOT/hooks.after"
check "no state left" test ! -e "$R/.git/git-sops"
check_eq "worktree clean after uninstall" "" "$(git -C "$R" status --porcelain)"
check "uninstall again is harmless" bash -c "cd '$R' && '$GIT_SOPS' uninstall | grep -q 'not installed here'"

# --- the clean filter's cache goes with the filter ---------------------------------------------------
C="$T_ROOT/cache-repo"
git init -q "$C"
"$GIT_SOPS" keygen -o "$T_ROOT/cache.key" 2>/dev/null
printf 'creation_rules:\n  - path_regex: \\.yaml$\n    age: %s\n' "$("$GIT_SOPS" keygen -y "$T_ROOT/cache.key")" > "$C/.sops.yaml"
(cd "$C" && "$GIT_SOPS" install >/dev/null && printf 'kind: Secret\nstringData:\n  k: v\n' > s.yaml && git add s.yaml)
check "git add through the filter wrote the clean cache" test -s "$C/.git/git-sops/clean-cache"
(cd "$C" && "$GIT_SOPS" uninstall >/dev/null)
check "uninstall removes the clean cache and its key" test ! -e "$C/.git/git-sops/clean-cache" -a ! -e "$C/.git/git-sops/clean-cache.key"
check "and leaves no state" test ! -e "$C/.git/git-sops"

# --- the binary on PATH is named plainly; another git-sops on PATH pins the full path ------------
R="$T_ROOT/named"
new_repo "$R"
(cd "$R" && PATH="$ON_PATH" git sops install >/dev/null)
check_eq "plain name when PATH has this binary" "git-sops filter-process" "$(git -C "$R" config filter.sops.process)"
check "shim calls plain git-sops" grep -qx 'git_sops=git-sops' "$R/.git/hooks/pre-commit"
(cd "$R" && PATH="$STUBBED" "$GIT_SOPS" install >/dev/null)
check_eq "full path when PATH has another git-sops" "$GIT_SOPS filter-process" "$(git -C "$R" config filter.sops.process)"
check "shim pinned to the full path" grep -qx "git_sops=$GIT_SOPS" "$R/.git/hooks/pre-commit"
(cd "$R" && "$GIT_SOPS" uninstall >/dev/null)
check_exit "all gone" 1 git -C "$R" config --get-regexp '^(filter|diff|merge)\.sops\.'

# --- an existing pre-commit hook is chained, runs first, and comes back on uninstall -------------
R="$T_ROOT/chain"
new_repo "$R"
cat > "$R/.git/hooks/pre-commit" <<'EOF'
#!/bin/sh
echo "mine ran" >> "$MINE_LOG"
exit ${MINE_EXIT:-0}
EOF
chmod 750 "$R/.git/hooks/pre-commit"
cp -p "$R/.git/hooks/pre-commit" "$T_ROOT/mine.before"
export MINE_LOG="$T_ROOT/mine.log"
(cd "$R" && PATH="$ON_PATH" git-sops install >/dev/null)
check_files_equal "old hook kept as chained" "$T_ROOT/mine.before" "$R/.git/hooks/pre-commit.git-sops-chained"
echo one > "$R/one.txt" && git -C "$R" add one.txt
: > "$MINE_LOG"; : > "$STUB_LOG"
check "commit passes both hooks" env PATH="$STUBBED" git -C "$R" commit -qm one
check_eq "chained hook ran" "mine ran" "$(cat "$MINE_LOG")"
check_eq "then git-sops ran" "hook pre-commit " "$(cat "$STUB_LOG")"
echo two > "$R/two.txt" && git -C "$R" add two.txt
: > "$MINE_LOG"; : > "$STUB_LOG"
check_exit "a failing chained hook stops the commit" 1 env PATH="$STUBBED" MINE_EXIT=3 git -C "$R" commit -qm two
check_eq "git-sops not asked after the chained hook failed" "" "$(cat "$STUB_LOG")"
: > "$MINE_LOG"
check_exit "a failing git-sops check stops the commit" 1 env PATH="$STUBBED" STUB_EXIT=1 git -C "$R" commit -qm two
check_eq "chained hook ran before the failing check" "mine ran" "$(cat "$MINE_LOG")"
out=$(cd "$R" && PATH=/usr/bin:/bin .git/hooks/pre-commit 2>&1)
check_eq "missing git-sops fails closed" "1" "$?"
check "missing git-sops is explained" grep -q "cannot run 'git-sops'" <<< "$out"
(cd "$R" && "$GIT_SOPS" uninstall >/dev/null)
check_files_equal "chained hook restored" "$T_ROOT/mine.before" "$R/.git/hooks/pre-commit"
check_eq "restored hook keeps its mode" "$(stat -c %a "$T_ROOT/mine.before")" "$(stat -c %a "$R/.git/hooks/pre-commit")"
check "no chained file left" test ! -e "$R/.git/hooks/pre-commit.git-sops-chained"

# --- pre-receive: both the chained hook and git-sops read the same ref updates ------------------
B="$T_ROOT/server.git"
git init -q --bare "$B"
cat > "$B/hooks/pre-receive" <<'EOF'
#!/bin/sh
cat > "$MINE_LOG"
EOF
chmod +x "$B/hooks/pre-receive"
out=$(cd "$B" && PATH="$ON_PATH" git-sops install 2>&1)
check "install in a bare repository" test $? -eq 0
check "bare: no attributes" grep -q "bare repository" <<< "$out"
: > "$STUB_LOG"
check "push passes both pre-receive hooks" env PATH="$STUBBED" git -C "$R" push -q "$B" main
want="$(git -C "$R" rev-parse main)"
check "chained pre-receive saw the update" grep -q "^0\{40\} $want refs/heads/main$" "$MINE_LOG"
check "git-sops saw the same update" grep -q "^hook pre-receive 0\{40\} $want refs/heads/main$" "$STUB_LOG"
(cd "$B" && "$GIT_SOPS" uninstall >/dev/null)
check "bare: chained pre-receive restored" grep -q 'cat > "$MINE_LOG"' "$B/hooks/pre-receive"

# --- core.hooksPath (relative to the worktree top) ----------------------------------------------
R="$T_ROOT/hookspath"
new_repo "$R"
git -C "$R" config core.hooksPath .githooks
mkdir -p "$R/sub"
(cd "$R/sub" && "$GIT_SOPS" install >/dev/null)
check "shim in core.hooksPath" test -x "$R/.githooks/pre-commit"
check "nothing in .git/hooks" test ! -e "$R/.git/hooks/pre-commit"
(cd "$R" && "$GIT_SOPS" uninstall >/dev/null)
check "shims removed from core.hooksPath" test ! -e "$R/.githooks/pre-commit"
check "the folder install made is gone" test ! -e "$R/.githooks"

# An absolute core.hooksPath outside the repository is used, with a warning: others share it.
git -C "$R" config core.hooksPath "$T_ROOT/shared-hooks"
out=$(cd "$R" && "$GIT_SOPS" install 2>&1)
check "shim in the shared hooks folder" test -x "$T_ROOT/shared-hooks/pre-receive"
check "warns that the folder is shared" grep -q "outside this repository" <<< "$out"
(cd "$R" && "$GIT_SOPS" uninstall >/dev/null)
check "shared hooks folder removed again" test ! -e "$T_ROOT/shared-hooks"

# --- a linked worktree: config, hooks and record in the common dir; attributes in the worktree ---
R="$T_ROOT/wtmain"
new_repo "$R"
git -C "$R" worktree add -q "$T_ROOT/wt" -b side
cp "$R/.git/config" "$T_ROOT/wt-config.before"
(cd "$T_ROOT/wt" && "$GIT_SOPS" install >/dev/null)
check "worktree: config in the common dir" quiet git -C "$R" config --local filter.sops.process
check "worktree: hooks in the common dir" test -x "$R/.git/hooks/pre-commit"
check "worktree: nothing in the worktree's git dir" test ! -e "$R/.git/worktrees/wt/hooks/pre-commit"
check "worktree: record in the common dir" test -s "$R/.git/git-sops/installed"
check "worktree: attributes in the worktree" grep -q "BEGIN git-sops" "$T_ROOT/wt/.gitattributes"
check "worktree: main checkout untouched" test ! -e "$R/.gitattributes"
printf 'a: 1\n' > "$T_ROOT/wt/s.yaml"
GIT_TRACE_PACKET="$T_ROOT/wt.trace" git -C "$T_ROOT/wt" add s.yaml .gitattributes
check_eq "worktree: the filter process serves the worktree" "1" "$(grep -c 'git> git-filter-client' "$T_ROOT/wt.trace")"
git -C "$T_ROOT/wt" reset -q
(cd "$R" && "$GIT_SOPS" uninstall >/dev/null)
check_files_equal "worktree: common config restored" "$T_ROOT/wt-config.before" "$R/.git/config"
check "worktree: attributes file it created is gone" test ! -e "$T_ROOT/wt/.gitattributes"

# --- --decrypted-worktree is recorded, and dropped again by a plain install ----------------------
R="$T_ROOT/decrypted"
new_repo "$R"
(cd "$R" && "$GIT_SOPS" install >/dev/null)
cp "$R/.git/config" "$T_ROOT/plain.config"
(cd "$R" && "$GIT_SOPS" install --decrypted-worktree >/dev/null)
check_eq "decrypted worktree recorded" "true" "$(git -C "$R" config git-sops.decryptedWorktree)"
(cd "$R" && "$GIT_SOPS" install >/dev/null)
check_files_equal "plain install drops it again" "$T_ROOT/plain.config" "$R/.git/config"

# --- committed attributes that already route to sops are left alone -----------------------------
R="$T_ROOT/committed"
new_repo "$R"
cp "$T_ROOT/decrypted/.gitattributes" "$R/.gitattributes"  # what an earlier install wrote
git -C "$R" add .gitattributes && git -C "$R" commit -qm "shared attributes"
cp "$R/.gitattributes" "$T_ROOT/committed.before"
(cd "$R" && "$GIT_SOPS" install >/dev/null && "$GIT_SOPS" uninstall >/dev/null)
check_files_equal "committed attributes untouched by install and uninstall" "$T_ROOT/committed.before" "$R/.gitattributes"

# --- outside a repository -----------------------------------------------------------------------
mkdir -p "$T_ROOT/plain"
out=$(cd "$T_ROOT/plain" && GIT_CEILING_DIRECTORIES="$T_ROOT" "$GIT_SOPS" install 2>&1)
check_eq "install outside a repository fails" "1" "$?"
check "and says why" grep -q "not in a git repository" <<< "$out"

finish

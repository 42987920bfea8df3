#!/usr/bin/env bash
# The sops filter with a decrypted worktree (install --decrypted-worktree, unlock, lock) through
# the git commands that run clean and smudge: checkout, stash, rebase, cherry-pick, clone with
# and without a key, linked worktrees. After each, `git status` is clean, secrets are plaintext
# in the worktree exactly when a key is there, and no plaintext reaches any object.
FILTER_SOPS_HELPERS_ONLY=1 source "${BASH_SOURCE[0]%/*}/filter_sops.sh" || exit 1

make_keys
M1=wt-marker-one-3c9d2e
M2=wt-marker-two-77aa01
M3=wt-marker-three-e4f5a6
M4=wt-marker-four-0b1c2d
M5=wt-marker-five-9f8e7d
ALL=("$M1" "$M2" "$M3" "$M4" "$M5")
export SOPS_AGE_KEY_FILE="$T_ROOT/both.key"

is_plain() { grep -q "password: $2" "$1"; }
is_sops() { grep -q '^sops:' "$1" && ! grep -q "password: $2" "$1"; }

new_repo "$T_ROOT/src" --decrypted-worktree
mkdir -p prod dev apps
secret db "$M1" > prod/db.yaml
secret app "$M2" > dev/app-secret.yaml
printf 'replicas: 1\n' > apps/deploy.yaml
git add . && commit -m secrets
check_eq "decryptedWorktree set by install" "true" "$(git config git-sops.decryptedWorktree)"
check_eq "clean after commit" "" "$(git status --porcelain)"

# ---- lock / unlock ------------------------------------------------------------------------------
out=$("$GIT_SOPS" lock 2>&1)
check "lock succeeds" test $? -eq 0
check "lock reports the files" grep -q "2 file(s) checked out again" <<< "$out"
check "locked: ciphertext in the worktree" is_sops prod/db.yaml "$M1"
check "locked: the other rule's file too" is_sops dev/app-secret.yaml "$M2"
check "locked: the stored bytes exactly" cmp -s prod/db.yaml <(git cat-file -p :prod/db.yaml)
check_eq "locked: status clean" "" "$(git status --porcelain)"
check_eq "lock sets the mode" "false" "$(git config git-sops.decryptedWorktree)"
out=$("$GIT_SOPS" unlock 2>&1)
check "unlock succeeds" test $? -eq 0
check "unlocked: plaintext in the worktree" is_plain prod/db.yaml "$M1"
check "unlocked: dev file plaintext" is_plain dev/app-secret.yaml "$M2"
check_eq "unlocked: status clean" "" "$(git status --porcelain)"
check "single-shot smudge = what the process wrote" cmp -s prod/db.yaml \
  <(git cat-file -p :prod/db.yaml | "$GIT_SOPS" smudge -- prod/db.yaml)
stays_clean "decrypted worktree, 20 touches with the key" prod/db.yaml dev/app-secret.yaml
unset SOPS_AGE_KEY_FILE
stays_clean "decrypted worktree, 20 touches without the key" prod/db.yaml dev/app-secret.yaml
export SOPS_AGE_KEY_FILE="$T_ROOT/both.key"

# A modified file is left alone by lock, and listed.
sed -i "s/$M2/$M3/" dev/app-secret.yaml
out=$("$GIT_SOPS" lock 2>&1)
check "lock lists the modified file" grep -q "dev/app-secret.yaml" <<< "$out"
check "modified file kept" is_plain dev/app-secret.yaml "$M3"
check "the other file locked" is_sops prod/db.yaml "$M1"
"$GIT_SOPS" unlock > /dev/null
check "unlock again" is_plain prod/db.yaml "$M1"
check "the modification survived" is_plain dev/app-secret.yaml "$M3"
git add dev/app-secret.yaml && commit -m "dev password"

# ---- stash ----------------------------------------------------------------------------------------
sed -i "s/$M1/$M4/" prod/db.yaml
check "stash" git stash -q
check "after stash: committed plaintext back" is_plain prod/db.yaml "$M1"
check_eq "after stash: clean" "" "$(git status --porcelain)"
check "the stash holds ciphertext" bash -c "git show stash@{0}:prod/db.yaml | grep -q '^sops:'"
check "stash pop" git stash pop -q
check "after pop: the change is back" is_plain prod/db.yaml "$M4"
git checkout -q -- prod/db.yaml
check "checkout -- file restores plaintext" is_plain prod/db.yaml "$M1"
check_eq "clean after restore" "" "$(git status --porcelain)"

# ---- branches: checkout, rebase, cherry-pick --------------------------------------------------------
git checkout -q -b feature
sed -i "s/$M1/$M5/" prod/db.yaml
git add prod/db.yaml && commit -m "feature: prod password"
feature_commit=$(git rev-parse HEAD)
git checkout -q main
check "checkout main: main's plaintext" is_plain prod/db.yaml "$M1"
check_eq "clean after branch switch" "" "$(git status --porcelain)"
printf 'replicas: 2\n' > apps/deploy.yaml
git add apps && commit -m "main: replicas"
git checkout -q feature
check "checkout feature: feature's plaintext" is_plain prod/db.yaml "$M5"
check "rebase onto main" git rebase -q main
check "after rebase: feature's plaintext" is_plain prod/db.yaml "$M5"
check_eq "after rebase: main's change there" "replicas: 2" "$(cat apps/deploy.yaml)"
check_eq "clean after rebase" "" "$(git status --porcelain)"
check "rebased blob is ciphertext" bash -c "git cat-file -p HEAD:prod/db.yaml | grep -q '^sops:'"
git checkout -q main
check "cherry-pick" git cherry-pick "$feature_commit" > /dev/null
check "after cherry-pick: plaintext" is_plain prod/db.yaml "$M5"
check_eq "clean after cherry-pick" "" "$(git status --porcelain)"
check "git log -p decrypts" bash -c "git log -p -1 -- prod/db.yaml | grep -q '^+.*password: $M5'"

# ---- linked worktree ------------------------------------------------------------------------------
check "worktree add" git worktree add -q "$T_ROOT/wt" feature
check "worktree: plaintext" is_plain "$T_ROOT/wt/prod/db.yaml" "$M5"
cd "$T_ROOT/wt" && stays_clean "worktree: 20 touches" prod/db.yaml dev/app-secret.yaml
cd "$T_ROOT/src" || exit 1
check "worktree: cache in the common dir" test -f .git/git-sops/clean-cache
check "worktree: no cache in the worktree's git dir" test ! -e .git/worktrees/wt/git-sops

# ---- clones -------------------------------------------------------------------------------------
SRC="$T_ROOT/src"
filters=(-c "filter.sops.process=$GIT_SOPS filter-process" -c filter.sops.required=true -c git-sops.decryptedWorktree=true)

check "clone with the filter and a key" git clone -q "${filters[@]}" "$SRC" "$T_ROOT/clone-key"
check "clone with key: plaintext" is_plain "$T_ROOT/clone-key/prod/db.yaml" "$M5"
check_eq "clone with key: clean" "" "$(git -C "$T_ROOT/clone-key" status --porcelain)"

unset SOPS_AGE_KEY_FILE
git clone -q "${filters[@]}" "$SRC" "$T_ROOT/clone-nokey" 2> "$T_ROOT/clone.err"
check_eq "clone without a key succeeds" "0" "$?"
check "clone without key: ciphertext" is_sops "$T_ROOT/clone-nokey/prod/db.yaml" "$M5"
check_eq "clone without key: one warning line" "1" "$(grep -c 'git-sops: warning' "$T_ROOT/clone.err")"
check "the warning says how to fix it" grep -q "git sops unlock" "$T_ROOT/clone.err"
check_eq "clone without key: clean" "" "$(git -C "$T_ROOT/clone-nokey" status --porcelain)"
cd "$T_ROOT/clone-nokey" && stays_clean "clone without key: 20 touches" prod/db.yaml dev/app-secret.yaml
check "checkout without a key exits 0" git -C "$T_ROOT/clone-nokey" checkout -q -b other origin/feature

# A plain clone (no filter yet), then install and unlock: the git-crypt way.
git clone -q "$SRC" "$T_ROOT/clone-plain"
cd "$T_ROOT/clone-plain" || exit 1
check "plain clone: ciphertext" is_sops prod/db.yaml "$M5"
"$GIT_SOPS" install > /dev/null
check_eq "installed: still clean" "" "$(git status --porcelain)"
out=$("$GIT_SOPS" unlock 2>&1)
check "unlock without a key exits 0" test $? -eq 0
check "unlock without a key: still encrypted" is_sops prod/db.yaml "$M5"
check "unlock reports files still encrypted" grep -q "still encrypted" <<< "$out"
export SOPS_AGE_KEY_FILE="$T_ROOT/both.key"
"$GIT_SOPS" unlock > /dev/null
check "unlock with a key: plaintext" is_plain prod/db.yaml "$M5"
check_eq "unlock with a key: clean" "" "$(git status --porcelain)"
unset SOPS_AGE_KEY_FILE
stays_clean "unlocked clone, key gone: 20 touches" prod/db.yaml dev/app-secret.yaml

# ---- no plaintext in any object ---------------------------------------------------------------------
for r in "$SRC" "$T_ROOT/clone-key" "$T_ROOT/clone-nokey" "$T_ROOT/clone-plain"; do
  no_plaintext "${r##*/}" "$r" "${ALL[@]}"
  git -C "$r" gc -q --prune=now
  no_plaintext "${r##*/} after gc" "$r" "${ALL[@]}"
done

finish

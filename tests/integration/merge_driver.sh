#!/usr/bin/env bash
# The merge driver under real git: two branches editing different keys of one Secret merge
# cleanly (merge, rebase, cherry-pick), in both worktree modes; the merged blob differs from ours
# only in the changed values, lastmodified and mac, and an independent sops reader verifies it;
# the same key changed on both sides conflicts, leaves an encrypted blob and names the key path,
# and `git sops resolve` settles it (editor, --ours, --theirs); multi-document files; a key added
# on one side and another deleted on the other; a key changed on one side and deleted on the
# other; recipients changed by updatekeys on one branch while a value changed on the other; no
# key: exit 1 with ours kept; plain YAML gets git's own text merge. No plaintext marker ever
# reaches an object.
FILTER_SOPS_HELPERS_ONLY=1 source "$(dirname "$0")/filter_sops.sh" || exit 1

make_keys
export SOPS_AGE_KEY_FILE="$T_ROOT/both.key"
M_BASE=base-marker-1c5e7a90
M_OURS=ours-marker-2d6f8b01
M_THEIRS=theirs-marker-3e709c12
M_NEW=new-marker-4f81ad23
MARKERS=("$M_BASE" "$M_OURS" "$M_THEIRS" "$M_NEW")

# secret3 NAME USER PASSWORD HOST: a Secret with three values.
secret3() {
  printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\ntype: Opaque\nstringData:\n  username: %s\n  password: %s\n  host: %s\n' \
    "$1" "$2" "$3" "$4"
}
# value FILE KEY: one value of the first document, from a sops file or a decrypted worktree file.
value() {
  if grep -q '^sops:' "$1"; then
    "$GIT_SOPS" decrypt --extract "[\"stringData\"][\"$2\"]" "$1" 2>/dev/null
  else
    sed -n "s/^ *$2: //p" "$1" | head -1
  fi
}
# an EDITOR that runs a sed script on the file: EDITOR="$(sed_editor 's/a/b/')"
sed_editor() {
  local script="$T_ROOT/editor.$RANDOM.sh"
  printf '#!/bin/sh\nsed -i %q "$1"\n' "$1" >"$script"
  chmod +x "$script"
  echo "$script"
}
# changed_lines A B: the +/- lines between two stored blobs, keys only (values are ciphertext).
changed_keys() {
  diff <(git cat-file -p "$1") <(git cat-file -p "$2") | grep '^[<>]' | sed -E 's/^[<>] *//; s/:.*//' | sort -u | tr '\n' ' '
}
peer_verifies() {
  peers_ready || return 0
  git cat-file -p "$1" >"$T_ROOT/peer.yaml"
  SOPS_AGE_KEY=$(grep '^AGE-SECRET-KEY' "$T_ROOT/dev.key") PEERS_NODE_MODULES="$PEERS_NODE_MODULES" \
    node "$SHARED/peers/sops-age-decrypt.mjs" --type yaml --verify-mac "$T_ROOT/peer.yaml" >/dev/null 2>&1
}

# ---- decrypted worktree: merge of two branches that edited different keys -------------------------
new_repo "$T_ROOT/dec" --decrypted-worktree
check_eq "install configures the merge driver" "$GIT_SOPS merge %O %A %B %L %P" "$(git config merge.sops.driver)"
check "the attribute template routes YAML to it" grep -q '^\*\.yaml .*merge=sops' .gitattributes
mkdir -p apps
secret3 db admin "$M_BASE" db.local > apps/db-secret.yaml
git add apps && commit -m base
git checkout -q -b feature
sed -i "s/$M_BASE/$M_THEIRS/" apps/db-secret.yaml
git add apps && commit -m "feature: password"
git checkout -q main
sed -i "s/db.local/db.prod/" apps/db-secret.yaml
git add apps && commit -m "main: host"
ours_blob=$(git rev-parse HEAD:apps/db-secret.yaml)
check "git merge of different keys is clean" git merge -q --no-edit --no-verify feature
check_eq "merged password is theirs" "$M_THEIRS" "$(value apps/db-secret.yaml password)"
check_eq "merged host is ours" "db.prod" "$(value apps/db-secret.yaml host)"
check_eq "worktree holds the merged plaintext" "$M_THEIRS" "$(grep -o "$M_THEIRS" apps/db-secret.yaml)"
# (lastmodified has one-second resolution: whether it changed depends on the clock)
check_eq "merged blob vs ours: password and mac (and lastmodified)" "mac password " \
  "$(changed_keys "$ours_blob" HEAD:apps/db-secret.yaml | sed 's/lastmodified //')"
check_eq "the changed value has their ciphertext (IV reused)" \
  "$(git cat-file -p feature:apps/db-secret.yaml | grep password:)" \
  "$(git cat-file -p HEAD:apps/db-secret.yaml | grep password:)"
check "the merged blob is a complete sops file" bash -c "git cat-file -p HEAD:apps/db-secret.yaml | grep -q '^    mac: ENC\['"
check "an independent sops reader verifies the merged MAC" peer_verifies HEAD:apps/db-secret.yaml
check_eq "worktree clean after the merge" "" "$(git status --porcelain)"

# ---- the same, by rebase and cherry-pick --------------------------------------------------------
git checkout -q -b topic HEAD~1   # main before the merge: host changed
sed -i "s/admin/$M_OURS/" apps/db-secret.yaml
git add apps && commit -m "topic: username"
check "git rebase onto a branch that changed another key" git rebase -q feature
check_eq "rebased: username kept" "$M_OURS" "$(value apps/db-secret.yaml username)"
check_eq "rebased: their password" "$M_THEIRS" "$(value apps/db-secret.yaml password)"
check_eq "rebased: host (main's, before the merge)" "db.prod" "$(value apps/db-secret.yaml host)"
git checkout -q main
check "git cherry-pick of a change to another key" git cherry-pick topic
check_eq "cherry-picked username" "$M_OURS" "$(value apps/db-secret.yaml username)"
check_eq "cherry-pick kept the merged host" "db.prod" "$(value apps/db-secret.yaml host)"
check_eq "worktree clean after rebase and cherry-pick" "" "$(git status --porcelain)"

# ---- the same key changed on both sides: a conflict, still encrypted --------------------------------
git checkout -q -b other
sed -i "s/$M_THEIRS/$M_NEW/" apps/db-secret.yaml
git add apps && commit -m "other: password"
git checkout -q main
sed -i "s/$M_THEIRS/$M_OURS-pw/" apps/db-secret.yaml
git add apps && commit -m "main: password"
git merge --no-edit --no-verify other >"$T_ROOT/merge.out" 2>"$T_ROOT/merge.err"
check_eq "conflicting merge exits 1" 1 $?
check "git reports the conflict" grep -q 'CONFLICT (content): Merge conflict in apps/db-secret.yaml' "$T_ROOT/merge.out"
check "the driver names the key path" grep -q 'apps/db-secret.yaml: \["stringData"\]\["password"\]: changed on both sides' "$T_ROOT/merge.err"
check "no value in the driver's messages" bash -c "! grep -qE '$M_OURS|$M_NEW|$M_THEIRS' '$T_ROOT/merge.err' '$T_ROOT/merge.out'"
check_eq "the index holds the three stages" "1 2 3" "$(git ls-files -s apps/db-secret.yaml | awk '{print $3}' | tr '\n' ' ' | sed 's/ $//')"
check_eq "the worktree shows our value, no markers" "$M_OURS-pw" "$(value apps/db-secret.yaml password)"
check "no conflict markers in the worktree" bash -c "! grep -q '^<<<<<<<' apps/db-secret.yaml"
no_plaintext "conflicted merge leaves no plaintext object" . "${MARKERS[@]}"
# resolve through the editor: keep theirs by deleting the `ours:` line
EDITOR="$(sed_editor "/ours: $M_OURS-pw/d")" "$GIT_SOPS" resolve apps/db-secret.yaml 2>"$T_ROOT/resolve.err"
check_eq "resolve exits 0" 0 $?
check_eq "resolved to theirs" "$M_NEW" "$(value apps/db-secret.yaml password)"
check_eq "staged at stage 0 only" "0" "$(git ls-files -s apps/db-secret.yaml | awk '{print $3}')"
check_eq "worktree matches the index after resolve" "" "$(git status --porcelain | grep -v '^M ')"
check "the staged blob is encrypted" bash -c "git cat-file -p :apps/db-secret.yaml | grep -q '^    mac: ENC\['"
check "no value in resolve's messages" bash -c "! grep -qE '$M_OURS|$M_NEW' '$T_ROOT/resolve.err'"
check "merge commit after resolve" git commit -q --no-edit --no-verify
check "an independent sops reader verifies the resolved file" peer_verifies HEAD:apps/db-secret.yaml
no_plaintext "resolved merge leaves no plaintext object" . "${MARKERS[@]}"

# an unchanged resolution file stages nothing (exit 200), a broken one neither
git checkout -q -b again HEAD~1 && sed -i "s/$M_OURS-pw/again-1/" apps/db-secret.yaml && git add apps && commit -m again
git checkout -q main && sed -i "s/$M_NEW/again-2/" apps/db-secret.yaml && git add apps && commit -m again2
git merge -q --no-edit --no-verify again >/dev/null 2>&1
check_exit "resolve with the file unchanged: exit 200" 200 env EDITOR=true "$GIT_SOPS" resolve apps/db-secret.yaml
check_exit "resolve keeping both sides fails" 1 env EDITOR="$(sed_editor 's/^\(\s*\)conflict:.*/\1conflict: x/')" \
  "$GIT_SOPS" resolve apps/db-secret.yaml </dev/null
check_eq "still in conflict after refused resolutions" "1 2 3" "$(git ls-files -s apps/db-secret.yaml | awk '{print $3}' | tr '\n' ' ' | sed 's/ $//')"
check "resolve --theirs" "$GIT_SOPS" resolve --theirs apps/db-secret.yaml
check_eq "--theirs took their value" "again-1" "$(value apps/db-secret.yaml password)"
git commit -q --no-edit --no-verify

# ---- multi-document files and additions/deletions ---------------------------------------------------
{ secret3 one user-d1 pw-d1-5a1f host-d1; echo ---; secret3 two user-d2 pw-d2-6b2e host-d2; } > apps/multi-secret.yaml
git add apps && commit -m multi
git checkout -q -b multi-theirs
sed -i 's/pw-d2-6b2e/theirs-pw-d2-7c3d/; s/^\( *\)username: user-d1$/\1token: token-d1-8d4c\n\1username: user-d1/' apps/multi-secret.yaml
git add apps && commit -m "theirs: doc 2 password, doc 1 token added"
git checkout -q main
sed -i 's/host-d1/ours-host-d1/; /^ *username: user-d2$/d' apps/multi-secret.yaml
git add apps && commit -m "ours: doc 1 host, doc 2 username deleted"
check "multi-document merge is clean" git merge -q --no-edit --no-verify multi-theirs
check_eq "two documents" 2 "$(grep -c '^kind: Secret' apps/multi-secret.yaml)"
check_eq "doc 1: theirs' added token, ours' host" "token-d1-8d4c ours-host-d1" \
  "$(sed -n '1,/^---/p' apps/multi-secret.yaml | grep -E '^ *(host|token):' | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')"
check "doc 2: theirs' password" grep -q '^ *password: theirs-pw-d2-7c3d$' apps/multi-secret.yaml
check "doc 2: ours deleted username" bash -c "! grep -q 'username: user-d2' apps/multi-secret.yaml"
check "multi-document merged blob decrypts" bash -c "git cat-file -p HEAD:apps/multi-secret.yaml > '$T_ROOT/m.yaml' && '$GIT_SOPS' decrypt '$T_ROOT/m.yaml' >/dev/null"

# changed on one side, deleted on the other: a conflict; --ours keeps the value
git checkout -q -b deleter
sed -i '/^ *token: token-d1-8d4c$/d' apps/multi-secret.yaml
git add apps && commit -m "deleter: token"
git checkout -q main
sed -i 's/token-d1-8d4c$/token-d1-changed-9e5b/' apps/multi-secret.yaml
git add apps && commit -m "main: token"
git merge --no-edit --no-verify deleter >/dev/null 2>"$T_ROOT/del.err"
check "changed vs deleted conflicts, naming document and path" \
  grep -q 'document 1, \["stringData"\]\["token"\]: changed in ours, deleted in theirs' "$T_ROOT/del.err"
check "resolve --ours keeps the changed value" "$GIT_SOPS" resolve --ours apps/multi-secret.yaml
check_eq "token kept" "token-d1-changed-9e5b" "$(grep -o 'token-d1-changed-9e5b' apps/multi-secret.yaml)"
git commit -q --no-edit --no-verify
check_eq "decrypted worktree clean at the end" "" "$(git status --porcelain)"
no_plaintext "no plaintext object in the decrypted-worktree repository" . "${MARKERS[@]}" pw-d1-5a1f theirs-pw-d2-7c3d token-d1-changed-9e5b

# ---- plain YAML: git's own text merge -------------------------------------------------------------
printf 'a: 1\nb: 2\nc: 3\n' > plain.yaml
git add plain.yaml && commit -m plain
git checkout -q -b plain-theirs && sed -i 's/a: 1/a: 10/' plain.yaml && git add plain.yaml && commit -m p1
git checkout -q main && sed -i 's/c: 3/c: 30/' plain.yaml && git add plain.yaml && commit -m p2
check "plain YAML merges as text" git merge -q --no-edit --no-verify plain-theirs
check_eq "text merge result" "a: 10 b: 2 c: 30" "$(tr '\n' ' ' < plain.yaml | sed 's/ $//')"
git checkout -q -b plain-x && sed -i 's/b: 2/b: x/' plain.yaml && git add plain.yaml && commit -m x
git checkout -q main && sed -i 's/b: 2/b: y/' plain.yaml && git add plain.yaml && commit -m y
git merge --no-edit --no-verify plain-x >/dev/null 2>&1
check_eq "text conflict exits 1 with markers" 1 "$(grep -c '^<<<<<<< ours' plain.yaml)"
check "resolve refuses a file that is not a sops file" bash -c "! '$GIT_SOPS' resolve plain.yaml 2>&1 | grep -q resolved"
git merge --abort

# ---- encrypted worktree (the default): edits through git sops edit ----------------------------------
new_repo "$T_ROOT/enc"
mkdir -p apps
secret3 api admin "$M_BASE" api.local > "$T_ROOT/plain.yaml"
cp "$T_ROOT/plain.yaml" apps/api-secret.yaml
"$GIT_SOPS" encrypt -i apps/api-secret.yaml
git add apps && commit -m base
check "the worktree keeps ciphertext" grep -q 'password: ENC\[' apps/api-secret.yaml
git checkout -q -b feature
EDITOR="$(sed_editor "s/$M_BASE/$M_THEIRS/")" "$GIT_SOPS" edit apps/api-secret.yaml 2>/dev/null
git add apps && commit -m "feature: password"
git checkout -q main
EDITOR="$(sed_editor "s/api.local/api.prod/")" "$GIT_SOPS" edit apps/api-secret.yaml 2>/dev/null
git add apps && commit -m "main: host"
check "encrypted worktree: merge of different keys is clean" git merge -q --no-edit --no-verify feature
check "encrypted worktree: the file stays ciphertext" grep -q 'password: ENC\[' apps/api-secret.yaml
check_eq "encrypted worktree: merged values" "$M_THEIRS api.prod" \
  "$(echo "$(value apps/api-secret.yaml password) $(value apps/api-secret.yaml host)")"
check_eq "encrypted worktree: clean after merge" "" "$(git status --porcelain)"

# ---- recipients changed on one side (updatekeys), a value on the other ------------------------------
git checkout -q -b rekey
sed -i "s/age: $DEV\$/age: $DEV,$PROD/" .sops.yaml
"$GIT_SOPS" updatekeys -y apps/api-secret.yaml >/dev/null 2>&1
git add .sops.yaml apps && commit -m "rekey: prod key added"
check_eq "updatekeys added the recipient on the branch" 2 "$(git cat-file -p HEAD:apps/api-secret.yaml | grep -c 'recipient: ')"
git checkout -q main
EDITOR="$(sed_editor "s/admin/$M_OURS/")" "$GIT_SOPS" edit apps/api-secret.yaml 2>/dev/null
git add apps && commit -m "main: username"
check "merge of updatekeys with a value change is clean" git merge -q --no-edit --no-verify rekey
check_eq "merged file has both recipients" 2 "$(grep -c 'recipient: ' apps/api-secret.yaml)"
check_eq "their key entries kept byte for byte (same data key)" \
  "$(git cat-file -p rekey:apps/api-secret.yaml | sed -n '/^sops:/,/lastmodified/p' | grep -v lastmodified)" \
  "$(git cat-file -p HEAD:apps/api-secret.yaml | sed -n '/^sops:/,/lastmodified/p' | grep -v lastmodified)"
check_eq "the prod key alone decrypts our change" "$M_OURS" \
  "$(SOPS_AGE_KEY_FILE="$T_ROOT/prod.key" "$GIT_SOPS" decrypt --extract '["stringData"]["username"]' apps/api-secret.yaml 2>/dev/null)"
check_eq "the dev key alone too" "$M_OURS" \
  "$(SOPS_AGE_KEY_FILE="$T_ROOT/dev.key" "$GIT_SOPS" decrypt --extract '["stringData"]["username"]' apps/api-secret.yaml 2>/dev/null)"

# ---- no key: exit 1, ours kept, git reports a conflict ----------------------------------------------
git checkout -q -b nokey-theirs
EDITOR="$(sed_editor "s/api.prod/api.theirs/")" "$GIT_SOPS" edit apps/api-secret.yaml 2>/dev/null
git add apps && commit -m "theirs: host"
git checkout -q main
EDITOR="$(sed_editor "s/$M_THEIRS/$M_NEW/")" "$GIT_SOPS" edit apps/api-secret.yaml 2>/dev/null
git add apps && commit -m "main: password"
ours_bytes=$(git cat-file -p HEAD:apps/api-secret.yaml)
SOPS_AGE_KEY_FILE=/dev/null git merge --no-edit --no-verify nokey-theirs >"$T_ROOT/nokey.out" 2>"$T_ROOT/nokey.err"
check_eq "no key: the merge stops" 1 $?
check "no key: one clear line" grep -q 'git-sops merge: cannot merge apps/api-secret.yaml: no identity opens' "$T_ROOT/nokey.err"
check_eq "no key: the worktree keeps ours" "$ours_bytes" "$(cat apps/api-secret.yaml)"
check "with the key, resolve finishes the merge (no conflict left)" "$GIT_SOPS" resolve apps/api-secret.yaml
check_eq "both changes after resolve" "$M_NEW api.theirs" \
  "$(echo "$(value apps/api-secret.yaml password) $(value apps/api-secret.yaml host)")"
check "encrypted worktree after resolve" grep -q 'password: ENC\[' apps/api-secret.yaml
git commit -q --no-edit --no-verify
check_eq "encrypted worktree clean at the end" "" "$(git status --porcelain)"
no_plaintext "no plaintext object in the encrypted-worktree repository" . "${MARKERS[@]}"

# ---- a new data key on their branch (a rotation) wins over ours' old one ----------------------------
git checkout -q -b rotated
sed -i "s/age: $DEV,$PROD\$/age: $PROD/" .sops.yaml
"$GIT_SOPS" decrypt -i apps/api-secret.yaml && "$GIT_SOPS" encrypt -i apps/api-secret.yaml
git add .sops.yaml apps && commit -m "rotated: new data key, prod key only"
git checkout -q main
EDITOR="$(sed_editor "s/api.theirs/api.rotation/")" "$GIT_SOPS" edit apps/api-secret.yaml 2>/dev/null
git add apps && commit -m "main: host"
check "merge of a rotation with a value change is clean" git merge -q --no-edit --no-verify rotated
check_eq "their key entries (the new data key) are kept" \
  "$(git cat-file -p rotated:apps/api-secret.yaml | sed -n '/^sops:/,/lastmodified/p' | grep -v lastmodified)" \
  "$(git cat-file -p HEAD:apps/api-secret.yaml | sed -n '/^sops:/,/lastmodified/p' | grep -v lastmodified)"
check_eq "the prod key reads our change" "api.rotation" \
  "$(SOPS_AGE_KEY_FILE="$T_ROOT/prod.key" "$GIT_SOPS" decrypt --extract '["stringData"]["host"]' apps/api-secret.yaml 2>/dev/null)"
check_exit "the dropped dev key no longer opens the merged file" 128 env SOPS_AGE_KEY_FILE="$T_ROOT/dev.key" \
  "$GIT_SOPS" decrypt apps/api-secret.yaml
no_plaintext "no plaintext object after the rotation merge" . "${MARKERS[@]}" api.rotation

finish

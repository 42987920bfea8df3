#!/usr/bin/env bash
# The sops filter under real git, worktree keeping ciphertext (the default): git add encrypts by
# .sops.yaml rule (two rules, two recipients), refuses plaintext Secrets no rule covers, keeps
# complete sops files byte for byte and refuses partly plaintext ones, re-encrypts a change as a
# small diff, stays unmodified through 20 touches with and without the key, and no plaintext
# marker reaches any object, loose or packed, before and after gc.
#
# filter_worktree.sh sources the helpers below with FILTER_SOPS_HELPERS_ONLY=1.
source "$TESTLIB" || exit 1

# ---- helpers ------------------------------------------------------------------------------------

# Two age keys: dev and prod, and a file holding both.
make_keys() {
  (cd "$T_ROOT" && "$GIT_SOPS" keygen -o dev.key 2>/dev/null && "$GIT_SOPS" keygen -o prod.key 2>/dev/null)
  DEV=$("$GIT_SOPS" keygen -y "$T_ROOT/dev.key")
  PROD=$("$GIT_SOPS" keygen -y "$T_ROOT/prod.key")
  cat "$T_ROOT/dev.key" "$T_ROOT/prod.key" > "$T_ROOT/both.key"
}

# secret NAME PASSWORD: a small Kubernetes Secret manifest.
secret() {
  printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\ntype: Opaque\nstringData:\n  username: admin\n  password: %s\n' \
    "$1" "$2"
}

write_sops_yaml() {
  cat > .sops.yaml <<EOF
creation_rules:
  - path_regex: ^prod/.*\.ya?ml\$
    encrypted_regex: ^(data|stringData)\$
    age: $PROD
  - path_regex: ^(dev|apps)/.*secret.*\.(ya?ml|json)\$
    encrypted_regex: ^(data|stringData)\$
    age: $DEV
EOF
}

# new_repo DIR [install flags]: installed, .sops.yaml and .gitattributes committed.
new_repo() {
  git init -q "$1" && cd "$1" || exit 1
  "$GIT_SOPS" install "${@:2}" >/dev/null
  write_sops_yaml
  git add .sops.yaml .gitattributes && commit -m "sops rules"
}

# The hooks have their own tests; these are about the filter, so commits skip them.
commit() { git commit -q --no-verify "$@"; }

with_key() { SOPS_AGE_KEY_FILE="$T_ROOT/both.key" "$@"; }

# no_plaintext DESCRIPTION REPO MARKER...: no object (every one git can read, loose or packed;
# every loose object also inflated by hand) and no file under the git dir holds a marker.
inflate_loose() {
  find "$1" -type f -path '*/objects/[0-9a-f][0-9a-f]/*' -print0 |
    xargs -0 -r perl -MCompress::Zlib -e \
      'for my $f (@ARGV) { open(my $h, "<:raw", $f) or next; local $/; my $d = <$h>; my $o = uncompress($d); print $o if defined $o; }'
}
no_plaintext() {
  local d=$1 repo=$2 common marker objects=0 leaks=""
  shift 2
  common=$(git -C "$repo" rev-parse --path-format=absolute --git-common-dir)
  objects=$(git -C "$repo" cat-file --batch-all-objects --batch-check | wc -l)
  for marker in "$@"; do
    git -C "$repo" cat-file --batch-all-objects --batch | grep -aqF -- "$marker" && leaks+=" $marker(object)"
    inflate_loose "$common/objects" | grep -aqF -- "$marker" && leaks+=" $marker(loose)"
    grep -rqaF -- "$marker" "$common" && leaks+=" $marker(git dir)"
  done
  if [ -z "$leaks" ] && [ "$objects" -gt 0 ]; then pass; else fail "$d: plaintext in $repo:$leaks ($objects objects)"; fi
}

# stays_clean DESCRIPTION FILE...: 20 rounds of touch + `git status --porcelain` stay empty, and
# the filter really ran (git re-cleans a touched file).
stays_clean() {
  local d=$1 i out
  shift
  for i in $(seq 1 20); do
    touch "$@"
    if [ "$i" -eq 1 ]; then
      out=$(GIT_TRACE_PACKET="$T_ROOT/touch.trace" git status --porcelain)
      grep -q 'command=clean' "$T_ROOT/touch.trace" || { fail "$d: git status did not run the filter"; return; }
      rm -f "$T_ROOT/touch.trace"
    else
      out=$(git status --porcelain)
    fi
    if [ -n "$out" ]; then
      fail "$d: round $i: $out"
      return
    fi
  done
  pass
}

[ -n "${FILTER_SOPS_HELPERS_ONLY:-}" ] && return 0

make_keys
M_PROD=prod-marker-7f3a91c2
M_DEV=dev-marker-4be2d810
M_LEAK=leak-marker-90c1e3aa
M_PARTIAL=partial-marker-5d77b0e1
M_CHANGED=changed-marker-a1b2c3d4

new_repo "$T_ROOT/repo"
mkdir -p prod dev apps other
secret db "$M_PROD" > prod/db.yaml
secret app "$M_DEV" > dev/app-secret.yaml
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  level: info\n' > apps/config.yaml
printf '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"j"},"data":{"token":"%s"}}\n' "$(printf '%s' "$M_DEV-json" | base64)" \
  > dev/json-secret.json

# ---- git add encrypts by rule -------------------------------------------------------------------
check "git add of two rules' files" with_key git add prod dev apps
git cat-file -p :prod/db.yaml > "$T_ROOT/prod.blob.yaml"
git cat-file -p :dev/app-secret.yaml > "$T_ROOT/dev.blob.yaml"
check "prod blob is a sops file" grep -q '^sops:' "$T_ROOT/prod.blob.yaml"
check "prod blob is for the prod key" grep -q "recipient: $PROD" "$T_ROOT/prod.blob.yaml"
check "prod blob is not for the dev key" bash -c "! grep -q '$DEV' '$T_ROOT/prod.blob.yaml'"
check "dev blob is for the dev key only" bash -c "grep -q 'recipient: $DEV' '$T_ROOT/dev.blob.yaml' && ! grep -q '$PROD' '$T_ROOT/dev.blob.yaml'"
check "encrypted_regex leaves metadata readable" grep -q '^    name: db$' "$T_ROOT/prod.blob.yaml"
check "prod blob decrypts with the prod key" bash -c \
  "SOPS_AGE_KEY_FILE='$T_ROOT/prod.key' '$GIT_SOPS' decrypt '$T_ROOT/prod.blob.yaml' | grep -q 'password: $M_PROD'"
check_exit "prod blob does not decrypt with the dev key" 128 env SOPS_AGE_KEY_FILE="$T_ROOT/dev.key" "$GIT_SOPS" decrypt "$T_ROOT/prod.blob.yaml"
check "dev blob decrypts with the dev key" bash -c \
  "SOPS_AGE_KEY_FILE='$T_ROOT/dev.key' '$GIT_SOPS' decrypt '$T_ROOT/dev.blob.yaml' | grep -q 'password: $M_DEV'"
git cat-file -p :dev/json-secret.json > "$T_ROOT/dev.blob.json"
check "JSON secret encrypted too" grep -q '"sops"' "$T_ROOT/dev.blob.json"
check "a file no rule covers is stored as it is" cmp -s apps/config.yaml <(git cat-file -p :apps/config.yaml)
check "commit" commit -m secrets
check_eq "status clean after commit" "" "$(git status --porcelain)"

# Without any key, adding new files still works: only public recipients are needed.
secret nokey "$M_PROD-nokey" > prod/nokey.yaml
check "git add without a private key" git add prod/nokey.yaml
check "encrypted without a private key" bash -c "git cat-file -p :prod/nokey.yaml | grep -q '^sops:'"
commit -m "no key"

# ---- stability ------------------------------------------------------------------------------------
stays_clean "touched 20 times with the key" prod/db.yaml dev/app-secret.yaml dev/json-secret.json apps/config.yaml
export SOPS_AGE_KEY_FILE="$T_ROOT/both.key"
stays_clean "touched 20 times, key in the environment" prod/db.yaml dev/app-secret.yaml
unset SOPS_AGE_KEY_FILE
stays_clean "touched 20 times without the key" prod/db.yaml dev/app-secret.yaml dev/json-secret.json prod/nokey.yaml
# The clean cache lives in the common git dir, private, and holds no plaintext.
check "clean cache key is private" test "$(stat -c %a .git/git-sops/clean-cache.key)" = 600
check "clean cache is private" test "$(stat -c %a .git/git-sops/clean-cache)" = 600
# Losing the cache costs stability only without a key: with one, the staged blob is decrypted.
rm .git/git-sops/clean-cache
touch prod/db.yaml
check_eq "with the key, no cache needed" "" "$(with_key git status --porcelain)"

# Single-shot clean gives the same bytes as the process: the stored blob.
check "single-shot clean = stored blob (key)" cmp -s <(with_key "$GIT_SOPS" clean -- prod/db.yaml < prod/db.yaml) \
  <(git cat-file -p :prod/db.yaml)
check "single-shot clean = stored blob (no key)" cmp -s <("$GIT_SOPS" clean -- prod/db.yaml < prod/db.yaml) \
  <(git cat-file -p :prod/db.yaml)
# The stored sops file itself (what a clone without smudge has) passes through.
check "clean of the stored blob is the blob" cmp -s <("$GIT_SOPS" clean -- prod/db.yaml < "$T_ROOT/prod.blob.yaml") "$T_ROOT/prod.blob.yaml"

# ---- a change is a small diff ---------------------------------------------------------------------
sed -i "s/$M_PROD/$M_CHANGED/" prod/db.yaml
check "status sees the change" test "$(git status --porcelain prod/db.yaml)" = " M prod/db.yaml"
check "git add of the change" with_key git add prod/db.yaml
# lastmodified has one-second resolution: it changes only when the second did, so it is left out.
changed=$(diff <(git cat-file -p HEAD:prod/db.yaml) <(git cat-file -p :prod/db.yaml) | grep '^[<>]' | grep -vc 'lastmodified:')
check_eq "only password and mac changed (2 lines each side, lastmodified aside)" "4" "$changed"
check "username ciphertext kept (same IV)" bash -c \
  "diff <(git cat-file -p HEAD:prod/db.yaml | grep username) <(git cat-file -p :prod/db.yaml | grep username)"
check "git diff --cached decrypts through textconv" bash -c \
  "SOPS_AGE_KEY_FILE='$T_ROOT/both.key' git diff --cached prod/db.yaml | grep -q '^+.*password: $M_CHANGED'"
# (git shows the staged side from the worktree file when its stat matches: that is plaintext.)
check "git diff without a key shows the stored side as ciphertext" bash -c \
  "git diff --cached prod/db.yaml | grep -q '^-.*password: ENC\['"
check "git diff without a key exits 0" bash -c "git diff --cached prod/db.yaml > /dev/null"
commit -m "change password"
stays_clean "changed file stable without the key" prod/db.yaml
with_key stays_clean "changed file stable with the key" prod/db.yaml

# Without the key a change cannot reuse the data key: a fresh encryption, still for prod.
sed -i "s/username: admin/username: root/" prod/db.yaml
check "git add of a change without the key" git add prod/db.yaml
check "still for the prod key" bash -c "git cat-file -p :prod/db.yaml | grep -q 'recipient: $PROD'"
git cat-file -p :prod/db.yaml > "$T_ROOT/fresh.yaml"
check "still decrypts" bash -c "SOPS_AGE_KEY_FILE='$T_ROOT/prod.key' '$GIT_SOPS' decrypt '$T_ROOT/fresh.yaml' | grep -q 'username: root'"
commit -m "username"

# ---- plaintext Secrets outside every rule are refused ---------------------------------------------
index_before=$(sha256sum .git/index)
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: leak\nstringData:\n  token: %s\n' \
  "$M_LEAK" > other/leak.yaml
printf 'good: file\n' > other/fine.yaml
out=$(git add other 2>&1)
rc=$?
check_eq "git add of a plaintext Secret fails" "128" "$rc"
check "message names the path" grep -q "git-sops: other/leak.yaml: plaintext Kubernetes Secret" <<< "$out"
check "git names the file and the filter" grep -q "other/leak.yaml: clean filter 'sops' failed" <<< "$out"
check "message names the document" grep -q "document 2" <<< "$out"
check "message names the key" grep -q "stringData.token" <<< "$out"
check "message suggests a creation rule" grep -q "creation rule" <<< "$out"
check "message suggests git sops encrypt -i" grep -q "git sops encrypt -i other/leak.yaml" <<< "$out"
check "message never shows the value" bash -c "! grep -q '$M_LEAK' <<< '$out'"
check_eq "index unchanged" "$index_before" "$(sha256sum .git/index)"
check_eq "nothing staged" "" "$(git ls-files other)"

refused() {  # DESCRIPTION FILE CONTENT
  printf '%s\n' "$3" > "$2"
  check_exit "$1 is refused" 128 git add "$2"
  check_eq "$1: nothing staged" "" "$(git ls-files "$2")"
  rm -f "$2"
}
refused "kind: \"Secret\" (quoted)" other/quoted.yaml "$(printf 'kind: "Secret"\napiVersion: v1\nmetadata:\n  name: q\ndata:\n  k: %s' "$M_LEAK")"
refused "a JSON Secret" other/s.json "{\"kind\":\"Secret\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"j\"},\"stringData\":{\"k\":\"$M_LEAK\"}}"
refused "a List holding a Secret" other/list.yaml "$(printf 'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: l\n    stringData:\n      k: %s' "$M_LEAK")"
refused "a JSON Secret spelt with \\u escapes" other/e.json "{\"kind\":\"\\u0053ecret\",\"stringData\":{\"k\":\"$M_LEAK\"}}"
refused "kustomize secretGenerator literals" other/kustomization.yaml "$(printf 'secretGenerator:\n  - name: g\n    literals:\n      - k=%s' "$M_LEAK")"
refused "a Secret that does not parse" other/broken.yaml "$(printf 'kind: Secret\nstringData:\n  k: [%s\n' "$M_LEAK")"
printf 'kind: Secret\nstringData:\n  k: [%s\n' "$M_LEAK" > other/broken.yaml
out=$(git add other/broken.yaml 2>&1)
check "the refusal gives the parser's position" grep -q "other/broken.yaml: .*does not parse as yaml (4:1: " <<< "$out"
check "and not the value" bash -c "! grep -q '$M_LEAK' <<< '$out'"
rm -f other/broken.yaml
rm -f other/leak.yaml
printf '# not a Secret, only the word in a comment\nkind: ConfigMap\n' > other/fine2.yaml
check "a file that only mentions Secret passes" git add other
check "and is stored as it is" cmp -s other/fine2.yaml <(git cat-file -p :other/fine2.yaml)
commit -m other

# ---- sops files written by hand ---------------------------------------------------------------------
secret byhand "$M_PROD-byhand" > prod/byhand.yaml
"$GIT_SOPS" encrypt -i prod/byhand.yaml  # the prod rule: its recipient and encrypted_regex
check "a complete sops file is staged" git add prod/byhand.yaml
check "byte for byte" cmp -s prod/byhand.yaml <(git cat-file -p :prod/byhand.yaml)
commit -m byhand
stays_clean "a sops file in the worktree stays clean" prod/byhand.yaml

cp prod/byhand.yaml "$T_ROOT/byhand.enc"
sed -i "s/^\(    password: \).*/\1$M_PARTIAL/" prod/byhand.yaml
out=$(git add prod/byhand.yaml 2>&1)
rc=$?
check_eq "partly plaintext sops file refused" "128" "$rc"
check "message says not completely encrypted" grep -q "not completely encrypted" <<< "$out"
check "message names the key" grep -q "password" <<< "$out"
grep -v '^    mac:' "$T_ROOT/byhand.enc" > prod/byhand.yaml
check_exit "sops file without a mac refused" 128 git add prod/byhand.yaml
cp "$T_ROOT/byhand.enc" prod/byhand.yaml
check_eq "restored: clean again" "" "$(git status --porcelain)"

# ---- the rule's recipients change -------------------------------------------------------------
# Re-keying is updatekeys' business: an unchanged file keeps its blob; a changed one can no longer
# reuse the old data key and is encrypted anew for the rule's new recipients.
cp .sops.yaml "$T_ROOT/sops.yaml.before"
sed -i "0,/age: $PROD/s//age: $DEV/" .sops.yaml
touch prod/db.yaml
check_eq "new recipients: an unchanged file is not modified" "" "$(with_key git status --porcelain prod)"
sed -i "s/username: root/username: operator/" prod/db.yaml
check "new recipients: git add of a change" with_key git add prod/db.yaml
check "new recipients: encrypted for the new recipient" bash -c \
  "git cat-file -p :prod/db.yaml | grep -q 'recipient: $DEV' && ! git cat-file -p :prod/db.yaml | grep -q '$PROD'"
git reset -q prod/db.yaml && git checkout -q -- prod/db.yaml
cp "$T_ROOT/sops.yaml.before" .sops.yaml

# ---- textconv ignores rules: git hands it temporary paths ----------------------------------------
mkdir -p "$T_ROOT/git-blob-x"
git cat-file -p HEAD:prod/db.yaml > "$T_ROOT/git-blob-x/db.yaml"
check "textconv of a temporary path decrypts with a key" bash -c \
  "SOPS_AGE_KEY_FILE='$T_ROOT/both.key' '$GIT_SOPS' textconv -- '$T_ROOT/git-blob-x/db.yaml' | grep -q 'username: root'"
check "textconv without a key prints the input" cmp -s <("$GIT_SOPS" textconv -- "$T_ROOT/git-blob-x/db.yaml") \
  "$T_ROOT/git-blob-x/db.yaml"
check "textconv of plaintext prints it" cmp -s <("$GIT_SOPS" textconv -- apps/config.yaml) apps/config.yaml

# ---- a broken .sops.yaml fails closed -----------------------------------------------------------
cp .sops.yaml "$T_ROOT/sops.yaml.good"
printf 'creation_rules:\n  - path_regex: "prod/(unclosed"\n    age: %s\n' "$PROD" > .sops.yaml
secret broken "$M_LEAK" > apps/plain-secret.yaml
check_exit "an invalid path_regex fails closed" 128 git add apps/plain-secret.yaml
printf 'creation_rules:\n  - path_regex: ^prod/\n    age: age1notarecipient\n' > .sops.yaml
secret badrecipient "$M_LEAK" > prod/bad-recipient.yaml
check_exit "a rule with a bad recipient fails closed" 128 git add prod/bad-recipient.yaml
check_eq "nothing staged" "" "$(git ls-files prod/bad-recipient.yaml)"
cp "$T_ROOT/sops.yaml.good" .sops.yaml
rm apps/plain-secret.yaml prod/bad-recipient.yaml

# ---- no plaintext anywhere ----------------------------------------------------------------------
no_plaintext "before gc" . "$M_PROD" "$M_DEV" "$M_LEAK" "$M_PARTIAL" "$M_CHANGED" "$(printf '%s' "$M_DEV-json" | base64)"
git gc -q --prune=now
check "gc packed the objects" test -n "$(ls .git/objects/pack/*.pack 2>/dev/null)"
no_plaintext "after gc" . "$M_PROD" "$M_DEV" "$M_LEAK" "$M_PARTIAL" "$M_CHANGED" "$(printf '%s' "$M_DEV-json" | base64)"

finish

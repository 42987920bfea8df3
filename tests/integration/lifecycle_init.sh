#!/usr/bin/env bash
# git sops init: key into the (fake) cluster and into .sops.yaml, printed once, never on disk;
# a second init changes nothing; comments and layout of .sops.yaml survive; failures of kubectl
# give one line and change nothing.
source "$TESTLIB"
source "$(dirname "$0")/../fake-kubectl/lifecycle.sh"
OUT="$T_ROOT/out"   # command output: outside every scanned folder
mkdir -p "$OUT"

store() { cat "$FAKE_KUBE_DIR/secrets/${1:-fake-local}/flux-system/sops-age" 2>/dev/null; }

# ---- first init: new .sops.yaml ------------------------------------------------------------------
new_repo fresh
check_exit "init exits 0" 0 "$GIT_SOPS" init
# (run again for its output; the first call above already stored the key)
key=$(cluster_key); remember_key "$key"
check "the cluster holds an age key" grep -q '^AGE-SECRET-KEY-1' <<<"$key"
pub=$(public_of "$key")
check ".sops.yaml lists the cluster's public key" grep -qF "age: $pub" .sops.yaml
check ".sops.yaml has the Secrets rule" grep -qF "encrypted_regex: '^(data|stringData)\$'" .sops.yaml
check "the rule is recorded under the common git dir" grep -qF "$pub" .git/git-sops/clusters
check "the record has no private key" bash -c "! grep -q AGE-SECRET-KEY .git/git-sops/clusters"
check "the key went through stdin" grep -q -- '--from-file=age.agekey=/dev/stdin' "$FAKE_KUBE_DIR/log"
no_leak "first init"

# The key printed once: on stdout, as an identity file (age-keygen -y reads it).
new_repo printed
"$GIT_SOPS" init --secret printed >"$OUT/init.out" 2>"$OUT/init.err"
printed=$(cluster_key fake-local flux-system printed)
check "init stored a key" test -n "$printed"
check_eq "init prints the key it stored" "$(tr -d '\n' <<<"$printed")" "$(grep '^AGE-SECRET-KEY' "$OUT/init.out")"
check "the key output tells to store it" grep -q 'password manager' "$OUT/init.out"
check_eq "stdout is a valid identity file" "$(age-keygen -y "$OUT/init.out" 2>/dev/null)" "$(public_of "$printed")"
remember_key "$printed"
rm -f "$OUT/init.out"

# ---- a second init is a no-op -------------------------------------------------------------------------
cd "$T_ROOT/fresh"
before_store=$(store); before_cfg=$(cat .sops.yaml)
"$GIT_SOPS" init >"$OUT/again.out" 2>"$OUT/again.err"; rc=$?
check_eq "second init exits 0" 0 "$rc"
check "second init says already initialised" grep -q 'already initialised' "$OUT/again.err"
check_eq "second init prints no key" "" "$(cat "$OUT/again.out")"
check_eq "second init leaves the cluster" "$before_store" "$(store)"
check_eq "second init leaves .sops.yaml" "$before_cfg" "$(cat .sops.yaml)"
no_leak "second init"

# ---- comments, order and layout kept ------------------------------------------------------------
# A .sops.yaml with comments everywhere and four layouts of `age:`. Each init adds one key to one
# rule in place; nothing else may change.
commented_config() {
cat <<'EOF'
# Routing of secrets, top comment.
creation_rules:
  # Developer-local secrets (e.g. GitHub tokens)
  - path_regex: '\.env\.json$'
    age: age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq # a dev key
  # Local cluster, list form
  - path_regex: (infrastructure/.*secret.*\.yaml$|overlays/(dev|staging-local)/.*secret.*\.yaml$)
    encrypted_regex: ^(data|stringData)$   # only Secret values
    age:
      # the keys of the local cluster
      - age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj
  # Remote cluster, no key yet
  - path_regex: 'overlays/(staging-remote|production)/.*secret.*\.yaml$'
    encrypted_regex: ^(data|stringData)$

  # Folded, as Flux's guide writes it
  - path_regex: folded/.*\.yaml$
    age: >-
      age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj,
      age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq
  - path_regex: flow/.*\.yaml$
    age: [age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq] # flow
# trailing comment
stores:
  yaml:
    indent: 2 # Flux style
EOF
}

# only_added OLD NEW: NEW holds every line of OLD, in order (lines were only added or extended).
only_added() { ! diff "$1" "$2" | grep -q '^<'; }
comments_kept() { ! diff <(grep '#' "$1") <(grep '#' "$2") | grep -q '^<'; }

try_rule() {  # NAME RULE_FLAGS... : init in a fresh repo with the commented config
  local name=$1; shift
  new_repo "$name"
  commented_config >.sops.yaml
  cp .sops.yaml "$OUT/$name.before"
  "$GIT_SOPS" init "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
  local rc=$?
  check_eq "init $* exits 0 ($(head -c 300 "$OUT/$name.err"))" 0 "$rc"
  NEWKEY=$(grep '^# public key' "$OUT/$name.out" | sed 's/^# public key: //')
  check "init $*: a key was printed" test -n "$NEWKEY"
  remember_key "$(grep '^AGE-SECRET-KEY' "$OUT/$name.out")"
  rm -f "$OUT/$name.out"
  check "init $*: every comment kept" comments_kept "$OUT/$name.before" .sops.yaml
  check "init $*: only lines added or extended" only_added <(sed 's/age1[a-z0-9]*//g' "$OUT/$name.before") <(sed 's/age1[a-z0-9]*//g' .sops.yaml)
  check_eq "init $*: one key more in the file" "$(( $(grep -o 'age1' "$OUT/$name.before" | wc -l) + 1 ))" "$(grep -o 'age1' .sops.yaml | wc -l)"
  no_leak "init $*"
}

# The rule's recipients as git-sops encrypts for them: create a file it routes and read its keys.
recipients_for() {  # PATH
  mkdir -p "$(dirname "$1")"
  printf '#!/bin/sh\nsed -i s/value/changed/ "$1"\n' >"$T_BIN/change-editor"; chmod +x "$T_BIN/change-editor"
  SOPS_EDITOR="$T_BIN/change-editor" "$GIT_SOPS" edit "$1" >/dev/null 2>&1
  grep 'recipient:' "$1" | sed 's/.*recipient: //' | sort | tr '\n' ' '
}

try_rule list --rule 2 --secret list
check "list rule: key appended as a list item" grep -qF "      - $NEWKEY" .sops.yaml
check "list rule: files get the new key" grep -qF "$NEWKEY" <<<"$(recipients_for infrastructure/a-secret.yaml)"

try_rule absent --rule 'overlays/(staging-remote|production)/.*secret.*\.yaml$' --context fake-remote
check "rule without age: an age line is added" grep -qF "    age: $NEWKEY" .sops.yaml
check "the remote key went to the remote context" test -f "$FAKE_KUBE_DIR/secrets/fake-remote/flux-system/sops-age"
check_eq "rule without age: files get exactly the new key" "$NEWKEY " "$(recipients_for overlays/production/db-secret.yaml)"
check "the blank line before the next rule stays" grep -qzF $'encrypted_regex: ^(data|stringData)$\n    age: '"$NEWKEY"$'\n\n  # Folded' .sops.yaml

try_rule scalar --rule 1 --context fake-remote --secret other-key
check "scalar rule: key appended after a comma, comment kept" grep -qF "3290gq,$NEWKEY # a dev key" .sops.yaml

try_rule folded --rule 4 --context fake-remote --namespace team
check "folded rule: key on its own line" grep -qF "      $NEWKEY" .sops.yaml
check "folded rule: files get all three keys" test "$(recipients_for folded/x.yaml | wc -w)" -eq 3

try_rule flow --rule 5 --no-cluster
check "flow rule: key added inside the brackets" grep -qF "3290gq, $NEWKEY] # flow" .sops.yaml

# A new path_regex appends a rule after the last one.
try_rule appended --rule 'apps/.*secret.*\.yaml$' --context fake-remote --secret appended
check "new rule appended after the last rule" grep -qzF $'# flow\n  - path_regex: \'apps/.*secret.*\\.yaml$\'\n' .sops.yaml
check_eq "appended rule: files get the new key" "$NEWKEY " "$(recipients_for apps/x-secret.yaml)"

# Several rules and no --rule: init asks which one and changes nothing.
new_repo ambiguous
commented_config >.sops.yaml; cp .sops.yaml "$OUT/ambiguous.before"
check_exit "several rules without --rule: refused" 1 "$GIT_SOPS" init --context fake-remote --secret unused
check_files_equal "refused init leaves .sops.yaml" "$OUT/ambiguous.before" .sops.yaml
check "refused init stores nothing" test ! -e "$FAKE_KUBE_DIR/secrets/fake-remote/flux-system/unused"

# ---- --no-cluster ----------------------------------------------------------------------------------------
new_repo nocluster
calls=$(wc -l <"$FAKE_KUBE_DIR/log")
"$GIT_SOPS" init --no-cluster >"$OUT/nc.out" 2>"$OUT/nc.err"
check_eq "init --no-cluster exits 0" 0 "$?"
nckey=$(grep '^AGE-SECRET-KEY' "$OUT/nc.out"); remember_key "$nckey"; rm -f "$OUT/nc.out"
check ".sops.yaml lists the --no-cluster key" grep -qF "$(public_of "$nckey")" .sops.yaml
check_eq "--no-cluster runs no kubectl" "$calls" "$(wc -l <"$FAKE_KUBE_DIR/log")"
"$GIT_SOPS" init --no-cluster >"$OUT/nc2.out" 2>"$OUT/nc2.err"
check "a second init --no-cluster changes nothing" grep -q 'already initialised' "$OUT/nc2.err"
check_eq "and prints no key" "" "$(cat "$OUT/nc2.out")"
no_leak "init --no-cluster"

# ---- kubectl failures: one line, nothing changed ------------------------------------------------
failure() {  # DESCRIPTION EXPECTED-TEXT ENV... -- ARGS...
  local d=$1 want=$2; shift 2
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  new_repo "fail-$RANDOM"
  env "${envs[@]}" "$GIT_SOPS" init "$@" >"$OUT/f.out" 2>"$OUT/f.err"; local rc=$?
  check "$d: fails" test "$rc" -ne 0
  check_eq "$d: one line" 1 "$(wc -l <"$OUT/f.err")"
  check "$d: says why ($(cat "$OUT/f.err"))" grep -q "$want" "$OUT/f.err"
  check "$d: no .sops.yaml" test ! -e .sops.yaml
  check "$d: no record" test ! -e .git/git-sops/clusters
  check_eq "$d: no key printed" "" "$(cat "$OUT/f.out")"
}
mkdir -p "$T_ROOT/nopath"
failure "missing kubectl" "kubectl not found" PATH="$T_ROOT/nopath" -- --context fake-remote --secret s1
failure "no current context" "no current context" FAKE_KUBE_FAIL=no-context -- --secret s2
failure "unknown context" "no context named 'nope'" X=1 -- --context nope
failure "connection refused" "cannot reach the cluster" FAKE_KUBE_FAIL=refused -- --context fake-remote --secret s3
failure "RBAC denial" "refused to get secret" FAKE_KUBE_FAIL=forbidden -- --context fake-remote --secret s4
check "no failed init stored a key" bash -c "! ls '$FAKE_KUBE_DIR/secrets/fake-remote/flux-system' | grep -q '^s[0-9]'"
no_leak "failures"

finish

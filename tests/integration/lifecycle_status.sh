#!/usr/bin/env bash
# git sops status: per file encrypted or not, recipients against the rule (drift), MAC when a key
# is at hand; filter and hooks; --cluster compares the cluster's key with its rule.
source "$TESTLIB"
source "$(dirname "$0")/../fake-kubectl/lifecycle.sh"
OUT="$T_ROOT/out"
mkdir -p "$OUT"

printf '#!/bin/bash\nsed -i "s/  key: value/  password: p-$RANDOM/" "$1"\n' >"$T_BIN/fill"
chmod +x "$T_BIN/fill"
status() { "$GIT_SOPS" status "$@" >"$OUT/status.out" 2>"$OUT/status.err"; }
said() { grep -qF -- "$1" "$OUT/status.out"; }

new_repo repo
"$GIT_SOPS" install >/dev/null 2>&1 || fail "install"
"$GIT_SOPS" init >/dev/null 2>&1 || fail "init"
key=$(cluster_key); remember_key "$key"; pub=$(public_of "$key")
for f in apps/a-secret.yaml apps/b-secret.yaml; do EDITOR="$T_BIN/fill" "$GIT_SOPS" edit "$f" 2>/dev/null; done
git add -A && git commit -qm secrets

# ---- all well --------------------------------------------------------------------------------------------
calls=$(wc -l <"$FAKE_KUBE_DIR/log")
status; rc=$?
check_eq "all well: exit 0 ($(cat "$OUT/status.out"))" 0 "$rc"
check_eq "status does not run kubectl unless --cluster" "$calls" "$(wc -l <"$FAKE_KUBE_DIR/log")"
check "the filter is installed" said "filter:  installed"
check "the hooks are installed" said "hooks:   installed"
check "a.yaml: encrypted, keys match" said "apps/a-secret.yaml: rule 1, encrypted (worktree), keys match rule"
check "without a key the MAC is not checked" said "MAC not checked (no key at hand)"
SOPS_AGE_KEY="$key" status
check "with SOPS_AGE_KEY the MAC is verified" said "apps/b-secret.yaml: rule 1, encrypted (worktree), keys match rule, MAC ok"

# ---- --cluster ----------------------------------------------------------------------------------------------
status --cluster; rc=$?
check_eq "--cluster: exit 0" 0 "$rc"
check "--cluster: the cluster key is listed by its rule" said "cluster: secret flux-system/sops-age (context fake-local) holds $pub, listed by rule 1"
check "--cluster: the cluster key verifies the MACs" said "apps/a-secret.yaml: rule 1, encrypted (worktree), keys match rule, MAC ok"

# The cluster holds a key the rule does not list (the age-keygen -y check of the workflow).
store="$FAKE_KUBE_DIR/secrets/fake-local/flux-system/sops-age"
cp "$store" "$OUT/store"
other=$(age-keygen 2>/dev/null | grep '^AGE-SECRET-KEY'); remember_key "$other"
python3 -c 'import json,sys,base64; p=sys.argv[1]; d=json.load(open(p)); d["data"]["age.agekey"]=base64.b64encode(sys.stdin.read().encode()).decode(); json.dump(d,open(p,"w"))' "$store" <<<"$other"
status --cluster; rc=$?
check_eq "--cluster with a foreign key: exit 1" 1 "$rc"
check "--cluster: the mismatch is named" said "holds $(public_of "$other"), which rule 1 (path_regex '.*secret.*\.ya?ml\$') does NOT list"
cp "$OUT/store" "$store"

# ---- drift --------------------------------------------------------------------------------------------------
mate=$(age-keygen 2>/dev/null | grep '^# public key' | sed 's/.*: //')
sed -i "s|age: $pub|age: $pub,$mate|" .sops.yaml
status; rc=$?
check_eq "drift: exit 1" 1 "$rc"
check "drift: the missing recipient is named" said "apps/a-secret.yaml: rule 1, encrypted (worktree), KEYS DRIFT from rule (+$mate)"
check "drift: says how to fix" said "run \`git sops updatekeys\`"
git checkout -q .sops.yaml

# ---- a plaintext file a rule routes --------------------------------------------------------------------
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: plain\nstringData:\n  password: hunter2\n' >apps/plain-secret.yaml
# Stored as is, past any filter, as a repository without git-sops would have it.
git update-index --add --cacheinfo "100644,$(git hash-object -w --no-filters apps/plain-secret.yaml),apps/plain-secret.yaml"
status; rc=$?
check_eq "plaintext: exit 1" 1 "$rc"
check "plaintext: reported" said "apps/plain-secret.yaml: rule 1, NOT ENCRYPTED"
git reset -q -- apps/plain-secret.yaml && rm apps/plain-secret.yaml

# ---- MAC mismatch -----------------------------------------------------------------------------------------
mac_b=$(grep '    mac:' apps/b-secret.yaml)
sed -i "s|^    mac:.*|$mac_b|" apps/a-secret.yaml
SOPS_AGE_KEY="$key" status; rc=$?
check_eq "MAC mismatch: exit 1" 1 "$rc"
check "MAC mismatch: reported" said "apps/a-secret.yaml: rule 1, encrypted (worktree), keys match rule, MAC MISMATCH"
git checkout -q apps/a-secret.yaml

# ---- a rotation in progress ----------------------------------------------------------------------------------
( { GIT_SOPS_TEST_CRASH_AT=file-1 "$GIT_SOPS" rotate >/dev/null 2>&1; } 2>/dev/null )
remember_key "$(cluster_key)"
status; rc=$?
check_eq "rotation in progress: exit 1" 1 "$rc"
check "rotation in progress: reported" said "rotate:  a rotation to"
"$GIT_SOPS" rotate --abort >/dev/null 2>&1

# ---- not installed -------------------------------------------------------------------------------------------
"$GIT_SOPS" uninstall >/dev/null 2>&1
status; rc=$?
check_eq "not installed: exit 1" 1 "$rc"
check "not installed: filter" said "filter:  NOT installed: run \`git sops install\`"
check "not installed: hooks" said "hooks:   missing pre-commit, pre-receive"

# ---- no .sops.yaml ---------------------------------------------------------------------------------------------
new_repo empty
status; rc=$?
check_eq "no .sops.yaml: exit 1" 1 "$rc"
check "no .sops.yaml: says to run init" said "run \`git sops init\`"

no_leak "status"
finish

#!/usr/bin/env bash
# git sops updatekeys: after a recipient is added to (or removed from) a rule, the data keys are
# re-wrapped; only the key entries change (values, lastmodified, mac stay); changes are shown and
# confirmed on the terminal unless -y.
source "$TESTLIB"
source "$(dirname "$0")/../fake-kubectl/lifecycle.sh"
OUT="$T_ROOT/out"
mkdir -p "$OUT"

printf '#!/bin/bash\nsed -i "s/  key: value/  user: admin\\n  password: p-$RANDOM/" "$1"\n' >"$T_BIN/fill"
chmod +x "$T_BIN/fill"
recipients() { grep 'recipient:' "$1" | sed 's/.*recipient: //' | sort | tr '\n' ' '; }

new_repo repo
"$GIT_SOPS" init >/dev/null 2>&1 || fail "init"
key=$(cluster_key); remember_key "$key"; pub=$(public_of "$key")
FILES=(apps/a-secret.yaml apps/b-secret.yaml)
for f in "${FILES[@]}"; do EDITOR="$T_BIN/fill" "$GIT_SOPS" edit "$f" 2>/dev/null; show "$f" >"$OUT/$(basename "$f").plain"; done
printf 'kind: ConfigMap\n' >apps/config.yaml   # no rule routes it: left alone
git add -A && git commit -qm secrets

# A second recipient (a teammate) is added to the rule, as a hand edit would.
age-keygen -o "$OUT/mate.txt" 2>/dev/null
mate=$(age-keygen -y "$OUT/mate.txt")
sed -i "s|age: $pub|age: $pub,$mate|" .sops.yaml
git commit -qam "add a teammate"

# ---- nothing is written without confirmation --------------------------------------------------------
setsid -w "$GIT_SOPS" updatekeys --all </dev/null >"$OUT/ask.out" 2>"$OUT/ask.err"
rc=$?
check_eq "no terminal and no -y: exit 1" 1 "$rc"
check "the change is shown per file" grep -qF "  + $mate" "$OUT/ask.out"
check_eq "both files are listed" 2 "$(grep -c '^apps/.*-secret.yaml:$' "$OUT/ask.out")"
check "says how to confirm" grep -q 'pass -y' "$OUT/ask.err"
check "nothing written" git diff --quiet

printf 'n\n' | script -qec "'$GIT_SOPS' updatekeys --all" /dev/null >"$OUT/no.out" 2>&1
check "answering no on the terminal writes nothing" git diff --quiet
check "the question was asked" grep -q 'Update the keys of 2 file(s)?' "$OUT/no.out"

# ---- confirmed on the terminal -----------------------------------------------------------------------
printf 'y\n' | script -qec "'$GIT_SOPS' updatekeys apps/a-secret.yaml" /dev/null >"$OUT/yes.out" 2>&1
rc=$?
check_eq "answering yes: exit 0 ($(tr -d '\r' <"$OUT/yes.out" | tail -1))" 0 "$rc"
check_eq "the named file has both recipients" "$(printf '%s\n' "$pub" "$mate" | sort | tr '\n' ' ')" "$(recipients apps/a-secret.yaml)"
check "the other file is untouched" git diff --quiet -- apps/b-secret.yaml
# Only key material changes: no value, lastmodified or mac line; enc blocks and recipients only.
changed=$(git diff -U0 -- apps/a-secret.yaml | grep '^[-+] ' | grep -v -E '^[-+] +(- enc: \||[A-Za-z0-9+/=]{1,64}$|-----(BEGIN|END) AGE ENCRYPTED FILE-----$|recipient: age1[a-z0-9]+$)')
check_eq "only enc entries and recipients change" "" "$changed"
check "lastmodified and mac unchanged" bash -c "! git diff -U0 -- apps/a-secret.yaml | grep -qE '^[-+] +(lastmodified|mac):'"
check "values unchanged" bash -c "! git diff -U0 -- apps/a-secret.yaml | grep -q 'ENC\\['"
check "the teammate's key opens it" test "$(SOPS_AGE_KEY_FILE="$OUT/mate.txt" FAKE_KUBE_FAIL=refused show apps/a-secret.yaml)" == "$(cat "$OUT/a-secret.yaml.plain")"
check "the cluster key still opens it" test "$(SOPS_AGE_KEY="$key" FAKE_KUBE_FAIL=refused show apps/a-secret.yaml)" == "$(cat "$OUT/a-secret.yaml.plain")"

# ---- --all -y ----------------------------------------------------------------------------------------------
"$GIT_SOPS" updatekeys --all -y >"$OUT/all.out" 2>"$OUT/all.err"
rc=$?
check_eq "--all -y: exit 0 ($(tail -1 "$OUT/all.err"))" 0 "$rc"
check "--all: the up-to-date file is reported as such" grep -q 'apps/a-secret.yaml: keys already match' "$OUT/all.err"
check_eq "--all: b now has both recipients" "$(printf '%s\n' "$pub" "$mate" | sort | tr '\n' ' ')" "$(recipients apps/b-secret.yaml)"
check "--all: files no rule routes are left alone" git diff --quiet -- apps/config.yaml
git commit -qam "teammate added"

"$GIT_SOPS" updatekeys --all -y >"$OUT/again.out" 2>"$OUT/again.err"
check_eq "nothing to update: exit 0" 0 "$?"
check "nothing to update: says so" grep -q 'nothing to update' "$OUT/again.err"
check "nothing to update: nothing written" git diff --quiet

# ---- a recipient removed -------------------------------------------------------------------------------
sed -i "s|age: $pub,$mate|age: $pub|" .sops.yaml
git commit -qam "teammate left"
"$GIT_SOPS" updatekeys --all -y >"$OUT/rm.out" 2>"$OUT/rm.err"
rc=$?
check_eq "removal: exit 0 ($(tail -1 "$OUT/rm.err"))" 0 "$rc"
check "removal is shown" grep -qF "  - $mate" "$OUT/rm.out"
for f in "${FILES[@]}"; do
  check_eq "$f: the teammate is gone" "$pub " "$(recipients "$f")"
  check_eq "$f: the teammate's key no longer opens it" "" "$(SOPS_AGE_KEY_FILE="$OUT/mate.txt" FAKE_KUBE_FAIL=refused show "$f")"
done

# ---- the data key comes from the cluster when the environment has none -----------------------------
check "the cluster was asked for the key" grep -q 'using the age key of secret flux-system/sops-age' "$OUT/rm.err"
check_exit "a file that is not a sops file is an error" 1 "$GIT_SOPS" updatekeys -y apps/config.yaml
check_exit "a missing file is an error (100)" 100 "$GIT_SOPS" updatekeys -y apps/none.yaml
no_leak "updatekeys"

finish

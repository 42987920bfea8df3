#!/usr/bin/env bash
# git-sops encrypt/decrypt/filestatus against real sops output and the sops-age peer:
#  - every sops 3.13.2 fixture decrypts through the CLI to sops' own output (key discovery from
#    the environment), the comment-in-list bug file fails with 51;
#  - files we encrypt (every store, every selector, multi-document, comments, two recipients,
#    an ssh-ed25519 recipient) decrypt with `sops-age-decrypt.mjs --verify-mac` (or --mac-only
#    where sops-age itself cannot read them) and with ourselves;
#  - tampering, bad input and exit codes; identity discovery; -i keeps the file mode.
source "$TESTLIB"

if ! peers_ready; then
  fail "peers not installed: run bash \$SHARED/peers/install.sh <build>/peers (PEERS_NODE_MODULES=${PEERS_NODE_MODULES:-unset})"
  finish
  exit
fi

SET="$SHARED/fixtures/sops-3.13.2"
cd "$T_ROOT"
gs() { "$GIT_SOPS" "$@"; }
peer() { node "$SHARED/peers/sops-age-decrypt.mjs" "$@"; }
A=$(sed -n 's/^# public key: //p' "$SET/key.txt")
B=$(sed -n 's/^# public key: //p' "$SET/key2.txt")
SSH_R=$(cat "$SET/ssh_ed25519.pub")
with_key() { SOPS_AGE_KEY_FILE="$SET/key.txt" "$@"; }
# exit status and stderr of a command, for checks on both
run() { "$@" >out.txt 2>err.txt; echo $?; }

# ---- (a) sops 3.13.2 fixtures through the CLI ------------------------------------------------------
while IFS=$'\t' read -r name plain eargs dargs identity rc from keyhex; do
  [[ $name == \#* || -z $name ]] && continue
  extra=()
  [[ $dargs == *"--indent 2"* ]] && extra+=(--indent 2)
  [[ $dargs == *"--input-type binary"* ]] && extra+=(--input-type binary)
  for id in ${identity//|/ }; do
    if [[ $id == ssh_ed25519 ]]; then
      env=(SOPS_AGE_SSH_PRIVATE_KEY_FILE="$SET/$id")
    else
      env=(SOPS_AGE_KEY_FILE="$SET/$id")
    fi
    got=$(env "${env[@]}" "$GIT_SOPS" decrypt "${extra[@]}" "$SET/enc/$name" >"dec.$name" 2>err.txt; echo $?)
    if [[ $rc == 51 ]]; then
      check_eq "fixture $name fails like sops (MAC mismatch)" 51 "$got"
      check "fixture $name: no plaintext printed" test ! -s "dec.$name"
    else
      check_eq "fixture $name decrypts with $id" 0 "$got"
      check_files_equal "fixture $name: output equals sops decrypt" "$SET/expected/$name" "dec.$name"
    fi
  done
done <"$SET/manifest.tsv"

for f in "$SET"/enc/*; do
  check_eq "filestatus $(basename "$f")" '{"encrypted":true}' "$(gs filestatus "$f")"
done
check_eq "filestatus of a plain file" '{"encrypted":false}' "$(gs filestatus "$SET/plain/secret-mixed.yaml")"

# ---- (b) our files, read by the peer --------------------------------------------------------------
# peer_check DESCRIPTION FILE [peer flags]: --verify-mac, except where sops-age cannot read the file
# (encrypted type:time values, a dotenv key with a trailing space): then our own MAC check only.
peer_check() {
  local d=$1 f=$2; shift 2
  local mode=--verify-mac
  if grep -q 'type:time\]' "$f" || grep -q '^[^=]* =' "$f"; then mode=--mac-only; fi
  if SOPS_AGE_KEY_FILE="$SET/key.txt" peer "$mode" "$@" "$f" >peer.out 2>peer.err; then
    pass
  else
    fail "$d: sops-age-decrypt $mode: $(cat peer.err)"
  fi
}

# every store and every selector
selectors=(
  "default::"
  "encrypted-regex:--encrypted-regex:^(data|stringData|database|zones|hosts|tls|bearer_token|grid)$"
  "unencrypted-regex:--unencrypted-regex:^(kind|apiVersion|metadata|owner)$"
  "encrypted-suffix:--encrypted-suffix:_token"
  "unencrypted-suffix:--unencrypted-suffix:Version"
  "encrypted-comment-regex:--encrypted-comment-regex:@encrypt"
  "unencrypted-comment-regex:--unencrypted-comment-regex:inline"
)
for plain in "$SET"/plain/*; do
  base=$(basename "$plain")
  ext=${base##*.}
  type_flags=()
  peer_flags=()
  case $ext in
    bin | txt) peer_flags=(--type binary) ;;
  esac
  for sel in "${selectors[@]}"; do
    label=${sel%%:*}
    rest=${sel#*:}
    flag=${rest%%:*}
    value=${rest#*:}
    args=(--age "$A")
    [[ -n $flag ]] && args+=("$flag" "$value")
    out="ours.$label.$base"
    got=$(run gs encrypt "${args[@]}" "${type_flags[@]}" "$plain")
    if [[ $got != 0 ]]; then
      fail "encrypt $base ($label): exit $got: $(cat err.txt)"
      continue
    fi
    cp out.txt "$out"
    check "encrypt $base ($label) is a sops file" grep -q "ENC\[AES256_GCM" "$out"
    if [[ $ext != ini ]]; then peer_check "peer reads $base ($label)" "$out" "${peer_flags[@]}"; fi
    got=$(with_key "$GIT_SOPS" decrypt "$out" 2>err.txt >"$out.dec"; echo $?)
    check_eq "we decrypt our $base ($label)" 0 "$got"
  done
done

# the round trip gives sops' own decrypt output for the cases made by plain command lines
while IFS=$'\t' read -r name plain eargs dargs identity rc from keyhex; do
  [[ $name == \#* || -z $name || $rc != 0 || $eargs == *--config* || $eargs == *ssh* ]] && continue
  args=()
  [[ $eargs == *"--indent 2"* ]] && args+=(--indent 2)
  [[ $eargs == *"--mac-only-encrypted"* ]] && args+=(--mac-only-encrypted)
  [[ $eargs == *"--input-type binary"* ]] && args+=(--input-type binary)
  for flag in --encrypted-regex --unencrypted-regex --encrypted-suffix; do
    if [[ $eargs =~ $flag\ \'([^\']*)\' ]] || [[ $eargs =~ $flag\ ([^ ]*) ]]; then args+=("$flag" "${BASH_REMATCH[1]}"); fi
  done
  ext=${name##*.}
  [[ $name == *.bin ]] && ext=bin
  gs encrypt --age "$A,$B" "${args[@]}" --filename-override "x.$ext" - <"$SET/plain/$plain" >"rt.$name" 2>err.txt ||
    fail "encrypt like $name: $(cat err.txt)"
  dargs2=()
  [[ $dargs == *"--indent 2"* ]] && dargs2+=(--indent 2)
  [[ $dargs == *"--input-type binary"* ]] && dargs2+=(--input-type binary)
  SOPS_AGE_KEY_FILE="$SET/key2.txt" "$GIT_SOPS" decrypt "${dargs2[@]}" --filename-override "x.$ext" - <"rt.$name" >"rt.$name.dec" 2>err.txt
  check_files_equal "encrypt+decrypt like $name equals sops' output" "$SET/expected/$name" "rt.$name.dec"
  if [[ $ext != ini && $name != *.txt && $name != *.bin ]]; then
    SOPS_AGE_KEY_FILE="$SET/key2.txt" peer --mac-only --type "$([[ $ext == env ]] && echo env || echo "$ext")" "rt.$name" >/dev/null 2>peer.err ||
      fail "peer MAC check of our $name with the second recipient: $(cat peer.err)"
  fi
done <"$SET/manifest.tsv"

# multi-document YAML, --mac-only-encrypted, two recipients, an ssh-ed25519 recipient
gs encrypt --age "$A" --encrypted-regex '^(data|stringData)$' "$SET/plain/bundle.yaml" >bundle.yaml
check_eq "multi-document: one sops block per document" 3 "$(grep -c '^sops:' bundle.yaml)"
peer_check "peer reads our multi-document file" bundle.yaml
gs encrypt --age "$A" --mac-only-encrypted --encrypted-regex '^(tls|inline_map)$' "$SET/plain/tree.yaml" >maconly.yaml
check "mac_only_encrypted recorded" grep -q 'mac_only_encrypted: true' maconly.yaml
peer_check "peer reads our mac_only_encrypted file" maconly.yaml
gs encrypt --age "$A,$B" "$SET/plain/secret-mixed.yaml" >two.yaml
check_eq "two recipients: two age entries" 2 "$(grep -c 'recipient: age1' two.yaml)"
SOPS_AGE_KEY_FILE="$SET/key2.txt" peer --verify-mac two.yaml >/dev/null 2>peer.err || fail "peer with the second key: $(cat peer.err)"
gs encrypt --age "$SSH_R,$A" --encrypted-regex '^(data|stringData)$' "$SET/plain/token-secret.yaml" >ssh.yaml
check "ssh-ed25519 recipient recorded verbatim" grep -qF "recipient: $SSH_R" ssh.yaml
peer_check "peer reads our ssh+x25519 file through the X25519 entry" ssh.yaml
check_eq "our ssh-ed25519 entry opens with the SSH key alone" 0 \
  "$(SOPS_AGE_SSH_PRIVATE_KEY_FILE="$SET/ssh_ed25519" "$GIT_SOPS" decrypt ssh.yaml >ssh.dec 2>err.txt; echo $?)"
check_files_equal "ssh round trip" "$SET/expected/token-secret.regex.yaml" ssh.dec
if command -v age >/dev/null; then
  # The enc block of the ssh entry, de-indented, is an age file the age CLI opens.
  awk '/- enc: \|/{f=1;next} f&&/recipient: ssh-ed25519/{exit} f{sub(/^ +/,"");print}' ssh.yaml >ssh.age
  check_eq "age CLI opens our ssh-ed25519 entry (32-byte data key)" 32 "$(age -d -i "$SET/ssh_ed25519" ssh.age | wc -c)"
fi

# comments inside a sequence are written as comments, and the file verifies (unlike sops 3.13.2's)
gs encrypt --age "$A" "$SET/plain/list-comments.yaml" >listc.yaml
check "no '- ENC[…type:comment]' list elements" bash -c '! grep -q "^ *- ENC\[[^]]*type:comment\]" listc.yaml'
check_eq "our list-comments file decrypts" 0 "$(with_key "$GIT_SOPS" decrypt listc.yaml >/dev/null 2>&1; echo $?)"
peer_check "peer verifies our list-comments file" listc.yaml

# ---- (c) tampering ----------------------------------------------------------------------------------
gs encrypt --age "$A" "$SET/plain/secret-mixed.yaml" >t.yaml
tamper() { # tamper DESCRIPTION CODE SED-EXPRESSION PATH-IN-MESSAGE
  sed -E "$3" t.yaml >tt.yaml
  check "$1: file changed" bash -c '! cmp -s t.yaml tt.yaml'
  got=$(with_key "$GIT_SOPS" decrypt tt.yaml >tt.out 2>tt.err; echo $?)
  if [[ $got == 51 || $got == 25 ]]; then pass; else fail "$1: exit $got, wanted 25 or 51"; fi
  [[ -n $2 ]] && check_eq "$1: exit status" "$2" "$got"
  check "$1: no plaintext printed" test ! -s tt.out
  check "$1: the message names $4" grep -qF "$4" tt.err
}
# change_first LINE-ADDRESS FIELD: the sed script that changes the first base64 character of FIELD
change_first() { echo "$1{s/$2:A/$2:B/;t;s/$2:./$2:A/}"; }
tamper "changed data" 25 "$(change_first /^kind:/ data)" "kind"
tamper "changed iv" 25 "$(change_first /^kind:/ iv)" "kind"
tamper "changed tag" 25 "$(change_first /^kind:/ tag)" "kind"
tamper "changed data of a nested value" 25 "$(change_first '/^        app.kubernetes.io\/part-of:/' data)" "metadata.labels.app.kubernetes.io/part-of"
sed -n 's/^apiVersion: //p' t.yaml >api.val
sed -n 's/^kind: //p' t.yaml >kind.val
awk -v a="$(cat api.val)" -v k="$(cat kind.val)" '/^apiVersion:/{print "apiVersion: " k; next} /^kind:/{print "kind: " a; next} {print}' t.yaml >swapped.yaml
got=$(with_key "$GIT_SOPS" decrypt swapped.yaml >sw.out 2>sw.err; echo $?)
check_eq "two values swapped between key paths" 25 "$got"
check "swap: message names the key path" grep -q "apiVersion" sw.err
tamper "mac removed" 51 "/^    mac:/d" "sops.mac"
tamper "mac changed" 51 "$(change_first '/^    mac:/' data)" "sops.mac"
tamper "lastmodified changed" 51 "s/^    lastmodified: \"20/    lastmodified: \"19/" "sops.mac"
check_eq "--ignore-mac decrypts despite a changed lastmodified" 0 \
  "$(sed -E 's/^    lastmodified: "20/    lastmodified: "19/' t.yaml >lm.yaml; with_key "$GIT_SOPS" decrypt --ignore-mac lm.yaml >/dev/null 2>&1; echo $?)"
check_eq "the sops bug fixture also fails with --verify-mac in the peer" 1 \
  "$(with_key peer --mac-only "$SET/enc/list-comments.default.yaml" >/dev/null 2>&1; echo $?)"

# ---- (d) bad input and exit codes ------------------------------------------------------------------
printf 'a: [1, 2\n' >bad.yaml
check_exit "invalid YAML" 2 gs encrypt --age "$A" bad.yaml
printf '{"a": 1,}\n' >bad.json
check_exit "invalid JSON" 2 gs encrypt --age "$A" bad.json
printf 'sops: x\na: b\n' >has-sops.yaml
check_exit "a sops key already present" 203 gs encrypt --age "$A" has-sops.yaml
check_exit "an encrypted file encrypted again" 203 gs encrypt --age "$A" t.yaml
: >empty.yaml
check_exit "empty file" 92 gs encrypt --age "$A" empty.yaml
check_exit "no such file (encrypt)" 100 gs encrypt --age "$A" missing.yaml
check_exit "no such file (decrypt)" 100 gs decrypt missing.yaml
check_exit "bad --extract path" 91 with_key gs decrypt --extract 'data' t.yaml
check_exit "two selectors" 8 gs encrypt --age "$A" --encrypted-regex a --encrypted-suffix b "$SET/plain/small.yaml"
check_exit "standard input without --filename-override" 8 gs encrypt --age "$A" - <"$SET/plain/small.yaml"
got=$(run gs decrypt t.yaml)
check_eq "no key" 128 "$got"
check "no key: the message lists the recipient" grep -qF "$A" err.txt
check "no key: the message lists where keys were looked for" grep -q "SOPS_AGE_KEY_FILE" err.txt
mkdir -p rules/sub && printf 'creation_rules:\n  - path_regex: \\.json$\n    age: %s\n' "$A" >rules/.sops.yaml
cp "$SET/plain/small.yaml" rules/sub/small.yaml
got=$(cd rules/sub && run "$GIT_SOPS" encrypt --age "$A" small.yaml)
check_eq "no matching creation rule" 1 "$got"
check "no matching rule: the message names the file and the config" \
  bash -c 'grep -q "small.yaml" rules/sub/err.txt && grep -q "rules/.sops.yaml" rules/sub/err.txt'
cp "$SET/plain/secret.json" rules/sub/s.json
(cd rules/sub && "$GIT_SOPS" encrypt s.json >s.enc.json 2>err.txt)
check "a matching rule supplies the recipient" grep -qF "$A" rules/sub/s.enc.json

# ---- (e) -i, --extract, filestatus ------------------------------------------------------------------
cp "$SET/plain/secret-mixed.yaml" inplace.yaml
chmod 640 inplace.yaml
gs encrypt -i --age "$A" inplace.yaml
check_eq "encrypt -i keeps the mode" 640 "$(stat -c %a inplace.yaml)"
check_eq "filestatus after encrypt -i" '{"encrypted":true}' "$(gs filestatus inplace.yaml)"
with_key "$GIT_SOPS" decrypt -i inplace.yaml
check_files_equal "decrypt -i restores sops' plaintext" "$SET/expected/secret-mixed.default.yaml" inplace.yaml
check_eq "decrypt -i keeps the mode" 640 "$(stat -c %a inplace.yaml)"
sed -E "$(change_first /^kind:/ data)" t.yaml >broken.yaml && cp broken.yaml broken.orig
check_exit "decrypt -i of a tampered file fails" 25 with_key gs decrypt -i broken.yaml
check_files_equal "decrypt -i failure leaves the file as it was" broken.orig broken.yaml
check_eq "--extract a string prints it raw" "v1" "$(with_key "$GIT_SOPS" decrypt --extract '["apiVersion"]' t.yaml)"
check_eq "--extract a missing key fails" 1 "$(with_key "$GIT_SOPS" decrypt --extract '["nope"]' t.yaml >/dev/null 2>&1; echo $?)"

# ---- (f) identity discovery ---------------------------------------------------------------------------
KEY_A=$(grep '^AGE-SECRET' "$SET/key.txt")
KEY_B=$(grep '^AGE-SECRET' "$SET/key2.txt")
gs encrypt --age "$B" "$SET/plain/small.yaml" >forb.yaml
check_eq "SOPS_AGE_KEY with two identities on one line" 0 \
  "$(SOPS_AGE_KEY="$KEY_A $KEY_B" "$GIT_SOPS" decrypt forb.yaml >/dev/null 2>&1; echo $?)"
printf '#!/bin/sh\n[ "$SOPS_AGE_RECIPIENT" = "%s" ] && cat "%s"\n' "$B" "$SET/key2.txt" >keycmd.sh
chmod +x keycmd.sh
check_eq "SOPS_AGE_KEY_CMD runs with SOPS_AGE_RECIPIENT" 0 \
  "$(SOPS_AGE_KEY_CMD="$T_ROOT/keycmd.sh --unused 'arg'" "$GIT_SOPS" decrypt forb.yaml >/dev/null 2>&1; echo $?)"
mkdir -p "$XDG_CONFIG_HOME/sops/age" && cp "$SET/key2.txt" "$XDG_CONFIG_HOME/sops/age/keys.txt"
check_eq "\$XDG_CONFIG_HOME/sops/age/keys.txt" 0 "$("$GIT_SOPS" decrypt forb.yaml >/dev/null 2>&1; echo $?)"
rm "$XDG_CONFIG_HOME/sops/age/keys.txt"
mkdir -p "$HOME/.ssh" && cp "$SET/ssh_ed25519" "$HOME/.ssh/id_ed25519"
check_eq "~/.ssh/id_ed25519" 0 "$("$GIT_SOPS" decrypt "$SET/enc/token-secret.ssh.yaml" >/dev/null 2>&1; echo $?)"
rm "$HOME/.ssh/id_ed25519"
check_eq "a broken SOPS_AGE_KEY_FILE does not hide a working SOPS_AGE_KEY" 0 \
  "$(SOPS_AGE_KEY_FILE=/nonexistent SOPS_AGE_KEY="$KEY_B" "$GIT_SOPS" decrypt forb.yaml >/dev/null 2>&1; echo $?)"

finish

#!/usr/bin/env bash
# git-sops age/keygen against Debian's age and age-keygen (Go age 1.1.1), both directions:
# X25519, ssh-ed25519 and ssh-rsa keys (made here with ssh-keygen), mixed recipients, armored
# and binary, sizes around the 64 KiB chunk boundary; scrypt passphrases through a pty.
source "$TESTLIB"

for tool in age age-keygen ssh-keygen script; do
  command -v "$tool" >/dev/null || { fail "$tool is not installed (install.sh lists it)"; finish; exit; }
done

cd "$T_ROOT"
gs() { "$GIT_SOPS" "$@"; }
fails() { ! "$@" 2>/dev/null; }

# ---- keys --------------------------------------------------------------------------------------
age-keygen -o go.key 2>/dev/null
gs keygen -o ours.key 2>/dev/null
ssh-keygen -q -t ed25519 -N '' -C ed -f ed25519 >/dev/null
ssh-keygen -q -t rsa -b 2048 -N '' -C rsa -f rsa >/dev/null
GO_R=$(age-keygen -y go.key)
OURS_R=$(age-keygen -y ours.key)
ED_R=$(cat ed25519.pub)
RSA_R=$(cat rsa.pub)
printf '%s\n' "# mixed recipients" "$GO_R" "" "$ED_R" "$RSA_R" >mixed.txt
identities=(go.key ours.key ed25519 rsa)

# ---- keygen ------------------------------------------------------------------------------------
check "age accepts our key: age-keygen -y ours.key" test -n "$OURS_R"
check_eq "keygen -y FILE equals age-keygen -y (age's key)" "$GO_R" "$(gs keygen -y go.key)"
check_eq "keygen -y FILE equals age-keygen -y (our key)" "$OURS_R" "$(gs keygen -y ours.key)"
check_eq "keygen -y < FILE" "$GO_R" "$(gs keygen -y <go.key)"
check_eq "keygen -y -" "$GO_R" "$(gs keygen -y - <go.key)"
check_eq "our '# public key:' line is the recipient" "# public key: $OURS_R" "$(sed -n 2p ours.key)"
check "our '# created:' line is RFC 3339" \
  grep -Eq '^# created: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$' ours.key
check_eq "keygen -o creates mode 0600" "600" "$(stat -c %a ours.key)"
cat go.key ours.key >both.key
check_eq "keygen -y: one line per identity, in order" "$(age-keygen -y both.key)" "$(gs keygen -y both.key)"
gs keygen 2>stderr.txt | cat >stdout.key
check_eq "keygen to a pipe prints the public key on stderr" \
  "Public key: $(age-keygen -y stdout.key)" "$(cat stderr.txt)"
(umask 022 && gs keygen >world.key 2>stderr.txt)
check "keygen warns about a world-readable key file" grep -q "world-readable" stderr.txt
before=$(sha256sum ours.key)
check_exit "keygen -o never overwrites" 3 gs keygen -o ours.key
check_eq "keygen -o left the existing file alone" "$before" "$(sha256sum ours.key)"

# ---- payloads ----------------------------------------------------------------------------------
sizes=(0 1 65535 65536 65537 $((5 * 1024 * 1024)))
for n in "${sizes[@]}"; do head -c "$n" /dev/urandom >"plain.$n"; done

# decrypt_all WHO FILE SIZE: decrypts FILE with every identity, using WHO (age or gs).
decrypt_all() {
  local who=$1 file=$2 n=$3 id
  for id in "${identities[@]}"; do
    rm -f out
    # (age's -o creates no file for empty output, hence the redirection)
    if [ "$who" = age ]; then age -d -i "$id" "$file" >out; else gs age -d -i "$id" -o out "$file"; fi
    check_files_equal "$who decrypts $file (size $n) with $id" "plain.$n" out
  done
}

for n in "${sizes[@]}"; do
  for armor in "" -a; do
    tag=$n${armor:+.armor}
    # git-sops -> age
    check "git-sops encrypts $tag" gs age $armor -r "$OURS_R" -R mixed.txt -o "gs.$tag.age" "plain.$n"
    decrypt_all age "gs.$tag.age" "$n"
    # age -> git-sops
    check "age encrypts $tag" age $armor -r "$OURS_R" -R mixed.txt -o "go.$tag.age" "plain.$n"
    decrypt_all gs "go.$tag.age" "$n"
    # streams: stdin to stdout
    gs age -d -i rsa <"go.$tag.age" >out
    check_files_equal "git-sops decrypts stdin to stdout ($tag)" "plain.$n" out
  done
  [ "$(head -c 5 "gs.$n.armor.age")" = "-----" ] && pass || fail "armored output starts with the BEGIN line"
done

# Single-type files, so each stanza type is exercised alone too.
for r in "$GO_R" "$ED_R" "$RSA_R"; do
  gs age -r "$r" -o single.age plain.65537
  for id in go.key ed25519 rsa; do
    if age -d -i "$id" -o out single.age 2>/dev/null; then
      check_files_equal "age decrypts our single-recipient file (${r%% *}) with $id" plain.65537 out
    fi
  done
  age -r "$r" -o single.age plain.65537
  check "git-sops decrypts age's single-recipient file (${r%% *})" \
    gs age -d -i go.key -i ed25519 -i rsa -o out single.age
  check_files_equal "... and the plaintext matches" plain.65537 out
done

# -i in encrypt mode (explicit -e) encrypts to the identity's recipient.
check "encrypt to -i identities with -e" gs age -e -i ours.key -i ed25519 -o e.age plain.1
check "age decrypts it with our key" age -d -i ours.key -o out e.age
check_files_equal "... plaintext" plain.1 out

# A bcrypt-protected OpenSSH key, its passphrase from the environment.
ssh-keygen -q -t ed25519 -N 'key pass' -C enc -f ed_enc >/dev/null
age -r "$(cat ed_enc.pub)" -o enc.age plain.65536
check "decrypt with a passphrase-protected ssh key" env GIT_SOPS_PASSPHRASE='key pass' "$GIT_SOPS" age -d -i ed_enc -o out enc.age
check_files_equal "... plaintext" plain.65536 out
check "wrong ssh key passphrase fails" fails env GIT_SOPS_PASSPHRASE=nope "$GIT_SOPS" age -d -i ed_enc -o out2 enc.age
check "... and leaves no output" test ! -e out2

# ---- scrypt ------------------------------------------------------------------------------------
# age reads passphrases from /dev/tty only: `script` gives it a pty and types for it.
in_pty() { local keys=$1; shift; printf '%s' "$keys" | timeout 60 script -qec "$*" /dev/null >/dev/null 2>&1; }

export GIT_SOPS_PASSPHRASE='correct horse battery staple'
check "git-sops -p encrypts" gs age -p -o gs.p.age plain.65537
check "it has one scrypt stanza" grep -aq '^-> scrypt ' gs.p.age
check "git-sops decrypts its own scrypt file" gs age -d -o out gs.p.age
check_files_equal "... plaintext" plain.65537 out
rm -f out
check "age decrypts git-sops' scrypt file (pty)" in_pty "$GIT_SOPS_PASSPHRASE"$'\n' age -d -o out gs.p.age
check_files_equal "... plaintext" plain.65537 out
check "age -p encrypts (pty)" in_pty "$GIT_SOPS_PASSPHRASE"$'\n'"$GIT_SOPS_PASSPHRASE"$'\n' age -p -a -o go.p.age plain.1
check "git-sops decrypts age's scrypt file" gs age -d -o out go.p.age
check_files_equal "... plaintext" plain.1 out
check_exit "wrong passphrase: no match (128)" 128 env GIT_SOPS_PASSPHRASE=wrong "$GIT_SOPS" age -d -o out3 go.p.age
check "... leaves no output" test ! -e out3
msg=$(gs age -d -i go.key go.p.age 2>&1 >/dev/null)
check "passphrase file with -i says to drop -i" grep -q "without -i" <<<"$msg"
unset GIT_SOPS_PASSPHRASE
# Our own terminal prompt (no environment variable): typed into a pty.
rm -f out
check "git-sops -p prompts twice on the terminal" in_pty $'tty pass\ntty pass\n' "$GIT_SOPS" age -p -o tty.age plain.1
check "git-sops -d prompts on the terminal" in_pty $'tty pass\n' "$GIT_SOPS" age -d -o out tty.age
check_files_equal "... plaintext" plain.1 out
check "age reads the tty-made file" in_pty $'tty pass\n' age -d -o out4 tty.age
check_files_equal "... plaintext" plain.1 out4

finish

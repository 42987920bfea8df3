#!/usr/bin/env bash
# `git sops age -d` on damaged, truncated and hostile input, and `git sops age` misuse: every
# case must end with exactly one line `git-sops: ...` on stderr and a nonzero exit; where the
# spec releases no plaintext (header and MAC failures) nothing reaches stdout; with -o nothing
# is ever left behind.
source "$TESTLIB"

cd "$T_ROOT"
gs() { "$GIT_SOPS" "$@"; }

gs keygen -o key.txt 2>/dev/null
gs keygen -o other.txt 2>/dev/null
R=$(gs keygen -y key.txt)
head -c 150000 /dev/urandom >plain          # chunks of 65536, 65536 and 18928 bytes
gs age -r "$R" -o good.age plain
gs age -a -r "$R" -o good.armor plain
gs age -d -i key.txt -o check good.age
check_files_equal "the good file decrypts" plain check

# Layout of good.age: 4 header lines, 16-byte nonce, chunks of 65552 bytes, the last one short.
H=$(head -n 4 good.age | wc -c)
SIZE=$(stat -c %s good.age)
NONCE=$H
CHUNK0=$((H + 16))
CHUNK1=$((CHUNK0 + 65552))
FINAL=$((CHUNK1 + 65552))
line_start() { head -n "$(($1 - 1))" good.age | wc -c; }   # byte offset of header line N (1-based)

# flip SRC DST OFFSET [MASK]: DST is SRC with the bits of MASK flipped at OFFSET.
flip() {
  local b
  cp "$1" "$2"
  b=$(od -An -tu1 -j "$3" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((b ^ ${4:-1})))" | dd of="$2" bs=1 seek="$3" conv=notrunc status=none
}

# one_error DESC STDERR_FILE: exactly one line, and it is ours.
one_error() {
  local lines
  lines=$(wc -l <"$2")
  if [ "$lines" -eq 1 ] && grep -q '^git-sops: ' "$2"; then pass; else fail "$1: stderr was [$(cat "$2")]"; fi
}

# rejects DESC FILE [no-plaintext|may-release] [EXIT] [IDENTITY]
rejects() {
  local desc=$1 file=$2 mode=${3:-no-plaintext} want=${4:-} id=${5:-key.txt} rc
  gs age -d -i "$id" "$file" >out 2>err
  rc=$?
  if [ "$rc" -ne 0 ]; then pass; else fail "$desc: exit 0"; fi
  [ -z "$want" ] || check_eq "$desc: exit code" "$want" "$rc"
  one_error "$desc" err
  [ "$mode" = may-release ] || check_eq "$desc: nothing on stdout" 0 "$(stat -c %s out)"
  # The same through -o: nothing may be left in the (otherwise empty) folder.
  rm -rf odir && mkdir odir
  gs age -d -i "$id" -o odir/result "$file" >out 2>err
  rc=$?
  if [ "$rc" -ne 0 ]; then pass; else fail "$desc (-o): exit 0"; fi
  one_error "$desc (-o)" err
  check_eq "$desc (-o): nothing left behind" "" "$(ls -A odir)"
  check_eq "$desc (-o): nothing on stdout" 0 "$(stat -c %s out)"
}

# ---- truncation --------------------------------------------------------------------------------
: >empty.age
rejects "empty input" empty.age no-plaintext 1
for n in 1 2 3 4; do
  head -c "$(($(line_start $((n + 1))) - 7))" good.age >"trunc.mid.$n"
  rejects "truncated inside header line $n" "trunc.mid.$n" no-plaintext 1
  [ "$n" -eq 4 ] && break
  head -n "$n" good.age >"trunc.$n"
  rejects "truncated after header line $n" "trunc.$n" no-plaintext 1
done
head -c $((H - 1)) good.age >trunc.nolf
rejects "MAC line without its LF" trunc.nolf no-plaintext 1
head -c "$H" good.age >trunc.nononce
rejects "header only, no nonce" trunc.nononce no-plaintext 1
head -c $((H + 8)) good.age >trunc.shortnonce
rejects "short nonce" trunc.shortnonce no-plaintext 1
head -c $((H + 16)) good.age >trunc.nochunk
rejects "no payload chunk" trunc.nochunk no-plaintext 1
head -c $((CHUNK0 + 1000)) good.age >trunc.chunk0
rejects "truncated inside the first chunk" trunc.chunk0 no-plaintext 1
head -c "$FINAL" good.age >trunc.nofinal
rejects "final chunk missing" trunc.nofinal may-release 1
head -c $((SIZE - 1)) good.age >trunc.lastbyte
rejects "last byte missing" trunc.lastbyte may-release 1
head -n 3 good.armor >trunc.armor
rejects "armor cut after three lines" trunc.armor no-plaintext 1

# ---- one flipped bit in each part ----------------------------------------------------------------
flip good.age bad.version 5
rejects "bit flip in the version line" bad.version no-plaintext 1
flip good.age bad.type "$(($(line_start 2) + 3))"
rejects "bit flip in the stanza type" bad.type no-plaintext 128
flip good.age bad.arg "$(($(line_start 2) + 20))"
rejects "bit flip in the stanza argument" bad.arg no-plaintext
flip good.age bad.arg2 "$(($(line_start 2) + 20))" 2
rejects "another bit flip in the stanza argument" bad.arg2 no-plaintext
flip good.age bad.body "$(($(line_start 3) + 10))"
rejects "bit flip in the stanza body" bad.body no-plaintext
flip good.age bad.mac "$(($(line_start 4) + 10))"
rejects "bit flip in the MAC" bad.mac no-plaintext
flip good.age bad.nonce $((NONCE + 3))
rejects "bit flip in the payload nonce" bad.nonce no-plaintext 1
flip good.age bad.chunk0 $((CHUNK0 + 100))
rejects "bit flip in the first chunk" bad.chunk0 no-plaintext 1
flip good.age bad.chunk1 $((CHUNK1 + 100)) 128
rejects "bit flip in the second chunk" bad.chunk1 may-release 1
flip good.age bad.tag $((SIZE - 1))
rejects "bit flip in the final tag" bad.tag may-release 1
flip good.armor bad.armor 100 2
rejects "bit flip in the armored text" bad.armor no-plaintext

# ---- wrong key, malformed structure ---------------------------------------------------------------
rejects "wrong identity" good.age no-plaintext 128 other.txt
{ head -n 4 good.age | sed 's/$/\r/'; tail -c +$((H + 1)) good.age; } >crlf.age
rejects "CRLF header" crlf.age no-plaintext 1
{ head -n 1 good.age; printf -- '-> X25519 %s\n' "$(head -c 100000 /dev/zero | tr '\0' A)"; tail -c +$(($(line_start 3) + 1)) good.age; } \
  >longarg.age
rejects "100 kB stanza argument" longarg.age no-plaintext
{ head -n 2 good.age; echo "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; tail -c +$(($(line_start 4) + 1)) good.age; } \
  >longbody.age
rejects "body line over 64 columns" longbody.age no-plaintext 1
{ head -n 3 good.age; printf -- '--- %sAAAA\n' "$(sed -n 4p good.age | cut -c5-)"; tail -c +$((H + 1)) good.age; } >longmac.age
rejects "MAC line too long" longmac.age no-plaintext 1
{ head -n 1 good.age; head -c $((20 * 1024 * 1024)) /dev/zero | tr '\0' A; } >huge.age
rejects "20 MiB line without LF" huge.age no-plaintext 1
{ cat good.age; printf x; } >trailing.age
rejects "a byte after the final chunk" trailing.age may-release 1
{ cat good.armor; echo garbage; } >garbage.armor
rejects "garbage after the armor" garbage.armor no-plaintext 1
{ echo garbage; cat good.armor; } >garbage2.armor
rejects "garbage before the armor" garbage2.armor no-plaintext 1
head -c 4096 /dev/urandom >random.bin
rejects "random bytes" random.bin no-plaintext 1
printf 'age-encryption.org/v1\n--- %s\n' "$(sed -n 4p good.age | cut -c5-)" >nostanza.age
rejects "no stanza at all" nostanza.age no-plaintext

# ---- misuse -------------------------------------------------------------------------------------
# usage DESC EXIT ARGS...: fails with EXIT, one line, no output file.
usage() {
  local desc=$1 want=$2 rc
  shift 2
  rm -rf odir && mkdir odir
  gs age "$@" >out 2>err
  rc=$?
  check_eq "$desc: exit code" "$want" "$rc"
  one_error "$desc" err
  check_eq "$desc: nothing left behind" "" "$(ls -A odir)"
}
usage "-p with -r" 2 -p -r "$R" -o odir/x plain
usage "-a with -d" 2 -d -a -i key.txt -o odir/x good.armor
usage "-e with -d" 2 -e -d -i key.txt -o odir/x good.age
usage "-r with -d" 2 -d -r "$R" -o odir/x good.age
usage "-i without -e when encrypting" 2 -i key.txt -o odir/x plain
usage "no recipient" 2 -o odir/x plain
usage "stdin twice" 2 -d -i - -o odir/x
usage "input is the output" 2 -r "$R" -o plain plain
check_files_equal "... and the input is untouched" plain check
usage "bad recipient" 1 -r age1notarecipient -o odir/x plain
usage "recipient file holding an identity" 1 -R key.txt -o odir/x plain
usage "missing input file" 100 -r "$R" -o odir/x no-such-file
usage "missing identity file" 100 -d -i no-such-key -o odir/x good.age
usage "no -i for a non-passphrase file" 1 -d -o odir/x good.age
usage "output folder missing" 3 -r "$R" -o odir/missing/x plain

# Binary never goes to a terminal unless forced; armor does.
if command -v script >/dev/null; then
  msg=$(script -qec "\"$GIT_SOPS\" age -r $R plain" /dev/null </dev/null 2>&1)
  check "binary to a terminal is refused" grep -q "refusing to write binary" <<<"$msg"
  msg=$(script -qec "\"$GIT_SOPS\" age -a -r $R plain" /dev/null </dev/null 2>&1)
  check "armor to a terminal is fine" grep -q "BEGIN AGE ENCRYPTED FILE" <<<"$msg"
fi

# An existing -o file survives a failed decryption unchanged.
echo precious >keep.txt
gs age -d -i key.txt -o keep.txt bad.chunk1 2>/dev/null
check_eq "a failed decryption does not touch an existing -o file" precious "$(cat keep.txt)"
check_eq "... and leaves no temporary file" "" "$(ls -A | grep git-sops- || true)"

finish

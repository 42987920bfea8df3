#!/usr/bin/env bash
# git-sops age/keygen against typage (npm age-encryption, the official TypeScript age) through
# ../shared/peers/age-peer.mjs: X25519 both directions, armored and binary, several recipients,
# sizes around the 64 KiB chunk boundary, and keys made by each side used by the other.
source "$TESTLIB"

# The peers are part of the test setup (scripts/test.sh installs them): missing is a failure.
if ! peers_ready; then
  fail "peers not installed: run bash \$SHARED/peers/install.sh <build>/peers (PEERS_NODE_MODULES=${PEERS_NODE_MODULES:-unset})"
  finish
  exit
fi

cd "$T_ROOT"
gs() { "$GIT_SOPS" "$@"; }
peer() { node "$SHARED/peers/age-peer.mjs" "$@"; }
peer_encrypt() { local in=$1 out=$2; shift 2; peer encrypt "$@" <"$in" >"$out"; }
fails() { ! "$@" >/dev/null 2>&1; }

# ---- keys made by each side, read by the other ---------------------------------------------------
peer keygen >peer.key
peer keygen >peer2.key
gs keygen -o ours.key 2>/dev/null
gs keygen -o ours2.key 2>/dev/null
PEER_R=$(peer to-recipient <peer.key)
PEER2_R=$(peer to-recipient <peer2.key)
OURS_R=$(gs keygen -y ours.key)
OURS2_R=$(gs keygen -y ours2.key)

check_eq "keygen -y of a peer key equals the peer's to-recipient" "$PEER_R" "$(gs keygen -y peer.key)"
check_eq "peer's to-recipient of our key equals keygen -y" "$OURS_R" "$(peer to-recipient <ours.key)"
check_eq "our '# public key:' line is what the peer derives" "# public key: $(peer to-recipient <ours.key)" \
  "$(sed -n 2p ours.key)"
cat peer.key ours.key >both.key
check_eq "several identities: same recipients, same order" "$(peer to-recipient <both.key)" "$(gs keygen -y both.key)"
printf '%s\n' "$PEER2_R" "$OURS2_R" >more.txt

# ---- payloads ----------------------------------------------------------------------------------
sizes=(0 1 65535 65536 65537 $((5 * 1024 * 1024)))
for n in "${sizes[@]}"; do head -c "$n" /dev/urandom >"plain.$n"; done

for n in "${sizes[@]}"; do
  for armor in "" -a; do
    tag=$n${armor:+.armor}
    # git-sops -> typage, to keys from both sides
    check "git-sops encrypts $tag" gs age $armor -r "$PEER_R" -r "$OURS_R" -R more.txt -o "gs.$tag.age" "plain.$n"
    for id in peer.key ours.key peer2.key ours2.key; do
      rm -f out
      peer decrypt -i "$id" <"gs.$tag.age" >out
      check_files_equal "typage decrypts our $tag file with $id" "plain.$n" out
    done
    # typage -> git-sops
    check "typage encrypts $tag" peer_encrypt "plain.$n" "peer.$tag.age" $armor -r "$PEER_R" -r "$OURS_R" -R more.txt
    for id in peer.key ours.key peer2.key ours2.key; do
      rm -f out
      gs age -d -i "$id" -o out "peer.$tag.age"
      check_files_equal "git-sops decrypts typage's $tag file with $id" "plain.$n" out
    done
    gs age -d -i peer.key <"peer.$tag.age" >out
    check_files_equal "git-sops decrypts typage's $tag file, stdin to stdout" "plain.$n" out
  done
done

# A key that is not among the recipients is refused by both.
gs keygen -o stranger.key 2>/dev/null
check_exit "git-sops: stranger key on typage's file, no match" 128 gs age -d -i stranger.key -o nothing peer.1.age
check "... leaves no output" test ! -e nothing
check "typage refuses our file for a stranger key" fails peer decrypt -i stranger.key <gs.1.age

finish

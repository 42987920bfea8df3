#!/usr/bin/env bash
# Benchmarks the SOPS engine, process start included, side by side with the sops-age peer
# (Node; ../shared/peers, decryption with its MAC check) in one run:
#   (a) one Secret with 1,000 keys: decrypt (both tools), encrypt (git-sops; the peer cannot);
#   (b) 1,000 small Secret manifests, one process per file: decrypt (both), encrypt (git-sops).
# Medians of RUNS (default 3) hyperfine runs; prints a markdown table. Not a test.
#
#   scripts/bench/sops.sh [GIT_SOPS_BINARY]   (default: build/release/git-sops)
# Needs hyperfine, node and the peers (PEERS_NODE_MODULES, see ../shared/peers/README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
GIT_SOPS=$(realpath "${1:-${GIT_SOPS:-build/release/git-sops}}")
SHARED=$(realpath "${SHARED:-../shared}")
PEER="$SHARED/peers/sops-age-decrypt.mjs"
RUNS=${RUNS:-3}
COUNT=${COUNT:-1000}
: "${PEERS_NODE_MODULES:=$PWD/build/release/peers/node_modules}"
export PEERS_NODE_MODULES
[ -d "$PEERS_NODE_MODULES/sops-age" ] || { echo "bench/sops.sh: peers not installed in $PEERS_NODE_MODULES" >&2; exit 2; }

base=$([ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")
work=$(mktemp -d "$base/git-sops-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
"$GIT_SOPS" keygen -o key.txt 2>/dev/null
R=$("$GIT_SOPS" keygen -y key.txt)
export SOPS_AGE_KEY_FILE=$work/key.txt SOPS_AGE_RECIPIENTS=$R

# (a) one Secret with COUNT keys.
{ printf 'apiVersion: v1\nkind: Secret\nmetadata:\n    name: big\ntype: Opaque\nstringData:\n'
  for i in $(seq "$COUNT"); do printf '    key%04d: value-%04d-%s\n' "$i" "$i" "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"; done
} > big.yaml
"$GIT_SOPS" encrypt --encrypted-regex '^(data|stringData)$' big.yaml > big.enc.yaml

# (b) COUNT small Secrets.
mkdir -p plain enc
for i in $(seq "$COUNT"); do
  printf 'apiVersion: v1\nkind: Secret\nmetadata:\n    name: s%04d\n    namespace: apps\ntype: Opaque\nstringData:\n    username: user%04d\n    password: pw-%04d\n' "$i" "$i" "$i" > plain/s$i.yaml
done
for f in plain/*.yaml; do "$GIT_SOPS" encrypt --encrypted-regex '^(data|stringData)$' "$f" > "enc/${f#plain/}"; done

loop() { echo "for f in $1/*.yaml; do $2 \"\$f\" >/dev/null; done"; }
hyperfine -N --runs "$RUNS" --warmup 1 --export-json a.json \
  -n "git-sops decrypt (a)" "$GIT_SOPS decrypt big.enc.yaml" \
  -n "peer decrypt (a)" "node $PEER --verify-mac big.enc.yaml" \
  -n "git-sops encrypt (a)" "$GIT_SOPS encrypt --encrypted-regex ^(data|stringData)\$ big.yaml" >/dev/null 2>&1
hyperfine --runs "$RUNS" --export-json b.json \
  -n "git-sops decrypt (b)" "$(loop enc "$GIT_SOPS decrypt")" \
  -n "peer decrypt (b)" "$(loop enc "node $PEER --verify-mac")" \
  -n "git-sops encrypt (b)" "$(loop plain "$GIT_SOPS encrypt --encrypted-regex '^(data|stringData)\$'")" >/dev/null 2>&1

median() { node -e 'const r=require(process.argv[1]).results.find(x=>x.command===process.argv[2]);console.log(Math.round(r.median*1000))' "$work/$1" "$2"; }
row() {  # file, label, ours, peer
  local o p; o=$(median "$1" "$3"); p=$(median "$1" "$4")
  printf '| %s | %s ms | %s ms | %s |\n' "$2" "$o" "$p" "$(awk -v a="$p" -v b="$o" 'BEGIN{printf "%.1fx", a/b}')"
}
echo "git-sops $("$GIT_SOPS" --version | cut -d' ' -f2) vs sops-age 4.0.2 (+MAC check), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $RUNS runs"
echo
echo "| operation | git-sops median | peer median | peer / git-sops |"
echo "|---|---|---|---|"
row a.json "decrypt one Secret with $COUNT keys" "git-sops decrypt (a)" "peer decrypt (a)"
row b.json "decrypt $COUNT small Secrets (one process each)" "git-sops decrypt (b)" "peer decrypt (b)"
printf '| encrypt one Secret with %s keys | %s ms | (peer cannot encrypt) | |\n' "$COUNT" "$(median a.json "git-sops encrypt (a)")"
printf '| encrypt %s small Secrets (one process each) | %s ms | (peer cannot encrypt) | |\n' "$COUNT" "$(median b.json "git-sops encrypt (b)")"

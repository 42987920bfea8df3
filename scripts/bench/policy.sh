#!/usr/bin/env bash
# Benchmark of the plaintext-secret policy on a generated GitOps repository (not a test).
#
#   scripts/bench/policy.sh [GIT_SOPS]     (default: build/policy-rel/git-sops, a Release build)
#
# The repository: 20,000 commits, 50,000 YAML files under clusters/c*/ (Deployments, Services,
# ConfigMaps, a few Flux Kustomizations, and 5% sops-encrypted Secrets routed by .sops.yaml),
# made in seconds by `git fast-import`. The first 1,000 commits add the files, the rest change
# two files each; one commit in the middle adds a plaintext Secret that the next one deletes.
#
# It times, as medians of RUNS (default 5) runs with a warm page cache, wall-clock and CPU
# (user + system, which a busy shared machine inflates much less than wall-clock):
#   1. `git sops check --all` against the I/O floor of reading every object once,
#      `git rev-list --objects --all | git cat-file --batch > /dev/null`;
#   2. the pre-receive hook for a push of 100 new commits (the hook's own run time, measured by
#      the shim around it, over a real `git push` with its quarantine).
# Environment: RUNS, COMMITS, FILES, BENCH_DIR (kept when set; otherwise a temporary folder).
set -Eeuo pipefail
trap 'echo "policy.sh: failed at line $LINENO" >&2' ERR
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GIT_SOPS=$(realpath "${1:-$ROOT/build/policy-rel/git-sops}")
SHARED=${SHARED:-$(cd "$ROOT/.." && pwd)/shared}
RUNS=${RUNS:-5}
COMMITS=${COMMITS:-20000}
FILES=${FILES:-50000}
if [ -n "${BENCH_DIR:-}" ]; then
  mkdir -p "$BENCH_DIR"
else
  BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/git-sops-bench.XXXXXX")
  trap 'rm -rf "$BENCH_DIR"' EXIT
fi
export GIT_CONFIG_NOSYSTEM=1 HOME="$BENCH_DIR/home" GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com \
       GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
mkdir -p "$HOME"
git config --global init.defaultBranch main
"$GIT_SOPS" --version >/dev/null

# ---- the generator: a git fast-import stream ---------------------------------------------------
generate() {  # generate MODE START_COMMIT COUNT ; MODE = history | push
  python3 - "$@" "$FILES" "$SHARED/fixtures/sops-3.13.2/enc/secret-mixed.regex.yaml" <<'PY'
import sys
mode, start, count, n_files, template_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
out = sys.stdout.buffer
secret_template = open(template_path, "rb").read()
ADD_COMMITS = 1000          # the files arrive over the first commits
SECRET_EVERY = 20           # 5% of the files are Secrets
RECIPIENT = b"age1g74wj3g2m2l2x37frsn6q0efutcsl2zgrt0uwv9r64dpsawaughq5lxmhp"
leak_at = 10000 if mode == "history" else -1

def path(i):
    c = i % 10
    if i % SECRET_EVERY == 0:
        return f"clusters/c{c}/secrets/s{i}.yaml"
    return f"clusters/c{c}/apps/a{(i // 10) % 100}/m{i}.yaml"

def manifest(i, v):
    k = (i * 7) % 100
    name = f"app{i}"
    if k < 40:   # Deployments; half pull images with a registry Secret
        pull = f"      imagePullSecrets:\n        - name: registry-{i % 3}\n" if k % 2 else ""
        return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels:\n    app: {name}\n"
                f"spec:\n  replicas: {1 + v % 5}\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n"
                f"    metadata:\n      labels:\n        app: {name}\n    spec:\n{pull}      containers:\n"
                f"        - name: {name}\n          image: registry.example.com/{name}:1.{v}.0\n"
                f"          envFrom:\n            - secretRef:\n                name: {name}-env\n"
                f"          resources:\n            limits: {{cpu: 500m, memory: 256Mi}}\n")
    if k < 70:
        return (f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n    app: {name}\n"
                f"  ports:\n    - port: 80\n      targetPort: {8000 + v % 1000}\n")
    if k < 99:
        return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\ndata:\n  LOG_LEVEL: info\n"
                f"  REVISION: \"{v}\"\n  FEATURES: search,export,billing\n")
    return (f"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n"
            f"  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./clusters/c{i % 10}\n  prune: true\n"
            f"  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  decryption:\n    provider: sops\n"
            f"    secretRef:\n      name: sops-age\n  # revision {v}\n")

def content(i, v):
    if i % SECRET_EVERY == 0:   # a sops file: the clear metadata.name changes, the ENC[] values stay
        return secret_template.replace(b"name: checkout-api-credentials", f"name: s{i}-v{v}".encode())
    return manifest(i, v).encode()

def data(b):
    out.write(b"data %d\n" % len(b))
    out.write(b)
    out.write(b"\n")

def modify(p, b):
    out.write(b"M 100644 inline " + p.encode() + b"\n")
    data(b)

version = {}
for n in range(start, start + count):
    out.write(b"commit refs/heads/main\nmark :%d\n" % (n + 1))
    out.write(b"committer bench <bench@example.com> %d +0000\n" % (1700000000 + n))
    data(f"change {n}".encode())
    if mode == "push" and n == start:   # continue the server's history
        out.write(b"from refs/heads/main^0\n")
    if n == 0:
        modify(".sops.yaml", b"creation_rules:\n  - path_regex: ^clusters/[^/]+/secrets/.*\\.yaml$\n"
               b"    encrypted_regex: ^(data|stringData)$\n    age: " + RECIPIENT + b"\n")
    if n < ADD_COMMITS:
        per = n_files // ADD_COMMITS
        files = range(n * per, (n + 1) * per)
    else:
        files = [(n * 7919 + k * 104729) % n_files for k in range(2)]
    for i in files:
        v = version.get(i, n) + 1 if i in version else n
        version[i] = v
        modify(path(i), content(i, v + (1000000 if mode == "push" else 0)))
    if n == leak_at:
        modify("clusters/c3/apps/leak/db.yaml",
               b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n")
    if n == leak_at + 1:
        out.write(b"D clusters/c3/apps/leak/db.yaml\n")
PY
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
now_ms() { date +%s%3N; }
# Runs a command and prints "<wall ms> <cpu ms>" (CPU of the command and its children).
measure() {
  local TIMEFORMAT='%R %U %S' t
  t=$( { time "$@" >/dev/null 2>&1; } 2>&1 ) || true  # findings make check exit 1
  awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }' <<< "$t"
}
# Appends one measurement to the arrays <name>_wall and <name>_cpu.
sample() {
  local name=$1 wall cpu
  shift
  read -r wall cpu < <(measure "$@")
  eval "${name}_wall+=($wall) ${name}_cpu+=($cpu)"
}
med() { local -n values=$1; printf '%s\n' "${values[@]}" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# ---- the repository ------------------------------------------------------------------------------
REPO="$BENCH_DIR/server.git"
if [ ! -d "$REPO" ]; then
  git init -q --bare "$REPO"
  t0=$(now_ms)
  generate history 0 "$COMMITS" | git -C "$REPO" fast-import --quiet
  git -C "$REPO" repack -adq
  echo "generated $COMMITS commits / $FILES files in $(( $(now_ms) - t0 )) ms (fast-import + repack)"
fi
objects=$(git -C "$REPO" rev-list --objects --all | wc -l)
echo "repository: $(git -C "$REPO" rev-list --count --all) commits, $objects objects, $(du -sh "$REPO/objects" | cut -f1) packed"

# ---- 1. full history ---------------------------------------------------------------------------
floor_wall=() floor_cpu=() ids_wall=() ids_cpu=() all_wall=() all_cpu=()
for _ in $(seq "$RUNS"); do
  sample floor bash -c 'git -C "$1" rev-list --objects --all | git -C "$1" cat-file --batch > /dev/null' _ "$REPO"
  # The same with only the ids on each line. Without a %(rest) format, cat-file takes the whole
  # "<id> <path>" line of rev-list as an object name and answers "missing" for every tree and
  # blob, so the command above reads little more than the commits; this one reads every object.
  sample ids bash -c 'git -C "$1" rev-list --objects --all | cut -d" " -f1 | git -C "$1" cat-file --batch > /dev/null' _ "$REPO"
  sample all bash -c 'cd "$1" && "$2" check --all' _ "$REPO" "$GIT_SOPS"
done
rc=0
(cd "$REPO" && "$GIT_SOPS" check --all > "$BENCH_DIR/all.txt" 2> "$BENCH_DIR/all.err") || rc=$?
missing=$(git -C "$REPO" rev-list --objects --all | git -C "$REPO" cat-file --batch | grep -ac ' missing$' || true)

# ---- 2. a 100-commit push through pre-receive ---------------------------------------------------
# The shim times git-sops alone and then rejects, so every run pushes the same 100 commits into
# a fresh quarantine and the server does not change.
{
  echo '#!/bin/sh'
  echo "/usr/bin/time -f '%e %U %S' -a -o '$BENCH_DIR/hook.times' '$GIT_SOPS' hook pre-receive > '$BENCH_DIR/hook.out' 2>&1"
  echo "echo \$? > '$BENCH_DIR/hook.rc'"
  echo 'exit 1'
} > "$REPO/hooks/pre-receive"
chmod +x "$REPO/hooks/pre-receive"
CLIENT="$BENCH_DIR/client.git"
rm -rf "$CLIENT"
git clone -q --bare --no-local "$REPO" "$CLIENT"
generate push "$COMMITS" 100 | git -C "$CLIENT" fast-import --quiet
: > "$BENCH_DIR/hook.times"
push_wall=() push_cpu=()
for _ in $(seq "$RUNS"); do sample push git -C "$CLIENT" push -q "$REPO" main; done
mapfile -t hook_wall < <(awk '{ printf "%d\n", $1 * 1000 }' "$BENCH_DIR/hook.times")
mapfile -t hook_cpu < <(awk '{ printf "%d\n", ($2 + $3) * 1000 }' "$BENCH_DIR/hook.times")
rm -f "$REPO/hooks/pre-receive"

# ---- report ------------------------------------------------------------------------------------
fw=$(med floor_wall) fc=$(med floor_cpu) iw=$(med ids_wall) ic=$(med ids_cpu) aw=$(med all_wall) ac=$(med all_cpu)
# How many cores this machine really gives: two CPU-bound processes at once vs one.
t1=$( { TIMEFORMAT=%R; time sh -c 'head -c 200000000 /dev/zero | sha256sum >/dev/null'; } 2>&1 )
t2=$( { TIMEFORMAT=%R; time sh -c '(head -c 200000000 /dev/zero | sha256sum >/dev/null) & (head -c 200000000 /dev/zero | sha256sum >/dev/null) & wait'; } 2>&1 )
cores=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", 2 * a / b }')
echo
echo "| median of $RUNS runs | wall ms | CPU ms | wall ratio | CPU ratio |"
echo "|---|---:|---:|---:|---:|"
echo "| floor as given: \`rev-list --objects --all \\| cat-file --batch\` ($missing of $objects lines answered \"missing\") | $fw | $fc | 1.00 | 1.00 |"
echo "| floor reading every object: \`rev-list --objects --all \\| cut -d' ' -f1 \\| cat-file --batch\` | $iw | $ic | $(ratio "$iw" "$fw") | $(ratio "$ic" "$fc") |"
echo "| \`git sops check --all\` | $aw | $ac | $(ratio "$aw" "$fw") ($(ratio "$aw" "$iw") of every-object) | $(ratio "$ac" "$fc") ($(ratio "$ac" "$ic") of every-object) |"
echo "| pre-receive hook alone, push of 100 new commits (aim < 200 ms) | $(med hook_wall) | $(med hook_cpu) | | |"
echo "| the whole \`git push\` (client and server) | $(med push_wall) | $(med push_cpu) | | |"
echo
echo "cores: $(nproc) online, ~$cores usable now (two sha256sum at once vs one; the floor pipes two processes, git-sops reads with one thread); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "check --all: exit $rc; $(tail -1 "$BENCH_DIR/all.err")"
head -3 "$BENCH_DIR/all.txt"
echo "pre-receive: exit $(cat "$BENCH_DIR/hook.rc"); $(tail -1 "$BENCH_DIR/hook.out")"

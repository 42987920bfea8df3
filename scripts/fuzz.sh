#!/usr/bin/env bash
# Runs the libFuzzer harnesses of tests/fuzz one after the other.
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]     (default: 600 seconds each, every harness)
#
# Configures build/fuzz with clang-14 (-DGITSOPS_FUZZ=ON -DGITSOPS_SANITIZE=ON: ASan + UBSan,
# coverage instrumentation of the gs_* libraries), builds the fuzzers, builds the seed corpora
# from ../shared into build/fuzz/seeds (nothing from ../shared is copied into the repository),
# then runs each harness for SECONDS under nice, one at a time, and prints per harness the
# executions, libFuzzer's final coverage (cov: edges, ft: features) and the findings (crash,
# timeout, leak and OOM inputs in build/fuzz/findings/<harness>/). A run stopped early by a finding
# is resumed (at most 5 times) so that every harness gets its SECONDS. Findings go into
# tests/fuzz/regressions/<harness>/ once fixed, where the normal CTest run replays them.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$(cd "$ROOT/.." && pwd)/shared}
BUILD=${FUZZ_BUILD:-$ROOT/build/fuzz}
SECONDS_EACH=${1:-600}
shift || true
ALL=(age_header age_armor openssh enc_codec store_yaml store_json store_dotenv store_ini sops_config pktline
     pre_receive)
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=("${ALL[@]}")

configure_and_build() {
    mkdir -p "$BUILD"
    CC=clang-14 CXX=clang++-14 flock "$BUILD/.build-lock" cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DGITSOPS_SANITIZE=ON -DGITSOPS_FUZZ=ON -DGITSOPS_SHARED="$SHARED" >/dev/null
    local targets=()
    for h in "${HARNESSES[@]}"; do targets+=("fuzz_$h"); done
    # One ninja at a time in the build folder (a second run of this script may be building).
    flock "$BUILD/.build-lock" nice -n 10 ninja -C "$BUILD" -j2 "${targets[@]}" >/dev/null
}

seed_age() {
    local out=$1
    for v in "$SHARED"/testdata/age-vectors/*; do
        case $(basename "$v") in SOURCE.md | .*) continue ;; esac
        # A vector is a text header, a blank line, then the age file: the seed is the age file.
        python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); i=d.find(b"\n\n"); sys.stdout.buffer.write(d[i+2:] if i>=0 else d)' \
            "$v" >"$out/$(basename "$v")"
    done
}

seed_openssh() {
    local out=$1 f
    for f in "$SHARED"/fixtures/sops-3.13.2/ssh_ed25519 "$SHARED"/fixtures/sops-3.13.2/ssh_ed25519.pub \
             "$SHARED"/fixtures/sops-age-real/sops-age-keysource/mock-ssh-ed25519.key; do
        [ -f "$f" ] && cp "$f" "$out/"
    done
    # Key types and protections the fixtures lack, made fresh (a low bcrypt round count keeps
    # the protected one cheap to parse; the harness never decrypts it).
    if command -v ssh-keygen >/dev/null; then
        ssh-keygen -q -t rsa -b 2048 -N '' -C rsa-seed -f "$out/rsa" </dev/null
        ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -f "$out/rsa-pem" </dev/null
        ssh-keygen -q -t ed25519 -a 1 -N fuzz -f "$out/ed25519-protected" </dev/null
        ssh-keygen -q -t ecdsa -N '' -f "$out/ecdsa" </dev/null
    fi
}

seed_enc() {
    local out=$1 i=0 v
    grep -rhoa 'ENC\[AES256_GCM,[^]]*\]' "$SHARED/fixtures" | sort -u | head -200 | while IFS= read -r v; do
        i=$((i + 1))
        printf '%s' "$v" >"$out/enc-$i"
    done
}

seed_store() {
    local out=$1 pattern=$2 f
    find "$SHARED/fixtures" -type f -name "$pattern" | while IFS= read -r f; do
        cp "$f" "$out/$(echo "${f#"$SHARED"/fixtures/}" | tr / _)"
    done
}

build_seeds() {
    local h=$1 out=$BUILD/seeds/$1
    rm -rf "$out"
    mkdir -p "$out"
    case $h in
        age_header | age_armor) seed_age "$out" ;;
        openssh) seed_openssh "$out" ;;
        enc_codec) seed_enc "$out" ;;
        store_yaml) seed_store "$out" '*.yaml' ;;
        store_json) seed_store "$out" '*.json' ;;
        store_dotenv) seed_store "$out" '*.env' ;;
        store_ini) seed_store "$out" '*.ini' ;;
        sops_config) seed_store "$out" 'sops-config.yaml' ;;
    esac
}

# Values from libFuzzer's log: the last "cov:"/"ft:" it printed, and executions from the final stats.
last_field() { grep -o "$1: *[0-9]*" "$2" | tail -1 | grep -o '[0-9]*$' || echo 0; }
executions() { grep -o 'stat::number_of_executed_units: *[0-9]*' "$1" | grep -o '[0-9]*$' || echo 0; }

run_one() {
    local h=$1 corpus=$BUILD/corpus/$1 findings=$BUILD/findings/$1 logs=$BUILD/logs/$1
    mkdir -p "$corpus" "$findings" "$logs"
    rm -f "$logs"/run-*.log
    build_seeds "$h"
    local dirs=("$corpus" "$BUILD/seeds/$h")
    for d in "$ROOT/tests/fuzz/seeds/$h" "$ROOT/tests/fuzz/regressions/$h"; do [ -d "$d" ] && dirs+=("$d"); done
    local start=$(date +%s) left=$SECONDS_EACH runs=0 execs=0 log
    while [ "$left" -gt 0 ] && [ $runs -lt 6 ]; do
        runs=$((runs + 1))
        log=$logs/run-$runs.log
        nice -n 10 "$BUILD/tests/fuzz/fuzz_$h" -max_total_time="$left" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$findings/" "${dirs[@]}" >"$log" 2>&1 || true
        execs=$((execs + $(executions "$log")))
        left=$((SECONDS_EACH - ($(date +%s) - start)))
    done
    local found
    found=$(find "$findings" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'leak-*' -o -name 'oom-*' \) | wc -l)
    printf '%-13s %6ss %12s execs  cov: %-6s ft: %-7s corpus: %-5s findings: %s\n' "$h" \
        "$(($(date +%s) - start))" "$execs" "$(last_field cov "$log")" "$(last_field ft "$log")" \
        "$(find "$corpus" -type f | wc -l)" "$found"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$h" "$(($(date +%s) - start))" "$execs" \
        "$(last_field cov "$log")" "$(last_field ft "$log")" "$found" >>"$BUILD/fuzz-summary.tsv"
}

# FUZZ_NO_BUILD=1 runs the fuzzers already built (a shared tree where others' edits would
# otherwise rebuild the libraries before every harness).
[ "${FUZZ_NO_BUILD:-}" = 1 ] || configure_and_build
for h in "${HARNESSES[@]}"; do run_one "$h"; done

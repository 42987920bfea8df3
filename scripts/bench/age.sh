#!/usr/bin/env bash
# Benchmarks `git sops age` side by side with Debian's age (Go age 1.1.1), in one run:
#   - encryption and decryption of a 256 MiB file (input on tmpfs, output to /dev/null);
#   - 2,000 encryptions (and 2,000 decryptions) of a 1 KiB file, process start included: one
#     shell loop per tool, timed as a whole.
# Each measurement is repeated RUNS times (default 5) by hyperfine; the table shows medians.
#
#   scripts/bench/age.sh [GIT_SOPS_BINARY]     (default: build/release/git-sops from install.sh)
# Environment: RUNS, SMALL_COUNT (2000), BIG_MIB (256), AGE (age), BENCH_DIR (/dev/shm or TMPDIR).
# Needs hyperfine, age and age-keygen. Not a test: it prints a markdown table and exits 0.
set -euo pipefail
cd "$(dirname "$0")/../.."

GIT_SOPS=$(realpath "${1:-${GIT_SOPS:-build/release/git-sops}}")
AGE=$(command -v "${AGE:-age}")
RUNS=${RUNS:-5}
SMALL_COUNT=${SMALL_COUNT:-2000}
BIG_MIB=${BIG_MIB:-256}
for tool in hyperfine "$AGE" age-keygen "$GIT_SOPS"; do
  command -v "$tool" >/dev/null || { echo "bench/age.sh: $tool not found" >&2; exit 2; }
done

# tmpfs keeps the disk out of the measurement.
base=${BENCH_DIR:-$([ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")}
work=$(mktemp -d "$base/git-sops-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

age-keygen -o key.txt 2>/dev/null
R=$(age-keygen -y key.txt)
head -c $((BIG_MIB * 1024 * 1024)) /dev/urandom >big
head -c 1024 /dev/urandom >small
# Both tools decrypt the same files (made by age), so both read identical input.
"$AGE" -r "$R" -o big.age big
"$AGE" -r "$R" -o small.age small
"$GIT_SOPS" age -d -i key.txt big.age | cmp -s - big || { echo "bench/age.sh: git-sops cannot decrypt age's file" >&2; exit 1; }

# bench NAME AGE_COMMAND GIT_SOPS_COMMAND: one hyperfine run holding both, results in NAME.csv.
bench() {
  hyperfine --shell bash --runs "$RUNS" --warmup 1 --style basic --export-csv "$1.csv" \
    -n age "$2" -n git-sops "$3" >&2
}
loop() { echo "for ((i = 0; i < $SMALL_COUNT; i++)); do $1; done"; }

bench enc_big "'$AGE' -r $R -o /dev/null big" "'$GIT_SOPS' age -r $R -o /dev/null big"
bench dec_big "'$AGE' -d -i key.txt -o /dev/null big.age" "'$GIT_SOPS' age -d -i key.txt -o /dev/null big.age"
bench enc_small "$(loop "'$AGE' -r $R -o /dev/null small")" "$(loop "'$GIT_SOPS' age -r $R -o /dev/null small")"
bench dec_small "$(loop "'$AGE' -d -i key.txt -o /dev/null small.age")" \
  "$(loop "'$GIT_SOPS' age -d -i key.txt -o /dev/null small.age")"

# Wall-clock medians, plus mean CPU time (user + system): on a shared machine the CPU time is
# the steadier figure, since a loaded scheduler stretches wall time.
row() {
  awk -F, -v op="$1" '
    $1 == "age" { am = $4; ac = $5 + $6 }
    $1 == "git-sops" { gm = $4; gc = $5 + $6 }
    END { printf "| %s | %.0f ms | %.0f ms | %.2f | %.0f ms | %.0f ms | %.2f |\n",
                 op, am * 1000, gm * 1000, gm / am, ac * 1000, gc * 1000, gc / ac }' "$2.csv"
}
echo
echo "age $("$AGE" --version) vs $("$GIT_SOPS" --version), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $RUNS runs each"
echo
echo "| operation | age median | git-sops median | ratio | age CPU | git-sops CPU | CPU ratio |"
echo "|---|---|---|---|---|---|---|"
row "encrypt ${BIG_MIB} MiB" enc_big
row "decrypt ${BIG_MIB} MiB" dec_big
row "encrypt 1 KiB × $SMALL_COUNT (process start included)" enc_small
row "decrypt 1 KiB × $SMALL_COUNT (process start included)" dec_small
echo
echo "Ratios are git-sops / age: below 1 means git-sops is faster. CPU = mean user + system time."

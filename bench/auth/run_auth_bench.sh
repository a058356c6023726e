#!/usr/bin/env bash
# What API authentication costs per request: callgrind instruction counts (stable on a shared,
# noisy machine) and Google Benchmark wall times of authenticate + authorize per algorithm, and
# of the --auth none path. Prints the figures; docs/benchmarks.md ("API authentication") has them.
# Usage: bash bench/auth/run_auth_bench.sh   (after a release build of auth_bench)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=build/release/bench/auth/auth_bench
[[ -x $BIN ]] || { echo "build it first: cmake --build --preset release --target auth_bench" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/ec.pem" 2>/dev/null

N=${AUTH_BENCH_N:-1000}
instructions() {  # ALG COUNT -> total instructions of the run
  valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$BIN" "$WORK" count "$1" "$2" \
    >/dev/null 2>"$WORK/cg.log"
  sed -nE 's/.*Collected : ([0-9]+).*/\1/p' "$WORK/cg.log"
}
echo "machine: $(nproc) cores, $(sed -nE 's/^model name\s*: (.*)/\1/p' /proc/cpuinfo | head -1)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "callgrind instructions per request (authenticate + authorize), N=$N:"
for alg in none HS256 ES256 RS256; do
  base=$(instructions "$alg" 0)
  total=$(instructions "$alg" "$N")
  echo "  $alg: $(( (total - base) / N ))"
done
echo "wall time (Google Benchmark):"
"$BIN" "$WORK" --benchmark_min_time=0.5 2>/dev/null | sed -n '/^BM_/p'

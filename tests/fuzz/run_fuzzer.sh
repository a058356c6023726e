#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time, as a CTest test (tests/fuzz/CMakeLists.txt).
# Usage: run_fuzzer.sh BINARY SECONDS SEED_DIR [DICT]
# The seeds (including kept regression inputs) are read, never written: new inputs go to a scratch
# corpus that is removed afterwards. A crash fails the test and leaves its input next to the
# binary (fuzz-artifacts/<target>/crash-*); fix the bug and add that input to SEED_DIR.
set -euo pipefail
binary=$1
seconds=$2
seeds=$3
dict=${4:-}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
artifacts="$(dirname "$binary")/fuzz-artifacts/$(basename "$binary")/"
mkdir -p "$artifacts"
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536
  -artifact_prefix="$artifacts" -print_final_stats=1)
if [[ -n "$dict" ]]; then args+=(-dict="$dict"); fi
exec "$binary" "${args[@]}" "$scratch" "$seeds"

#!/usr/bin/env bash
# Configures and builds the project. Usage: scripts/build.sh [release|debug] [target...]
# (debug = AddressSanitizer + UndefinedBehaviorSanitizer). Output in build/<preset>. Without
# targets it builds everything (tests, benchmarks, examples); with them, only those and what
# they link.
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET=${1:-release}
shift $(( $# > 0 ? 1 : 0 ))
TARGETS=()
for target in "$@"; do TARGETS+=(--target "$target"); done
cmake --preset "$PRESET" >/dev/null
cmake --build --preset "$PRESET" -j "$(nproc)" "${TARGETS[@]}"

#!/usr/bin/env bash
# Configures and builds the project. Usage: scripts/build.sh [release|debug]
# (debug = AddressSanitizer + UndefinedBehaviorSanitizer). Output in build/<preset>.
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET=${1:-release}
cmake --preset "$PRESET" >/dev/null
cmake --build --preset "$PRESET" -j "$(nproc)"

#!/usr/bin/env bash
# Runs clang-tidy 14 (the repository's .clang-tidy) on every src/**/*.cpp, src's own *_test.cpp
# included, with the compile commands of build/<preset> (configured first if they are missing).
# Only headers under this checkout's src/ are reported: system and third-party headers (Boost,
# nlohmann, valijson, spdlog, gtest) and tests/support are not. Exits non-zero on any finding.
#
# Usage: scripts/lint.sh [-j N] [-p release|debug] [regex...]
#   -j N     parallel clang-tidy processes (default: nproc)
#   -p NAME  configure preset whose build directory holds compile_commands.json (default: release)
#   regex    restrict to the src/ files whose path below src/ matches (e.g. 'orders/'; a regex
#            that matches no file lints nothing and exits 0)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd -P)

JOBS=$(nproc)
PRESET=release
while getopts "j:p:h" opt; do
  case "$opt" in
    j) JOBS=$OPTARG ;;
    p) PRESET=$OPTARG ;;
    *) sed -n '2,12p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

BUILD_DIR="$ROOT/build/$PRESET"
if [[ ! -f "$BUILD_DIR/compile_commands.json" ]]; then
  cmake --preset "$PRESET" >/dev/null
fi

RUN_CLANG_TIDY=$(command -v run-clang-tidy-14 || true)
CLANG_TIDY=$(command -v clang-tidy-14 || command -v clang-tidy)
if [[ -z "$RUN_CLANG_TIDY" ]]; then
  echo "lint.sh: run-clang-tidy-14 not found (Debian package clang-tidy-14)" >&2
  exit 2
fi

# Anchored at this checkout's src/ so that no other path containing "/src/" (e.g. /usr/src,
# a FetchContent _deps/*-src) is reported; the .clang-tidy HeaderFilterRegex is the fallback
# for editors that run clang-tidy directly.
ROOT_RE=$(printf '%s' "$ROOT" | sed 's/[][\.*^$+?(){}|]/\\&/g')
HEADER_FILTER="^$ROOT_RE/src/"

FILES=()
if [[ $# -eq 0 ]]; then
  FILES=("^$ROOT_RE/src/.*\\.cpp\$")
else
  for re in "$@"; do FILES+=("^$ROOT_RE/src/(?=.*$re).*\\.cpp\$"); done
fi

# The compile commands are GCC's: clang does not know some of their warning flags
# (-Wno-error=restrict), which would be reported as errors.
# -quiet drops the per-file "N warnings generated" noise; findings (and clang errors) still print,
# and run-clang-tidy exits 1 if any file had one (WarningsAsErrors: '*').
exec "$RUN_CLANG_TIDY" -clang-tidy-binary "$CLANG_TIDY" -p "$BUILD_DIR" -j "$JOBS" -quiet \
  -extra-arg=-Wno-unknown-warning-option \
  -header-filter "$HEADER_FILTER" "${FILES[@]}"

#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to every test having run: installs what is missing,
# builds, and runs all test tiers with CTest (unit, SQLite component, RabbitMQ component against
# private brokers the tests start themselves, and black-box tests of the built binary), then the
# libFuzzer targets for a bounded time each (a clang ASan + UBSan build of their own, tests/fuzz;
# ORDER_SERVICE_FUZZ_SECONDS, default 30).
# Usage: scripts/test.sh [debug|release]. The default, debug, is the AddressSanitizer +
# UndefinedBehaviorSanitizer build: the suite runs where memory errors and undefined behaviour
# fail it (CI runs this). release runs the same suite on the optimised build.
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET=${1:-debug}
bash scripts/install-deps.sh
bash scripts/build.sh "$PRESET"
ctest --preset "$PRESET" -j 2 --timeout 900
cmake --preset fuzz -DORDER_SERVICE_FUZZ_SECONDS="${ORDER_SERVICE_FUZZ_SECONDS:-30}" >/dev/null
cmake --build --preset fuzz -j "$(nproc)"
ctest --preset fuzz -j 2

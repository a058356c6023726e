#!/usr/bin/env bash
# Builds relay_bench, runs it (a private RabbitMQ is booted unless --amqp-url is given) and
# writes its "Outbox relay" section into docs/benchmarks.md, leaving the other sections alone.
#
#   bash bench/run_relay_bench.sh [relay_bench options, e.g. --events 200000 --size 1024]
#
# Environment: BUILD_DIR (default build/relay), NO_DOC=1 to print the section without writing it.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build/relay}
DOC=docs/benchmarks.md

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORDER_SERVICE_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" -j2 --target relay_bench >/dev/null

ARGS=("$@")
[[ ${#ARGS[@]} -gt 0 ]] || ARGS=(--events 200000 --size 1024 --window 1000 --latency-seconds 10)

SECTION=$(mktemp)
trap 'rm -f "$SECTION"' EXIT
"$BUILD_DIR/bench/relay_bench" "${ARGS[@]}" > "$SECTION"
cat "$SECTION"

if [[ "${NO_DOC:-0}" == "1" ]]; then exit 0; fi
python3 bench/update_benchmarks_doc.py "$DOC" relay "$SECTION"

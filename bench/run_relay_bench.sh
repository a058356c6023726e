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
python3 - "$DOC" "$SECTION" <<'PY'
import pathlib, sys
doc, section = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]).read_text().rstrip() + "\n"
text = doc.read_text() if doc.exists() else (
    "# Benchmarks\n\nMeasured numbers of the Order Service's components, one section per "
    "component, each with the machine, the command and the date.\n")
start = text.find("\n## Outbox relay\n")
if start < 0:
    text = text.rstrip() + "\n\n" + section
else:
    end = text.find("\n## ", start + 1)
    text = text[:start + 1] + section + ("" if end < 0 else "\n" + text[end + 1:])
doc.write_text(text)
print(f"wrote the 'Outbox relay' section of {doc}", file=sys.stderr)
PY

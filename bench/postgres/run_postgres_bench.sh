#!/usr/bin/env bash
# Durable commits on one private PostgreSQL 15 (fsync on, the tests' server: tests/support/
# postgres_server.hpp), in one run: pgbench's commit rate of a one-row insert at 64 clients
# (the limit of one commit per request) against the PostgreSQL store's write rate at 64
# concurrent writers (each write: an order row and a ~1 KB event, group-committed), for several
# numbers of writer connections. Writes the "postgres" section of docs/benchmarks.md.
#
#   bench/postgres/run_postgres_bench.sh [build-dir] [seconds]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build/release}
SECONDS_EACH=${2:-10}
nice -n 5 cmake --build "$BUILD" -j2 --target postgres_fixture postgres_store_bench >/dev/null
WORK=$(mktemp -d)
INFO=$WORK/server.info
cleanup() { "$BUILD/tests/support/postgres_fixture" stop "$INFO" >/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
"$BUILD/tests/support/postgres_fixture" start "$INFO" >/dev/null
get() { sed -n "s/^$1=//p" "$INFO"; }
SOCKET=$(get socketDir); PORT=$(get port); APPUSER=$(get appUser); export PGPASSWORD=$(get appPassword)
RUN_AS=(); [[ $(id -u) -eq 0 ]] && RUN_AS=(runuser -u postgres --)
"${RUN_AS[@]}" psql -q -h "$SOCKET" -p "$PORT" -U postgres -d postgres \
  -c "CREATE DATABASE bench OWNER $APPUSER" >/dev/null
psql -q -h "$SOCKET" -p "$PORT" -U "$APPUSER" -d bench \
  -c "CREATE TABLE pgbench_commits (id bigserial PRIMARY KEY, body text NOT NULL)" >/dev/null
printf "INSERT INTO pgbench_commits (body) VALUES (repeat('x', 1000));\n" >"$WORK/insert.sql"
PGBENCH=/usr/lib/postgresql/15/bin/pgbench
pgbench_tps=$($PGBENCH -h "$SOCKET" -p "$PORT" -U "$APPUSER" -n -c 64 -j 2 -T "$SECONDS_EACH" \
  -f "$WORK/insert.sql" bench 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)
echo "pgbench one-row insert, 64 clients: $pgbench_tps commits/s" >&2
# The store's own write (order_service_write, the function a batch calls per write) as one
# transaction per write at 64 connections: what the same work costs without group commit.
psql -q -h "$SOCKET" -p "$PORT" -U "$APPUSER" -d bench -c "CREATE SCHEMA single" >/dev/null
"$BUILD/bench/postgres/postgres_store_bench" --clients 1 --seconds 1 --store-writers 1 \
  --url "postgresql://$APPUSER@/bench?host=$SOCKET&port=$PORT&options=-csearch_path%3Dsingle" >/dev/null
cat >"$WORK/write.sql" <<'SQL'
SELECT order_service_write(md5(random()::text || clock_timestamp()::text), '3fa85f64-5717-4562-b3fc-2c963f66afa6', 'PENDING_PAYMENT', 1, 1, 1700000000000, 1700000000000, repeat('d', 400), 0, ARRAY[md5(random()::text)], ARRAY['OrderCreatedEvent'], ARRAY['1.0'], ARRAY['p'], ARRAY[1::bigint], ARRAY[NULL::text], ARRAY['OrderService'], ARRAY[1700000000000::bigint], ARRAY[repeat('x', 1000)], ARRAY[NULL::text], ARRAY[NULL::text], NULL, NULL, NULL, NULL, NULL, 1700000000000);
SQL
single_tps=$(PGOPTIONS="-csearch_path=single" $PGBENCH -h "$SOCKET" -p "$PORT" -U "$APPUSER" -n -c 64 -j 2 \
  -T "$SECONDS_EACH" -f "$WORK/write.sql" bench 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)
echo "pgbench of the store's write, one commit each, 64 clients: $single_tps writes/s" >&2
rows=()
for writers in 1 2 4 8; do
  schema="store_w$writers"
  psql -q -h "$SOCKET" -p "$PORT" -U "$APPUSER" -d bench -c "CREATE SCHEMA $schema" >/dev/null
  line=$("$BUILD/bench/postgres/postgres_store_bench" --clients 64 --seconds "$SECONDS_EACH" \
    --store-writers "$writers" \
    --url "postgresql://$APPUSER@/bench?host=$SOCKET&port=$PORT&options=-csearch_path%3D$schema")
  echo "$line" >&2
  rows+=("$line")
done
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
SECTION=$WORK/section.md
{
  echo "## PostgreSQL store: durable writes vs. pgbench"
  echo
  echo "\`bench/postgres/run_postgres_bench.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores, ${SECONDS_EACH} s each,"
  echo "PostgreSQL 15 with fsync on, on the same machine over its unix socket). pgbench: a one-row"
  echo "insert of 1 KB per transaction at 64 clients, i.e. one durable commit per request. Store: 64"
  echo "threads each writing one new order with a 1 KB event and waiting for its commit."
  echo
  echo "| what | writer connections | writes/s | commits/s | writes per commit |"
  echo "| --- | --- | --- | --- | --- |"
  printf "| pgbench (limit of one commit per request) | 64 | %.0f | %.0f | 1 |\n" "$pgbench_tps" "$pgbench_tps"
  printf "| pgbench running the store's write, one commit each | 64 | %.0f | %.0f | 1 |\n" "$single_tps" "$single_tps"
  for line in "${rows[@]}"; do
    echo "| PostgresStore | $(field "$line" store_writers) | $(field "$line" writes_per_s) | $(field "$line" commits_per_s) | $(field "$line" mean_batch) |"
  done
} >"$SECTION"
python3 "$ROOT/bench/update_benchmarks_doc.py" "$ROOT/docs/benchmarks.md" postgres "$SECTION"
cat "$SECTION"

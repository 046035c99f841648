#!/usr/bin/env bash
# The platform's two commands (see README.md), plus stop/status:
#   bash tools/platform.sh start    install what is missing, start everything locally, print where to look
#   bash tools/platform.sh test     install what is missing, start a test Kafka, run every check and test
#   bash tools/platform.sh stop | status
# Needs: Node 20+ with npm (Node 24 and pnpm are installed into .tools/), Java 17+ and Maven (the Kafka
# broker's jars), a PostgreSQL server (default postgresql://postgres@127.0.0.1:5432, or set POSTGRES_URL).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command="${1:-}"
case "$command" in
  start|stop|status|test) ;;
  *) echo "usage: bash tools/platform.sh start|test|stop|status" >&2; exit 2 ;;
esac

for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "$tool is required (the local Kafka broker runs from Apache Kafka's Maven jars)" >&2; exit 1; }
done

# shellcheck source=tools/bootstrap.sh
. tools/bootstrap.sh
# kafkajs 2.2.4 sets negative timeouts that Node 24 warns about; the warning is noise, not a fault.
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
export NODE_OPTIONS="${NODE_OPTIONS:-} --disable-warning=TimeoutNegativeWarning"

if [ "$command" != "test" ]; then
  if [ "$command" = "start" ]; then pnpm -s turbo run build --output-logs=errors-only; fi
  exec node tools/dev.ts "$command"
fi

# --- test: a broker of its own on another port, the machine's PostgreSQL, every check --------------------
TEST_KAFKA_PORT="${TEST_KAFKA_PORT:-19092}"
export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-${POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}}"
started_kafka=""
if [ -z "${TEST_KAFKA_BROKERS:-}" ]; then
  node infra/kafka/kafka.ts start --port "$TEST_KAFKA_PORT"
  export TEST_KAFKA_BROKERS="127.0.0.1:$TEST_KAFKA_PORT"
  started_kafka=1
fi
cleanup() { if [ -n "$started_kafka" ]; then node infra/kafka/kafka.ts stop --port "$TEST_KAFKA_PORT" --wipe >/dev/null || true; fi; }
trap cleanup EXIT

echo "[test] build (prisma generate), typecheck, lint"
pnpm -s turbo run build typecheck --output-logs=errors-only
pnpm -s biome check .
echo "[test] vitest against PostgreSQL at ${TEST_POSTGRES_URL} and Kafka at ${TEST_KAFKA_BROKERS}"
pnpm -s vitest run "${@:2}"

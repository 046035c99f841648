#!/bin/sh
# Entrypoint of every service image (infra/docker/Dockerfile).
#   no arguments: apply the service's migrations (when it has prisma/schema.prisma; set
#                 SKIP_MIGRATIONS=true to skip), then start the service (tsx src/server.ts)
#   arguments:    run them instead, e.g. `node /app/infra/kafka/topics.ts --brokers kafka:9092`
set -eu

if [ "$#" -gt 0 ]; then
  exec "$@"
fi

cd "/app/services/${SERVICE:?SERVICE is not set: build the image with --build-arg SERVICE=<name>}"

if [ -f prisma/schema.prisma ] && [ "${SKIP_MIGRATIONS:-false}" != "true" ]; then
  echo "entrypoint: ${SERVICE}: prisma migrate deploy"
  ./node_modules/.bin/prisma migrate deploy
fi

echo "entrypoint: ${SERVICE}: starting"
exec /app/node_modules/.bin/tsx src/server.ts

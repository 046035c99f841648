#!/usr/bin/env bash
# Creates one database per service for the official postgres image: mounted into
# /docker-entrypoint-initdb.d, it runs once, when the data volume is first initialised.
#
#   SERVICE_DATABASES=energy_registry,energy_ingestion,...   (comma-separated; blanks ignored)
#
# Idempotent: a database that exists is left alone. To add a service's database to a volume that is
# already initialised, run it again by hand:
#   docker compose exec postgres bash /docker-entrypoint-initdb.d/10-init-databases.sh
# The databases belong to POSTGRES_USER, the user the services connect as.
#
# The image runs this file, or sources it when it is not executable: so no `exit`, and shell options
# stay local to the function (`local -`) instead of leaking into the image's entrypoint.

init_service_databases() {
  local -
  set -euo pipefail
  local user="${POSTGRES_USER:-postgres}"
  local maintenance_db="${POSTGRES_DB:-$user}"
  local list="${SERVICE_DATABASES:-}"
  local raw db
  local -a names databases=()

  if [[ -z "${list//[[:space:],]/}" ]]; then
    echo "init-databases: SERVICE_DATABASES is empty: no service database created" >&2
    return 0
  fi

  # Check every name before creating any.
  IFS=',' read -r -a names <<<"$list"
  for raw in "${names[@]}"; do
    db="${raw//[[:space:]]/}"
    [[ -n "$db" ]] || continue
    if [[ ! "$db" =~ ^[a-z_][a-z0-9_]{0,62}$ ]]; then
      echo "init-databases: \"$db\" is not a valid database name (lower case letters, digits, _)" >&2
      return 1
    fi
    databases+=("$db")
  done

  for db in "${databases[@]}"; do
    # \gexec runs the CREATE DATABASE only when the SELECT returns it, i.e. when it does not exist.
    psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "$user" --dbname "$maintenance_db" \
      --set db="$db" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db')
\gexec
SQL
    echo "init-databases: database $db is there"
  done
}

init_service_databases

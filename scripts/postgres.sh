#!/usr/bin/env bash
# Starts or stops a private PostgreSQL 15 (Debian's) for the tests: its own data directory, a
# Unix socket in that directory, no TCP, trust authentication for the local postgres user. Runs
# the server as the `postgres` user (root may not run initdb).
#   scripts/postgres.sh start <dir> <port>   prints the base URL, e.g. postgresql:///?host=<dir>&port=<port>&user=postgres
#   scripts/postgres.sh stop <dir>
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
command=${1:?start or stop}
dir=${2:?directory}
port=${3:-55432}

as_postgres() {
  if [ "$(id -un)" = postgres ]; then
    "$@"
  elif [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    sudo -u postgres -- "$@"
  fi
}

case "$command" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_postgres "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses='' -c max_connections=200" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgresql:///?host=$dir&port=$port&user=postgres"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || true
    fi
    ;;
  *)
    echo "usage: $0 start|stop <dir> [port]" >&2
    exit 2
    ;;
esac

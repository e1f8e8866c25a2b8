#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server for the queue tests (installing Debian's postgresql when missing) and
# prints the URL to use as INDEXTTS_TEST_POSTGRES_URL / --queue. `stop` shuts it down and removes its data.
# `restart [SECONDS]` stops the running server (fast shutdown: sessions are cut), waits SECONDS (default 0) and starts
# it again on the same data (the soak test's fault).
# Usage: scripts/postgres-for-tests.sh start|stop|restart   (env: PGTEST_DIR, default /tmp/indextts-pgtest; PGTEST_PORT, 55432)
set -euo pipefail
dir="${PGTEST_DIR:-/tmp/indextts-pgtest}"
port="${PGTEST_PORT:-55432}"
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# PostgreSQL refuses to run as root: run it as the 'postgres' user when we are root, else as ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    if [ -z "$(bin_dir)" ]; then
      echo "installing postgresql" >&2
      $sudo_cmd apt-get update -q >&2
      DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends postgresql >&2
    fi
    bin="$(bin_dir)"
    if [ -f "$dir/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      echo "postgres://indextts:indextts@127.0.0.1:$port/indextts"
      exit 0
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -o "-p $port -k $dir -c listen_addresses=127.0.0.1" -w start >/dev/null
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -qc "CREATE USER indextts PASSWORD 'indextts'" >/dev/null
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -qc "CREATE DATABASE indextts OWNER indextts" >/dev/null
    echo "postgres://indextts:indextts@127.0.0.1:$port/indextts"
    ;;
  restart)
    bin="$(bin_dir)"
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    sleep "${2:-0}"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -o "-p $port -k $dir -c listen_addresses=127.0.0.1" -w start >/dev/null
    echo "postgres://indextts:indextts@127.0.0.1:$port/indextts"
    ;;
  stop)
    bin="$(bin_dir)"
    if [ -n "$bin" ] && [ -d "$dir/data" ]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop|restart [SECONDS]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Starts and stops the servers the integration tests need, on private loopback ports
# with temporary data directories:
#   scripts/services.sh start   -> installs what is missing (apt), starts Redis and
#                                  PostgreSQL, writes .services/env (REDIS_URL, DATABASE_URL, ...)
#   scripts/services.sh stop    -> stops them and removes their data
#   scripts/services.sh install -> only installs what is missing
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="$root/.services"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"

log() { printf '[services] %s\n' "$*" >&2; }

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

apt_install() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || missing+=(postgresql)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
      log "missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root"
      exit 1
    fi
    log "installing ${missing[*]} with apt"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    su postgres -s /bin/bash -c "$*"
  else
    bash -c "$*"
  fi
}

start() {
  apt_install
  stop quiet
  mkdir -p "$state"
  local tmp
  tmp="$(mktemp -d /tmp/ip-services.XXXXXX)"
  chmod 755 "$tmp"
  echo "$tmp" >"$state/tmpdir"

  local redis_port
  redis_port="$(free_port)"
  mkdir -p "$tmp/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp/redis" --save "" --appendonly no \
    --daemonize yes --pidfile "$tmp/redis/redis.pid" --logfile "$tmp/redis/redis.log"
  for _ in $(seq 1 50); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$redis_port" ping >/dev/null

  local pg_port
  pg_port="$(free_port)"
  mkdir -p "$tmp/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$tmp/pg"
  as_pg "'$pg_bin/initdb' -D '$tmp/pg/data' -A trust -U postgres --no-sync >'$tmp/pg/initdb.log' 2>&1"
  as_pg "'$pg_bin/pg_ctl' -D '$tmp/pg/data' -l '$tmp/pg/pg.log' -w -o \"-p $pg_port -k '$tmp/pg' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200\" start >/dev/null"
  as_pg "'$pg_bin/createdb' -h 127.0.0.1 -p $pg_port -U postgres integration_patterns"

  cat >"$state/env" <<ENV
export REDIS_URL=redis://127.0.0.1:$redis_port
export REDIS_PORT=$redis_port
export REDIS_SERVER_BIN=$(command -v redis-server)
export DATABASE_URL=postgres://postgres@127.0.0.1:$pg_port/integration_patterns
export PG_PORT=$pg_port
export PG_BIN=$pg_bin
export CHROMIUM_PATH=/usr/bin/chromium
ENV
  log "redis on 127.0.0.1:$redis_port, postgres on 127.0.0.1:$pg_port (env in .services/env)"
}

stop() {
  [ -f "$state/tmpdir" ] || { [ "${1:-}" = quiet ] || log "nothing to stop"; return 0; }
  local tmp
  tmp="$(cat "$state/tmpdir")"
  if [ -f "$tmp/redis/redis.pid" ]; then
    kill "$(cat "$tmp/redis/redis.pid")" 2>/dev/null || true
  fi
  if [ -d "$tmp/pg/data" ]; then
    as_pg "'$pg_bin/pg_ctl' -D '$tmp/pg/data' -m immediate -w stop >/dev/null 2>&1" || true
  fi
  rm -rf "$tmp" "$state"
  [ "${1:-}" = quiet ] || log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  install) apt_install ;;
  *) echo "usage: $0 start|stop|install" >&2; exit 2 ;;
esac

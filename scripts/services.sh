#!/usr/bin/env bash
# Makes sure Redis and PostgreSQL answer on this machine, starting the local servers when they are
# installed but stopped. Exits non-zero with the exact command to run when it cannot.
set -uo pipefail

quiet=0
[ "${1:-}" = "--quiet" ] && quiet=1
say() { if [ "$quiet" = 0 ]; then echo "services: $*"; fi; }

redis_host=127.0.0.1
redis_port=6379
pg_port=5432

redis_up() {
  if command -v redis-cli >/dev/null 2>&1; then
    redis-cli -h "$redis_host" -p "$redis_port" ping 2>/dev/null | grep -q PONG
  else
    (exec 3<>"/dev/tcp/$redis_host/$redis_port") 2>/dev/null
  fi
}
pg_up() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p "$pg_port"
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$pg_port") 2>/dev/null
  fi
}
wait_for() {
  local check=$1
  for _ in $(seq 1 50); do
    "$check" && return 0
    sleep 0.2
  done
  return 1
}

ok=1
if redis_up; then
  say "redis is up on $redis_host:$redis_port"
elif command -v redis-server >/dev/null 2>&1; then
  say "starting redis-server"
  redis-server --daemonize yes --bind "$redis_host" --port "$redis_port" --save "" >/dev/null
  wait_for redis_up || { echo "services: redis-server did not answer on $redis_host:$redis_port" >&2; ok=0; }
else
  echo "services: Redis is not reachable on $redis_host:$redis_port and redis-server is not installed." >&2
  echo "  install it (apt-get install redis-server) or run: docker compose up -d redis" >&2
  ok=0
fi

if pg_up; then
  say "postgres is up on 127.0.0.1:$pg_port"
elif command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  version=$(ls /etc/postgresql | sort -n | tail -n 1)
  say "starting postgresql $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  wait_for pg_up || { echo "services: PostgreSQL did not answer on 127.0.0.1:$pg_port" >&2; ok=0; }
else
  echo "services: PostgreSQL is not reachable on 127.0.0.1:$pg_port and no local cluster is installed." >&2
  echo "  install it (apt-get install postgresql) or run: docker compose up -d postgres" >&2
  ok=0
fi

[ "$ok" = 1 ]

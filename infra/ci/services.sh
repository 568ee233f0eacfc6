#!/usr/bin/env bash
# Before `make test`: make sure PostgreSQL answers on 127.0.0.1:5432 where this machine can
# start it, and say which Redis and database the suite will find. Never fails the build:
# the fixtures decide (see tests/support/services.py).
set -uo pipefail

say() { echo "services: $*"; }

if [ -n "${DATABASE_URL:-}" ]; then
  say "DATABASE_URL is set; PostgreSQL tests use it unless a Docker engine answers"
fi
if ! command -v pg_isready >/dev/null 2>&1; then
  say "pg_isready not found; PostgreSQL tests need a Docker engine or DATABASE_URL"
elif pg_isready -q -h 127.0.0.1 -p 5432; then
  say "PostgreSQL answers on 127.0.0.1:5432"
elif command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  say "PostgreSQL does not answer on 127.0.0.1:5432; starting cluster $version/main"
  if pg_ctlcluster --skip-systemctl-redirect "$version" main start; then
    for _ in $(seq 1 30); do
      pg_isready -q -h 127.0.0.1 -p 5432 && break
      sleep 0.5
    done
  fi
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    say "PostgreSQL answers on 127.0.0.1:5432"
  else
    say "PostgreSQL still does not answer on 127.0.0.1:5432"
  fi
else
  say "PostgreSQL does not answer on 127.0.0.1:5432 and there is no cluster here to start"
fi

if [ -n "${REDIS_URL:-}" ]; then
  say "REDIS_URL is set; the suite uses it unless a Docker engine answers"
fi
if command -v redis-cli >/dev/null 2>&1 && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  say "Redis answers on 127.0.0.1:6379"
elif command -v redis-server >/dev/null 2>&1; then
  say "no Redis on 127.0.0.1:6379; unless REDIS_URL answers, the fixtures start a private redis-server"
else
  say "no Redis on 127.0.0.1:6379 and no redis-server; tests need a Docker engine or REDIS_URL"
fi
exit 0

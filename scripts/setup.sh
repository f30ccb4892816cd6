#!/usr/bin/env bash
# Brings a fresh clone to a runnable state: dependencies, generated code, local services.
# Idempotent and quick when nothing changed; every later command (test, start, bench) calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

quiet=0
services=1
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=1 ;;
    --no-services) services=0 ;;
  esac
done
say() { if [ "$quiet" = 0 ]; then echo "setup: $*"; fi; }

# 1. Dependencies: install when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  # npm ci when the lock file is complete; some npm versions leave other platforms' optional
  # packages out of it (and then refuse npm ci), so fall back to npm install from the same lock.
  npm ci --no-audit --no-fund --loglevel=silent 2>/dev/null || npm install --no-audit --no-fund --loglevel=error
fi

# 2. Generated code from proto/ (not committed): regenerate when any .proto is newer.
if [ ! -f gen/.stamp ] || [ -n "$(find proto buf.yaml buf.gen.yaml -newer gen/.stamp 2>/dev/null | head -n 1)" ]; then
  say "generating gRPC code from proto/"
  bash scripts/gen.sh
fi

# 3. Local Redis and PostgreSQL.
if [ "$services" = 1 ]; then
  bash scripts/services.sh $([ "$quiet" = 1 ] && echo --quiet)
fi

#!/usr/bin/env bash
# Starts the whole exchange on this machine: set-up (dependencies, generated code, local Redis
# and Postgres), then every service in the foreground. Ctrl-C stops them all.
# Built so far: the Engine service (gRPC on ENGINE_PORT, default 50051) and the History service
# (gRPC on HISTORY_PORT, default 50052).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

pids=()
stop() {
  trap - INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait
}
trap stop INT TERM

node --import tsx services/engine/main.ts &
pids+=($!)
node --import tsx services/history/main.ts &
pids+=($!)

echo "exchange: engine gRPC on 127.0.0.1:${ENGINE_PORT:-50051}, history gRPC on 127.0.0.1:${HISTORY_PORT:-50052}"
echo "  try: npx buf curl --protocol grpc --http2-prior-knowledge http://127.0.0.1:${ENGINE_PORT:-50051}/exchange.v1.EngineService/GetMarkets"
wait

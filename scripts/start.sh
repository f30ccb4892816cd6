#!/usr/bin/env bash
# Starts the whole exchange on this machine: set-up (dependencies, generated code, local Redis
# and Postgres), then the engine, history, gateway and (unless MARKET_MAKER=off) the market maker.
# Waits until the gateway reports healthy and prints its URL. Ctrl-C (or SIGTERM) stops every
# service gracefully; if one of them dies, the others are stopped too and the exit is non-zero.
# Each service logs JSON lines to $LOG_DIR/<service>.log (default .logs/).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

export ENGINE_PORT=${ENGINE_PORT:-50051}
export HISTORY_PORT=${HISTORY_PORT:-50052}
export PORT=${PORT:-3000}
export ENGINE_ADDR=${ENGINE_ADDR:-127.0.0.1:$ENGINE_PORT}
export HISTORY_ADDR=${HISTORY_ADDR:-127.0.0.1:$HISTORY_PORT}
MARKET_MAKER=${MARKET_MAKER:-on}
LOG_DIR=${LOG_DIR:-.logs}
mkdir -p "$LOG_DIR"

names=()
pids=()
launch() {
  local name=$1
  shift
  # Its own session: Ctrl-C reaches only this script, which stops the services in order.
  setsid node --import tsx "$@" >>"$LOG_DIR/$name.log" 2>&1 &
  names+=("$name")
  pids+=($!)
}

# Stops the services, newest first (the market maker cancels its quotes before the engine goes),
# each given STOP_TIMEOUT seconds to shut down gracefully before it is killed. A second signal
# while stopping kills whatever is left at once.
STOP_TIMEOUT=${STOP_TIMEOUT:-20}
stopping=0
stop() {
  if [ "$stopping" = 1 ]; then
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    return
  fi
  stopping=1
  echo "exchange: stopping"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    local pid=${pids[$i]}
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 1 $((STOP_TIMEOUT * 10))); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "exchange: ${names[$i]} did not stop within ${STOP_TIMEOUT}s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  echo "exchange: stopped"
}
trap 'stop; exit 0' INT TERM HUP
# However the script ends, no service outlives it (they run in their own sessions).
trap 'for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done' EXIT

launch engine services/engine/main.ts
launch history services/history/main.ts
launch gateway gateway/main.ts

url="http://127.0.0.1:$PORT"
# One HTTP request over bash's /dev/tcp: no process started per try while the services boot.
healthy_now() {
  local status
  status=$( (exec 3<>"/dev/tcp/127.0.0.1/$PORT" &&
    printf 'GET /api/v1/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 &&
    head -n 1 <&3) 2>/dev/null) || return 1
  [[ $status == "HTTP/1.1 200"* ]]
}
healthy=0
for _ in $(seq 1 150); do
  if healthy_now; then
    healthy=1
    break
  fi
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "exchange: ${names[$i]} exited during start; the end of $LOG_DIR/${names[$i]}.log:" >&2
      tail -n 20 "$LOG_DIR/${names[$i]}.log" >&2
      if grep -q EADDRINUSE "$LOG_DIR/${names[$i]}.log"; then
        # 50051 and 50052 lie in Linux's ephemeral range: a client connection can hold one briefly.
        echo "exchange: a port it needs is taken (ENGINE_PORT=$ENGINE_PORT, HISTORY_PORT=$HISTORY_PORT, PORT=$PORT):" \
          "see what holds it with \`ss -ltnp\`, or choose others with those settings" >&2
      fi
      stop
      exit 1
    fi
  done
  sleep 0.2
done
if [ "$healthy" = 0 ]; then
  echo "exchange: the gateway did not report healthy at $url/api/v1/health within 30 s" >&2
  stop
  exit 1
fi

if [ "$MARKET_MAKER" != off ]; then launch market-maker services/bots/main.ts; fi

echo "exchange: ready at $url (REST $url/api/v1, docs $url/api/v1/docs, WebSocket ws://127.0.0.1:$PORT/ws)"
echo "  engine gRPC $ENGINE_ADDR, history gRPC $HISTORY_ADDR; market maker: $MARKET_MAKER; logs in $LOG_DIR/"
echo "  try: curl -s $url/api/v1/depth?market=SOL_USDC"
echo "  Ctrl-C stops everything."

# Wait for any service to exit: that is a failure unless we are stopping.
set +e
wait -n "${pids[@]}"
code=$?
if [ "$stopping" = 0 ]; then
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "exchange: ${names[$i]} exited (code $code); the end of $LOG_DIR/${names[$i]}.log:" >&2
      tail -n 20 "$LOG_DIR/${names[$i]}.log" >&2
    fi
  done
  stop
  exit 1
fi

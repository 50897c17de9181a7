#!/usr/bin/env bash
# End-to-end receive capacity of tickrelay-load on one thread, against
# bench's fast_ws_server (a flood of Binance trade events, pre-framed and
# written in 256 KiB batches so the client is the limit), for both readers
# over ws:// and wss://; then memory per connection with many connections open.
#
#   bench/load_capacity.sh [build-dir]
#   env: DURATION=10  CONNS="1 4 16"  IDLE=10000  IDLE_TLS=2000  CLIENT_CPU=0  SERVER_CPU=1
#
# Prints messages/s, the client's CPU (% of one core, from /proc/self) and
# the cost per message (client CPU time / messages), which gives the rate one
# fully busy thread would reach when the CPU was not saturated.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BIN=$BUILD/bin
DURATION=${DURATION:-10}
CONNS=${CONNS:-"1 4 16"}
IDLE=${IDLE:-10000}
IDLE_TLS=${IDLE_TLS:-2000}
CLIENT_CPU=${CLIENT_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
PY=/usr/bin/python3

for program in tickrelay-load fast_ws_server load_capacity; do
  [[ -x $BIN/$program ]] || { echo "build first: $BIN/$program is missing" >&2; exit 1; }
done

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# A throw-away CA and server certificate for the wss:// runs.
CERTS=$(mktemp -d)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$CERTS/ca-key.pem" \
  -out "$CERTS/ca.pem" -days 1 -subj "/CN=bench CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$CERTS/key.pem" -out "$CERTS/req.pem" \
  -subj "/CN=127.0.0.1" 2>/dev/null
echo "subjectAltName=IP:127.0.0.1" >"$CERTS/ext"
openssl x509 -req -in "$CERTS/req.pem" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca-key.pem" -CAcreateserial \
  -out "$CERTS/cert.pem" -days 1 -extfile "$CERTS/ext" 2>/dev/null

SERVER_PID=
stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}
trap 'stop_server; rm -rf "$CERTS"' EXIT
start_server() {  # rate [tls]
  PORT=$(free_port)
  local tls=()
  [[ ${2:-} == tls ]] && tls=(--cert "$CERTS/cert.pem" --key "$CERTS/key.pem")
  taskset -c "$SERVER_CPU" "$BIN/fast_ws_server" --port "$PORT" --rate "$1" "${tls[@]}" >/dev/null &
  SERVER_PID=$!
  wait_port "$PORT"
}

summarize() {  # json on stdin; label
  $PY -c '
import json, sys
d = json.load(sys.stdin); t = d["targets"][0]; c = d["client"]; s = t["server"] or {}
cpu_s = c["cpu_seconds"]; n = t["messages"]
ns = cpu_s / n * 1e9 if n else float("nan")
print("%-10s %6d %12.0f %9.1f %9.0f %13.0f %9.1f %7d %6d" % (sys.argv[1], t["connections"], t["messages_per_second"],
      c["cpu_percent"], ns, 1e9 / ns if n else 0, s.get("cpu_percent", 0), t["lost"], t["errors"]))' "$1"
}

echo "== processing path alone (no sockets) =="
"$BIN/load_capacity" 2
echo
echo "== end to end on loopback: one client thread on CPU $CLIENT_CPU, fast_ws_server on CPU $SERVER_CPU, ${DURATION}s each =="
echo "$(nproc) CPUs, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-10s %6s %12s %9s %9s %13s %9s %7s %6s\n" reader conns "msg/s" "cpu %" "ns/msg" "msg/s@100%" "srv cpu%" lost errors
for scheme in ws wss; do
  if [[ $scheme == wss ]]; then start_server 0 tls; else start_server 0; fi
  for reader in raw beast; do
    for c in $CONNS; do
      "$BIN/tickrelay-load" --url "$scheme://127.0.0.1:$PORT/ws/btcusdt@trade" --ca-file "$CERTS/ca.pem" \
        --reader "$reader" -c "$c" --threads 1 --cpu "$CLIENT_CPU" -d "$DURATION" -q --format json \
        --server-pid "$SERVER_PID" | summarize "$scheme/$reader"
    done
  done
  stop_server
done

echo
echo "== memory: connections open, server silent; RSS of tickrelay-load =="
printf "%-10s %8s %14s %14s %10s\n" reader conns "rss peak MiB" "per conn KiB" up
for scheme in ws wss; do
  if [[ $scheme == wss ]]; then start_server -1 tls; n=$IDLE_TLS; else start_server -1; n=$IDLE; fi
  for reader in raw beast; do
    url="$scheme://127.0.0.1:$PORT/ws/btcusdt@trade"
    base=$("$BIN/tickrelay-load" --url "$url" --ca-file "$CERTS/ca.pem" --reader "$reader" -c 1 -d 3 -q --format json |
      $PY -c 'import json,sys; print(json.load(sys.stdin)["client"]["resident_peak_bytes"])')
    "$BIN/tickrelay-load" --url "$url" --ca-file "$CERTS/ca.pem" --reader "$reader" -c "$n" --ramp-up 5 -d 12 -q \
      --format json | $PY -c '
import json, sys
d = json.load(sys.stdin); t = d["targets"][0]; peak = d["client"]["resident_peak_bytes"]; base = int(sys.argv[2]); n = int(sys.argv[3])
print("%-10s %8d %14.1f %14.2f %10d" % (sys.argv[1], n, peak / 2**20, (peak - base) / max(n - 1, 1) / 1024, t["connections_up_end"]))' \
      "$scheme/$reader" "$base" "$n"
  done
  stop_server
done

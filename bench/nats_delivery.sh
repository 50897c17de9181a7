#!/usr/bin/env bash
# Taking NATS messages in on one core, both ways in one run: the relay's
# (nats.c on the relay's io_context, synchronous subscriptions drained on the
# loop) and nats.c's own threads handing each message to the loop with a
# post. A local nats-server and the publisher run on CPU 1, the measured
# process (all its threads) on CPU 0.
#
#   bench/nats_delivery.sh [build-dir]
#   env: MESSAGES=300000  RATE=100000  SIZE=200  ROUNDS=2
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BENCH=$BUILD/bin/bench_nats_delivery
[[ -x $BENCH ]] || { echo "build first: $BENCH is missing" >&2; exit 1; }
MESSAGES=${MESSAGES:-300000}
RATE=${RATE:-100000}
SIZE=${SIZE:-200}
ROUNDS=${ROUNDS:-2}
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
taskset -c 1 /usr/sbin/nats-server -a 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
NATS=$!
trap 'kill $NATS 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A total
for round in $(seq "$ROUNDS"); do
  for mode in loop handoff; do
    line=$("$BENCH" --url "nats://127.0.0.1:$PORT" --mode "$mode" --messages "$MESSAGES" --rate "$RATE" --size "$SIZE")
    echo "round $round $line"
    us=$(sed -n 's/.*cpu_us_per_msg=\([0-9.]*\).*/\1/p' <<<"$line")
    total[$mode]=$(/usr/bin/python3 -c "print(${total[$mode]:-0} + $us)")
  done
done
/usr/bin/python3 -c "l=${total[loop]}/$ROUNDS; h=${total[handoff]}/$ROUNDS; print(f'cpu per message: loop {l:.2f} us, handoff {h:.2f} us, handoff/loop {h/l:.2f}x')"

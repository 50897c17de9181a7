"""Client churn for bench/soak: short-lived WebSocket clients opened and closed at a steady rate.

Usage: churn.py --url ws://127.0.0.1:PORT --streams a,b,c --rate 100 --seconds 600

A standalone program (Debian's /usr/bin/python3 with python3-websockets),
started by bench/soak as a child of its own on the load side's CPU. Every
1/rate seconds it opens one client on a random one or two of --streams,
half of them on the raw path (/ws/a/b), half combined (/stream?streams=a/b);
each reads for a random 0.3-1.5 s (on average about rate clients are open at
once, so about rate connect and rate disconnect a second), then leaves: with
a closing handshake, or, for --abort-pct of them, abruptly (socket closed
without a close frame). Once a second it prints one JSON line of running
totals on stdout; the last line is the final count. It ends by itself after
--seconds, or on SIGTERM or SIGINT, and waits at most a few seconds for the
clients still open.
"""

import argparse
import asyncio
import json
import random
import signal
import sys
import time

import websockets

HOLD_MIN_S, HOLD_MAX_S = 0.3, 1.5
OPEN_TIMEOUT_S = 5.0     # TCP connect and WebSocket handshake
CLOSE_TIMEOUT_S = 2.0    # for the server's close frame after ours
# A client is given its hold time plus this for everything; past it, it is
# abandoned and counted as failed, so no task can outlive the run by much.
CLIENT_BOUND_S = OPEN_TIMEOUT_S + CLOSE_TIMEOUT_S + 3.0
# At most this many rates' worth open at once: a server that stops answering
# makes clients wait out their timeouts, and the churn must not pile up.
MAX_OPEN_FACTOR = 10
TICK_S = 0.01
REPORT_EVERY_S = 1.0
FINISH_S = CLIENT_BOUND_S  # after the end, for the clients still open


class Counts:
    def __init__(self):
        self.started = 0      # connect attempts
        self.opened = 0       # handshakes that succeeded
        self.failed = 0       # refused, timed out, or cut before the client left
        self.closed = 0       # left with a closing handshake
        self.aborted = 0      # left without one
        self.skipped = 0      # not started: too many still open
        self.messages = 0
        self.open_now = 0

    def line(self, elapsed):
        return json.dumps({"t": round(elapsed, 1), "started": self.started, "opened": self.opened,
                           "failed": self.failed, "closed": self.closed, "aborted": self.aborted,
                           "skipped": self.skipped, "messages": self.messages, "open": self.open_now})


def client_url(base, streams, rng):
    chosen = rng.sample(streams, min(len(streams), rng.choice((1, 2))))
    if rng.random() < 0.5:
        return f"{base}/ws/" + "/".join(chosen)
    return f"{base}/stream?streams=" + "/".join(chosen)


async def one_client(url, hold_s, abort, counts):
    counts.open_now += 1
    try:
        ws = await websockets.connect(url, open_timeout=OPEN_TIMEOUT_S, close_timeout=CLOSE_TIMEOUT_S,
                                      ping_interval=None, compression=None, max_queue=64)
    except (OSError, asyncio.TimeoutError, websockets.WebSocketException):
        counts.failed += 1
        counts.open_now -= 1
        return
    counts.opened += 1
    try:
        deadline = time.monotonic() + hold_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                await asyncio.wait_for(ws.recv(), left)
                counts.messages += 1
            except asyncio.TimeoutError:
                break
        if abort:
            ws.transport.abort()
            counts.aborted += 1
        else:
            await ws.close()
            counts.closed += 1
    except websockets.WebSocketException:
        counts.failed += 1  # the server closed it first: not a client's choice
    finally:
        counts.open_now -= 1


async def bounded(coro, counts):
    try:
        await asyncio.wait_for(coro, HOLD_MAX_S + CLIENT_BOUND_S)
    except asyncio.TimeoutError:
        counts.failed += 1


async def run(options):
    rng = random.Random(options.seed)
    counts = Counts()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    streams = [s for s in options.streams.split(",") if s]
    started = time.monotonic()
    end = started + options.seconds
    next_report = started + REPORT_EVERY_S
    tasks = set()
    while not stop.is_set() and (now := time.monotonic()) < end:
        # Catch up to rate × elapsed, so that a slow loop turn does not lower the rate.
        due = int((now - started) * options.rate) - counts.started - counts.skipped
        for _ in range(max(0, due)):
            if counts.open_now >= options.rate * MAX_OPEN_FACTOR:
                counts.skipped += 1
                continue
            counts.started += 1
            task = asyncio.create_task(bounded(one_client(client_url(options.url, streams, rng),
                                                          rng.uniform(HOLD_MIN_S, HOLD_MAX_S),
                                                          rng.random() * 100 < options.abort_pct, counts), counts))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if now >= next_report:
            next_report += REPORT_EVERY_S
            print(counts.line(now - started), flush=True)
        try:
            await asyncio.wait_for(stop.wait(), TICK_S)
        except asyncio.TimeoutError:
            pass
    if tasks:
        await asyncio.wait(set(tasks), timeout=FINISH_S)
    for task in list(tasks):
        task.cancel()
    print(counts.line(time.monotonic() - started), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="server base URL, ws://HOST:PORT")
    parser.add_argument("--streams", required=True, help="comma-separated stream names the clients pick from")
    parser.add_argument("--rate", type=float, default=100.0, help="clients opened a second (default 100)")
    parser.add_argument("--seconds", type=float, required=True, help="how long to churn")
    parser.add_argument("--abort-pct", type=float, default=30.0,
                        help="share of clients that leave without a closing handshake (default 30)")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    if options.rate <= 0 or options.seconds <= 0:
        parser.error("--rate and --seconds must be positive")
    asyncio.run(run(options))
    return 0


if __name__ == "__main__":
    sys.exit(main())

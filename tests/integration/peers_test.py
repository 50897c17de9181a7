#!/usr/bin/python3
"""The comparison's peer relays (bench/peers/) against the real simulator.

For each peer: start tickrelay-sim (plain, port 0, fixed seed) and the peer on
a free port, connect a few Python `websockets` clients for a couple of
streams, and check what they receive: bare events (not combined envelopes),
valid JSON, with E in the asked time unit, for the asked streams only (a
fan-out peer sends nothing for a stream outside its configured set), trade and
aggTrade ids rising by exactly one per stream within each client, clients that
vanish mid-stream do not hurt the peer, and SIGTERM/SIGINT close the clients
with 1001 and exit 0. All on 127.0.0.1; every wait has a deadline and every
loop a bound.

Run: peers_test.py --bin-dir build/bin --peers-dir bench/peers [-k PEER]
"""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
import unittest

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from comparison import processes  # noqa: E402  (bench/comparison/processes.py, shared with the harness)

PYTHON = "/usr/bin/python3"
HOST = "127.0.0.1"
SEED = "7"
# Enough events per client to see several per stream and the ids' order, few
# enough to arrive in well under a second at the simulator's rate.
MESSAGES_PER_CLIENT = 120
RATE = "1000"
START_TIMEOUT_S = 20
RECEIVE_TIMEOUT_S = 20
EXIT_TIMEOUT_S = 15
# How long a fan-out client for an unconfigured stream listens for nothing
# after every other client got its messages.
SILENCE_S = 0.5
# A client never keeps more than this many problems: the first ones tell.
MAX_PROBLEMS = 10

# E below this is in milliseconds (until the year 5138), above it microseconds.
MICROSECOND_FLOOR = 10**14

# What Python (traceback, unretrieved task exception) and Node print for an
# error nobody handled.
UNHANDLED_ERROR_SIGNS = ("Traceback", "exception was never retrieved", "Unhandled", "\n    at ")

OPTIONS = None  # set by main()


class Peer:
    def __init__(self, name, command, fanout):
        self.name = name
        self.command = command  # argv prefix, relative script resolved against --peers-dir
        self.fanout = fanout


PEERS = [
    Peer("ws_per_client", [PYTHON, "ws_per_client_relay.py"], fanout=False),
    Peer("ws_fanout", [PYTHON, "ws_fanout_relay.py"], fanout=True),
    Peer("tornado_fanout", [PYTHON, "tornado_fanout_relay.py"], fanout=True),
    Peer("tornado_per_client", [PYTHON, "tornado_per_client_relay.py"], fanout=False),
    Peer("node_ws_fanout", ["node", "node_ws_fanout_relay.js"], fanout=True),
]


def streams_of(event, requested):
    """Stream names a raw event can belong to, among those requested."""
    symbol = str(event.get("s", "")).lower()
    kind = event.get("e")
    if kind == "trade":
        names = {f"{symbol}@trade"}
    elif kind == "aggTrade":
        names = {f"{symbol}@aggTrade"}
    elif kind == "kline":
        names = {f"{symbol}@kline_{event.get('k', {}).get('i')}"}
    elif kind == "markPriceUpdate":
        names = {f"{symbol}@markPrice", f"{symbol}@markPrice@1s"}
    else:
        names = set()
    return names & set(requested)


# The id that rises by exactly one per event of a stream.
SEQUENCE_FIELD = {"trade": "t", "aggTrade": "a"}


class Client:
    """One WebSocket client of the peer that checks every message it reads."""

    def __init__(self, port, streams, expected, microseconds):
        self.url = f"ws://{HOST}:{port}/ws/{'/'.join(streams)}"
        self.requested = streams
        self.expected = set(expected)  # streams the peer must deliver to this client
        self.microseconds = microseconds
        self.count = 0
        self.seen = {}  # stream -> messages
        self.last_id = {}  # stream -> last sequence id
        self.problems = []
        self.close_code = None
        self.ws = None
        self.task = None

    def problem(self, text):
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{self.url}: {text}")

    async def start(self):
        self.ws = await asyncio.wait_for(websockets.connect(self.url, compression=None, max_size=None),
                                         START_TIMEOUT_S)
        self.task = asyncio.create_task(self.read())

    async def read(self):
        try:
            async for message in self.ws:
                self.count += 1
                self.check(message)
        except websockets.ConnectionClosed:
            pass
        self.close_code = self.ws.close_code

    def check(self, message):
        try:
            event = json.loads(message)
        except ValueError:
            self.problem(f"not JSON: {message[:120]!r}")
            return
        if not isinstance(event, dict) or "stream" in event or "data" in event:
            self.problem(f"not a raw event: {message[:120]}")
            return
        streams = streams_of(event, self.requested)
        if len(streams) != 1:
            self.problem(f"event for a stream not requested: {message[:120]}")
            return
        stream = streams.pop()
        if stream not in self.expected:
            self.problem(f"event for {stream}, which this peer must not deliver")
        self.seen[stream] = self.seen.get(stream, 0) + 1
        stamp = event.get("E")
        if not isinstance(stamp, int) or (stamp >= MICROSECOND_FLOOR) != self.microseconds:
            self.problem(f"E {stamp!r} not in {'micro' if self.microseconds else 'milli'}seconds")
        field = SEQUENCE_FIELD.get(event.get("e"))
        if field:
            ident = event.get(field)
            last = self.last_id.get(stream)
            if last is not None and ident != last + 1:
                self.problem(f"{stream} {field} went from {last} to {ident}")
            self.last_id[stream] = ident

    def satisfied(self):
        return self.count >= MESSAGES_PER_CLIENT and all(self.seen.get(s) for s in self.expected)

    async def close(self):
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 5)
        if self.task:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task


class PeerRun:
    """One peer in front of one simulator, for one scenario."""

    def __init__(self, peer, workdir, sim_symbols, peer_args, tag):
        self.peer = peer
        self.workdir = workdir
        self.sim = processes.Child(f"sim-{tag}", [os.path.join(OPTIONS.bin_dir, "tickrelay-sim"), "--plain",
                                          "--listen", f"{HOST}:0", "--rate", RATE, "--seed", SEED,
                                          "--symbols", sim_symbols, "--log-level", "warn"], workdir)
        self.peer_args = peer_args
        self.relay = None
        self.port = processes.free_port()
        self.clients = []

    async def __aenter__(self):
        self.sim.start()
        line = await asyncio.to_thread(self.sim.first_line, START_TIMEOUT_S)
        words = line.split()
        if len(words) != 3 or words[0] != "listening" or words[2] != "ws":
            raise AssertionError(f"simulator said {line!r}")
        upstream = f"ws://{words[1]}"
        script = self.peer.command[-1]
        argv = self.peer.command[:-1] + [os.path.join(OPTIONS.peers_dir, script), "--listen",
                                         f"{HOST}:{self.port}", "--upstream", upstream] + self.peer_args
        self.relay = processes.Child(self.peer.name, argv, self.workdir).start(cwd=self.workdir)
        line = await asyncio.to_thread(self.relay.first_line, START_TIMEOUT_S)
        if line != f"listening {HOST}:{self.port}":
            raise AssertionError(f"{self.peer.name} said {line!r}, expected 'listening {HOST}:{self.port}'")
        return self

    async def __aexit__(self, *exc):
        for client in self.clients:
            await client.close()
        if self.relay:
            self.relay.kill()
        self.sim.kill()

    async def connect(self, streams, expected, microseconds):
        client = Client(self.port, streams, expected, microseconds)
        await client.start()
        self.clients.append(client)
        return client

    def alive(self, test):
        test.assertTrue(self.relay.running(), f"{self.peer.name} died: {self.relay.stderr()[-2000:]}")


async def receive_all(test, clients, what):
    deadline = time.monotonic() + RECEIVE_TIMEOUT_S
    while not all(c.satisfied() for c in clients) and time.monotonic() < deadline:
        if any(c.task.done() for c in clients):
            break
        await asyncio.sleep(0.02)
    for c in clients:
        test.assertEqual(c.problems, [], what)
        test.assertTrue(c.satisfied(), f"{what}: {c.url} got {c.count} messages, by stream {c.seen}, "
                                        f"closed {c.close_code}")


async def stop_with(test, run, sig, clients):
    run.relay.signal(sig)
    # Waited for on a thread: the clients must go on reading meanwhile, to see the close.
    code = await asyncio.to_thread(run.relay.wait, EXIT_TIMEOUT_S)
    test.assertEqual(code, 0, f"{run.peer.name} after {sig.name}: {run.relay.stderr()[-2000:]}")
    log = run.relay.stderr()[-100_000:]
    if os.environ.get("PEERS_TEST_SHOW_STDERR"):
        print(f"\n--- {run.peer.name} stderr ---\n{log}", file=sys.stderr)
    # An unhandled error in a handler is logged, not fatal: the log must not have one.
    for sign in UNHANDLED_ERROR_SIGNS:
        at = log.find(sign)
        test.assertEqual(at, -1, f"{run.peer.name} logged an unhandled error: {log[max(0, at - 300):at + 1500]}")
    for c in clients:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(c.task), EXIT_TIMEOUT_S)
        test.assertTrue(c.task.done(), f"{c.url} still open after the peer exited")
        test.assertEqual(c.close_code, 1001, f"{c.url}: close code after {sig.name}")


async def spot_scenario(test, peer, workdir):
    """Trades and aggTrades in microseconds; out-of-set streams; clients that vanish."""
    symbols_file = os.path.join(workdir, "symbols.txt")
    with open(symbols_file, "w", encoding="utf-8") as f:
        f.write("BINANCE:BTCUSDT\n# comment\n\nBINANCE:BNBUSDT\n")
    args = ["--time-unit-us", "--streams", "btcusdt@trade,ethusdt@trade",
            "--symbols-file", symbols_file, "--template", "{symbol}@aggTrade"]
    configured = {"btcusdt@trade", "ethusdt@trade", "btcusdt@aggTrade", "bnbusdt@aggTrade"}

    def deliverable(streams):
        return [s for s in streams if s in configured] if peer.fanout else streams

    async with PeerRun(peer, workdir, "btcusdt,ethusdt,bnbusdt", args, "spot") as run:
        wanted = [["btcusdt@trade"], ["btcusdt@trade", "ethusdt@trade"],
                  ["bnbusdt@aggTrade", "ethusdt@aggTrade"]]
        clients = [await run.connect(s, deliverable(s), True) for s in wanted]
        # Alone outside the configured set: a fan-out peer sends it nothing.
        lonely = await run.connect(["ethusdt@aggTrade"], deliverable(["ethusdt@aggTrade"]), True)
        if not peer.fanout:
            clients.append(lonely)
        await receive_all(test, clients, f"{peer.name} spot")
        if peer.fanout:
            await asyncio.sleep(SILENCE_S)
            test.assertEqual(lonely.count, 0, f"{peer.name} sent events for a stream outside its set")
            test.assertFalse(lonely.task.done(), f"{peer.name} dropped a client of an unconfigured stream")

        # Clients that vanish: one resets its socket mid-stream, one leaves
        # before its first event, one closes cleanly after a few events.
        for _ in range(3):
            gone = Client(run.port, ["btcusdt@trade", "ethusdt@trade"], [], True)
            await gone.start()
            deadline = time.monotonic() + RECEIVE_TIMEOUT_S
            while gone.count < 5 and not gone.task.done() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            gone.ws.transport.abort()
            await gone.close()
        early = Client(run.port, ["btcusdt@trade"], [], True)
        await early.start()
        await early.close()
        polite = Client(run.port, ["bnbusdt@aggTrade"], [], True)
        await polite.start()
        await asyncio.sleep(0.05)
        await polite.close()
        run.alive(test)

        later = await run.connect(["btcusdt@trade"], ["btcusdt@trade"], True)
        await receive_all(test, [later], f"{peer.name} after clients vanished")
        await receive_all(test, clients, f"{peer.name} spot, still")

        # Any other path is refused at the handshake.
        with test.assertRaises(websockets.InvalidHandshake):
            await asyncio.wait_for(websockets.connect(f"ws://{HOST}:{run.port}/stream?streams=btcusdt@trade"),
                                   START_TIMEOUT_S)
        run.alive(test)
        await stop_with(test, run, signal.SIGTERM, clients + [later])


async def usdm_scenario(test, peer, workdir):
    """USD-M streams through --upstream-path /market, E in milliseconds, SIGINT."""
    symbols_file = os.path.join(workdir, "pairs.txt")
    with open(symbols_file, "w", encoding="utf-8") as f:
        f.write("BINANCE:BTCUSDT\nBINANCE:ETHUSDT\n")
    # markPrice exists only under /market: it arrives only if the prefix is used.
    args = ["--upstream-path", "/market", "--symbols-file", symbols_file, "--streams", "btcusdt@markPrice@1s"]
    async with PeerRun(peer, workdir, "btcusdt,ethusdt", args, "usdm") as run:
        wanted = [["btcusdt@kline_1h", "btcusdt@markPrice@1s"], ["ethusdt@kline_1h"]]
        clients = [await run.connect(s, s, False) for s in wanted]
        await receive_all(test, clients, f"{peer.name} usdm")
        await stop_with(test, run, signal.SIGINT, clients)


class PeersTest(unittest.TestCase):
    def run_peer(self, peer):
        if peer.command[0] == "node":
            sys.path.insert(0, OPTIONS.peers_dir)
            import node_setup  # bench/peers/node_setup.py
            node_setup.ensure_node_ws(OPTIONS.peers_dir)
        for scenario in (spot_scenario, usdm_scenario):
            with self.subTest(scenario=scenario.__name__), tempfile.TemporaryDirectory(prefix="peers_test.") as d:
                asyncio.run(asyncio.wait_for(scenario(self, peer, d), 120))


def add_peer_tests():
    for peer in PEERS:
        setattr(PeersTest, f"test_{peer.name}", lambda self, peer=peer: self.run_peer(peer))


def main():
    global OPTIONS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", required=True, help="where tickrelay-sim is")
    parser.add_argument("--peers-dir", required=True, help="bench/peers")
    OPTIONS, rest = parser.parse_known_args()
    OPTIONS.bin_dir = os.path.abspath(OPTIONS.bin_dir)
    OPTIONS.peers_dir = os.path.abspath(OPTIONS.peers_dir)
    add_peer_tests()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)


if __name__ == "__main__":
    main()

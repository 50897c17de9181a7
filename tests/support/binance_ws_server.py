#!/usr/bin/python3
"""A small WebSocket server that is not tickrelay, for tickrelay-load's tests.

It speaks enough of Binance's stream protocol to be measured: streams come
from the path (/ws/a/b or /stream?streams=a/b) or from a SUBSCRIBE, and each
connection gets --events events per stream with E in microseconds (or
milliseconds with --ms) and ids that grow by one per event, except the ids
named in --skip (never sent: the client must count them as lost) and those in
--duplicate (sent twice). Run with Debian's /usr/bin/python3 (python3-websockets).
"""
import argparse
import asyncio
import json
import ssl
import sys
import time
from urllib.parse import parse_qs, urlsplit

import websockets


def parse_ids(text):
    return {int(x) for x in text.split(",") if x.strip()} if text else set()


# Like an exchange (or a relay) fanning one event out to many connections,
# every connection gets the same E for the same (stream, id): the first send
# stamps it.
EVENT_TIMES = {}


def event_time(stream, seq, args):
    key = (stream, seq)
    if key not in EVENT_TIMES:
        EVENT_TIMES[key] = time.time_ns() // (1_000_000 if args.ms else 1_000)
    return EVENT_TIMES[key]


def event(stream, seq, args):
    symbol, _, kind = stream.partition("@")
    s = symbol.upper()
    e = event_time(stream, seq, args)
    price = 100.0 + seq * args.step
    if kind == "trade":
        return {"e": "trade", "E": e, "s": s, "t": seq, "p": f"{price:.2f}", "q": "1.0", "T": e, "m": True, "M": True}
    if kind == "aggTrade":
        return {"e": "aggTrade", "E": e, "s": s, "a": seq, "p": f"{price:.2f}", "q": "1.0", "f": seq, "l": seq,
                "T": e, "m": True, "M": True}
    if kind.startswith("kline_"):
        return {"e": "kline", "E": e, "s": s, "k": {
            "t": 0, "T": 0, "s": s, "i": kind[6:], "f": 1, "L": seq, "o": "100.00", "c": f"{price:.2f}",
            "h": f"{price:.2f}", "l": "100.00", "v": "1", "n": seq, "x": False, "q": "1", "V": "1", "Q": "1", "B": "0"}}
    if kind == "bookTicker":
        return {"u": seq, "s": s, "b": f"{price - 0.5:.2f}", "B": "1", "a": f"{price + 0.5:.2f}", "A": "1"}
    if kind == "miniTicker":
        return {"e": "24hrMiniTicker", "E": e, "s": s, "c": f"{price:.2f}", "o": "100.00", "h": "1", "l": "1",
                "v": "1", "q": "1"}
    if kind == "ticker":
        return {"e": "24hrTicker", "E": e, "s": s, "p": "0", "P": f"{price - 100.0:.3f}", "c": f"{price:.2f}",
                "o": "100.00"}
    return {"e": kind or "unknown", "E": e, "s": s}


def streams_from_path(path):
    parts = urlsplit(path)
    if parts.path.rstrip("/").endswith("/stream"):
        names = parse_qs(parts.query).get("streams", [""])[0]
        return [n for n in names.split("/") if n], True
    if "/ws/" in parts.path:
        return [n for n in parts.path.split("/ws/", 1)[1].split("/") if n], False
    return [], False


async def handler(ws, path=None, args=None):
    path = path or ws.path
    streams, combined = streams_from_path(path)
    if not streams:
        # Binance style: connect to /ws, then SUBSCRIBE.
        request = json.loads(await ws.recv())
        streams = list(request.get("params", []))
        await ws.send(json.dumps({"result": None, "id": request.get("id")}))
    if args.ping:
        waiter = await ws.ping(b"are you there")
        await asyncio.wait_for(waiter, 10)
    if args.garbage:
        # Before the events, so a run that stops at the last event has seen it.
        await ws.send("this is not json")
    skip = parse_ids(args.skip)
    duplicate = parse_ids(args.duplicate)
    sent = {s: 0 for s in streams}
    seq = {s: 0 for s in streams}
    count = 0
    while any(sent[s] < args.events for s in streams):
        for s in streams:
            if sent[s] >= args.events:
                continue
            seq[s] += 1
            while seq[s] in skip:
                seq[s] += 1
            repeats = 2 if seq[s] in duplicate else 1
            for _ in range(repeats):
                body = event(s, seq[s], args)
                if args.array:
                    # Like !miniTicker@arr: one message carrying many symbols.
                    body = [event(f"sym{i}usdt@miniTicker", seq[s], args) for i in range(args.array)]
                text = json.dumps({"stream": s, "data": body} if combined else body, separators=(",", ":"))
                count += 1
                if args.fragment and count % args.fragment == 0:
                    half = len(text) // 2
                    await ws.send([text[:half], text[half:]])
                else:
                    await ws.send(text)
                if args.interval:
                    await asyncio.sleep(args.interval)
                elif count % 50 == 0:
                    # send() yields only when the socket is full; let the
                    # other connections have their turn.
                    await asyncio.sleep(0)
            sent[s] += 1
    if args.close_after:
        await ws.close(1001, "going away")
        return
    if args.abort_after:
        # TCP FIN without a WebSocket close frame, right behind the events.
        ws.transport.close()
        return
    await ws.wait_closed()


async def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--events", type=int, default=100, help="events per stream and connection")
    parser.add_argument("--skip", default="", help="ids never sent, e.g. 10,11,50")
    parser.add_argument("--duplicate", default="", help="ids sent twice")
    parser.add_argument("--step", type=float, default=0.01, help="price step per event")
    parser.add_argument("--ms", action="store_true", help="E in milliseconds")
    parser.add_argument("--ping", action="store_true", help="ping first and require the pong")
    parser.add_argument("--fragment", type=int, default=0, help="send every n-th message in two frames")
    parser.add_argument("--garbage", action="store_true", help="start with a message that is not JSON")
    parser.add_argument("--array", type=int, default=0, help="send arrays of this many miniTicker events instead")
    parser.add_argument("--interval", type=float, default=0, help="seconds between messages (0: as fast as possible)")
    parser.add_argument("--close-after", action="store_true", help="close after the events")
    parser.add_argument("--abort-after", action="store_true", help="end the TCP connection after the events, no close frame")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    context = None
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)

    async def serve(ws, path=None):
        await handler(ws, path, args)

    async with websockets.serve(serve, "127.0.0.1", args.port, ssl=context, ping_interval=None,
                                max_queue=None, compression=None):
        print(f"listening {args.port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)

#!/usr/bin/python3
"""Fan-out relay with Python `websockets`: the fair, best-effort version.

One upstream connection carries the combined stream of every configured
stream; each event is broadcast with `websockets.broadcast` to the clients
that asked for its stream with /ws/<stream>[/<stream>...]. A client asking for
a stream outside the configured set gets nothing for that stream.
One process, one thread, one asyncio loop.
"""

import asyncio
import collections
import http
import logging

import websockets

import peer_common

log = logging.getLogger("ws_fanout_relay")


class Relay:
    def __init__(self, args):
        self.args = args
        self.configured = frozenset(args.stream_set)
        # stream name -> open client connections that asked for it
        self.subscribers = collections.defaultdict(set)

    async def process_request(self, path, headers):
        if peer_common.client_streams(path) is None:
            return http.HTTPStatus.NOT_FOUND, [], b"expected /ws/<stream>[/<stream>...]\n"
        return None

    async def serve_client(self, websocket):
        # Streams outside the configured set are not subscribed upstream: the
        # client gets nothing for them.
        streams = [s for s in peer_common.client_streams(websocket.path) if s in self.configured]
        for stream in streams:
            self.subscribers[stream].add(websocket)
        try:
            # Clients have nothing to say to this relay; reading keeps the
            # library answering their pings and their close.
            async for _ in websocket:
                pass
        except websockets.ConnectionClosed:
            pass
        finally:
            for stream in streams:
                self.subscribers[stream].discard(websocket)

    async def pump_upstream(self):
        url = peer_common.combined_url(self.args, self.args.stream_set)
        # Iterating connect() reconnects with the library's own backoff.
        async for upstream in websockets.connect(url, compression=None, max_size=None):
            log.info("upstream connected: %s", url[:120])
            try:
                async for message in upstream:
                    stream, payload = peer_common.split_envelope(message)
                    clients = self.subscribers.get(stream)
                    if clients:
                        # Frames once and writes to every open client without
                        # waiting: no backpressure, see README.
                        websockets.broadcast(clients, payload)
            except websockets.ConnectionClosed as e:
                log.warning("upstream closed (%s); reconnecting", e)


async def main():
    args = peer_common.parse_args(__doc__.splitlines()[0], fanout=True)
    relay = Relay(args)
    peer_common.allow_long_request_lines()
    stop = peer_common.stop_on_signals()

    # compression=None: Binance does not compress, and deflate would cost one
    # compressor per client, which a market-data relay does not pay.
    async with websockets.serve(relay.serve_client, args.listen_host, args.listen_port,
                                process_request=relay.process_request, compression=None) as server:
        host, port = server.sockets[0].getsockname()[:2]
        print(f"listening {host}:{port}", flush=True)
        pump = asyncio.create_task(relay.pump_upstream())
        await stop.wait()
        pump.cancel()
    # Leaving `serve` closed every client with 1001 (going away).


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # One INFO line per client connection would drown the benchmark's log.
    logging.getLogger("websockets.server").setLevel(logging.WARNING)
    asyncio.run(main())

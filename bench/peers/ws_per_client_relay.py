#!/usr/bin/python3
"""Per-client relay with Python `websockets`, as the study built it.

Every client that connects with /ws/<stream>[/<stream>...] gets its own
upstream connection to the exchange's raw endpoint for the same streams, and
each upstream message is forwarded to it unchanged. --streams and
--symbols-file are accepted for a common command line but not used: the
client's path says what to subscribe.
One process, one thread, one asyncio loop.
"""

import asyncio
import http
import logging

import websockets

import peer_common

log = logging.getLogger("ws_per_client_relay")


class Relay:
    def __init__(self, args):
        self.args = args

    async def process_request(self, path, headers):
        if peer_common.client_streams(path) is None:
            return http.HTTPStatus.NOT_FOUND, [], b"expected /ws/<stream>[/<stream>...]\n"
        return None

    async def serve_client(self, websocket):
        url = peer_common.raw_url(self.args, peer_common.client_streams(websocket.path))
        try:
            upstream = await websockets.connect(url, compression=None, max_size=None)
        except (OSError, asyncio.TimeoutError, websockets.WebSocketException) as e:
            log.warning("upstream %s: %s", url[:120], e)
            await websocket.close(1011, "upstream unavailable")
            return
        forward = asyncio.create_task(self.forward(upstream, websocket))
        try:
            # Clients have nothing to say to this relay; reading keeps the
            # library answering their pings, and ends when they leave.
            async for _ in websocket:
                pass
        except websockets.ConnectionClosed:
            pass
        finally:
            forward.cancel()
            # close() waits for upstream's close frame, which arrives behind
            # the events still queued for the client; with the client gone,
            # nobody reads them and close() would wait out its timeout.
            await asyncio.gather(upstream.close(), self.drain(upstream))

    @staticmethod
    async def drain(upstream):
        try:
            async for _ in upstream:
                pass
        except websockets.ConnectionClosed:
            pass

    @staticmethod
    async def forward(upstream, websocket):
        try:
            async for message in upstream:
                # send() waits while the client's buffer is full, so a slow
                # client slows only its own upstream.
                await websocket.send(message)
        except websockets.ConnectionClosed:
            pass  # the client left (serve_client cleans up) or upstream dropped
        if upstream.closed:
            await websocket.close(1011, "upstream closed")


async def main():
    args = peer_common.parse_args(__doc__.splitlines()[0], fanout=False)
    relay = Relay(args)
    peer_common.allow_long_request_lines()
    stop = peer_common.stop_on_signals()

    # compression=None: Binance does not compress, and deflate would cost one
    # compressor per client, which a market-data relay does not pay.
    async with websockets.serve(relay.serve_client, args.listen_host, args.listen_port,
                                process_request=relay.process_request, compression=None) as server:
        host, port = server.sockets[0].getsockname()[:2]
        print(f"listening {host}:{port}", flush=True)
        await stop.wait()
    # Leaving `serve` closed every client with 1001 (going away), and each
    # handler closed its upstream connection.


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # One INFO line per client connection would drown the benchmark's log.
    logging.getLogger("websockets.server").setLevel(logging.WARNING)
    asyncio.run(main())

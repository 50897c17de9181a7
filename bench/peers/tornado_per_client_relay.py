#!/usr/bin/python3
"""Per-client relay with Tornado, as the study built it.

Every client that connects with /ws/<stream>[/<stream>...] gets its own
upstream connection (tornado.websocket client) to the exchange's raw endpoint
for the same streams, and each upstream message is forwarded to it unchanged.
--streams and --symbols-file are accepted for a common command line but not
used: the client's path says what to subscribe.
One process, one thread, one IOLoop.
"""

import asyncio
import logging

import tornado.netutil
import tornado.web
import tornado.websocket
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.websocket import WebSocketClosedError

import peer_common

log = logging.getLogger("tornado_per_client_relay")


class RelayHandler(tornado.websocket.WebSocketHandler):
    def initialize(self, args, clients):
        self.args = args
        self.clients = clients
        self.upstream = None

    def check_origin(self, origin):
        # Clients are programs, not browser pages on other sites.
        return True

    async def open(self):
        # Tornado delivers no client message until this coroutine returns.
        self.clients.add(self)
        url = peer_common.raw_url(self.args, peer_common.client_streams(self.request.path) or [])
        try:
            upstream = await tornado.websocket.websocket_connect(url)
        except Exception as e:  # refused, reset, bad handshake: the client cannot be served
            log.warning("upstream %s: %s", url[:120], e)
            self.close(1011, "upstream unavailable")
            return
        if self.ws_connection is None:  # the client left while we connected
            upstream.close()
            return
        self.upstream = upstream
        IOLoop.current().spawn_callback(self.forward)

    async def forward(self):
        while (message := await self.upstream.read_message()) is not None:
            try:
                # Awaiting the write is Tornado's flow control: a slow client
                # slows only its own upstream.
                await self.write_message(message)
            except WebSocketClosedError:
                return  # the client left; on_close closes the upstream
        self.close(1011, "upstream closed")

    def on_message(self, message):
        pass  # clients have nothing to say to this relay

    def on_close(self):
        self.clients.discard(self)
        if self.upstream is not None:
            self.upstream.close()


async def main():
    args = peer_common.parse_args(__doc__.splitlines()[0], fanout=False)
    clients = set()
    app = tornado.web.Application([(r"/ws/.+", RelayHandler, dict(args=args, clients=clients))])
    sockets = tornado.netutil.bind_sockets(args.listen_port, args.listen_host)
    server = HTTPServer(app)
    server.add_sockets(sockets)

    stop = peer_common.stop_on_signals()

    host, port = sockets[0].getsockname()[:2]
    print(f"listening {host}:{port}", flush=True)
    await stop.wait()

    server.stop()
    for handler in tuple(clients):
        handler.close(1001, "relay shutting down")  # on_close closes its upstream
    # Let the close frames reach the sockets before the loop ends.
    await asyncio.sleep(0.2)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # One access-log line per client connection would drown the benchmark's log.
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    asyncio.run(main())

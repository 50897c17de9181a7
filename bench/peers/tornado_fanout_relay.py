#!/usr/bin/python3
"""Fan-out relay with Tornado: the fair, best-effort version.

One upstream connection (tornado.websocket client) carries the combined
stream of every configured stream; each event goes to the WebSocketHandlers
of the clients that asked for its stream with /ws/<stream>[/<stream>...]. A
client asking for a stream outside the configured set gets nothing for that
stream. One process, one thread, one IOLoop.
"""

import asyncio
import collections
import logging

import tornado.netutil
import tornado.web
import tornado.websocket
from tornado.httpserver import HTTPServer
from tornado.websocket import WebSocketClosedError

import peer_common

log = logging.getLogger("tornado_fanout_relay")

# Reconnect backoff: a restarting exchange is back within seconds; the cap
# keeps a long outage from hammering it.
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 30.0


class Hub:
    def __init__(self, args):
        self.args = args
        self.configured = frozenset(args.stream_set)
        # stream name -> handlers of the clients that asked for it
        self.subscribers = collections.defaultdict(set)

    def join(self, handler, streams):
        # Streams outside the configured set are not subscribed upstream: the
        # client gets nothing for them.
        joined = [s for s in streams if s in self.configured]
        for stream in joined:
            self.subscribers[stream].add(handler)
        return joined

    def leave(self, handler, streams):
        for stream in streams:
            self.subscribers[stream].discard(handler)

    def publish(self, message):
        stream, payload = peer_common.split_envelope(message)
        handlers = self.subscribers.get(stream)
        if not handlers:
            return
        payload = payload.encode()  # once, not once per client
        # A copy: a client that leaves while we write must not change the set
        # being walked.
        for handler in tuple(handlers):
            try:
                # Not awaited: one slow client must not hold up the others.
                handler.write_message(payload)
            except WebSocketClosedError:
                pass  # on_close removes it

    async def pump_upstream(self):
        url = peer_common.combined_url(self.args, self.args.stream_set)
        delay = RECONNECT_MIN_S
        while True:
            try:
                upstream = await tornado.websocket.websocket_connect(url)
            except Exception as e:  # refused, reset, bad handshake: all mean "try again later"
                log.warning("upstream connect failed (%s); retrying in %.1f s", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            log.info("upstream connected: %s", url[:120])
            delay = RECONNECT_MIN_S
            while (message := await upstream.read_message()) is not None:
                self.publish(message)
            log.warning("upstream closed (%s %s); reconnecting", upstream.close_code, upstream.close_reason)


class StreamHandler(tornado.websocket.WebSocketHandler):
    def initialize(self, hub, clients):
        self.hub = hub
        self.clients = clients
        self.streams = []

    def check_origin(self, origin):
        # Clients are programs, not browser pages on other sites.
        return True

    def open(self):
        self.clients.add(self)
        self.streams = self.hub.join(self, peer_common.client_streams(self.request.path) or [])

    def on_message(self, message):
        pass  # clients have nothing to say to this relay

    def on_close(self):
        self.clients.discard(self)
        self.hub.leave(self, self.streams)


async def main():
    args = peer_common.parse_args(__doc__.splitlines()[0], fanout=True)
    hub = Hub(args)
    clients = set()
    app = tornado.web.Application([(r"/ws/.+", StreamHandler, dict(hub=hub, clients=clients))])
    sockets = tornado.netutil.bind_sockets(args.listen_port, args.listen_host)
    server = HTTPServer(app)
    server.add_sockets(sockets)

    stop = peer_common.stop_on_signals()

    host, port = sockets[0].getsockname()[:2]
    print(f"listening {host}:{port}", flush=True)
    pump = asyncio.create_task(hub.pump_upstream())
    await stop.wait()

    pump.cancel()
    server.stop()
    for handler in tuple(clients):
        handler.close(1001, "relay shutting down")
    # Let the close frames reach the sockets before the loop ends.
    await asyncio.sleep(0.2)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # One access-log line per client connection would drown the benchmark's log.
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    asyncio.run(main())
